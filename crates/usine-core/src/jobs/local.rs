//! "This computer": runs the same rendered script as a Slurm job would, as a detached child
//! with Slurm's variables set, so a job survives the app closing and its state is read back from
//! files (exit code, cancellation) afterwards. Unix only for now.

use std::path::{Path, PathBuf};

use super::scheduler::{JobError, Logs, Scheduler};
use super::slurm::{JobRecord, JobState};
use super::spec::JobSpec;

pub struct ThisComputer {
    /// One folder per run: `job.sh`, `out.log`, `err.log`, `exit`, `pid`, `cancelled`.
    root: PathBuf,
}

fn local_err(e: impl std::fmt::Display) -> JobError {
    JobError::Local(e.to_string())
}

/// Runs the script once, or once per array index, and records the exit status atomically.
const WRAPPER: &str = r#"status=0
for i in $USINE_ARRAY; do
  if [ "$i" = none ]; then unset SLURM_ARRAY_TASK_ID; else export SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_JOB_ID=$SLURM_JOB_ID; fi
  bash ./job.sh >> out.log 2>> err.log || status=$?
done
echo "$status" > exit.tmp && mv exit.tmp exit"#;

impl ThisComputer {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Under Usine's data folder.
    pub fn in_data_dir() -> Self {
        Self::new(crate::store::data_dir().join("local-jobs"))
    }

    fn dir(&self, id: &str) -> Result<PathBuf, JobError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(JobError::NotFound(id.to_owned()));
        }
        Ok(self.root.join(id))
    }

    /// What the run's processes use now (`None` once they have ended).
    pub fn usage(&self, id: &str) -> Option<super::local_usage::TreeUsage> {
        super::local_usage::of_tree(pid(&self.dir(id).ok()?)?)
    }

    fn read_state(dir: &Path) -> JobState {
        if dir.join("cancelled").exists() {
            return JobState::Cancelled;
        }
        if let Ok(code) = std::fs::read_to_string(dir.join("exit")) {
            return match code.trim() {
                "0" => JobState::Completed,
                _ => JobState::Failed,
            };
        }
        let alive = pid(dir)
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists() || kill(pid, "-0"));
        if alive {
            JobState::Running
        } else if dir.join("pid").exists() {
            // Gone without writing its exit status: killed with the machine, or by hand.
            JobState::Failed
        } else {
            JobState::Pending
        }
    }
}

