//! Small files come in tar streams ("lanes"), a few at once (one stream is bounded by one core
//! on each side). A lane's command starts on the cluster before the files are known, and waits
//! for its folder and names on stdin: starting a command there (a fork, a PAM session) took
//! 45 ms in the lab, as long as listing 10,000 files, and is now spent while they are listed.
//! Names reach tar NUL-separated on stdin, never through a shell.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use sha2::{Digest, Sha256};

use super::{RemoteFile, local_place_among, name_line};
use crate::cluster_files::names;
use crate::ssh::{CommandOutput, Connection, SshError, quote};
use crate::transfer::{Progress, TransferError, hex};

/// Tar streams of small files at once.
pub(super) const BATCH_LANES: usize = 4;
/// A batch holds at most this many files or bytes: what a tar stream brought is recorded as
/// sent when it ends. Fewer, longer streams cost fewer channel openings: at 20 ms of round trip,
/// 10,000 files of 4 KiB came in 0.88 s in batches of 1,000 and 0.77 s in one batch per lane.
const BATCH_FILES: usize = 5000;
const BATCH_BYTES: u64 = 256 << 20;

/// The cluster's side of a lane: the folder on the first line ([`name_line`]), then the names
/// for tar. No line (nothing to do): it ends at once.
const LANE: &str = concat!(
    super::sh_read_name!("exit 0"),
    "cd -- \"$f\" || exit 1; exec tar --null -T - -cf -"
);

/// A lane's command on the cluster, and the unpacking here, still without a batch.
struct Waiting {
    stdin: tokio::sync::mpsc::Sender<Vec<u8>>,
    dest: std::sync::mpsc::SyncSender<PathBuf>,
}

/// How a lane ended: its slot, the command's output, what was unpacked (nothing for a lane
/// that was given no batch) and the bytes received.
type Ended = (
    usize,
    Result<CommandOutput, SshError>,
    Result<std::io::Result<Option<Unpacked>>, tokio::task::JoinError>,
    u64,
);

/// The lanes of one download: started before its files are known, given batches once they are,
/// and topped up with new ones while batches remain.
pub(super) struct Lanes<'c, 'b> {
    conn: &'c Connection,
    pub(super) arrived: Arc<Arrived>,
    next_slot: usize,
    waiting: Vec<(usize, Waiting)>,
    running: FuturesUnordered<Pin<Box<dyn Future<Output = Ended> + Send + 'c>>>,
    given: HashMap<usize, &'b [&'b RemoteFile]>,
    queue: VecDeque<&'b [&'b RemoteFile]>,
    root: String,
    dest: PathBuf,
}

impl<'c, 'b> Lanes<'c, 'b> {
    /// Starts up to [`BATCH_LANES`] lanes on the cluster, waiting for work: as many as leave
    /// two commands free on the connection (the listing must not wait for lanes that wait for
    /// it); the others start when given their batch.
    pub(super) fn start(conn: &'c Connection) -> Self {
        let mut lanes = Self {
            conn,
            arrived: Arc::default(),
            next_slot: 0,
            waiting: Vec::new(),
            running: FuturesUnordered::new(),
            given: HashMap::new(),
            queue: VecDeque::new(),
            root: String::new(),
            dest: PathBuf::new(),
        };
        for _ in 0..conn.free_sessions().saturating_sub(2).min(BATCH_LANES) {
            lanes.open();
        }
        lanes
    }

    fn open(&mut self) {
        let slot = self.next_slot;
        self.next_slot += 1;
        let (stdin, stdin_rx) = tokio::sync::mpsc::channel(1);
        let (dest, dest_rx) = std::sync::mpsc::sync_channel(1);
        self.waiting.push((slot, Waiting { stdin, dest }));
        let arrived = self.arrived.clone();
        self.running
            .push(Box::pin(lane(self.conn, slot, stdin_rx, dest_rx, arrived)));
    }

