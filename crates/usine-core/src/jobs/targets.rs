//! Picks what runs a job from the target's name: this computer, or Slurm on a configured
//! cluster (through its one shared connection); and what the checks know about that target.

use std::sync::Mutex;

use super::checks::{self, CostEstimate, Machine, Problem};
use super::local::ThisComputer;
use super::scheduler::{JobError, Logs, Scheduler};
use super::slurm::JobRecord;
use super::slurm_rest::{SlurmRest, fetch_token};
use super::slurm_ssh::SlurmOverSsh;
use super::spec::JobSpec;
use crate::cluster::{self, Connections};
use crate::ssh::Questions;
use crate::store::{Store, lock};
use crate::target::THIS_COMPUTER_ID;

/// A draft with everything the editor shows next to it: checks, cost and the script.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    pub draft: super::drafts::Draft,
    pub problems: Vec<Problem>,
    pub cost: CostEstimate,
    /// The sbatch script, when the spec can be written as one.
    pub script: Option<String>,
    /// Why it cannot, in plain words.
    pub script_error: Option<String>,
}

pub fn view(store: &Mutex<Store>, draft: super::drafts::Draft) -> Result<DraftView, JobError> {
    let (problems, cost) = check(store, &draft.target, &draft.spec)?;
    let (script, script_error) = match super::sbatch::render(&draft.spec) {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(DraftView {
        draft,
        problems,
        cost,
        script,
        script_error,
    })
}

/// What a new draft starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A template of the catalogue, by id.
    Template(String),
    /// A script the person already has (its text): read back into a spec.
    Script(String),
    /// Nothing: the spec's defaults.
    Blank,
}

/// The spec a new draft starts with, the template it came from, and what importing a script
/// could not keep (notes to show): the app's New draft and `usine draft new`.
pub fn starting_spec(start: &Start) -> Result<(JobSpec, Option<String>, Vec<String>), JobError> {
    match start {
        Start::Template(id) => {
            let t = super::templates::find(id).ok_or_else(|| JobError::NoTemplate(id.clone()))?;
            Ok((t.spec, Some(t.id), Vec::new()))
        }
        Start::Script(text) => {
            let imported = super::sbatch::import(text);
            Ok((imported.spec, None, imported.notes))
        }
        Start::Blank => Ok((JobSpec::default(), None, Vec::new())),
    }
}

/// A new draft for `target`; on a cluster, what the spec leaves open (partition, account) is
/// filled from the profile found at the last login (see `checks::fill_from_profile`).
pub fn create_draft(
    store: &Store,
    target: &str,
    template: Option<&str>,
    spec: &JobSpec,
) -> Result<super::drafts::Draft, JobError> {
    let mut spec = spec.clone();
    if target != THIS_COMPUTER_ID
        && let Some(profile) = cluster::cached_profile(store, target)?
    {
        checks::fill_from_profile(&mut spec, &profile);
    }
    Ok(super::drafts::create(store, target, template, &spec)?)
}

/// Saves a draft's fields first (nothing typed is ever lost), then checks them: every edit in
/// the app, `usine draft edit`.
pub fn save_draft(
    store: &Mutex<Store>,
    id: &str,
    target: &str,
    spec: &JobSpec,
) -> Result<DraftView, JobError> {
    super::drafts::save(&lock(store), id, target, spec)?;
    let draft = super::drafts::get(&lock(store), id)?;
    view(store, draft)
}

/// Replaces a draft's fields with what a script asks for (the expert's script view, `usine
/// draft edit --script`).
pub fn import_script(
    store: &Mutex<Store>,
    id: &str,
    target: &str,
    script: &str,
) -> Result<DraftView, JobError> {
    save_draft(store, id, target, &super::sbatch::import(script).spec)
}

/// The first job the guide offers on `target`: the one that shows its GPUs where there are
/// GPUs, else the one that shows its processors (a first job that cannot run is a dead end).
pub fn first_job_template(store: &Mutex<Store>, target: &str) -> Result<&'static str, JobError> {
    let has_gpus = if target == THIS_COMPUTER_ID {
        this_computer().1 > 0
    } else {
        // Unknown until the first login: GPU work is what AI Factories give.
        cluster::cached_profile(&lock(store), target)?
            .is_none_or(|p| p.partitions.iter().any(|part| part.gpus_per_node > 0))
    };
    Ok(if has_gpus {
        "first-gpu-job"
    } else {
        "first-cpu-job"
    })
}

/// What to do with a draft whose checks find a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blockers {
    /// Do not queue it (the app; the CLI by default).
    Stop,
    /// Queue it anyway: the person knows better than the checks (`usine submit --force`, for
    /// a cluster whose last known profile is out of date).
    Overrule,
}

