//! Slurm through slurmrestd with a JWT, for sites that open it to their users. The plugin
//! versions the server offers are read from its OpenAPI document (probed newest first where it
//! has none); request bodies follow the version chosen: up to v0.0.39
//! `nodes` is `[min, max]` and `environment` an object; from v0.0.40 numbers may be
//! `{set, number}` objects and `environment` is a list of `NAME=value`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::rest_options::{self, Api};
use super::scheduler::{JobError, Logs, Scheduler, explain_rejection};
use super::slurm::{JobRecord, parse_accounting_json, parse_jobs_json};
use super::spec::JobSpec;
use crate::ssh::Connection;
use crate::sync::Locked;

/// Plugin versions Usine speaks, newest first. v0.0.43 (Slurm 25.05) and v0.0.44 (25.11) have
/// v0.0.42's shapes for every field Usine sends or reads (their published documents differ
/// only in descriptions and new enum values); `tests/rest_newer_versions.rs` checks them.
const VERSIONS: &[&str] = &[
    "v0.0.44", "v0.0.43", "v0.0.42", "v0.0.41", "v0.0.40", "v0.0.39", "v0.0.38",
];

/// The `/slurm/v0.0.N/` versions an OpenAPI document has paths for, newest first.
fn offered_versions(doc: &Value) -> Vec<String> {
    let mut found: Vec<(u32, String)> = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(path, _)| {
            let version = path.strip_prefix("/slurm/")?.split('/').next()?;
            Some((
                version.strip_prefix("v0.0.")?.parse().ok()?,
                version.to_owned(),
            ))
        })
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found.dedup();
    found.into_iter().map(|(_, v)| v).collect()
}

pub struct SlurmRest {
    client: reqwest::Client,
    base: String,
    user: String,
    token: Mutex<Zeroizing<String>>,
    /// Where a new token comes from when the one in use expires mid-session: the cluster's
    /// SSH connection (`scontrol token`). Without it an expired token is an error.
    renewal: Option<Arc<Connection>>,
    version: &'static str,
    /// The user's home on the cluster: slurmrestd needs absolute paths.
    home: String,
    /// Jobs slurmdbd did not know when last asked, and when: asked again only after a while,
    /// not on every round (a job may never reach slurmdbd, e.g. when it is down).
    unknown_to_slurmdbd: Mutex<HashMap<String, Instant>>,
}

/// The version each slurmrestd (by address) spoke when last connected to: every submit or
/// cancel connects, and the OpenAPI document that lists the versions is large (1.6 MB from
/// 24.11). A server that no longer speaks it is asked afresh.
static SPOKEN: Mutex<BTreeMap<String, &'static str>> = Mutex::new(BTreeMap::new());

/// How long a job slurmdbd did not know is left alone before asking again.
const ASK_SLURMDBD_AGAIN: Duration = Duration::from_secs(300);

/// Slurm's "Invalid job id specified": the job is not (or no longer) in slurmctld.
const INVALID_JOB_ID: i64 = 2017;

/// Whether slurmrestd's answer says the token was refused: 401/403, 511 (24.11's slurmctld
/// paths, with error 1007 "Protocol authentication error"), 1007 or an auth plugin error
/// (6000-6099) at any status, or 22.05's 500 with a bare "Unspecified error" (-1), which is
/// how it answers an expired token on its slurmctld paths.
fn token_refused(status: u16, errors: &[i64]) -> bool {
    matches!(status, 401 | 403 | 511)
        || errors
            .iter()
            .any(|n| *n == 1007 || (6000..6100).contains(n) || (status == 500 && *n == -1))
}

/// The error numbers of a slurmrestd answer's `errors`.
fn error_numbers(body: &str) -> Vec<i64> {
    let Ok(root) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    root.get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e.get("error_number")
                .or(e.get("error_code"))
                .and_then(Value::as_i64)
        })
        .collect()
}

fn token_refused_error() -> JobError {
    JobError::Rejected(
        "slurmrestd refused the token: it is wrong or expired. Get a new one (`scontrol token` on the cluster) and try again."
            .into(),
    )
}

