//! GPU samples kept per job, node and GPU in the local store, read back downsampled so that a
//! 72-hour job still draws at once, and summed up (mean use, idle GPU-hours). Jobs on this
//! computer also keep what their processes use of its CPUs and memory, drawn the same way.
//! The store's questions are in `sample_store`; the curves and sums made of the answers, here.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::parse::GpuSample;
use super::sample_store;
pub use super::sample_store::{
    idle_for, mark_no_gpu_tool, processor_samples, prune, samples, save, save_processors,
};
use crate::store::{Store, StoreError};

/// What a curve follows on its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Gpu(u32),
    /// All the CPUs of this computer and its memory, as used by a job's processes.
    Processors,
}

/// One device's curve: `(ms since the epoch, busy %, memory %)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub node: String,
    pub device: Device,
    pub points: Vec<(i64, Option<f32>, Option<f32>)>,
    /// What 100 % of the memory curve is, in MiB, where known (a GPU's memory, or this
    /// computer's for its processors): charts of a job here show memory in GiB with it.
    pub memory_total_mib: Option<f32>,
}

impl Series {
    /// The memory curve's point in GiB, where the total is known.
    pub fn memory_gib(&self, percent: f32) -> Option<f32> {
        self.memory_total_mib
            .map(|total| percent / 100.0 * total / 1024.0)
    }
}

/// Every curve of the job (each GPU, then this computer's processors if it ran here), averaged
/// into at most about `points` buckets each.
pub fn load(store: &Store, job: &str, points: usize) -> Result<Vec<Series>, StoreError> {
    Ok(curves(sample_store::buckets(store, job, points)?))
}

/// Bucket rows (ordered by node, device, time) as one curve per device.
fn curves(rows: Vec<sample_store::Bucket>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for (node, gpu, t, util, mem, total) in rows {
        let device = gpu.map_or(Device::Processors, Device::Gpu);
        if out
            .last()
            .is_none_or(|s| s.node != node || s.device != device)
        {
            out.push(Series {
                node: node.clone(),
                device,
                points: Vec::new(),
                memory_total_mib: None,
            });
        }
        if let Some(s) = out.last_mut() {
            s.points
                .push((t, util.map(|u| u as f32), mem.map(|m| m as f32)));
            if let Some(total) = total {
                s.memory_total_mib = Some(total as f32);
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "GpuSummary")]
pub struct Summary {
    pub gpus: u32,
    pub samples: u32,
    /// Mean utilization over every GPU and sample, 0–100.
    pub mean_utilization: Option<f32>,
    /// GPU-hours covered by samples.
    pub gpu_hours: f64,
    /// GPU-hours during which a GPU was under `idle_below` per cent busy.
    pub idle_gpu_hours: f64,
    /// The newest sample's time (ms since the epoch).
    #[ts(type = "number | null")]
    pub last_sample_ms: Option<i64>,
    /// Readings of the job's processes on this computer (none for a job on a cluster).
    pub cpu_samples: u32,
    /// Their mean share of this computer's CPUs, 0–100.
    pub mean_cpu_percent: Option<f32>,
    /// The node had no GPU tool (nvidia-smi, rocm-smi, amd-smi): no GPU sample will come.
    pub no_gpu_tool: bool,
}

/// Sums up a job's samples. Each sample stands for the time until the GPU's next one (capped at
/// `max_gap_ms`, so a pause in recording is not counted as use).
pub fn summary(
    store: &Store,
    job: &str,
    idle_below: f32,
    max_gap_ms: i64,
) -> Result<Summary, StoreError> {
    let rows = sample_store::gpu_rows(store, job)?;
    let (cpu_samples, mean_cpu_percent) = sample_store::processor_mean(store, job)?;
    Ok(Summary {
        no_gpu_tool: sample_store::no_gpu_tool(store, job)?,
        cpu_samples,
        mean_cpu_percent: mean_cpu_percent.map(|m| m as f32),
        ..summarize(&rows, idle_below, max_gap_ms)
    })
}

/// The GPU part of a summary, from a job's samples ordered by node, GPU and time.
fn summarize(rows: &[sample_store::GpuRow], idle_below: f32, max_gap_ms: i64) -> Summary {
    let (mut gpus, mut util_sum, mut util_n, mut busy_ms, mut idle_ms) =
        (0u32, 0.0, 0u32, 0i64, 0i64);
    let mut last = None;
    for (i, (node, gpu, t, util)) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].0 != *node || rows[i - 1].1 != *gpu {
            gpus += 1;
        }
        if let Some(u) = util {
            util_sum += u;
            util_n += 1;
        }
        last = last.max(Some(*t));
        let next = rows
            .get(i + 1)
            .filter(|n| n.0 == *node && n.1 == *gpu)
            .map(|n| n.2);
        let span = next.map_or(0, |n| (n - t).min(max_gap_ms));
        busy_ms += span;
        if util.is_some_and(|u| (u as f32) < idle_below) {
            idle_ms += span;
        }
    }
    Summary {
        no_gpu_tool: false,
        gpus,
        samples: rows.len() as u32,
        mean_utilization: (util_n > 0).then(|| (util_sum / f64::from(util_n)) as f32),
        gpu_hours: busy_ms as f64 / 3_600_000.0,
        idle_gpu_hours: idle_ms as f64 / 3_600_000.0,
        last_sample_ms: last,
        cpu_samples: 0,
        mean_cpu_percent: None,
    }
}

