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
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use ts_rs::TS;

use crate::cluster_files::names;
use crate::owner::Owner;
use crate::ssh::{Connection, SshError, quote};
use crate::store::{Store, lock};

pub(crate) mod checksums;
mod large;
mod manifest;
pub mod place;
pub(crate) mod room;
mod scan;
mod small;
mod stop;

pub use large::{CHANNELS, PART};
use manifest::FileNews;
pub use manifest::{files, get, list, set_compare};
pub(crate) use manifest::{
    insert, load, mark_sent, mark_verified, record_problems, refresh_files, set_ended, set_running,
    unfinished,
};
use scan::mtime_of;
pub(crate) use scan::{hex, sha256_of};
pub use stop::{Cancelled, cancel, pause};

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
        en: "The job {} names no output folder and runs in your home folder, which holds far more than its results: add its output folder to the job (Outputs), or bring a folder back from the Data screen.",
        fr: "Le job {} n'indique aucun dossier de sortie et tourne dans votre dossier personnel, qui contient bien plus que ses résultats : ajoutez son dossier de sortie au job (Sorties), ou rapatriez un dossier depuis l'écran Données.",
        .0
    ))]
    NoOutputs(String),
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
pub(crate) struct Entry {
    pub(crate) rel: String,
    pub(crate) size: u64,
    pub(crate) mtime: i64,
    pub(crate) confirmed: u64,
    pub(crate) sha256: Option<String>,
    pub(crate) verified: bool,
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

impl Compare {
    /// The person's choice: "compare contents" (checksums) or the quick size-and-time check.
    pub fn by_checksum(checksum: bool) -> Self {
        if checksum {
            Self::Checksum
        } else {
            Self::Quick
        }
    }
}

/// Lists `source` (a file or a folder) and records a new transfer to `remote_root`.
pub fn create(
    store: &Mutex<Store>,
    cluster: &str,
    source: &Path,
    remote_root: &str,
) -> Result<(String, Vec<FileProblem>), TransferError> {
    let source = &crate::local_paths::expand(source);
    let (files, problems) = scan::scan(source)?;
    let id = manifest::insert(
        store,
        cluster,
        Direction::Up,
        source,
        None,
        remote_root,
        &files,
    )?;
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
        place::folder_of(&place)
    } else {
        place.as_str()
    };
    resume_or_create(store, cluster, &source, None, remote_root, place.clone())
}

/// The unfinished upload of the same items to the same place, brought up to date, or a new one.
fn resume_or_create(
    store: &Mutex<Store>,
    cluster: &str,
    local_root: &Path,
    picked: Option<&[String]>,
    remote_root: &str,
    place: String,
) -> Result<Started, TransferError> {
    let list = || match picked {
        Some(names) => scan::picked(local_root, names),
        None => scan::scan(local_root),
    };
    let earlier = manifest::unfinished(
        store,
        cluster,
        Direction::Up,
        local_root,
        picked,
        remote_root,
    )?;
    let Some((id, state, owner)) = earlier else {
        let (files, problems) = list()?;
        let id = manifest::insert(
            store,
            cluster,
            Direction::Up,
            local_root,
            picked,
            remote_root,
            &files,
        )?;
        return Ok(Started {
            id,
            place,
            problems,
            continued: None,
        });
    };
    if running_elsewhere(state, owner.as_deref()) {
        return Err(TransferError::AlreadyRunning(id));
    }
    let (files, problems) = list()?;
    manifest::refresh_files(store, &id, &files)?;
    let continued = get(store, &id)?;
    Ok(Started {
        id,
        place,
        problems,
        continued: Some(continued),
    })
}

/// Starts uploads of files and folders picked or dropped together into the cluster folder
/// `into`, each keeping its name there. Those of one folder here travel as one transfer (a drop
/// of 100,000 files is one transfer, listed once, not 100,000); a lone one is [`begin`]'s.
pub fn begin_many(
    store: &Mutex<Store>,
    cluster: &str,
    sources: &[PathBuf],
    into: &str,
    compare: Compare,
) -> Result<Vec<Started>, TransferError> {
    let mut by_folder: std::collections::BTreeMap<PathBuf, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for source in sources {
        let (folder, name) = place::folder_and_name(source)?;
        by_folder.entry(folder).or_default().insert(name);
    }
    let mut started = Vec::new();
    for (folder, names) in by_folder {
        let names: Vec<String> = names.into_iter().collect();
        let one = match names.as_slice() {
            [name] => begin(
                store,
                cluster,
                &folder.join(names::here(name)),
                into,
                compare,
            )?,
            _ => {
                // Where each lands is the one rule's; they share its folder.
                let place = place::on_cluster(&folder.join(names::here(&names[0])), into)?;
                let remote_root = place::folder_of(&place).to_owned();
                let started = resume_or_create(
                    store,
                    cluster,
                    &folder,
                    Some(&names),
                    &remote_root,
                    remote_root.clone(),
                )?;
                if compare == Compare::Checksum {
                    set_compare(store, &started.id, compare)?;
                }
                started
            }
        };
        started.push(one);
    }
    Ok(started)
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
    manifest::set_running(store, transfer_id, &Owner::this_process())?;
    let result = upload_once(conn, store, transfer_id, on_progress).await;
    // Whatever happened, the transfer no longer says "running": a refusal (no room, a folder
    // that cannot be created) is failed, a dropped link interrupted, both resumable.
    let state = State::after(&result, |r: &Report| r.problems.is_empty());
    if let Ok(report) = &result {
        manifest::record_problems(store, transfer_id, &report.problems)?;
    }
    manifest::set_ended(store, transfer_id, state)?;
    result
}