/// Records a draft's job in the outbox, unless the checks find a problem that would make the
/// cluster refuse it or the project unable to pay (the first one is the error).
pub fn enqueue_draft(
    store: &Mutex<Store>,
    draft_id: &str,
    blockers: Blockers,
) -> Result<super::history::JobEntry, JobError> {
    let draft = super::drafts::get(&lock(store), draft_id)?;
    let (problems, _) = check(store, &draft.target, &draft.spec)?;
    if let Some(p) = problems
        .iter()
        .find(|p| p.severity == checks::Severity::Blocker)
        && blockers == Blockers::Stop
    {
        return Err(JobError::Rejected(p.message.clone()));
    }
    super::tracking::enqueue_draft(store, &draft)
}

/// How a submission ended.
#[derive(Debug)]
pub enum Submitted {
    /// In the outbox, as asked: sent the next time the target is reached.
    Queued(super::history::JobEntry),
    /// In the outbox because the target cannot be reached now (why): sent later.
    Away(super::history::JobEntry, JobError),
    /// Accepted by its scheduler.
    Sent(super::history::JobEntry),
}

/// Queues a draft's job ([`enqueue_draft`]) and, unless `only_queue`, sends it now: a refusal
/// is the error (the job is then not in the outbox), a target out of reach leaves it queued.
pub async fn submit(
    store: &Mutex<Store>,
    connections: &Connections,
    how: &Opening,
    draft_id: &str,
    blockers: Blockers,
    only_queue: bool,
) -> Result<Submitted, JobError> {
    let entry = enqueue_draft(store, draft_id, blockers)?;
    if only_queue {
        return Ok(Submitted::Queued(entry));
    }
    let scheduler = match open_as(store, connections, &entry.target, how).await {
        Ok(s) => s,
        Err(e) => return Ok(Submitted::Away(entry, e)),
    };
    Ok(Submitted::Sent(
        super::tracking::send(store, &scheduler, &entry.id).await?,
    ))
}

pub enum AnyScheduler {
    ThisComputer(ThisComputer),
    Slurm(SlurmOverSsh),
    /// slurmrestd for the jobs; the SSH connection still reads their logs.
    Rest(SlurmRest, SlurmOverSsh),
}

/// The scheduler for `target`; for a cluster this logs in (asking `questions` if needed) unless
/// its connection is already open.
pub async fn open(
    store: &Mutex<Store>,
    connections: &Connections,
    target: &str,
    questions: Questions,
) -> Result<AnyScheduler, JobError> {
    if target == THIS_COMPUTER_ID {
        return Ok(AnyScheduler::ThisComputer(ThisComputer::in_data_dir()));
    }
    let (settings, profile) = {
        let guard = lock(store);
        (
            cluster::get(&guard, target)?,
            cluster::cached_profile(&guard, target)?,
        )
    };
    let conn = connections.get(&settings, questions).await?;
    let Some(url) = &settings.rest_url else {
        return Ok(AnyScheduler::Slurm(SlurmOverSsh::new(conn)));
    };
    let token = fetch_token(&conn).await?;
    let home = profile
        .and_then(|p| p.storage.into_iter().find(|a| a.kind == "home"))
        .map_or_else(|| format!("/home/{}", settings.user), |a| a.path);
    let rest = SlurmRest::connect(url, &settings.user, token, &home)
        .await?
        .renewing_with(conn.clone());
    Ok(AnyScheduler::Rest(rest, SlurmOverSsh::new(conn)))
}

/// A scheduler for the target without asking the person anything: this computer, or a cluster
/// connected now (the tracker and the window's buttons; a login needs the person's Connect).
pub async fn open_quietly(
    store: &Mutex<Store>,
    connections: &Connections,
    target: &str,
) -> Option<AnyScheduler> {
    if target != THIS_COMPUTER_ID && !connections.connected().await.contains(target) {
        return None;
    }
    let (questions, mut asked) = Questions::channel();
    tokio::spawn(async move {
        while let Some(q) = asked.recv().await {
            q.answer(crate::ssh::Answer::Cancel);
        }
    });
    open(store, connections, target, questions).await.ok()
}

/// How a use case may reach a target's scheduler.
#[derive(Debug, Clone)]
pub enum Opening {
    /// Asking the person nothing: this computer, or a cluster connected now (the app's
    /// tracker and buttons; a login waits for the person's Connect).
    Quietly,
    /// Logging in if needed, the person answering the questions (the CLI, in its terminal).
    Asking(Questions),
}