/// One reading of what a job's processes used of this computer (for export).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorSample {
    pub time_ms: i64,
    pub node: String,
    /// Share of all this computer's CPUs, 0–100 (none for the job's first sample).
    pub cpu_percent: Option<f32>,
    pub memory_used_mib: f32,
    pub memory_total_mib: f32,
}

/// The samples as CSV with a header, units in the column names, empty cells for missing values;
/// `device` is `gpu0`, `gpu1`, … or `cpus` (all of this computer's CPUs, for a job run here).
pub fn to_csv(gpus: &[GpuSample], processors: &[ProcessorSample]) -> String {
    let mut out = String::from(
        "time_ms,node,device,utilization_percent,memory_used_mib,memory_total_mib,power_watts,temperature_c\n",
    );
    let cell = |v: Option<f32>| v.map(|x| x.to_string()).unwrap_or_default();
    // Node names are host names; quote them anyway so a comma cannot shift the columns.
    let node = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    for s in gpus {
        out.push_str(&format!(
            "{},{},gpu{},{},{},{},{},{}\n",
            s.time_ms,
            node(&s.node),
            s.gpu,
            cell(s.utilization),
            cell(s.memory_used_mib),
            cell(s.memory_total_mib),
            cell(s.power_watts),
            cell(s.temperature_c)
        ));
    }
    for s in processors {
        out.push_str(&format!(
            "{},{},cpus,{},{},{},,\n",
            s.time_ms,
            node(&s.node),
            cell(s.cpu_percent),
            s.memory_used_mib,
            s.memory_total_mib
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_count_each_sample_until_the_next_of_its_gpu() {
        let row = |gpu, t, u| ("a".to_owned(), gpu, t, Some(u));
        let rows = [
            row(0, 0, 10.0),
            row(0, 1000, 90.0),
            row(0, 2000, 5.0),
            row(1, 0, 50.0),
        ];
        let sum = summarize(&rows, 20.0, 60_000);
        assert_eq!(
            (sum.gpus, sum.samples, sum.last_sample_ms),
            (2, 4, Some(2000))
        );
        assert_eq!(sum.mean_utilization, Some(38.75));
        assert!((sum.gpu_hours - 2000.0 / 3_600_000.0).abs() < 1e-12);
        assert!((sum.idle_gpu_hours - 1000.0 / 3_600_000.0).abs() < 1e-12);
        // A pause in recording longer than the gap counts only the gap.
        let paused = summarize(&[row(0, 0, 10.0), row(0, 10_000_000, 10.0)], 20.0, 60_000);
        assert!((paused.idle_gpu_hours - 60_000.0 / 3_600_000.0).abs() < 1e-12);
    }

    fn store(tag: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("usine-series-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir.join("db.sqlite3")).unwrap()
    }

    fn s(t: i64, gpu: u32, util: f32) -> GpuSample {
        GpuSample {
            time_ms: t,
            node: "n1".into(),
            gpu,
            utilization: Some(util),
            memory_used_mib: Some(40.0),
            memory_total_mib: Some(80.0),
            power_watts: None,
            temperature_c: None,
        }
    }

    #[test]
    fn a_day_of_eight_gpus_comes_back_downsampled() {
        let mut st = store("day");
        // 8 GPUs × 24 h at 5 s = 138,240 samples.
        let samples: Vec<GpuSample> = (0..17_280)
            .flat_map(|i| (0..8).map(move |g| s(i * 5000, g, (i % 100) as f32)))
            .collect();
        assert_eq!(save(&mut st, "j", &samples).unwrap(), samples.len());
        assert_eq!(
            save(&mut st, "j", &samples[..10]).unwrap(),
            0,
            "a sample seen twice is kept once"
        );
        let series = load(&st, "j", 600).unwrap();
        assert_eq!(series.len(), 8);
        assert!(
            series.iter().all(|s| (600..=602).contains(&s.points.len())),
            "{}",
            series[0].points.len()
        );
        assert!(series[0].points.iter().all(|p| p.2 == Some(50.0)));
        let mean = series[0].points.iter().filter_map(|p| p.1).sum::<f32>()
            / series[0].points.len() as f32;
        assert!((mean - 49.5).abs() < 1.0, "{mean}");
    }

    #[test]
    fn summary_counts_idle_gpu_hours_and_ignores_gaps() {
        let mut st = store("summary");
        // GPU 0 busy for an hour, GPU 1 idle for an hour, then a 5-hour gap.
        let mut samples = Vec::new();
        for i in 0..=360 {
            samples.push(s(i * 10_000, 0, 90.0));
            samples.push(s(i * 10_000, 1, 2.0));
        }
        samples.push(s(3_600_000 + 5 * 3_600_000, 0, 90.0));
        save(&mut st, "j", &samples).unwrap();
        let sum = summary(&st, "j", 10.0, 60_000).unwrap();
        assert_eq!((sum.gpus, sum.samples), (2, 723));
        assert!((sum.gpu_hours - 2.0167).abs() < 0.01, "{sum:?}");
        assert!((sum.idle_gpu_hours - 1.0).abs() < 0.01, "{sum:?}");
        assert!(
            (sum.mean_utilization.unwrap() - 46.1).abs() < 0.2,
            "{sum:?}"
        );
        assert!(!idle_for(&st, "j", 10.0, 600_000).unwrap(), "GPU 0 is busy");
        let all = super::samples(&st, "j").unwrap();
        assert_eq!(all.len(), 723);
        let csv = to_csv(&all[..2], &[]);
        assert_eq!(
            csv,
            "time_ms,node,device,utilization_percent,memory_used_mib,memory_total_mib,power_watts,temperature_c\n0,\"n1\",gpu0,90,40,80,,\n0,\"n1\",gpu1,2,40,80,,\n"
        );
        assert_eq!(prune(&st, 3_600_001).unwrap(), 722);
    }

    #[test]
    fn a_node_without_a_gpu_tool_is_said_in_the_summary() {
        let st = store("no-tool");
        st.db
            .execute(
                "INSERT INTO jobs(id, target, spec, script, state) VALUES ('j', 'lab', '{}', '', '\"running\"')",
                [],
            )
            .unwrap();
        assert!(!summary(&st, "j", 10.0, 60_000).unwrap().no_gpu_tool);
        mark_no_gpu_tool(&st, "j").unwrap();
        let sum = summary(&st, "j", 10.0, 60_000).unwrap();
        assert!(sum.no_gpu_tool && sum.samples == 0);
    }

    #[test]
    fn an_idle_job_is_seen_as_idle_only_once_the_window_is_covered() {
        let mut st = store("idle");
        save(
            &mut st,
            "j",
            &(0..5).map(|i| s(i * 60_000, 0, 1.0)).collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(!idle_for(&st, "j", 10.0, 600_000).unwrap());
        save(
            &mut st,
            "j",
            &(5..12).map(|i| s(i * 60_000, 0, 1.0)).collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(idle_for(&st, "j", 10.0, 600_000).unwrap());
    }

    #[test]
    fn a_job_here_keeps_its_cpu_share_and_memory_beside_its_gpus() {
        use crate::jobs::local_usage::TreeUsage;
        let mut st = store("cpus");
        let gib = 1u64 << 30;
        let usage = |cpu_time_ms, memory_bytes| TreeUsage {
            cpu_time_ms,
            memory_bytes,
            processes: 3,
        };
        // 4 CPUs; 1, then 2 CPU-seconds per second; then a process ends and takes its time along.
        for (t, cpu, mem) in [
            (0, 500, gib),
            (1000, 1500, gib),
            (2000, 3500, 2 * gib),
            (3000, 1000, gib),
        ] {
            assert!(save_processors(&st, "j", t, &usage(cpu, mem), 8 * gib, 4).unwrap());
        }
        assert!(
            !save_processors(&st, "j", 3000, &usage(1, 1), 8 * gib, 4).unwrap(),
            "a sample seen twice is kept once"
        );
        save(&mut st, "j", &[s(500, 0, 80.0)]).unwrap();
        let curves = load(&st, "j", 100).unwrap();
        assert_eq!(curves.len(), 2, "{curves:?}");
        assert_eq!(curves[0].device, Device::Gpu(0));
        assert_eq!(curves[1].device, Device::Processors);
        assert_eq!(
            curves[1].points,
            vec![
                (0, None, Some(12.5)),
                (1000, Some(25.0), Some(12.5)),
                (2000, Some(50.0), Some(25.0)),
                (3000, Some(0.0), Some(12.5)),
            ]
        );
        // 25 % of this computer's 8 GiB, in GiB for its chart.
        assert_eq!(curves[1].memory_total_mib, Some(8192.0));
        assert_eq!(curves[1].memory_gib(25.0), Some(2.0));
        let here = processor_samples(&st, "j").unwrap();
        assert_eq!(here.len(), 4);
        let csv = to_csv(&[], &here[1..2]);
        assert!(
            csv.ends_with(&format!("1000,\"{}\",cpus,25,1024,8192,,\n", here[1].node)),
            "{csv}"
        );
        let sum = summary(&st, "j", 10.0, 60_000).unwrap();
        assert_eq!((sum.gpus, sum.samples), (1, 1), "the CPUs are not GPUs");
        assert_eq!(sum.cpu_samples, 4);
        assert!(
            (sum.mean_cpu_percent.unwrap() - 25.0).abs() < 0.01,
            "{sum:?}"
        );
        assert_eq!(prune(&st, 2500).unwrap(), 4);
    }
}
