//! Drafts: jobs being written, saved on every edit so that a crash or a closed laptop loses
//! nothing. Each save is one SQLite statement (atomic, and durable in WAL mode).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::spec::{JobSpec, SPEC_VERSION};
use crate::store::{Store, StoreError};
#[cfg(test)]
use crate::target::THIS_COMPUTER_ID as LOCAL_TARGET;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    pub id: String,
    /// A cluster name, or `this-computer`.
    pub target: String,
    pub template: Option<String>,
    pub spec: JobSpec,
    pub updated_at: String,
    /// Why the cluster refused the last job sent from this draft; `None` once one was accepted
    /// (or none was sent).
    pub refused_because: Option<String>,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A new draft, saved at once.
pub fn create(
    store: &Store,
    target: &str,
    template: Option<&str>,
    spec: &JobSpec,
) -> Result<Draft, StoreError> {
    let id = crate::store::new_id();
    save(store, &id, target, spec)?;
    if let Some(t) = template {
        store
            .db
            .execute("UPDATE drafts SET template = ?2 WHERE id = ?1", (&id, t))?;
    }
    get(store, &id)
}

/// Saves (creating or replacing) a draft's target and spec.
pub fn save(store: &Store, id: &str, target: &str, spec: &JobSpec) -> Result<(), StoreError> {
    let json = serde_json::to_string(spec).map_err(corrupt)?;
    store.db.execute(
        "INSERT INTO drafts(id, target, spec) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET target = excluded.target, spec = excluded.spec,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (id, target, json),
    )?;
    Ok(())
}

/// The columns a draft is read from; the last one is the refusal of its latest job.
const COLUMNS: &str = "id, target, template, spec, updated_at,
    (SELECT refused FROM jobs WHERE draft_id = drafts.id ORDER BY created_at DESC, jobs.id DESC LIMIT 1)";

type Row = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn to_draft(
    (id, target, template, spec, updated_at, refused_because): Row,
) -> Result<Draft, StoreError> {
    let mut spec: JobSpec = serde_json::from_str(&spec).map_err(corrupt)?;
    // Older drafts load with new fields defaulted; they are saved in the new version next time.
    spec.version = SPEC_VERSION;
    Ok(Draft {
        id,
        target,
        template,
        spec,
        updated_at,
        refused_because,
    })
}

pub fn get(store: &Store, id: &str) -> Result<Draft, StoreError> {
    let row = store.db.query_row(
        &format!("SELECT {COLUMNS} FROM drafts WHERE id = ?1"),
        [id],
        from_row,
    )?;
    to_draft(row)
}

/// Most recently edited first; a draft that cannot be read (a damaged file) is left out and
/// logged rather than emptying the whole list.
pub fn list(store: &Store) -> Result<Vec<Draft>, StoreError> {
    let mut stmt = store.db.prepare(&format!(
        "SELECT {COLUMNS} FROM drafts ORDER BY updated_at DESC, id DESC"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::store::readable(
        rows,
        "draft",
        |r| r.0.clone(),
        to_draft,
    ))
}

pub fn delete(store: &Store, id: &str) -> Result<bool, StoreError> {
    Ok(store.db.execute("DELETE FROM drafts WHERE id = ?1", [id])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(tag: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("usine-drafts-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir.join("db.sqlite3")).unwrap(), dir)
    }

    #[test]
    fn a_damaged_draft_is_left_out_of_the_list_not_every_draft() {
        let (store, _) = temp_store("damaged");
        let good = create(&store, "lab", None, &JobSpec::default()).unwrap();
        let bad = create(&store, "lab", None, &JobSpec::default()).unwrap();
        store
            .db
            .execute(
                "UPDATE drafts SET spec = 'garbage' WHERE id = ?1",
                [&bad.id],
            )
            .unwrap();
        let ids: Vec<String> = list(&store).unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, [good.id]);
        assert!(
            delete(&store, &bad.id).unwrap(),
            "it can still be deleted by id"
        );
    }

    #[test]
    fn every_edit_is_saved_and_survives_reopening() {
        let (store, dir) = temp_store("edits");
        let template = crate::jobs::templates::find("pytorch-single-node").unwrap();
        let d = create(&store, LOCAL_TARGET, Some(&template.id), &template.spec).unwrap();
        let mut spec = d.spec.clone();
        spec.gpus_per_node = 2;
        save(&store, &d.id, "lumi", &spec).unwrap();
        drop(store);
        let store = Store::open(&dir.join("db.sqlite3")).unwrap();
        let all = list(&store).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].target.as_str(), all[0].spec.gpus_per_node),
            ("lumi", 2)
        );
        assert_eq!(all[0].template.as_deref(), Some("pytorch-single-node"));
        assert!(delete(&store, &d.id).unwrap());
        assert!(list(&store).unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_process_killed_while_saving_loses_nothing_already_saved() {
        // A child process saves drafts in a loop and is killed mid-way; every draft it
        // reported as saved must be readable and whole afterwards.
        if let Ok(path) = std::env::var("USINE_DRAFT_CRASH_CHILD") {
            let store = Store::open(std::path::Path::new(&path)).unwrap();
            let mut spec = JobSpec::default();
            for i in 0.. {
                spec.commands = format!("echo {i}\n{}", "x".repeat(4096));
                save(&store, "d1", LOCAL_TARGET, &spec).unwrap();
                println!("{i}");
            }
        }
        let (store, dir) = temp_store("crash");
        drop(store);
        let db = dir.join("db.sqlite3");
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "jobs::drafts::tests::a_process_killed_while_saving_loses_nothing_already_saved",
                "--nocapture",
            ])
            .env("USINE_DRAFT_CRASH_CHILD", &db)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let last_saved: u64 = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .max()
            .expect("the child saved at least once");
        let store = Store::open(&db).unwrap();
        let d = get(&store, "d1").unwrap();
        let n: u64 = d
            .spec
            .commands
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("echo ")
            .parse()
            .unwrap();
        assert!(n >= last_saved, "saved {last_saved}, found {n}");
        assert_eq!(d.spec.commands.len(), format!("echo {n}\n").len() + 4096);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