fn unreachable(e: reqwest::Error) -> JobError {
    // reqwest's message may carry the URL, never the token (it travels in a header).
    JobError::Scheduler(format!("slurmrestd: {e}"))
}

/// A short-lived token for the logged-in user, from `scontrol token` over the SSH connection;
/// it lives in memory only.
pub async fn fetch_token(conn: &Connection) -> Result<Zeroizing<String>, JobError> {
    let out = conn.exec("scontrol token lifespan=3600").await?;
    let text = Zeroizing::new(out.stdout_text());
    match text.trim().strip_prefix("SLURM_JWT=") {
        Some(token) if out.success() && !token.is_empty() => Ok(Zeroizing::new(token.to_owned())),
        _ => Err(JobError::Rejected(crate::tr!(
            en: "The cluster gave no token for its REST service ({}). Remove the REST address from the cluster's settings to send jobs over SSH instead.",
            fr: "Le cluster n'a pas donné de jeton pour son service REST ({}). Retirez l'adresse REST des réglages du cluster pour envoyer les jobs par SSH.",
            out.stderr_text()
        ))),
    }
}

impl SlurmRest {
    /// Finds the newest plugin version the server offers and checks that the token works.
    pub async fn connect(
        base: &str,
        user: &str,
        token: Zeroizing<String>,
        home: &str,
    ) -> Result<Self, JobError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(unreachable)?;
        let mut rest = Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            token: Mutex::new(token),
            renewal: None,
            version: VERSIONS[VERSIONS.len() - 1],
            home: home.trim_end_matches('/').to_owned(),
            unknown_to_slurmdbd: Mutex::default(),
        };
        let remembered = SPOKEN.locked().get(&rest.base).copied();
        if let Some(version) = remembered
            && rest.speaks(version).await?
        {
            return Ok(rest);
        }
        let offered = rest.offered().await;
        let candidates: Vec<&'static str> = match &offered {
            Some(list) if !list.is_empty() => VERSIONS
                .iter()
                .copied()
                .filter(|v| list.iter().any(|o| o == v))
                .collect(),
            _ => VERSIONS.to_vec(),
        };
        for version in candidates {
            if rest.speaks(version).await? {
                SPOKEN.locked().insert(rest.base.clone(), version);
                return Ok(rest);
            }
        }
        match offered.filter(|list| !list.is_empty()) {
            Some(list) => Err(JobError::Scheduler(crate::tr!(
                en: "{base} offers Slurm REST {}, and this Usine speaks {}. Update Usine, or remove the REST address from the cluster's settings to send jobs over SSH.",
                fr: "{base} propose l'API REST de Slurm {}, et cet Usine parle {}. Mettez Usine à jour, ou retirez l'adresse REST des réglages du cluster pour envoyer les jobs par SSH.",
                list.join(", "),
                VERSIONS.join(", ")
            ))),
            None => Err(JobError::Scheduler(crate::tr!(
                en: "{base} does not offer a Slurm REST version Usine knows ({})",
                fr: "{base} ne propose aucune version de l'API REST de Slurm connue d'Usine ({})",
                VERSIONS.join(", ")
            ))),
        }
    }

    /// Whether the server serves `version` (then chosen), the token checked; an error when it
    /// refuses the token.
    async fn speaks(&mut self, version: &'static str) -> Result<bool, JobError> {
        self.version = version;
        let resp = self.get(&format!("/slurm/{version}/ping")).await?;
        match resp.status().as_u16() {
            // 24.x answers a refused token's ping with 200 and "DOWN": the token is checked by
            // a read that needs it (an empty list of jobs changed from now on).
            200 => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                self.call(
                    reqwest::Method::GET,
                    &format!("/slurm/{version}/jobs?update_time={now}"),
                    None,
                )
                .await?;
                Ok(true)
            }
            // 22.05 answers a bad or expired token with 500, newer versions with 401.
            401 | 403 | 500 => Err(token_refused_error()),
            _ => Ok(false),
        }
    }

    /// The versions the server's OpenAPI document lists, newest first; `None` when it serves
    /// none (an older slurmrestd, or the token refused: the probe then says which).
    async fn offered(&self) -> Option<Vec<String>> {
        let resp = self.get("/openapi/v3").await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        Some(offered_versions(&resp.json::<Value>().await.ok()?))
    }

    /// Renews the token over `conn` when slurmrestd refuses it mid-session (tokens last an
    /// hour), so that following jobs never stops to say "token expired".
    pub fn renewing_with(mut self, conn: Arc<Connection>) -> Self {
        self.renewal = Some(conn);
        self
    }

    /// A job as slurmdbd keeps it: none when slurmdbd's REST is not there or does not know it
    /// (the job then keeps its last known state; slurmdbd is asked again after a while).
    pub async fn accounted(&self, id: &str) -> Vec<JobRecord> {
        let id = id.split('_').next().unwrap_or(id);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Vec::new();
        }
        let asked = self.unknown_to_slurmdbd.locked().get(id).copied();
        if asked.is_some_and(|at| at.elapsed() < ASK_SLURMDBD_AGAIN) {
            return Vec::new();
        }
        let answer = match self
            .call(
                reqwest::Method::GET,
                &format!("/slurmdb/{}/job/{id}", self.version),
                None,
            )
            .await
        {
            Ok((200, text)) => Some(text),
            _ => None,
        };
        let records = match answer.map(|text| parse_accounting_json(&text)) {
            Some(Ok(records)) => records,
            Some(Err(error)) => {
                tracing::info!(%error, job = id, "slurmdbd's answer not read");
                Vec::new()
            }
            None => Vec::new(),
        };
        let mut unknown = self.unknown_to_slurmdbd.locked();
        if records.is_empty() {
            unknown.insert(id.to_owned(), Instant::now());
        } else {
            unknown.remove(id);
        }
        records
    }

    pub fn version(&self) -> &str {
        self.version
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let token = self.token.locked().as_str().to_owned();
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("X-SLURM-USER-NAME", &self.user)
            .header("X-SLURM-USER-TOKEN", token)
    }

    /// Sends a request with the token; when slurmrestd refuses it and a renewal is set, gets a
    /// new token over SSH and sends it once more. Returns the status and the body.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), JobError> {
        for attempt in 0..2 {
            let mut request = self.request(method.clone(), path);
            if let Some(body) = body {
                request = request.json(body);
            }
            let resp = request.send().await.map_err(unreachable)?;
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(unreachable)?;
            // 22.05's slurmdb paths refuse a token with 200 and error 1007; a large answer
            // (a job list) is data, not worth parsing twice.
            let refused = (status >= 400 || text.len() < 64 * 1024)
                && token_refused(status, &error_numbers(&text));
            match (&self.renewal, refused) {
                (_, false) => return Ok((status, text)),
                (Some(conn), true) if attempt == 0 => {
                    tracing::info!("slurmrestd token expired: getting a new one over SSH");
                    let fresh = fetch_token(conn).await?;
                    *self.token.locked() = fresh;
                }
                _ => break,
            }
        }
        Err(token_refused_error())
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, JobError> {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .map_err(unreachable)
    }

    fn absolute(&self, path: &str) -> String {
        match path {
            "~" | "" => self.home.clone(),
            p if p.starts_with("~/") => format!("{}/{}", self.home, &p[2..]),
            p if p.starts_with('/') => p.to_owned(),
            // Relative: in the home, as over SSH.
            p => format!("{}/{p}", self.home),
        }
    }

    /// The job description slurmrestd wants. It does not read `#SBATCH` lines, so every option
    /// of the script is carried as a field (e-mail and the user's own options included), or the
    /// job is refused with the options named: never sent without them.
    pub fn job_description(&self, tag: &str, spec: &JobSpec) -> Result<Value, JobError> {
        let modern = !matches!(self.version, "v0.0.38" | "v0.0.39");
        let wd = self.absolute(&spec.working_dir);
        let logs = if spec.array.is_some() { "%A_%a" } else { "%j" };
        let mut env = vec![("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned())];
        env.push(("HOME".into(), self.home.clone()));
        let number = |n: u64| {
            if modern {
                json!({"set": true, "infinite": false, "number": n})
            } else {
                json!(n)
            }
        };
        let mut job = json!({
            "name": spec.name,
            "tasks_per_node": spec.tasks_per_node,
            "cpus_per_task": spec.cpus_per_task,
            "time_limit": number(spec.time_limit_minutes),
            "current_working_directory": wd,
            "standard_output": format!("{wd}/{}-{logs}.out", spec.name),
            "standard_error": format!("{wd}/{}-{logs}.err", spec.name),
            "comment": format!("usine:{tag}"),
        });
        if modern {
            job["nodes"] = json!(spec.nodes.to_string());
            job["environment"] = json!(
                env.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
            );
        } else {
            job["nodes"] = json!([spec.nodes, spec.nodes]);
            job["environment"] =
                Value::Object(env.into_iter().map(|(k, v)| (k, json!(v))).collect());
        }
        if let Some(a) = &spec.account {
            job["account"] = json!(a);
        }
        if let Some(p) = &spec.partition {
            job["partition"] = json!(p);
        }
        if spec.gpus_per_node > 0 {
            let gres = match &spec.gpu_type {
                Some(t) => format!("gpu:{t}:{}", spec.gpus_per_node),
                None => format!("gpu:{}", spec.gpus_per_node),
            };
            if modern {
                job["tres_per_node"] = json!(format!("gres/{gres}"));
            } else {
                job["gres"] = json!(gres);
            }
        }
        if let Some(m) = spec.memory_mib {
            job["memory_per_node"] = number(m);
        }
        if let Some(a) = &spec.array {
            job["array"] = json!(match a.max_parallel {
                Some(p) => format!("{}-{}%{p}", a.first, a.last),
                None => format!("{}-{}", a.first, a.last),
            });
        }
        let directives: Vec<String> = super::sbatch::mail_directives(spec)
            .into_iter()
            .chain(spec.extra_directives.iter().cloned())
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let fields = rest_options::fields(&directives, Api::of(self.version), &wd, now)
            .map_err(|refused| JobError::Rejected(refused.message()))?;
        for (field, value) in fields {
            job[field] = value;
        }
        Ok(job)
    }

    async fn find_tagged(&self, tag: &str) -> Result<Option<String>, JobError> {
        let jobs = self.jobs().await?;
        Ok(jobs
            .into_iter()
            .find(|j| j.comment == format!("usine:{tag}"))
            .map(|j| j.job_id.split('_').next().unwrap_or_default().to_owned()))
    }

    /// Every job slurmctld holds (the whole cluster's: slurmrestd has no filter by user), for
    /// the one moment that needs a search by comment: a submission that may have been sent.
    async fn jobs(&self) -> Result<Vec<JobRecord>, JobError> {
        let (_, text) = self
            .call(
                reqwest::Method::GET,
                &format!("/slurm/{}/jobs", self.version),
                None,
            )
            .await?;
        parse_jobs_json(&text).map_err(|e| JobError::Scheduler(e.to_string()))
    }

    /// One job as slurmctld holds it (an array: every task), or none when slurmctld no longer
    /// knows it (finished longer ago than its MinJobAge).
    async fn job(&self, id: &str) -> Result<Option<Vec<JobRecord>>, JobError> {
        let (status, text) = self
            .call(
                reqwest::Method::GET,
                &format!("/slurm/{}/job/{id}", self.version),
                None,
            )
            .await?;
        // 404 from 23.x on; 22.05 says 500 with the error number.
        if status == 404 || error_numbers(&text).contains(&INVALID_JOB_ID) {
            return Ok(None);
        }
        parse_jobs_json(&text)
            .map(Some)
            .map_err(|e| JobError::Scheduler(e.to_string()))
    }
}

impl Scheduler for SlurmRest {
    async fn submit(&self, tag: &str, spec: &JobSpec, script: &str) -> Result<String, JobError> {
        // The tag in the comment makes a repeated submission find the first one.
        if let Some(id) = self.find_tagged(tag).await? {
            return Ok(id);
        }
        let body = json!({ "job": self.job_description(tag, spec)?, "script": script });
        let (_, text) = self
            .call(
                reqwest::Method::POST,
                &format!("/slurm/{}/job/submit", self.version),
                Some(&body),
            )
            .await?;
        let answer: Value = serde_json::from_str(&text).map_err(|e| {
            JobError::Scheduler(format!("slurmrestd's answer to the submission: {e}"))
        })?;
        let id = answer.get("job_id").and_then(|v| {
            v.as_u64()
                .or_else(|| v.get("number").and_then(Value::as_u64))
        });
        let errors: Vec<String> = answer
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            // ESLURM_JOB_HELD: the job was accepted, held as asked (sbatch says so and succeeds).
            .filter(|e| {
                e.get("error_code")
                    .or(e.get("error_number"))
                    .and_then(Value::as_u64)
                    != Some(2042)
            })
            .map(|e| {
                e.get("error")
                    .or(e.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .filter(|e| !e.is_empty())
            .collect();
        match id {
            Some(id) if errors.is_empty() && id > 0 => Ok(id.to_string()),
            _ => Err(JobError::Rejected(explain_rejection(&errors.join("; ")))),
        }
    }

    /// Each job read on its own (the user's jobs only, not the whole cluster's list); one
    /// slurmctld has forgotten is completed from slurmdbd.
    async fn status(&self, ids: &[String]) -> Result<Vec<JobRecord>, JobError> {
        let mut bases: Vec<&str> = ids
            .iter()
            .map(|id| id.split('_').next().unwrap_or(id))
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        bases.sort_unstable();
        bases.dedup();
        let mut found = Vec::new();
        for id in bases {
            match self.job(id).await? {
                Some(records) => found.extend(records),
                None => found.extend(self.accounted(id).await),
            }
        }
        Ok(found)
    }

    async fn cancel(&self, id: &str) -> Result<(), JobError> {
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(JobError::NotFound(id.to_owned()));
        }
        let (status, _) = self
            .call(
                reqwest::Method::DELETE,
                &format!("/slurm/{}/job/{id}", self.version),
                None,
            )
            .await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(JobError::Scheduler(format!(
                "slurmrestd answered {status} to the cancel"
            )))
        }
    }

    async fn logs(&self, _id: &str, _spec: &JobSpec, _max_bytes: u64) -> Result<Logs, JobError> {
        Err(JobError::Scheduler(
            "slurmrestd cannot read files: connect to the cluster over SSH to see the job's output"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_versions_offered_come_from_the_openapi_document() {
        let lab: Value = serde_json::from_str(include_str!(
            "../../tests/samples/openapi-v3-paths-22.05.json"
        ))
        .unwrap();
        // The lab's 22.05 lists slurmdb paths first, and v0.0.36 to v0.0.38 of Slurm's.
        assert_eq!(offered_versions(&lab), ["v0.0.38", "v0.0.37", "v0.0.36"]);
        let future = json!({"paths": {
            "/slurm/v0.0.45/ping": {}, "/slurm/v0.0.45/jobs": {}, "/slurmdb/v0.0.45/jobs": {},
            "/slurm/v0.0.100/ping": {}, "/slurm/latest/ping": {}
        }});
        assert_eq!(offered_versions(&future), ["v0.0.100", "v0.0.45"]);
        assert!(offered_versions(&json!({"paths": []})).is_empty());
        assert!(offered_versions(&json!("not a document")).is_empty());
    }

    /// A slurmrestd that serves only versions newer than this Usine's (a site two releases
    /// ahead): the error names what it offers, instead of "check that it is reachable".
    #[tokio::test]
    async fn a_server_with_only_newer_versions_is_named() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let asked = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (status, body) = match asked.starts_with("GET /openapi/v3 ") {
                    true => ("200 OK", r#"{"paths": {"/slurm/v0.0.45/ping": {}}}"#),
                    false => ("404 Not Found", "{}"),
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            }
        });
        let token = Zeroizing::new("t".to_owned());
        let Err(error) = SlurmRest::connect(&base, "bob", token, "/home/bob").await else {
            panic!("connected to a server without a version Usine speaks");
        };
        let said = error.to_string();
        assert!(
            said.contains("v0.0.45") && said.contains("v0.0.42"),
            "{said}"
        );
    }

    /// Real answers of the lab's slurmrestd 22.05 and 24.11: an expired token and an unknown
    /// job look alike on 22.05 (both 500), and are told apart by their error numbers.
    #[test]
    fn a_refused_token_is_told_from_a_forgotten_job() {
        let expired_22 = r#"{"errors":[{"description":"Unable to find JobId=1","error_number":-1,"error":"Unspecified error","source":"slurm_load_job"}]}"#;
        let unknown_22 = r#"{"errors":[{"description":"Unable to find JobId=999999","error_number":2017,"error":"Invalid job id specified","source":"slurm_load_job"}]}"#;
        let expired_22_db = r#"{"errors":[{"error_number":1007,"error":"Protocol authentication error","source":"slurmdb_jobs_get"}]}"#;
        let expired_24 = r#"{"errors":[{"description":"Unable to query JobId=1","error_number":1007,"error":"Protocol authentication error","source":"_handle_job_get"}]}"#;
        let unknown_24 = r#"{"errors":[{"description":"Unable to query JobId=999999","error_number":2017,"error":"Invalid job id specified","source":"_handle_job_get"}]}"#;
        assert!(token_refused(500, &error_numbers(expired_22)));
        assert!(!token_refused(500, &error_numbers(unknown_22)));
        assert!(token_refused(200, &error_numbers(expired_22_db)));
        assert!(token_refused(511, &error_numbers(expired_24)));
        assert!(!token_refused(404, &error_numbers(unknown_24)));
        assert_eq!(error_numbers(unknown_24), [INVALID_JOB_ID]);
        assert!(!token_refused(
            200,
            &error_numbers(r#"{"jobs": [], "errors": []}"#)
        ));
        assert!(error_numbers("not json").is_empty());
    }

    fn rest(version: &'static str) -> SlurmRest {
        SlurmRest {
            client: reqwest::Client::new(),
            base: "http://127.0.0.1:1".into(),
            user: "ana".into(),
            token: Mutex::new(Zeroizing::new("t".into())),
            renewal: None,
            version,
            home: "/home/ana".into(),
            unknown_to_slurmdbd: Mutex::default(),
        }
    }

    #[test]
    fn job_descriptions_follow_the_plugin_version() {
        let spec = JobSpec {
            name: "train".into(),
            nodes: 2,
            gpus_per_node: 4,
            gpu_type: Some("h100".into()),
            working_dir: "~/runs".into(),
            ..JobSpec::default()
        };
        let old = rest("v0.0.38").job_description("t1", &spec).unwrap();
        assert_eq!(old["nodes"], json!([2, 2]));
        assert_eq!(old["gres"], "gpu:h100:4");
        assert_eq!(old["time_limit"], 60);
        assert_eq!(old["environment"]["HOME"], "/home/ana");
        assert_eq!(old["current_working_directory"], "/home/ana/runs");
        assert_eq!(old["standard_output"], "/home/ana/runs/train-%j.out");
        let new = rest("v0.0.42").job_description("t1", &spec).unwrap();
        assert_eq!(new["nodes"], "2");
        assert_eq!(new["tres_per_node"], "gres/gpu:h100:4");
        assert_eq!(new["time_limit"]["number"], 60);
        assert!(
            new["environment"]
                .as_array()
                .unwrap()
                .contains(&json!("HOME=/home/ana"))
        );
        assert_eq!(new["comment"], "usine:t1");
    }
}
