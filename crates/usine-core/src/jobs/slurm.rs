//! What Slurm says about jobs, read from its stable text formats (`squeue -o`, `sacct -P`) and
//! from its JSON (`squeue --json`, slurmrestd) in every version from 20.11's to 25.x's: before
//! 23.02 `job_state` is a string and numbers are plain; from 23.02 on `job_state` is an array and
//! many numbers are `{"set", "infinite", "number"}` objects. Pure functions, tested on real output.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::discovery::{parse_slurm_minutes, parse_tres};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    /// Accepted, not sent anywhere yet (a draft in the outbox).
    Queued,
    Pending,
    Running,
    Completing,
    Suspended,
    Completed,
    Failed,
    Cancelled,
    Timeout,
    OutOfMemory,
    NodeFail,
    Preempted,
    /// A state this version of Usine does not know, as Slurm spelled it.
    Other(String),
}

impl JobState {
    /// `RUNNING`, `CANCELLED by 1001`, `["PENDING","REQUEUED"]`'s first item, `CD`, …
    pub fn parse(text: &str) -> Self {
        let word = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match word.trim_end_matches('+') {
            "PENDING" | "PD" | "REQUEUED" | "RQ" | "REQUEUE_HOLD" | "REQUEUE_FED"
            | "RESV_DEL_HOLD" => Self::Pending,
            "RUNNING" | "R" | "CONFIGURING" | "CF" | "RESIZING" | "SIGNALING" | "STAGE_OUT" => {
                Self::Running
            }
            "COMPLETING" | "CG" => Self::Completing,
            "SUSPENDED" | "S" | "STOPPED" | "ST" => Self::Suspended,
            "COMPLETED" | "CD" => Self::Completed,
            "FAILED" | "F" | "BOOT_FAIL" | "BF" | "DEADLINE" | "DL" => Self::Failed,
            "CANCELLED" | "CA" | "REVOKED" | "RV" => Self::Cancelled,
            "TIMEOUT" | "TO" => Self::Timeout,
            "OUT_OF_MEMORY" | "OOM" => Self::OutOfMemory,
            "NODE_FAIL" | "NF" => Self::NodeFail,
            "PREEMPTED" | "PR" => Self::Preempted,
            "" => Self::Other("unknown".into()),
            other => Self::Other(other.to_owned()),
        }
    }

    /// Nothing more will happen to the job.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Failed
                | Self::Cancelled
                | Self::Timeout
                | Self::OutOfMemory
                | Self::NodeFail
                | Self::Preempted
        )
    }

    pub fn is_success(&self) -> bool {
        *self == Self::Completed
    }
}

/// One job (or one array task) as Slurm reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// `123`, or `123_4` for task 4 of array job 123.
    pub job_id: String,
    pub name: String,
    pub state: JobState,
    /// Why a pending job waits (Slurm's word, translated by [`pending_reason`]).
    pub reason: Option<String>,
    pub partition: String,
    pub account: String,
    pub submitted: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    #[ts(type = "number | null")]
    pub elapsed_seconds: Option<u64>,
    #[ts(type = "number | null")]
    pub time_limit_minutes: Option<u64>,
    pub nodes: Option<u32>,
    pub node_list: String,
    /// GPUs the job holds (all nodes together), when Slurm says.
    pub gpus: Option<u32>,
    pub exit_code: Option<i32>,
    pub comment: String,
    /// Why a failed job failed, in plain words, when its exit code does not say (Slurm could
    /// not start it, say, because its output file cannot be written).
    #[serde(default)]
    pub failure: Option<String>,
}

impl JobRecord {
    fn empty(job_id: String) -> Self {
        Self {
            job_id,
            name: String::new(),
            state: JobState::Other("unknown".into()),
            reason: None,
            partition: String::new(),
            account: String::new(),
            submitted: None,
            started: None,
            ended: None,
            elapsed_seconds: None,
            time_limit_minutes: None,
            nodes: None,
            node_list: String::new(),
            gpus: None,
            exit_code: None,
            comment: String::new(),
            failure: None,
        }
    }

    /// GPU-hours used so far (or in total once finished).
    pub fn gpu_hours(&self) -> Option<f64> {
        Some(f64::from(self.gpus?) * self.elapsed_seconds? as f64 / 3600.0)
    }
}

/// The `squeue` format [`parse_squeue`] reads. The comment is last because it may contain `|`.
pub const SQUEUE_FORMAT: &str = "%i|%j|%T|%r|%P|%a|%V|%S|%M|%l|%D|%N|%b|%k";

fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && !matches!(t, "N/A" | "None" | "(null)" | "Unknown")).then(|| t.to_owned())
}

/// `1-02:03:04`, `02:03:04`, `3:04` → seconds.
pub fn parse_elapsed(text: &str) -> Option<u64> {
    let text = text.trim();
    let (days, rest) = match text.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, text),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, s) = match parts[..] {
        [h, m, s] => (h, m, s),
        [m, s] => (0, m, s),
        [s] => (0, 0, s),
        _ => return None,
    };
    days.checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m.checked_mul(60)?)?
        .checked_add(s)
}

/// `gres:gpu:h100:2`, `gres/gpu:2`, `gpu:2`, `N/A` (per node) → GPUs per node.
/// The GPUs a TRES or GRES list asks for, every GPU item summed, typed or not
/// (`gres/gpu:h100:2,gres/gpu:a100:2` → 4; `gres:gpu:4`, `gpu:4`, `gres/gpu=4`).
fn gpus_in(tres: &str) -> Option<u32> {
    let total: u32 = tres
        .split(',')
        .map(|item| {
            let item = item
                .trim()
                .trim_start_matches("gres:")
                .trim_start_matches("gres/");
            crate::discovery::parse_gpu_gres(&item.replace('=', ":")).1
        })
        .sum();
    (total > 0).then_some(total)
}

