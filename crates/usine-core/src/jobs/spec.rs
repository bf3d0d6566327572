//! What a job is, independent of where it runs: the versioned, serialisable spec that drafts,
//! templates, the sbatch renderer and the checks all share.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Bumped when a field changes meaning; older drafts are upgraded on load.
pub const SPEC_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct JobSpec {
    pub version: u32,
    /// Short name shown in queues and used for log files (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// The Slurm account ("project"); `None` lets the cluster use the user's default.
    pub account: Option<String>,
    /// `None` lets the cluster pick its default partition.
    pub partition: Option<String>,
    pub nodes: u32,
    /// Tasks (processes) started per node; torchrun-style launchers want one.
    pub tasks_per_node: u32,
    pub cpus_per_task: u32,
    pub gpus_per_node: u32,
    /// Slurm's GPU type (`h100`, `a100`, `mi250`); `None` accepts any.
    pub gpu_type: Option<String>,
    /// Memory per node in MiB; `None` takes the partition's default.
    #[ts(type = "number | null")]
    pub memory_mib: Option<u64>,
    /// The most the job may run; Slurm stops it afterwards.
    #[ts(type = "number")]
    pub time_limit_minutes: u64,
    /// Where the job starts, on the cluster; `~` is the home folder.
    pub working_dir: String,
    pub environment: Environment,
    /// The user's own shell commands, run as written (they are the job).
    pub commands: String,
    /// Run the commands once per index (a sweep); `None` for a single run.
    pub array: Option<JobArray>,
    /// Datasets the job reads, on the cluster; a missing one stops the submission.
    pub inputs: Vec<String>,
    /// Where the job writes its results, on the cluster.
    pub outputs: Vec<String>,
    pub notify: Notify,
    /// Sample GPU use while the job runs (on by default for GPU jobs).
    pub record_gpu_metrics: bool,
    /// `#SBATCH` lines Usine does not model, kept verbatim from an imported script.
    pub extra_directives: Vec<String>,
}

impl Default for JobSpec {
    fn default() -> Self {
        Self {
            version: SPEC_VERSION,
            name: "my-job".into(),
            account: None,
            partition: None,
            nodes: 1,
            tasks_per_node: 1,
            cpus_per_task: 1,
            gpus_per_node: 0,
            gpu_type: None,
            memory_mib: None,
            time_limit_minutes: 60,
            working_dir: "~".into(),
            environment: Environment::default(),
            commands: String::new(),
            array: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            notify: Notify::default(),
            record_gpu_metrics: false,
            extra_directives: Vec::new(),
        }
    }
}

impl JobSpec {
    /// How many times the commands run (array tasks), at least one.
    pub fn runs(&self) -> u64 {
        self.array.as_ref().map_or(1, JobArray::runs)
    }

    pub fn total_gpus(&self) -> u64 {
        u64::from(self.nodes) * u64::from(self.gpus_per_node)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Environment {
    /// Environment modules to load (`module load …`), in order.
    pub modules: Vec<String>,
    /// An Apptainer/Singularity image (`.sif` path or `docker://…`); the commands run inside it.
    pub container: Option<String>,
    pub python: Option<PythonEnv>,
    /// Variables exported before the commands run.
    pub variables: Vec<EnvVar>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", content = "path", rename_all = "camelCase")]
pub enum PythonEnv {
    /// A `venv` folder (activated with `source …/bin/activate`).
    Venv(String),
    /// A conda environment name or prefix.
    Conda(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobArray {
    pub first: u32,
    pub last: u32,
    /// At most this many tasks at once; `None` lets Slurm decide.
    pub max_parallel: Option<u32>,
}

impl JobArray {
    /// How many runs (never zero: `first..=last`).
    pub fn runs(&self) -> u64 {
        u64::from(self.last.saturating_sub(self.first)) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Notify {
    /// Desktop notifications from the app.
    pub on_start: bool,
    pub on_end: bool,
    pub on_failure: bool,
    /// Also ask Slurm to e-mail this address (when the site sends mail).
    pub email: Option<String>,
}

impl Default for Notify {
    fn default() -> Self {
        Self {
            on_start: true,
            on_end: true,
            on_failure: true,
            email: None,
        }
    }
}

/// A job name Slurm and file systems both accept, made from any title the user typed.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').chars().take(40).collect::<String>();
    if out.is_empty() { "job".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_json_and_old_drafts_gain_defaults() {
        let spec = JobSpec {
            environment: Environment {
                python: Some(PythonEnv::Conda("torch".into())),
                ..Default::default()
            },
            array: Some(JobArray {
                first: 0,
                last: 9,
                max_parallel: Some(2),
            }),
            ..Default::default()
        };
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<JobSpec>(&json).unwrap(), spec);
        assert_eq!(spec.runs(), 10);
        // A draft saved before a field existed still loads.
        let old: JobSpec = serde_json::from_str(r#"{"version":1,"name":"x","nodes":2}"#).unwrap();
        assert_eq!((old.nodes, old.time_limit_minutes), (2, 60));
    }

    #[test]
    fn slugs_are_safe_names() {
        assert_eq!(slug("Fine-tune Llama 3 (8B)!"), "fine-tune-llama-3-8b");
        assert_eq!(slug("  "), "job");
        assert_eq!(slug("$(rm -rf ~)"), "rm-rf");
    }
}
