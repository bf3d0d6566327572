//! Every job Usine sent or will send, kept locally so that the list, the logs' whereabouts and
//! the cost work offline. A job without a scheduler id is in the outbox: queued while offline.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use rusqlite::OptionalExtension;

use super::slurm::{JobRecord, JobState};
use super::spec::JobSpec;
use crate::owner::Owner;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobEntry {
    /// Usine's id for the job; it also tags the submission on the cluster.
    pub id: String,
    pub target: String,
    pub spec: JobSpec,
    pub script: String,
    /// Slurm's job id (or this computer's run id); `None` while waiting in the outbox.
    pub scheduler_id: Option<String>,
    pub state: JobState,
    pub record: Option<JobRecord>,
    /// Why a pending job waits, in plain words (from Slurm's reason).
    pub waiting_because: Option<String>,
    /// Why the cluster refused the job when the outbox sent it (the job is then failed).
    pub refused_because: Option<String>,
    /// Why a failed job failed, in plain words, when its exit code does not say.
    pub failed_because: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// It will not change any more (ended one way or another): the UI only reads this.
    pub finished: bool,
    /// Usine follows what it uses while it runs ([`crate::gpu::watch::followed`]).
    pub follows_use: bool,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

const COLUMNS: &str =
    "id, target, spec, script, scheduler_id, state, record, created_at, updated_at, refused";

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn entry(r: Row) -> Result<JobEntry, StoreError> {
    let mut job = JobEntry {
        id: r.0,
        target: r.1,
        spec: serde_json::from_str(&r.2).map_err(corrupt)?,
        script: r.3,
        scheduler_id: r.4,
        state: serde_json::from_str(&r.5).map_err(corrupt)?,
        record: r
            .6
            .map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(corrupt)?,
        waiting_because: None,
        failed_because: None,
        refused_because: r.9,
        created_at: r.7,
        updated_at: r.8,
        finished: false,
        follows_use: false,
    };
    job.finished = job.state.is_finished();
    job.follows_use = crate::gpu::watch::followed(&job);
    if !job.state.is_success() && job.state.is_finished() {
        job.failed_because = job.record.as_ref().and_then(|r| r.failure.clone());
    }
    if job.state == JobState::Pending {
        job.waiting_because = job
            .record
            .as_ref()
            .and_then(|r| r.reason.as_deref())
            .map(super::slurm::pending_reason);
    }
    Ok(job)
}

/// Records a job to be sent; it stays in the outbox until [`mark_submitted`]. `draft` is the
/// draft it was sent from, if any.
pub fn queue(
    store: &Store,
    target: &str,
    spec: &JobSpec,
    script: &str,
    draft: Option<&str>,
) -> Result<JobEntry, StoreError> {
    let id = crate::store::new_id();
    let state = serde_json::to_string(&JobState::Queued).map_err(corrupt)?;
    let spec = serde_json::to_string(spec).map_err(corrupt)?;
    store.db.execute(
        "INSERT INTO jobs(id, target, spec, script, state, draft_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (&id, target, spec, script, state, draft),
    )?;
    get(store, &id)
}

/// Claims a queued job for sending, for `lease`: true for exactly one caller, however many
/// processes try at once. A claim whose owner died or whose lease ran out is taken over.
pub fn claim_for_sending(
    store: &Store,
    id: &str,
    sender: &Owner,
    lease: std::time::Duration,
) -> Result<bool, StoreError> {
    let holder: Option<String> = store
        .db
        .query_row("SELECT sending_owner FROM jobs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let dead = holder.filter(|h| Owner::is_gone(h));
    let queued = serde_json::to_string(&JobState::Queued).map_err(corrupt)?;
    // One statement: SQLite runs it under its write lock, so two claims cannot both match.
    let claimed = store.db.execute(
        "UPDATE jobs SET sending_owner = ?2, sending_until = unixepoch() + ?3
         WHERE id = ?1 AND scheduler_id IS NULL AND state = ?4
           AND (sending_owner IS NULL OR sending_until < unixepoch() OR sending_owner = ?5)",
        (id, sender.as_str(), lease.as_secs() as i64, queued, dead),
    )?;
    Ok(claimed == 1)
}

/// Gives a claim back without sending (the cluster could not be reached): the job stays queued.
pub fn release(store: &Store, id: &str, sender: &Owner) -> Result<(), StoreError> {
    store.db.execute(
        "UPDATE jobs SET sending_owner = NULL, sending_until = NULL WHERE id = ?1 AND sending_owner = ?2",
        (id, sender.as_str()),
    )?;
    Ok(())
}

pub fn mark_submitted(store: &Store, id: &str, scheduler_id: &str) -> Result<(), StoreError> {
    let state = serde_json::to_string(&JobState::Pending).map_err(corrupt)?;
    store.db.execute(
        "UPDATE jobs SET scheduler_id = ?2, state = ?3, sending_owner = NULL, sending_until = NULL,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
        (id, scheduler_id, state),
    )?;
    Ok(())
}

/// Whether a job was sent (and not heard of since) within `window`.
pub fn sent_since(store: &Store, window: std::time::Duration) -> Result<bool, StoreError> {
    let pending = serde_json::to_string(&JobState::Pending).map_err(corrupt)?;
    Ok(store.db.query_row(
        "SELECT EXISTS(SELECT 1 FROM jobs WHERE state = ?1
             AND sent_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2))",
        (pending, format!("-{} seconds", window.as_secs())),
        |r| r.get(0),
    )?)
}

