//! Large files, cut into parts that travel on several channels of the one connection at once.
//!
//! One stream is bounded by its SSH window far from the cluster (2 MiB per round trip with
//! OpenSSH's defaults), and by one core on each side close to it; a few streams side by side
//! lift both limits. Each channel runs a small worker on the cluster that reads framed parts
//! from stdin, writes each at its offset into `<file>.usine-part`, hashes what it stored and
//! answers with the hash: a part is confirmed (and recorded in the manifest) only when that hash
//! is the one computed here while reading it. So verification overlaps sending, a dropped link
//! loses at most the parts in flight, and a file is renamed into place when all its parts are
//! confirmed and the local file has not changed meanwhile.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{
    CHUNK, Entry, FileProblem, PARTIAL_SUFFIX, Progress, TransferError, hex, manifest, mtime_of,
    nul_separated,
};
use crate::ssh::{Connection, quote};
use crate::store::Store;
use crate::sync::Locked;

/// A large file travels in parts of this size: a dropped link re-sends at most one part per
/// channel.
pub const PART: u64 = 8 << 20;
/// Channels sending parts at once. sshd allows ten per connection by default; the others stay
/// free for the rest of the app (job polling, logs) on the same connection.
pub const CHANNELS: usize = 4;

/// The cluster's side of a channel: `OFFSET LENGTH NAME-LENGTH\n`, the name, then the part's
/// bytes; answers `OFFSET HASH` once the part is stored. The name is read as data (never parsed
/// by the shell) and `dd` reads exactly the part's length from the pipe. `openssl` hashes about
/// four times faster than coreutils' `sha256sum` where the CPU has SHA instructions; either
/// gives the same SHA-256. One line, no `!`: csh login shells pass it through unchanged.
const WORKER: &str = concat!(
    "cd -- \"$1\" || exit 1; ",
    super::checksums::sh_hash_stdin!(),
    "while read -r off len n; do \
    p=$(dd bs=\"$n\" count=1 iflag=fullblock status=none; echo x); p=\"${p%x}.usine-part\"; \
    dd of=\"$p\" bs=1M seek=\"$off\" oflag=seek_bytes conv=notrunc iflag=count_bytes,fullblock count=\"$len\" status=none || exit 1; \
    r=$(dd if=\"$p\" bs=1M skip=\"$off\" count=\"$len\" iflag=skip_bytes,count_bytes status=none | h) || exit 1; \
    echo \"$off ${r%% *}\"; \
    done"
);

/// One part of one file.
#[derive(Debug, Clone, Copy)]
struct Part {
    file: usize,
    offset: u64,
    len: u64,
}

/// A large file to send: its manifest entry and where it is read from.
pub(super) struct LargeFile<'a> {
    pub entry: &'a Entry,
    pub source: PathBuf,
}

/// What sending the large files did.
pub(super) struct Outcome {
    /// Bytes sent over the network in this run.
    pub sent: u64,
    /// Bytes the manifest counted as confirmed that turned out missing on the cluster (its
    /// part file was removed): they were sent again.
    pub forgotten: u64,
    pub problems: Vec<FileProblem>,
}

