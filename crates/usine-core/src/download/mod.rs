//! Downloads of results (job output folders) with the same guarantees as uploads: every file
//! is checked against the cluster's SHA-256 of it (small files, in tar streams ([`lanes`]),
//! hashed there while they come), files already here and identical are skipped, and a large
//! file comes in parts on several channels at once ([`parts`]), each checked against the
//! cluster's hash of it, so an interrupted one continues with the parts its `.usine-part`
//! lacks. Names travel NUL-separated on stdin and in tar headers, never through a shell; a name
//! that is not UTF-8 is carried as `names::encode`d text and written here under its exact bytes
//! (Linux); nothing is written outside the chosen local folder.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::cluster_files::names;
use crate::jobs::history::JobEntry;
use crate::jobs::spec::JobSpec;
use crate::owner::Owner;
use crate::ssh::{Connection, quote};
use crate::store::{Store, lock};

/// `sh` that reads the first line of stdin, written by [`name_line`], back into `$f` (any
/// bytes); without a line it runs `$on_none`. For `concat!`.
macro_rules! sh_read_name {
    ($on_none:literal) => {
        concat!(
            "IFS= read -r line || ",
            $on_none,
            "; f=$(printf '%bx' \"$line\"); f=${f%x}; "
        )
    };
}
pub(crate) use sh_read_name;

mod lanes;
use lanes::{Lanes, Unpacked};
mod parts;
use crate::transfer::{
    ClusterTransferError, Direction, FileProblem, LARGE_FILE, PARTIAL_SUFFIX, Progress, Report,
    State, TransferError, place, sha256_of,
};
pub use parts::CHANNELS;

struct RemoteFile {
    rel: String,
    size: u64,
    /// Modification time on the cluster (`find`'s `%T@`), to see a large file change meanwhile.
    modified: String,
    /// The cluster's SHA-256 of the whole file: taken for small files, and for large ones only
    /// where a file of the same size is already here (large files are checked part by part).
    sha256: Option<String>,
}

/// Brings the folder `remote` of the cluster `cluster` into the folder `into` here, over the
/// cluster's one connection (logging in first if needed): `usine download`. Running it again
/// continues the unfinished download between the same two places.
pub async fn bring_back(
    store: &Mutex<Store>,
    connections: &crate::cluster::Connections,
    cluster: &str,
    questions: crate::ssh::Questions,
    remote: &str,
    into: &Path,
    on_progress: impl FnMut(&Progress) + Send,
) -> Result<Report, ClusterTransferError> {
    crate::cluster::get(&lock(store), cluster)?; // an unknown cluster is said before anything
    let id = begin(store, cluster, remote, into)?;
    run(connections, store, &id, questions, on_progress, |_| {}).await
}

/// Records a download of the cluster's `remote` (a file or a folder) into the folder `into`
/// here, or finds the unfinished one between the same two places (it continues: what is here
/// and identical is not fetched again, a large file's parts already here are kept). Its id.
pub fn begin(
    store: &Mutex<Store>,
    cluster: &str,
    remote: &str,
    into: &Path,
) -> Result<String, TransferError> {
    let into = crate::local_paths::expand(into);
    let into = std::path::absolute(&into).unwrap_or(into);
    let remote = remote.trim();
    match crate::transfer::unfinished(store, cluster, Direction::Down, &into, None, remote)? {
        Some((id, state, owner)) if crate::transfer::running_elsewhere(state, owner.as_deref()) => {
            Err(TransferError::AlreadyRunning(id))
        }
        Some((id, _, _)) => Ok(id),
        // Its files are listed when it runs: only the cluster knows them.
        None => crate::transfer::insert(store, cluster, Direction::Down, &into, None, remote, &[]),
    }
}

