//! What a native file dialog asks for, and what may be opened on this computer afterwards. The
//! window never gets general file-system access: it receives only the paths the person picked
//! or dropped, and it can open only what Usine itself brought back, or a link of the catalogue.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use ts_rs::TS;

/// Why a dialog is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PickKind {
    /// Files to send to a cluster.
    FilesToSend,
    /// A folder to send to a cluster.
    FolderToSend,
    /// The folder results come back into.
    DownloadInto,
    /// An sbatch script to turn into a draft.
    Script,
    /// A private SSH key.
    KeyFile,
}

/// The dialog for a [`PickKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub title: String,
    pub folder: bool,
    pub many: bool,
    /// A filter's name and its extensions (none: every file).
    pub filter: Option<(String, &'static [&'static str])>,
    /// Where it opens.
    pub start: Option<PathBuf>,
}

/// The dialog that asks for `kind`.
pub fn dialog(kind: PickKind) -> Dialog {
    let home = std::env::home_dir();
    let (title, folder, many) = match kind {
        PickKind::FilesToSend => (
            crate::tr!(en: "Files to send", fr: "Fichiers à envoyer"),
            false,
            true,
        ),
        PickKind::FolderToSend => (
            crate::tr!(en: "Folder to send", fr: "Dossier à envoyer"),
            true,
            false,
        ),
        PickKind::DownloadInto => (
            crate::tr!(en: "Bring results back into", fr: "Rapatrier les résultats dans"),
            true,
            false,
        ),
        PickKind::Script => (
            crate::tr!(en: "Job script to import", fr: "Script de job à importer"),
            false,
            false,
        ),
        PickKind::KeyFile => (
            crate::tr!(en: "Your private SSH key", fr: "Votre clé SSH privée"),
            false,
            false,
        ),
    };
    let filter = match kind {
        PickKind::Script => Some((
            crate::tr!(en: "Job scripts", fr: "Scripts de job"),
            ["sbatch", "slurm", "sh", "job", "bash"].as_slice(),
        )),
        _ => None,
    };
    let start = match kind {
        PickKind::KeyFile => home.map(|h| h.join(".ssh")).filter(|p| p.is_dir()),
        _ => home,
    };
    Dialog {
        title,
        folder,
        many,
        filter,
        start,
    }
}

/// Usine opens only what a download of this session brought back.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::tr!(
    en: "Usine opens only what it brought back in this session; open {} from your file manager.",
    fr: "Usine n'ouvre que ce qu'il a rapatrié pendant cette session ; ouvrez {} depuis votre gestionnaire de fichiers.",
    .0.display()
))]
pub struct NotBroughtBack(pub PathBuf);

impl crate::error_kind::HasKind for NotBroughtBack {
    fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Refused
    }
}

/// Whether the window may open `path`: it lies in one of `landed`, the places downloads of
/// this session filled.
pub fn may_open(path: &Path, landed: &[PathBuf]) -> Result<(), NotBroughtBack> {
    match is_within(path, landed) {
        true => Ok(()),
        false => Err(NotBroughtBack(path.to_owned())),
    }
}

/// Whether `path` is one of `roots` or inside one, compared after resolving links and `..`, so
/// that a path cannot climb out of a folder Usine filled.
pub fn is_within(path: &Path, roots: &[PathBuf]) -> bool {
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .any(|root| path.starts_with(root))
}

/// Whether `url` is a link of the site catalogue (a portal or documentation page), the only
/// web pages the window may ask to open.
pub fn is_catalogue_link(url: &str) -> bool {
    url.starts_with("https://")
        && crate::sites::all()
            .iter()
            .any(|s| s.key_portal == url || s.docs == url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_given_folders_are_within() {
        let root = std::env::temp_dir().join(format!("usine-within-{}", std::process::id()));
        std::fs::create_dir_all(root.join("results/run")).unwrap();
        let roots = [root.join("results")];
        assert!(is_within(&root.join("results/run"), &roots));
        assert!(is_within(&root.join("results"), &roots));
        assert!(!is_within(&root.join("results/../"), &roots));
        assert!(!is_within(Path::new("/etc/passwd"), &roots));
        assert!(!is_within(&root.join("results/missing"), &roots));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("results/etc")).unwrap();
            assert!(!is_within(&root.join("results/etc/passwd"), &roots));
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn catalogue_links_open_and_others_do_not() {
        let site = crate::sites::all()
            .into_iter()
            .find(|s| !s.docs.is_empty())
            .unwrap();
        assert!(is_catalogue_link(&site.docs));
        assert!(!is_catalogue_link("https://evil.example/"));
        assert!(!is_catalogue_link("file:///etc/passwd"));
    }

    #[test]
    fn each_dialog_asks_for_the_right_thing() {
        assert!(dialog(PickKind::DownloadInto).folder);
        assert!(dialog(PickKind::FilesToSend).many);
        assert!(dialog(PickKind::Script).filter.is_some());
        assert!(!dialog(PickKind::KeyFile).folder);
    }
}
