//! The job tracker's round, one use case for the app (which runs it in a loop) and for
//! `usine jobs --refresh` (which runs it once): for every target with open jobs, send what waits
//! in its outbox, bring the jobs' states up to date, and follow what running jobs use (GPU
//! samples, this computer's processors), warning once per job about idle GPUs. What it sees
//! comes out as [`Seen`] values for the adapter to show (events, notifications, lines).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::FutureExt;

use super::history::{self, JobEntry};
use super::scheduler::JobError;
use super::targets::{self, AnyScheduler, Opening};
use super::{notices, tracking};
use crate::cluster::Connections;
use crate::gpu::watch::{self, IdleRule};
use crate::store::{Store, lock};
use crate::target::THIS_COMPUTER_ID;

/// Something the round saw, for the person.
#[derive(Debug, Clone)]
pub enum Seen {
    /// A job changed (sent, refused, started, ended), with the desktop notification it is
    /// worth (title, body), if any: a state the user asked to hear about, or a refusal.
    Job {
        job: JobEntry,
        notice: Option<(String, String)>,
    },
    /// New samples of what a running job uses.
    Samples { job_id: String },
    /// A job's GPUs have been idle for a while; said once per job while the tracker lives.
    Idle { job: JobEntry, rule: IdleRule },
    /// A target could not be followed this round (it is opened afresh next round).
    Trouble { target: String, error: String },
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub changed: bool,
    /// When to look again; `None` when nothing is left to follow.
    pub wait: Option<Duration>,
}

/// Keeps what is worth keeping between rounds: opened schedulers (a REST target fetches a token
/// and probes versions when opened) and the jobs already warned about.
#[derive(Default)]
pub struct Tracker {
    schedulers: HashMap<String, AnyScheduler>,
    idle_warned: HashSet<String>,
    changed_recently: bool,
}

impl Tracker {
    pub fn new() -> Self {
        Self {
            changed_recently: true,
            ..Self::default()
        }
    }

    /// One round over every target with open jobs (only `target` when given), each reached as
    /// `how` allows (the app asks nothing and follows connected clusters; the CLI may ask for
    /// a login in the terminal). A target not reached is left for the next round.
    pub async fn round(
        &mut self,
        store: &Mutex<Store>,
        connections: &Connections,
        how: &Opening,
        target: Option<&str>,
        mut seen: impl FnMut(Seen),
    ) -> Round {
        let open_jobs: Vec<JobEntry> = history::list(&lock(store), target)
            .map(|all| all.into_iter().filter(|j| !j.state.is_finished()).collect())
            .unwrap_or_default();
        let mut targets: Vec<String> = open_jobs.iter().map(|j| j.target.clone()).collect();
        // This computer first: a local job starts without waiting for a cluster's round trip.
        targets.sort_by_key(|t| (t != THIS_COMPUTER_ID, t.clone()));
        targets.dedup();
        let mut changed = false;
        for target in &targets {
            if !self.schedulers.contains_key(target) {
                match targets::open_as(store, connections, target, how).await {
                    Ok(opened) => {
                        self.schedulers.insert(target.clone(), opened);
                    }
                    Err(JobError::Offline(_)) => continue,
                    Err(error) => {
                        seen(Seen::Trouble {
                            target: target.clone(),
                            error: error.to_string(),
                        });
                        continue;
                    }
                }
            }
            let Some(scheduler) = self.schedulers.get(target) else {
                continue;
            };
            // One target's trouble, even a panic in a parser of its output, is its own: the
            // round goes on with the other targets, and the tracker task lives.
            let (failed, target_changed) = isolated(
                target,
                follow_target(store, scheduler, target, &mut self.idle_warned, &mut seen),
            )
            .await
            .unwrap_or((true, false));
            changed |= target_changed;
            if failed {
                // Opened afresh next round (an expired token, a dropped connection).
                self.schedulers.remove(target);
            }
        }
        let states: Vec<_> = open_jobs.iter().map(|j| j.state.clone()).collect();
        let wait = tracking::poll_interval(
            &states,
            self.changed_recently || changed || tracking::just_sent(store),
        );
        self.changed_recently = changed;
        Round { changed, wait }
    }