/// Runs the recorded download `id` over its cluster's shared connection, reconnecting by
/// itself (never asking for a code) and continuing when the link drops.
pub async fn run(
    connections: &crate::cluster::Connections,
    store: &Mutex<Store>,
    id: &str,
    questions: crate::ssh::Questions,
    mut on_progress: impl FnMut(&Progress) + Send,
    mut on_state: impl FnMut(crate::ssh::ConnectionState),
) -> Result<Report, ClusterTransferError> {
    let cluster = crate::transfer::get(store, id)?.cluster;
    let settings = crate::cluster::get(&lock(store), &cluster)?;
    let policy = crate::cluster::ReconnectPolicy::default();
    let mut conn = connections.get(&settings, questions).await?;
    loop {
        match download(&conn, store, id, &mut on_progress).await {
            Err(TransferError::Interrupted(e)) => {
                tracing::info!(error = %e, "download interrupted; reconnecting");
                conn = connections
                    .reconnect_quietly(&settings, &policy, &mut on_state)
                    .await?;
            }
            other => return Ok(other?),
        }
    }
}

/// One run of the recorded download `id` on `conn`; its state in the list follows.
pub async fn download(
    conn: &Connection,
    store: &Mutex<Store>,
    id: &str,
    on_progress: impl FnMut(&Progress) + Send,
) -> Result<Report, TransferError> {
    let (into, remote, _) = crate::transfer::load(store, id)?;
    crate::transfer::set_running(store, id, &Owner::this_process())?;
    let ledger = Ledger {
        store,
        id,
        prefix: String::new(),
    };
    let result = fetch(conn, &remote, &into, ledger, on_progress).await;
    let state = State::after(&result, |r: &Report| r.problems.is_empty());
    crate::transfer::set_ended(store, id, state)?;
    result.map(|report| Report {
        transfer_id: id.to_owned(),
        ..report
    })
}

/// Where a download records what it does, file by file: its files are named in the manifest
/// relative to the folder chosen here (`42/a.txt` for `~/runs/42` into `~/results`), so that
/// "cancel and delete" finds them without asking the cluster.
struct Ledger<'a> {
    store: &'a Mutex<Store>,
    id: &'a str,
    /// The folder the download makes under the chosen one (`42/`), or nothing for one file.
    prefix: String,
}

impl Ledger<'_> {
    fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    fn listed(&self, files: &[RemoteFile]) -> Result<(), TransferError> {
        let entries: Vec<crate::transfer::Entry> = files
            .iter()
            .map(|f| crate::transfer::Entry {
                rel: self.key(&f.rel),
                size: f.size,
                mtime: seconds(&f.modified),
                confirmed: 0,
                sha256: None,
                verified: false,
            })
            .collect();
        crate::transfer::refresh_files(self.store, self.id, &entries)
    }

    fn sent<'r>(&self, rels: impl Iterator<Item = &'r str>) -> Result<(), TransferError> {
        let keys: Vec<String> = rels.map(|r| self.key(r)).collect();
        crate::transfer::mark_sent(self.store, self.id, keys.iter().map(String::as_str))
    }

    fn verified<'r>(&self, rels: impl Iterator<Item = &'r str>) -> Result<(), TransferError> {
        let keys: Vec<String> = rels.map(|r| self.key(r)).collect();
        crate::transfer::mark_verified(self.store, self.id, keys.iter().map(String::as_str))
    }

    fn problems(&self, problems: &[FileProblem]) -> Result<(), TransferError> {
        let keyed: Vec<FileProblem> = problems
            .iter()
            .map(|p| FileProblem {
                path: self.key(&p.path),
                problem: p.problem.clone(),
            })
            .collect();
        crate::transfer::record_problems(self.store, self.id, &keyed)
    }
}

