//! Stopping a transfer, either way: pause (it resumes where it stopped), cancel (for good), and
//! cancel deleting what it wrote on the other side. Only files this transfer wrote are deleted,
//! never one that was already there (the manifest says which: `sent`), never through a link,
//! and the folders it made go only when they are left empty.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use ts_rs::TS;

use super::manifest::{self, Written};
use super::{
    ClusterTransferError, Direction, FileProblem, PARTIAL_SUFFIX, State, TransferError,
    nul_separated,
};
use crate::ssh::{Connection, quote};
use crate::store::Store;

/// What a cancel removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TransferCancelled")]
pub struct Cancelled {
    pub id: String,
    /// Files this transfer had written that were deleted (none when only cancelled).
    pub deleted: usize,
    #[ts(type = "number")]
    pub bytes_deleted: u64,
    /// What could not be deleted, and why.
    pub problems: Vec<FileProblem>,
}

/// A transfer running in another live process is that process's to stop.
fn not_elsewhere(store: &Mutex<Store>, id: &str) -> Result<(), TransferError> {
    let state = super::get(store, id)?.state;
    let owner = manifest::owner_of(store, id)?;
    if super::running_elsewhere(state, owner.as_deref()) {
        return Err(TransferError::AlreadyRunning(id.to_owned()));
    }
    Ok(())
}

/// Marks a transfer that this process stopped (its task aborted) as paused: it resumes from its
/// manifest. One that ended meanwhile keeps its state.
pub fn pause(store: &Mutex<Store>, id: &str) -> Result<(), TransferError> {
    not_elsewhere(store, id)?;
    if super::get(store, id)?.state == State::Running {
        manifest::set_ended(store, id, State::Paused)?;
    }
    Ok(())
}

/// Cancels a transfer for good (the caller stopped it first if it ran here); with
/// `delete_sent`, also deletes what it wrote: on the cluster for an upload (logging in if
/// needed), here for a download.
pub async fn cancel(
    connections: &crate::cluster::Connections,
    store: &Mutex<Store>,
    id: &str,
    delete_sent: bool,
    questions: crate::ssh::Questions,
) -> Result<Cancelled, ClusterTransferError> {
    not_elsewhere(store, id)?;
    let mut cancelled = Cancelled {
        id: id.to_owned(),
        deleted: 0,
        bytes_deleted: 0,
        problems: Vec::new(),
    };
    if delete_sent {
        let written = manifest::written(store, id)?;
        match written.direction {
            Direction::Down => delete_here(&written, &mut cancelled),
            Direction::Up => {
                let cluster = super::get(store, id)?.cluster;
                let settings = crate::cluster::get(&crate::store::lock(store), &cluster)?;
                let conn = connections.get(&settings, questions).await?;
                delete_on_cluster(&conn, &written, &mut cancelled).await?;
            }
        }
    }
    manifest::set_ended(store, id, State::Cancelled)?;
    Ok(cancelled)
}

/// The files to delete, under the root: what was written, and every file's partial copy.
fn candidates(written: &Written) -> (Vec<(String, u64)>, Vec<String>) {
    let partials = written
        .listed
        .iter()
        .map(|rel| format!("{rel}{PARTIAL_SUFFIX}"))
        .collect();
    (written.sent.clone(), partials)
}

/// Every folder between the root and these files, deepest first (the root itself excluded).
fn folders_of<'a>(rels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut folders = BTreeSet::new();
    for rel in rels {
        let mut rest = rel;
        while let Some((parent, _)) = rest.rsplit_once('/') {
            folders.insert(parent.to_owned());
            rest = parent;
        }
    }
    let mut folders: Vec<String> = folders.into_iter().collect();
    folders.sort_by_key(|f| std::cmp::Reverse(f.matches('/').count()));
    folders
}

async fn delete_on_cluster(
    conn: &Connection,
    written: &Written,
    cancelled: &mut Cancelled,
) -> Result<(), TransferError> {
    let root = crate::ssh::expand_home(conn, &written.remote_root).await?;
    // What is there now, found without following any link: only those are deleted, so a folder
    // replaced by a link meanwhile does not lead anywhere else.
    let out = conn
        .exec(&format!(
            "cd -- {} 2>/dev/null || exit 0; find . -type f -print0",
            quote(&root)
        ))
        .await?;
    let present: std::collections::HashSet<&[u8]> = out
        .stdout
        .split(|&b| b == 0)
        .filter_map(|p| p.strip_prefix(b"./"))
        .collect();
    let (sent, partials) = candidates(written);
    let here = |rel: &str| present.contains(crate::cluster_files::names::decode(rel).as_slice());
    let sent: Vec<&(String, u64)> = sent.iter().filter(|(rel, _)| here(rel)).collect();
    let partials: Vec<&String> = partials.iter().filter(|rel| here(rel)).collect();
    let doomed: Vec<&str> = sent
        .iter()
        .map(|(rel, _)| rel.as_str())
        .chain(partials.iter().map(|p| p.as_str()))
        .collect();
    if doomed.is_empty() {
        return Ok(());
    }
    let root_q = quote(&root);
    let out = conn
        .exec_with_input(
            &format!("cd -- {root_q} && xargs -0 -r rm -f --"),
            nul_separated(doomed.iter().copied()),
        )
        .await?;
    if !out.success() {
        return Err(TransferError::Remote {
            path: root,
            message: out.stderr_text(),
        });
    }
    // Then the folders they leave empty (rmdir refuses the others), deepest first.
    let folders = folders_of(doomed.iter().copied());
    conn.exec_with_input(
        &format!(
            "cd -- {root_q} && xargs -0 -r rmdir --ignore-fail-on-non-empty -- 2>/dev/null; exit 0"
        ),
        nul_separated(folders.iter().map(String::as_str)),
    )
    .await?;
    cancelled.deleted = sent.len();
    cancelled.bytes_deleted = sent.iter().map(|(_, size)| size).sum();
    // The folder made for a folder's upload goes too, when nothing else is in it.
    if written.local_root.is_dir() {
        conn.exec(&format!(
            "rmdir --ignore-fail-on-non-empty -- {} 2>/dev/null; exit 0",
            quote(&root)
        ))
        .await?;
    }
    Ok(())
}

