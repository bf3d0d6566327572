//! The transfer manifest in the store: each transfer, the files it lists, and what the cluster
//! confirmed of each (whole files, large files' parts, checksums). Every SQL statement about
//! transfers is here; the orchestration (`mod.rs`) and the engines (`large`, `small`) call these
//! between their network steps. Each change is one transaction, so a crash leaves the manifest
//! as it was after the last confirmed step.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{OptionalExtension, params};

use super::{Compare, Entry, Summary, TransferError};
use crate::owner::Owner;
use crate::store::{Store, lock};

/// Chooses how the transfer compares files, before it starts.
pub fn set_compare(store: &Mutex<Store>, id: &str, compare: Compare) -> Result<(), TransferError> {
    let value = match compare {
        Compare::Quick => "quick",
        Compare::Checksum => "checksum",
    };
    execute(
        store,
        "UPDATE transfers SET compare = ?2 WHERE id = ?1",
        params![id, value],
    )
}

pub(super) fn compare_of(store: &Mutex<Store>, id: &str) -> Result<Compare, TransferError> {
    let value: String =
        lock(store)
            .db
            .query_row("SELECT compare FROM transfers WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
    Ok(if value == "checksum" {
        Compare::Checksum
    } else {
        Compare::Quick
    })
}

/// One statement, in its own transaction.
fn execute(
    store: &Mutex<Store>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<(), TransferError> {
    lock(store).db.execute(sql, params)?;
    Ok(())
}

/// Records a new transfer of `source` to `remote_root` with its files; its id.
pub(super) fn insert(
    store: &Mutex<Store>,
    cluster: &str,
    source: &Path,
    remote_root: &str,
    files: &[Entry],
) -> Result<String, TransferError> {
    let id = crate::store::new_id();
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    tx.execute(
        "INSERT INTO transfers(id, cluster, local_root, remote_root, state, owner) VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
        params![id, cluster, source.to_string_lossy(), remote_root, Owner::this_process().as_str()],
    )?;
    for f in files {
        tx.execute(
            "INSERT INTO transfer_files(transfer_id, rel_path, size, mtime) VALUES (?1, ?2, ?3, ?4)",
            params![id, f.rel, f.size as i64, f.mtime],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

/// The last unfinished transfer of the same source to the same place: its id, state and owner.
pub(super) fn unfinished(
    store: &Mutex<Store>,
    cluster: &str,
    source: &Path,
    remote_root: &str,
) -> Result<Option<(String, String, Option<String>)>, TransferError> {
    Ok(lock(store)
        .db
        .query_row(
            "SELECT id, state, owner FROM transfers
             WHERE cluster = ?1 AND local_root = ?2 AND remote_root = ?3 AND state != 'done'
             ORDER BY id DESC LIMIT 1",
            params![cluster, source.to_string_lossy(), remote_root],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// Brings a transfer's file list up to date with the folder as it is now: new files added,
/// changed ones to be sent again, vanished ones dropped; what the cluster confirmed of
/// unchanged files is kept.
pub(super) fn refresh_files(
    store: &Mutex<Store>,
    id: &str,
    files: &[Entry],
) -> Result<(), TransferError> {
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    {
        let mut upsert = tx.prepare(
            "INSERT INTO transfer_files(transfer_id, rel_path, size, mtime) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(transfer_id, rel_path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                 confirmed = 0, sha256 = NULL, verified = 0
             WHERE size != excluded.size OR mtime != excluded.mtime",
        )?;
        for f in files {
            upsert.execute(params![id, f.rel, f.size as i64, f.mtime])?;
        }
        let kept: std::collections::HashSet<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        let mut listed =
            tx.prepare("SELECT rel_path FROM transfer_files WHERE transfer_id = ?1")?;
        let gone: Vec<String> = listed
            .query_map(params![id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|rel| !kept.contains(rel.as_str()))
            .collect();
        for rel in gone {
            tx.execute(
                "DELETE FROM transfer_files WHERE transfer_id = ?1 AND rel_path = ?2",
                params![id, rel],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The transfer runs, in `owner`'s process.
pub(super) fn set_running(
    store: &Mutex<Store>,
    id: &str,
    owner: &Owner,
) -> Result<(), TransferError> {
    execute(
        store,
        "UPDATE transfers SET state = 'running', owner = ?2 WHERE id = ?1",
        params![id, owner.as_str()],
    )
}

/// The transfer stopped: `done`, `failed` or `interrupted`.
pub(super) fn set_ended(store: &Mutex<Store>, id: &str, state: &str) -> Result<(), TransferError> {
    execute(
        store,
        "UPDATE transfers SET state = ?2, owner = NULL WHERE id = ?1",
        params![id, state],
    )
}

/// What became of one file of a transfer.
#[derive(Debug, Clone, Copy)]
pub(super) enum FileNews {
    /// The cluster's checksum matched this computer's.
    Verified,
    /// What was confirmed no longer holds (the checksums differ): the next run sends it again.
    Unconfirmed,
    /// A large file put together on the cluster from its parts, checked whole.
    Whole,
}

/// Records what became of the file `rel` of transfer `id`.
pub(super) fn record(
    store: &Mutex<Store>,
    id: &str,
    rel: &str,
    news: FileNews,
) -> Result<(), TransferError> {
    let change = match news {
        FileNews::Verified => "verified = 1",
        FileNews::Unconfirmed => "confirmed = 0, sha256 = NULL",
        FileNews::Whole => "confirmed = size, verified = 1",
    };
    let sql =
        format!("UPDATE transfer_files SET {change} WHERE transfer_id = ?1 AND rel_path = ?2");
    execute(store, &sql, params![id, rel])
}

/// Files the cluster already holds (with their local checksum), taken as sent; `verified` when
/// the cluster's checksum was compared too.
pub(super) fn confirm_same(
    store: &Mutex<Store>,
    id: &str,
    same: &[(&Entry, String)],
    verified: bool,
) -> Result<(), TransferError> {
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    for (e, digest) in same {
        tx.execute(
            "UPDATE transfer_files SET confirmed = ?3, sha256 = ?4, verified = ?5 WHERE transfer_id = ?1 AND rel_path = ?2",
            params![id, e.rel, e.size as i64, digest, verified],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Small files that landed whole with the same checksum on both sides, in one transaction.
pub(super) fn confirm_landed(
    store: &Mutex<Store>,
    id: &str,
    landed: &[(&Entry, String)],
) -> Result<(), TransferError> {
    confirm_same(store, id, landed, true)
}

/// A part of a large file the cluster confirmed.
pub(super) fn confirm_part(
    store: &Mutex<Store>,
    id: &str,
    rel: &str,
    offset: u64,
    len: u64,
) -> Result<(), TransferError> {
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO transfer_parts(transfer_id, rel_path, offset, len) VALUES (?1, ?2, ?3, ?4)",
        params![id, rel, offset as i64, len as i64],
    )?;
    tx.execute(
        "UPDATE transfer_files SET confirmed = confirmed + ?3 WHERE transfer_id = ?1 AND rel_path = ?2",
        params![id, rel, len as i64],
    )?;
    tx.commit()?;
    Ok(())
}

/// The parts of large files the cluster confirmed: `(offset, length)` by file.
pub(super) fn confirmed_parts(
    store: &Mutex<Store>,
    id: &str,
) -> Result<HashMap<String, Vec<(u64, u64)>>, TransferError> {
    let guard = lock(store);
    let mut stmt = guard
        .db
        .prepare("SELECT rel_path, offset, len FROM transfer_parts WHERE transfer_id = ?1")?;
    let mut out: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    for row in stmt.query_map([id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)? as u64,
            r.get::<_, i64>(2)? as u64,
        ))
    })? {
        let (rel, offset, len) = row?;
        out.entry(rel).or_default().push((offset, len));
    }
    Ok(out)
}

/// Drops what the manifest holds of a file (its parts too), so that the next run sends it whole.
pub(super) fn forget(store: &Mutex<Store>, id: &str, rel: &str) -> Result<(), TransferError> {
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    tx.execute(
        "DELETE FROM transfer_parts WHERE transfer_id = ?1 AND rel_path = ?2",
        params![id, rel],
    )?;
    tx.execute(
        "UPDATE transfer_files SET confirmed = 0, sha256 = NULL, verified = 0 WHERE transfer_id = ?1 AND rel_path = ?2",
        params![id, rel],
    )?;
    tx.commit()?;
    Ok(())
}

/// Every transfer, newest first.
pub fn list(store: &Mutex<Store>) -> Result<Vec<Summary>, TransferError> {
    let guard = lock(store);
    let mut stmt = guard.db.prepare(
        "SELECT t.id, t.cluster, t.local_root, t.remote_root, t.state, t.created_at,
                COUNT(f.rel_path), COALESCE(SUM(f.verified), 0), COALESCE(SUM(f.size), 0), COALESCE(SUM(f.confirmed), 0),
                t.owner
         FROM transfers t LEFT JOIN transfer_files f ON f.transfer_id = t.id
         GROUP BY t.id ORDER BY t.id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        let state: String = r.get(4)?;
        let owner: Option<String> = r.get(10)?;
        // Still "running" in the store, but whoever ran it is gone (killed, crashed).
        let state = if state == "running" && owner.as_deref().is_none_or(Owner::is_gone) {
            "interrupted".to_owned()
        } else {
            state
        };
        Ok(Summary {
            id: r.get(0)?,
            cluster: r.get(1)?,
            local_root: r.get(2)?,
            remote_root: r.get(3)?,
            state,
            created_at: r.get(5)?,
            files: r.get::<_, i64>(6)? as usize,
            verified: r.get::<_, i64>(7)? as usize,
            bytes: r.get::<_, i64>(8)? as u64,
            bytes_confirmed: r.get::<_, i64>(9)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The transfer's summary, or an error naming it.
pub fn get(store: &Mutex<Store>, id: &str) -> Result<Summary, TransferError> {
    list(store)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| TransferError::UnknownTransfer(id.to_owned()))
}

pub(super) fn load(
    store: &Mutex<Store>,
    id: &str,
) -> Result<(PathBuf, String, Vec<Entry>), TransferError> {
    let guard = lock(store);
    let (local, remote): (String, String) = guard
        .db
        .query_row(
            "SELECT local_root, remote_root FROM transfers WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|_| TransferError::UnknownTransfer(id.to_owned()))?;
    let mut stmt = guard.db.prepare(
        "SELECT rel_path, size, mtime, confirmed, sha256, verified FROM transfer_files WHERE transfer_id = ?1 ORDER BY rel_path",
    )?;
    let entries = stmt
        .query_map(params![id], |r| {
            Ok(Entry {
                rel: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                mtime: r.get(2)?,
                confirmed: r.get::<_, i64>(3)? as u64,
                sha256: r.get(4)?,
                verified: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((PathBuf::from(local), remote, entries))
}

pub(super) fn cluster_of(store: &Mutex<Store>, id: &str) -> Result<String, TransferError> {
    Ok(lock(store)
        .db
        .query_row("SELECT cluster FROM transfers WHERE id = ?1", [id], |r| {
            r.get(0)
        })?)
}