/// `find`'s `%T@` (seconds, with a fraction) as whole seconds.
fn seconds(modified: &str) -> i64 {
    modified
        .split('.')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// What a job's "Bring back its outputs" fetches: the folders its spec names as outputs (under
/// its working folder when relative), or else its working folder, unless that is the home
/// (which holds far more than the job's results).
pub fn outputs_of(spec: &JobSpec) -> Result<Vec<String>, TransferError> {
    let workdir = spec.working_dir.trim_end_matches('/');
    let under_workdir = |o: &str| match o {
        o if o.starts_with('/') || o == "~" || o.starts_with("~/") => o.to_owned(),
        o => format!("{workdir}/{}", o.trim_start_matches("./")),
    };
    let outputs: Vec<String> = spec
        .outputs
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(under_workdir)
        .collect();
    if !outputs.is_empty() {
        return Ok(outputs);
    }
    if workdir.is_empty() || workdir == "~" {
        return Err(TransferError::NoOutputs(spec.name.clone()));
    }
    Ok(vec![workdir.to_owned()])
}

/// Where a job's outputs land here: `<Downloads>/Usine/<job name>-<id>`.
pub fn results_folder(job: &JobEntry) -> PathBuf {
    let downloads = directories::UserDirs::new()
        .and_then(|d| d.download_dir().map(Path::to_owned))
        .or_else(std::env::home_dir)
        .unwrap_or_default();
    let short: String = job.id.chars().take(8).collect();
    downloads
        .join("Usine")
        .join(format!("{}-{short}", job.spec.name))
}

/// Records the downloads of a job's outputs into [`results_folder`], each folder under its own
/// name: the job page's one click. The job's cluster and the downloads' ids, to [`run`].
pub fn begin_job(
    store: &Mutex<Store>,
    job_id: &str,
) -> Result<(String, Vec<String>), ClusterTransferError> {
    let job = crate::jobs::history::get(&lock(store), job_id)
        .map_err(crate::cluster::ClusterError::Store)?;
    let into = results_folder(&job);
    let ids = outputs_of(&job.spec)?
        .iter()
        .map(|output| begin(store, &job.target, output, &into))
        .collect::<Result<_, _>>()?;
    Ok((job.target, ids))
}

/// Brings the cluster folder `remote_root` into the folder `into` here, where it keeps its
/// name ([`place::here`]: `~/runs/42` into `~/results` is `~/results/42`), recording each
/// file's fate in `ledger`.
async fn fetch(
    conn: &Connection,
    remote_root: &str,
    into: &Path,
    mut ledger: Ledger<'_>,
    mut on_progress: impl FnMut(&Progress) + Send,
) -> Result<Report, TransferError> {
    let remote = crate::ssh::expand_home(conn, remote_root).await?;
    let mut lanes = Lanes::start(conn);
    let found = lanes.meanwhile(find(conn, &remote)).await?;
    // A single file lands in the chosen folder itself; a folder, under its own name there.
    let (remote_root, only, local_root) = match found.single.clone() {
        Some((folder, name)) => (folder, Some(name), into.to_owned()),
        None => (remote.clone(), None, place::here(&remote, into)?),
    };
    if only.is_none()
        && let Some(name) = local_root.file_name()
    {
        ledger.prefix = format!("{}/", name.to_string_lossy());
    }
    let (remote_root, local_root) = (&remote_root, &local_root);
    let local_err = |e: std::io::Error| TransferError::Source(local_root.to_owned(), e.to_string());
    // A folder that is not here yet holds nothing: 10,000 files need not be looked for.
    let fresh = std::fs::symlink_metadata(local_root).is_err();
    std::fs::create_dir_all(local_root).map_err(local_err)?;
    let here = (!fresh).then_some(local_root.as_path());
    let (files, mut problems) = lanes
        .meanwhile(hash_held(conn, remote_root, found, here))
        .await?;
    ledger.listed(&files)?;
    let mut report = Report {
        transfer_id: String::new(),
        files: files.len(),
        verified: 0,
        bytes_sent: 0,
        bytes_skipped: 0,
        problems: Vec::new(),
        place: local_root.display().to_string(),
    };
    let mut progress = Progress {
        bytes_done: 0,
        bytes_total: files.iter().map(|f| f.size).sum(),
        files_done: 0,
        files_total: files.len(),
        current: None,
    };

    // What is already here and identical is not fetched again: only a file the cluster hashed
    // first (one of the same size is here) can be, once its place is known to be no link
    // (reading through one would compare something outside the folder). Every other file's
    // place is checked as it is written, in the same way: a link is named as a problem and
    // the others still come.
    let mut wanted: Vec<&RemoteFile> = Vec::new();
    let mut identical: Vec<&str> = Vec::new();
    let mut folders = HashSet::new();
    for f in &files {
        if f.sha256.is_none() {
            wanted.push(f);
            continue;
        }
        let path = match local_place_among(local_root, &f.rel, &mut folders) {
            Ok(path) => path,
            Err(problem) => {
                problems.push(FileProblem {
                    path: f.rel.clone(),
                    problem,
                });
                continue;
            }
        };
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == f.size)
            && sha256_of(&path).ok() == f.sha256
        {
            report.verified += 1;
            report.bytes_skipped += f.size;
            progress.bytes_done += f.size;
            progress.files_done += 1;
            identical.push(&f.rel);
        } else {
            wanted.push(f);
        }
    }
    ledger.verified(identical.into_iter())?;
    on_progress(&progress);

    let (large, small): (Vec<&RemoteFile>, Vec<&RemoteFile>) =
        wanted.iter().partition(|f| f.size >= LARGE_FILE);
    let mut failed: HashSet<String> = HashSet::new();
    // Small files' hashes, taken as they were written here.
    let mut hashed_here: HashMap<String, String> = HashMap::new();
    // Large files checked part by part as they arrived: not hashed again.
    let mut by_parts: HashSet<String> = HashSet::new();
    // Small files in tar batches, a few streams at once (one is bounded by one core on each
    // side). Meanwhile the cluster hashes them on a channel of its own, for the check at the end.
    let unhashed: Vec<&str> = small
        .iter()
        .filter(|f| f.sha256.is_none())
        .map(|f| f.rel.as_str())
        .collect();
    lanes.give(remote_root, local_root, lanes::batches(&small));
    let arrived = lanes.arrived.clone();
    // Done before the batches, and files a batch brought nothing for (refused here, unread
    // there): they count as done too.
    let mut before = (progress.bytes_done, progress.files_done);
    let fetching = async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            let (batch, fetched) = tokio::select! {
                next = lanes.next() => match next {
                    Some(done) => done,
                    None => break,
                },
                _ = tick.tick() => {
                    arrived.show(&mut progress, before);
                    on_progress(&progress);
                    continue;
                }
            };
            let (bytes, unpacked) = fetched?;
            let Unpacked {
                refused,
                written,
                unread,
            } = unpacked;
            ledger.sent(written.keys().map(String::as_str))?;
            report.bytes_sent += bytes;
            // Not in the stream and not refused here: tar could not read it on the cluster.
            let refused_here: HashSet<&str> = refused.iter().map(|(r, _)| r.as_str()).collect();
            let unread_files: Vec<&RemoteFile> = batch
                .iter()
                .copied()
                .filter(|f| !written.contains_key(&f.rel) && !refused_here.contains(f.rel.as_str()))
                .collect();
            for f in unread_files {
                failed.insert(f.rel.clone());
                problems.push(FileProblem {
                    path: f.rel.clone(),
                    problem: crate::tr!(en: "the cluster could not read it: {unread}", fr: "le cluster n'a pas pu le lire : {unread}"),
                });
            }
            for (rel, why) in refused {
                failed.insert(rel.clone());
                problems.push(FileProblem {
                    path: rel,
                    problem: crate::tr!(en: "cannot be written here: {why}", fr: "ne peut pas être écrit ici : {why}"),
                });
            }
            for f in batch.iter().filter(|f| !written.contains_key(&f.rel)) {
                before = (before.0 + f.size, before.1 + 1);
            }
            hashed_here.extend(written);
            arrived.show(&mut progress, before);
            progress.current = batch.last().map(|f| f.rel.clone());
            on_progress(&progress);
        }
        Ok::<(), TransferError>(())
    };
    let hashing = crate::transfer::checksums::of_files(conn, remote_root, &unhashed);
    let (fetched, hashed) = tokio::join!(fetching, hashing);
    fetched?;
    let hashed = hashed?;
    // Large files after the small ones: their channels and the lanes' are never open at once
    // (a login node allows ten per connection).
    for f in large {
        progress.current = Some(f.rel.clone());
        match fetch_large(
            conn,
            remote_root,
            local_root,
            f,
            &mut progress,
            &mut on_progress,
        )
        .await
        {
            Ok(fetched) => {
                ledger.sent(std::iter::once(f.rel.as_str()))?;
                report.bytes_sent += fetched.received;
                report.bytes_skipped += fetched.held;
                if fetched.complete {
                    by_parts.insert(f.rel.clone());
                } else {
                    failed.insert(f.rel.clone());
                    problems.push(FileProblem {
                        path: f.rel.clone(),
                        problem: crate::tr!(en: "some parts did not arrive intact, or it changed on the cluster meanwhile; download again to fetch them", fr: "des parties ne sont pas arrivées intactes, ou il a changé sur le cluster entre-temps ; téléchargez à nouveau pour les récupérer"),
                    });
                }
            }
            // A file that cannot be written here does not stop the others; a dropped link does.
            Err(TransferError::Source(_, why)) => {
                failed.insert(f.rel.clone());
                problems.push(FileProblem {
                    path: f.rel.clone(),
                    problem: crate::tr!(en: "cannot be written here: {why}", fr: "ne peut pas être écrit ici : {why}"),
                });
            }
            Err(other) => return Err(other),
        }
    }

    // Every file fetched in this run is checked against the cluster's checksum (the skipped
    // ones were hashed above already).
    let mut checked: Vec<&str> = Vec::new();
    for f in wanted.into_iter().filter(|f| !failed.contains(&f.rel)) {
        if by_parts.contains(&f.rel) {
            report.verified += 1;
            checked.push(&f.rel);
            continue;
        }
        let path = names::under(local_root, &f.rel);
        let ours = match hashed_here.remove(&f.rel) {
            Some(h) => Ok(h),
            None => sha256_of(&path),
        };
        let theirs = f.sha256.as_ref().or_else(|| hashed.get(&f.rel));
        match ours {
            Ok(h) if Some(&h) == theirs => {
                report.verified += 1;
                checked.push(&f.rel);
            }
            Ok(_) => problems.push(FileProblem {
                path: f.rel.clone(),
                problem: crate::tr!(en: "its checksum differs from the cluster's (did it change during the download?); download again", fr: "sa somme de contrôle diffère de celle du cluster (a-t-il changé pendant le téléchargement ?) ; téléchargez à nouveau"),
            }),
            Err(e) => problems.push(FileProblem { path: f.rel.clone(), problem: crate::tr!(en: "missing here after the download: {e}", fr: "absent ici après le téléchargement : {e}") }),
        }
    }
    ledger.verified(checked.into_iter())?;
    ledger.problems(&problems)?;
    report.problems = problems;
    Ok(report)
}