async fn upload_once(
    conn: &Connection,
    store: &Mutex<Store>,
    transfer_id: &str,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Report, TransferError> {
    let (local_root, remote_root, entries) = manifest::load(store, transfer_id)?;
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
        manifest::load(store, transfer_id)?.2
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
        manifest::cluster_of(store, transfer_id)
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
            names::under(&local_root, rel)
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
    let (_, _, entries) = manifest::load(store, transfer_id)?;
    let unverified: Vec<&Entry> = entries.iter().filter(|e| !e.verified).collect();
    let remote = checksums::of_files(
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
                manifest::record(store, transfer_id, &entry.rel, FileNews::Verified)?;
            }
            (_, None) => report.problems.push(FileProblem {
                path: entry.rel.clone(),
                problem: crate::tr!(en: "missing on the cluster after the upload", fr: "absent du cluster après l'envoi"),
            }),
            _ => {
                // Forget what was confirmed, so that the next run sends it again.
                manifest::record(store, transfer_id, &entry.rel, FileNews::Unconfirmed)?;
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

/// Which way a transfer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferDirection")]
pub enum Direction {
    /// From this computer to the cluster.
    Up,
    /// From the cluster to this computer.
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "down" { Self::Down } else { Self::Up }
    }
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferState")]
pub enum State {
    Running,
    /// Stopped by the user; resumes where it stopped.
    Paused,
    /// The link dropped, or the process that ran it died; resumes where it stopped.
    Interrupted,
    /// Refused (no room, a folder that cannot be made) or ended with problems; can be resumed.
    Failed,
    Done,
    /// Stopped for good by the user (what was sent may have been deleted); not resumed.
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Interrupted => "interrupted",
            Self::Failed => "failed",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "running" => Self::Running,
            "paused" => Self::Paused,
            "interrupted" => Self::Interrupted,
            "done" => Self::Done,
            "cancelled" => Self::Cancelled,
            _ => Self::Failed,
        }
    }

    /// Whether running it again continues it.
    pub fn resumable(self) -> bool {
        matches!(self, Self::Paused | Self::Interrupted | Self::Failed)
    }

    /// How a run of a transfer left it.
    pub(crate) fn after<T>(result: &Result<T, TransferError>, clean: impl Fn(&T) -> bool) -> Self {
        match result {
            Ok(report) if clean(report) => Self::Done,
            Err(TransferError::Interrupted(_)) => Self::Interrupted,
            _ => Self::Failed,
        }
    }
}

/// Whether a transfer in `state` run by `owner` is running in another live process: that
/// process's to continue or stop. This process's own (an app's task) it coordinates itself.
pub(crate) fn running_elsewhere(state: State, owner: Option<&str>) -> bool {
    state == State::Running
        && owner.is_some_and(|o| !Owner::is_gone(o) && !Owner::is_this_process(o))
}

/// One line of the transfer history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferSummary")]
pub struct Summary {
    pub id: String,
    pub cluster: String,
    pub direction: Direction,
    /// This computer's side: the file or folder sent (up), the folder chosen to receive (down),
    /// or the folder whose items were picked together (up, `picked` > 0).
    pub local_root: String,
    /// How many items of `local_root` were picked or dropped together; 0: all of it.
    pub picked: usize,
    /// The cluster's side: the folder files go into (up), the file or folder brought back (down).
    pub remote_root: String,
    pub state: State,
    pub created_at: String,
    pub files: usize,
    pub verified: usize,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub bytes_confirmed: u64,
}

/// What became of one file of a transfer, in its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferFileState")]
pub enum FileState {
    /// Nothing of it has arrived yet.
    Waiting,
    /// Part of it arrived; the rest comes when the transfer resumes.
    Partly,
    /// Arrived, and its checksum matches on both sides.
    Verified,
    /// The other side already had it, identical: not sent again.
    AlreadyThere,
    /// It could not be sent in the last run: `problem` says why.
    Problem,
}

/// One file of a transfer, in its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferFile")]
pub struct FileLine {
    /// As a person reads it (`names::shown`): a name that is not text shows its bytes as `\xNN`.
    pub path: String,
    #[ts(type = "number")]
    pub size: u64,
    /// Bytes of it that arrived and were confirmed.
    #[ts(type = "number")]
    pub done: u64,
    pub state: FileState,
    pub problem: Option<String>,
}

/// A page of a transfer's report, files with problems first: a transfer may list 100,000
/// files, the window shows a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferFiles")]
pub struct FilesPage {
    pub total: usize,
    /// How many files of the whole transfer had a problem in its last run.
    pub problems: usize,
    pub files: Vec<FileLine>,
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
    let remote: HashMap<String, (u64, i64)> = out
        .stdout
        .split(|&b| b == 0)
        .filter_map(|rec| {
            let mut parts = rec.splitn(3, |&b| b == b' ');
            let size = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
            let mtime = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
            Some((names::encode(parts.next()?), (size, mtime)))
        })
        .collect();
    let single_file = local_root.is_file();
    let local_path = |e: &Entry| {
        if single_file {
            local_root.to_owned()
        } else {
            names::under(local_root, &e.rel)
        }
    };
    let by_checksum = manifest::compare_of(store, id)? == Compare::Checksum;
    let mut same = Vec::new();
    if by_checksum {
        // Same size on the cluster: compare contents, whatever the dates say.
        let sized: Vec<&Entry> = fresh
            .into_iter()
            .filter(|e| remote.get(e.rel.as_str()).is_some_and(|r| r.0 == e.size))
            .collect();
        let theirs = checksums::of_files(
            conn,
            remote_root,
            &sized.iter().map(|e| e.rel.as_str()).collect::<Vec<_>>(),
        )
        .await?;
        for e in sized {
            if let Ok(digest) = scan::sha256_of(&local_path(e))
                && theirs.get(&e.rel) == Some(&digest)
            {
                same.push((e, digest));
            }
        }
    } else {
        for e in fresh {
            if remote.get(e.rel.as_str()) == Some(&(e.size, e.mtime))
                && let Ok(digest) = scan::sha256_of(&local_path(e))
            {
                same.push((e, digest));
            }
        }
    }
    if same.is_empty() {
        return Ok(false);
    }
    // Compared by checksum: already verified against the cluster's own sha256sum.
    manifest::confirm_same(store, id, &same, by_checksum)?;
    Ok(true)
}

/// A stdin for `xargs -0` or `tar --null -T -`: the names, each NUL-terminated, so that no name
/// is ever split, quoted or interpreted. Names are carried as text ([`names::encode`], also
/// what a transfer's manifest holds) and go as their exact bytes.
///
/// [`names::encode`]: crate::cluster_files::names::encode
pub(crate) fn nul_separated<'a>(
    names: impl Iterator<Item = &'a str>,
) -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    stdin_of(
        names
            .flat_map(|n| {
                crate::cluster_files::names::decode(n)
                    .into_iter()
                    .chain([0])
            })
            .collect(),
    )
}