/// The GPUs a job holds or asks for: what Slurm allocated (`gres/gpu`, else its typed items,
/// else `gres_detail`'s per-node list), else what it asked for per job (`--gpus N`), per node
/// × nodes, or per task × tasks.
fn job_gpus(j: &Value, nodes: Option<u32>) -> Option<u32> {
    allocated_gpus(&string(j.get("tres_alloc_str")))
        .or_else(|| {
            let detail = j.get("gres_detail").and_then(Value::as_array)?;
            let on_nodes: u32 = detail.iter().filter_map(|d| gpus_in(d.as_str()?)).sum();
            (on_nodes > 0).then_some(on_nodes)
        })
        .or_else(|| gpus_in(&string(j.get("tres_per_job"))))
        .or_else(|| gpus_in(&string(j.get("tres_per_node"))).map(|g| g * nodes.unwrap_or(1)))
        .or_else(|| {
            let tasks = number(j.get("tasks")).filter(|&t| t > 0).unwrap_or(1) as u32;
            gpus_in(&string(j.get("tres_per_task"))).map(|g| g.saturating_mul(tasks))
        })
}

/// The GPUs in an allocated-TRES list (`gres/gpu=2,gres/gpu:h100=2` → 2): Slurm's total when
/// it gives one, else its typed items summed (`gres/gpu:h100=1,gres/gpu:a100=1` → 2).
fn allocated_gpus(tres: &str) -> Option<u32> {
    let alloc = parse_tres(tres);
    let typed = alloc
        .iter()
        .filter(|(k, _)| k.starts_with("gres/gpu:"))
        .fold(0u32, |sum, (_, &n)| {
            sum.saturating_add(u32::try_from(n).unwrap_or(u32::MAX))
        });
    alloc
        .get("gres/gpu")
        .map(|&g| u32::try_from(g).unwrap_or(u32::MAX))
        .or((typed > 0).then_some(typed))
}

/// `squeue -O` fields [`parse_squeue_gpus`] reads: the TRES a job holds (running) or asks for
/// (pending), the one place `squeue` shows GPUs asked per job (`--gpus N`) or per task.
pub const SQUEUE_TRES_FORMAT: &str = "JobArrayID:|,tres-alloc:|";

/// Lines of `squeue -h -O SQUEUE_TRES_FORMAT` → (job id, GPUs), for jobs with GPUs.
pub fn parse_squeue_gpus(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| {
            let (id, tres) = line.split_once('|')?;
            let id = id.trim();
            let gpus = allocated_gpus(tres.trim_end_matches('|'))?;
            (!id.is_empty()).then(|| (id.to_owned(), gpus))
        })
        .collect()
}

/// Lines of `squeue -h -o SQUEUE_FORMAT`.
pub fn parse_squeue(text: &str) -> Vec<JobRecord> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(14, '|').collect();
            if f.len() < 14 || f[0].trim().is_empty() {
                return None;
            }
            let nodes = f[10].trim().parse().ok();
            let mut r = JobRecord::empty(f[0].trim().to_owned());
            r.name = f[1].to_owned();
            r.state = JobState::parse(f[2]);
            r.reason = opt(f[3]);
            r.partition = f[4].to_owned();
            r.account = f[5].to_owned();
            r.submitted = opt(f[6]);
            r.started = opt(f[7]).filter(|_| r.state != JobState::Pending);
            r.elapsed_seconds = parse_elapsed(f[8]);
            r.time_limit_minutes = parse_slurm_minutes(f[9]);
            r.nodes = nodes;
            r.node_list = opt(f[11]).unwrap_or_default();
            r.gpus = gpus_in(f[12]).map(|g| g * nodes.unwrap_or(1));
            r.comment = f[13].to_owned();
            Some(r)
        })
        .collect()
}

/// The `sacct` fields [`parse_sacct`] reads (`-X -n -P --format=…`).
pub const SACCT_FIELDS: &str = "JobID,JobName,State,Reason,Partition,Account,Submit,Start,End,ElapsedRaw,Timelimit,NNodes,NodeList,AllocTRES,ExitCode";

/// Lines of `sacct -X -n -P --format=SACCT_FIELDS` (allocations only, no steps).
pub fn parse_sacct(text: &str) -> Vec<JobRecord> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            if f.len() < 15 || f[0].contains('.') || f[0].trim().is_empty() {
                return None;
            }
            let mut r = JobRecord::empty(f[0].trim().to_owned());
            r.name = f[1].to_owned();
            r.state = JobState::parse(f[2]);
            r.reason = opt(f[3]);
            r.partition = f[4].to_owned();
            r.account = f[5].to_owned();
            r.submitted = opt(f[6]);
            r.started = opt(f[7]);
            r.ended = opt(f[8]);
            r.elapsed_seconds = f[9].trim().parse().ok();
            r.time_limit_minutes = parse_slurm_minutes(f[10]);
            r.nodes = f[11].trim().parse().ok();
            r.node_list = opt(f[12]).unwrap_or_default();
            r.gpus = allocated_gpus(f[13]);
            r.exit_code = f[14].split(':').next().and_then(|c| c.parse().ok());
            Some(r)
        })
        .collect()
}

/// A Slurm JSON number: plain, or `{"set": true, "infinite": false, "number": 5}`.
fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::Object(o) => {
            let set = o.get("set").and_then(Value::as_bool).unwrap_or(true);
            let infinite = o.get("infinite").and_then(Value::as_bool).unwrap_or(false);
            if !set || infinite {
                return None;
            }
            o.get("number").and_then(Value::as_i64)
        }
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.first().map(|x| string(Some(x))).unwrap_or_default(),
        _ => String::new(),
    }
}

fn epoch_text(v: Option<&Value>) -> Option<String> {
    let n = number(v).filter(|&n| n > 0)?;
    Some(format!("@{n}"))
}

