//! What the app keeps while it runs: the local store, the shared connections, and the login
//! questions waiting for the user's answer.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use usine_core::cluster::Connections;
use usine_core::ssh::Question;
use usine_core::store::Store;
use usine_core::sync::Locked;

pub struct AppState {
    pub store: Mutex<Store>,
    pub connections: Connections,
    /// Questions waiting for the UI, with the cluster that asked.
    pub pending: Mutex<HashMap<u64, (String, Question)>>,
    next_question: AtomicU64,
    watched: Mutex<HashSet<String>>,
    /// Wakes the job tracker (a job was queued or cancelled).
    pub jobs_changed: tokio::sync::Notify,
    /// Uploads and downloads running now, by transfer id: pausing one aborts its task (its
    /// manifest keeps everything confirmed, so Resume continues from there).
    pub transfers: Mutex<HashMap<String, tauri::async_runtime::JoinHandle<()>>>,
    /// The last cluster folders listed (scrolling and sorting do not list them again).
    pub listings: usine_core::cluster_files::Listings,
    /// Where downloads of this session landed: the only places Open may open.
    pub landed: Mutex<Vec<std::path::PathBuf>>,
    /// Ports of jobs' nodes reachable from this computer (sessions' ways in among them).
    pub forwards: usine_core::forward::Forwards,
    /// Wakes the session watch (a session was started).
    pub sessions_changed: tokio::sync::Notify,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store: Mutex::new(store),
            connections: Connections::default(),
            pending: Mutex::new(HashMap::new()),
            next_question: AtomicU64::new(1),
            watched: Mutex::new(HashSet::new()),
            jobs_changed: tokio::sync::Notify::new(),
            transfers: Mutex::new(HashMap::new()),
            listings: Default::default(),
            landed: Mutex::new(Vec::new()),
            forwards: Default::default(),
            sessions_changed: tokio::sync::Notify::new(),
        }
    }

    /// Marks a cluster's connection as watched; false if it already was.
    pub fn start_watching(&self, name: &str) -> bool {
        self.watched.locked().insert(name.to_owned())
    }

    pub fn stop_watching(&self, name: &str) {
        self.watched.locked().remove(name);
    }

    /// Parks a question until the UI answers it; returns its number.
    pub fn park(&self, cluster: &str, question: Question) -> u64 {
        let id = self.next_question.fetch_add(1, Ordering::Relaxed);
        self.pending
            .locked()
            .insert(id, (cluster.to_owned(), question));
        id
    }

    pub fn take(&self, id: u64) -> Option<(String, Question)> {
        self.pending.locked().remove(&id)
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        usine_core::store::lock(&self.store)
    }
}
