//! The local SQLite database: what must survive restarts and work offline (clusters, their
//! discovered profiles; drafts, jobs and metrics later). WAL mode, numbered migrations, and every
//! write that matters in a transaction.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::sync::Locked;

/// Schema changes, applied in order once each. Never edit a landed one: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: clusters and what was discovered about them.
    "CREATE TABLE clusters (
        name TEXT PRIMARY KEY NOT NULL,
        settings TEXT NOT NULL,          -- JSON of cluster::ClusterSettings
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE cluster_profiles (
        cluster TEXT PRIMARY KEY NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        profile TEXT NOT NULL,           -- JSON of discovery::ClusterProfile
        discovered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );",
    // 2: transfer manifests, so that an upload resumes where it stopped.
    "CREATE TABLE transfers (
        id TEXT PRIMARY KEY NOT NULL,
        cluster TEXT NOT NULL,
        local_root TEXT NOT NULL,
        remote_root TEXT NOT NULL,
        state TEXT NOT NULL,            -- running, done, failed
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE transfer_files (
        transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime INTEGER NOT NULL,
        confirmed INTEGER NOT NULL DEFAULT 0,   -- bytes the cluster is known to hold
        sha256 TEXT,                            -- of the local file, once read
        verified INTEGER NOT NULL DEFAULT 0,    -- remote sha256sum matched
        PRIMARY KEY (transfer_id, rel_path)
    );",
    // 3: job drafts (autosaved), and every job sent or queued to be sent (the outbox).
    "CREATE TABLE drafts (
        id TEXT PRIMARY KEY NOT NULL,
        target TEXT NOT NULL,           -- a cluster name, or 'this-computer'
        template TEXT,
        spec TEXT NOT NULL,             -- JSON of jobs::spec::JobSpec
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY NOT NULL,   -- Usine's tag; also marks the submission on the cluster
        target TEXT NOT NULL,
        spec TEXT NOT NULL,
        script TEXT NOT NULL,           -- exactly what was (or will be) submitted
        scheduler_id TEXT,              -- Slurm's job id; NULL while queued in the outbox
        state TEXT NOT NULL,            -- JSON of jobs::slurm::JobState
        record TEXT,                    -- JSON of the last jobs::slurm::JobRecord seen
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX jobs_by_target ON jobs(target, created_at);",
    // 4: the last look at each cluster's whole queue (the user's jobs, Usine's or not).
    "CREATE TABLE queue_snapshot (
        target TEXT NOT NULL,
        job_id TEXT NOT NULL,
        record TEXT NOT NULL,           -- JSON of jobs::slurm::JobRecord
        PRIMARY KEY (target, job_id)
    );",
    // 5: GPU samples per job, node and GPU (jobs.id), for the charts and the idle warning.
    "CREATE TABLE gpu_samples (
        job TEXT NOT NULL,
        node TEXT NOT NULL,
        gpu INTEGER NOT NULL,
        t INTEGER NOT NULL,             -- ms since the epoch
        utilization REAL,
        memory_used REAL,               -- MiB
        memory_total REAL,
        power REAL,
        temperature REAL,
        PRIMARY KEY (job, node, gpu, t)
    ) WITHOUT ROWID;
    CREATE TABLE gpu_log_offsets (
        job TEXT NOT NULL,
        file TEXT NOT NULL,             -- a recorder log on the cluster
        offset INTEGER NOT NULL,        -- bytes already read (whole lines only)
        PRIMARY KEY (job, file)
    );",
    // 6: the user's settings (one JSON document per key).
    "CREATE TABLE settings (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    );",
    // 7: how an upload decides that the cluster already has a file.
    "ALTER TABLE transfers ADD COLUMN compare TEXT NOT NULL DEFAULT 'quick';",
    // 8: the confirmed parts of large files, sent several at once (a file's `confirmed` is
    // their sum).
    "CREATE TABLE transfer_parts (
        transfer_id TEXT NOT NULL,
        rel_path TEXT NOT NULL,
        offset INTEGER NOT NULL,
        len INTEGER NOT NULL,
        PRIMARY KEY (transfer_id, rel_path, offset),
        FOREIGN KEY (transfer_id, rel_path)
            REFERENCES transfer_files(transfer_id, rel_path) ON DELETE CASCADE
    );",
    // 9: why the cluster refused a job sent from the outbox (it is then failed).
    "ALTER TABLE jobs ADD COLUMN refused TEXT;",
    // 10: what a job on this computer uses of its processors and memory.
    "CREATE TABLE cpu_samples (
        job TEXT NOT NULL,
        t INTEGER NOT NULL,             -- ms since the epoch
        cpu_time REAL NOT NULL,         -- CPU-ms of the job's processes so far
        cpu_percent REAL,               -- share of all this computer's CPUs since the sample before
        memory_used REAL NOT NULL,      -- MiB
        memory_total REAL NOT NULL,
        PRIMARY KEY (job, t)
    ) WITHOUT ROWID;",
    // 11: who is sending a queued job and until when (two processes flushing the same outbox
    // must not both send it), and the draft a job was sent from (so the draft can say why the
    // cluster refused it).
    "ALTER TABLE jobs ADD COLUMN sending_owner TEXT;
     ALTER TABLE jobs ADD COLUMN sending_until INTEGER;
     ALTER TABLE jobs ADD COLUMN draft_id TEXT;",
    // 12: the process running an upload, so that one whose process died shows as interrupted
    // (and is continued by the same upload started again) instead of running for ever.
    "ALTER TABLE transfers ADD COLUMN owner TEXT;",
    // 13: when a job reached the scheduler (the tracker looks again soon after a send).
    "ALTER TABLE jobs ADD COLUMN sent_at TEXT;",
    // 14: the job's node had no GPU tool to ask, so its GPU chart stays empty (said, not
    // "no samples yet" for the whole run).
    "ALTER TABLE jobs ADD COLUMN no_gpu_tool INTEGER NOT NULL DEFAULT 0;",
    // 15: downloads in the same list as uploads; per file, whether this transfer wrote it (what
    // "cancel and delete what was sent" may remove: never a file that was already there) and
    // why it failed in the last run.
    "ALTER TABLE transfers ADD COLUMN direction TEXT NOT NULL DEFAULT 'up';
     ALTER TABLE transfer_files ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE transfer_files ADD COLUMN problem TEXT;",
    // 16: an upload of items picked or dropped together from one folder (their names, a JSON
    // array; NULL: the whole file or folder `local_root`): 100,000 dropped files are one
    // transfer, not 100,000.
    "ALTER TABLE transfers ADD COLUMN picked TEXT;",
    // 17: interactive sessions: a job whose server is opened through a forward; when its
    // server was first seen answering.
    "CREATE TABLE sessions (
        job TEXT PRIMARY KEY NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        open_path TEXT NOT NULL,        -- the page to open, {token} for the server's token
        ready_at TEXT
    );",
    // 18: where a waiting session stands in its partition's queue (JSON of
    // sessions::queue_place::QueuePlace), from the last look.
    "ALTER TABLE sessions ADD COLUMN place TEXT;",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}", crate::tr!(
        en: "Usine's local database {} cannot be opened ({}). Check that the disk is not full and that the folder is yours.",
        fr: "La base de données locale d'Usine {} ne peut pas être ouverte ({}). Vérifiez que le disque n'est pas plein et que le dossier vous appartient.",
        .path.display(), .reason
    ))]
    Open { path: PathBuf, reason: String },
    #[error("{}", crate::tr!(
        en: "Usine's local database failed: {}",
        fr: "La base de données locale d'Usine a échoué : {}",
        .0
    ))]
    Sql(#[from] rusqlite::Error),
    #[error("{}", crate::tr!(
        en: "Usine's local database holds data it cannot read ({}); it was written by another version of Usine.",
        fr: "La base de données locale d'Usine contient des données illisibles ({}) ; elles viennent d'une autre version d'Usine.",
        .0
    ))]
    Corrupt(String),
}