/// Records that the cluster refused a queued job, and why: it leaves the outbox as failed.
pub fn mark_refused(store: &Store, id: &str, reason: &str) -> Result<(), StoreError> {
    let state = serde_json::to_string(&JobState::Failed).map_err(corrupt)?;
    store.db.execute(
        "UPDATE jobs SET state = ?2, refused = ?3, sending_owner = NULL, sending_until = NULL,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
        (id, state, reason),
    )?;
    Ok(())
}

/// Stores what the scheduler said; returns the previous state when it changed.
pub fn update(store: &Store, id: &str, record: &JobRecord) -> Result<Option<JobState>, StoreError> {
    let before = get(store, id)?.state;
    let state = serde_json::to_string(&record.state).map_err(corrupt)?;
    let json = serde_json::to_string(record).map_err(corrupt)?;
    store.db.execute(
        "UPDATE jobs SET state = ?2, record = ?3, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
        (id, state, json),
    )?;
    Ok((before != record.state).then_some(before))
}

pub fn get(store: &Store, id: &str) -> Result<JobEntry, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = ?1 OR scheduler_id = ?1 ORDER BY created_at DESC LIMIT 1"
    );
    entry(store.db.query_row(&sql, [id], read)?)
}

/// Newest first; `target` narrows to one cluster (or `this-computer`). A job whose stored
/// record cannot be read (written by another version, a damaged file) is left out and logged:
/// one bad row must not hide every job, nor stop the tracker's round.
pub fn list(store: &Store, target: Option<&str>) -> Result<Vec<JobEntry>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE ?1 IS NULL OR target = ?1 ORDER BY created_at DESC, id DESC"
    );
    let mut stmt = store.db.prepare(&sql)?;
    let rows = stmt
        .query_map([target], read)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::store::readable(rows, "job", |r| r.0.clone(), entry))
}

/// Jobs waiting to be sent to `target`, oldest first.
pub fn outbox(store: &Store, target: &str) -> Result<Vec<JobEntry>, StoreError> {
    let mut all = list(store, Some(target))?;
    all.retain(|j| j.scheduler_id.is_none() && j.state == JobState::Queued);
    all.reverse();
    Ok(all)
}

/// Sent jobs that are not finished yet.
pub fn active(store: &Store, target: &str) -> Result<Vec<JobEntry>, StoreError> {
    let mut all = list(store, Some(target))?;
    all.retain(|j| j.scheduler_id.is_some() && !j.state.is_finished());
    Ok(all)
}

