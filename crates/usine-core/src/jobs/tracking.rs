//! From a spec to a finished job: queue it (the outbox works offline), send it exactly once,
//! and follow it with polling that slows down when nothing moves. State changes are returned
//! so that the app and the CLI can notify.

use std::sync::Mutex;
use std::time::Duration;

use super::drafts::Draft;
use super::history::{self, JobEntry};
use super::sbatch;
use super::scheduler::{JobError, Scheduler};
use super::slurm::JobState;
use super::spec::JobSpec;
use crate::store::{Store, lock};

/// A job whose state changed since the last look.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub job: JobEntry,
    pub from: JobState,
}

/// How long a claim to send a job holds before another process may take it over, should its
/// owner hang (an owner that died is recognised at once). Longer than any `sbatch` takes.
const SENDING_LEASE: Duration = Duration::from_secs(300);

/// Renders the script and records the job in the outbox; nothing is sent yet.
pub fn enqueue(store: &Mutex<Store>, target: &str, spec: &JobSpec) -> Result<JobEntry, JobError> {
    queue(store, target, spec, None)
}

/// Like [`enqueue`], for a draft's job: the draft then shows it if the cluster refuses it.
pub fn enqueue_draft(store: &Mutex<Store>, draft: &Draft) -> Result<JobEntry, JobError> {
    queue(store, &draft.target, &draft.spec, Some(&draft.id))
}

fn queue(
    store: &Mutex<Store>,
    target: &str,
    spec: &JobSpec,
    draft: Option<&str>,
) -> Result<JobEntry, JobError> {
    let script = sbatch::render(spec).map_err(|e| JobError::Rejected(e.to_string()))?;
    Ok(history::queue(&lock(store), target, spec, &script, draft)?)
}

/// Sends one queued job, exactly once: only the process that claims it in the store sends it
/// (another one flushing the same outbox at the same time gets [`JobError::BeingSent`]), and
/// the job's id tags the submission on the cluster, so a repeat after a crash or from another
/// computer finds the first job instead of starting a second one. A refusal takes the job out
/// of the outbox at once, as failed with the reason, and is returned as the error.
pub async fn send(
    store: &Mutex<Store>,
    scheduler: &impl Scheduler,
    id: &str,
) -> Result<JobEntry, JobError> {
    let entry = history::get(&lock(store), id)?;
    if entry.scheduler_id.is_some() {
        return Ok(entry);
    }
    let sender = crate::owner::Owner::this_process();
    if !history::claim_for_sending(&lock(store), &entry.id, &sender, SENDING_LEASE)? {
        // Sent or refused meanwhile by another process, or being sent by it now.
        let now = history::get(&lock(store), id)?;
        if now.scheduler_id.is_some() {
            return Ok(now);
        }
        return Err(now
            .refused_because
            .map_or(JobError::BeingSent, JobError::Rejected));
    }
    let sent = scheduler
        .submit(&entry.id, &entry.spec, &entry.script)
        .await;
    let guard = lock(store);
    match sent {
        Ok(scheduler_id) => {
            history::mark_submitted(&guard, &entry.id, &scheduler_id)?;
            Ok(history::get(&guard, &entry.id)?)
        }
        Err(JobError::Rejected(reason)) => {
            history::mark_refused(&guard, &entry.id, &reason)?;
            Err(JobError::Rejected(reason))
        }
        Err(other) => {
            history::release(&guard, &entry.id, &sender)?;
            Err(other)
        }
    }
}