#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("{}", crate::tr!(
        en: "Slurm's answer is not JSON Usine understands ({})",
        fr: "La réponse de Slurm n'est pas du JSON qu'Usine comprend ({})",
        .0
    ))]
    NotJson(#[from] serde_json::Error),
    #[error("{}", crate::tr!(
        en: "Slurm reported an error: {}",
        fr: "Slurm a signalé une erreur : {}",
        .0
    ))]
    Slurm(String),
}

/// Jobs from `squeue --json`, slurmrestd `/slurm/v0.0.3x–4x/jobs` or `/job/{id}`.
pub fn parse_jobs_json(text: &str) -> Result<Vec<JobRecord>, JsonError> {
    let root: Value = serde_json::from_str(&without_bare_non_numbers(text))?;
    let errors: Vec<String> = root
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let d = string(e.get("description"));
            if d.is_empty() {
                string(e.get("error"))
            } else {
                d
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    let Some(jobs) = root.get("jobs").and_then(Value::as_array) else {
        return Err(JsonError::Slurm(if errors.is_empty() {
            "no job list in the answer".into()
        } else {
            errors.join("; ")
        }));
    };
    Ok(jobs.iter().map(job_from_json).collect())
}

/// Slurm's JSON writer (slurmrestd 23.11 and 24.05 among them) can print a bare `Infinity`,
/// `-Infinity` or `NaN`, which JSON does not have: one such value in one job would make the
/// whole list unreadable. Outside strings they become `null` (that field unknown, the rest read).
fn without_bare_non_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("Infinity") && !text.contains("NaN") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            (in_string, escaped) = (escaped || c != '"', !escaped && c == '\\');
        } else if c == '"' {
            in_string = true;
        } else if let Some(word) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push_str("null");
            rest = &rest[word.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

fn job_from_json(j: &Value) -> JobRecord {
    let mut r = JobRecord::empty(job_id_of(
        j.get("job_id"),
        j.get("array_job_id"),
        j.get("array_task_id"),
    ));
    r.name = string(j.get("name"));
    r.state = JobState::parse(&string(j.get("job_state")));
    r.reason = opt(&string(j.get("state_reason")));
    r.partition = string(j.get("partition"));
    r.account = string(j.get("account"));
    r.submitted = epoch_text(j.get("submit_time"));
    r.started = epoch_text(j.get("start_time")).filter(|_| r.state != JobState::Pending);
    r.ended = epoch_text(j.get("end_time")).filter(|_| r.state.is_finished());
    if let (Some(start), false) = (number(j.get("start_time")), r.state == JobState::Pending) {
        let end = if r.state.is_finished() {
            number(j.get("end_time"))
        } else {
            None
        };
        let now = end.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        r.elapsed_seconds = (start > 0 && now >= start).then(|| (now - start) as u64);
    }
    r.time_limit_minutes = number(j.get("time_limit")).map(|m| m as u64);
    r.nodes = number(j.get("node_count")).map(|n| n as u32);
    r.node_list = string(j.get("nodes"));
    r.gpus = job_gpus(j, r.nodes);
    r.exit_code = exit_code(j.get("exit_code"));
    r.comment = string(j.get("comment"));
    r
}

/// A job's id as Usine names it: `ARRAY_TASK` for a task of an array, else the job id.
fn job_id_of(id: Option<&Value>, array_job: Option<&Value>, task: Option<&Value>) -> String {
    match (number(array_job).unwrap_or(0), number(task)) {
        (array_job, Some(task)) if array_job > 0 => format!("{array_job}_{task}"),
        _ => number(id).unwrap_or_default().to_string(),
    }
}

/// v0.0.40+ and slurmdb: `{status, return_code}` (the code a number or a number object);
/// v0.0.39 (Slurm 23.02): a plain number object `{set, infinite, number}`; older: a number.
fn exit_code(v: Option<&Value>) -> Option<i32> {
    match v {
        Some(Value::Object(o)) if o.contains_key("return_code") => number(o.get("return_code")),
        other => number(other),
    }
    .map(|c| c as i32)
}

/// Jobs from slurmdbd's REST (`/slurmdb/v0.0.3x–4x/job/{id}`): the finished jobs that
/// `/slurm/…/jobs` no longer lists (after `MinJobAge`), with their end, exit code and GPUs.
pub fn parse_accounting_json(text: &str) -> Result<Vec<JobRecord>, JsonError> {
    let root: Value = serde_json::from_str(&without_bare_non_numbers(text))?;
    let Some(jobs) = root.get("jobs").and_then(Value::as_array) else {
        return Err(JsonError::Slurm("no job list in the answer".into()));
    };
    Ok(jobs.iter().map(accounted_job).collect())
}

fn accounted_job(j: &Value) -> JobRecord {
    let mut r = JobRecord::empty(job_id_of(
        j.get("job_id"),
        j.pointer("/array/job_id"),
        j.pointer("/array/task_id"),
    ));
    r.name = string(j.get("name"));
    r.state = JobState::parse(&string(j.pointer("/state/current")));
    r.reason = opt(&string(j.pointer("/state/reason")));
    r.partition = string(j.get("partition"));
    r.account = string(j.get("account"));
    r.submitted = epoch_text(j.pointer("/time/submission"));
    r.started = epoch_text(j.pointer("/time/start"));
    r.ended = epoch_text(j.pointer("/time/end")).filter(|_| r.state.is_finished());
    r.elapsed_seconds = number(j.pointer("/time/elapsed")).map(|e| e.max(0) as u64);
    r.time_limit_minutes = number(j.pointer("/time/limit")).map(|m| m.max(0) as u64);
    r.nodes = number(j.get("allocation_nodes")).map(|n| n as u32);
    r.node_list = string(j.get("nodes"));
    r.gpus = accounted_gpus(j.pointer("/tres/allocated"));
    r.exit_code = exit_code(j.get("exit_code"));
    r.comment = match j.get("comment") {
        Some(Value::Object(c)) => string(c.get("job")),
        other => string(other),
    };
    r
}

/// GPUs in slurmdb's TRES list: the `gres` entry named `gpu`, else its typed entries summed.
fn accounted_gpus(tres: Option<&Value>) -> Option<u32> {
    let gres: Vec<(String, i64)> = tres
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| string(t.get("type")) == "gres")
        .filter_map(|t| Some((string(t.get("name")), number(t.get("count"))?)))
        .collect();
    let total = gres.iter().find(|(name, _)| name == "gpu").map(|(_, n)| *n);
    let typed: i64 = gres
        .iter()
        .filter(|(name, _)| name.starts_with("gpu:"))
        .map(|(_, n)| n)
        .sum();
    total
        .or((typed > 0).then_some(typed))
        .filter(|&n| n > 0)
        .map(|n| n as u32)
}

