//! Uploads over the cluster's one connection: resumable, checksum-verified, fast on huge files
//! (`large`: parts on several channels at once, each hashed by the cluster as it lands) and on
//! many small ones (`small`: tar batches, several at once, no per-file round trip), refused
//! before anything is sent when they would not fit (`room`).
//!
//! Every file is listed in a manifest in the local store before anything is sent; what the
//! cluster confirmed is recorded as it happens, so a dropped link, a cancel or a crash resumes
//! from there. Names reach the cluster only inside tar headers, quoted command arguments or NUL-separated
//! lists on stdin: no remote shell ever interprets a file name.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::owner::Owner;
use crate::ssh::{Connection, SshError, quote};
use crate::store::{Store, lock};

mod large;
pub mod place;
mod room;
mod small;

pub use large::{CHANNELS, PART};

/// Files at least this big travel on their own stream; smaller ones in tar batches.
pub const LARGE_FILE: u64 = 16 << 20;
const CHUNK: usize = 256 << 10;
/// Suffix of a file while it is incomplete on the cluster: a large file being sent, or a small
/// one that a full disk cut short.
pub const PARTIAL_SUFFIX: &str = ".usine-part";

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{}", crate::tr!(
        en: "Not enough room in {}: the upload needs {} MiB and {} leaves only {} MiB. {}",
        fr: "Pas assez de place dans {} : l'envoi demande {} Mio et {} n'en laisse que {}. {}",
        .path, .needed_mib, .limit, .free_mib, .next
    ))]
    NoSpace {
        path: String,
        needed_mib: u64,
        free_mib: u64,
        /// What limits it: `the disk`, `the user alice quota`.
        limit: String,
        /// Where else it would fit, or what to do.
        next: String,
    },
    #[error("{}", crate::tr!(
        en: "The cluster's storage at {} filled up during the upload (its disk or your quota). What was confirmed is kept: free space there and resume, or send it to your scratch or work folder.",
        fr: "Le stockage du cluster à {} s'est rempli pendant l'envoi (son disque ou votre quota). Ce qui a été confirmé est gardé : libérez de la place et reprenez, ou envoyez vers votre dossier scratch ou work.",
        .0
    ))]
    Full(String),
    #[error("{}", crate::tr!(
        en: "{} is not a folder or file Usine can read: {}",
        fr: "{} n'est pas un dossier ou un fichier qu'Usine peut lire : {}",
        .0.display(), .1
    ))]
    Source(PathBuf, String),
    #[error("{}", crate::tr!(
        en: "The cluster refused the upload into {}: {}",
        fr: "Le cluster a refusé l'envoi dans {} : {}",
        .path, .message
    ))]
    Remote { path: String, message: String },
    #[error("{}", crate::tr!(
        en: "The same upload ({}) is already running in another Usine window or command. Wait for it to finish, or stop it there first.",
        fr: "Le même envoi ({}) est déjà en cours dans une autre fenêtre ou commande Usine. Attendez qu'il se termine, ou arrêtez-le d'abord.",
        .0
    ))]
    AlreadyRunning(String),
    #[error("{}", crate::tr!(
        en: "{} has no name of its own to keep: choose the folder inside it that you want to send or bring back.",
        fr: "{} n'a pas de nom propre à garder : choisissez le dossier, à l'intérieur, que vous voulez envoyer ou rapatrier.",
        .0
    ))]
    NoName(String),
    #[error("{}", crate::tr!(
        en: "There is no transfer {} to resume.",
        fr: "Il n'y a pas de transfert {} à reprendre.",
        .0
    ))]
    UnknownTransfer(String),
    #[error("{}", crate::tr!(
        en: "The upload stopped: {}. Nothing already confirmed is lost; resume it when the cluster is reachable again.",
        fr: "L'envoi s'est arrêté : {}. Rien de ce qui était confirmé n'est perdu ; reprenez-le quand le cluster sera de nouveau joignable.",
        .0
    ))]
    Interrupted(SshError),
    #[error("{}", crate::tr!(
        en: "Usine's local database failed: {}",
        fr: "La base de données locale d'Usine a échoué : {}",
        .0
    ))]
    Store(#[from] rusqlite::Error),
}

