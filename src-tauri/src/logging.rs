//! The app's log: to stderr, and to one file a day in the platform's log folder (Linux
//! `~/.local/share/eu.usine.desktop/logs`, macOS `~/Library/Logs/eu.usine.desktop`, Windows
//! `%LOCALAPPDATA%\eu.usine.desktop\logs`), the last seven kept, so that a user can attach
//! them to a bug report. `USINE_LOG` filters (default `info`). Secrets never reach a log:
//! commands that receive one are not instrumented, and `tests/e2e` checks the files.

use std::path::Path;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const KEPT_DAYS: usize = 7;

/// Starts logging; without a usable log folder, to stderr only (and says why there).
pub fn init(dir: Option<&Path>) {
    let filter = || EnvFilter::try_from_env("USINE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = dir.and_then(|dir| {
        // The appender prunes old files before it ever writes: the folder must exist first.
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("Usine keeps no log file in {}: {e}", dir.display());
            return None;
        }
        RollingFileAppender::builder()
            .rotation(Rotation::DAILY)
            .filename_prefix("usine")
            .filename_suffix("log")
            .max_log_files(KEPT_DAYS)
            .build(dir)
            .map_err(|e| eprintln!("Usine keeps no log file in {}: {e}", dir.display()))
            .ok()
    });
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(filter()))
        .with(file.map(|f| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(f)
                .with_filter(filter())
        }))
        .try_init();
}