    /// Awaits `work` while the lanes start on the cluster (their commands are sent once the
    /// cluster confirms their channels). A lane that ends meanwhile (its channel refused) is
    /// given nothing.
    pub(super) async fn meanwhile<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                Some((slot, ..)) = self.running.next() => {
                    self.waiting.retain(|(s, _)| *s != slot);
                }
            }
        }
    }

    /// Gives the batches of `root` on the cluster, to be written under `dest` here, to the
    /// waiting lanes, then to new ones as lanes finish.
    pub(super) fn give(&mut self, root: &str, dest: &Path, batches: Vec<&'b [&'b RemoteFile]>) {
        self.root = root.to_owned();
        self.dest = dest.to_owned();
        self.queue = batches.into();
        // A waiting lane left without a batch sees its stdin end, and ends.
        for (slot, lane) in std::mem::take(&mut self.waiting) {
            if let Some(batch) = self.queue.pop_front() {
                self.send(slot, lane, batch);
            }
        }
        self.top_up();
    }

    fn send(&mut self, slot: usize, lane: Waiting, batch: &'b [&'b RemoteFile]) {
        // The unpacking learns where before any byte can come: the cluster waits for stdin.
        let _ = lane.dest.send(self.dest.clone());
        let mut input = name_line(self.root.as_bytes());
        for f in batch {
            input.extend_from_slice(&names::decode(&f.rel));
            input.push(0);
        }
        // A new channel of capacity 1: this cannot fail. Dropping the lane ends stdin.
        let _ = lane.stdin.try_send(input);
        self.given.insert(slot, batch);
    }

    fn top_up(&mut self) {
        while self.given.len() < BATCH_LANES
            && let Some(batch) = self.queue.pop_front()
        {
            self.open();
            if let Some((slot, lane)) = self.waiting.pop() {
                self.send(slot, lane, batch);
            }
        }
    }

    /// The next batch that ended, with what it brought; `None` when all have.
    pub(super) async fn next(
        &mut self,
    ) -> Option<(&'b [&'b RemoteFile], Result<(u64, Unpacked), TransferError>)> {
        loop {
            let (slot, out, unpacked, bytes) = self.running.next().await?;
            let Some(batch) = self.given.remove(&slot) else {
                continue; // a lane with nothing to do
            };
            self.top_up();
            return Some((batch, self.settle(out, unpacked, bytes)));
        }
    }

    fn settle(
        &self,
        out: Result<CommandOutput, SshError>,
        unpacked: Result<std::io::Result<Option<Unpacked>>, tokio::task::JoinError>,
        bytes: u64,
    ) -> Result<(u64, Unpacked), TransferError> {
        let here = |e: String| TransferError::Source(self.dest.clone(), e);
        let unpacked = unpacked.map_err(|e| here(e.to_string()))?;
        let out = out?;
        // GNU tar goes on past a file it cannot read (exit 2) or that changed while read (1):
        // the others arrive, and those missing are named by the caller with tar's words.
        if !matches!(out.exit_status, Some(0..=2)) {
            return Err(TransferError::Remote {
                path: self.root.clone(),
                message: out.stderr_text(),
            });
        }
        let mut unpacked = unpacked
            .map_err(|e| here(e.to_string()))?
            .unwrap_or_default();
        unpacked.unread = out.stderr_text();
        Ok((bytes, unpacked))
    }
}