/// The target's scheduler, reached as `how` allows; a cluster not connected is
/// [`JobError::Offline`] when nothing may be asked.
pub async fn open_as(
    store: &Mutex<Store>,
    connections: &Connections,
    target: &str,
    how: &Opening,
) -> Result<AnyScheduler, JobError> {
    match how {
        Opening::Quietly => open_quietly(store, connections, target)
            .await
            .ok_or_else(|| JobError::Offline(target.to_owned())),
        Opening::Asking(questions) => open(store, connections, target, questions.clone()).await,
    }
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// It had not been sent: it is gone from the outbox.
    Withdrawn,
    /// Its scheduler was asked to stop it; its state is brought up to date.
    Stopped,
}

/// Withdraws a job not sent yet, or asks its scheduler to cancel it, then brings its state up
/// to date.
pub async fn cancel(
    store: &Mutex<Store>,
    connections: &Connections,
    how: &Opening,
    id: &str,
) -> Result<Cancelled, JobError> {
    let job = super::history::get(&lock(store), id)?;
    let Some(scheduler_id) = job.scheduler_id else {
        super::history::withdraw(&lock(store), id)?;
        return Ok(Cancelled::Withdrawn);
    };
    let scheduler = open_as(store, connections, &job.target, how).await?;
    scheduler.cancel(&scheduler_id).await?;
    super::tracking::refresh(store, &job.target, &scheduler).await?;
    Ok(Cancelled::Stopped)
}

/// The end of a job's output and errors (nothing yet for a job not sent).
pub async fn logs(
    store: &Mutex<Store>,
    connections: &Connections,
    how: &Opening,
    id: &str,
) -> Result<Logs, JobError> {
    let job = super::history::get(&lock(store), id)?;
    let Some(scheduler_id) = job.scheduler_id else {
        return Ok(Logs::default());
    };
    open_as(store, connections, &job.target, how)
        .await?
        .logs(&scheduler_id, &job.spec, 64 * 1024)
        .await
}

/// How much of a job's output to read, and whether to keep reading.
#[derive(Debug, Clone, Copy)]
pub struct LogsWanted {
    /// The end of the output, at most this many bytes.
    pub bytes: u64,
    /// Read again this often until the job ends; `None`: once.
    pub every: Option<std::time::Duration>,
}

/// Reads a job's output as `wanted`, handing `on_new` what was not shown yet. Ends with the job
/// as it stands and the last errors it wrote; a job not sent yet has no output.
pub async fn follow_logs(
    store: &Mutex<Store>,
    connections: &Connections,
    how: &Opening,
    id: &str,
    wanted: LogsWanted,
    mut on_new: impl FnMut(&str),
) -> Result<(super::history::JobEntry, String), JobError> {
    let job = super::history::get(&lock(store), id)?;
    let Some(scheduler_id) = job.scheduler_id.clone() else {
        return Ok((job, String::new()));
    };
    let scheduler = open_as(store, connections, &job.target, how).await?;
    let mut shown = 0usize;
    loop {
        let logs = scheduler
            .logs(&scheduler_id, &job.spec, wanted.bytes)
            .await?;
        // Only what is new since the last look (the tail may have moved on).
        let text = logs.stdout;
        on_new(text.get(shown.min(text.len())..).unwrap_or_default());
        shown = text.len();
        super::tracking::refresh(store, &job.target, &scheduler).await?;
        let now = super::history::get(&lock(store), id)?;
        match wanted.every {
            Some(every) if !now.state.is_finished() => tokio::time::sleep(every).await,
            _ => return Ok((now, logs.stderr)),
        }
    }
}

/// This computer's cores and NVIDIA GPUs (as `nvidia-smi -L` lists them). Asked once: drafts
/// are checked on every edit, and the hardware does not change while the app runs.
pub fn this_computer() -> (u32, u32) {
    static FOUND: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *FOUND.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let gpus = std::process::Command::new("nvidia-smi")
            .arg("-L")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map_or(0, |o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.starts_with("GPU "))
                    .count() as u32
            });
        (cpus, gpus)
    })
}