/// The `Key=value` fields of one line of `scontrol show job -o`, by key, in any order, any
/// missing. A value may hold spaces (a path): it runs until the next word shaped like `Key=`.
pub fn scontrol_fields(line: &str) -> std::collections::HashMap<&str, &str> {
    let is_key = |word: &str| {
        word.split_once('=').is_some_and(|(k, _)| {
            k.starts_with(|c: char| c.is_ascii_alphabetic())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_:/".contains(&b))
        })
    };
    // Where each `Key=` word starts.
    let mut starts = Vec::new();
    let mut at = 0;
    for word in line.split(' ') {
        if is_key(word) {
            starts.push(at);
        }
        at += word.len() + 1;
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).map_or(line.len(), |&next| next - 1);
            let (key, value) = line[start..end].split_once('=').unwrap_or_default();
            (key, value.trim_end())
        })
        .collect()
}

/// Why a job that failed without an exit code failed, from one line of `scontrol show job -o`
/// (Slurm's reason, and where the output was to go): `(job id, plain words)`.
pub fn launch_failure(line: &str) -> Option<(String, String)> {
    let fields = scontrol_fields(line);
    let field = |name: &str| fields.get(name).map(|v| (*v).to_owned());
    let id = line
        .strip_prefix("JobId=")?
        .split_whitespace()
        .next()?
        .to_owned();
    let reason = field("Reason").filter(|r| r != "None")?;
    let output = field("StdOut").unwrap_or_default();
    // 22.05 says JobLaunchFailure; 23.x and later kill the task that could not open its output
    // with signal 53 (slurmd: "IO setup failed"), which no program raises on its own.
    let words = if reason == "JobLaunchFailure" || reason.starts_with("RaisedSignal:53(") {
        crate::tr!(
            en: "Slurm could not start the job. Most often its output file {output} cannot be written: check that its folder exists on the cluster and that you can write there, then run the job again.",
            fr: "Slurm n'a pas pu démarrer le job. Le plus souvent, son fichier de sortie {output} ne peut pas être écrit : vérifiez que son dossier existe sur le cluster et que vous pouvez y écrire, puis relancez le job."
        )
    } else {
        crate::tr!(en: "Slurm stopped it ({reason}).", fr: "Slurm l'a arrêté ({reason}).")
    };
    Some((id, words))
}

