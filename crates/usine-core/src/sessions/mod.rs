//! Interactive sessions: JupyterLab, TensorBoard or any web app started as a batch job (it
//! survives the laptop sleeping and the app quitting), checked and costed like any job, sent
//! through the same outbox, and opened through the cluster's one connection ([`crate::forward`]).
//! On this computer the same kinds run locally and open directly.
//!
//! The server's token is made on the node and read back from a private file by the job's id;
//! the node named there must be one of the job's nodes before anything connects to it.

pub mod connection_file;
pub mod kinds;
pub mod queue_place;
mod script;

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::cluster::{self, Connections};
use crate::forward::{Destination, ForwardError, ForwardView, Forwards, Route};
use crate::jobs::checks::{CostEstimate, Problem, Severity};
use crate::jobs::history::{self, JobEntry};
use crate::jobs::scheduler::JobError;
use crate::jobs::slurm::JobState;
use crate::jobs::spec::{EnvVar, Environment, JobSpec};
use crate::jobs::targets::{self, Opening};
use crate::ssh::quote;
use crate::store::{Store, StoreError, lock};
use crate::target::THIS_COMPUTER_ID;
use connection_file::Listening;
use kinds::{Asks, SessionKind};
use queue_place::QueuePlace;

/// What the person asks for; what they leave out comes from the kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionRequest {
    pub kind: String,
    pub target: String,
    /// TensorBoard's folder of event files (`~` is the home).
    pub folder: Option<String>,
    /// The web app's own command.
    pub command: Option<String>,
    pub gpus: Option<u32>,
    pub gpu_type: Option<String>,
    pub cpus: Option<u32>,
    #[ts(type = "number | null")]
    pub time_limit_minutes: Option<u64>,
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Modules, Python environment, container: where the server is installed.
    pub environment: Environment,
    pub working_dir: Option<String>,
}

/// A session as the list and its card show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The job's id in Usine.
    pub id: String,
    pub kind: String,
    pub title: String,
    pub target: String,
    pub job: JobEntry,
    /// Running, and its server answered (its connection file was read).
    pub ready: bool,
    /// While it waits: where it stands in its partition's queue (from the last look).
    pub place: Option<QueuePlace>,
    /// Minutes before Slurm ends it, while it runs.
    #[ts(type = "number | null")]
    pub minutes_left: Option<u64>,
    #[ts(type = "number")]
    pub gpus: u64,
    /// GPU-hours spent so far (all of them once it ended).
    pub gpu_hours: f64,
    /// The way in from this computer, while open in this process.
    pub forward: Option<ForwardView>,
}

/// What starting would cost and what is wrong, before anything is sent.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionPlan {
    pub spec: JobSpec,
    pub problems: Vec<Problem>,
    pub cost: CostEstimate,
}

/// How to reach a ready session.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The page, with its token: for the browser only, never for a log.
    pub url: String,
    /// How the bytes travel (`None` on this computer: directly).
    pub route: Option<Route>,
}

