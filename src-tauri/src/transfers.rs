//! Transfer commands: uploads and downloads in one list, each run as a background task that can
//! be paused (aborted: its manifest keeps what was confirmed), resumed, or cancelled.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Runtime, State};
use usine_core::app_events::{AppEvent, Ended, Progressed};
use usine_core::sync::Locked;
use usine_core::transfer::{self, Direction};
// Named as the UI names them (the command table reads these names).
use usine_core::transfer::{
    Cancelled as TransferCancelled, FilesPage as TransferFiles, Started as UploadStarted,
    Summary as TransferSummary,
};
use usine_core::{download, tr};

use crate::commands::{cluster_state, relay_questions};
use crate::error::UiError;
use crate::events;
use crate::state::AppState;

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn list_transfers(state: State<'_, AppState>) -> Result<Vec<TransferSummary>, UiError> {
    Ok(transfer::list(&state.store)?)
}

/// A page of a transfer's files with what became of each, problems first.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn transfer_files(
    state: State<'_, AppState>,
    id: String,
    offset: usize,
    limit: usize,
) -> Result<TransferFiles, UiError> {
    Ok(transfer::files(&state.store, &id, offset, limit)?)
}

/// Where `source` lands when sent into the cluster folder `into`, shown before sending.
#[tauri::command]
pub fn upload_place(source: String, into: String) -> Result<String, UiError> {
    Ok(transfer::place::on_cluster(Path::new(&source), &into)?)
}

/// Where the cluster folder `remote` lands when brought back into `into`, shown before.
#[tauri::command]
pub fn download_place(remote: String, into: String) -> Result<String, UiError> {
    Ok(transfer::place::here(&remote, Path::new(&into))?
        .display()
        .to_string())
}

/// Records uploads of the files and folders picked or dropped together (`sources`) into the
/// cluster folder `into`, one per folder they come from, and starts them in the background;
/// progress and the end come as events.
#[tauri::command]
#[tracing::instrument(skip(app, state, sources), fields(sources = sources.len()), err(Debug))]
pub fn start_upload<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    sources: Vec<String>,
    into: String,
    by_checksum: bool,
) -> Result<Vec<UploadStarted>, UiError> {
    let compare = transfer::Compare::by_checksum(by_checksum);
    let sources: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
    let started = transfer::begin_many(&state.store, &cluster, &sources, &into, compare)?;
    run_uploads(&app, &cluster, &started);
    Ok(started)
}

/// Brings a folder (or a file) back from a cluster in the background over its shared
/// connection; progress and the end come as events under the id returned. Starting the same
/// download again continues it.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn start_download<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    source: String,
    destination: String,
) -> Result<String, UiError> {
    usine_core::cluster::get(&state.store(), &cluster)?; // an unknown cluster is said at once
    let id = download::begin(&state.store, &cluster, &source, Path::new(&destination))?;
    run(app, cluster, id.clone(), Direction::Down);
    Ok(id)
}

/// Brings a finished job's outputs back into its results folder in Downloads, in one click: one
/// download per output folder, whose ids are returned.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn bring_back_job<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<String>, UiError> {
    let (cluster, ids) = download::begin_job(&state.store, &id)?;
    for id in &ids {
        run(app.clone(), cluster.clone(), id.clone(), Direction::Down);
    }
    Ok(ids)
}

/// Continues a paused, interrupted or failed transfer, either way.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn resume_transfer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<(), UiError> {
    let summary = transfer::get(&state.store, &id)?;
    run(app, summary.cluster, id, summary.direction);
    Ok(())
}

/// Stops a running transfer now. Nothing confirmed is lost: Resume continues from there.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn pause_transfer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<(), UiError> {
    let direction = stop_task(&state, &id)?.direction;
    transfer::pause(&state.store, &id)?;
    let paused = Ended {
        id,
        paused: true,
        ..Ended::default()
    };
    let _ = events::send(&app, done_event(direction, paused));
    Ok(())
}

/// Stops a transfer for good; with `delete_sent`, also deletes what it wrote (on the cluster
/// for an upload, here for a download), never what was already there.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn cancel_transfer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    delete_sent: bool,
) -> Result<TransferCancelled, UiError> {
    let cluster = stop_task(&state, &id)?.cluster;
    let questions = relay_questions(app, cluster);
    let cs = &state.connections;
    Ok(transfer::cancel(cs, &state.store, &id, delete_sent, questions).await?)
}

/// Aborts the transfer's task if it runs here; the transfer.
fn stop_task(state: &AppState, id: &str) -> Result<TransferSummary, UiError> {
    if let Some(task) = state.transfers.locked().remove(id) {
        task.abort();
    }
    Ok(transfer::get(&state.store, id)?)
}

fn progress_event(direction: Direction, progressed: Progressed) -> AppEvent {
    match direction {
        Direction::Up => AppEvent::TransferProgress(progressed),
        Direction::Down => AppEvent::DownloadProgress(progressed),
    }
}

fn done_event(direction: Direction, ended: Ended) -> AppEvent {
    match direction {
        Direction::Up => AppEvent::TransferDone(ended),
        Direction::Down => AppEvent::DownloadDone(ended),
    }
}

/// Runs the recorded uploads in the background (the Data screen's, a draft's dropped inputs).
pub(crate) fn run_uploads<R: Runtime>(
    app: &AppHandle<R>,
    cluster: &str,
    started: &[UploadStarted],
) {
    for upload in started {
        run(
            app.clone(),
            cluster.to_owned(),
            upload.id.clone(),
            Direction::Up,
        );
    }
}

/// Runs the transfer `id` in the background, one task per transfer, reporting progress and its
/// end as events; a download's place may then be opened.
fn run<R: Runtime>(app: AppHandle<R>, cluster: String, id: String, direction: Direction) {
    let state = tauri::Manager::state::<AppState>(&app);
    let mut running = state.transfers.locked();
    if running.contains_key(&id) {
        return; // already running: one engine per transfer
    }
    let (task_id, task_app) = (id.clone(), app.clone());
    let task = tauri::async_runtime::spawn(async move {
        let app = task_app;
        let state = tauri::Manager::state::<AppState>(&app);
        let progressed = |p: &transfer::Progress| {
            let progress = Progressed {
                id: id.clone(),
                progress: p.clone(),
            };
            let _ = events::send(&app, progress_event(direction, progress));
        };
        let questions = relay_questions(app.clone(), cluster.clone());
        let on_state = |s| cluster_state(&app, &cluster, s);
        let (cs, store) = (&state.connections, &state.store);
        let result = match direction {
            Direction::Up => transfer::run(cs, store, &id, questions, progressed, on_state).await,
            Direction::Down => download::run(cs, store, &id, questions, progressed, on_state).await,
        };
        state.transfers.locked().remove(&id);
        if let (Ok(report), Direction::Down) = (&result, direction) {
            state.landed.locked().push(report.place.clone().into());
        }
        let result = result.map_err(|error| match direction {
            Direction::Up => error.to_string(),
            Direction::Down => tr!(
                en: "{} Resume it to continue where it stopped.",
                fr: "{} Reprenez-le pour continuer là où il s'est arrêté.",
                error
            ),
        });
        let _ = events::send(&app, done_event(direction, ended(id, result)));
    });
    running.insert(task_id, task);
}

/// How a transfer ended, for the window.
fn ended(id: String, result: Result<transfer::Report, String>) -> Ended {
    match result {
        Ok(report) => Ended {
            id,
            report: Some(report),
            ..Ended::default()
        },
        Err(error) => Ended {
            id,
            error: Some(error),
            ..Ended::default()
        },
    }
}
