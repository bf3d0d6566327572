//! The GPU and processor samples in the local store: every SQL statement about them. `series`
//! makes curves and sums of what these return.

use rusqlite::OptionalExtension;

use super::parse::GpuSample;
use super::series::ProcessorSample;
use crate::store::{Store, StoreError};

/// One bucket of a curve: node, GPU (none: this computer's processors), start, mean busy %,
/// mean memory %, memory total (MiB).
pub(super) type Bucket = (
    String,
    Option<u32>,
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

/// One GPU sample for sums: node, GPU, time, busy %.
pub(super) type GpuRow = (String, u32, i64, Option<f64>);

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

/// The job's samples averaged into at most about `points` buckets per device, ordered by node,
/// device and time.
pub(super) fn buckets(store: &Store, job: &str, points: usize) -> Result<Vec<Bucket>, StoreError> {
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
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The job's GPU samples, ordered by node, GPU and time.
pub(super) fn gpu_rows(store: &Store, job: &str) -> Result<Vec<GpuRow>, StoreError> {
    let mut stmt = store.db.prepare(
        "SELECT node, gpu, t, utilization FROM gpu_samples WHERE job = ?1 ORDER BY node, gpu, t",
    )?;
    let rows = stmt.query_map([job], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<f64>>(3)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many readings of the job's processes there are, and their mean CPU share.
pub(super) fn processor_mean(store: &Store, job: &str) -> Result<(u32, Option<f64>), StoreError> {
    Ok(store.db.query_row(
        "SELECT count(*), avg(cpu_percent) FROM cpu_samples WHERE job = ?1",
        [job],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Whether the job's node was found without a GPU tool.
pub(super) fn no_gpu_tool(store: &Store, job: &str) -> Result<bool, StoreError> {
    Ok(store
        .db
        .query_row("SELECT no_gpu_tool FROM jobs WHERE id = ?1", [job], |r| {
            r.get::<_, bool>(0)
        })
        .optional()?
        .unwrap_or(false))
}

/// Records that the job's node has no GPU tool to ask.
pub fn mark_no_gpu_tool(store: &Store, job: &str) -> Result<(), StoreError> {
    store
        .db
        .execute("UPDATE jobs SET no_gpu_tool = 1 WHERE id = ?1", [job])?;
    Ok(())
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

/// Forgets samples older than `before_ms` (the retention setting).
pub fn prune(store: &Store, before_ms: i64) -> Result<usize, StoreError> {
    Ok(store
        .db
        .execute("DELETE FROM gpu_samples WHERE t < ?1", [before_ms])?
        + store
            .db
            .execute("DELETE FROM cpu_samples WHERE t < ?1", [before_ms])?)
}