    /// Marks the next round as following a change (a submit or a cancel just happened).
    pub fn woken(&mut self) {
        self.changed_recently = true;
    }
}

/// Sends the target's outbox, brings its jobs' states up to date and follows what its running
/// jobs use; returns (something failed, something changed).
async fn follow_target(
    store: &Mutex<Store>,
    scheduler: &AnyScheduler,
    target: &str,
    warned: &mut HashSet<String>,
    seen: &mut impl FnMut(Seen),
) -> (bool, bool) {
    let mut failed = false;
    let mut changed = false;
    match tracking::flush_outbox(store, target, scheduler).await {
        Ok(sent) => {
            for job in sent {
                changed = true;
                let notice = job
                    .refused_because
                    .is_some()
                    .then(|| notices::for_state(&job))
                    .flatten();
                seen(Seen::Job { job, notice });
            }
        }
        Err(error) => {
            failed = true;
            seen(Seen::Trouble {
                target: target.to_owned(),
                error: error.to_string(),
            });
        }
    }
    match tracking::refresh(store, target, scheduler).await {
        Ok(changes) => {
            for change in changes {
                changed = true;
                let notice = notices::for_state(&change.job);
                seen(Seen::Job {
                    job: change.job,
                    notice,
                });
            }
        }
        Err(error) => {
            failed = true;
            seen(Seen::Trouble {
                target: target.to_owned(),
                error: error.to_string(),
            });
        }
    }
    follow_use(store, scheduler, target, warned, seen).await;
    (failed, changed)
}

/// Runs one target's or one job's work so that a panic in it (a parser's bug met on some
/// cluster's output) is logged and skipped instead of ending the tracker task, which would
/// stop every job's tracking, the outbox and notifications until the app restarts.
async fn isolated<F: Future>(what: &str, work: F) -> Option<F::Output> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(output) => Some(output),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(what, %message, "skipped for this round after a panic");
            None
        }
    }
}

/// Reads what the target's running jobs use; an idle job is said once (`warned` remembers).
async fn follow_use(
    store: &Mutex<Store>,
    scheduler: &AnyScheduler,
    target: &str,
    warned: &mut HashSet<String>,
    seen: &mut impl FnMut(Seen),
) {
    let running: Vec<JobEntry> = history::active(&lock(store), target)
        .map(|all| all.into_iter().filter(watch::watched).collect())
        .unwrap_or_default();
    let rule = IdleRule::from(&crate::settings::load(&lock(store)));
    for job in running {
        let Some(looked) = isolated(&job.id, watch::look(store, scheduler, &job, rule)).await
        else {
            continue;
        };
        match looked {
            Ok(look) => {
                if look.new_samples > 0 {
                    seen(Seen::Samples {
                        job_id: job.id.clone(),
                    });
                }
                if look.idle && warned.insert(job.id.clone()) {
                    seen(Seen::Idle { job, rule });
                }
            }
            Err(error) => tracing::debug!(%error, job = %job.id, "no samples this time"),
        }
    }
}

/// Drops GPU samples older than the user's retention setting (at the app's start).
pub fn prune_old_samples(store: &Mutex<Store>) {
    let guard = lock(store);
    let days = crate::settings::load(&guard).gpu_retention_days;
    let cutoff = crate::store::now_ms() - i64::from(days) * 86_400_000;
    if let Err(error) = crate::gpu::series::prune(&guard, cutoff) {
        tracing::warn!(%error, "old samples not pruned");
    }
}

#[cfg(test)]
mod tests {
    use super::isolated;

    /// One job's work that panics (a parser's bug) is skipped; the jobs after it are followed.
    #[tokio::test]
    async fn a_panic_in_one_jobs_work_is_skipped_and_the_next_jobs_are_followed() {
        let mut followed = Vec::new();
        for job in ["first", "broken", "last"] {
            let work = async move {
                if job == "broken" {
                    let bytes = "2026-12-02T10:00:00é".as_bytes();
                    // The kind of slice inside a character the recorder parser once made.
                    let _ = std::str::from_utf8(&bytes[..20]).unwrap();
                }
                job
            };
            followed.push(isolated(job, work).await);
        }
        assert_eq!(followed, [Some("first"), None, Some("last")]);
    }
}
