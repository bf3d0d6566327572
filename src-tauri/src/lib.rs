//! The desktop app: windows, Tauri commands and events over `usine-core`. Logic lives in the
//! core; a command here takes its state, calls the core and returns.

mod commands;
mod error;
mod events;
mod files;
mod guide;
#[cfg(test)]
mod ipc_contract;
mod jobs;
mod live;
mod logging;
mod notifications;
mod opened;
mod page_recovery;
mod sessions;
mod state;
mod transfers;
mod updates;

use tauri::{Builder, Manager, Runtime};
use usine_core::store::Store;

/// Registers commands and background tasks. Separate from [`run`] so that tests can hand in a
/// mock builder.
pub fn configure<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            commands::this_computer,
            commands::list_sites,
            commands::list_clusters,
            commands::add_cluster,
            commands::import_cluster,
            commands::ssh_config_candidates,
            commands::generate_key,
            transfers::list_transfers,
            transfers::transfer_files,
            transfers::upload_place,
            transfers::download_place,
            transfers::start_upload,
            transfers::start_download,
            transfers::bring_back_job,
            transfers::resume_transfer,
            transfers::pause_transfer,
            transfers::cancel_transfer,
            files::cluster_places,
            files::browse_cluster,
            files::measure_cluster_path,
            files::make_cluster_folder,
            files::rename_cluster_entry,
            files::delete_cluster_path,
            files::preview_cluster_file,
            files::tail_cluster_file,
            files::pick_paths,
            files::open_on_computer,
            files::open_link,
            commands::forget_cluster,
            commands::connect_cluster,
            commands::log_in_again,
            commands::answer_question,
            jobs::list_templates,
            jobs::first_job_template,
            jobs::list_drafts,
            jobs::create_draft,
            jobs::open_draft,
            jobs::save_draft,
            jobs::attach_inputs,
            jobs::import_script,
            jobs::delete_draft,
            jobs::submit_draft,
            jobs::resubmit_job,
            jobs::list_jobs,
            jobs::cancel_job,
            jobs::job_logs,
            jobs::job_chart,
            jobs::job_gpu_summary,
            jobs::job_sparkline,
            jobs::suggest_export_path,
            jobs::export_chart,
            jobs::get_settings,
            jobs::save_settings,
            jobs::set_language,
            opened::take_opened_scripts,
            opened::choose_script,
            guide::guide_at_start,
            guide::save_guide,
            guide::guide_add_cluster,
            sessions::session_kinds,
            sessions::plan_session,
            sessions::start_session,
            sessions::list_sessions,
            sessions::open_session,
            sessions::stop_session,
            sessions::extend_session,
            sessions::forward_port,
            sessions::list_forwards,
            sessions::close_forward,
            updates::update_status,
            updates::check_update,
            updates::install_update,
        ])
        // First: a second launch hands its arguments over and exits before anything starts.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            opened::on_second_launch(app, args)
        }))
        .manage(opened::Inbox::from_args(
            &std::env::args().collect::<Vec<_>>(),
        ))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .on_window_event(|window, event| {
            tracing::trace!(?event, "window event");
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, position }) =
                event
            {
                let at = position.to_logical::<f64>(window.scale_factor().unwrap_or(1.0));
                files::dropped(window.app_handle(), paths, at.x, at.y);
            }
        })
        .setup(|app| {
            logging::init(app.path().app_log_dir().ok().as_deref());
            tracing::info!(version = usine_core::VERSION, "Usine starts");
            if let Some(window) = app.get_webview_window("main") {
                page_recovery::watch(&window);
            }
            app.manage(state::AppState::new(Store::open_default()?));
            updates::init(app.handle())?;
            live::start_host_metrics(app.handle().clone());
            live::watch_certificates(app.handle().clone());
            jobs::start_tracker(app.handle().clone());
            sessions::start_watch(app.handle().clone());
            Ok(())
        })
}

/// Starts the app; returns when the last window closes.
pub fn run() {
    if let Err(error) = configure(Builder::default()).run(tauri::generate_context!()) {
        if let tauri::Error::PluginInitialization(plugin, _) = &error
            && plugin == "single-instance"
        {
            start_again_once_the_old_window_is_gone();
        }
        tracing::error!(%error, "the Usine window could not start");
        eprintln!(
            "Usine could not start its window: {error}. Run `usine doctor` to see what is missing."
        );
        std::process::exit(1);
    }
}

/// Usine was started while its previous window was still closing: that process still held the
/// one-Usine-at-a-time name, but went away before taking this start's arguments. Start afresh
/// in a moment, in the same process (a few times at most).
fn start_again_once_the_old_window_is_gone() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        const ATTEMPT: &str = "USINE_START_ATTEMPT";
        let attempt: u32 = std::env::var(ATTEMPT)
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        if attempt >= 3 {
            return;
        }
        let Ok(me) = std::env::current_exe() else {
            return;
        };
        tracing::info!(
            attempt,
            "the previous Usine window was closing; starting again"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        let error = std::process::Command::new(me)
            .args(std::env::args_os().skip(1))
            .env(ATTEMPT, (attempt + 1).to_string())
            .exec();
        tracing::error!(%error, "could not start again");
    }
}