pub struct Store {
    pub(crate) db: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        }
        let db = Connection::open(path).map_err(|e| open_err(&e))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL still survives an app crash; it only skips an fsync per commit.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.pragma_update(None, "busy_timeout", 5000)?;
        let mut store = Self { db };
        store.migrate()?;
        Ok(store)
    }

    /// The database in the platform's data folder, or under `USINE_DATA_DIR` when set.
    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(&data_dir().join("usine.sqlite3"))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        // Immediate: two processes opening an old store at once (the app and a `usine` command)
        // must not both read the old version and then fail to write.
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (number, sql) in (1i64..).zip(MIGRATIONS) {
            if number > version {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", number)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn put_json(
        &self,
        table: Table,
        key: &str,
        value: &impl serde::Serialize,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sql = match table {
            Table::Clusters => {
                "INSERT INTO clusters(name, settings) VALUES (?1, ?2)
                                ON CONFLICT(name) DO UPDATE SET settings = excluded.settings"
            }
            Table::ClusterProfiles => {
                "INSERT INTO cluster_profiles(cluster, profile) VALUES (?1, ?2)
                                ON CONFLICT(cluster) DO UPDATE SET profile = excluded.profile,
                                discovered_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
            }
            Table::Settings => {
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                                ON CONFLICT(key) DO UPDATE SET value = excluded.value"
            }
        };
        self.db.execute(sql, params![key, json])?;
        Ok(())
    }

    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let sql = match table {
            Table::Clusters => "SELECT settings FROM clusters WHERE name = ?1",
            Table::ClusterProfiles => "SELECT profile FROM cluster_profiles WHERE cluster = ?1",
            Table::Settings => "SELECT value FROM settings WHERE key = ?1",
        };
        let json: Option<String> = self
            .db
            .query_row(sql, params![key], |r| r.get(0))
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Every row of `table`, in key order.
    pub fn list_json<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let sql = match table {
            Table::Clusters => "SELECT name, settings FROM clusters ORDER BY name",
            Table::ClusterProfiles => {
                "SELECT cluster, profile FROM cluster_profiles ORDER BY cluster"
            }
            Table::Settings => "SELECT key, value FROM settings ORDER BY key",
        };
        let mut stmt = self.db.prepare(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (key, json) = row?;
            let value =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((key, value))
        })
        .collect()
    }

    /// Deletes a row (and, for a cluster, its profile); true when something was deleted.
    pub fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        let sql = match table {
            Table::Clusters => "DELETE FROM clusters WHERE name = ?1",
            Table::ClusterProfiles => "DELETE FROM cluster_profiles WHERE cluster = ?1",
            Table::Settings => "DELETE FROM settings WHERE key = ?1",
        };
        Ok(self.db.execute(sql, params![key])? > 0)
    }
}

