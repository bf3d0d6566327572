//! What is on this computer: the files of a source (what cannot be sent is reported) and their
//! checksums.

use std::path::{Component, Path};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::{Entry, FileProblem, TransferError};
use crate::cluster_files::names;

/// The files under `source` (or `source` itself), with what cannot be sent reported.
pub(super) fn scan(source: &Path) -> Result<(Vec<Entry>, Vec<FileProblem>), TransferError> {
    let meta = std::fs::metadata(source)
        .map_err(|e| TransferError::Source(source.to_owned(), e.to_string()))?;
    if meta.is_file() {
        let name = source
            .file_name()
            .and_then(names::of_here)
            .unwrap_or_default();
        return Ok((vec![entry(name, &meta)], vec![]));
    }
    let mut found = (Vec::new(), Vec::new());
    walk(source, source, &mut found);
    Ok(found)
}

/// The files of the items `names` of `folder`, picked or dropped together, named relative to
/// `folder` (`cats/1.jpg`, `notes.txt`). Only when none of them can be read is it an error.
pub(super) fn picked(
    folder: &Path,
    names: &[String],
) -> Result<(Vec<Entry>, Vec<FileProblem>), TransferError> {
    let mut found = (Vec::new(), Vec::new());
    let mut unreadable = None;
    for name in names {
        let path = folder.join(names::here(name));
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => found.0.push(entry(name.clone(), &m)),
            Ok(_) => walk(folder, &path, &mut found),
            Err(e) => {
                found.1.push(FileProblem {
                    path: name.clone(),
                    problem: crate::tr!(en: "cannot be read: {e}", fr: "illisible : {e}"),
                });
                unreadable.get_or_insert((path, e.to_string()));
            }
        }
    }
    match unreadable {
        Some((path, why)) if found.1.len() == names.len() => Err(TransferError::Source(path, why)),
        _ => Ok(found),
    }
}

fn entry(rel: String, meta: &std::fs::Metadata) -> Entry {
    Entry {
        rel,
        size: meta.len(),
        mtime: mtime_of(meta),
        confirmed: 0,
        sha256: None,
        verified: false,
    }
}

/// Lists the files under `start` (a folder of or below `root`), named relative to `root`.
fn walk(root: &Path, start: &Path, (files, problems): &mut (Vec<Entry>, Vec<FileProblem>)) {
    // Symbolic links are not followed: a loop or a link out of the folder cannot drag in more.
    for item in walkdir::WalkDir::new(start)
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
        let rel_path = item.path().strip_prefix(root).unwrap_or(item.path());
        // A name that is not UTF-8 goes as its bytes (carried as text, `names::encode`); only
        // Windows can have a name that is neither.
        let Some(rel) = names::of_here(rel_path.as_os_str()) else {
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
            Ok(m) => files.push(entry(rel, &m)),
            Err(e) => problems.push(FileProblem {
                path: rel,
                problem: crate::tr!(en: "cannot be read: {e}", fr: "illisible : {e}"),
            }),
        }
    }
}

/// Modification time in whole seconds since the epoch (0 when the system cannot tell).
pub(super) fn mtime_of(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn sha256_of(path: &Path) -> std::io::Result<String> {
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}