/// What stopping a session cost.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Stopped {
    pub gpu_hours: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Forward(#[from] ForwardError),
    #[error("{}", crate::tr!(
        en: "There is no kind of session called “{}”. Choose JupyterLab, TensorBoard or Any web app.",
        fr: "Il n'y a pas de session de type « {} ». Choisissez JupyterLab, TensorBoard ou Toute application web.",
        .0
    ))]
    NoKind(String),
    #[error("{}", crate::tr!(
        en: "TensorBoard needs the folder of your event files (the log folder your training writes to, like ~/runs).",
        fr: "TensorBoard a besoin du dossier de vos fichiers d'événements (le dossier de logs de votre entraînement, comme ~/runs)."
    ))]
    NeedsFolder,
    #[error("{}", crate::tr!(
        en: "Give the command that starts your web app and makes it listen on $PORT (for example: streamlit run app.py --server.port $PORT).",
        fr: "Donnez la commande qui lance votre application web et la fait écouter sur $PORT (par exemple : streamlit run app.py --server.port $PORT)."
    ))]
    NeedsCommand,
    #[error("{}", crate::tr!(
        en: "Job {} is not an interactive session.",
        fr: "Le job {} n'est pas une session interactive.",
        .0
    ))]
    NotASession(String),
    #[error("{}", crate::tr!(
        en: "The session waits for the cluster: {}. It opens once it runs; Usine tells you.",
        fr: "La session attend le cluster : {}. Elle s'ouvre dès qu'elle tourne ; Usine vous prévient.",
        .0
    ))]
    Waiting(String),
    #[error("{}", crate::tr!(
        en: "The session runs and its server is starting (JupyterLab takes up to a minute). Try again in a moment.",
        fr: "La session tourne et son serveur démarre (JupyterLab prend jusqu'à une minute). Réessayez dans un instant."
    ))]
    Starting,
    #[error("{}", crate::tr!(
        en: "The session has ended ({}). Start a new one; its log says what happened if it ended early.",
        fr: "La session est terminée ({}). Lancez-en une nouvelle ; son journal dit ce qui s'est passé si elle s'est arrêtée tôt.",
        .0
    ))]
    Ended(String),
    #[error("{}", crate::tr!(
        en: "The session's file names {}, which is not a node of its job: Usine does not connect there. Stop the session and start a new one.",
        fr: "Le fichier de la session désigne {}, qui n'est pas un nœud de son job : Usine ne s'y connecte pas. Arrêtez la session et lancez-en une nouvelle.",
        .0
    ))]
    NotItsNode(String),
    #[error("{}", crate::tr!(
        en: "{} lets only its administrators lengthen a running job ({}). Save your work, stop this session and start a new one with more time.",
        fr: "{} ne laisse que ses administrateurs allonger un job en cours ({}). Enregistrez votre travail, arrêtez cette session et lancez-en une nouvelle avec plus de temps.",
        .0, .1
    ))]
    CannotExtend(String, String),
    #[error("{}", crate::tr!(
        en: "Sessions on this computer have no time limit: they run until you stop them.",
        fr: "Les sessions sur cet ordinateur n'ont pas de limite de temps : elles tournent jusqu'à ce que vous les arrêtiez."
    ))]
    NoLimitHere,
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        Self::Job(e.into())
    }
}

impl From<crate::cluster::ClusterError> for SessionError {
    fn from(e: crate::cluster::ClusterError) -> Self {
        Self::Job(e.into())
    }
}

impl crate::error_kind::HasKind for SessionError {
    fn kind(&self) -> crate::error_kind::ErrorKind {
        use crate::error_kind::ErrorKind::*;
        match self {
            Self::Job(e) => e.kind(),
            Self::Forward(e) => e.kind(),
            Self::NoKind(_) | Self::NotASession(_) => NotFound,
            Self::NeedsFolder | Self::NeedsCommand | Self::NoLimitHere => Invalid,
            Self::Waiting(_) | Self::Starting => Busy,
            Self::Ended(_) => NotFound,
            Self::NotItsNode(_) | Self::CannotExtend(..) => Refused,
        }
    }
}

/// The job a request makes: the kind's resources, what the person changed, and the commands
/// that start the server.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn spec_for(request: &SessionRequest) -> Result<(SessionKind, JobSpec), SessionError> {
    let kind =
        kinds::find(&request.kind).ok_or_else(|| SessionError::NoKind(request.kind.clone()))?;
    let mut spec = kind.spec.clone();
    let mut environment = request.environment.clone();
    let start = match kind.asks {
        Some(Asks::Folder) => {
            let folder = given(&request.folder).ok_or(SessionError::NeedsFolder)?;
            environment.variables.push(EnvVar {
                name: "FOLDER".into(),
                value: folder.to_owned(),
            });
            kind.start.clone()
        }
        Some(Asks::Command) => {
            let command = given(&request.command).ok_or(SessionError::NeedsCommand)?;
            kind.start.replace("{command}", command)
        }
        None => kind.start.clone(),
    };
    if request.target == THIS_COMPUTER_ID {
        // Here the server answers this computer only, and the file lives with Usine's data.
        let dir = crate::store::data_dir().join("sessions");
        environment.variables.extend([
            EnvVar {
                name: "USINE_BIND".into(),
                value: "127.0.0.1".into(),
            },
            EnvVar {
                name: "USINE_SESSIONS".into(),
                value: dir.to_string_lossy().into_owned(),
            },
        ]);
    }
    spec.environment = environment;
    spec.commands = script::render(&start, kind.needs.as_deref());
    if let Some(g) = request.gpus {
        spec.gpus_per_node = g;
    }
    spec.gpu_type = request.gpu_type.clone().or(spec.gpu_type);
    if let Some(c) = request.cpus {
        spec.cpus_per_task = c;
    }
    if let Some(t) = request.time_limit_minutes {
        spec.time_limit_minutes = t;
    }
    spec.partition = request.partition.clone().or(spec.partition);
    spec.account = request.account.clone().or(spec.account);
    if let Some(wd) = given(&request.working_dir) {
        spec.working_dir = wd.to_owned();
    }
    spec.nodes = 1;
    spec.array = None;
    spec.record_gpu_metrics = spec.gpus_per_node > 0;
    Ok((kind, spec))
}

