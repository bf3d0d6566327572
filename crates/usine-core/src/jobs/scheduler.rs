//! One interface over the places a job can run: Slurm over the cluster's SSH connection,
//! slurmrestd, and this computer.

use std::future::Future;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::slurm::JobRecord;
use super::spec::JobSpec;
use crate::ssh::SshError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The scheduler refused the job; the message says why in plain words and what to do.
    #[error("{0}")]
    Rejected(String),
    #[error("{}", crate::tr!(
        en: "Slurm could not be asked ({}). Check that the cluster is reachable, then try again.",
        fr: "Impossible d'interroger Slurm ({}). Vérifiez que le cluster est joignable, puis réessayez.",
        .0
    ))]
    Scheduler(String),
    #[error("{}", crate::tr!(
        en: "Usine cannot run the job on this computer: {}",
        fr: "Usine ne peut pas lancer le job sur cet ordinateur : {}",
        .0
    ))]
    Local(String),
    #[error("{}", crate::tr!(
        en: "There is no job {} here.",
        fr: "Il n'y a pas de job {} ici.",
        .0
    ))]
    NotFound(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Logs {
    /// The last part of the job's output.
    pub stdout: String,
    pub stderr: String,
}

pub trait Scheduler: Send + Sync {
    /// Sends the job and returns the scheduler's id for it. Submitting the same `tag` again
    /// returns the first id instead of starting a second job, even after a crash in between.
    fn submit(
        &self,
        tag: &str,
        spec: &JobSpec,
        script: &str,
    ) -> impl Future<Output = Result<String, JobError>> + Send;

    /// The current record of each job in `ids` that the scheduler still knows.
    fn status(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<JobRecord>, JobError>> + Send;

    fn cancel(&self, id: &str) -> impl Future<Output = Result<(), JobError>> + Send;

    /// The last `max_bytes` of the job's output and error streams (of every task of an array).
    fn logs(
        &self,
        id: &str,
        spec: &JobSpec,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Logs, JobError>> + Send;
}

/// Slurm's submission errors, said in plain words with what to do next.
pub fn explain_rejection(stderr: &str) -> String {
    let text = stderr.trim();
    let lower = text.to_ascii_lowercase();
    let advice = if lower.contains("invalid account") {
        "The project (account) is not valid for you on this partition. Choose one of your projects."
    } else if lower.contains("time limit") {
        "The time limit is longer than the partition allows. Choose a shorter time."
    } else if lower.contains("invalid partition") {
        "The partition does not exist. Choose one the cluster lists."
    } else if lower.contains("node configuration is not available")
        || lower.contains("invalid generic resource")
    {
        "No node has what the job asks for (GPUs, memory or cores). Ask for less per node."
    } else if lower.contains("qos") || lower.contains("accounting/qos policy") {
        "The job exceeds your project's limits (GPU-hours, GPUs at once or job count). Ask for less, or wait for other jobs to end."
    } else if lower.contains("disk quota") || lower.contains("no space") {
        "The cluster disk is full or over quota. Free space in your folders, then submit again."
    } else if lower.contains("no such file or directory") {
        "A folder the job needs does not exist on the cluster. Check the working folder."
    } else {
        "Slurm refused the job. Check its settings, then submit again."
    };
    if text.is_empty() {
        advice.to_owned()
    } else {
        format!("{advice} (Slurm said: {text})")
    }
}
