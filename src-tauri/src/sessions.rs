//! Interactive sessions and forwards: commands over `usine_core::sessions` and
//! `usine_core::forward`, and the watch that opens their ways in and notifies.

use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime, State};
use usine_core::app_events::AppEvent;
use usine_core::forward::{self, ForwardView};
use usine_core::jobs::targets::Opening;
use usine_core::sessions::kinds::SessionKind;
use usine_core::sessions::{self, SessionPlan, SessionRequest, SessionView, Stopped};

use crate::error::UiError;
use crate::events;
use crate::state::AppState;

#[tauri::command]
pub fn session_kinds() -> Vec<SessionKind> {
    sessions::kinds::all()
}

/// What a session would cost and what is wrong with it, before it starts.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn plan_session(
    state: State<'_, AppState>,
    request: SessionRequest,
) -> Result<SessionPlan, UiError> {
    Ok(sessions::plan(&state.store, &request)?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn start_session(
    state: State<'_, AppState>,
    request: SessionRequest,
) -> Result<SessionView, UiError> {
    let how = Opening::Quietly;
    let started = sessions::start(&state.store, &state.connections, &how, &request).await?;
    state.jobs_changed.notify_one();
    state.sessions_changed.notify_one();
    Ok(started)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn list_sessions(state: State<'_, AppState>) -> Result<Vec<SessionView>, UiError> {
    Ok(sessions::list(&state.store, Some(&state.forwards))?)
}

/// Opens a ready session's page in the system browser (or `USINE_BROWSER`); the window never
/// receives its token.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn open_session<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<SessionView, UiError> {
    let (store, conns, forwards) = (&state.store, &state.connections, &state.forwards);
    let opened = sessions::open(store, conns, forwards, &Opening::Quietly, &id).await?;
    crate::files::open_page(&app, &opened.url);
    Ok(sessions::view(store, Some(forwards), &id)?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn stop_session(state: State<'_, AppState>, id: String) -> Result<Stopped, UiError> {
    let (store, conns, forwards) = (&state.store, &state.connections, &state.forwards);
    let stopped = sessions::stop(store, conns, forwards, &Opening::Quietly, &id).await?;
    state.jobs_changed.notify_one();
    Ok(stopped)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn extend_session(
    state: State<'_, AppState>,
    id: String,
    minutes: u64,
) -> Result<(), UiError> {
    let how = Opening::Quietly;
    Ok(sessions::extend(&state.store, &state.connections, &how, &id, minutes).await?)
}

/// Forwards a port of a running job's node to this computer (the experts' Forward).
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn forward_port(
    state: State<'_, AppState>,
    job: String,
    port: u16,
) -> Result<ForwardView, UiError> {
    let (store, conns, forwards) = (&state.store, &state.connections, &state.forwards);
    let wanted = forward::JobPort {
        job,
        port,
        node: None,
        local_port: 0,
    };
    Ok(forward::to_job(store, conns, forwards, &Opening::Quietly, &wanted).await?)
}

#[tauri::command]
pub fn list_forwards(state: State<'_, AppState>) -> Vec<ForwardView> {
    state.forwards.list()
}

#[tauri::command]
pub fn close_forward(state: State<'_, AppState>, id: String) -> bool {
    state.forwards.close(&id)
}

/// Looks at the sessions every few seconds while one is unfinished (a start wakes it): opens
/// their ways in, notifies when one is ready and before one ends.
pub fn start_watch<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let mut watch = sessions::Watch::default();
        loop {
            let (notices, running) = watch
                .round(&state.store, &state.connections, &state.forwards)
                .await;
            if !notices.is_empty() {
                let _ = events::send(&app, AppEvent::SessionsChanged);
            }
            for notice in notices {
                let (title, body) = notice.words();
                crate::notifications::show(&app, &title, &body);
            }
            let wait = if running { 3 } else { 60 };
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(wait)) => {}
                () = state.sessions_changed.notified() => {}
            }
        }
    });
}
