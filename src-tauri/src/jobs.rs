//! Job commands (drafts, submit, list, logs, cancel) and the background tracker that sends
//! queued jobs, follows running ones and raises desktop notifications.

use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime, State};
use usine_core::gpu;
// Named as the UI names them (the command table reads these names).
use usine_core::gpu::export::Format as ExportFormat;
use usine_core::gpu::series::Summary as GpuSummary;
use usine_core::jobs::drafts::{self, Draft};
use usine_core::jobs::history::{self, JobEntry};
use usine_core::jobs::inputs::{self, Attached as InputsAttached};
use usine_core::jobs::scheduler::Logs;
use usine_core::jobs::spec::JobSpec;
use usine_core::jobs::targets::{self, DraftView, Opening};
use usine_core::jobs::templates::{self, Template};
use usine_core::jobs::{notices, sbatch, tracker, tracking};
use usine_core::tr;

use crate::error::UiError;
use crate::events;
use crate::notifications;
use crate::state::AppState;
use usine_core::app_events::{AppEvent, IdleJob, JobRef};

fn view(state: &AppState, draft: Draft) -> Result<DraftView, UiError> {
    Ok(targets::view(&state.store, draft)?)
}

#[tauri::command]
pub fn list_templates() -> Vec<Template> {
    templates::all()
}