/// What a pending reason means, in plain words, and what the user can do.
pub fn pending_reason(reason: &str) -> String {
    let r = reason.trim();
    match r {
        "Priority" => {
            crate::tr!(en: "Other jobs are ahead in the queue. It starts on its own; nothing to do.", fr: "D'autres jobs passent avant dans la file. Il démarrera tout seul ; rien à faire.")
        }
        "Resources" => {
            crate::tr!(en: "Waiting for enough free GPUs or nodes. It is next in line and starts as soon as they free up.", fr: "Il attend assez de GPU ou de nœuds libres. Il est le prochain et démarre dès qu'ils se libèrent.")
        }
        "AssocGrpGRESMinutes"
        | "AssocGrpGRESRunMinutes"
        | "AssocGrpBillingMinutes"
        | "AssocGrpCPUMinutesLimit"
        | "AssocGrpTRESMinutes" => {
            crate::tr!(en: "Your project has no GPU-hours left for this job. Ask your project's manager for more, or cancel it and submit a shorter or smaller one.", fr: "Votre projet n'a plus assez d'heures GPU pour ce job. Demandez-en plus au responsable du projet, ou annulez-le et envoyez-en un plus court ou plus petit.")
        }
        "AssocGrpGRES" | "AssocGrpCpuLimit" | "AssocGrpNodeLimit" | "AssocGrpMemLimit"
        | "AssocGrpTRES" => {
            crate::tr!(en: "Your project already uses all the GPUs or nodes it may use at once. It starts when one of its other jobs ends.", fr: "Votre projet utilise déjà tous les GPU ou nœuds permis à la fois. Il démarre quand un autre de ses jobs se termine.")
        }
        "AssocMaxJobsLimit"
        | "AssocGrpJobsLimit"
        | "QOSMaxJobsPerUserLimit"
        | "QOSMaxJobsPerAccountLimit" => {
            crate::tr!(en: "You have as many jobs running as you are allowed. It starts when one of them ends.", fr: "Vous avez autant de jobs en cours que permis. Il démarre quand l'un d'eux se termine.")
        }
        "AssocMaxSubmitJobLimit" | "QOSMaxSubmitJobPerUserLimit" => {
            crate::tr!(en: "You have reached the number of jobs you may queue. Wait for some to end.", fr: "Vous avez atteint le nombre de jobs que vous pouvez mettre en file. Attendez que certains se terminent.")
        }
        "QOSMaxGRESPerUser" | "QOSMaxGRESPerJob" | "QOSMaxTRESPerUser" | "QOSGrpGRES"
        | "MaxGRESPerAccount" => {
            crate::tr!(en: "The GPUs you asked for exceed what your quality of service allows. Ask for fewer GPUs.", fr: "Les GPU demandés dépassent ce que permet votre qualité de service. Demandez moins de GPU.")
        }
        "QOSMaxWallDurationPerJobLimit"
        | "PartitionTimeLimit"
        | "AssocMaxWallDurationPerJobLimit" => {
            crate::tr!(en: "The time limit is longer than this partition or project allows: it will never start. Cancel it and choose a shorter time.", fr: "La limite de temps dépasse ce que permet cette partition ou ce projet : il ne démarrera jamais. Annulez-le et choisissez une durée plus courte.")
        }
        "PartitionNodeLimit" | "QOSMaxNodePerJobLimit" | "AssocMaxNodesPerJobLimit" => {
            crate::tr!(en: "The job asks for more nodes than allowed here: it will never start. Cancel it and ask for fewer nodes.", fr: "Le job demande plus de nœuds que permis ici : il ne démarrera jamais. Annulez-le et demandez moins de nœuds.")
        }
        "PartitionDown" | "PartitionInactive" => {
            crate::tr!(en: "The partition is closed (maintenance?). The job waits until it reopens.", fr: "La partition est fermée (maintenance ?). Le job attend sa réouverture.")
        }
        "ReqNodeNotAvail" | "NodeDown" => {
            crate::tr!(en: "Some nodes it needs are down or reserved (maintenance?). It starts when they are back.", fr: "Des nœuds dont il a besoin sont arrêtés ou réservés (maintenance ?). Il démarre à leur retour.")
        }
        "Reservation" | "ReqNodeNotAvail, Reserved for maintenance" => {
            crate::tr!(en: "A reservation (often maintenance) holds the nodes. It starts after it.", fr: "Une réservation (souvent une maintenance) bloque les nœuds. Il démarre après.")
        }
        "Dependency" => {
            crate::tr!(en: "It waits for another job to finish first, as requested.", fr: "Il attend qu'un autre job se termine d'abord, comme demandé.")
        }
        "DependencyNeverSatisfied" => {
            crate::tr!(en: "The job it depends on failed, so it will never start. Cancel it.", fr: "Le job dont il dépend a échoué : il ne démarrera jamais. Annulez-le.")
        }
        "BeginTime" => {
            crate::tr!(en: "It was asked to start later; it waits until then.", fr: "Il doit démarrer plus tard ; il attend jusque-là.")
        }
        "JobHeldUser" => {
            crate::tr!(en: "You put it on hold. Release it to let it start.", fr: "Vous l'avez mis en attente. Libérez-le pour qu'il démarre.")
        }
        "JobHeldAdmin" => {
            crate::tr!(en: "An administrator holds it. Contact the site's support.", fr: "Un administrateur le retient. Contactez le support du site.")
        }
        "InvalidAccount" | "InvalidQOS" => {
            crate::tr!(en: "The project or quality of service is not valid for you: it will never start. Cancel it and choose another project.", fr: "Le projet ou la qualité de service n'est pas valable pour vous : il ne démarrera jamais. Annulez-le et choisissez un autre projet.")
        }
        "PartitionConfig" => {
            crate::tr!(en: "The job asks for more than a node of this partition has (cores, memory or GPUs), or for a partition your project may not use: it will never start. Cancel it and ask for less.", fr: "Le job demande plus qu'un nœud de cette partition n'a (cœurs, mémoire ou GPU), ou une partition interdite à votre projet : il ne démarrera jamais. Annulez-le et demandez moins.")
        }
        "BadConstraints" => {
            crate::tr!(en: "No node matches what the job asks for: it will never start. Cancel it and ask for fewer resources.", fr: "Aucun nœud ne correspond à la demande du job : il ne démarrera jamais. Annulez-le et demandez moins de ressources.")
        }
        "Licenses" => {
            crate::tr!(en: "It waits for a software licence to be free.", fr: "Il attend qu'une licence logicielle se libère.")
        }
        "launch failed requeued held" => {
            crate::tr!(en: "It failed to start on a node and is held. Release it or resubmit it.", fr: "Il n'a pas pu démarrer sur un nœud et est retenu. Libérez-le ou renvoyez-le.")
        }
        "Cleaning" | "Prolog" | "Configuring" => {
            crate::tr!(en: "The nodes are being prepared; it starts in a moment.", fr: "Les nœuds sont en préparation ; il démarre dans un instant.")
        }
        "None" | "" => {
            crate::tr!(en: "Waiting to be scheduled.", fr: "En attente de planification.")
        }
        other => crate::tr!(
            en: "Slurm says \"{other}\". The site's documentation explains this reason.",
            fr: "Slurm dit « {other} ». La documentation du site explique cette raison."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn states_in_every_spelling() {
        assert_eq!(JobState::parse("CANCELLED by 1001"), JobState::Cancelled);
        assert_eq!(JobState::parse("PD"), JobState::Pending);
        assert_eq!(JobState::parse("COMPLETED+"), JobState::Completed);
        assert_eq!(JobState::parse("WEIRD"), JobState::Other("WEIRD".into()));
        assert!(JobState::Timeout.is_finished() && !JobState::Running.is_finished());
    }

    #[test]
    fn squeue_lines_including_a_pipe_in_the_comment() {
        let text = "17|train|PENDING|AssocGrpGRESMinutes|gpu|ai-startup|2026-11-28T16:00:01|N/A|0:00|1-00:00:00|1||gres:gpu:h100:4|usine:abc|x\n\
                    18_3|sweep|RUNNING|None|gpu|ai-startup|2026-11-28T16:00:02|2026-11-28T16:00:03|1:02:03|2:00:00|2|node[1-2]|gres/gpu:2|\n";
        let jobs = parse_squeue(text);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].state, JobState::Pending);
        assert_eq!(jobs[0].reason.as_deref(), Some("AssocGrpGRESMinutes"));
        assert_eq!((jobs[0].started.as_ref(), jobs[0].gpus), (None, Some(4)));
        assert_eq!(jobs[0].comment, "usine:abc|x");
        assert_eq!(
            (
                jobs[1].job_id.as_str(),
                jobs[1].elapsed_seconds,
                jobs[1].gpus
            ),
            ("18_3", Some(3723), Some(4))
        );
        assert_eq!(jobs[1].time_limit_minutes, Some(120));
    }

    #[test]
    fn sacct_allocations_without_steps_from_the_lab() {
        let text = "14|train|CANCELLED by 1001|None|gpu|ai-startup|2026-11-28T10:00:00|2026-11-28T10:00:01|2026-11-28T10:00:10|9|1-00:00:00|1|localhost|billing=21,cpu=1,gres/gpu:h100=2,gres/gpu=2,mem=256M,node=1|0:15\n14.batch|batch|CANCELLED|||ai-startup||||9||1|localhost|cpu=1|0:15\n";
        let jobs = parse_sacct(text);
        assert_eq!(jobs.len(), 1);
        let j = &jobs[0];
        assert_eq!(
            (j.state.clone(), j.gpus, j.elapsed_seconds, j.exit_code),
            (JobState::Cancelled, Some(2), Some(9), Some(0))
        );
        assert!((j.gpu_hours().unwrap() - 0.005).abs() < 1e-9);
    }

    #[test]
    fn json_from_slurm_22_05_with_plain_numbers_and_string_states() {
        for file in ["squeue-22.05.json", "rest-jobs-22.05.json"] {
            let jobs = parse_jobs_json(&sample(file)).unwrap();
            assert!(!jobs.is_empty(), "{file}");
            assert!(
                jobs.iter().all(|j| !matches!(j.state, JobState::Other(_))),
                "{jobs:#?}"
            );
            assert!(
                jobs.iter().all(|j| j.job_id.parse::<u64>().is_ok()),
                "{file}"
            );
            assert!(jobs.iter().any(|j| j.gpus.is_some_and(|g| g > 0)), "{file}");
        }
    }

    #[test]
    fn json_from_23_02_to_24_11_with_state_arrays_and_number_objects() {
        for (file, expect) in [
            (
                "slurmrestd-jobs-23.02-v0.0.39.json",
                vec![
                    JobState::Completed,
                    JobState::Running,
                    JobState::Pending,
                    JobState::Pending,
                ],
            ),
            (
                "slurmrestd-jobs-23.11-v0.0.40.json",
                vec![
                    JobState::Timeout,
                    JobState::Completed,
                    JobState::Failed,
                    JobState::Running,
                    JobState::Pending,
                    JobState::Pending,
                ],
            ),
            (
                "slurmrestd-jobs-24.11-v0.0.42.json",
                vec![
                    JobState::Cancelled,
                    JobState::Timeout,
                    JobState::Failed,
                    JobState::Running,
                    JobState::Pending,
                    JobState::Pending,
                ],
            ),
        ] {
            let jobs = parse_jobs_json(&sample(file)).unwrap();
            let states: Vec<JobState> = jobs.iter().map(|j| j.state.clone()).collect();
            assert_eq!(states, expect, "{file}");
            let pending = jobs.iter().find(|j| j.state == JobState::Pending).unwrap();
            assert!(
                pending.reason.is_some() && pending.started.is_none(),
                "{file}"
            );
            let running = jobs.iter().find(|j| j.state == JobState::Running).unwrap();
            assert!(
                running.time_limit_minutes.is_some() && running.nodes.is_some(),
                "{file}"
            );
        }
        let gpu =
            parse_jobs_json(&sample("slurmrestd-job-gpu-running-24.05-v0.0.41.json")).unwrap();
        assert_eq!(gpu[0].state, JobState::Running);
        // Its GPUs are only in tres_per_job and gres_detail (`gpu:h100:4(IDX:0-3)`).
        assert_eq!(gpu[0].gpus, Some(4));
        // Job 6356 asked for an H100 and an H200 on its node: two GPUs, not the first type's one.
        let two_types = parse_jobs_json(&sample("slurmrestd-jobs-24.11-v0.0.42.json")).unwrap();
        assert_eq!(
            (two_types[0].job_id.as_str(), two_types[0].gpus),
            ("6356", Some(2))
        );
    }

    #[test]
    fn slurm_errors_and_garbage_are_errors_not_panics() {
        let e = parse_jobs_json(r#"{"errors":[{"error":"Unable to find job 99"}]}"#).unwrap_err();
        assert!(e.to_string().contains("Unable to find job 99"));
        assert!(parse_jobs_json("<html>").is_err());
    }

    #[test]
    fn scontrol_fields_by_key_in_any_order() {
        // Slurm 22.05 ends with Power=; recent ones do not print it, and the order may change.
        for line in [
            "JobId=7 JobName=my job UserId=bob(1002) StdErr=/home/bob/my runs/7.err StdIn=/dev/null StdOut=/home/bob/my runs/7.out Power=",
            "JobId=7 JobName=my job StdOut=/home/bob/my runs/7.out StdErr=/home/bob/my runs/7.err StdIn=/dev/null TresPerNode=gres/gpu:2",
        ] {
            let f = scontrol_fields(line);
            assert_eq!(f["StdOut"], "/home/bob/my runs/7.out", "{line}");
            assert_eq!(f["StdErr"], "/home/bob/my runs/7.err", "{line}");
            assert_eq!((f["JobId"], f["JobName"]), ("7", "my job"));
        }
        let sample = include_str!("../../tests/samples/scontrol_show_job_22.05.txt");
        let f = scontrol_fields(sample.lines().next().unwrap());
        assert_eq!(f["StdOut"], "/home/alice/lab/train-14.out");
        assert!(scontrol_fields("no fields here").is_empty());
    }

    #[test]
    fn a_launch_failure_names_the_output_file() {
        let line = "JobId=96 JobName=t UserId=alice(1001) JobState=FAILED Reason=JobLaunchFailure Dependency=(null) ExitCode=0:53 StdErr=/no such/dir/x.out StdIn=/dev/null StdOut=/no such/dir/x.out Power=";
        let (id, words) =
            crate::lang::with(crate::lang::Lang::En, || launch_failure(line)).unwrap();
        assert_eq!(id, "96");
        assert!(
            words.contains("output file /no such/dir/x.out cannot"),
            "{words}"
        );
        assert!(launch_failure("JobId=5 Reason=None StdOut=/x").is_none());
        assert!(launch_failure("garbage").is_none());
    }

    /// Real 24.11 output: a job whose output folder is missing (signal 53, not
    /// JobLaunchFailure), a job with one GPU of each of two types, and a pending `--gpus=2`.
    #[test]
    fn slurm_24_11_text_output_is_read() {
        let shown = include_str!("../../tests/samples/scontrol_show_job_24.11.txt");
        let (id, words) = crate::lang::with(crate::lang::Lang::En, || {
            shown.lines().find_map(launch_failure)
        })
        .unwrap();
        assert_eq!(id, "69");
        assert!(
            words.contains("/nonexistent/usine/69.out cannot be written"),
            "{words}"
        );
        let two_types = scontrol_fields(shown.lines().nth(1).unwrap());
        assert_eq!(two_types["JobName"], "two-types");
        assert_eq!(two_types["StdOut"], "/tmp/two-types-70.out");

        let queue = parse_squeue(include_str!("../../tests/samples/squeue-24.11.txt"));
        let gpus = parse_squeue_gpus(include_str!(
            "../../tests/samples/squeue-tres-alloc-24.11.txt"
        ));
        assert_eq!(
            queue
                .iter()
                .map(|r| (r.job_id.as_str(), r.gpus))
                .collect::<Vec<_>>(),
            [("71", None), ("70", Some(2))],
            "%b shows per-node GPUs only"
        );
        assert_eq!(gpus, [("71".to_owned(), 2), ("70".to_owned(), 2)]);

        let acct = parse_sacct(include_str!("../../tests/samples/sacct-24.11.txt"));
        let seen: Vec<_> = acct
            .iter()
            .map(|r| (r.job_id.as_str(), r.state.clone(), r.gpus, r.exit_code))
            .collect();
        assert_eq!(
            seen,
            [
                ("69", JobState::Failed, None, Some(0)),
                ("70", JobState::Cancelled, Some(2), Some(0)),
                ("71", JobState::Cancelled, None, Some(0)),
            ]
        );
    }

    #[test]
    fn gpus_from_every_place_slurm_puts_them() {
        let gpus = |fields: &str| {
            let text = format!(
                r#"{{"jobs": [{{"job_id": 1, "job_state": "PENDING", "node_count": 2{fields}}}]}}"#
            );
            parse_jobs_json(&text).unwrap()[0].gpus
        };
        let two_types = r#", "tres_alloc_str": "cpu=8,gres/gpu:h100=2,gres/gpu:a100=2""#;
        assert_eq!(gpus(two_types), Some(4), "two GPU types allocated");
        let total = r#", "tres_alloc_str": "cpu=8,gres/gpu=4,gres/gpu:h100=4""#;
        assert_eq!(gpus(total), Some(4), "the total wins over its typed items");
        assert_eq!(
            gpus(r#", "tres_per_job": "gres/gpu:4""#),
            Some(4),
            "--gpus 4, pending"
        );
        let per_node = r#", "tres_per_node": "gres/gpu:h100:2,gres/gpu:a100:1""#;
        assert_eq!(gpus(per_node), Some(6), "both types, on each of 2 nodes");
        assert_eq!(gpus(r#", "tres_per_node": "gres:gpu:2""#), Some(4));
        let detail = r#", "gres_detail": ["gpu:h100:2(IDX:0,2)", "gpu:h100:4(IDX:0-3)"], "tres_per_job": "gres/gpu:1""#;
        assert_eq!(
            gpus(detail),
            Some(6),
            "what each node holds wins over what was asked"
        );
        assert_eq!(gpus(""), None);
    }

    /// The lab's slurmrestd 24.11 at each version it serves, and squeue/sacct --json: a job
    /// ended with exit code 3 on an A100, one on an H100 and an A100, a held `--gpus=2`.
    #[test]
    fn slurm_24_11_json_at_every_version_it_serves() {
        for file in [
            "rest-jobs-24.11-v0.0.40.json",
            "rest-jobs-24.11-v0.0.41.json",
            "rest-jobs-24.11-v0.0.42.json",
        ] {
            let jobs = parse_jobs_json(&sample(file)).unwrap();
            let seen: Vec<_> = jobs
                .iter()
                .map(|j| (j.job_id.as_str(), j.state.clone(), j.gpus))
                .collect();
            assert_eq!(
                seen,
                [
                    ("195", JobState::Failed, Some(1)),
                    ("196", JobState::Running, Some(2)),
                    ("197", JobState::Pending, Some(2)),
                ],
                "{file}"
            );
            assert_eq!(jobs[0].exit_code, Some(3), "{file}");
            assert_eq!(jobs[2].reason.as_deref(), Some("JobHeldUser"), "{file}");
        }
        let one = parse_jobs_json(&sample("rest-job-24.11-v0.0.42.json")).unwrap();
        assert_eq!((one[0].job_id.as_str(), one[0].gpus), ("196", Some(2)));
        let queue = parse_jobs_json(&sample("squeue-24.11-lab.json")).unwrap();
        assert_eq!(
            queue
                .iter()
                .map(|j| (j.job_id.as_str(), j.gpus))
                .collect::<Vec<_>>(),
            [("196", Some(2)), ("197", Some(2))]
        );
        for file in ["rest-db-job-24.11-v0.0.42.json", "sacct-24.11-lab.json"] {
            let done = &parse_accounting_json(&sample(file)).unwrap()[0];
            assert_eq!(
                (done.job_id.as_str(), &done.state, done.exit_code, done.gpus),
                ("195", &JobState::Failed, Some(3), Some(1)),
                "{file}"
            );
            assert!(done.elapsed_seconds.is_some_and(|s| s >= 2), "{done:?}");
            assert!(done.gpu_hours().is_some_and(|h| h > 0.0), "{done:?}");
        }
    }

    #[test]
    fn finished_jobs_from_slurmdb_in_22_05_and_24_05_shapes() {
        let lab = include_str!("../../tests/samples/rest-db-job-22.05.json");
        let j = &parse_accounting_json(lab).unwrap()[0];
        assert_eq!((j.job_id.as_str(), j.name.as_str()), ("15", "rest-gpu"));
        assert_eq!(
            (&j.state, j.exit_code, j.gpus),
            (&JobState::Completed, Some(0), Some(1))
        );
        assert_eq!(
            (j.elapsed_seconds, j.time_limit_minutes),
            (Some(2), Some(5))
        );
        assert_eq!(j.ended.as_deref(), Some("@1795869469"));
        let newer =
            include_str!("../../tests/samples/slurmdb-job-gpu-completed-24.05-v0.0.41.json");
        let j = &parse_accounting_json(newer).unwrap()[0];
        assert_eq!(
            (j.job_id.as_str(), &j.state, j.exit_code),
            ("10", &JobState::Completed, Some(0))
        );
        assert_eq!(
            (j.elapsed_seconds, j.time_limit_minutes),
            (Some(30), Some(1))
        );
        assert!(parse_accounting_json(r#"{"errors": [], "jobs": "none"}"#).is_err());
        let two_types = r#"{"jobs": [{"job_id": 3, "state": {"current": ["FAILED"]},
            "exit_code": {"status": ["ERROR"], "return_code": {"set": true, "infinite": false, "number": 2}},
            "tres": {"allocated": [{"type": "gres", "name": "gpu:h100", "count": 2},
                                   {"type": "gres", "name": "gpu:a100", "count": 2}]}}]}"#;
        let j = &parse_accounting_json(two_types).unwrap()[0];
        assert_eq!(
            (&j.state, j.exit_code, j.gpus),
            (&JobState::Failed, Some(2), Some(4))
        );
    }

    #[test]
    fn exit_codes_in_every_shape() {
        let code = |exit: &str| {
            let text = format!(
                r#"{{"jobs": [{{"job_id": 1, "job_state": "FAILED", "exit_code": {exit}}}]}}"#
            );
            parse_jobs_json(&text).unwrap()[0].exit_code
        };
        assert_eq!(code("2"), Some(2), "v0.0.38 and squeue");
        assert_eq!(
            code(r#"{"set": true, "infinite": false, "number": 3}"#),
            Some(3),
            "v0.0.39"
        );
        let v40 = r#"{"status": ["ERROR"], "return_code": {"set": true, "infinite": false, "number": 4}}"#;
        assert_eq!(code(v40), Some(4), "v0.0.40 and later");
        assert_eq!(
            code(r#"{"set": false, "infinite": false, "number": 0}"#),
            None
        );
    }

    #[test]
    fn one_bare_infinity_leaves_the_other_jobs_readable() {
        let text = r#"{"jobs": [
            {"job_id": 1, "name": "Infinity and NaN \" \\", "job_state": "RUNNING", "time_limit": Infinity},
            {"job_id": 2, "name": "b", "job_state": "PENDING", "gres_used": -Infinity, "x": NaN}
        ]}"#;
        let jobs = parse_jobs_json(text).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            jobs[0].name, "Infinity and NaN \" \\",
            "strings are left alone"
        );
        assert_eq!(
            [&jobs[0].state, &jobs[1].state],
            [&JobState::Running, &JobState::Pending]
        );
        assert_eq!(without_bare_non_numbers("[1.5, NaN]"), "[1.5, null]");
    }

    proptest::proptest! {
        #[test]
        fn any_numbers_in_an_elapsed_time_never_overflow(d in proptest::prelude::any::<u64>(), h in proptest::prelude::any::<u64>()) {
            let _ = parse_elapsed(&format!("{d}-{h}:{h}:{h}"));
            let _ = parse_elapsed(&format!("{h}:{d}"));
            proptest::prop_assert_eq!(parse_elapsed(&format!("1-00:00:{}", h % 60)), Some(86_400 + h % 60));
        }

        #[test]
        fn launch_failure_never_panics(line in "\\PC{0,200}") {
            let _ = launch_failure(&line);
            let _ = scontrol_fields(&line);
            let _ = parse_accounting_json(&line);
        }

        /// Valid JSON without those words is left exactly as it was; anything else never panics.
        #[test]
        fn lenient_json_never_panics_and_keeps_plain_json(text in "\\PC{0,200}", n in proptest::prelude::any::<i64>()) {
            let _ = parse_jobs_json(&text);
            let plain = format!("{{\"jobs\": [{{\"job_id\": {n}, \"name\": \"é\\\"\"}}]}}");
            proptest::prop_assert_eq!(without_bare_non_numbers(&plain), plain.as_str());
        }
    }

    #[test]
    fn pending_reasons_in_plain_words() {
        assert!(pending_reason("AssocGrpGRESMinutes").contains("no GPU-hours left"));
        assert!(pending_reason("Priority").contains("ahead in the queue"));
        assert!(pending_reason("SomethingNew").contains("\"SomethingNew\""));
        let fr = crate::lang::with(crate::lang::Lang::Fr, || pending_reason("Resources"));
        assert!(fr.starts_with("Il attend assez de GPU"), "{fr}");
        assert_eq!(parse_elapsed("1-00:00:01"), Some(86_401));
        assert_eq!(parse_elapsed("junk"), None);
    }
}