/// Sends every part of `files` the manifest does not hold as confirmed, on up to [`CHANNELS`]
/// channels, then renames each complete file into place.
pub(super) async fn send(
    conn: &Connection,
    store: &Mutex<Store>,
    id: &str,
    remote_root: &str,
    files: &[LargeFile<'_>],
    progress: &mut Progress,
    on_progress: &mut impl FnMut(&Progress),
) -> Result<Outcome, TransferError> {
    let mut outcome = Outcome {
        sent: 0,
        forgotten: 0,
        problems: Vec::new(),
    };
    if files.is_empty() {
        return Ok(outcome);
    }
    let mut confirmed = manifest::confirmed_parts(store, id)?;
    let held = prepare(conn, remote_root, files, &confirmed).await?;
    // Parts the manifest holds but the cluster lost (the part file is gone or shorter): forget.
    for (f, held) in files.iter().zip(held) {
        let Some(parts) = confirmed.get(&f.entry.rel) else {
            continue;
        };
        let end = parts.iter().map(|(o, l)| o + l).max().unwrap_or(0);
        if held < end as i64 {
            outcome.forgotten += parts.iter().map(|(_, l)| l).sum::<u64>();
            manifest::forget(store, id, &f.entry.rel)?;
            confirmed.remove(&f.entry.rel);
        }
    }
    progress.bytes_done -= outcome.forgotten.min(progress.bytes_done);

    let mut queue = VecDeque::new();
    for (i, f) in files.iter().enumerate() {
        let done: HashSet<u64> = confirmed
            .get(&f.entry.rel)
            .map(|p| p.iter().map(|(o, _)| *o).collect())
            .unwrap_or_default();
        let mut offset = 0;
        while offset < f.entry.size {
            let len = PART.min(f.entry.size - offset);
            if !done.contains(&offset) {
                queue.push_back(Part {
                    file: i,
                    offset,
                    len,
                });
            }
            offset += len;
        }
    }

    let queue = Mutex::new(queue);
    let sent = Arc::new(AtomicU64::new(0));
    let unreadable: Mutex<HashMap<usize, String>> = Mutex::new(HashMap::new());
    let confirmed = Mutex::new(confirmed);
    let base = progress.bytes_done;
    let confirmed_now = AtomicU64::new(0);
    let results = {
        let on_part = |part: &Part, intact: bool| -> Result<(), TransferError> {
            if !intact {
                return Ok(()); // not confirmed: the next run sends it again
            }
            let rel = &files[part.file].entry.rel;
            manifest::confirm_part(store, id, rel, part.offset, part.len)?;
            confirmed_now.fetch_add(part.len, Ordering::Relaxed);
            confirmed
                .locked()
                .entry(rel.clone())
                .or_default()
                .push((part.offset, part.len));
            Ok(())
        };
        let worker = || {
            run_worker(
                conn,
                remote_root,
                &queue,
                files,
                &sent,
                &unreadable,
                &on_part,
            )
        };
        let work = futures_util::future::join_all((0..CHANNELS).map(|_| worker()));
        tokio::pin!(work);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            tokio::select! {
                r = &mut work => break r,
                _ = tick.tick() => {
                    progress.bytes_done = base + sent.load(Ordering::Relaxed);
                    on_progress(progress);
                }
            }
        }
    };
    outcome.sent = sent.load(Ordering::Relaxed);
    results.into_iter().collect::<Result<(), _>>()?;

    // Rename into place what is complete and still what the manifest describes.
    let confirmed = confirmed.into_value();
    let unreadable = unreadable.into_value();
    let mut complete = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let have: u64 = confirmed
            .get(&f.entry.rel)
            .map_or(0, |p| p.iter().map(|(_, l)| l).sum());
        if let Some(why) = unreadable.get(&i) {
            outcome.problems.push(FileProblem {
                path: f.entry.rel.clone(),
                problem: crate::tr!(en: "could not be read: {why}", fr: "n'a pas pu être lu : {why}"),
            });
        } else if have < f.entry.size {
            outcome.problems.push(FileProblem {
                path: f.entry.rel.clone(),
                problem: crate::tr!(en: "some parts did not arrive intact; resume to send them again", fr: "des parties ne sont pas arrivées intactes ; reprenez pour les renvoyer"),
            });
        } else if !unchanged(f) {
            manifest::forget(store, id, &f.entry.rel)?;
            outcome.problems.push(FileProblem {
                path: f.entry.rel.clone(),
                problem: crate::tr!(en: "changed on this computer while it was sent; resume to send it again", fr: "a changé sur cet ordinateur pendant l'envoi ; reprenez pour le renvoyer"),
            });
        } else {
            complete.push(f);
        }
    }
    let placed = finish(conn, remote_root, &complete).await?;
    for (f, ok) in complete.iter().zip(placed) {
        if ok {
            manifest::record(store, id, &f.entry.rel, manifest::FileNews::Whole)?;
            progress.files_done += 1;
        } else {
            manifest::forget(store, id, &f.entry.rel)?;
            outcome.problems.push(FileProblem {
                path: f.entry.rel.clone(),
                problem: crate::tr!(en: "its parts on the cluster do not add up to the file (was the part file changed there?); resume to send it again", fr: "ses parties sur le cluster ne reconstituent pas le fichier (le fichier partiel a-t-il changé là-bas ?) ; reprenez pour le renvoyer"),
            });
        }
    }
    progress.bytes_done = base + confirmed_now.load(Ordering::Relaxed);
    on_progress(progress);
    Ok(outcome)
}

fn unchanged(f: &LargeFile<'_>) -> bool {
    std::fs::metadata(&f.source)
        .is_ok_and(|m| m.len() == f.entry.size && mtime_of(&m) == f.entry.mtime)
}