/// The first job the guide offers on `target` (GPUs where there are some, else processors).
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn first_job_template(state: State<'_, AppState>, target: String) -> Result<String, UiError> {
    Ok(targets::first_job_template(&state.store, &target)?.to_owned())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn list_drafts(state: State<'_, AppState>) -> Result<Vec<Draft>, UiError> {
    Ok(drafts::list(&state.store())?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn create_draft(
    state: State<'_, AppState>,
    target: String,
    template: Option<String>,
    script: Option<String>,
) -> Result<DraftView, UiError> {
    let start = match (template, script) {
        (_, Some(text)) => targets::Start::Script(text),
        (Some(id), None) => targets::Start::Template(id),
        (None, None) => targets::Start::Blank,
    };
    let (spec, template, _) = targets::starting_spec(&start)?;
    let draft = targets::create_draft(&state.store(), &target, template.as_deref(), &spec)?;
    view(&state, draft)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn open_draft(state: State<'_, AppState>, id: String) -> Result<DraftView, UiError> {
    let draft = drafts::get(&state.store(), &id)?;
    view(&state, draft)
}

/// Called on every edit: saves first (nothing typed is ever lost), then checks.
#[tauri::command]
#[tracing::instrument(skip(state, spec), err(Debug))]
pub fn save_draft(
    state: State<'_, AppState>,
    id: String,
    target: String,
    spec: JobSpec,
) -> Result<DraftView, UiError> {
    Ok(targets::save_draft(&state.store, &id, &target, &spec)?)
}

/// Files or folders dropped on a draft (or picked for it) become its input datasets; on a
/// cluster they are sent there at once, in the transfers list like any upload.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn attach_inputs<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    paths: Vec<String>,
) -> Result<InputsAttached, UiError> {
    let paths: Vec<std::path::PathBuf> = paths.into_iter().map(Into::into).collect();
    let attached = inputs::attach(&state.store, &id, &paths)?;
    crate::transfers::run_uploads(&app, &attached.view.draft.target, &attached.uploads);
    Ok(attached)
}

/// The expert's raw-script view: the edited script replaces the draft's fields.
#[tauri::command]
#[tracing::instrument(skip(state, script), err(Debug))]
pub fn import_script(
    state: State<'_, AppState>,
    id: String,
    target: String,
    script: String,
) -> Result<DraftView, UiError> {
    let spec = sbatch::import(&script).spec;
    Ok(targets::save_draft(&state.store, &id, &target, &spec)?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn delete_draft(state: State<'_, AppState>, id: String) -> Result<(), UiError> {
    drafts::delete(&state.store(), &id)?;
    Ok(())
}

/// Records the job in the outbox and wakes the tracker, which sends it as soon as the target
/// is reachable (at once for this computer and connected clusters).
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn submit_draft<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<JobEntry, UiError> {
    let entry = targets::enqueue_draft(&state.store, &id, targets::Blockers::Stop)?;
    // A new job in the list (maybe queued for a cluster that is away): every screen hears it.
    let _ = events::send(&app, AppEvent::JobChanged(entry.clone()));
    state.jobs_changed.notify_one();
    Ok(entry)
}

#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub fn resubmit_job<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<JobEntry, UiError> {
    let old = history::get(&state.store(), &id)?;
    let entry = tracking::enqueue(&state.store, &old.target, &old.spec)?;
    let _ = events::send(&app, AppEvent::JobChanged(entry.clone()));
    state.jobs_changed.notify_one();
    Ok(entry)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn list_jobs(state: State<'_, AppState>) -> Result<Vec<JobEntry>, UiError> {
    Ok(history::list(&state.store(), None)?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn cancel_job(state: State<'_, AppState>, id: String) -> Result<(), UiError> {
    cancel(&state, &id).await
}

/// Withdraws a job not sent yet, or asks its cluster to cancel it (the window's Cancel buttons
/// and the idle warning's).
pub async fn cancel(state: &AppState, id: &str) -> Result<(), UiError> {
    targets::cancel(&state.store, &state.connections, &Opening::Quietly, id).await?;
    state.jobs_changed.notify_one();
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn job_logs(state: State<'_, AppState>, id: String) -> Result<Logs, UiError> {
    Ok(targets::logs(&state.store, &state.connections, &Opening::Quietly, &id).await?)
}

/// The job's GPU chart as SVG, downsampled to about one point per two pixels.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn job_chart(
    state: State<'_, AppState>,
    id: String,
    width: u32,
    height: u32,
) -> Result<String, UiError> {
    let job = history::get(&state.store(), &id)?;
    let curves = gpu::series::load(&state.store(), &id, (width / 2).max(10) as usize)?;
    let title = if curves.is_empty() {
        tr!(en: "{}: waiting for the first GPU samples", fr: "{} : en attente des premiers relevés GPU", job.spec.name)
    } else {
        job.spec.name.clone()
    };
    Ok(gpu::chart::svg(
        &curves,
        &title,
        width.clamp(200, 4000),
        height.clamp(150, 3000),
    )?)
}

/// A tiny mean-utilization curve for the Home screen.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn job_sparkline(state: State<'_, AppState>, id: String) -> Result<String, UiError> {
    let curves = gpu::series::load(&state.store(), &id, 60)?;
    Ok(gpu::chart::sparkline_svg(&curves, 160, 32)?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn job_gpu_summary(state: State<'_, AppState>, id: String) -> Result<GpuSummary, UiError> {
    let below = usine_core::settings::load(&state.store()).idle_below_percent;
    Ok(gpu::series::summary(&state.store(), &id, below, 60_000)?)
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> usine_core::settings::Settings {
    usine_core::settings::load(&state.store())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn save_settings(
    state: State<'_, AppState>,
    settings: usine_core::settings::Settings,
) -> Result<(), UiError> {
    Ok(usine_core::settings::save(&state.store(), &settings)?)
}

/// Where Save proposes to put the job's chart or samples; the person can change it.
#[tauri::command]
pub fn suggest_export_path(
    state: State<'_, AppState>,
    id: String,
    format: ExportFormat,
) -> Result<String, UiError> {
    Ok(gpu::export::suggested_path(&state.store(), &id, format)?
        .display()
        .to_string())
}

/// Saves the job's chart or samples where the person said; an existing file is left alone.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn export_chart(
    state: State<'_, AppState>,
    id: String,
    format: ExportFormat,
    path: String,
) -> Result<String, UiError> {
    let written = gpu::export::write(&state.store(), &id, format, std::path::Path::new(&path))?;
    Ok(written.display().to_string())
}

/// Runs the job tracker's round (the core's, the same as `usine jobs --refresh`) as often as it
/// says; a submit or a cancel wakes it at once. What it sees becomes events and notifications.
pub fn start_tracker<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        tracker::prune_old_samples(&state.store);
        let mut tracker = tracker::Tracker::new();
        loop {
            let round = tracker
                .round(
                    &state.store,
                    &state.connections,
                    &Opening::Quietly,
                    None,
                    |seen| show(&app, seen),
                )
                .await;
            tokio::select! {
                () = tokio::time::sleep(round.wait.unwrap_or(Duration::from_secs(30))) => {}
                () = state.jobs_changed.notified() => tracker.woken(),
            }
        }
    });
}

/// What the tracker saw, as the window's events and the desktop's notifications.
fn show<R: Runtime>(app: &AppHandle<R>, seen: tracker::Seen) {
    match seen {
        tracker::Seen::Job { job, notice } => {
            let _ = events::send(app, AppEvent::JobChanged(job));
            if let Some((title, body)) = notice {
                notifications::show(app, &title, &body);
            }
        }
        tracker::Seen::Samples { job_id } => {
            let _ = events::send(app, AppEvent::GpuSamples(JobRef { id: job_id }));
        }
        tracker::Seen::Idle { job, rule } => {
            let (title, body) = notices::idle(&job, rule);
            notifications::idle_warning(app, &job.id, &title, &body);
            // The window offers the same choices, for desktops whose notifications cannot
            // carry buttons.
            let idle = IdleJob {
                gpus: job.spec.total_gpus(),
                id: job.id,
                name: job.spec.name,
                below: rule.below,
                minutes: rule.minutes,
            };
            let _ = events::send(app, AppEvent::JobIdle(idle));
        }
        tracker::Seen::Trouble { target, error } => {
            tracing::warn!(%error, %target, "jobs not followed this round");
        }
    }
}

/// The language the UI shows, for what Rust writes (checks, reasons, charts, notifications).
#[tauri::command]
pub fn set_language(lang: usine_core::lang::Lang) {
    usine_core::lang::set(lang);
}