impl From<SshError> for TransferError {
    fn from(e: SshError) -> Self {
        Self::Interrupted(e)
    }
}

/// A file that could not be sent, and why; the rest of the transfer goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileProblem {
    pub path: String,
    pub problem: String,
}

/// Where an upload stands, reported as it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferProgress")]
pub struct Progress {
    #[ts(type = "number")]
    pub bytes_done: u64,
    #[ts(type = "number")]
    pub bytes_total: u64,
    pub files_done: usize,
    pub files_total: usize,
    pub current: Option<String>,
}

/// The outcome of one run of [`upload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferReport")]
pub struct Report {
    pub transfer_id: String,
    pub files: usize,
    pub verified: usize,
    /// Bytes sent over the network in this run (re-sent bytes after a resume included).
    #[ts(type = "number")]
    pub bytes_sent: u64,
    /// Bytes the cluster already held from an earlier run, not sent again.
    #[ts(type = "number")]
    pub bytes_skipped: u64,
    pub problems: Vec<FileProblem>,
    /// Where the files are now: the folder on the cluster (upload) or here (download).
    pub place: String,
}

/// A file of the manifest.
#[derive(Debug, Clone)]
struct Entry {
    rel: String,
    size: u64,
    mtime: i64,
    confirmed: u64,
    sha256: Option<String>,
    verified: bool,
}

/// How an upload decides that the cluster already holds a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Same size and modification time, like rsync's quick check (fast; the default).
    Quick,
    /// Same size and the same SHA-256 on both sides, whatever the dates (for copies whose
    /// times changed, at the cost of reading both sides).
    Checksum,
}

/// Chooses how the transfer compares files, before it starts.
pub fn set_compare(store: &Mutex<Store>, id: &str, compare: Compare) -> Result<(), TransferError> {
    let value = match compare {
        Compare::Quick => "quick",
        Compare::Checksum => "checksum",
    };
    lock(store).db.execute(
        "UPDATE transfers SET compare = ?2 WHERE id = ?1",
        params![id, value],
    )?;
    Ok(())
}