/// One lane: its command on the cluster, its tar stream unpacked here on a blocking thread
/// (fed through a bounded channel) once it learns where.
async fn lane(
    conn: &Connection,
    slot: usize,
    stdin: tokio::sync::mpsc::Receiver<Vec<u8>>,
    dest: std::sync::mpsc::Receiver<PathBuf>,
    arrived: Arc<Arrived>,
) -> Ended {
    let (chunks_tx, chunks_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let unpacker = tokio::task::spawn_blocking(move || {
        let Ok(dest) = dest.recv() else {
            return Ok(None);
        };
        let reader = ChannelReader {
            rx: chunks_rx,
            buf: Vec::new(),
            pos: 0,
        };
        unpack(reader, &dest, &arrived).map(Some)
    });
    let mut bytes = 0u64;
    let mut sink = |data: &[u8]| {
        bytes += data.len() as u64;
        let _ = chunks_tx.send(data.to_vec());
    };
    let out = conn
        .exec_streaming(&format!("sh -c {} sh", quote(LANE)), Some(stdin), &mut sink)
        .await;
    drop(chunks_tx);
    (slot, out, unpacker.await, bytes)
}

/// Splits small files into at most [`BATCH_LANES`] batches where they fit, within
/// [`BATCH_FILES`] files and [`BATCH_BYTES`] bytes each.
pub(super) fn batches<'a>(files: &'a [&'a RemoteFile]) -> Vec<&'a [&'a RemoteFile]> {
    let per_lane = files.len().div_ceil(BATCH_LANES).clamp(1, BATCH_FILES);
    let mut out = Vec::new();
    let mut rest = files;
    while !rest.is_empty() {
        let mut bytes = 0;
        let len = rest
            .iter()
            .take(per_lane)
            .take_while(|f| {
                bytes += f.size;
                bytes <= BATCH_BYTES
            })
            .count()
            .max(1);
        let (batch, after) = rest.split_at(len);
        out.push(batch);
        rest = after;
    }
    out
}

/// What the tar streams have written here so far, all lanes together, for the progress bar.
#[derive(Default)]
pub(super) struct Arrived {
    bytes: AtomicU64,
    files: AtomicUsize,
}

impl Arrived {
    /// `progress` with what has arrived on top of what was done `before` (bytes, files).
    pub(super) fn show(&self, progress: &mut Progress, before: (u64, usize)) {
        progress.bytes_done = before.0 + self.bytes.load(Ordering::Relaxed);
        progress.files_done = before.1 + self.files.load(Ordering::Relaxed);
    }
}

/// Writes each regular file of the tar stream to its place under `dest`, never through a link:
/// it lands in a new temporary file beside its place and is renamed over it (a rename replaces
/// a file, it does not follow anything). A file that cannot be placed is skipped and named,
/// with why; only an unreadable stream fails the whole batch.
fn unpack(reader: impl Read, dest: &Path, arrived: &Arrived) -> std::io::Result<Unpacked> {
    let mut refused = Vec::new();
    let mut written = HashMap::new();
    let mut archive = tar::Archive::new(reader);
    let mut folders = HashSet::new();
    let mut buf = vec![0u8; 64 * 1024];
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let rel = names::encode(&entry.path_bytes());
        let size = entry.size();
        let outcome = local_place_among(dest, &rel, &mut folders).and_then(|target| {
            let mtime = entry.header().mtime().ok();
            write_replacing(&mut entry, &target, mtime, &mut buf).map_err(|e| e.to_string())
        });
        match outcome {
            Ok(hash) => {
                written.insert(rel, hash);
                arrived.bytes.fetch_add(size, Ordering::Relaxed);
                arrived.files.fetch_add(1, Ordering::Relaxed);
            }
            // The rest of this entry is skipped by the archive reader itself.
            Err(why) => refused.push((rel, why)),
        }
    }
    Ok(Unpacked {
        refused,
        written,
        unread: String::new(),
    })
}

/// What a tar batch did here: the files that could not be written (with why), and the SHA-256
/// of each file written, taken while writing it.
#[derive(Default)]
pub(super) struct Unpacked {
    pub(super) refused: Vec<(String, String)>,
    pub(super) written: HashMap<String, String>,
    /// What the cluster's tar said about files it could not read.
    pub(super) unread: String,
}

/// Returns the SHA-256 of what was written. Where nothing is in the file's place yet, it is
/// made there directly (`create_new` never follows a link put there meanwhile: it fails); a file
/// already there is replaced through a new temporary file renamed over it. An interrupted
/// write may leave a short file under its real name: the next run sees it differ and fetches it.
/// `buf` is the caller's, reused from file to file (zeroing 64 KiB for each of 10,000 small
/// files showed in profiles).
fn write_replacing(
    data: &mut impl Read,
    target: &Path,
    mtime: Option<u64>,
    buf: &mut [u8],
) -> std::io::Result<String> {
    let create = |path: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut write = |mut file: std::fs::File| -> std::io::Result<String> {
        let mut hasher = Sha256::new();
        loop {
            let n = data.read(buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            std::io::Write::write_all(&mut file, &buf[..n])?;
        }
        if let Some(secs) = mtime {
            file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))?;
        }
        Ok(hex(&hasher.finalize()))
    };
    match create(target) {
        Ok(file) => return write(file),
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        Err(_) => {}
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.{}.usine-tmp", crate::store::new_id()));
    let result = create(&tmp)
        .and_then(write)
        .and_then(|hash| std::fs::rename(&tmp, target).map(|()| hash));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cluster's side of a lane, run by this machine's `sh` and GNU tar, in a folder whose
    /// name needs every escape, and unpacked here.
    #[test]
    fn a_lane_reads_any_folder_and_its_stream_unpacks() {
        let base = std::env::temp_dir().join(format!("usine-lane-{}", std::process::id()));
        let folder = base.join("it's a \\ \n $(folder) -x %b");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        // Names as the cluster gives them: bytes, one of them Latin-1, carried as text.
        let latin1 = names::encode(b"sub/caf\xe9.csv");
        let names = ["a.txt", "sub/-leading dash", "ünï \\n", &latin1];
        for (i, n) in names.iter().enumerate() {
            std::fs::write(names::under(&folder, n), format!("content {i}")).unwrap();
        }
        let mut input = name_line(folder.to_str().unwrap().as_bytes());
        for n in names {
            input.extend_from_slice(&names::decode(n));
            input.push(0);
        }
        let mut child = std::process::Command::new("sh")
            .args(["-c", LANE, "sh"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let dest = base.join("here");
        std::fs::create_dir_all(&dest).unwrap();
        let arrived = Arrived::default();
        let unpacked = unpack(out.stdout.as_slice(), &dest, &arrived).unwrap();
        assert!(unpacked.refused.is_empty(), "{:?}", unpacked.refused);
        for (i, n) in names.iter().enumerate() {
            let content = format!("content {i}");
            let here = names::under(&dest, n);
            assert_eq!(std::fs::read_to_string(here).unwrap(), content);
            assert_eq!(unpacked.written[*n], hex(&Sha256::digest(content)));
        }
        assert_eq!(arrived.files.load(Ordering::Relaxed), names.len());
        std::fs::remove_dir_all(base).unwrap();
    }

    /// A lane given nothing ends at once, without tar.
    #[test]
    fn a_lane_without_work_ends_quietly() {
        let out = std::process::Command::new("sh")
            .args(["-c", LANE, "sh"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.is_empty());
    }
}
