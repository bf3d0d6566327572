//! Live CPU and memory of this computer, sampled with `sysinfo`.

use std::ops::ControlFlow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
use ts_rs::TS;

/// How often the app pushes a fresh sample: often enough to feel live, rare enough to cost nothing.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1);

/// One reading of this computer's load.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HostMetrics {
    /// Average busy share of all logical CPUs since the previous sample, 0–100.
    pub cpu_percent: f32,
    pub cpu_count: u32,
    #[ts(type = "number")]
    pub memory_used_bytes: u64,
    #[ts(type = "number")]
    pub memory_total_bytes: u64,
    /// When the sample was taken, milliseconds since the Unix epoch (UTC).
    #[ts(type = "number")]
    pub sampled_at_ms: u64,
}

/// Keeps the `sysinfo` state between samples: CPU usage is a difference between two readings.
pub struct HostSampler {
    system: System,
}

impl HostSampler {
    pub fn new() -> Result<Self, SamplerError> {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        )
        .map_err(|e| SamplerError(e.to_string()))?;
        Ok(Self { system })
    }

    /// Refreshes and returns the current reading. The first call after `new` reports the CPU
    /// usage since start-up, so callers that need a meaningful first figure wait
    /// [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`] after `new`.
    pub fn sample(&mut self) -> HostMetrics {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        HostMetrics {
            cpu_percent: self.system.global_cpu_usage().clamp(0.0, 100.0),
            cpu_count: u32::try_from(self.system.cpus().len()).unwrap_or(u32::MAX),
            memory_used_bytes: self.system.used_memory(),
            memory_total_bytes: self.system.total_memory(),
            sampled_at_ms: now_ms(),
        }
    }

    /// Samples every `period` and hands each reading to `on_sample` until it returns `Break`.
    /// Dropping the future stops the loop too, which is how the app cancels it.
    pub async fn run(
        mut self,
        period: Duration,
        mut on_sample: impl FnMut(HostMetrics) -> ControlFlow<()>,
    ) {
        let mut ticker = tokio::time::interval(period.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once; skip it so the first CPU figure covers a whole period.
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if on_sample(self.sample()).is_break() {
                return;
            }
        }
    }
}

/// This operating system does not let `sysinfo` read CPU and memory figures.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::tr!(
        en: "cannot read this computer's CPU and memory use ({}); live figures stay off",
        fr: "impossible de lire l'usage CPU et mémoire de cet ordinateur ({}) ; pas de chiffres en direct",
        .0
    ))]
pub struct SamplerError(String);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_describes_a_real_machine() {
        let mut sampler = HostSampler::new().unwrap();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let m = sampler.sample();
        assert!(m.cpu_count >= 1);
        assert!((0.0..=100.0).contains(&m.cpu_percent));
        assert!(m.memory_total_bytes > 0);
        assert!(m.memory_used_bytes <= m.memory_total_bytes);
        assert!(m.sampled_at_ms > 1_700_000_000_000);
    }

    #[tokio::test]
    async fn run_delivers_samples_until_told_to_stop() {
        let mut seen = Vec::new();
        HostSampler::new()
            .unwrap()
            .run(Duration::from_millis(250), |m| {
                seen.push(m.sampled_at_ms);
                if seen.len() == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await;
        assert_eq!(seen.len(), 3);
        assert!(seen.windows(2).all(|w| w[1] >= w[0] + 200), "{seen:?}");
    }
}
