//! Slurm 25.05 (REST v0.0.43) and 25.11 (v0.0.44) cannot be built on these machines, so Usine
//! is checked against a stand-in slurmrestd that offers only one of those versions and answers
//! as their published OpenAPI documents say (`tests/samples/openapi-job-desc-v0.0.43-44.json`:
//! the paths and `job_desc_msg` of SlinkyProject/slurm-client's
//! `api/v0043|v0044/slurm-openapi.gen.json`, generated from slurmrestd 25.05.8 and 25.11.7).
//! It refuses a job description with a field the version does not have, or a plain number where
//! the version wants `{set, infinite, number}`. Usine connects, submits, follows the job, and
//! completes it from slurmdbd once the job list has forgotten it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use usine_core::jobs::scheduler::Scheduler;
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::slurm_rest::SlurmRest;
use usine_core::jobs::spec::JobSpec;
use zeroize::Zeroizing;

/// What the stand-in has seen and where its one job is.
#[derive(Default)]
struct Cluster {
    submitted: Option<Value>,
    /// Reads of the job since its submission: it runs for two, then finishes and is forgotten
    /// by slurmctld (as after MinJobAge), known only to slurmdbd.
    reads: usize,
    /// Reads of the OpenAPI document (1.6 MB from a real 24.11).
    documents: usize,
}

fn document(version: &str) -> Value {
    let all: Value =
        serde_json::from_str(include_str!("samples/openapi-job-desc-v0.0.43-44.json")).unwrap();
    all[version].clone()
}

/// Why the stand-in refuses a job description, per the version's document.
fn refusal(doc: &Value, job: &Value) -> Option<String> {
    let names: Vec<&str> = doc["job_desc_msg"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let objects: Vec<&str> = doc["no_val_struct"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for (field, value) in job.as_object()? {
        if !names.contains(&field.as_str()) {
            return Some(format!("unknown field {field}"));
        }
        if objects.contains(&field.as_str()) && !value.get("number").is_some_and(Value::is_u64) {
            return Some(format!("{field} must be {{set, infinite, number}}"));
        }
    }
    None
}

fn answer(
    version: &str,
    doc: &Value,
    cluster: &Mutex<Cluster>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let number = |n: u64| json!({"set": true, "infinite": false, "number": n});
    let slurm = format!("/slurm/{version}");
    let mut c = cluster.lock().unwrap();
    match (method, path) {
        ("GET", "/openapi/v3") => {
            c.documents += 1;
            let paths: serde_json::Map<String, Value> = doc["paths"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p.as_str().unwrap().to_owned(), json!({})))
                .collect();
            (200, json!({"openapi": "3.0.3", "paths": paths}))
        }
        ("GET", p) if p == format!("{slurm}/ping/") || p == format!("{slurm}/ping") => (
            200,
            json!({"pings": [{"hostname": "standin", "pinged": "UP", "responding": true}], "errors": []}),
        ),
        ("POST", p) if p == format!("{slurm}/job/submit") => {
            let request: Value = serde_json::from_str(body).unwrap_or_default();
            if let Some(why) = refusal(doc, &request["job"]) {
                return (
                    400,
                    json!({"errors": [{"description": why, "error_number": 9001}]}),
                );
            }
            c.submitted = Some(request);
            (
                200,
                json!({"job_id": 4242, "step_id": "batch", "errors": [], "warnings": []}),
            )
        }
        // The whole list: only searched by comment before a submission (and read empty to
        // check the token); the job is followed by reading it alone.
        ("GET", p) if p.starts_with(&format!("{slurm}/jobs")) => {
            (200, json!({"jobs": [], "errors": []}))
        }
        ("GET", p) if p == format!("{slurm}/job/4242") => {
            let Some(request) = c.submitted.clone() else {
                return (404, json!({"errors": [{"error_number": 2017}]}));
            };
            c.reads += 1;
            if c.reads > 2 {
                // Forgotten after MinJobAge: 404 and "Invalid job id specified", as 23.x on.
                return (
                    404,
                    json!({"jobs": [], "errors": [{"description": "Unable to query JobId=4242", "error_number": 2017, "error": "Invalid job id specified"}]}),
                );
            }
            let job = &request["job"];
            (
                200,
                json!({"jobs": [{
                "job_id": 4242, "name": job["name"], "comment": job["comment"],
                "job_state": ["RUNNING"], "partition": "gpu", "account": "ai-startup",
                "node_count": number(1), "nodes": "gpu1", "time_limit": job["time_limit"],
                "start_time": number(1_800_000_000), "submit_time": number(1_800_000_000),
                "tres_per_job": "gres/gpu:2", "gres_detail": ["gpu:h100:2(IDX:0-1)"],
                "exit_code": {"status": ["PENDING"], "return_code": {"set": false, "infinite": false, "number": 0}}
            }], "errors": []}),
            )
        }
        ("GET", p) if p == format!("/slurmdb/{version}/job/4242") && c.reads > 2 => (
            200,
            json!({"jobs": [{
                "job_id": 4242, "name": "standin", "state": {"current": ["COMPLETED"], "reason": "None"},
                "exit_code": {"status": ["SUCCESS"], "return_code": number(0)},
                "time": {"elapsed": 3600, "start": 1_800_000_000, "end": 1_800_003_600, "submission": 1_800_000_000, "limit": number(60)},
                "allocation_nodes": 1, "nodes": "gpu1", "partition": "gpu", "account": "ai-startup",
                "tres": {"allocated": [{"type": "gres", "name": "gpu", "id": 1001, "count": 2}]}
            }], "errors": []}),
        ),
        _ => (
            404,
            json!({"errors": [{"description": format!("no {method} {path} in {version}")}]}),
        ),
    }
}

/// Serves `version` on a loopback port until the test ends; its base URL.
async fn stand_in(version: &'static str) -> (String, Arc<Mutex<Cluster>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cluster = Arc::new(Mutex::new(Cluster::default()));
    let shared = cluster.clone();
    let doc = document(version);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            // The head, then as much body as content-length says.
            let (head, body) = loop {
                let n = sock.read(&mut buf).await.unwrap_or(0);
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break (head.to_owned(), body.to_owned());
                    }
                } else if n == 0 {
                    break (text, String::new());
                }
            };
            let mut words = head.split_whitespace();
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let path = path.split('?').next().unwrap_or(path);
            let (status, value) = answer(version, &doc, &shared, method, path, &body);
            let text = value.to_string();
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (base, cluster)
}

