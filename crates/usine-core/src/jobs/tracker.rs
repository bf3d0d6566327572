//! The job tracker's round, one use case for the app (which runs it in a loop) and for
//! `usine jobs --refresh` (which runs it once): for every target with open jobs, send what waits
//! in its outbox, bring the jobs' states up to date, and follow what running jobs use (GPU
//! samples, this computer's processors), warning once per job about idle GPUs. What it sees
//! comes out as [`Seen`] values for the adapter to show (events, notifications, lines).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

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
            let mut failed = false;
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
                        target: target.clone(),
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
                        target: target.clone(),
                        error: error.to_string(),
                    });
                }
            }
            follow_use(store, scheduler, target, &mut self.idle_warned, &mut seen).await;
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
        match watch::look(store, scheduler, &job, rule).await {
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
