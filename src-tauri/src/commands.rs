//! Tauri commands: one-screen adapters over `usine-core`.

use std::path::Path;

use serde::Deserialize;
use tauri::{AppHandle, Runtime, State};
use usine_core::cluster::{self, AskedQuestion, ClusterView, NewCluster};
use usine_core::discovery::ClusterProfile;
use usine_core::sites::{self, Site};
use usine_core::ssh::{Answer, ConnectionState, Questions, keygen};
use usine_core::target::Target;
use usine_core::transfer;
// Named as the UI names them (the command table reads these names).
use usine_core::transfer::{Started as UploadStarted, Summary as TransferSummary};
use zeroize::Zeroizing;

use crate::error::UiError;
use crate::events;
use crate::state::AppState;
use usine_core::app_events::{AppEvent, ClusterState, Ended, Progressed};
use usine_core::error_kind::ErrorKind;
use usine_core::sync::Locked;
use usine_core::tr;

/// Tells the window that a cluster's connection changed.
pub fn cluster_state<R: Runtime>(app: &AppHandle<R>, cluster: &str, state: ConnectionState) {
    let change = ClusterState {
        cluster: cluster.to_owned(),
        state,
    };
    let _ = events::send(app, AppEvent::ClusterState(change));
}

/// This computer as a target, with its host name (Home's card; clusters have their own list).
#[tauri::command]
#[tracing::instrument]
pub fn this_computer() -> Target {
    Target::this_computer()
}

