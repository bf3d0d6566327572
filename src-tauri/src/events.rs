//! Sends the core's `AppEvent`s to the window: the one place an event's name comes from (the
//! UI's names and payload types are generated from the same enum).

use tauri::{AppHandle, Emitter, Runtime};
use usine_core::app_events::AppEvent;

pub fn send<R: Runtime>(app: &AppHandle<R>, event: AppEvent) -> tauri::Result<()> {
    let (name, payload) = event.name_and_payload();
    app.emit(&name, payload)
}
