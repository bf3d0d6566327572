//! The transfer manifest in the store: each transfer, the files it lists, and what the cluster
//! confirmed of each (whole files, large files' parts, checksums). Every SQL statement about
//! transfers is here; the orchestration (`mod.rs`) and the engines (`large`, `small`) call these
//! between their network steps. Each change is one transaction, so a crash leaves the manifest
//! as it was after the last confirmed step.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{OptionalExtension, params};

use super::{
    Compare, Direction, Entry, FileLine, FileProblem, FileState, FilesPage, State, Summary,
    TransferError,
};
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

/// Records a new transfer between `local_root` and `remote_root` with its files; its id.
pub(crate) fn insert(
    store: &Mutex<Store>,
    cluster: &str,
    direction: Direction,
    local_root: &Path,
    picked: Option<&[String]>,
    remote_root: &str,
    files: &[Entry],
) -> Result<String, TransferError> {
    let id = crate::store::new_id();
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    tx.execute(
        "INSERT INTO transfers(id, cluster, local_root, remote_root, state, owner, direction, picked) VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7)",
        params![id, cluster, local_root.to_string_lossy(), remote_root, Owner::this_process().as_str(), direction.as_str(), picked_json(picked)],
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

/// `picked` as stored: a JSON array, or NULL for the whole of `local_root`.
fn picked_json(picked: Option<&[String]>) -> Option<String> {
    picked.map(|names| serde_json::Value::from(names).to_string())
}

/// The last unfinished transfer between the same two places (and of the same picked items),
/// the same way: its id, state and owner. A cancelled one is not continued.
pub(crate) fn unfinished(
    store: &Mutex<Store>,
    cluster: &str,
    direction: Direction,
    local_root: &Path,
    picked: Option<&[String]>,
    remote_root: &str,
) -> Result<Option<(String, State, Option<String>)>, TransferError> {
    Ok(lock(store)
        .db
        .query_row(
            "SELECT id, state, owner FROM transfers
             WHERE cluster = ?1 AND local_root = ?2 AND remote_root = ?3 AND direction = ?4
                 AND picked IS ?5 AND state NOT IN ('done', 'cancelled')
             ORDER BY id DESC LIMIT 1",
            params![
                cluster,
                local_root.to_string_lossy(),
                remote_root,
                direction.as_str(),
                picked_json(picked)
            ],
            |r| Ok((r.get(0)?, State::parse(&r.get::<_, String>(1)?), r.get(2)?)),
        )
        .optional()?)
}

/// Brings a transfer's file list up to date with the folder as it is now: new files added,
/// changed ones to be sent again, vanished ones dropped; what the cluster confirmed of
/// unchanged files is kept.
pub(crate) fn refresh_files(
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
pub(crate) fn set_running(
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

/// The transfer stopped, as `state` says.
pub(crate) fn set_ended(store: &Mutex<Store>, id: &str, state: State) -> Result<(), TransferError> {
    execute(
        store,
        "UPDATE transfers SET state = ?2, owner = NULL WHERE id = ?1",
        params![id, state.as_str()],
    )
}

/// What went wrong file by file in the last run (the problems of earlier runs are forgotten:
/// a file that came this time is no longer a problem).
pub(crate) fn record_problems(
    store: &Mutex<Store>,
    id: &str,
    problems: &[FileProblem],
) -> Result<(), TransferError> {
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    tx.execute(
        "UPDATE transfer_files SET problem = NULL WHERE transfer_id = ?1 AND problem IS NOT NULL",
        [id],
    )?;
    {
        let mut set = tx.prepare(
            "UPDATE transfer_files SET problem = ?3 WHERE transfer_id = ?1 AND rel_path = ?2",
        )?;
        for p in problems {
            set.execute(params![id, p.path, p.problem])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Files this transfer wrote on the other side (a download's, as they land here).
pub(crate) fn mark_sent<'a>(
    store: &Mutex<Store>,
    id: &str,
    rels: impl Iterator<Item = &'a str>,
) -> Result<(), TransferError> {
    set_each(store, id, "sent = 1", rels)
}

/// Files that arrived whole and checked (a download's, at the end of a run).
pub(crate) fn mark_verified<'a>(
    store: &Mutex<Store>,
    id: &str,
    rels: impl Iterator<Item = &'a str>,
) -> Result<(), TransferError> {
    set_each(store, id, "verified = 1, confirmed = size", rels)
}

/// `SET change` on each of the files `rels` of transfer `id`, in one transaction.
fn set_each<'a>(
    store: &Mutex<Store>,
    id: &str,
    change: &str,
    rels: impl Iterator<Item = &'a str>,
) -> Result<(), TransferError> {
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    {
        let mut set = tx.prepare(&format!(
            "UPDATE transfer_files SET {change} WHERE transfer_id = ?1 AND rel_path = ?2"
        ))?;
        for rel in rels {
            set.execute(params![id, rel])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// What "cancel and delete" works from: the transfer's direction and two roots, the files it
/// wrote on the other side, and every file it lists (their partial copies are Usine's own).
pub(crate) struct Written {
    pub direction: Direction,
    pub local_root: PathBuf,
    pub remote_root: String,
    pub sent: Vec<(String, u64)>,
    pub listed: Vec<String>,
}

pub(crate) fn written(store: &Mutex<Store>, id: &str) -> Result<Written, TransferError> {
    let guard = lock(store);
    let (local, remote, direction): (String, String, String) = guard
        .db
        .query_row(
            "SELECT local_root, remote_root, direction FROM transfers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| TransferError::UnknownTransfer(id.to_owned()))?;
    let mut stmt = guard.db.prepare(
        "SELECT rel_path, size, sent FROM transfer_files WHERE transfer_id = ?1 ORDER BY rel_path",
    )?;
    let mut out = Written {
        direction: Direction::parse(&direction),
        local_root: PathBuf::from(local),
        remote_root: remote,
        sent: Vec::new(),
        listed: Vec::new(),
    };
    for row in stmt.query_map([id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)? as u64,
            r.get::<_, bool>(2)?,
        ))
    })? {
        let (rel, size, sent) = row?;
        if sent {
            out.sent.push((rel.clone(), size));
        }
        out.listed.push(rel);
    }
    Ok(out)
}

/// A page of the transfer's files for its report: problems first, then by path.
pub fn files(
    store: &Mutex<Store>,
    id: &str,
    offset: usize,
    limit: usize,
) -> Result<FilesPage, TransferError> {
    get(store, id)?; // an unknown transfer is said, not an empty page
    let guard = lock(store);
    let (total, problems): (i64, i64) = guard.db.query_row(
        "SELECT COUNT(*), COUNT(problem) FROM transfer_files WHERE transfer_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt = guard.db.prepare(
        "SELECT rel_path, size, confirmed, verified, sent, problem FROM transfer_files
         WHERE transfer_id = ?1 ORDER BY problem IS NULL, rel_path LIMIT ?2 OFFSET ?3",
    )?;
    let files = stmt
        .query_map(params![id, limit as i64, offset as i64], |r| {
            let size = r.get::<_, i64>(1)? as u64;
            let done = r.get::<_, i64>(2)? as u64;
            let problem: Option<String> = r.get(5)?;
            let state = match (r.get::<_, bool>(3)?, r.get::<_, bool>(4)?) {
                _ if problem.is_some() => FileState::Problem,
                (true, true) => FileState::Verified,
                (true, false) => FileState::AlreadyThere,
                _ if done > 0 => FileState::Partly,
                _ => FileState::Waiting,
            };
            // As a person reads it: bytes that are not text as \xNN, a newline as \n.
            let carried: String = r.get(0)?;
            Ok(FileLine {
                path: crate::cluster_files::names::shown(&crate::cluster_files::names::decode(
                    &carried,
                )),
                size,
                done: done.min(size),
                state,
                problem,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(FilesPage {
        total: total as usize,
        problems: problems as usize,
        files,
    })
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
        FileNews::Whole => "confirmed = size, verified = 1, sent = 1",
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
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    for (e, digest) in landed {
        tx.execute(
            "UPDATE transfer_files SET confirmed = ?3, sha256 = ?4, verified = 1, sent = 1 WHERE transfer_id = ?1 AND rel_path = ?2",
            params![id, e.rel, e.size as i64, digest],
        )?;
    }
    tx.commit()?;
    Ok(())
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
        "UPDATE transfer_files SET confirmed = confirmed + ?3, sent = 1 WHERE transfer_id = ?1 AND rel_path = ?2",
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
                t.owner, t.direction, COALESCE(json_array_length(t.picked), 0)
         FROM transfers t LEFT JOIN transfer_files f ON f.transfer_id = t.id
         GROUP BY t.id ORDER BY t.id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        let state = State::parse(&r.get::<_, String>(4)?);
        let owner: Option<String> = r.get(10)?;
        // Still "running" in the store, but whoever ran it is gone (killed, crashed).
        let state = if state == State::Running && owner.as_deref().is_none_or(Owner::is_gone) {
            State::Interrupted
        } else {
            state
        };
        Ok(Summary {
            id: r.get(0)?,
            cluster: r.get(1)?,
            direction: Direction::parse(&r.get::<_, String>(11)?),
            local_root: r.get(2)?,
            remote_root: r.get(3)?,
            state,
            created_at: r.get(5)?,
            files: r.get::<_, i64>(6)? as usize,
            verified: r.get::<_, i64>(7)? as usize,
            bytes: r.get::<_, i64>(8)? as u64,
            bytes_confirmed: r.get::<_, i64>(9)? as u64,
            picked: r.get::<_, i64>(12)? as usize,
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

pub(crate) fn load(
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

/// The process running the transfer, if any.
pub(super) fn owner_of(store: &Mutex<Store>, id: &str) -> Result<Option<String>, TransferError> {
    Ok(lock(store)
        .db
        .query_row("SELECT owner FROM transfers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten())
}

pub(super) fn cluster_of(store: &Mutex<Store>, id: &str) -> Result<String, TransferError> {
    Ok(lock(store)
        .db
        .query_row("SELECT cluster FROM transfers WHERE id = ?1", [id], |r| {
            r.get(0)
        })?)
}
