//! One look at a running job's GPUs: read what its recorder wrote (or, on this computer, ask
//! `nvidia-smi` and read what the job's processes use of the CPUs and memory), store it, and say
//! whether the job has sat idle long enough to warn.

use std::sync::Mutex;

use super::{collect, series};
use crate::jobs::history::JobEntry;
use crate::jobs::local_usage;
use crate::jobs::scheduler::JobError;
use crate::jobs::slurm::JobState;
use crate::jobs::targets::AnyScheduler;
use crate::store::{Store, lock};
use crate::target::THIS_COMPUTER_ID;

/// When a job counts as idle: every GPU under `below` per cent for `minutes`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleRule {
    pub below: f32,
    pub minutes: u32,
}

impl From<&crate::settings::Settings> for IdleRule {
    fn from(s: &crate::settings::Settings) -> Self {
        Self {
            below: s.idle_below_percent,
            minutes: s.idle_minutes,
        }
    }
}

/// What one look found.
#[derive(Debug, Default)]
pub struct Look {
    pub new_samples: usize,
    pub bytes: u64,
    pub idle: bool,
}

/// Whether Usine follows this job's use while it runs: its GPUs when it records them, and every
/// job on this computer (its processes can always be read).
pub fn followed(job: &JobEntry) -> bool {
    job.target == THIS_COMPUTER_ID || (job.spec.record_gpu_metrics && job.spec.gpus_per_node > 0)
}

/// Whether this job's use is to be read now.
pub fn watched(job: &JobEntry) -> bool {
    job.state == JobState::Running && followed(job)
}

/// Follows a job's use: brings its state up to date, reads its new samples while it runs, and
/// hands `on_look` the job and, when it has sat idle, the rule it broke; again every `every`
/// until it ends (`None`: once). Ends with the job as it stands (`usine watch`).
pub async fn follow(
    store: &Mutex<Store>,
    connections: &crate::cluster::Connections,
    how: &crate::jobs::targets::Opening,
    job_id: &str,
    every: Option<std::time::Duration>,
    mut on_look: impl FnMut(&JobEntry, Option<IdleRule>),
) -> Result<JobEntry, JobError> {
    let job = crate::jobs::history::get(&lock(store), job_id)?;
    let scheduler = crate::jobs::targets::open_as(store, connections, &job.target, how).await?;
    loop {
        crate::jobs::tracking::refresh(store, &job.target, &scheduler).await?;
        let now = crate::jobs::history::get(&lock(store), &job.id)?;
        let rule = IdleRule::from(&crate::settings::load(&lock(store)));
        let idle = watched(&now) && look(store, &scheduler, &now, rule).await?.idle;
        on_look(&now, idle.then_some(rule));
        match every {
            Some(every) if !now.state.is_finished() => tokio::time::sleep(every).await,
            _ => return Ok(now),
        }
    }
}

pub async fn look(
    store: &Mutex<Store>,
    scheduler: &AnyScheduler,
    job: &JobEntry,
    rule: IdleRule,
) -> Result<Look, JobError> {
    let mut look = Look::default();
    let samples = match (scheduler.ssh(), &job.scheduler_id) {
        (Some(slurm), Some(slurm_id)) => {
            let mut offsets = collect::offsets(&lock(store), &job.id)?;
            let got = collect::read_recorder(slurm.connection(), &job.spec, slurm_id, &mut offsets)
                .await?;
            collect::save_offsets(&lock(store), &job.id, &offsets)?;
            if got.parsed.no_tool {
                series::mark_no_gpu_tool(&lock(store), &job.id)?;
            }
            look.bytes = got.bytes;
            got.parsed.samples
        }
        (None, _) => {
            if let (AnyScheduler::ThisComputer(here), Some(id)) = (scheduler, &job.scheduler_id)
                && let Some(usage) = here.usage(id)
            {
                let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
                let memory = local_usage::total_memory().unwrap_or(0);
                let saved = series::save_processors(
                    &lock(store),
                    &job.id,
                    crate::store::now_ms(),
                    &usage,
                    memory,
                    cpus,
                )?;
                look.new_samples += usize::from(saved);
            }
            if job.spec.gpus_per_node > 0 {
                match collect::sample_this_computer("nvidia-smi") {
                    Some(p) => p.samples,
                    None => {
                        series::mark_no_gpu_tool(&lock(store), &job.id)?;
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    };
    let guard = &mut lock(store);
    look.new_samples += series::save(guard, &job.id, &samples)?;
    look.idle = series::idle_for(guard, &job.id, rule.below, i64::from(rule.minutes) * 60_000)?;
    Ok(look)
}
