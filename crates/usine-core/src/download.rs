//! Downloads of results (job output folders) with the same guarantees as uploads: the
//! cluster's `sha256sum` of every file is taken first, each file is checked against it on
//! arrival, files already here and identical are skipped, and a large file interrupted half-way
//! continues from its `.usine-part`. Names travel NUL-separated on stdin and in tar headers,
//! never through a shell, and nothing is written outside the chosen local folder.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ssh::{Connection, quote};
use crate::transfer::{
    FileProblem, LARGE_FILE, PARTIAL_SUFFIX, Progress, Report, TransferError, nul_separated,
};

struct RemoteFile {
    rel: String,
    size: u64,
    sha256: String,
}

/// Brings `remote_root` (a folder on the cluster) into `local_root`.
pub async fn download(
    conn: &Connection,
    remote_root: &str,
    local_root: &Path,
    mut on_progress: impl FnMut(&Progress) + Send,
) -> Result<Report, TransferError> {
    let local_err = |e: std::io::Error| TransferError::Source(local_root.to_owned(), e.to_string());
    std::fs::create_dir_all(local_root).map_err(local_err)?;
    let (files, mut problems) = list(conn, remote_root).await?;
    let mut report = Report {
        transfer_id: String::new(),
        files: files.len(),
        verified: 0,
        bytes_sent: 0,
        bytes_skipped: 0,
        problems: Vec::new(),
    };
    let mut progress = Progress {
        bytes_done: 0,
        bytes_total: files.iter().map(|f| f.size).sum(),
        files_done: 0,
        files_total: files.len(),
        current: None,
    };

    // What is already here and identical is not fetched again.
    let mut wanted: Vec<&RemoteFile> = Vec::new();
    for f in &files {
        let path = local_root.join(&f.rel);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == f.size)
            && sha256_file(&path).ok().as_ref() == Some(&f.sha256)
        {
            report.verified += 1;
            report.bytes_skipped += f.size;
            progress.bytes_done += f.size;
            progress.files_done += 1;
        } else {
            wanted.push(f);
        }
    }
    on_progress(&progress);

    let (large, small): (Vec<&RemoteFile>, Vec<&RemoteFile>) =
        wanted.iter().partition(|f| f.size >= LARGE_FILE);
    for f in large {
        progress.current = Some(f.rel.clone());
        let (received, held) = fetch_large(
            conn,
            remote_root,
            local_root,
            f,
            &mut progress,
            &mut on_progress,
        )
        .await?;
        report.bytes_sent += received;
        report.bytes_skipped += held;
    }
    for batch in small.chunks(1000) {
        report.bytes_sent += fetch_batch(conn, remote_root, local_root, batch).await?;
        for f in batch {
            progress.bytes_done += f.size;
            progress.files_done += 1;
        }
        progress.current = batch.last().map(|f| f.rel.clone());
        on_progress(&progress);
    }

    // Every file fetched in this run is checked against the cluster's checksum (the skipped
    // ones were hashed above already).
    for f in wanted {
        let path = local_root.join(&f.rel);
        match sha256_file(&path) {
            Ok(h) if h == f.sha256 => report.verified += 1,
            Ok(_) => problems.push(FileProblem {
                path: f.rel.clone(),
                problem: crate::tr!(en: "its checksum differs from the cluster's (did it change during the download?); download again", fr: "sa somme de contrôle diffère de celle du cluster (a-t-il changé pendant le téléchargement ?) ; téléchargez à nouveau"),
            }),
            Err(e) => problems.push(FileProblem { path: f.rel.clone(), problem: crate::tr!(en: "missing here after the download: {e}", fr: "absent ici après le téléchargement : {e}") }),
        }
    }
    report.problems = problems;
    Ok(report)
}

/// Every regular file under `remote_root`, with its size and the cluster's SHA-256.
/// Symbolic links are not followed (`find -type f`), so nothing outside the folder comes along.
async fn list(
    conn: &Connection,
    remote_root: &str,
) -> Result<(Vec<RemoteFile>, Vec<FileProblem>), TransferError> {
    let root = quote(remote_root);
    let out = conn
        .exec(&format!(
            "cd -- {root} && find . -type f -printf '%s %P\\0'"
        ))
        .await?;
    if !out.success() {
        return Err(TransferError::Remote {
            path: remote_root.to_owned(),
            message: out.stderr_text(),
        });
    }
    let mut problems = Vec::new();
    let mut entries: Vec<(String, u64)> = Vec::new();
    for record in out.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Ok(text) = std::str::from_utf8(record) else {
            problems.push(FileProblem {
                path: String::from_utf8_lossy(record).into_owned(),
                problem: crate::tr!(en: "its name is not valid text (UTF-8); not downloaded", fr: "son nom n'est pas du texte valide (UTF-8) ; non téléchargé"),
            });
            continue;
        };
        let Some((size, rel)) = text.split_once(' ') else {
            continue;
        };
        if !Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            problems.push(FileProblem {
                path: rel.to_owned(),
                problem: crate::tr!(en: "its path would leave the folder; not downloaded", fr: "son chemin sortirait du dossier ; non téléchargé"),
            });
            continue;
        }
        entries.push((rel.to_owned(), size.parse().unwrap_or(0)));
    }
    let rx = nul_separated(entries.iter().map(|(r, _)| r.as_str()));
    let sums = conn
        .exec_with_input(
            &format!("cd -- {root} && xargs -0 -r sha256sum --zero --"),
            rx,
        )
        .await?;
    let hashes: HashMap<String, String> = sums
        .stdout
        .split(|&b| b == 0)
        .filter_map(|rec| {
            let (h, n) = std::str::from_utf8(rec).ok()?.split_once("  ")?;
            Some((n.to_owned(), h.to_owned()))
        })
        .collect();
    let files = entries
        .into_iter()
        .filter_map(|(rel, size)| match hashes.get(&rel) {
            Some(h) => Some(RemoteFile {
                sha256: h.clone(),
                rel,
                size,
            }),
            None => {
                problems.push(FileProblem {
                    path: rel,
                    problem: crate::tr!(en: "the cluster could not read it", fr: "le cluster n'a pas pu le lire"),
                });
                None
            }
        })
        .collect();
    Ok((files, problems))
}

