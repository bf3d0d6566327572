//! Usine's core library: everything the desktop app and the `usine` CLI share.
//!
//! This crate knows nothing about Tauri, windows or terminals. The app (`src-tauri`) and the CLI
//! (`crates/usine-cli`) are thin adapters over the functions and types exported here.

pub mod app_events;
pub mod browser_login;
pub mod cluster;
pub mod cluster_files;
pub mod discovery;
pub mod doctor;
pub mod download;
pub mod error_kind;
pub mod forward;
#[cfg(test)]
mod fuzz_parsers;
pub mod gpu;
pub mod host_metrics;
pub mod ipc_types;
pub mod jobs;
pub mod lang;
pub mod local_paths;
pub mod local_pick;
pub mod onboarding;
pub mod owner;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod sites;
pub mod ssh;
pub mod ssh_config;
pub mod store;
pub mod sync;
pub mod target;
pub mod transfer;

/// The product version, shared by the app, the CLI and the reports they print.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
