//! GPU samples kept per job, node and GPU in the local store, read back downsampled so that a
//! 72-hour job still draws at once, and summed up (mean use, idle GPU-hours). Jobs on this
//! computer also keep what their processes use of its CPUs and memory, drawn the same way.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::parse::GpuSample;
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

/// Stores new samples (a sample seen twice is kept once); returns how many were new.
pub fn save(store: &mut Store, job: &str, samples: &[GpuSample]) -> Result<usize, StoreError> {
    let tx = store.db.transaction()?;
    let mut added = 0;
    {
        let mut insert = tx.prepare(
            "INSERT OR IGNORE INTO gpu_samples(job, node, gpu, t, utilization, memory_used, memory_total, power, temperature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for s in samples {
            added += insert.execute(rusqlite::params![
                job,
                s.node,
                s.gpu,
                s.time_ms,
                s.utilization,
                s.memory_used_mib,
                s.memory_total_mib,
                s.power_watts,
                s.temperature_c
            ])?;
        }
    }
    tx.commit()?;
    Ok(added)
}

/// Records what a job's processes on this computer use; the CPU share is worked out from the
/// CPU time since the job's previous sample, spread over `cpus`. Returns whether it was new.
pub fn save_processors(
    store: &Store,
    job: &str,
    t_ms: i64,
    usage: &crate::jobs::local_usage::TreeUsage,
    memory_total_bytes: u64,
    cpus: usize,
) -> Result<bool, StoreError> {
    let previous: Option<(i64, f64)> = store
        .db
        .query_row(
            "SELECT t, cpu_time FROM cpu_samples WHERE job = ?1 AND t < ?2 ORDER BY t DESC LIMIT 1",
            rusqlite::params![job, t_ms],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let cpu_time = usage.cpu_time_ms as f64;
    // A process that ended took its CPU time with it: the share cannot go below nothing.
    let percent = previous.filter(|&(t, _)| t_ms > t).map(|(t, before)| {
        ((cpu_time - before).max(0.0) / (t_ms - t) as f64 / cpus.max(1) as f64 * 100.0).min(100.0)
    });
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    Ok(store.db.execute(
        "INSERT OR IGNORE INTO cpu_samples(job, t, cpu_time, cpu_percent, memory_used, memory_total)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            job,
            t_ms,
            cpu_time,
            percent,
            mib(usage.memory_bytes),
            mib(memory_total_bytes)
        ],
    )? == 1)
}