/// Makes the folders, empties the part files of files starting afresh (a stale part file from
/// elsewhere must not fill the gaps), and returns each part file's size (-1: none): one round
/// trip for all. Names go on stdin, each prefixed with `k` (keep) or `n` (new).
async fn prepare(
    conn: &Connection,
    remote_root: &str,
    files: &[LargeFile<'_>],
    confirmed: &HashMap<String, Vec<(u64, u64)>>,
) -> Result<Vec<i64>, TransferError> {
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            let flag = if confirmed.contains_key(&f.entry.rel) {
                'k'
            } else {
                'n'
            };
            format!("{flag}{}", f.entry.rel)
        })
        .collect();
    let script = format!(
        "mkdir -p -- {root} && cd -- {root} && xargs -0 sh -c 'for a; do f=${{a#?}}; \
         p=\"$f{PARTIAL_SUFFIX}\"; mkdir -p -- \"$(dirname -- \"$f\")\" || exit 1; \
         case $a in n*) : > \"$p\" || exit 1;; esac; stat -c %s -- \"$p\" 2>/dev/null || echo -1; \
         done' sh",
        root = quote(remote_root)
    );
    let out = conn
        .exec_with_input(&script, nul_separated(names.iter().map(String::as_str)))
        .await?;
    let sizes: Vec<i64> = out
        .stdout_text()
        .lines()
        .map(|l| l.trim().parse().unwrap_or(-1))
        .collect();
    if !out.success() || sizes.len() != files.len() {
        return Err(remote_failure(remote_root, out.stderr_text()));
    }
    Ok(sizes)
}

/// Renames each complete part file into place with its modification time, after checking its
/// size: one round trip. Each name travels as `SIZE:MTIME:NAME` on stdin.
async fn finish(
    conn: &Connection,
    remote_root: &str,
    files: &[&LargeFile<'_>],
) -> Result<Vec<bool>, TransferError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let args: Vec<String> = files
        .iter()
        .map(|f| format!("{}:{}:{}", f.entry.size, f.entry.mtime, f.entry.rel))
        .collect();
    let script = format!(
        "cd -- {} && xargs -0 sh -c 'for a; do s=${{a%%:*}}; r=${{a#*:}}; t=${{r%%:*}}; \
         f=${{r#*:}}; p=\"$f{PARTIAL_SUFFIX}\"; \
         if [ \"$(stat -c %s -- \"$p\" 2>/dev/null)\" = \"$s\" ] && mv -f -- \"$p\" \"$f\" && \
         touch -m -d \"@$t\" -- \"$f\"; then echo 1; else echo 0; fi; done' sh",
        quote(remote_root)
    );
    let out = conn
        .exec_with_input(&script, nul_separated(args.iter().map(String::as_str)))
        .await?;
    let placed: Vec<bool> = out.stdout_text().lines().map(|l| l == "1").collect();
    if placed.len() != files.len() {
        return Err(remote_failure(remote_root, out.stderr_text()));
    }
    Ok(placed)
}

fn remote_failure(root: &str, message: String) -> TransferError {
    if message.contains("No space left") || message.contains("Disk quota exceeded") {
        TransferError::Full(root.to_owned())
    } else {
        TransferError::Remote {
            path: root.to_owned(),
            message,
        }
    }
}

/// How reading one part went.
enum PartRead {
    /// Sent whole; its SHA-256.
    Sent(String),
    /// The file could not be opened: nothing was sent.
    Unopened(String),
    /// Reading failed midway: the rest of the part was sent as zeros to keep the stream framed,
    /// and the cluster's hash will not match.
    Broken(String),
    /// The channel closed (the worker on the cluster stopped).
    Closed,
}

/// One channel: takes parts from `queue` until it is empty, streams them to a worker on the
/// cluster and reports each part's answer to `on_part`.
async fn run_worker(
    conn: &Connection,
    remote_root: &str,
    queue: &Mutex<VecDeque<Part>>,
    files: &[LargeFile<'_>],
    sent: &Arc<AtomicU64>,
    unreadable: &Mutex<HashMap<usize, String>>,
    on_part: &(dyn Fn(&Part, bool) -> Result<(), TransferError> + Sync),
) -> Result<(), TransferError> {
    let next = || queue.locked().pop_front();
    let Some(first) = next() else {
        return Ok(());
    };
    let command = format!("sh -c {} sh {}", quote(WORKER), quote(remote_root));
    let (tx, rx) = mpsc::channel::<Vec<u8>>(8);
    // Parts in the order they were framed, with the local hash (None: the answer cannot match).
    let (order_tx, mut order_rx) = mpsc::unbounded_channel::<(Part, Option<String>)>();
    let (line_tx, mut line_rx) = mpsc::unbounded_channel::<String>();

    let producer = async move {
        let mut part = Some(first);
        while let Some(p) = part {
            let f = &files[p.file];
            let (source, rel) = (f.source.clone(), f.entry.rel.clone());
            let (tx, sent) = (tx.clone(), sent.clone());
            let read = tokio::task::spawn_blocking(move || read_part(&source, &rel, p, &tx, &sent))
                .await
                .unwrap_or_else(|e| PartRead::Unopened(e.to_string()));
            match read {
                PartRead::Sent(hash) => {
                    let _ = order_tx.send((p, Some(hash)));
                }
                PartRead::Broken(why) => {
                    let _ = order_tx.send((p, None));
                    unreadable.locked().insert(p.file, why);
                }
                PartRead::Unopened(why) => {
                    unreadable.locked().insert(p.file, why);
                }
                PartRead::Closed => break,
            }
            part = next();
        }
        // Dropping `tx` here ends the worker's stdin: it finishes the last part and exits.
    };
    let consumer = async {
        while let Some(line) = line_rx.recv().await {
            let Some((part, local)) = order_rx.recv().await else {
                break;
            };
            let mut words = line.split_whitespace();
            let intact = words.next() == Some(part.offset.to_string().as_str())
                && local.is_some()
                && words.next() == local.as_deref();
            on_part(&part, intact)?;
        }
        Ok::<(), TransferError>(())
    };
    let channel = async move {
        let mut pending = Vec::new();
        let mut sink = move |data: &[u8]| {
            pending.extend_from_slice(data);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let _ = line_tx.send(String::from_utf8_lossy(&line).trim().to_owned());
            }
        };
        conn.exec_streaming(&command, Some(rx), &mut sink).await
    };
    let ((), confirmed, out) = tokio::join!(producer, consumer, channel);
    let out = out?;
    confirmed?;
    if !out.success() {
        return Err(remote_failure(remote_root, out.stderr_text()));
    }
    Ok(())
}

