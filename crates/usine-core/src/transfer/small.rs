//! Small files, packed into tar streams built in this process: no per-file round trip. Up to
//! [`LANES`] batches travel at once, each on its own channel; the cluster unpacks a batch and
//! answers with the SHA-256 of every file in it (the batch carries its own list of names), so a
//! batch is verified as it lands, while the next ones are still on their way.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::checksums::{self, HASH_NAMES};
use super::{CHUNK, Entry, FileProblem, PARTIAL_SUFFIX, Progress, TransferError, hex, manifest};
use crate::cluster_files::names;
use crate::ssh::{Connection, quote};
use crate::store::Store;
use crate::sync::Locked;

/// A tar batch closes after this many files or bytes: a resume re-sends at most the batches in
/// flight. Within those bounds the files are spread over the lanes (each batch costs a few round
/// trips, so fewer and fuller batches are faster far from the cluster).
const BATCH_FILES: usize = 5000;
const MIN_BATCH_FILES: usize = 250;
const BATCH_BYTES: u64 = 64 << 20;
/// Batches in flight at once: each waits a few round trips for its answer, the others fill them.
const LANES: usize = 4;

/// What sending the small files did.
pub(super) struct Outcome {
    pub sent: u64,
    pub problems: Vec<FileProblem>,
}

/// Where the small files are read from.
pub(super) struct Source<'a> {
    pub root: &'a Path,
    /// The upload is this one file (`root`), not a folder.
    pub single_file: bool,
}

impl Source<'_> {
    fn path(&self, rel: &str) -> PathBuf {
        if self.single_file {
            self.root.to_owned()
        } else {
            names::under(self.root, rel)
        }
    }
}

/// Sends `small` in tar batches on up to [`LANES`] channels; every file the cluster holds with
/// the right checksum is recorded as confirmed and verified.
#[allow(clippy::too_many_arguments)]
pub(super) async fn send(
    conn: &Connection,
    store: &Mutex<Store>,
    id: &str,
    source: &Source<'_>,
    remote_root: &str,
    small: &[&Entry],
    progress: &mut Progress,
    on_progress: &mut impl FnMut(&Progress),
) -> Result<Outcome, TransferError> {
    let queue = Mutex::new(VecDeque::from(batches(small)));
    let shared = Mutex::new(Shared {
        outcome: Outcome {
            sent: 0,
            problems: Vec::new(),
        },
        progress,
        on_progress,
    });
    let lanes = (0..LANES).map(|_| lane(conn, store, id, source, remote_root, &queue, &shared));
    let results = futures_util::future::join_all(lanes).await;
    results.into_iter().collect::<Result<(), TransferError>>()?;
    Ok(shared.into_value().outcome)
}

/// What the lanes update together.
struct Shared<'a, F> {
    outcome: Outcome,
    progress: &'a mut Progress,
    on_progress: &'a mut F,
}

/// One channel's worth of batches: takes batches from `queue` until it is empty.
async fn lane<F: FnMut(&Progress)>(
    conn: &Connection,
    store: &Mutex<Store>,
    id: &str,
    source: &Source<'_>,
    remote_root: &str,
    queue: &Mutex<VecDeque<Vec<&Entry>>>,
    shared: &Mutex<Shared<'_, F>>,
) -> Result<(), TransferError> {
    loop {
        let Some(batch) = queue.locked().pop_front() else {
            return Ok(());
        };
        let landed = send_batch(conn, store, id, source, remote_root, &batch).await?;
        let mut guard = shared.locked();
        let shared = &mut *guard;
        shared.outcome.sent += landed.bytes;
        shared.outcome.problems.extend(landed.problems);
        shared.progress.bytes_done += landed.bytes;
        shared.progress.files_done += landed.files;
        shared.progress.current = batch.last().map(|e| e.rel.clone());
        (shared.on_progress)(shared.progress);
    }
}

fn batches<'a>(small: &[&'a Entry]) -> Vec<Vec<&'a Entry>> {
    let per_batch = small
        .len()
        .div_ceil(LANES)
        .clamp(MIN_BATCH_FILES, BATCH_FILES);
    let mut out: Vec<Vec<&Entry>> = Vec::new();
    let mut bytes = 0;
    for &e in small {
        match out.last_mut() {
            Some(b) if b.len() < per_batch && bytes + e.size <= BATCH_BYTES => {
                bytes += e.size;
                b.push(e);
            }
            _ => {
                bytes = e.size;
                out.push(vec![e]);
            }
        }
    }
    out
}

/// What the cluster confirmed of one batch.
struct Landed {
    bytes: u64,
    files: usize,
    problems: Vec<FileProblem>,
}

