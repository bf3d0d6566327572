//! The first-run guide's commands: its saved progress and the cluster it sets up.

use tauri::State;
use usine_core::cluster::Login;
use usine_core::onboarding::{self, Guide, Place};

use crate::error::UiError;
use crate::state::AppState;

/// The guide to open at start, if any (unfinished, or never seen by someone with no cluster).
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn guide_at_start(state: State<'_, AppState>) -> Result<Option<Guide>, UiError> {
    Ok(onboarding::at_start(&state.store())?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn save_guide(state: State<'_, AppState>, guide: Guide) -> Result<(), UiError> {
    Ok(onboarding::save(&state.store(), &guide)?)
}

/// Saves the cluster the guide describes; answers the guide's next step.
#[tauri::command]
#[tracing::instrument(skip(state, public_key), err(Debug))]
pub fn guide_add_cluster(
    state: State<'_, AppState>,
    place: Place,
    user: String,
    login: Login,
    public_key: Option<String>,
) -> Result<Guide, UiError> {
    Ok(onboarding::add_cluster(
        &state.store(),
        &place,
        &user,
        login,
        public_key,
    )?)
}
