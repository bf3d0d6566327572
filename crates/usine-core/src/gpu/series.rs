//! GPU samples kept per job, node and GPU in the local store, read back downsampled so that a
//! 72-hour job still draws at once, and summed up (mean use, idle GPU-hours).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::parse::GpuSample;
use crate::store::{Store, StoreError};

/// One GPU's curve: `(ms since the epoch, utilization %, memory %)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub node: String,
    pub gpu: u32,
    #[ts(type = "Array<[number, number | null, number | null]>")]
    pub points: Vec<(i64, Option<f32>, Option<f32>)>,
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

/// Every GPU's curve, averaged into at most about `points` buckets per GPU.
pub fn load(store: &Store, job: &str, points: usize) -> Result<Vec<Series>, StoreError> {
    let (first, last): (Option<i64>, Option<i64>) = store.db.query_row(
        "SELECT min(t), max(t) FROM gpu_samples WHERE job = ?1",
        [job],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let bucket = ((last - first) / points.max(1) as i64).max(1);
    let mut stmt = store.db.prepare(
        "SELECT node, gpu, min(t), avg(utilization), avg(100.0 * memory_used / nullif(memory_total, 0))
         FROM gpu_samples WHERE job = ?1 GROUP BY node, gpu, (t - ?2) / ?3 ORDER BY node, gpu, min(t)",
    )?;
    let rows = stmt.query_map(rusqlite::params![job, first, bucket], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<f64>>(3)?,
            r.get::<_, Option<f64>>(4)?,
        ))
    })?;
    let mut out: Vec<Series> = Vec::new();
    for row in rows {
        let (node, gpu, t, util, mem) = row?;
        if out.last().is_none_or(|s| s.node != node || s.gpu != gpu) {
            out.push(Series {
                node: node.clone(),
                gpu,
                points: Vec::new(),
            });
        }
        if let Some(s) = out.last_mut() {
            s.points
                .push((t, util.map(|u| u as f32), mem.map(|m| m as f32)));
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
    Ok(Summary {
        gpus,
        samples: rows.len() as u32,
        mean_utilization: (util_n > 0).then(|| (util_sum / f64::from(util_n)) as f32),
        gpu_hours: busy_ms as f64 / 3_600_000.0,
        idle_gpu_hours: idle_ms as f64 / 3_600_000.0,
        last_sample_ms: last,
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

/// The samples as CSV with a header, units in the column names, empty cells for missing values.
pub fn to_csv(samples: &[GpuSample]) -> String {
    let mut out = String::from(
        "time_ms,node,gpu,utilization_percent,memory_used_mib,memory_total_mib,power_watts,temperature_c\n",
    );
    let cell = |v: Option<f32>| v.map(|x| x.to_string()).unwrap_or_default();
    for s in samples {
        // Node names are host names; quote them anyway so a comma cannot shift the columns.
        out.push_str(&format!(
            "{},\"{}\",{},{},{},{},{},{}\n",
            s.time_ms,
            s.node.replace('"', "\"\""),
            s.gpu,
            cell(s.utilization),
            cell(s.memory_used_mib),
            cell(s.memory_total_mib),
            cell(s.power_watts),
            cell(s.temperature_c)
        ));
    }
    out
}

/// Forgets samples older than `before_ms` (the retention setting).
pub fn prune(store: &Store, before_ms: i64) -> Result<usize, StoreError> {
    Ok(store
        .db
        .execute("DELETE FROM gpu_samples WHERE t < ?1", [before_ms])?)
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
        let csv = to_csv(&all[..2]);
        assert_eq!(
            csv,
            "time_ms,node,gpu,utilization_percent,memory_used_mib,memory_total_mib,power_watts,temperature_c\n0,\"n1\",0,90,40,80,,\n0,\"n1\",1,2,40,80,,\n"
        );
        assert_eq!(prune(&st, 3_600_001).unwrap(), 722);
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
}