async fn send_batch(
    conn: &Connection,
    store: &Mutex<Store>,
    id: &str,
    source: &Source<'_>,
    remote_root: &str,
    batch: &[&Entry],
) -> Result<Landed, TransferError> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(8);
    let files: Vec<(String, PathBuf)> = batch
        .iter()
        .map(|e| (e.rel.clone(), source.path(&e.rel)))
        .collect();
    // The list of names travels inside the stream, under a name no dataset uses.
    let names_member = format!(".usine-batch-{}", crate::store::new_id());
    let member = names_member.clone();
    // The tar stream is built on a blocking thread, hashing each file as it is read.
    let builder = tokio::task::spawn_blocking(move || build_tar(files, &member, tx));
    // The files are hashed whatever tar's outcome: what arrived whole is kept even when the
    // disk filled up halfway.
    // Through `sh`, whatever the login shell (csh has no if/then).
    let script = format!(
        "mkdir -p -- \"$1\" && cd -- \"$1\" && {{ tar -xf -; t=$?; \
         if [ -f \"$2\" ]; then {{ {HASH_NAMES}; }} < \"$2\" 2>/dev/null; \
         rm -f -- \"$2\"; fi; exit $t; }}"
    );
    let command = format!(
        "sh -c {} sh {} {}",
        quote(&script),
        quote(remote_root),
        quote(&names_member)
    );
    let out = conn.exec_with_input(&command, rx).await;
    let built = builder
        .await
        .map_err(|e| TransferError::Source(source.root.to_owned(), e.to_string()))?;
    let out = out?;
    let sent = checksums::by_name(batch.iter().map(|e| e.rel.as_str()));
    let theirs = checksums::records(&out.stdout, &sent);
    let message = out.stderr_text();
    let full = !out.success()
        && (message.contains("No space left") || message.contains("Disk quota exceeded"));
    if !out.success() && !full && theirs.is_empty() {
        return Err(TransferError::Remote {
            path: remote_root.to_owned(),
            message,
        });
    }
    let mut landed = Landed {
        bytes: 0,
        files: 0,
        problems: Vec::new(),
    };
    // Sent, but not on the cluster whole.
    let mut broken: Vec<&str> = Vec::new();
    // Recorded in one transaction for the whole batch.
    let mut whole: Vec<(&Entry, String)> = Vec::new();
    {
        for (entry, result) in batch.iter().zip(built) {
            match result {
                Ok(digest) if theirs.get(entry.rel.as_str()) == Some(&digest) => {
                    landed.bytes += entry.size;
                    landed.files += 1;
                    whole.push((entry, digest));
                }
                Ok(_) => {
                    broken.push(&entry.rel);
                    landed.problems.push(FileProblem {
                        path: entry.rel.clone(),
                        problem: crate::tr!(en: "its checksum on the cluster differs (the file changed while it was sent?); resume to send it again", fr: "sa somme de contrôle sur le cluster diffère (le fichier a-t-il changé pendant l'envoi ?) ; reprenez pour le renvoyer"),
                    })
                }
                Err(Unsent::Cut) => {
                    broken.push(&entry.rel);
                    landed.problems.push(FileProblem {
                        path: entry.rel.clone(),
                        problem: crate::tr!(en: "the upload stopped while it was sent; resume to send it again", fr: "l'envoi s'est arrêté pendant son transfert ; reprenez pour le renvoyer"),
                    })
                }
                Err(Unsent::Unreadable(why)) => landed.problems.push(FileProblem {
                    path: entry.rel.clone(),
                    problem: crate::tr!(en: "could not be read: {why}", fr: "n'a pas pu être lu : {why}"),
                }),
            }
        }
    }
    manifest::confirm_landed(store, id, &whole)?;
    if full {
        // Whatever did not arrive whole must not pass for a complete file on the cluster.
        mark_incomplete(conn, remote_root, &broken).await?;
        return Err(TransferError::Full(remote_root.to_owned()));
    }
    Ok(landed)
}

/// Renames files that did not arrive whole to `<name>.usine-part`, the mark of an incomplete
/// file (a resume sends them again). Names go on stdin.
async fn mark_incomplete(
    conn: &Connection,
    remote_root: &str,
    names: &[&str],
) -> Result<(), TransferError> {
    if names.is_empty() {
        return Ok(());
    }
    let command = format!(
        "cd -- {} && xargs -0 -r sh -c 'for f; do if [ -f \"$f\" ]; then \
         mv -f -- \"$f\" \"$f{PARTIAL_SUFFIX}\"; fi; done' sh",
        quote(remote_root)
    );
    conn.exec_with_input(&command, super::nul_separated(names.iter().copied()))
        .await?;
    Ok(())
}

/// Why a file of a batch did not go whole.
#[derive(Debug, PartialEq, Eq)]
enum Unsent {
    /// It could not be read here: nothing of it was sent.
    Unreadable(String),
    /// The stream stopped while it or a file before it was sent: the cluster may hold part of it.
    Cut,
}