/// Appends to `<file>.usine-part` from where it stopped, then renames it when complete.
async fn fetch_large(
    conn: &Connection,
    remote_root: &str,
    local_root: &Path,
    f: &RemoteFile,
    progress: &mut Progress,
    on_progress: &mut (impl FnMut(&Progress) + Send),
) -> Result<(u64, u64), TransferError> {
    let target = local_root.join(&f.rel);
    let partial = PathBuf::from(format!("{}{PARTIAL_SUFFIX}", target.display()));
    let io = |e: std::io::Error| TransferError::Source(partial.clone(), e.to_string());
    if let Some(dir) = partial.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let held = std::fs::metadata(&partial)
        .map(|m| m.len())
        .unwrap_or(0)
        .min(f.size);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&partial)
        .map_err(io)?;
    file.set_len(held).map_err(io)?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    std::io::Seek::seek(&mut writer, std::io::SeekFrom::Start(held)).map_err(io)?;
    let base = progress.bytes_done;
    progress.bytes_done += held;
    let path = format!("{}/{}", remote_root.trim_end_matches('/'), f.rel);
    let mut received = 0u64;
    let mut write_error = None;
    let mut last_report = std::time::Instant::now();
    let mut sink = |data: &[u8]| {
        if write_error.is_none()
            && let Err(e) = std::io::Write::write_all(&mut writer, data)
        {
            write_error = Some(e);
        }
        received += data.len() as u64;
        if last_report.elapsed() > std::time::Duration::from_millis(250) {
            last_report = std::time::Instant::now();
            progress.bytes_done = base + held + received;
            on_progress(progress);
        }
    };
    let out = conn
        .exec_streaming(
            &format!("tail -c +{} -- {}", held + 1, quote(&path)),
            None,
            &mut sink,
        )
        .await;
    let flushed = std::io::Write::flush(&mut writer);
    drop(writer);
    let out = out?;
    if let Some(e) = write_error {
        return Err(io(e));
    }
    flushed.map_err(io)?;
    if !out.success() {
        return Err(TransferError::Remote {
            path,
            message: out.stderr_text(),
        });
    }
    if std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0) == f.size {
        std::fs::rename(&partial, &target).map_err(io)?;
    }
    progress.bytes_done = base + f.size;
    progress.files_done += 1;
    on_progress(progress);
    Ok((received, held))
}

/// One tar stream for many small files, unpacked here as it arrives.
async fn fetch_batch(
    conn: &Connection,
    remote_root: &str,
    local_root: &Path,
    batch: &[&RemoteFile],
) -> Result<u64, TransferError> {
    let rx = nul_separated(batch.iter().map(|f| f.rel.as_str()));
    // The unpacking runs on a blocking thread, fed through a bounded channel.
    let (chunks_tx, chunks_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let dest = local_root.to_owned();
    let unpacker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx: chunks_rx,
            buf: Vec::new(),
            pos: 0,
        };
        // `unpack` refuses entries that would land outside `dest` (absolute paths, `..`).
        tar::Archive::new(reader).unpack(&dest)
    });
    let mut bytes = 0u64;
    let mut sink = |data: &[u8]| {
        bytes += data.len() as u64;
        let _ = chunks_tx.send(data.to_vec());
    };
    let out = conn
        .exec_streaming(
            &format!("tar -C {} --null -T - -cf -", quote(remote_root)),
            Some(rx),
            &mut sink,
        )
        .await;
    drop(chunks_tx);
    let unpacked = unpacker
        .await
        .map_err(|e| TransferError::Source(local_root.to_owned(), e.to_string()))?;
    let out = out?;
    if !out.success() {
        return Err(TransferError::Remote {
            path: remote_root.to_owned(),
            message: out.stderr_text(),
        });
    }
    unpacked.map_err(|e| TransferError::Source(local_root.to_owned(), e.to_string()))?;
    Ok(bytes)
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

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