/// The checks and the cost of a session before it starts.
pub fn plan(store: &Mutex<Store>, request: &SessionRequest) -> Result<SessionPlan, SessionError> {
    let (_, spec) = spec_for(request)?;
    let (problems, cost) = targets::check(store, &request.target, &spec)?;
    Ok(SessionPlan {
        spec,
        problems,
        cost,
    })
}

/// Starts a session: checked like any job (a blocker stops it), recorded in the outbox and
/// sent exactly once; a cluster out of reach keeps it queued.
pub async fn start(
    store: &Mutex<Store>,
    connections: &Connections,
    how: &Opening,
    request: &SessionRequest,
) -> Result<SessionView, SessionError> {
    let SessionPlan { spec, problems, .. } = plan(store, request)?;
    if let Some(p) = problems.iter().find(|p| p.severity == Severity::Blocker) {
        return Err(JobError::Rejected(p.message.clone()).into());
    }
    let (kind, _) = spec_for(request)?;
    let entry = crate::jobs::tracking::enqueue(store, &request.target, &spec)?;
    record(&lock(store), &entry.id, &kind)?;
    match targets::open_as(store, connections, &request.target, how).await {
        Ok(scheduler) => {
            crate::jobs::tracking::send(store, &scheduler, &entry.id).await?;
        }
        Err(error) => tracing::info!(%error, "the session waits in the outbox"),
    }
    view(store, None, &entry.id)
}

fn record(store: &Store, job: &str, kind: &SessionKind) -> Result<(), StoreError> {
    store.db.execute(
        "INSERT INTO sessions (job, kind, open_path) VALUES (?1, ?2, ?3)",
        (job, &kind.id, &kind.open),
    )?;
    Ok(())
}

fn set_place(store: &Store, job: &str, place: Option<&QueuePlace>) -> Result<(), StoreError> {
    let json = place.and_then(|p| serde_json::to_string(p).ok());
    store
        .db
        .execute("UPDATE sessions SET place = ?2 WHERE job = ?1", (job, json))?;
    Ok(())
}

fn set_ready(store: &Store, job: &str) -> Result<(), StoreError> {
    store.db.execute(
        "UPDATE sessions SET ready_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE job = ?1 AND ready_at IS NULL",
        [job],
    )?;
    Ok(())
}

struct Row {
    kind: String,
    open_path: String,
    ready: bool,
    place: Option<String>,
}

