//! A draft's input datasets from files and folders dropped on it (or picked): on a cluster,
//! each is sent into the cluster's data folder by the Data screen's own upload (verified,
//! resumable, in the transfers list) and the job reads it where it lands; on this computer,
//! the job reads it where it is. The job's submission then checks that each one is there.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use ts_rs::TS;

use super::checks::{Problem, Severity};
use super::scheduler::JobError;
use super::targets::{DraftView, save_draft};
use crate::store::{Store, lock};
use crate::transfer::{self, Compare};

/// What attaching did: the draft as it is now, and the uploads that carry the data there.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "InputsAttached")]
pub struct Attached {
    pub view: DraftView,
    /// Started (or continued) uploads, to run; none on this computer.
    pub uploads: Vec<transfer::Started>,
}

/// More items than this dropped on a draft at once are refused (each becomes an input the job
/// is checked against); the Data screen takes any number, as one upload per folder.
const MAX_DROPPED_INPUTS: usize = 50;

/// Adds `paths` (files or folders on this computer) to the draft `draft_id`'s input datasets.
pub fn attach(
    store: &Mutex<Store>,
    draft_id: &str,
    paths: &[PathBuf],
) -> Result<Attached, JobError> {
    if paths.len() > MAX_DROPPED_INPUTS {
        return Err(JobError::TooManyInputs(paths.len()));
    }
    let draft = super::drafts::get(&lock(store), draft_id)?;
    let mut spec = draft.spec.clone();
    let mut uploads = Vec::new();
    for path in paths {
        let input = if draft.target == crate::target::THIS_COMPUTER_ID {
            let path = crate::local_paths::expand(path);
            std::path::absolute(&path)
                .unwrap_or(path)
                .display()
                .to_string()
        } else {
            let profile = crate::cluster::cached_profile(&lock(store), &draft.target)?;
            let folder =
                transfer::place::suggested_folder(profile.as_ref().map_or(&[][..], |p| &p.storage));
            let started = transfer::begin(store, &draft.target, path, &folder, Compare::Quick)?;
            let place = started.place.clone();
            if !uploads
                .iter()
                .any(|u: &transfer::Started| u.id == started.id)
            {
                uploads.push(started);
            }
            place
        };
        if !spec.inputs.contains(&input) {
            spec.inputs.push(input);
        }
    }
    let view = save_draft(store, draft_id, &draft.target, &spec)?;
    Ok(Attached { view, uploads })
}

/// Blockers for input datasets whose upload to `cluster` has not finished: the job would read
/// half of one (the submission only checks that the path exists).
pub(crate) fn still_sending(
    store: &Mutex<Store>,
    cluster: &str,
    inputs: &[String],
) -> Result<Vec<Problem>, JobError> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let unfinished = transfer::list(store)?.into_iter().filter(|t| {
        t.cluster == cluster
            && t.direction == transfer::Direction::Up
            && !matches!(t.state, transfer::State::Done | transfer::State::Cancelled)
    });
    let mut problems = Vec::new();
    for t in unfinished {
        // A folder's upload lands at its remote root; a single file's, under its name there.
        let local = std::path::Path::new(&t.local_root);
        let place = match local.file_name().filter(|_| local.is_file()) {
            Some(name) => format!(
                "{}/{}",
                t.remote_root.trim_end_matches('/'),
                name.to_string_lossy()
            ),
            None => t.remote_root.clone(),
        };
        if inputs.contains(&place) {
            let percent = (t.bytes_confirmed * 100).checked_div(t.bytes).unwrap_or(0);
            problems.push(Problem {
                field: "inputs".into(),
                severity: Severity::Blocker,
                message: crate::tr!(
                    en: "{place} is still being sent ({percent} % there): the job can go once it has arrived. Its progress is on the Data screen.",
                    fr: "{place} est encore en cours d'envoi ({percent} % arrivés) : le job pourra partir une fois tout arrivé. La progression est sur l'écran Données."
                ),
            });
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::spec::JobSpec;

    #[test]
    fn dropped_folders_become_inputs_where_they_land_once_each() {
        let dir = std::env::temp_dir().join(format!("usine-inputs-{}", crate::store::new_id()));
        std::fs::create_dir_all(dir.join("cats")).unwrap();
        std::fs::write(dir.join("cats/1.jpg"), "meow").unwrap();
        let store = Mutex::new(Store::open(&dir.join("usine.sqlite3")).unwrap());
        let settings = crate::cluster::ClusterSettings {
            name: "lumi".into(),
            site: None,
            host: "127.0.0.1".into(),
            port: 22,
            user: "ada".into(),
            login: crate::cluster::Login::Agent,
            jumps: vec![],
            rest_url: None,
        };
        crate::cluster::add(&lock(&store), &settings).unwrap();
        let profile = crate::discovery::ClusterProfile {
            slurm_version: "24.11".into(),
            partitions: vec![],
            accounts: vec![],
            budget_report: None,
            storage: vec![crate::discovery::StorageArea {
                kind: "scratch".into(),
                path: "/scratch/project_1".into(),
                free_bytes: None,
            }],
        };
        crate::cluster::save_profile(&lock(&store), "lumi", &profile).unwrap();
        let draft =
            super::super::drafts::create(&lock(&store), "lumi", None, &JobSpec::default()).unwrap();

        let cats = dir.join("cats");
        let attached = attach(&store, &draft.id, &[cats.clone(), cats.clone()]).unwrap();
        assert_eq!(
            attached.view.draft.spec.inputs,
            ["/scratch/project_1/datasets/cats"]
        );
        assert_eq!(attached.uploads.len(), 1, "one upload for one folder");
        let sent = transfer::get(&store, &attached.uploads[0].id).unwrap();
        assert_eq!(sent.files, 1);
        // Not sent yet: the draft says so, and cannot go.
        let blocker = attached.view.problems.iter().find(|p| p.field == "inputs");
        assert!(
            blocker.is_some_and(|p| p.severity == Severity::Blocker
                && p.message
                    .contains("/scratch/project_1/datasets/cats is still being sent")),
            "{:?}",
            attached.view.problems
        );

        let here = super::super::drafts::create(
            &lock(&store),
            crate::target::THIS_COMPUTER_ID,
            None,
            &JobSpec::default(),
        )
        .unwrap();
        let attached = attach(&store, &here.id, std::slice::from_ref(&cats)).unwrap();
        assert_eq!(
            attached.view.draft.spec.inputs,
            [cats.display().to_string()]
        );
        assert!(
            attached.uploads.is_empty(),
            "nothing to send on this computer"
        );

        // Thousands of files dropped on a job: refused, saying what to do, and nothing changed.
        let many: Vec<PathBuf> = (0..5000).map(|i| dir.join(format!("{i}.jpg"))).collect();
        let refused = attach(&store, &here.id, &many).unwrap_err();
        assert!(refused.to_string().contains("5000 items"), "{refused}");
        let kept = super::super::drafts::get(&lock(&store), &here.id).unwrap();
        assert_eq!(kept.spec.inputs, [cats.display().to_string()]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