fn compare_of(store: &Mutex<Store>, id: &str) -> Result<Compare, TransferError> {
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

/// Lists `source` (a file or a folder) and records a new transfer to `remote_root`.
pub fn create(
    store: &Mutex<Store>,
    cluster: &str,
    source: &Path,
    remote_root: &str,
) -> Result<(String, Vec<FileProblem>), TransferError> {
    let source = &crate::local_paths::expand(source);
    let (files, problems) = scan(source)?;
    let id = crate::store::new_id();
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    tx.execute(
        "INSERT INTO transfers(id, cluster, local_root, remote_root, state, owner) VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
        params![id, cluster, source.to_string_lossy(), remote_root, Owner::this_process().as_str()],
    )?;
    for f in &files {
        tx.execute(
            "INSERT INTO transfer_files(transfer_id, rel_path, size, mtime) VALUES (?1, ?2, ?3, ?4)",
            params![id, f.rel, f.size as i64, f.mtime],
        )?;
    }
    tx.commit()?;
    Ok((id, problems))
}

/// An upload ready to run: new, or the unfinished one of the same source and destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "UploadStarted")]
pub struct Started {
    pub id: String,
    /// Where the file or folder lands on the cluster ([`place::on_cluster`]).
    pub place: String,
    /// What cannot be sent (links, unreadable files, odd names).
    pub problems: Vec<FileProblem>,
    /// Set when an unfinished upload of the same source to the same place is continued: what
    /// the cluster had already confirmed of it.
    pub continued: Option<Summary>,
}

/// Starts an upload of `source` into the cluster folder `into` (where it keeps its name:
/// [`place::on_cluster`]), or continues the unfinished one (interrupted,
/// crashed, or ended with problems) of the same source to the same place on the same cluster:
/// running the same command again after a crash resumes instead of sending everything again.
/// Its manifest is brought up to date with the folder as it is now (new files added, changed
/// ones sent again, vanished ones dropped); what the cluster confirmed of unchanged files is
/// kept. An identical upload that is running in another process is refused.
pub fn start(
    store: &Mutex<Store>,
    cluster: &str,
    source: &Path,
    into: &str,
) -> Result<Started, TransferError> {
    let place = place::on_cluster(source, into)?;
    let source = crate::local_paths::expand(source);
    let source = std::path::absolute(&source).unwrap_or(source);
    // A folder's files are listed relative to itself; a single file's by its own name.
    let remote_root = if source.is_file() {
        match place.rsplit_once('/') {
            Some(("", _)) => "/",
            Some((folder, _)) => folder,
            None => "",
        }
    } else {
        place.as_str()
    };
    let earlier: Option<(String, String, Option<String>)> = lock(store)
        .db
        .query_row(
            "SELECT id, state, owner FROM transfers
             WHERE cluster = ?1 AND local_root = ?2 AND remote_root = ?3 AND state != 'done'
             ORDER BY id DESC LIMIT 1",
            params![cluster, source.to_string_lossy(), remote_root],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, state, owner)) = earlier else {
        let (id, problems) = create(store, cluster, &source, remote_root)?;
        return Ok(Started {
            id,
            place,
            problems,
            continued: None,
        });
    };
    // Running in another live process: refused. This process's own (an app's paused upload)
    // is its to coordinate.
    if state == "running"
        && owner
            .as_deref()
            .is_some_and(|o| !Owner::is_gone(o) && !Owner::is_this_process(o))
    {
        return Err(TransferError::AlreadyRunning(id));
    }
    let (files, problems) = scan(&source)?;
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    {
        let mut upsert = tx.prepare(
            "INSERT INTO transfer_files(transfer_id, rel_path, size, mtime) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(transfer_id, rel_path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                 confirmed = 0, sha256 = NULL, verified = 0
             WHERE size != excluded.size OR mtime != excluded.mtime",
        )?;
        for f in &files {
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
    drop(guard);
    let continued = get(store, &id)?;
    Ok(Started {
        id,
        place,
        problems,
        continued: Some(continued),
    })
}

/// Sends what the cluster does not hold yet, each file verified against the cluster's own
/// SHA-256 as it lands (files skipped as unchanged are verified at the end). Call it again with
/// the same id after an interruption: it continues from the manifest.
pub async fn upload(
    conn: &Connection,
    store: &Mutex<Store>,
    transfer_id: &str,
    on_progress: impl FnMut(&Progress),
) -> Result<Report, TransferError> {
    let owner = Owner::this_process();
    lock(store).db.execute(
        "UPDATE transfers SET state = 'running', owner = ?2 WHERE id = ?1",
        params![transfer_id, owner.as_str()],
    )?;
    let result = upload_once(conn, store, transfer_id, on_progress).await;
    // Whatever happened, the transfer no longer says "running": a refusal (no room, a folder
    // that cannot be created) is failed, a dropped link interrupted, both resumable.
    let state = match &result {
        Ok(report) if report.problems.is_empty() => "done",
        Err(TransferError::Interrupted(_)) => "interrupted",
        _ => "failed",
    };
    lock(store).db.execute(
        "UPDATE transfers SET state = ?2, owner = NULL WHERE id = ?1",
        params![transfer_id, state],
    )?;
    result
}

async fn upload_once(
    conn: &Connection,
    store: &Mutex<Store>,
    transfer_id: &str,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Report, TransferError> {
    let (local_root, remote_root, entries) = load(store, transfer_id)?;
    // `~/data` means the cluster's home, as for scp (quoted, it would be a folder named `~`).
    let remote_root = crate::ssh::expand_home(conn, &remote_root).await?;
    // Two questions to the cluster at once: what it already holds, and how much room it has.
    let (changed, room) = tokio::join!(
        skip_unchanged(
            conn,
            store,
            transfer_id,
            &local_root,
            &remote_root,
            &entries,
        ),
        room::measure(conn, &remote_root)
    );
    let room = room?;
    let entries = if changed? {
        load(store, transfer_id)?.2
    } else {
        entries
    };
    let bytes_total = entries.iter().map(|e| e.size).sum();
    let already: u64 = entries.iter().map(|e| e.confirmed).sum();
    let mut progress = Progress {
        bytes_done: already,
        bytes_total,
        files_done: entries
            .iter()
            .filter(|e| e.verified || (e.confirmed == e.size && e.sha256.is_some()))
            .count(),
        files_total: entries.len(),
        current: None,
    };
    on_progress(&progress);

    let needed = bytes_total - already;
    room::check(&room, needed, &remote_root, || {
        cluster_of(store, transfer_id)
            .map(|cluster| room::elsewhere(store, &cluster, needed))
            .unwrap_or_default()
    })?;

    let mut report = Report {
        transfer_id: transfer_id.to_owned(),
        files: entries.len(),
        verified: 0,
        bytes_sent: 0,
        bytes_skipped: already,
        problems: Vec::new(),
        place: remote_root.clone(),
    };
    let single_file = local_root.is_file();
    let source_of = |rel: &str| {
        if single_file {
            local_root.clone()
        } else {
            local_root.join(rel)
        }
    };

    // Large files first, in parts on several channels at once.
    let pending: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.verified && (e.confirmed < e.size || e.sha256.is_none()))
        .collect();
    let (large, small): (Vec<&Entry>, Vec<&Entry>) =
        pending.into_iter().partition(|e| e.size >= LARGE_FILE);
    let large: Vec<large::LargeFile> = large
        .into_iter()
        .map(|entry| large::LargeFile {
            entry,
            source: source_of(&entry.rel),
        })
        .collect();
    let sent = large::send(
        conn,
        store,
        transfer_id,
        &remote_root,
        &large,
        &mut progress,
        &mut on_progress,
    )
    .await?;
    report.bytes_sent += sent.sent;
    report.bytes_skipped -= sent.forgotten.min(report.bytes_skipped);
    report.problems.extend(sent.problems);

    // Small files in tar batches, verified as they land.
    let sent = small::send(
        conn,
        store,
        transfer_id,
        &small::Source {
            root: &local_root,
            single_file,
        },
        &remote_root,
        &small,
        &mut progress,
        &mut on_progress,
    )
    .await?;
    report.bytes_sent += sent.sent;
    report.problems.extend(sent.problems);

    // Verify everything against the cluster's own checksums.
    progress.current = None;
    let (_, _, entries) = load(store, transfer_id)?;
    let unverified: Vec<&Entry> = entries.iter().filter(|e| !e.verified).collect();
    let remote = remote_sha256(
        conn,
        &remote_root,
        &unverified
            .iter()
            .map(|e| e.rel.as_str())
            .collect::<Vec<_>>(),
    )
    .await?;
    let problem_paths: Vec<String> = report.problems.iter().map(|p| p.path.clone()).collect();
    report.verified = entries.len() - unverified.len();
    for entry in unverified {
        if problem_paths.contains(&entry.rel) {
            continue;
        }
        match (&entry.sha256, remote.get(&entry.rel)) {
            (Some(local), Some(theirs)) if local == theirs => {
                report.verified += 1;
                lock(store).db.execute(
                    "UPDATE transfer_files SET verified = 1 WHERE transfer_id = ?1 AND rel_path = ?2",
                    params![transfer_id, entry.rel],
                )?;
            }
            (_, None) => report.problems.push(FileProblem {
                path: entry.rel.clone(),
                problem: crate::tr!(en: "missing on the cluster after the upload", fr: "absent du cluster après l'envoi"),
            }),
            _ => {
                // Forget what was confirmed, so that the next run sends it again.
                lock(store).db.execute(
                    "UPDATE transfer_files SET confirmed = 0, sha256 = NULL WHERE transfer_id = ?1 AND rel_path = ?2",
                    params![transfer_id, entry.rel],
                )?;
                report.problems.push(FileProblem {
                    path: entry.rel.clone(),
                    problem: crate::tr!(en: "its checksum on the cluster differs (the file changed while it was sent?); resume to send it again", fr: "sa somme de contrôle sur le cluster diffère (le fichier a-t-il changé pendant l'envoi ?) ; reprenez pour le renvoyer"),
                });
            }
        }
    }
    Ok(report)
}

/// Starts (or continues: [`start`]) an upload of `source` into the cluster folder `into`,
/// comparing files as `compare` says: the one way the app and the CLI begin an upload.
pub fn begin(
    store: &Mutex<Store>,
    cluster: &str,
    source: &Path,
    into: &str,
    compare: Compare,
) -> Result<Started, TransferError> {
    let started = start(store, cluster, source, into)?;
    if compare == Compare::Checksum {
        set_compare(store, &started.id, compare)?;
    }
    for p in &started.problems {
        tracing::info!(path = %p.path, problem = %p.problem, "not sent");
    }
    Ok(started)
}

/// Runs the recorded upload `transfer_id` to its cluster over the shared connection,
/// reconnecting and resuming by itself ([`upload_resuming`] with the default policy).
pub async fn run(
    connections: &crate::cluster::Connections,
    store: &Mutex<Store>,
    transfer_id: &str,
    questions: crate::ssh::Questions,
    on_progress: impl FnMut(&Progress),
    on_state: impl FnMut(crate::ssh::ConnectionState),
) -> Result<Report, ClusterTransferError> {
    let cluster = get(store, transfer_id)?.cluster;
    let settings = crate::cluster::get(&lock(store), &cluster)?;
    let policy = crate::cluster::ReconnectPolicy::default();
    upload_resuming(
        connections,
        &settings,
        questions,
        store,
        transfer_id,
        &policy,
        on_progress,
        on_state,
    )
    .await
}

/// Uploads and, when the link drops, reconnects by itself (never asking for a code) and resumes,
/// within `policy`. Questions for the first login go to `questions`.
#[allow(clippy::too_many_arguments)]
pub async fn upload_resuming(
    connections: &crate::cluster::Connections,
    settings: &crate::cluster::ClusterSettings,
    questions: crate::ssh::Questions,
    store: &Mutex<Store>,
    transfer_id: &str,
    policy: &crate::cluster::ReconnectPolicy,
    mut on_progress: impl FnMut(&Progress),
    mut on_state: impl FnMut(crate::ssh::ConnectionState),
) -> Result<Report, ClusterTransferError> {
    let mut conn = connections.get(settings, questions).await?;
    loop {
        // The report describes the last run, the one that finished.
        match upload(&conn, store, transfer_id, &mut on_progress).await {
            Ok(report) => return Ok(report),
            Err(TransferError::Interrupted(e)) => {
                tracing::info!(error = %e, "upload interrupted; reconnecting");
                conn = connections
                    .reconnect_quietly(settings, policy, &mut on_state)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What a transfer over a cluster's connection can end with: the transfer's trouble, or the
/// cluster's (unknown, unreachable, login refused).
#[derive(Debug, thiserror::Error)]
pub enum ClusterTransferError {
    #[error(transparent)]
    Transfer(#[from] TransferError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// One line of the transfer history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferSummary")]
pub struct Summary {
    pub id: String,
    pub cluster: String,
    pub local_root: String,
    pub remote_root: String,
    /// `running`, `done`, `failed`, or `interrupted` (the link dropped, or the process that
    /// ran it died); the last two can be resumed.
    pub state: String,
    pub created_at: String,
    pub files: usize,
    pub verified: usize,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub bytes_confirmed: u64,
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

fn load(store: &Mutex<Store>, id: &str) -> Result<(PathBuf, String, Vec<Entry>), TransferError> {
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

fn cluster_of(store: &Mutex<Store>, id: &str) -> Result<String, TransferError> {
    Ok(lock(store)
        .db
        .query_row("SELECT cluster FROM transfers WHERE id = ?1", [id], |r| {
            r.get(0)
        })?)
}

/// The files under `source` (or `source` itself), with what cannot be sent reported.
fn scan(source: &Path) -> Result<(Vec<Entry>, Vec<FileProblem>), TransferError> {
    let meta = std::fs::metadata(source)
        .map_err(|e| TransferError::Source(source.to_owned(), e.to_string()))?;
    if meta.is_file() {
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((
            vec![Entry {
                rel: name,
                size: meta.len(),
                mtime: mtime_of(&meta),
                confirmed: 0,
                sha256: None,
                verified: false,
            }],
            vec![],
        ));
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    // Symbolic links are not followed: a loop or a link out of the folder cannot drag in more.
    for item in walkdir::WalkDir::new(source)
        .follow_links(false)
        .sort_by_file_name()
    {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                problems.push(FileProblem {
                    path,
                    problem: crate::tr!(en: "cannot be read: {e}", fr: "illisible : {e}"),
                });
                continue;
            }
        };
        let rel_path = item.path().strip_prefix(source).unwrap_or(item.path());
        let Some(rel) = rel_path.to_str().map(str::to_owned) else {
            problems.push(FileProblem {
                path: rel_path.to_string_lossy().into_owned(),
                problem: crate::tr!(en: "its name is not valid text (UTF-8); rename it to send it", fr: "son nom n'est pas du texte valide (UTF-8) ; renommez-le pour l'envoyer"),
            });
            continue;
        };
        if item.path_is_symlink() {
            problems.push(FileProblem {
                path: rel,
                problem: crate::tr!(en: "a symbolic link; not followed, not sent", fr: "un lien symbolique ; ni suivi, ni envoyé"),
            });
            continue;
        }
        if !item.file_type().is_file() {
            continue;
        }
        // Only plain names below the folder reach the cluster.
        if !rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            problems.push(FileProblem {
                path: rel,
                problem: crate::tr!(en: "its path leaves the chosen folder", fr: "son chemin sort du dossier choisi"),
            });
            continue;
        }
        match item.metadata() {
            Ok(m) => files.push(Entry {
                rel,
                size: m.len(),
                mtime: mtime_of(&m),
                confirmed: 0,
                sha256: None,
                verified: false,
            }),
            Err(e) => problems.push(FileProblem {
                path: rel,
                problem: crate::tr!(en: "cannot be read: {e}", fr: "illisible : {e}"),
            }),
        }
    }
    Ok((files, problems))
}

/// Modification time in whole seconds since the epoch (0 when the system cannot tell).
fn mtime_of(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// Like rsync's quick check: a file the cluster already has with the same size and modification
/// time is not sent again (it is still hashed here, and verified against the cluster below).
/// Returns whether the manifest changed.
async fn skip_unchanged(
    conn: &Connection,
    store: &Mutex<Store>,
    id: &str,
    local_root: &Path,
    remote_root: &str,
    entries: &[Entry],
) -> Result<bool, TransferError> {
    let fresh: Vec<&Entry> = entries.iter().filter(|e| e.confirmed == 0).collect();
    if fresh.is_empty() {
        return Ok(false);
    }
    let rx = nul_separated(fresh.iter().map(|e| e.rel.as_str()));
    let script = format!(
        "cd -- {} 2>/dev/null || exit 0; xargs -0 -r stat --printf '%s %Y %n\\0' -- 2>/dev/null; exit 0",
        quote(remote_root)
    );
    let out = conn.exec_with_input(&script, rx).await?;
    let remote: HashMap<&str, (u64, i64)> = out
        .stdout
        .split(|&b| b == 0)
        .filter_map(|rec| {
            let text = std::str::from_utf8(rec).ok()?;
            let mut parts = text.splitn(3, ' ');
            let size = parts.next()?.parse().ok()?;
            let mtime = parts.next()?.parse().ok()?;
            Some((parts.next()?, (size, mtime)))
        })
        .collect();
    let single_file = local_root.is_file();
    let local_path = |e: &Entry| {
        if single_file {
            local_root.to_owned()
        } else {
            local_root.join(&e.rel)
        }
    };
    let by_checksum = compare_of(store, id)? == Compare::Checksum;
    let mut same = Vec::new();
    if by_checksum {
        // Same size on the cluster: compare contents, whatever the dates say.
        let sized: Vec<&Entry> = fresh
            .into_iter()
            .filter(|e| remote.get(e.rel.as_str()).is_some_and(|r| r.0 == e.size))
            .collect();
        let theirs = remote_sha256(
            conn,
            remote_root,
            &sized.iter().map(|e| e.rel.as_str()).collect::<Vec<_>>(),
        )
        .await?;
        for e in sized {
            if let Ok(digest) = sha256_of(&local_path(e))
                && theirs.get(&e.rel) == Some(&digest)
            {
                same.push((e, digest));
            }
        }
    } else {
        for e in fresh {
            if remote.get(e.rel.as_str()) == Some(&(e.size, e.mtime))
                && let Ok(digest) = sha256_of(&local_path(e))
            {
                same.push((e, digest));
            }
        }
    }
    if same.is_empty() {
        return Ok(false);
    }
    let mut guard = lock(store);
    let tx = guard.db.transaction()?;
    for (e, digest) in same {
        // Compared by checksum: already verified against the cluster's own sha256sum.
        tx.execute(
            "UPDATE transfer_files SET confirmed = ?3, sha256 = ?4, verified = ?5 WHERE transfer_id = ?1 AND rel_path = ?2",
            params![id, e.rel, e.size as i64, digest, by_checksum],
        )?;
    }
    tx.commit()?;
    Ok(true)
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(
        &mut std::fs::File::open(path)?,
        &mut HashWriter(&mut hasher),
    )?;
    Ok(hex(&hasher.finalize()))
}

/// Feeds everything written into a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.update(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `sha256sum` of every file, computed by the cluster. Names go on stdin, NUL-separated.
async fn remote_sha256(
    conn: &Connection,
    remote_root: &str,
    rels: &[&str],
) -> Result<HashMap<String, String>, TransferError> {
    if rels.is_empty() {
        return Ok(HashMap::new()); // nothing to ask: spare the round trip
    }
    let rx = nul_separated(rels.iter().copied());
    let command = format!(
        "cd -- {} && xargs -0 -r sha256sum --zero --",
        quote(remote_root)
    );
    let out = conn.exec_with_input(&command, rx).await?;
    // Records are "HASH  NAME\0" (no escaping with --zero).
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter_map(|rec| {
            let text = std::str::from_utf8(rec).ok()?;
            let (hash, name) = text.split_once("  ")?;
            Some((name.to_owned(), hash.to_owned()))
        })
        .collect())
}

/// A stdin for `xargs -0` or `tar --null -T -`: the names, each NUL-terminated, so that no name
/// is ever split, quoted or interpreted.
pub(crate) fn nul_separated<'a>(
    names: impl Iterator<Item = &'a str>,
) -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let list: Vec<u8> = names
        .flat_map(|n| n.bytes().chain(std::iter::once(0)))
        .collect();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    // Capacity 1 and nothing sent yet: this cannot fail. Dropping `tx` ends stdin.
    let _ = tx.try_send(list);
    rx
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_lists_plain_files_and_reports_links_and_odd_names() {
        let dir = std::env::temp_dir().join(format!("usine-scan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a b.txt"), "x").unwrap();
        std::fs::write(dir.join("sub").join("-rf"), "yy").unwrap();
        std::fs::write(dir.join("new\nline"), "z").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
        let (files, problems) = scan(&dir).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(names, ["a b.txt", "new\nline", "sub/-rf"]);
        assert_eq!(files[2].size, 2);
        #[cfg(unix)]
        assert!(
            problems
                .iter()
                .any(|p| p.path == "loop" && p.problem.contains("symbolic link"))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