/// What the cluster holds at a path: one regular file, or a folder's regular files.
struct Found {
    /// `(folder, name)` when the path is a regular file (not a link).
    single: Option<(String, String)>,
    /// Each file's path under the folder, size and modification time (`find`'s `%T@`).
    entries: Vec<(String, u64, String)>,
    problems: Vec<FileProblem>,
}

/// Whether `remote` is a file or a folder, and every regular file there with its size, in one
/// round trip. Symbolic links are not followed (`find -type f`), so nothing outside the folder
/// comes along; a link given as the path itself is taken as the folder it names.
async fn find(conn: &Connection, remote: &str) -> Result<Found, TransferError> {
    let trimmed = remote.trim_end_matches('/');
    let (folder, name) = match trimmed.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((folder, name)) => (folder, name),
        None => (".", trimmed),
    };
    // sh, whatever the login shell (csh has no if/then); no `!` for csh's history either.
    let script = "if test -L \"$1\"; then k=dir; elif test -f \"$1\"; then k=file; else k=dir; fi; \
        if test $k = file; then cd -- \"$2\" || exit 1; printf 'file\\0'; \
        find \"./$3\" -maxdepth 0 -type f -printf '%s %T@ %p\\0'; \
        else cd -- \"$1\" || exit 1; printf 'dir\\0'; find . -type f -printf '%s %T@ %p\\0'; fi";
    let out = conn
        .exec(&format!(
            "sh -c {} sh {} {} {}",
            quote(script),
            quote(remote),
            quote(folder),
            quote(name)
        ))
        .await?;
    if !out.success() {
        return Err(TransferError::Remote {
            path: remote.to_owned(),
            message: out.stderr_text(),
        });
    }
    let mut records = out.stdout.split(|&b| b == 0);
    let single = match records.next() {
        Some(b"file") if !name.is_empty() => Some((folder.to_owned(), name.to_owned())),
        _ => None,
    };
    let mut found = Found {
        single,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    for record in records.filter(|r| !r.is_empty()) {
        // Size and time are ASCII; a name is bytes, carried as text that maps back to them
        // (`names::encode`), so a name that is not UTF-8 comes too, under its own bytes.
        let mut fields = record.splitn(3, |&b| b == b' ');
        let (Some(size), Some(modified), Some(name)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let (Ok(size), Ok(modified)) = (std::str::from_utf8(size), std::str::from_utf8(modified))
        else {
            continue;
        };
        let rel = names::encode(name.strip_prefix(b"./").unwrap_or(name));
        let rel = rel.as_str();
        if !Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            found.problems.push(FileProblem {
                path: rel.to_owned(),
                problem: crate::tr!(en: "its path would leave the folder; not downloaded", fr: "son chemin sortirait du dossier ; non téléchargé"),
            });
            continue;
        }
        found.entries.push((
            rel.to_owned(),
            size.parse().unwrap_or(0),
            modified.to_owned(),
        ));
    }
    Ok(found)
}

