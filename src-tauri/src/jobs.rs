//! Job commands (drafts, submit, list, logs, cancel) and the background tracker that sends
//! queued jobs, follows running ones and raises desktop notifications.

use std::collections::HashMap;
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use usine_core::gpu;
use usine_core::jobs::drafts::{self, Draft};
use usine_core::jobs::history::{self, JobEntry};
use usine_core::jobs::scheduler::{Logs, Scheduler};
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::spec::JobSpec;
use usine_core::jobs::targets::{self, AnyScheduler, DraftView};
use usine_core::jobs::templates::{self, Template};
use usine_core::jobs::{notices, sbatch, tracking};
use usine_core::ssh::{Answer, Questions};
use usine_core::target::THIS_COMPUTER_ID;
use usine_core::tr;

use crate::error::UiError;
use crate::notifications;
use crate::state::AppState;

/// A `JobEntry` whose state changed (sent, started, finished, …).
pub const JOB_EVENT: &str = "job-changed";
/// `{ id }` when new GPU samples of a job were stored.
pub const GPU_EVENT: &str = "gpu-samples";
/// Must match `IDLE_EVENT` in ui/src/lib/ipc.ts: a running job's GPUs sit idle (once per job).
pub const IDLE_EVENT: &str = "job-idle";

fn view(state: &AppState, draft: Draft) -> Result<DraftView, UiError> {
    Ok(targets::view(&state.store, draft)?)
}