fn row(store: &Store, job: &str) -> Result<Option<Row>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(store
        .db
        .query_row(
            "SELECT kind, open_path, ready_at IS NOT NULL, place FROM sessions WHERE job = ?1",
            [job],
            |r| {
                Ok(Row {
                    kind: r.get(0)?,
                    open_path: r.get(1)?,
                    ready: r.get(2)?,
                    place: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Every session, newest first.
pub fn list(
    store: &Mutex<Store>,
    forwards: Option<&Forwards>,
) -> Result<Vec<SessionView>, SessionError> {
    let ids = session_ids(&lock(store))?;
    ids.iter().map(|id| view(store, forwards, id)).collect()
}

fn session_ids(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut stmt = store.db.prepare(
        "SELECT s.job FROM sessions s JOIN jobs j ON j.id = s.job ORDER BY j.created_at DESC",
    )?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// One session, by Usine's job id (a unique beginning of it, or Slurm's id, as `usine jobs`
/// accepts).
pub fn view(
    store: &Mutex<Store>,
    forwards: Option<&Forwards>,
    id: &str,
) -> Result<SessionView, SessionError> {
    let guard = lock(store);
    let job = history::get(&guard, id)?;
    let row = row(&guard, &job.id)?.ok_or_else(|| SessionError::NotASession(id.to_owned()))?;
    drop(guard);
    let title = kinds::find(&row.kind).map_or_else(|| row.kind.clone(), |k| k.title);
    let gpus = job.spec.total_gpus();
    let elapsed = job.record.as_ref().and_then(|r| r.elapsed_seconds);
    let running = job.state == JobState::Running;
    // This computer does not stop a session at its time limit: no minutes are counted down.
    let limited = job.target != THIS_COMPUTER_ID;
    let minutes_left = (running && limited).then(|| {
        job.spec
            .time_limit_minutes
            .saturating_sub(elapsed.unwrap_or(0) / 60)
    });
    let gpu_hours = elapsed.unwrap_or(0) as f64 * gpus as f64 / 3600.0;
    Ok(SessionView {
        id: job.id.clone(),
        kind: row.kind,
        title,
        target: job.target.clone(),
        ready: row.ready && running,
        place: (job.state == JobState::Pending)
            .then(|| {
                row.place
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p).ok())
            })
            .flatten(),
        minutes_left,
        gpus,
        gpu_hours,
        forward: forwards.and_then(|f| f.get(&job.id)),
        job,
    })
}

/// Why a session cannot be opened now, from its state.
fn not_open(job: &JobEntry) -> Option<SessionError> {
    match &job.state {
        JobState::Running => None,
        JobState::Queued => Some(SessionError::Waiting(crate::tr!(
            en: "it is in the outbox, sent once the cluster is reached",
            fr: "elle est dans la boîte d'envoi, envoyée dès que le cluster est joint"
        ))),
        JobState::Pending => Some(SessionError::Waiting(
            job.waiting_because.clone().unwrap_or_else(
                || crate::tr!(en: "it is in the queue", fr: "elle est dans la file d'attente"),
            ),
        )),
        state if state.is_finished() => Some(SessionError::Ended(format!("{state:?}"))),
        _ => Some(SessionError::Starting),
    }
}

/// Opens a running session: reads where its server listens, checks the node is the job's, and
/// opens (or reuses) the way in from this computer. The URL carries the token.
pub async fn open(
    store: &Mutex<Store>,
    connections: &Connections,
    forwards: &Forwards,
    how: &Opening,
    id: &str,
) -> Result<Opened, SessionError> {
    let entry = view(store, None, id)?.job;
    let scheduler = targets::open_as(store, connections, &entry.target, how).await?;
    crate::jobs::tracking::refresh(store, &entry.target, &scheduler).await?;
    let job = history::get(&lock(store), &entry.id)?;
    if let Some(why) = not_open(&job) {
        return Err(why);
    }
    let path = row(&lock(store), &job.id)?
        .ok_or_else(|| SessionError::NotASession(id.to_owned()))?
        .open_path;
    let scheduler_id = job.scheduler_id.clone().unwrap_or_default();
    if job.target == THIS_COMPUTER_ID {
        let file = crate::store::data_dir()
            .join("sessions")
            .join(&scheduler_id);
        let listening = std::fs::read(&file)
            .ok()
            .and_then(|b| connection_file::parse(&b))
            .ok_or(SessionError::Starting)?;
        set_ready(&lock(store), &job.id)?;
        return Ok(Opened {
            url: page(listening.port, &path, &listening),
            route: None,
        });
    }
    let settings = cluster::get(&lock(store), &job.target)?;
    let conn = connections.get_quietly(&settings).await?;
    let out = conn
        .exec(&format!(
            "f=\"$HOME/.usine/sessions/\"{id}; if [ -f \"$f\" ]; then head -c 1024 -- \"$f\"; fi; echo; echo @nodes; scontrol show hostnames \"$(squeue -h -j {id} -o %N)\" 2>/dev/null",
            id = quote(&scheduler_id)
        ))
        .await
        .map_err(JobError::from)?;
    let (listening, nodes) = lookup(&out.stdout);
    let listening = listening.ok_or(SessionError::Starting)?;
    // No nodes at all: Slurm did not answer this time (a busy controller); look again later
    // rather than refuse a session that may well be fine.
    if nodes.is_empty() {
        return Err(SessionError::Starting);
    }
    if !nodes.contains(&listening.host) {
        return Err(SessionError::NotItsNode(listening.host));
    }
    set_ready(&lock(store), &job.id)?;
    let forward = forwards
        .open(
            connections,
            &job.id,
            Destination {
                settings,
                job: scheduler_id,
                node: listening.host.clone(),
                port: listening.port,
            },
            0,
        )
        .await?;
    Ok(Opened {
        url: page(forward.local_port, &path, &listening),
        route: Some(forward.route),
    })
}

fn page(port: u16, path: &str, listening: &Listening) -> String {
    format!(
        "http://127.0.0.1:{port}{}",
        path.replace("{token}", &listening.token)
    )
}

/// The session file and the job's nodes, as the lookup command prints them.
pub(crate) fn lookup(stdout: &[u8]) -> (Option<Listening>, Vec<String>) {
    let text = String::from_utf8_lossy(stdout);
    let (file, nodes) = text.split_once("\n@nodes\n").unwrap_or((&text, ""));
    let nodes = nodes
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    (connection_file::parse(file.as_bytes()), nodes)
}

/// Stops a session: cancels its job (or takes it out of the outbox), closes its way in, and
/// says what it cost.
pub async fn stop(
    store: &Mutex<Store>,
    connections: &Connections,
    forwards: &Forwards,
    how: &Opening,
    id: &str,
) -> Result<Stopped, SessionError> {
    let session = view(store, None, id)?;
    forwards.close(&session.id);
    targets::cancel(store, connections, how, &session.id).await?;
    let still_known = history::get(&lock(store), &session.id).is_ok();
    // Withdrawn from the outbox, it never ran.
    let gpu_hours = if still_known {
        view(store, None, &session.id)?.gpu_hours
    } else {
        0.0
    };
    Ok(Stopped { gpu_hours })
}

/// Gives a running session `minutes` more, where the cluster lets its users do that (most
/// let only administrators lengthen a job: that is said plainly).
pub async fn extend(
    store: &Mutex<Store>,
    connections: &Connections,
    how: &Opening,
    id: &str,
    minutes: u64,
) -> Result<(), SessionError> {
    let session = view(store, None, id)?;
    if session.target == THIS_COMPUTER_ID {
        return Err(SessionError::NoLimitHere);
    }
    if let Some(why) = not_open(&session.job).filter(|e| !matches!(e, SessionError::Starting)) {
        return Err(why);
    }
    let scheduler = targets::open_as(store, connections, &session.target, how).await?;
    let Some(ssh) = scheduler.ssh() else {
        return Err(SessionError::NoLimitHere);
    };
    let scheduler_id = session.job.scheduler_id.clone().unwrap_or_default();
    let out = ssh
        .connection()
        .exec(&format!(
            "scontrol update JobId={} TimeLimit=+{minutes}",
            quote(&scheduler_id)
        ))
        .await
        .map_err(JobError::from)?;
    if !out.success() {
        let said = out.stderr_text().trim().to_owned();
        return Err(SessionError::CannotExtend(session.target, said));
    }
    crate::jobs::tracking::refresh(store, &session.target, &scheduler).await?;
    Ok(())
}

/// Asks the cluster where a waiting session stands and keeps the answer for its card.
async fn look_at_place(store: &Mutex<Store>, connections: &Connections, s: &SessionView) {
    let (Some(id), Ok(settings)) = (
        s.job.scheduler_id.as_deref(),
        cluster::get(&lock(store), &s.target),
    ) else {
        return;
    };
    let partition = s.job.record.as_ref().map(|r| r.partition.as_str());
    let partition = partition.filter(|p| !p.is_empty() && !p.contains(','));
    let place = match connections.get_quietly(&settings).await {
        Ok(conn) => match conn.exec(&queue_place::command(partition)).await {
            Ok(out) => queue_place::parse(&out.stdout, id),
            Err(_) => return,
        },
        Err(_) => return,
    };
    if let Err(error) = set_place(&lock(store), &s.id, place.as_ref()) {
        tracing::warn!(%error, "the session's place was not kept");
    }
}

/// What the app tells the person about a session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionNotice {
    /// Its server answers: it can be opened.
    Ready(SessionView),
    /// Ten minutes or less before the cluster ends it.
    EndsSoon(SessionView),
}

impl SessionNotice {
    /// The notification's title and text.
    pub fn words(&self) -> (String, String) {
        match self {
            Self::Ready(s) => (
                crate::tr!(en: "{} is ready", fr: "{} est prêt", s.title),
                crate::tr!(
                    en: "Your session on {} answers: open it from Usine's Sessions.",
                    fr: "Votre session sur {} répond : ouvrez-la depuis les Sessions d'Usine.",
                    s.target
                ),
            ),
            Self::EndsSoon(s) => (
                crate::tr!(en: "{} ends in {} minutes", fr: "{} se termine dans {} minutes", s.title, s.minutes_left.unwrap_or(0)),
                crate::tr!(
                    en: "Save your work: the cluster ends the session at its time limit.",
                    fr: "Enregistrez votre travail : le cluster arrête la session à sa limite de temps."
                ),
            ),
        }
    }
}

/// The app's watch over its sessions: each round opens the way in to running sessions of the
/// connected clusters (after a restart or a dropped link, so Open is at once), and says once
/// when one becomes ready and when one is about to end.
#[derive(Default)]
pub struct Watch {
    ending_told: std::collections::HashSet<String>,
}

impl Watch {
    /// One look: what to tell, and whether any session is unfinished (look again soon).
    pub async fn round(
        &mut self,
        store: &Mutex<Store>,
        connections: &Connections,
        forwards: &Forwards,
    ) -> (Vec<SessionNotice>, bool) {
        let Ok(all) = list(store, Some(forwards)) else {
            return (Vec::new(), false);
        };
        let connected = connections.connected().await;
        let mut notices = Vec::new();
        let mut running = false;
        for s in all.into_iter().filter(|s| !s.job.finished) {
            running = true;
            if s.job.state == JobState::Pending && connected.contains(&s.target) {
                look_at_place(store, connections, &s).await;
            }
            if s.job.state != JobState::Running {
                continue;
            }
            let reachable = s.target == THIS_COMPUTER_ID || connected.contains(&s.target);
            let needs_way_in = s.target != THIS_COMPUTER_ID && s.forward.is_none();
            if reachable && (!s.ready || needs_way_in) {
                match open(store, connections, forwards, &Opening::Quietly, &s.id).await {
                    Ok(_) if !s.ready => {
                        if let Ok(now) = view(store, Some(forwards), &s.id) {
                            notices.push(SessionNotice::Ready(now));
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::debug!(session = %s.id, %error, "not open yet"),
                }
            }
            if s.minutes_left.is_some_and(|m| m <= 10) && self.ending_told.insert(s.id.clone()) {
                notices.push(SessionNotice::EndsSoon(s));
            }
        }
        (notices, running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_becomes_a_one_node_job_that_starts_the_kinds_server() {
        let (kind, spec) = spec_for(&SessionRequest {
            kind: "jupyterlab".into(),
            target: "lab".into(),
            gpus: Some(2),
            time_limit_minutes: Some(30),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(kind.id, "jupyterlab");
        assert_eq!((spec.nodes, spec.gpus_per_node), (1, 2));
        assert_eq!(spec.time_limit_minutes, 30);
        assert!(spec.record_gpu_metrics, "the chart runs for sessions too");
        assert!(spec.commands.contains("jupyter lab --no-browser"));
        assert!(!spec.commands.contains("{command}"));
        crate::jobs::sbatch::render(&spec).unwrap();
    }

    #[test]
    fn tensorboard_needs_a_folder_and_the_web_app_a_command() {
        let mut r = SessionRequest {
            kind: "tensorboard".into(),
            target: "lab".into(),
            ..Default::default()
        };
        assert!(matches!(spec_for(&r), Err(SessionError::NeedsFolder)));
        r.folder = Some("~/runs".into());
        let (_, spec) = spec_for(&r).unwrap();
        let script = crate::jobs::sbatch::render(&spec).unwrap();
        assert!(script.contains("export FOLDER=\"$HOME\"/runs"), "{script}");
        r.kind = "web-app".into();
        assert!(matches!(spec_for(&r), Err(SessionError::NeedsCommand)));
        r.command = Some("streamlit run app.py --server.port $PORT".into());
        assert!(
            spec_for(&r)
                .unwrap()
                .1
                .commands
                .contains("streamlit run app.py")
        );
        r.kind = "nope".into();
        assert!(matches!(spec_for(&r), Err(SessionError::NoKind(_))));
    }

    #[test]
    fn the_lookup_reads_the_file_and_the_nodes_and_survives_garbage() {
        let (l, nodes) = lookup(b"gpu-3 41000 00112233445566778899aabb\n\n@nodes\ngpu-3\ngpu-4\n");
        assert_eq!(l.unwrap().host, "gpu-3");
        assert_eq!(nodes, ["gpu-3", "gpu-4"]);
        let (l, nodes) = lookup(b"\n@nodes\n");
        assert!(l.is_none() && nodes.is_empty());
        let (l, _) = lookup(b"\xff\x00garbage");
        assert!(l.is_none());
    }
}
