//! Background tasks that push live figures to the UI as events.

use std::ops::ControlFlow;

use tauri::{AppHandle, Emitter, Runtime};
use usine_core::host_metrics::{DEFAULT_PERIOD, HostSampler};

/// Event carrying a `HostMetrics` for "This computer", about once a second.
pub const HOST_METRICS_EVENT: &str = "host-metrics";

pub fn start_host_metrics<R: Runtime>(app: AppHandle<R>) {
    let sampler = match HostSampler::new() {
        Ok(sampler) => sampler,
        Err(error) => {
            tracing::warn!(%error, "no live CPU and memory figures");
            return;
        }
    };
    tauri::async_runtime::spawn(sampler.run(DEFAULT_PERIOD, move |metrics| {
        match app.emit(HOST_METRICS_EVENT, &metrics) {
            Ok(()) => ControlFlow::Continue(()),
            // The app is shutting down: stop sampling.
            Err(error) => {
                tracing::debug!(%error, "stopping host metrics");
                ControlFlow::Break(())
            }
        }
    }));
}