/// The files found, with the cluster's SHA-256 of those already in `local_root` at the same
/// size (they may need no fetching at all; `None`: the folder is new here); the others are
/// hashed while they come.
async fn hash_held(
    conn: &Connection,
    remote_root: &str,
    found: Found,
    local_root: Option<&Path>,
) -> Result<(Vec<RemoteFile>, Vec<FileProblem>), TransferError> {
    let mut problems = found.problems;
    let held: Vec<&str> = found
        .entries
        .iter()
        .filter(|(rel, size, _)| {
            local_root.is_some_and(|root| {
                std::fs::symlink_metadata(names::under(root, rel))
                    .is_ok_and(|m| m.is_file() && m.len() == *size)
            })
        })
        .map(|(rel, _, _)| rel.as_str())
        .collect();
    let hashes = crate::transfer::checksums::of_files(conn, remote_root, &held).await?;
    let asked: HashSet<&str> = held.into_iter().collect();
    let files = found
        .entries
        .iter()
        .filter_map(|(rel, size, modified)| match hashes.get(rel) {
            h if h.is_some() || !asked.contains(rel.as_str()) => Some(RemoteFile {
                sha256: h.cloned(),
                rel: rel.clone(),
                size: *size,
                modified: modified.clone(),
            }),
            _ => {
                problems.push(FileProblem {
                    path: rel.clone(),
                    problem: crate::tr!(en: "the cluster could not read it", fr: "le cluster n'a pas pu le lire"),
                });
                None
            }
        })
        .collect();
    Ok((files, problems))
}