/// Frames one part onto `tx` (header, name, bytes) while hashing it.
fn read_part(
    source: &std::path::Path,
    rel: &str,
    part: Part,
    tx: &mpsc::Sender<Vec<u8>>,
    sent: &AtomicU64,
) -> PartRead {
    let mut file = match std::fs::File::open(source) {
        Ok(f) => f,
        Err(e) => return PartRead::Unopened(e.to_string()),
    };
    if let Err(e) = file.seek(SeekFrom::Start(part.offset)) {
        return PartRead::Unopened(e.to_string());
    }
    let name = crate::cluster_files::names::decode(rel);
    let mut header = format!("{} {} {}\n", part.offset, part.len, name.len()).into_bytes();
    header.extend_from_slice(&name);
    if tx.blocking_send(header).is_err() {
        return PartRead::Closed;
    }
    let mut hasher = Sha256::new();
    let mut left = part.len;
    let mut broken = None;
    while left > 0 {
        let mut buf = vec![0u8; CHUNK.min(left as usize)];
        if broken.is_none() {
            match file.read(&mut buf) {
                Ok(0) => broken = Some("the file got shorter while it was sent".to_owned()),
                Ok(n) => buf.truncate(n),
                Err(e) => broken = Some(e.to_string()),
            }
        }
        hasher.update(&buf);
        left -= buf.len() as u64;
        let n = buf.len() as u64;
        if tx.blocking_send(buf).is_err() {
            return PartRead::Closed;
        }
        sent.fetch_add(n, Ordering::Relaxed);
    }
    match broken {
        None => PartRead::Sent(hex(&hasher.finalize())),
        Some(why) => PartRead::Broken(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker script, run by a real `sh` here, stores framed parts at their offsets under
    /// hostile names and answers with the SHA-256 of what it stored.
    #[test]
    fn the_worker_stores_parts_at_their_offsets_and_answers_their_hashes() {
        let dir = std::env::temp_dir().join(format!("usine-parts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let names = ["it's $(id) x", "-n\nline ", "ünï"];
        let data: Vec<Vec<u8>> = (0..3u8)
            .map(|i| (0..300_000u32).map(|b| (b as u8) ^ i).collect())
            .collect();
        // Second half first: the worker must write at the offset, not append.
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (name, bytes) in names.iter().zip(&data) {
            for (offset, len) in [(150_000usize, 150_000usize), (0, 150_000)] {
                stream.extend(format!("{offset} {len} {}\n", name.len()).into_bytes());
                stream.extend(name.as_bytes());
                stream.extend(&bytes[offset..offset + len]);
                expected.push(format!(
                    "{offset} {}",
                    hex(&Sha256::digest(&bytes[offset..offset + len]))
                ));
            }
        }
        let mut sh = std::process::Command::new("sh")
            .args(["-c", WORKER, "sh"])
            .arg(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(sh.stdin.as_mut().unwrap(), &stream).unwrap();
        drop(sh.stdin.take());
        let out = sh.wait_with_output().unwrap();
        assert!(out.status.success());
        let lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(lines, expected);
        for (name, bytes) in names.iter().zip(&data) {
            let stored = std::fs::read(dir.join(format!("{name}{PARTIAL_SUFFIX}"))).unwrap();
            assert!(stored == *bytes, "{name:?} differs");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
