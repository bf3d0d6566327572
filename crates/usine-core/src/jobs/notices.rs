//! What Usine tells the user about a job, in the user's language: the notification a new state
//! calls for, and the warning when its GPUs sit idle. Words only; the app shows them.

use super::history::JobEntry;
use super::slurm::JobState;
use crate::gpu::watch::IdleRule;
use crate::target::THIS_COMPUTER_ID;
use crate::tr;

/// What a state change means to the user, if it deserves a notification.
pub fn for_state(job: &JobEntry) -> Option<(String, String)> {
    let name = &job.spec.name;
    let target = if job.target == THIS_COMPUTER_ID {
        tr!(en: "this computer", fr: "cet ordinateur")
    } else {
        job.target.clone()
    };
    // Always said: a queued job the user expects to run did not even start.
    if let Some(reason) = &job.refused_because {
        return Some((
            tr!(en: "{name} was not sent", fr: "{name} n'a pas été envoyé"),
            tr!(
                en: "{target} refused it: {reason} Fix the draft and submit it again.",
                fr: "{target} l'a refusé : {reason} Corrigez le brouillon et renvoyez-le."
            ),
        ));
    }
    let n = &job.spec.notify;
    match &job.state {
        JobState::Running if n.on_start => Some((
            tr!(en: "{name} started", fr: "{name} a démarré"),
            tr!(en: "It is running on {target}.", fr: "Il tourne sur {target}."),
        )),
        JobState::Completed if n.on_end => Some((
            tr!(en: "{name} finished", fr: "{name} est terminé"),
            tr!(
                en: "It completed on {target}. Open Usine to see its output.",
                fr: "Il s'est terminé sur {target}. Ouvrez Usine pour voir sa sortie."
            ),
        )),
        JobState::Failed | JobState::OutOfMemory | JobState::NodeFail if n.on_failure => {
            let code = job
                .record
                .as_ref()
                .and_then(|r| r.exit_code)
                .map(|c| tr!(en: " (exit code {c})", fr: " (code de sortie {c})"))
                .unwrap_or_default();
            Some((
                tr!(en: "{name} failed", fr: "{name} a échoué"),
                tr!(
                    en: "It stopped with an error on {target}{code}. Open Usine to read its error output.",
                    fr: "Il s'est arrêté sur une erreur sur {target}{code}. Ouvrez Usine pour lire sa sortie d'erreur."
                ),
            ))
        }
        JobState::Timeout if n.on_failure => Some((
            tr!(en: "{name} ran out of time", fr: "{name} a manqué de temps"),
            tr!(
                en: "Slurm stopped it at its time limit on {target}. Give it more time or save checkpoints.",
                fr: "Slurm l'a arrêté à sa limite de temps sur {target}. Donnez-lui plus de temps ou sauvegardez son état."
            ),
        )),
        _ => None,
    }
}

/// The idle warning's two buttons: look at the job, cancel it (the window's banner says the same).
pub fn idle_actions() -> (String, String) {
    (
        tr!(en: "Look at the job", fr: "Voir le job"),
        tr!(en: "Cancel the job", fr: "Annuler le job"),
    )
}

/// The warning for a running job whose GPUs have sat under the rule's threshold.
pub fn idle(job: &JobEntry, rule: IdleRule) -> (String, String) {
    (
        tr!(en: "{} is idle", fr: "{} est inactif", job.spec.name),
        tr!(
            en: "Its {} GPU(s) have been under {} % busy for {} minutes, and still cost GPU hours. Look at it, or cancel it if it is stuck.",
            fr: "Ses {} GPU sont occupés à moins de {} % depuis {} minutes, et coûtent toujours des heures GPU. Regardez-le, ou annulez-le s'il est bloqué.",
            job.spec.total_gpus(),
            rule.below,
            rule.minutes
        ),
    )
}