fn delete_here(written: &Written, cancelled: &mut Cancelled) {
    let root = &written.local_root;
    let (sent, partials) = candidates(written);
    let mut removed = Vec::new();
    for (rel, size) in &sent {
        match remove_file_under(root, rel) {
            Ok(true) => {
                cancelled.deleted += 1;
                cancelled.bytes_deleted += size;
                removed.push(rel.as_str());
            }
            Ok(false) => {}
            Err(problem) => cancelled.problems.push(FileProblem {
                path: rel.clone(),
                problem,
            }),
        }
    }
    for partial in &partials {
        for name in [partial.clone(), format!("{partial}.done")] {
            if let Ok(true) = remove_file_under(root, &name) {
                removed.push(partial.as_str());
            }
        }
    }
    for folder in folders_of(removed.into_iter()) {
        // Fails, as it should, on a folder that still holds anything.
        let _ = std::fs::remove_dir(crate::cluster_files::names::under(root, &folder));
    }
}

/// Removes the regular file `rel` under `root` (a download's name: each part as its exact
/// bytes, as the download wrote it), refusing any link on the way; `false` when it is not there.
fn remove_file_under(root: &Path, rel: &str) -> Result<bool, String> {
    let mut path = root.to_owned();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(crate::cluster_files::names::here(part));
        match std::fs::symlink_metadata(&path) {
            Err(_) => return Ok(false),
            Ok(m) if m.file_type().is_symlink() => {
                return Err(crate::tr!(
                    en: "{} is now a link; Usine does not delete through links, so it was kept",
                    fr: "{} est maintenant un lien ; Usine ne supprime pas à travers les liens, il a donc été gardé",
                    parts[..=i].join("/")
                ));
            }
            Ok(m) if i + 1 == parts.len() && !m.is_file() => return Ok(false),
            Ok(_) => {}
        }
    }
    std::fs::remove_file(&path)
        .map(|()| true)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pausing_keeps_a_transfer_resumable_and_leaves_another_process_alone() {
        let dir = std::env::temp_dir().join(format!("usine-pause-{}", crate::store::new_id()));
        let store = Mutex::new(Store::open(&dir.join("usine.sqlite3")).unwrap());
        let id = manifest::insert(
            &store,
            "lab",
            Direction::Up,
            Path::new("/d"),
            None,
            "~/d",
            &[],
        )
        .unwrap();
        pause(&store, &id).unwrap();
        let state = super::super::get(&store, &id).unwrap().state;
        assert_eq!(state, State::Paused);
        assert!(state.resumable());

        // Running in a process of another computer: that one is not stopped from here.
        crate::store::lock(&store)
            .db
            .execute(
                "UPDATE transfers SET state = 'running', owner = 'elsewhere/1/1/x' WHERE id = ?1",
                [&id],
            )
            .unwrap();
        assert!(matches!(
            pause(&store, &id),
            Err(TransferError::AlreadyRunning(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn folders_come_deepest_first_and_never_the_root() {
        let folders = folders_of(["a/b/c.txt", "a/d.txt", "top.txt", "x/y/z/w"].into_iter());
        assert_eq!(folders, ["x/y/z", "a/b", "x/y", "a", "x"]);
    }

    #[cfg(unix)]
    #[test]
    fn deleting_here_removes_only_what_was_written_and_never_through_a_link() {
        let dir = std::env::temp_dir().join(format!("usine-stop-{}", crate::store::new_id()));
        let root = dir.join("into");
        let outside = dir.join("outside");
        std::fs::create_dir_all(root.join("42/sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("42/sub/a.txt"), "aaa").unwrap();
        std::fs::write(root.join("42/kept.txt"), "was already here").unwrap();
        std::fs::write(root.join("42/big.bin.usine-part"), "part").unwrap();
        std::fs::write(root.join("42/big.bin.usine-part.done"), "0\n").unwrap();
        std::fs::write(outside.join("b.txt"), "not ours").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("42/link")).unwrap();
        let written = Written {
            direction: Direction::Down,
            local_root: root.clone(),
            remote_root: "~/runs/42".into(),
            sent: vec![("42/sub/a.txt".into(), 3), ("42/link/b.txt".into(), 8)],
            listed: vec![
                "42/sub/a.txt".into(),
                "42/kept.txt".into(),
                "42/big.bin".into(),
                "42/link/b.txt".into(),
            ],
        };
        let mut cancelled = Cancelled {
            id: "t".into(),
            deleted: 0,
            bytes_deleted: 0,
            problems: Vec::new(),
        };
        delete_here(&written, &mut cancelled);
        assert_eq!((cancelled.deleted, cancelled.bytes_deleted), (1, 3));
        assert!(!root.join("42/sub").exists(), "the emptied folder goes");
        assert!(root.join("42/kept.txt").exists(), "what was there stays");
        assert!(!root.join("42/big.bin.usine-part").exists());
        assert!(!root.join("42/big.bin.usine-part.done").exists());
        assert!(outside.join("b.txt").exists(), "nothing through a link");
        assert_eq!(cancelled.problems.len(), 1);
        assert_eq!(cancelled.problems[0].path, "42/link/b.txt");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