/// Fetches the parts of a large file that `<file>.usine-part` lacks, on several channels, then
/// renames it into place when every part is confirmed.
async fn fetch_large(
    conn: &Connection,
    remote_root: &str,
    local_root: &Path,
    f: &RemoteFile,
    progress: &mut Progress,
    on_progress: &mut (impl FnMut(&Progress) + Send),
) -> Result<parts::Fetched, TransferError> {
    let target = local_place(local_root, &f.rel)
        .map_err(|why| TransferError::Source(local_root.join(&f.rel), why))?;
    let partial_name = format!("{}{PARTIAL_SUFFIX}", f.rel);
    let partial = local_place(local_root, &partial_name)
        .map_err(|why| TransferError::Source(local_root.join(&partial_name), why))?;
    let io = |e: std::io::Error| TransferError::Source(partial.clone(), e.to_string());
    let path = format!("{}/{}", remote_root.trim_end_matches('/'), f.rel);
    let base = progress.bytes_done;
    let received = std::sync::atomic::AtomicU64::new(0);
    let work = parts::fetch(conn, &path, &partial, f.size, &received);
    tokio::pin!(work);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let fetched = loop {
        tokio::select! {
            r = &mut work => break r?,
            _ = tick.tick() => {
                let now = received.load(std::sync::atomic::Ordering::Relaxed);
                progress.bytes_done = base + now.min(f.size);
                on_progress(progress);
            }
        }
    };
    let mut fetched = fetched;
    // Each part was right when it was read: the file as a whole is right if it did not change
    // on the cluster meanwhile.
    if fetched.complete && !unchanged(conn, &path, f).await? {
        fetched.complete = false;
        let _ = std::fs::remove_file(parts::done_list(&partial));
    }
    if fetched.complete {
        std::fs::rename(&partial, &target).map_err(io)?;
        let _ = std::fs::remove_file(parts::done_list(&partial));
    }
    progress.bytes_done = base + f.size;
    progress.files_done += 1;
    on_progress(progress);
    Ok(fetched)
}

