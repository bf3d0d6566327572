//! The cluster file browser's commands, the native file dialogs, files dropped on the window,
//! and opening what came back. Each command is the core's use case in a few lines.

use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;
use usine_core::app_events::{AppEvent, Dropped};
use usine_core::cluster_files::{self as files, OnCluster};
// Named as the UI names them (the command table reads these names).
use usine_core::cluster_files::{
    ClusterPlace, Deleted, IfTaken, Moved, Page as FolderPage, Preview as FilePreview,
    Size as PathSize, Tail as FileTail, View as FolderView,
};
use usine_core::local_pick::{self, PickKind};
use usine_core::sync::Locked;
use usine_core::tr;

use crate::commands::relay_questions;
use crate::error::UiError;
use crate::events;
use crate::state::AppState;

fn on<'a, R: Runtime>(app: &AppHandle<R>, state: &'a AppState, cluster: &'a str) -> OnCluster<'a> {
    OnCluster {
        store: &state.store,
        connections: &state.connections,
        cluster,
        questions: relay_questions(app.clone(), cluster.to_owned()),
    }
}

/// The home, scratch, work and project folders of a cluster, with their room.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn cluster_places<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
) -> Result<Vec<ClusterPlace>, UiError> {
    Ok(files::places(&on(&app, &state, &cluster)).await?)
}

/// A page of a cluster folder: listed again when `fresh`, else from the last listing.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn browse_cluster<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    path: String,
    view: FolderView,
    fresh: bool,
) -> Result<FolderPage, UiError> {
    let on = on(&app, &state, &cluster);
    Ok(files::browse(&on, &state.listings, &path, &view, fresh).await?)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn measure_cluster_path<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    path: String,
) -> Result<PathSize, UiError> {
    Ok(files::measure(&on(&app, &state, &cluster), &path).await?)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn make_cluster_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    path: String,
) -> Result<String, UiError> {
    Ok(files::make_folder(&on(&app, &state, &cluster), &path, false).await?)
}

/// Renames an entry of `folder`; a taken name comes back as `taken` (nothing changed) unless
/// `ifTaken` says to replace.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn rename_cluster_entry<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    folder: String,
    name: String,
    new_name: String,
    if_taken: IfTaken,
) -> Result<Moved, UiError> {
    let on = on(&app, &state, &cluster);
    Ok(files::rename(&on, &folder, &name, &new_name, if_taken).await?)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn delete_cluster_path<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    path: String,
) -> Result<Deleted, UiError> {
    // The screen has asked, naming what goes and its size: folders go with what they hold.
    Ok(files::delete(&on(&app, &state, &cluster), &path, true).await?)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn preview_cluster_file<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    path: String,
) -> Result<FilePreview, UiError> {
    Ok(files::preview(&on(&app, &state, &cluster), &path).await?)
}

/// What a log gained since `from` (its last `to`), or its end when `from` is null.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn tail_cluster_file<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    path: String,
    from: Option<u64>,
) -> Result<FileTail, UiError> {
    Ok(files::tail(&on(&app, &state, &cluster), &path, from).await?)
}

/// Shows the native dialog for `kind`; the paths chosen (none when cancelled).
#[tauri::command]
#[tracing::instrument(skip(app))]
pub async fn pick_paths<R: Runtime>(app: AppHandle<R>, kind: PickKind) -> Vec<String> {
    let asked = local_pick::dialog(kind);
    let dialog = builder(&app, &asked);
    let (tx, rx) = tokio::sync::oneshot::channel();
    match (asked.folder, asked.many) {
        (true, _) => dialog.pick_folder(|p| drop(tx.send(p.into_iter().collect()))),
        (false, true) => dialog.pick_files(|p| drop(tx.send(p.unwrap_or_default()))),
        (false, false) => dialog.pick_file(|p| drop(tx.send(p.into_iter().collect()))),
    }
    let picked: Vec<tauri_plugin_dialog::FilePath> = rx.await.unwrap_or_default();
    picked.into_iter().map(|p| p.to_string()).collect()
}

/// The plugin's dialog with the core's title, starting folder and filter.
fn builder<R: Runtime>(
    app: &AppHandle<R>,
    asked: &local_pick::Dialog,
) -> tauri_plugin_dialog::FileDialogBuilder<R> {
    let mut dialog = app.dialog().file().set_title(&asked.title);
    if let Some(start) = &asked.start {
        dialog = dialog.set_directory(start);
    }
    if let Some((name, extensions)) = &asked.filter {
        dialog = dialog.add_filter(name, extensions);
    }
    dialog
}

/// Opens a folder or file that Usine brought back (in the system's file manager or its
/// application), or shows it in its folder with `reveal`; nothing else on this computer.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn open_on_computer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: String,
    reveal: bool,
) -> Result<(), UiError> {
    let path = std::path::PathBuf::from(path);
    local_pick::may_open(&path, &state.landed.locked())?;
    let opener = app.opener();
    let opened = match reveal {
        true => opener.reveal_item_in_dir(&path),
        false => opener.open_path(path.to_string_lossy(), None::<&str>),
    };
    opened.map_err(|e| refused(e.to_string()))
}

/// Opens a site's portal or documentation page (a link of the catalogue) in the system browser.
#[tauri::command]
#[tracing::instrument(skip(app), err(Debug))]
pub fn open_link<R: Runtime>(app: AppHandle<R>, url: String) -> Result<(), UiError> {
    if !local_pick::is_catalogue_link(&url) {
        return Err(refused(
            tr!(en: "Usine opens only its sites' own pages.", fr: "Usine n'ouvre que les pages de ses sites."),
        ));
    }
    app.opener()
        .open_url(&url, None::<&str>)
        .map_err(|e| refused(e.to_string()))
}

/// Opens a page the core built (a browser login's, a session's) in the system browser, or in
/// the program `USINE_BROWSER` names (a browser other than the default one, or the lab's test
/// browser). The address may carry a secret: it is never logged.
pub(crate) fn open_page<R: Runtime>(app: &AppHandle<R>, url: &str) {
    let with = std::env::var("USINE_BROWSER")
        .ok()
        .filter(|b| !b.is_empty());
    if app.opener().open_url(url, with).is_err() {
        // Not the error itself: it may quote the address.
        tracing::warn!("could not start the browser for a page");
    }
}

fn refused(message: String) -> UiError {
    UiError {
        kind: usine_core::error_kind::ErrorKind::Refused,
        message,
    }
}

/// Tells the window what was dropped on it and where.
pub fn dropped<R: Runtime>(app: &AppHandle<R>, paths: &[std::path::PathBuf], x: f64, y: f64) {
    tracing::debug!(count = paths.len(), x, y, "files dropped on the window");
    let paths = paths.iter().map(|p| p.display().to_string()).collect();
    let _ = events::send(app, AppEvent::FilesDropped(Dropped { paths, x, y }));
}