#[tokio::test]
async fn a_job_through_slurmrestd_v0_0_43_and_v0_0_44() {
    for version in ["v0.0.43", "v0.0.44"] {
        let (base, cluster) = stand_in(version).await;
        let token = Zeroizing::new("token".to_owned());
        let rest = SlurmRest::connect(&base, "ana", token, "/home/ana")
            .await
            .unwrap();
        assert_eq!(
            rest.version(),
            version,
            "the newest version offered is chosen"
        );
        // Connecting again (every submit or cancel does) reuses the version: no second document.
        let again = SlurmRest::connect(&base, "ana", Zeroizing::new("t".into()), "/home/ana")
            .await
            .unwrap();
        assert_eq!(
            (again.version(), cluster.lock().unwrap().documents),
            (version, 1)
        );

        let mut spec = JobSpec {
            name: "standin".into(),
            gpus_per_node: 2,
            time_limit_minutes: 60,
            ..JobSpec::default()
        };
        // The user's own options travel as fields the version has.
        spec.extra_directives.push("--mail-type=END".into());
        let id = rest
            .submit("tag-1", &spec, "#!/bin/bash\nnvidia-smi\n")
            .await
            .unwrap();
        assert_eq!(id, "4242", "{version}");
        let sent = cluster.lock().unwrap().submitted.clone().unwrap();
        assert_eq!(sent["job"]["comment"], "usine:tag-1", "{version}");
        assert!(
            sent["job"]["time_limit"]["number"] == 60,
            "{version}: {sent}"
        );

        let running = rest.status(std::slice::from_ref(&id)).await.unwrap();
        assert_eq!(
            (&running[0].state, running[0].gpus),
            (&JobState::Running, Some(2))
        );
        let _ = rest.status(std::slice::from_ref(&id)).await.unwrap();
        // slurmctld forgot it: slurmdbd's record completes it, with its exit code and GPUs.
        let done = rest.status(std::slice::from_ref(&id)).await.unwrap();
        assert_eq!(done.len(), 1, "{version}");
        assert_eq!(
            (&done[0].state, done[0].exit_code),
            (&JobState::Completed, Some(0))
        );
        assert_eq!(done[0].gpu_hours(), Some(2.0), "{version}");
    }
}

#[tokio::test]
async fn the_stand_in_refuses_what_the_document_does_not_have() {
    let doc = document("v0.0.44");
    assert!(refusal(&doc, &json!({"name": "x", "time_limit": 5})).is_some());
    assert!(refusal(&doc, &json!({"name": "x", "nodes_wanted": "2"})).is_some());
    let fine = json!({"name": "x", "time_limit": {"set": true, "infinite": false, "number": 5}});
    assert!(refusal(&doc, &fine).is_none());
}