/// Writes a tar stream of `files` into `out` in chunks, starting with a member `names_member`
/// that lists them (NUL-separated: the cluster has the list even when its disk fills up
/// halfway); returns each file's SHA-256 (or why it could not be read: it is then left out of
/// the stream).
fn build_tar(
    files: Vec<(String, PathBuf)>,
    names_member: &str,
    out: mpsc::Sender<Vec<u8>>,
) -> Vec<Result<String, Unsent>> {
    struct ChunkWriter {
        buf: Vec<u8>,
        out: mpsc::Sender<Vec<u8>>,
    }
    impl std::io::Write for ChunkWriter {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.buf.extend_from_slice(data);
            if self.buf.len() >= CHUNK {
                self.flush()?;
            }
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            if !self.buf.is_empty() {
                let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
                self.out
                    .blocking_send(chunk)
                    .map_err(|_| std::io::Error::other("the upload channel closed"))?;
            }
            Ok(())
        }
    }
    struct Hashing<R> {
        inner: R,
        hasher: Sha256,
    }
    impl<R: Read> Read for Hashing<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hasher.update(&buf[..n]);
            Ok(n)
        }
    }

    let mut tar = tar::Builder::new(ChunkWriter {
        buf: Vec::with_capacity(CHUNK),
        out,
    });
    let names: Vec<u8> = files
        .iter()
        .flat_map(|(rel, _)| checksums::asked(&names::decode(rel)).into_iter().chain([0]))
        .collect();
    let mut header = tar::Header::new_gnu();
    header.set_size(names.len() as u64);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    let listed = tar.append_data(&mut header, names_member, names.as_slice());
    let mut results = Vec::with_capacity(files.len());
    for (rel, path) in files {
        if listed.is_err() || tar.get_ref().out.is_closed() {
            results.push(Err(Unsent::Cut));
            continue;
        }
        let unreadable = |e: std::io::Error| Unsent::Unreadable(e.to_string());
        let result = (|| {
            let file = std::fs::File::open(&path).map_err(unreadable)?;
            let meta = file.metadata().map_err(unreadable)?;
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
            header.set_mtime(
                meta.modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs()),
            );
            let mut reader = Hashing {
                inner: file.take(meta.len()),
                hasher: Sha256::new(),
            };
            // append_data writes GNU long-name records for long or unusual names; the name in
            // the stream is the file's exact bytes.
            let name = std::path::PathBuf::from(names::here(&rel));
            tar.append_data(&mut header, &name, &mut reader)
                .map_err(|e| {
                    // The cluster stopped reading (its tar ended): part of the file may be there.
                    if tar.get_ref().out.is_closed() {
                        Unsent::Cut
                    } else {
                        unreadable(e)
                    }
                })?;
            Ok(hex(&reader.hasher.finalize()))
        })();
        results.push(result);
    }
    let _ = tar
        .into_inner()
        .and_then(|mut w| std::io::Write::flush(&mut w));
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fill_the_lanes_within_their_bounds() {
        let e = |size| Entry {
            rel: String::new(),
            size,
            mtime: 0,
            confirmed: 0,
            sha256: None,
            verified: false,
        };
        let sizes = |n: usize| {
            let small: Vec<Entry> = (0..n).map(|_| e(10)).collect();
            let refs: Vec<&Entry> = small.iter().collect();
            batches(&refs).iter().map(Vec::len).collect::<Vec<_>>()
        };
        // Spread over the four lanes...
        assert_eq!(sizes(10_000), [2500; 4]);
        // ...but never tiny batches (each costs round trips) nor huge ones (a resume re-sends
        // what was in flight).
        assert_eq!(sizes(600), [250, 250, 100]);
        assert_eq!(sizes(30_000), [5000; 6]);
        let big: Vec<Entry> = (0..5).map(|_| e(30 << 20)).collect();
        let refs: Vec<&Entry> = big.iter().collect();
        assert_eq!(
            batches(&refs).iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 2, 1]
        );
    }

    #[test]
    fn tar_stream_round_trips_through_real_tar_with_hostile_names() {
        let dir = std::env::temp_dir().join(format!("usine-tar-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("d")).unwrap();
        let names = [
            "it's $(id).txt",
            "d/-leading dash",
            "ünïcödé ✓",
            &"long".repeat(60),
        ];
        for (i, n) in names.iter().enumerate() {
            std::fs::write(src.join(n), format!("content {i}")).unwrap();
        }
        let files: Vec<(String, PathBuf)> =
            names.iter().map(|n| (n.to_string(), src.join(n))).collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let hashes = build_tar(files, ".names", tx);
        let mut stream = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            stream.extend(chunk);
        }
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let mut tar = std::process::Command::new("tar")
            .arg("-C")
            .arg(&out)
            .arg("-xf")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(tar.stdin.as_mut().unwrap(), &stream).unwrap();
        drop(tar.stdin.take());
        assert!(tar.wait().unwrap().success());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                std::fs::read_to_string(out.join(n)).unwrap(),
                format!("content {i}")
            );
            let expected = hex(&Sha256::digest(format!("content {i}").as_bytes()));
            assert_eq!(hashes[i].as_deref(), Ok(expected.as_str()));
        }
        // The batch lists its own files first, for the cluster to hash them once unpacked.
        let listed = std::fs::read(out.join(".names")).unwrap();
        let expected: Vec<u8> = names
            .iter()
            .flat_map(|n| format!("./{n}").into_bytes().into_iter().chain([0]))
            .collect();
        assert_eq!(listed, expected);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
