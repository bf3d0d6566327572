//! Where a sent or fetched file or folder lands. One rule both ways, the one `scp -r` and a file
//! manager's drag-and-drop follow: it goes *into* the folder the person chose and keeps its own
//! name. Sending `cats` to `~/datasets` makes `~/datasets/cats`; bringing back `~/runs/42` into
//! `~/results` makes `~/results/42`. Before, the guide made `datasets/cats` while the Data
//! screen spread the files of `cats` into `datasets`.

use std::path::{Component, Path, PathBuf};

use super::TransferError;

/// The folder the app suggests for data sent to a cluster: `datasets` in its scratch, else in
/// its work or project area, and only where none is known in the home (`~/datasets`): sites ask
/// for large data outside the home, whose quota is small. Every screen takes it from here.
pub fn suggested_folder(storage: &[crate::discovery::StorageArea]) -> String {
    ["scratch", "work", "project"]
        .iter()
        .find_map(|kind| storage.iter().find(|a| a.kind == *kind))
        .map_or_else(
            || "~/datasets".to_owned(),
            |a| format!("{}/datasets", a.path.trim_end_matches('/')),
        )
}

/// Where `source` (a file or folder on this computer) lands when sent into the cluster folder
/// `into`. `~` in either is kept as typed (each side expands its own home).
pub fn on_cluster(source: &Path, into: &str) -> Result<String, TransferError> {
    let name = local_name(source)?;
    let into = into.trim();
    let into = match into.trim_end_matches('/') {
        "" if into.starts_with('/') => "",
        "" => "~",
        kept => kept,
    };
    Ok(format!("{into}/{name}"))
}

/// The cluster folder holding a place [`on_cluster`] gave (`~/datasets` for `~/datasets/cats`).
pub(super) fn folder_of(place: &str) -> &str {
    match place.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((folder, _)) => folder,
        None => "",
    }
}

/// Where the cluster file or folder `remote` lands when brought back into `into` here.
pub fn here(remote: &str, into: &Path) -> Result<PathBuf, TransferError> {
    let last = remote.trim().trim_end_matches('/').rsplit('/').next();
    match last {
        Some(name) if !matches!(name, "" | "." | ".." | "~") => {
            Ok(crate::local_paths::expand(into).join(name))
        }
        _ => Err(TransferError::NoName(remote.to_owned())),
    }
}

/// The name a local file or folder keeps: `.` and `~` are named by the folder they stand for.
fn local_name(source: &Path) -> Result<String, TransferError> {
    Ok(folder_and_name(source)?.1)
}

/// The folder holding a local file or folder, and its name, with `~`, `.` and `..` resolved
/// (by hand: the folder need not exist yet to be named).
pub(super) fn folder_and_name(source: &Path) -> Result<(PathBuf, String), TransferError> {
    let expanded = crate::local_paths::expand(source);
    let absolute = std::path::absolute(&expanded).unwrap_or(expanded);
    let mut parts: Vec<Component> = Vec::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(parts.last(), Some(Component::Normal(_))) {
                    parts.pop();
                }
            }
            other => parts.push(other),
        }
    }
    match parts.pop() {
        Some(Component::Normal(name)) => {
            let carried = crate::cluster_files::names::of_here(name);
            let name = carried.unwrap_or_else(|| name.to_string_lossy().into_owned());
            Ok((parts.iter().collect(), name))
        }
        _ => Err(TransferError::NoName(source.display().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_goes_into_the_chosen_folder_under_its_own_name() {
        let cats = Path::new("/home/ann/datasets/cats");
        assert_eq!(on_cluster(cats, "~/datasets").unwrap(), "~/datasets/cats");
        assert_eq!(on_cluster(cats, "~/datasets/").unwrap(), "~/datasets/cats");
        assert_eq!(on_cluster(cats, "datasets").unwrap(), "datasets/cats");
        assert_eq!(on_cluster(cats, "/").unwrap(), "/cats");
        assert_eq!(on_cluster(cats, "  ").unwrap(), "~/cats");
        assert_eq!(
            on_cluster(Path::new("/home/ann/cats/"), "~").unwrap(),
            "~/cats"
        );
        assert_eq!(
            on_cluster(Path::new("/home/ann/cats/./x/.."), "~").unwrap(),
            "~/cats"
        );
        assert_eq!(
            on_cluster(Path::new("/home/ann/notes.txt"), "/scratch/ann").unwrap(),
            "/scratch/ann/notes.txt"
        );
    }

    #[test]
    fn tilde_and_dot_are_named_by_the_folder_they_stand_for() {
        let home = std::env::home_dir().unwrap();
        let name = home.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            on_cluster(Path::new("~"), "x").unwrap(),
            format!("x/{name}")
        );
        let here = std::env::current_dir().unwrap();
        let name = here.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            on_cluster(Path::new("."), "x").unwrap(),
            format!("x/{name}")
        );
        assert!(matches!(
            on_cluster(Path::new("/"), "x"),
            Err(TransferError::NoName(_))
        ));
    }

    #[test]
    fn data_goes_to_scratch_then_work_and_to_the_home_only_when_nothing_else_is_known() {
        let area = |kind: &str, path: &str| crate::discovery::StorageArea {
            kind: kind.into(),
            path: path.into(),
            free_bytes: None,
        };
        let home = area("home", "/users/ann");
        let work = area("project", "/project/p1/");
        let scratch = area("scratch", "/scratch/p1");
        assert_eq!(
            suggested_folder(&[home.clone(), work.clone(), scratch]),
            "/scratch/p1/datasets"
        );
        assert_eq!(
            suggested_folder(&[home.clone(), work]),
            "/project/p1/datasets"
        );
        assert_eq!(suggested_folder(&[home]), "~/datasets");
        assert_eq!(suggested_folder(&[]), "~/datasets");
    }

    #[test]
    fn results_come_back_into_the_chosen_folder_under_their_own_name() {
        let home = std::env::home_dir().unwrap();
        assert_eq!(
            here("~/runs/42/", Path::new("~/results")).unwrap(),
            home.join("results/42")
        );
        assert_eq!(
            here("/scratch/ann/out", Path::new("/tmp/r")).unwrap(),
            PathBuf::from("/tmp/r/out")
        );
        for nameless in ["~", "/", "", "runs/..", "."] {
            assert!(
                matches!(
                    here(nameless, Path::new("/tmp")),
                    Err(TransferError::NoName(_))
                ),
                "{nameless}"
            );
        }
    }
}
