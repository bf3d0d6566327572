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
    #[error(transparent)]
    Transfer(#[from] crate::transfer::TransferError),
    /// The scheduler refused the job; the message says why in plain words and what to do.
    #[error("{0}")]
    Rejected(String),
    /// Thousands of files dropped on a draft: its inputs are a few datasets.
    #[error("{}", crate::tr!(
        en: "{} items were dropped on the job: its input data should be a few files or folders. Put them in one folder and drop that folder, or send them from the Data screen.",
        fr: "{} éléments ont été déposés sur le job : ses données d'entrée devraient tenir en quelques fichiers ou dossiers. Rangez-les dans un dossier et déposez ce dossier, ou envoyez-les depuis l'écran Données.",
        .0
    ))]
    TooManyInputs(usize),
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
    /// Another Usine (a window, a `usine` command, another computer) is sending this very job
    /// right now; it appears in the list once the cluster has it.
    #[error("{}", crate::tr!(
        en: "This job is being sent by another Usine (a window, a command or another computer) right now. Look at the job list in a moment: it appears there once the cluster has it.",
        fr: "Ce job est en cours d'envoi par un autre Usine (une fenêtre, une commande ou un autre ordinateur). Regardez la liste des jobs dans un instant : il y apparaît dès que le cluster l'a reçu."
    ))]
    BeingSent,
    #[error("{}", crate::tr!(
        en: "There is no job {} here.",
        fr: "Il n'y a pas de job {} ici.",
        .0
    ))]
    NotFound(String),
    #[error("{}", crate::tr!(
        en: "{} is not connected. Connect to it under Clusters, then try again.",
        fr: "{} n'est pas connecté. Connectez-vous sous Supercalculateurs, puis réessayez.",
        .0
    ))]
    Offline(String),
    #[error("{}", crate::tr!(
        en: "There is no template {}. The list of templates shows those Usine has.",
        fr: "Il n'y a pas de modèle {}. La liste des modèles montre ceux qu'Usine connaît.",
        .0
    ))]
    NoTemplate(String),
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
        crate::tr!(
            en: "The project (account) is not valid for you on this partition. Choose one of your projects.",
            fr: "Le projet (account) n'est pas valable pour vous sur cette partition. Choisissez l'un de vos projets."
        )
    } else if lower.contains("time limit") {
        crate::tr!(
            en: "The time limit is longer than the partition allows. Choose a shorter time.",
            fr: "La limite de temps dépasse ce que permet la partition. Choisissez une durée plus courte."
        )
    } else if lower.contains("invalid partition") {
        crate::tr!(
            en: "The partition does not exist. Choose one the cluster lists.",
            fr: "La partition n'existe pas. Choisissez-en une que le cluster propose."
        )
    } else if lower.contains("node configuration is not available")
        || lower.contains("invalid generic resource")
    {
        crate::tr!(
            en: "No node has what the job asks for (GPUs, memory or cores). Ask for less per node.",
            fr: "Aucun nœud n'a ce que le job demande (GPU, mémoire ou cœurs). Demandez moins par nœud."
        )
    } else if lower.contains("qos") || lower.contains("accounting/qos policy") {
        crate::tr!(
            en: "The job exceeds your project's limits (GPU-hours, GPUs at once or job count). Ask for less, or wait for other jobs to end.",
            fr: "Le job dépasse les limites de votre projet (heures GPU, GPU à la fois ou nombre de jobs). Demandez moins, ou attendez la fin d'autres jobs."
        )
    } else if lower.contains("disk quota") || lower.contains("no space") {
        crate::tr!(
            en: "The cluster disk is full or over quota. Free space in your folders, then submit again.",
            fr: "Le disque du cluster est plein ou le quota dépassé. Libérez de la place dans vos dossiers, puis renvoyez le job."
        )
    } else if lower.contains("no such file or directory") {
        crate::tr!(
            en: "A folder the job needs does not exist on the cluster. Check the working folder.",
            fr: "Un dossier dont le job a besoin n'existe pas sur le cluster. Vérifiez le dossier de travail."
        )
    } else {
        crate::tr!(
            en: "Slurm refused the job. Check its settings, then submit again.",
            fr: "Slurm a refusé le job. Vérifiez ses réglages, puis renvoyez-le."
        )
    };
    if text.is_empty() {
        advice
    } else {
        crate::tr!(en: "{advice} (Slurm said: {text})", fr: "{advice} (Slurm a dit : {text})")
    }
}