/// Whether `path` on the cluster still has the size and modification time it was listed with.
async fn unchanged(conn: &Connection, path: &str, f: &RemoteFile) -> Result<bool, TransferError> {
    let script = concat!(
        sh_read_name!("exit 1"),
        "find \"$f\" -maxdepth 0 -printf '%s %T@'"
    );
    let out = conn
        .exec_with_input(
            &format!("sh -c {} sh", quote(script)),
            crate::transfer::stdin_of(name_line(&names::decode(path))),
        )
        .await?;
    Ok(out.stdout_text() == format!("{} {}", f.size, f.modified))
}

/// Where `rel` goes under `root`, with its folders made, refusing any link on the way: a link
/// (to a file or a folder) in the chosen folder was not made by Usine, and writing through it
/// would put data outside the folder the user chose. Returns why, in plain words, otherwise.
fn local_place(root: &Path, rel: &str) -> Result<PathBuf, String> {
    local_place_among(root, rel, &mut HashSet::new())
}

/// [`local_place`] for many files of one folder: a folder already found to be a real folder
/// (or made) in `folders` is not looked at again, which spares most of the work for 10,000
/// files in a few folders.
fn local_place_among(
    root: &Path,
    rel: &str,
    folders: &mut HashSet<PathBuf>,
) -> Result<PathBuf, String> {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    let mut path = root.to_owned();
    for (i, part) in parts.iter().enumerate() {
        if matches!(*part, "." | "..") {
            return Err(
                crate::tr!(en: "its path would leave the folder; not downloaded", fr: "son chemin sortirait du dossier ; non téléchargé"),
            );
        }
        path.push(names::here(part));
        let last = i + 1 == parts.len();
        if !last && folders.contains(&path) {
            continue;
        }
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let shown = parts[..=i].join("/");
                return Err(crate::tr!(
                    en: "{shown} here is a link to somewhere else; Usine does not write through links, so it was not downloaded. Remove the link, or choose another folder.",
                    fr: "{shown} est ici un lien vers ailleurs ; Usine n'écrit pas à travers les liens, il n'a donc pas été téléchargé. Supprimez le lien, ou choisissez un autre dossier."
                ));
            }
            Ok(m) if !last && !m.is_dir() => {
                let shown = parts[..=i].join("/");
                return Err(crate::tr!(
                    en: "{shown} here is a file, where the cluster has a folder; rename it to download this",
                    fr: "{shown} est ici un fichier, là où le cluster a un dossier ; renommez-le pour télécharger ceci"
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Batches unpack side by side: another may have made this folder meanwhile.
                if !last {
                    match std::fs::create_dir(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                                return Err(e.to_string());
                            }
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
            }
            Err(e) => return Err(e.to_string()),
        }
        if !last {
            folders.insert(path.clone());
        }
    }
    Ok(path)
}

/// `bytes` as the first line of a cluster-side script's stdin, which reads it back into `$f`
/// with [`sh_read_name`]: a backslash or a newline as an octal escape, every other byte as it
/// is. Any name, even one that is not UTF-8, so reaches the cluster without a shell reading it.
fn name_line(bytes: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(bytes.len() + 1);
    for &b in bytes {
        match b {
            b'\\' | b'\n' => line.extend_from_slice(format!("\\0{b:03o}").as_bytes()),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

/// Opens (creating) a file to write into, refusing to follow a link put in its place meanwhile.
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(test)]
mod outputs_tests {
    use super::*;

    #[test]
    fn outputs_are_the_specs_or_its_working_folder_but_never_the_whole_home() {
        let mut spec = JobSpec {
            working_dir: "~/runs/bert".into(),
            outputs: vec!["checkpoints/".into(), "/scratch/p1/eval".into(), " ".into()],
            ..JobSpec::default()
        };
        assert_eq!(
            outputs_of(&spec).unwrap(),
            ["~/runs/bert/checkpoints/", "/scratch/p1/eval"]
        );
        spec.outputs.clear();
        assert_eq!(outputs_of(&spec).unwrap(), ["~/runs/bert"]);
        spec.working_dir = "~".into();
        assert!(matches!(
            outputs_of(&spec),
            Err(TransferError::NoOutputs(_))
        ));
    }
}