/// Checks and cost for `spec` on `target`, from what is known offline.
pub fn check(
    store: &Mutex<Store>,
    target: &str,
    spec: &JobSpec,
) -> Result<(Vec<Problem>, CostEstimate), JobError> {
    if target == THIS_COMPUTER_ID {
        let (cpus, gpus) = this_computer();
        let mut cost = checks::estimate(spec, None, None);
        // Your own computer costs no GPU-hours.
        cost.gpu_hours = 0.0;
        return Ok((
            checks::check(spec, Machine::ThisComputer { cpus, gpus }, &cost),
            cost,
        ));
    }
    let guard = lock(store);
    let settings = cluster::get(&guard, target)?;
    let profile = cluster::cached_profile(&guard, target)?;
    let site = settings.site.as_deref().and_then(crate::sites::find);
    let cost = checks::estimate(spec, profile.as_ref(), site.as_ref());
    let mut problems = match &profile {
        Some(p) => checks::check(spec, Machine::Cluster(p), &cost),
        None => checks::check(
            spec,
            Machine::ThisComputer {
                cpus: u32::MAX,
                gpus: u32::MAX,
            },
            &cost,
        )
        .into_iter()
        .filter(|p| p.field != "nodes")
        .collect(),
    };
    drop(guard);
    problems.extend(super::inputs::still_sending(store, target, &spec.inputs)?);
    let not_carried = super::rest_options::never_carried(&spec.extra_directives);
    if settings.rest_url.is_some() && !not_carried.is_empty() {
        problems.push(Problem {
            field: "extraDirectives".into(),
            severity: checks::Severity::Blocker,
            message: super::rest_options::NotCarried(not_carried).message(),
        });
    }
    if profile.is_none() {
        problems.push(Problem {
            field: "target".into(),
            severity: checks::Severity::Warning,
            message: crate::tr!(
                en: "Usine has not seen {target}'s partitions and budget yet: connect once so it can check the job before it costs anything.",
                fr: "Usine ne connaît pas encore les partitions et le budget de {target} : connectez-vous une fois pour qu'il vérifie le job avant qu'il ne coûte."
            ),
        });
    }
    Ok((problems, cost))
}

impl AnyScheduler {
    /// Slurm over SSH when the target is a cluster (also beside its REST service).
    pub fn ssh(&self) -> Option<&SlurmOverSsh> {
        match self {
            Self::ThisComputer(_) => None,
            Self::Slurm(s) | Self::Rest(_, s) => Some(s),
        }
    }
}

impl Scheduler for AnyScheduler {
    async fn submit(&self, tag: &str, spec: &JobSpec, script: &str) -> Result<String, JobError> {
        match self {
            Self::ThisComputer(s) => s.submit(tag, spec, script).await,
            Self::Slurm(s) => s.submit(tag, spec, script).await,
            Self::Rest(s, _) => s.submit(tag, spec, script).await,
        }
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<JobRecord>, JobError> {
        match self {
            Self::ThisComputer(s) => s.status(ids).await,
            Self::Slurm(s) => s.status(ids).await,
            Self::Rest(rest, ssh) => {
                let mut found = rest.status(ids).await?;
                // Jobs neither slurmctld nor slurmdbd's REST knows (a slurmrestd serving
                // slurmctld's endpoints only, or slurmdbd's down): sacct over SSH.
                let base = |id: &str| id.split('_').next().unwrap_or(id).to_owned();
                let missing: Vec<String> = ids
                    .iter()
                    .filter(|id| !found.iter().any(|r| base(&r.job_id) == base(id)))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    match ssh.status(&missing).await {
                        Ok(more) => found.extend(more),
                        Err(error) => tracing::info!(%error, "sacct over SSH did not answer"),
                    }
                }
                Ok(found)
            }
        }
    }

    async fn cancel(&self, id: &str) -> Result<(), JobError> {
        match self {
            Self::ThisComputer(s) => s.cancel(id).await,
            Self::Slurm(s) => s.cancel(id).await,
            Self::Rest(s, _) => s.cancel(id).await,
        }
    }

    async fn logs(&self, id: &str, spec: &JobSpec, max_bytes: u64) -> Result<Logs, JobError> {
        match self {
            Self::ThisComputer(s) => s.logs(id, spec, max_bytes).await,
            Self::Slurm(s) | Self::Rest(_, s) => s.logs(id, spec, max_bytes).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_starts_from_a_template_a_script_or_nothing() {
        let (spec, template, notes) =
            starting_spec(&Start::Template("first-cpu-job".into())).unwrap();
        assert_eq!(
            (spec.name.as_str(), template.as_deref()),
            ("first-cpu-job", Some("first-cpu-job"))
        );
        assert!(notes.is_empty());
        assert!(matches!(
            starting_spec(&Start::Template("nope".into())),
            Err(JobError::NoTemplate(id)) if id == "nope"
        ));
        let (spec, template, _) = starting_spec(&Start::Script(
            "#!/bin/bash\n#SBATCH -J mine\nsrun hostname\n".into(),
        ))
        .unwrap();
        assert_eq!((spec.name.as_str(), template), ("mine", None));
        assert_eq!(starting_spec(&Start::Blank).unwrap().0, JobSpec::default());
    }
}
