//! Background tasks that push live figures to the UI as events.

use std::ops::ControlFlow;

use tauri::{AppHandle, Runtime};
use usine_core::app_events::AppEvent;
use usine_core::host_metrics::{DEFAULT_PERIOD, HostSampler};

pub fn start_host_metrics<R: Runtime>(app: AppHandle<R>) {
    let sampler = match HostSampler::new() {
        Ok(sampler) => sampler,
        Err(error) => {
            tracing::warn!(%error, "no live CPU and memory figures");
            return;
        }
    };
    tauri::async_runtime::spawn(sampler.run(DEFAULT_PERIOD, move |metrics| {
        match crate::events::send(&app, AppEvent::HostMetrics(metrics.clone())) {
            Ok(()) => ControlFlow::Continue(()),
            // The app is shutting down: stop sampling.
            Err(error) => {
                tracing::debug!(%error, "stopping host metrics");
                ControlFlow::Break(())
            }
        }
    }));
}

/// Keeps an eye on a cluster's connection after the user connected: when the link drops, it
/// reconnects by itself within the core's bounded policy (never for logins that need a code),
/// and the UI follows every step through `cluster-state` events. Stops once the cluster is
/// offline for good, forgotten, or already watched.
pub fn watch_connection<R: Runtime>(app: AppHandle<R>, name: String) {
    use tauri::Manager;
    use usine_core::cluster::{self, ReconnectPolicy};

    let state = app.state::<crate::state::AppState>();
    if !state.start_watching(&name) {
        return;
    }
    tauri::async_runtime::spawn(async move {
        let state = app.state::<crate::state::AppState>();
        let emit = |s| crate::commands::cluster_state(&app, &name, s);
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            if state.connections.connected().await.contains(&name) {
                continue;
            }
            let Ok(settings) = cluster::get(&state.store(), &name) else {
                break; // forgotten
            };
            let policy = ReconnectPolicy::default();
            if state
                .connections
                .reconnect_quietly(&settings, &policy, emit)
                .await
                .is_err()
            {
                break; // offline until the user presses Connect
            }
        }
        state.stop_watching(&name);
    });
}

/// Follows the browser logins' certificates: a renewal updates the cluster cards; when no
/// silent renewal is possible, a notification ten minutes before the end asks to log in again.
pub fn watch_certificates<R: Runtime>(app: AppHandle<R>) {
    use tauri::Manager;
    use tokio::sync::broadcast::error::RecvError;

    let mut events = app
        .state::<crate::state::AppState>()
        .connections
        .wallet
        .subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some((title, body)) = event.notice() {
                        crate::notifications::login_needed(&app, event.cluster(), &title, &body);
                    }
                    if let Err(error) = crate::events::send(&app, AppEvent::Certificate(event)) {
                        tracing::debug!(%error, "stopping certificate events");
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}
