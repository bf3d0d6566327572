//! One look at a running job's GPUs: read what its recorder wrote (or, on this computer, ask
//! `nvidia-smi`), store it, and say whether the job has sat idle long enough to warn.

use std::sync::Mutex;

use super::{collect, series};
use crate::jobs::history::JobEntry;
use crate::jobs::scheduler::JobError;
use crate::jobs::slurm::JobState;
use crate::jobs::targets::AnyScheduler;
use crate::store::{Store, lock};

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

/// Whether Usine follows this job's GPUs.
pub fn watched(job: &JobEntry) -> bool {
    job.state == JobState::Running && job.spec.record_gpu_metrics && job.spec.gpus_per_node > 0
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
            look.bytes = got.bytes;
            got.parsed.samples
        }
        (None, _) => collect::sample_this_computer("nvidia-smi")
            .map(|p| p.samples)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let guard = &mut lock(store);
    look.new_samples = series::save(guard, &job.id, &samples)?;
    look.idle = series::idle_for(guard, &job.id, rule.below, i64::from(rule.minutes) * 60_000)?;
    Ok(look)
}