/// A command's whole standard input, given at once.
pub(crate) fn stdin_of(bytes: Vec<u8>) -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    // Capacity 1 and nothing sent yet: this cannot fail. Dropping `tx` ends stdin.
    let _ = tx.try_send(bytes);
    rx
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
        let (files, problems) = scan::scan(&dir).unwrap();
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

    /// A drop of many items: one transfer per folder they come from, holding only them (not
    /// their neighbours), each under its own name; dropping the same items again continues it.
    #[test]
    fn items_dropped_together_are_one_transfer_per_folder() {
        let dir = std::env::temp_dir().join(format!("usine-picked-{}", crate::store::new_id()));
        let photos = dir.join("photos");
        std::fs::create_dir_all(photos.join("album")).unwrap();
        std::fs::create_dir_all(dir.join("other")).unwrap();
        for name in ["a.jpg", "b.jpg", "not picked.jpg", "album/c.jpg"] {
            std::fs::write(photos.join(name), name).unwrap();
        }
        std::fs::write(dir.join("other").join("notes.txt"), "n").unwrap();
        let store = Mutex::new(Store::open(&dir.join("usine.sqlite3")).unwrap());
        let dropped = [
            photos.join("a.jpg"),
            photos.join("b.jpg"),
            photos.join("album"),
            dir.join("other").join("notes.txt"),
            photos.join("gone.jpg"),
        ];
        let started = begin_many(&store, "lab", &dropped, "~/in", Compare::Quick).unwrap();
        assert_eq!(started.len(), 2);
        let group = started.iter().find(|s| s.place == "~/in").unwrap();
        let (root, remote, entries) = manifest::load(&store, &group.id).unwrap();
        assert_eq!((root, remote.as_str()), (photos.clone(), "~/in"));
        let rels: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(rels, ["a.jpg", "album/c.jpg", "b.jpg"]);
        assert_eq!(group.problems.len(), 1, "{:?}", group.problems);
        assert_eq!(get(&store, &group.id).unwrap().picked, 4);
        let lone = started.iter().find(|s| s.id != group.id).unwrap();
        assert_eq!(lone.place, "~/in/notes.txt");
        assert_eq!(get(&store, &lone.id).unwrap().picked, 0);

        set_ended(&store, &group.id, State::Interrupted).unwrap();
        let again = begin_many(&store, "lab", &dropped[..3], "~/in", Compare::Quick).unwrap();
        assert_ne!(
            again[0].id, group.id,
            "another choice of items is another transfer"
        );
        let same = begin_many(&store, "lab", &dropped, "~/in", Compare::Quick).unwrap();
        assert!(
            same.iter()
                .any(|s| s.id == group.id && s.continued.is_some())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