fn save_and_view(
    state: &AppState,
    id: &str,
    target: &str,
    spec: &JobSpec,
) -> Result<DraftView, UiError> {
    drafts::save(&state.store(), id, target, spec)?;
    let draft = drafts::get(&state.store(), id)?;
    view(state, draft)
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
    let (spec, template) = match (template, script) {
        (_, Some(text)) => (sbatch::import(&text).spec, None),
        (Some(id), None) => {
            let t = templates::find(&id).ok_or_else(|| UiError {
                message: format!("There is no template {id}."),
            })?;
            (t.spec, Some(t.id))
        }
        (None, None) => (JobSpec::default(), None),
    };
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
    save_and_view(&state, &id, &target, &spec)
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
    save_and_view(&state, &id, &target, &spec)
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
    let entry = targets::enqueue_draft(&state.store, &id)?;
    // A new job in the list (maybe queued for a cluster that is away): every screen hears it.
    let _ = app.emit(JOB_EVENT, &entry);
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
    let _ = app.emit(JOB_EVENT, &entry);
    state.jobs_changed.notify_one();
    Ok(entry)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub fn list_jobs(state: State<'_, AppState>) -> Result<Vec<JobEntry>, UiError> {
    Ok(history::list(&state.store(), None)?)
}

/// A scheduler for the target without asking the user anything: clusters must be connected.
async fn quiet_scheduler(state: &AppState, target: &str) -> Option<AnyScheduler> {
    if target != THIS_COMPUTER_ID && !state.connections.connected().await.contains(target) {
        return None;
    }
    let (questions, mut rx) = Questions::channel();
    tauri::async_runtime::spawn(async move {
        while let Some(q) = rx.recv().await {
            q.answer(Answer::Cancel);
        }
    });
    targets::open(&state.store, &state.connections, target, questions)
        .await
        .ok()
}

fn offline(target: &str) -> UiError {
    UiError {
        message: format!(
            "{target} is not connected. Connect to it under Clusters, then try again."
        ),
    }
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn cancel_job(state: State<'_, AppState>, id: String) -> Result<(), UiError> {
    cancel(&state, &id).await
}

/// Withdraws a job not sent yet, or asks its cluster to cancel it (the window's Cancel buttons
/// and the idle warning's).
pub async fn cancel(state: &AppState, id: &str) -> Result<(), UiError> {
    let job = history::get(&state.store(), id)?;
    let Some(scheduler_id) = job.scheduler_id.clone() else {
        history::withdraw(&state.store(), id)?;
        return Ok(());
    };
    let scheduler = quiet_scheduler(state, &job.target)
        .await
        .ok_or_else(|| offline(&job.target))?;
    scheduler.cancel(&scheduler_id).await?;
    state.jobs_changed.notify_one();
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn job_logs(state: State<'_, AppState>, id: String) -> Result<Logs, UiError> {
    let job = history::get(&state.store(), &id)?;
    let Some(scheduler_id) = job.scheduler_id.clone() else {
        return Ok(Logs::default());
    };
    let scheduler = quiet_scheduler(&state, &job.target)
        .await
        .ok_or_else(|| offline(&job.target))?;
    Ok(scheduler.logs(&scheduler_id, &job.spec, 64 * 1024).await?)
}

/// Reads new GPU samples of the target's running jobs (and what jobs on this computer use of its
/// CPUs and memory); warns once per job about idle GPUs.
async fn follow_gpus<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    scheduler: &AnyScheduler,
    target: &str,
) {
    let running: Vec<JobEntry> = history::active(&state.store(), target)
        .map(|all| all.into_iter().filter(gpu::watch::watched).collect())
        .unwrap_or_default();
    let rule = gpu::watch::IdleRule::from(&usine_core::settings::load(&state.store()));
    for job in running {
        match gpu::watch::look(&state.store, scheduler, &job, rule).await {
            Ok(look) => {
                if look.new_samples > 0 {
                    let _ = app.emit(GPU_EVENT, serde_json::json!({ "id": job.id }));
                }
                let first_warning = look.idle
                    && state
                        .idle_warned
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(job.id.clone());
                if first_warning {
                    let (title, body) = notices::idle(&job, rule);
                    notifications::idle_warning(app, &job.id, &title, &body);
                    // The window offers the same choices, for desktops whose notifications
                    // cannot carry buttons.
                    let _ = app.emit(
                        IDLE_EVENT,
                        serde_json::json!({
                            "id": job.id,
                            "name": job.spec.name,
                            "gpus": job.spec.total_gpus(),
                            "below": rule.below,
                            "minutes": rule.minutes,
                        }),
                    );
                }
            }
            Err(error) => tracing::debug!(%error, job = %job.id, "no GPU samples this time"),
        }
    }
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
pub fn job_gpu_summary(
    state: State<'_, AppState>,
    id: String,
) -> Result<gpu::series::Summary, UiError> {
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
    format: gpu::export::Format,
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
    format: gpu::export::Format,
    path: String,
) -> Result<String, UiError> {
    let written = gpu::export::write(&state.store(), &id, format, std::path::Path::new(&path))?;
    Ok(written.display().to_string())
}

/// Shows the desktop notification a job's new state calls for, if any.
fn notify<R: Runtime>(app: &AppHandle<R>, job: &JobEntry) {
    if let Some((title, body)) = notices::for_state(job) {
        notifications::show(app, &title, &body);
    }
}

/// Sends queued jobs and follows active ones, as often as `poll_interval` says; a submit or a
/// cancel wakes it at once.
pub fn start_tracker<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let now_ms = usine_core::store::now_ms();
        let days = usine_core::settings::load(&state.store()).gpu_retention_days;
        let cutoff = now_ms - i64::from(days) * 86_400_000;
        if let Err(error) = gpu::series::prune(&state.store(), cutoff) {
            tracing::warn!(%error, "old samples not pruned");
        }
        let mut changed_recently = true;
        // Kept between rounds: a REST target fetches a token and probes versions when opened.
        let mut schedulers: HashMap<String, AnyScheduler> = HashMap::new();
        loop {
            let open: Vec<JobEntry> = history::list(&state.store(), None)
                .map(|all| all.into_iter().filter(|j| !j.state.is_finished()).collect())
                .unwrap_or_default();
            let mut target_names: Vec<String> = open.iter().map(|j| j.target.clone()).collect();
            // This computer first: a local job starts without waiting for a cluster's round trip.
            target_names.sort_by_key(|t| (t != THIS_COMPUTER_ID, t.clone()));
            target_names.dedup();
            let mut any_change = false;
            for target in &target_names {
                if target != THIS_COMPUTER_ID
                    && !state.connections.connected().await.contains(target)
                {
                    schedulers.remove(target);
                    continue;
                }
                if !schedulers.contains_key(target) {
                    let Some(opened) = quiet_scheduler(&state, target).await else {
                        continue;
                    };
                    schedulers.insert(target.clone(), opened);
                }
                let Some(scheduler) = schedulers.get(target) else {
                    continue;
                };
                let mut failed = false;
                match tracking::flush_outbox(&state.store, target, scheduler).await {
                    Ok(sent) => {
                        for job in sent {
                            any_change = true;
                            let _ = app.emit(JOB_EVENT, &job);
                            if job.refused_because.is_some() {
                                notify(&app, &job);
                            }
                        }
                    }
                    Err(error) => {
                        failed = true;
                        tracing::warn!(%error, %target, "queued jobs not sent yet");
                    }
                }
                match tracking::refresh(&state.store, target, scheduler).await {
                    Ok(changes) => {
                        for change in changes {
                            any_change = true;
                            let _ = app.emit(JOB_EVENT, &change.job);
                            notify(&app, &change.job);
                        }
                    }
                    Err(error) => {
                        failed = true;
                        tracing::warn!(%error, %target, "job states not refreshed");
                    }
                }
                follow_gpus(&app, &state, scheduler, target).await;
                if failed {
                    // Opened afresh next round (an expired token, a dropped connection).
                    schedulers.remove(target);
                }
            }
            let states: Vec<JobState> = open.iter().map(|j| j.state.clone()).collect();
            let wait = tracking::poll_interval(
                &states,
                changed_recently || any_change || tracking::just_sent(&state.store),
            )
            .unwrap_or(Duration::from_secs(30));
            changed_recently = any_change;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = state.jobs_changed.notified() => { changed_recently = true; }
            }
        }
    });
}

/// The language the UI shows, for what Rust writes (checks, reasons, charts, notifications).
#[tauri::command]
pub fn set_language(lang: usine_core::lang::Lang) {
    usine_core::lang::set(lang);
}
