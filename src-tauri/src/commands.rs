//! Tauri commands: one-screen adapters over `usine-core`.

use serde::Deserialize;
use tauri::{AppHandle, Runtime, State};
use usine_core::cluster::{self, AskedQuestion, ClusterView, NewCluster};
use usine_core::discovery::ClusterProfile;
use usine_core::sites::{self, Site};
use usine_core::ssh::certificate::CertificateStatus;
use usine_core::ssh::{Answer, ConnectionState, QuestionKind, Questions, keygen};
use usine_core::target::Target;
use zeroize::Zeroizing;

use crate::error::UiError;
use crate::events;
use crate::state::AppState;
use usine_core::app_events::{AppEvent, ClusterState};
use usine_core::error_kind::ErrorKind;

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
    Ok(cluster::views(
        &state.store(),
        &connected,
        &state.connections.wallet,
    )?)
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
pub async fn forget_cluster(state: State<'_, AppState>, name: String) -> Result<(), UiError> {
    Ok(cluster::forget_with_login(&state.store, &state.connections, &name).await?)
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

/// A new certificate through the browser login, the connection kept.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn log_in_again<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Result<Option<CertificateStatus>, UiError> {
    let questions = relay_questions(app, name.clone());
    Ok(cluster::log_in_again(&state.store, &state.connections, &name, questions).await?)
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
            if let QuestionKind::BrowserLogin { url, .. } = &kind {
                crate::files::open_page(&app, url);
            }
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