#[tauri::command]
pub fn list_sites() -> Vec<Site> {
    sites::all()
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn list_clusters(state: State<'_, AppState>) -> Result<Vec<ClusterView>, UiError> {
    let connected = state.connections.connected().await;
    Ok(cluster::views(&state.store(), &connected)?)
}

/// A new ed25519 key at the default place (or the next free name), its passphrase generated
/// and kept in the keychain.
#[tauri::command]
#[tracing::instrument(err(Debug))]
pub async fn generate_key(comment: String) -> Result<keygen::GeneratedKey, UiError> {
    let path = keygen::free_path(&keygen::default_path());
    Ok(keygen::generate_ed25519(&path, &comment, keygen::Passphrase::Generated).await?)
}

#[tauri::command]
pub fn ssh_config_candidates() -> usine_core::ssh_config::Candidates {
    usine_core::ssh_config::candidates(&usine_core::ssh_config::default_path())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn add_cluster(state: State<'_, AppState>, cluster: NewCluster) -> Result<(), UiError> {
    cluster::add_new(&state.store(), &cluster)?;
    Ok(())
}

/// Adds the host called `alias` in the person's OpenSSH config.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn import_cluster(state: State<'_, AppState>, alias: String) -> Result<(), UiError> {
    let config = usine_core::ssh_config::default_path();
    let done = usine_core::ssh_config::add_hosts(&state.store(), &config, &[alias]);
    match done.nothing_because() {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn forget_cluster(state: State<'_, AppState>, name: String) -> Result<(), UiError> {
    Ok(cluster::forget(&state.store(), &name)?)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn connect_cluster<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Result<ClusterProfile, UiError> {
    let questions = relay_questions(app.clone(), name.clone());
    let on_state = |s| cluster_state(&app, &name, s);
    let profile =
        cluster::connect(&state.store, &state.connections, &name, questions, on_state).await?;
    crate::live::watch_connection(app.clone(), name.clone());
    Ok(profile)
}

/// The UI's reply to a question. Secrets arrive here once and are never sent back.
#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum QuestionAnswer {
    Trust,
    Texts { texts: Vec<String> },
    Cancel,
}

fn already_answered() -> UiError {
    UiError {
        kind: ErrorKind::NotFound,
        message: usine_core::tr!(
            en: "This question was already answered or has expired; connect again.",
            fr: "Cette question a déjà reçu une réponse ou a expiré ; connectez-vous de nouveau."
        ),
    }
}

#[tauri::command]
pub fn answer_question<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: u64,
    answer: QuestionAnswer,
) -> Result<(), UiError> {
    let (cluster, question) = state.take(id).ok_or_else(already_answered)?;
    cluster_state(&app, &cluster, ConnectionState::Connecting);
    question.answer(match answer {
        QuestionAnswer::Trust => Answer::Trust,
        QuestionAnswer::Texts { texts } => {
            Answer::Texts(texts.into_iter().map(Zeroizing::new).collect())
        }
        QuestionAnswer::Cancel => Answer::Cancel,
    });
    Ok(())
}

/// A question channel whose questions are parked in the app state and shown by the UI.
pub(crate) fn relay_questions<R: Runtime>(app: AppHandle<R>, cluster: String) -> Questions {
    let (questions, mut rx) = Questions::channel();
    tauri::async_runtime::spawn(async move {
        while let Some(question) = rx.recv().await {
            let kind = question.kind.clone();
            let state = tauri::Manager::state::<AppState>(&app);
            let id = state.park(&cluster, question);
            cluster_state(&app, &cluster, ConnectionState::WaitingForUser);
            let asked = AskedQuestion {
                id,
                cluster: cluster.clone(),
                question: kind,
            };
            if let Err(error) = events::send(&app, AppEvent::SshQuestion(asked)) {
                tracing::warn!(%error, "could not show a login question");
                if let Some((_, q)) = state.take(id) {
                    q.answer(Answer::Cancel);
                }
            }
        }
    });
    questions
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn list_transfers(state: State<'_, AppState>) -> Result<Vec<TransferSummary>, UiError> {
    Ok(transfer::list(&state.store)?)
}

/// Where `source` lands when sent into the cluster folder `into`, shown before sending.
#[tauri::command]
pub fn upload_place(source: String, into: String) -> Result<String, UiError> {
    Ok(transfer::place::on_cluster(
        std::path::Path::new(&source),
        &into,
    )?)
}

/// Where the cluster folder `remote` lands when brought back into `into`, shown before.
#[tauri::command]
pub fn download_place(remote: String, into: String) -> Result<String, UiError> {
    Ok(transfer::place::here(&remote, std::path::Path::new(&into))?
        .display()
        .to_string())
}

/// Records an upload of `source` into the cluster folder `into` and starts it in the
/// background; progress and the end come as events.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn start_upload<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    source: String,
    into: String,
    by_checksum: bool,
) -> Result<UploadStarted, UiError> {
    let compare = match by_checksum {
        true => transfer::Compare::Checksum,
        false => transfer::Compare::Quick,
    };
    let started = transfer::begin(&state.store, &cluster, Path::new(&source), &into, compare)?;
    run_upload(app, cluster, started.id.clone());
    Ok(started)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn resume_upload<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<(), UiError> {
    let summary = transfer::get(&state.store, &id)?;
    run_upload(app, summary.cluster, id);
    Ok(())
}

/// Stops a running upload now. Nothing confirmed is lost: Resume continues from the manifest.
#[tauri::command]
#[tracing::instrument(skip(app, state))]
pub fn pause_upload<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: String) {
    let task = state.uploads.locked().remove(&id);
    if let Some(task) = task {
        task.abort();
        let paused = Ended {
            id,
            paused: true,
            ..Ended::default()
        };
        let _ = events::send(&app, AppEvent::TransferDone(paused));
    }
}

fn run_upload<R: Runtime>(app: AppHandle<R>, cluster_name: String, id: String) {
    let state = tauri::Manager::state::<AppState>(&app);
    let mut uploads = state.uploads.locked();
    if uploads.contains_key(&id) {
        return; // already running: one engine per transfer
    }
    let task_id = id.clone();
    let task_app = app.clone();
    let task = tauri::async_runtime::spawn(async move {
        let app = task_app;
        let state = tauri::Manager::state::<AppState>(&app);
        let progressed = |p: &transfer::Progress| {
            let progress = Progressed {
                id: id.clone(),
                progress: p.clone(),
            };
            let _ = events::send(&app, AppEvent::TransferProgress(progress));
        };
        let questions = relay_questions(app.clone(), cluster_name.clone());
        let on_state = |s| cluster_state(&app, &cluster_name, s);
        let result = transfer::run(
            &state.connections,
            &state.store,
            &id,
            questions,
            progressed,
            on_state,
        )
        .await
        .map_err(|e| e.to_string());
        state.uploads.locked().remove(&id);
        let _ = events::send(&app, AppEvent::TransferDone(ended(id, result)));
    });
    uploads.insert(task_id, task);
}

/// How an upload or a download ended, for the window.
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

/// Brings a folder back from a cluster in the background over its shared connection; progress
/// and the end come as events. Running it again continues where it stopped.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn start_download<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cluster: String,
    source: String,
    destination: String,
) -> Result<String, UiError> {
    cluster::get(&state.store(), &cluster)?; // an unknown cluster is said at once
    let id = usine_core::store::new_id();
    let task = bring_back(app, cluster, source, destination, id.clone());
    tauri::async_runtime::spawn(task);
    Ok(id)
}

/// The download itself, reported as `download-progress` and `download-done` events.
async fn bring_back<R: Runtime>(
    app: AppHandle<R>,
    cluster: String,
    source: String,
    destination: String,
    id: String,
) {
    let state = tauri::Manager::state::<AppState>(&app);
    let questions = relay_questions(app.clone(), cluster.clone());
    let into = std::path::Path::new(&destination);
    let result = usine_core::download::bring_back(
        &state.store,
        &state.connections,
        &cluster,
        questions,
        &source,
        into,
        download_progress(&app, &id),
    )
    .await;
    download_done(&app, id, result);
}

/// Sends a download's progress as `download-progress` events.
pub(crate) fn download_progress<'a, R: Runtime>(
    app: &'a AppHandle<R>,
    id: &'a str,
) -> impl FnMut(&transfer::Progress) + Send + 'a {
    move |p| {
        let progress = Progressed {
            id: id.to_owned(),
            progress: p.clone(),
        };
        let _ = events::send(app, AppEvent::DownloadProgress(progress));
    }
}

/// Sends a download's end as `download-done`; what it brought back may then be opened.
pub(crate) fn download_done<R: Runtime>(
    app: &AppHandle<R>,
    id: String,
    result: Result<transfer::Report, transfer::ClusterTransferError>,
) {
    let result = result.map_err(|error| {
        tr!(
            en: "{} Start it again to continue where it stopped.",
            fr: "{} Relancez-le pour continuer là où il s'est arrêté.",
            error
        )
    });
    if let Ok(report) = &result {
        let state = tauri::Manager::state::<AppState>(app);
        state.landed.locked().push(report.place.clone().into());
    }
    let _ = events::send(app, AppEvent::DownloadDone(ended(id, result)));
}