/// Replaces the stored view of `target`'s whole queue with `records`, in one transaction, so
/// the list works offline and never shows half of an update.
pub fn save_queue(
    store: &mut Store,
    target: &str,
    records: &[JobRecord],
) -> Result<(), StoreError> {
    let tx = store.db.transaction()?;
    tx.execute("DELETE FROM queue_snapshot WHERE target = ?1", [target])?;
    {
        let mut insert = tx.prepare(
            "INSERT OR REPLACE INTO queue_snapshot(target, job_id, record) VALUES (?1, ?2, ?3)",
        )?;
        for r in records {
            insert.execute((
                target,
                &r.job_id,
                serde_json::to_string(r).map_err(corrupt)?,
            ))?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The queue as last seen.
pub fn queue_snapshot(store: &Store, target: &str) -> Result<Vec<JobRecord>, StoreError> {
    let mut stmt = store
        .db
        .prepare("SELECT record FROM queue_snapshot WHERE target = ?1 ORDER BY rowid")?;
    let rows = stmt
        .query_map([target], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.iter()
        .map(|j| serde_json::from_str(j).map_err(corrupt))
        .collect()
}

/// Removes a job from the outbox before it was sent; sent jobs are cancelled instead.
pub fn withdraw(store: &Store, id: &str) -> Result<bool, StoreError> {
    Ok(store.db.execute(
        "DELETE FROM jobs WHERE id = ?1 AND scheduler_id IS NULL",
        [id],
    )? > 0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn temp_db(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("usine-history-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("db.sqlite3")
    }

    #[test]
    fn one_unreadable_job_is_left_out_of_the_list_not_every_job() {
        let store = Store::open(&temp_db("corrupt")).unwrap();
        let good = queue(&store, "lab", &JobSpec::default(), "#!/bin/bash\n", None).unwrap();
        let bad = queue(&store, "lab", &JobSpec::default(), "#!/bin/bash\n", None).unwrap();
        store
            .db
            .execute(
                "UPDATE jobs SET spec = '{not json' WHERE id = ?1",
                [&bad.id],
            )
            .unwrap();
        let listed: Vec<String> = list(&store, None)
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(listed, [good.id]);
        assert_eq!(
            outbox(&store, "lab").unwrap().len(),
            1,
            "the tracker still sends the good one"
        );
        assert!(
            get(&store, &bad.id).is_err(),
            "asked by name, the bad one says so"
        );
    }

    #[test]
    fn only_one_of_many_processes_claims_a_queued_job() {
        let db = temp_db("claim");
        let store = Store::open(&db).unwrap();
        let mut jobs = Vec::new();
        for _ in 0..20 {
            jobs.push(queue(&store, "lab", &JobSpec::default(), "#!/bin/bash\n", None).unwrap());
        }
        // Four connections to the same file, as four processes would have, all racing for
        // every job at once.
        let winners: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (db, jobs) = (&db, &jobs);
                    s.spawn(move || {
                        let store = Store::open(db).unwrap();
                        let sender = Owner::this_process();
                        jobs.iter()
                            .filter(|j| {
                                claim_for_sending(&store, &j.id, &sender, Duration::from_secs(60))
                                    .unwrap()
                            })
                            .map(|j| j.id.clone())
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<&String> = winners.iter().flatten().collect();
        all.sort();
        assert_eq!(all.len(), jobs.len(), "each job claimed once: {winners:?}");
        all.dedup();
        assert_eq!(all.len(), jobs.len());
        std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_job_sent_a_moment_ago_is_just_sent() {
        let db = temp_db("sent");
        let store = Store::open(&db).unwrap();
        let job = queue(&store, "lab", &JobSpec::default(), "#!/bin/bash\n", None).unwrap();
        let minute = Duration::from_secs(60);
        assert!(!sent_since(&store, minute).unwrap(), "queued is not sent");
        mark_submitted(&store, &job.id, "7").unwrap();
        assert!(sent_since(&store, minute).unwrap());
        store
            .db
            .execute(
                "UPDATE jobs SET sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes')",
                [],
            )
            .unwrap();
        assert!(!sent_since(&store, minute).unwrap());
        std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_claim_is_taken_over_when_its_owner_died_or_its_lease_ran_out() {
        let db = temp_db("takeover");
        let store = Store::open(&db).unwrap();
        let job = queue(&store, "lab", &JobSpec::default(), "#!/bin/bash\n", None).unwrap();
        let set_owner = |owner: &str, lease_left: i64| {
            store
                .db
                .execute(
                    "UPDATE jobs SET sending_owner = ?2, sending_until = unixepoch() + ?3 WHERE id = ?1",
                    (&job.id, owner, lease_left),
                )
                .unwrap();
        };
        let me = Owner::this_process();
        let lease = Duration::from_secs(60);
        // A live owner on another computer keeps its claim while the lease lasts...
        set_owner("another-host/1/1/x", 60);
        assert!(!claim_for_sending(&store, &job.id, &me, lease).unwrap());
        // ...and loses it when the lease has run out.
        set_owner("another-host/1/1/x", -1);
        assert!(claim_for_sending(&store, &job.id, &me, lease).unwrap());
        // This process, alive, keeps its claim against a second attempt of its own.
        assert!(!claim_for_sending(&store, &job.id, &Owner::this_process(), lease).unwrap());
        // A process of this computer that is gone (or whose pid now belongs to another
        // program, started at another time) no longer holds anything.
        let host = crate::target::this_host();
        set_owner(&format!("{host}/{}/1/x", std::process::id()), 60);
        assert!(claim_for_sending(&store, &job.id, &me, lease).unwrap());
        // Given back after a failed attempt: free for the next one; sent: never claimed again.
        release(&store, &job.id, &me).unwrap();
        assert!(claim_for_sending(&store, &job.id, &Owner::this_process(), lease).unwrap());
        mark_submitted(&store, &job.id, "42").unwrap();
        assert!(!claim_for_sending(&store, &job.id, &Owner::this_process(), lease).unwrap());
        std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
    }
}