/// Sends everything queued for `target`, oldest first. A job the cluster refuses leaves the
/// outbox as failed, with the reason (`refused_because`), and the next ones still go; a lost
/// connection stops the round (the rest stays queued for the next attempt). Jobs another
/// process (or computer) is sending at this moment are left to it. Returns the jobs that left
/// the outbox, sent or refused.
pub async fn flush_outbox(
    store: &Mutex<Store>,
    target: &str,
    scheduler: &impl Scheduler,
) -> Result<Vec<JobEntry>, JobError> {
    let queued = history::outbox(&lock(store), target)?;
    let mut left = Vec::new();
    for job in queued {
        match send(store, scheduler, &job.id).await {
            Ok(entry) => left.push(entry),
            Err(JobError::BeingSent) => {}
            Err(JobError::Rejected(_)) => left.push(history::get(&lock(store), &job.id)?),
            Err(other) => return Err(other),
        }
    }
    Ok(left)
}

/// Asks the scheduler about every unfinished job of `target` and stores the answers.
pub async fn refresh(
    store: &Mutex<Store>,
    target: &str,
    scheduler: &impl Scheduler,
) -> Result<Vec<Change>, JobError> {
    let active = history::active(&lock(store), target)?;
    let ids: Vec<String> = active
        .iter()
        .filter_map(|j| j.scheduler_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let records = scheduler.status(&ids).await?;
    let mut changes = Vec::new();
    let guard = lock(store);
    for job in active {
        let Some(sid) = &job.scheduler_id else {
            continue;
        };
        // An array job is as far along as its least advanced task.
        let tasks: Vec<_> = records
            .iter()
            .filter(|r| &r.job_id == sid || r.job_id.split('_').next() == Some(sid.as_str()))
            .collect();
        let Some(first) = tasks.first() else { continue };
        let mut record = (*first).clone();
        if tasks.len() > 1 {
            record.state = overall_state(tasks.iter().map(|t| &t.state));
        }
        // A job whose answer cannot be stored is logged and skipped; the others still move.
        let stored = history::update(&guard, &job.id, &record).and_then(|from| match from {
            Some(from) => Ok(Some(Change {
                job: history::get(&guard, &job.id)?,
                from,
            })),
            None => Ok(None),
        });
        match stored {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, job = %job.id, "job state not stored this round"),
        }
    }
    Ok(changes)
}

fn overall_state<'a>(states: impl Iterator<Item = &'a JobState>) -> JobState {
    let states: Vec<&JobState> = states.collect();
    if states.iter().any(|s| **s == JobState::Running) {
        JobState::Running
    } else if let Some(s) = states.iter().find(|s| !s.is_finished()) {
        (*s).clone()
    } else if let Some(bad) = states.iter().find(|s| !s.is_success()) {
        (*bad).clone()
    } else {
        JobState::Completed
    }
}

/// Whether a job was sent in the last minute: it usually starts within seconds, so its state
/// is worth looking at soon even while it only waits in the queue.
pub fn just_sent(store: &Mutex<Store>) -> bool {
    history::sent_since(&lock(store), std::time::Duration::from_secs(60)).unwrap_or(false)
}

/// How long to wait before looking again: soon while something is about to change, rarely
/// when everything only waits in the queue, never when nothing is left to follow.
pub fn poll_interval(active: &[JobState], changed_recently: bool) -> Option<Duration> {
    if active.is_empty() {
        return None;
    }
    let secs = if changed_recently
        || active
            .iter()
            .any(|s| matches!(s, JobState::Completing | JobState::Queued))
    {
        2
    } else if active.contains(&JobState::Running) {
        10
    } else {
        30
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_slows_down_when_nothing_moves() {
        use JobState::*;
        assert_eq!(poll_interval(&[], true), None);
        assert_eq!(
            poll_interval(&[Pending], true),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            poll_interval(&[Pending, Running], false),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            poll_interval(&[Pending], false),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn an_array_is_as_far_as_its_slowest_task() {
        use JobState::*;
        assert_eq!(overall_state([Completed, Running].iter()), Running);
        assert_eq!(overall_state([Completed, Pending].iter()), Pending);
        assert_eq!(overall_state([Completed, Failed].iter()), Failed);
        assert_eq!(overall_state([Completed, Completed].iter()), Completed);
    }
}