/// The tables that hold one JSON document per key.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Clusters,
    ClusterProfiles,
    /// The user's settings and the first-run guide's progress.
    Settings,
}

/// Rows read back into values, each row `(id, …)`; one that cannot be read (written by
/// another version, a damaged file) is left out and logged as the `what` called `id`, so one
/// bad row never hides the others.
pub fn readable<R, T>(
    rows: Vec<R>,
    what: &str,
    id: impl Fn(&R) -> String,
    read: impl Fn(R) -> Result<T, StoreError>,
) -> Vec<T> {
    rows.into_iter()
        .filter_map(|row| {
            let id = id(&row);
            read(row)
                .inspect_err(|error| tracing::warn!(%what, %id, %error, "not readable; left out"))
                .ok()
        })
        .collect()
}

/// Usine's data folder: `USINE_DATA_DIR`, else the platform's (e.g. `~/.local/share/usine`).
/// The store behind a mutex, for code shared between threads; a panic elsewhere while holding
/// it does not make the store unusable (every write is its own transaction).
pub fn lock(store: &std::sync::Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.locked()
}

/// Milliseconds since the Unix epoch, the store's unit of time.
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A unique id, sortable by creation time, made without coordination.
pub fn new_id() -> String {
    use getrandom::rand_core::Rng;
    let ms = now_ms();
    let random = getrandom::rand_core::UnwrapErr(getrandom::SysRng).next_u32();
    format!("{ms:013x}{random:08x}")
}

pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("USINE_DATA_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("eu", "Usine", "usine")
        .map(|d| d.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from(".usine"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "usine-store-{tag}-{}/usine.sqlite3",
            std::process::id()
        ))
    }

    #[test]
    fn migrations_apply_once_and_data_survives_reopening() {
        let path = temp_db("reopen");
        {
            let store = Store::open(&path).unwrap();
            store
                .put_json(
                    Table::Clusters,
                    "lab",
                    &serde_json::json!({"host": "127.0.0.1"}),
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let got: Option<serde_json::Value> = store.get_json(Table::Clusters, "lab").unwrap();
        assert_eq!(got.unwrap()["host"], "127.0.0.1");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn deleting_a_cluster_deletes_its_profile() {
        let path = temp_db("cascade");
        let store = Store::open(&path).unwrap();
        store.put_json(Table::Clusters, "lab", &1).unwrap();
        store.put_json(Table::ClusterProfiles, "lab", &2).unwrap();
        assert!(store.delete(Table::Clusters, "lab").unwrap());
        assert_eq!(
            store
                .get_json::<i32>(Table::ClusterProfiles, "lab")
                .unwrap(),
            None
        );
        assert!(!store.delete(Table::Clusters, "lab").unwrap());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_profile_needs_its_cluster() {
        let path = temp_db("fk");
        let store = Store::open(&path).unwrap();
        assert!(
            store
                .put_json(Table::ClusterProfiles, "nowhere", &1)
                .is_err()
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
