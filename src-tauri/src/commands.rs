//! Tauri commands: one-screen adapters over `usine-core`.

use usine_core::target::{self, Target};

#[tauri::command]
#[tracing::instrument]
pub fn list_targets() -> Vec<Target> {
    target::list()
}