/// The run's process (group) id, once it has started.
fn pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn kill(pid: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, "--", &format!("-{pid}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn home_path(path: &str) -> PathBuf {
    let expanded = crate::local_paths::expand(Path::new(if path.is_empty() { "~" } else { path }));
    // A folder written without `~` or `/` is in the home too, as on a cluster.
    if expanded.is_absolute() {
        expanded
    } else {
        std::env::home_dir().unwrap_or_default().join(expanded)
    }
}

impl Scheduler for ThisComputer {
    async fn submit(&self, tag: &str, spec: &JobSpec, script: &str) -> Result<String, JobError> {
        let dir = self.dir(tag)?;
        if dir.join("pid").exists() {
            return Ok(tag.to_owned());
        }
        std::fs::create_dir_all(&dir).map_err(local_err)?;
        std::fs::write(dir.join("job.sh"), script).map_err(local_err)?;
        let workdir = home_path(&spec.working_dir);
        std::fs::create_dir_all(&workdir).map_err(|e| {
            JobError::Rejected(crate::tr!(
                en: "The working folder {} cannot be created ({e}). Choose a folder you can write to.",
                fr: "Le dossier de travail {} ne peut pas être créé ({e}). Choisissez un dossier où vous pouvez écrire.",
                workdir.display()
            ))
        })?;
        let array = match &spec.array {
            Some(a) => (a.first..=a.last)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            None => "none".into(),
        };
        // A number, like Slurm's, derived from the run's unique tag.
        let numeric_id =
            u64::from_str_radix(&tag[..tag.len().min(13)], 16).unwrap_or(0) % 1_000_000_000;
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg("-c")
            .arg(WRAPPER)
            .current_dir(&dir)
            .env("USINE_ARRAY", array)
            .env("SLURM_JOB_ID", numeric_id.to_string())
            // The run's own name, which Usine knows it by (a session's file is named so).
            .env("USINE_RUN_ID", tag)
            .env("SLURM_JOB_NAME", &spec.name)
            .env("SLURM_NNODES", "1")
            .env("SLURM_JOB_NUM_NODES", "1")
            .env("SLURM_JOB_NODELIST", "localhost")
            .env("SLURM_NTASKS", spec.tasks_per_node.to_string())
            .env("SLURM_CPUS_PER_TASK", spec.cpus_per_task.to_string())
            .env("SLURM_GPUS_ON_NODE", spec.gpus_per_node.to_string())
            .env("SLURM_SUBMIT_DIR", &workdir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // Its own process group: cancel stops the whole tree, and closing the app does not.
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(local_err)?;
        let pid = child.id().unwrap_or_default();
        std::fs::write(dir.join("pid"), pid.to_string()).map_err(local_err)?;
        // Reap it when it ends so it leaves no zombie while the app runs.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(tag.to_owned())
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<JobRecord>, JobError> {
        let mut out = Vec::new();
        for id in ids {
            let dir = self.dir(id)?;
            if !dir.exists() {
                continue;
            }
            let mut r: JobRecord = serde_json::from_value(serde_json::json!({
                "jobId": id, "name": "", "state": "pending", "reason": null, "partition": "this computer",
                "account": "", "submitted": null, "started": null, "ended": null, "elapsedSeconds": null,
                "timeLimitMinutes": null, "nodes": 1, "nodeList": "localhost", "gpus": null,
                "exitCode": null, "comment": ""
            }))
            .map_err(local_err)?;
            r.state = Self::read_state(&dir);
            r.exit_code = std::fs::read_to_string(dir.join("exit"))
                .ok()
                .and_then(|c| c.trim().parse().ok());
            let modified = |f: &str| {
                std::fs::metadata(dir.join(f))
                    .and_then(|m| m.modified())
                    .ok()
            };
            // The timeline as Slurm gives it ("@" and seconds since the epoch): written when
            // the run was prepared, started (its pid), and ended (its exit, or a cancel).
            let epoch = |t: std::time::SystemTime| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| format!("@{}", d.as_secs()))
            };
            r.submitted = modified("job.sh").and_then(epoch);
            r.started = modified("pid").and_then(epoch);
            let ended = modified("exit").or(modified("cancelled"));
            r.ended = ended.and_then(epoch);
            if let Some(start) = modified("job.sh") {
                let end = ended.unwrap_or_else(std::time::SystemTime::now);
                r.elapsed_seconds = end.duration_since(start).ok().map(|d| d.as_secs());
            }
            out.push(r);
        }
        Ok(out)
    }

    async fn cancel(&self, id: &str) -> Result<(), JobError> {
        let dir = self.dir(id)?;
        let pid = std::fs::read_to_string(dir.join("pid"))
            .map_err(|_| JobError::NotFound(id.to_owned()))?;
        if dir.join("exit").exists() {
            return Ok(());
        }
        std::fs::write(dir.join("cancelled"), "").map_err(local_err)?;
        if let Ok(pid) = pid.trim().parse::<u32>() {
            kill(pid, "-TERM");
        }
        Ok(())
    }

    async fn logs(&self, id: &str, _spec: &JobSpec, max_bytes: u64) -> Result<Logs, JobError> {
        let dir = self.dir(id)?;
        let tail = |f: &str| -> String {
            let bytes = std::fs::read(dir.join(f)).unwrap_or_default();
            let start = bytes.len().saturating_sub(max_bytes as usize);
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        };
        Ok(Logs {
            stdout: tail("out.log"),
            stderr: tail("err.log"),
        })
    }
}