/// Every curve of the job (each GPU, then this computer's processors if it ran here), averaged
/// into at most about `points` buckets each.
pub fn load(store: &Store, job: &str, points: usize) -> Result<Vec<Series>, StoreError> {
    let (first, last): (Option<i64>, Option<i64>) = store.db.query_row(
        "SELECT min(t), max(t) FROM (SELECT t FROM gpu_samples WHERE job = ?1
                                     UNION ALL SELECT t FROM cpu_samples WHERE job = ?1)",
        [job],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let bucket = ((last - first) / points.max(1) as i64).max(1);
    let mut stmt = store.db.prepare(
        "SELECT node, gpu, min(t), avg(utilization), avg(100.0 * memory_used / nullif(memory_total, 0)),
                max(memory_total)
         FROM gpu_samples WHERE job = ?1 GROUP BY node, gpu, (t - ?2) / ?3
         UNION ALL
         SELECT ?4, NULL, min(t), avg(cpu_percent), avg(100.0 * memory_used / nullif(memory_total, 0)),
                max(memory_total)
         FROM cpu_samples WHERE job = ?1 GROUP BY (t - ?2) / ?3
         ORDER BY 1, 2 NULLS LAST, 3",
    )?;
    let host = crate::target::this_host();
    let rows = stmt.query_map(rusqlite::params![job, first, bucket, host], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<u32>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<f64>>(3)?,
            r.get::<_, Option<f64>>(4)?,
            r.get::<_, Option<f64>>(5)?,
        ))
    })?;
    let mut out: Vec<Series> = Vec::new();
    for row in rows {
        let (node, gpu, t, util, mem, total) = row?;
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
    Ok(out)
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

/// Records that the job's node has no GPU tool to ask.
pub fn mark_no_gpu_tool(store: &Store, job: &str) -> Result<(), StoreError> {
    store
        .db
        .execute("UPDATE jobs SET no_gpu_tool = 1 WHERE id = ?1", [job])?;
    Ok(())
}

/// Sums up a job's samples. Each sample stands for the time until the GPU's next one (capped at
/// `max_gap_ms`, so a pause in recording is not counted as use).
pub fn summary(
    store: &Store,
    job: &str,
    idle_below: f32,
    max_gap_ms: i64,
) -> Result<Summary, StoreError> {
    let mut stmt = store.db.prepare(
        "SELECT node, gpu, t, utilization FROM gpu_samples WHERE job = ?1 ORDER BY node, gpu, t",
    )?;
    let rows = stmt
        .query_map([job], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<f64>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
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
    let (cpu_samples, mean_cpu_percent): (u32, Option<f64>) = store.db.query_row(
        "SELECT count(*), avg(cpu_percent) FROM cpu_samples WHERE job = ?1",
        [job],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let no_gpu_tool = store
        .db
        .query_row("SELECT no_gpu_tool FROM jobs WHERE id = ?1", [job], |r| {
            r.get::<_, bool>(0)
        })
        .optional()?
        .unwrap_or(false);
    Ok(Summary {
        no_gpu_tool,
        gpus,
        samples: rows.len() as u32,
        mean_utilization: (util_n > 0).then(|| (util_sum / f64::from(util_n)) as f32),
        gpu_hours: busy_ms as f64 / 3_600_000.0,
        idle_gpu_hours: idle_ms as f64 / 3_600_000.0,
        last_sample_ms: last,
        cpu_samples,
        mean_cpu_percent: mean_cpu_percent.map(|m| m as f32),
    })
}

/// Whether every GPU of the job stayed under `idle_below` per cent for the last `window_ms`
/// (and there are samples covering that window).
pub fn idle_for(
    store: &Store,
    job: &str,
    idle_below: f32,
    window_ms: i64,
) -> Result<bool, StoreError> {
    let (last, first): (Option<i64>, Option<i64>) = store.db.query_row(
        "SELECT max(t), min(t) FROM gpu_samples WHERE job = ?1",
        [job],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(last), Some(first)) = (last, first) else {
        return Ok(false);
    };
    if last - first < window_ms {
        return Ok(false);
    }
    let busiest: Option<f64> = store.db.query_row(
        "SELECT max(utilization) FROM gpu_samples WHERE job = ?1 AND t >= ?2",
        rusqlite::params![job, last - window_ms],
        |r| r.get(0),
    )?;
    Ok(busiest.is_some_and(|b| (b as f32) < idle_below))
}

/// Every stored sample of the job, oldest first (for export).
pub fn samples(store: &Store, job: &str) -> Result<Vec<GpuSample>, StoreError> {
    let mut stmt = store.db.prepare(
        "SELECT t, node, gpu, utilization, memory_used, memory_total, power, temperature
         FROM gpu_samples WHERE job = ?1 ORDER BY t, node, gpu",
    )?;
    let rows = stmt.query_map([job], |r| {
        let f = |i: usize| r.get::<_, Option<f64>>(i).map(|v| v.map(|x| x as f32));
        Ok(GpuSample {
            time_ms: r.get(0)?,
            node: r.get(1)?,
            gpu: r.get(2)?,
            utilization: f(3)?,
            memory_used_mib: f(4)?,
            memory_total_mib: f(5)?,
            power_watts: f(6)?,
            temperature_c: f(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
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

/// Every stored reading of the job's processes on this computer, oldest first.
pub fn processor_samples(store: &Store, job: &str) -> Result<Vec<ProcessorSample>, StoreError> {
    let host = crate::target::this_host();
    let mut stmt = store.db.prepare(
        "SELECT t, cpu_percent, memory_used, memory_total FROM cpu_samples WHERE job = ?1 ORDER BY t",
    )?;
    let rows = stmt.query_map([job], |r| {
        Ok(ProcessorSample {
            time_ms: r.get(0)?,
            node: host.to_owned(),
            cpu_percent: r.get::<_, Option<f64>>(1)?.map(|v| v as f32),
            memory_used_mib: r.get::<_, f64>(2)? as f32,
            memory_total_mib: r.get::<_, f64>(3)? as f32,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
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

/// Forgets samples older than `before_ms` (the retention setting).
pub fn prune(store: &Store, before_ms: i64) -> Result<usize, StoreError> {
    Ok(store
        .db
        .execute("DELETE FROM gpu_samples WHERE t < ?1", [before_ms])?
        + store
            .db
            .execute("DELETE FROM cpu_samples WHERE t < ?1", [before_ms])?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
