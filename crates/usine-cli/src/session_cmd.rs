//! `usine session start|list|open|stop|extend` and `usine forward`: interactive sessions and
//! ports of running jobs, through the cluster's one connection.

use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, Subcommand};
use usine_core::cluster::Connections;
use usine_core::forward::{self, ForwardView, Forwards, Route};
use usine_core::jobs::spec::{Environment, PythonEnv};
use usine_core::jobs::targets::Opening;
use usine_core::sessions::{self, SessionError, SessionRequest, SessionView};
use usine_core::store::Store;

use crate::{print_json, terminal};

#[derive(Subcommand)]
pub enum SessionCommand {
    /// The kinds of session: jupyterlab, tensorboard, web-app.
    Kinds,
    /// Start a session as a batch job (checked and costed first); --open opens it when ready.
    Start(Box<StartArgs>),
    /// Sessions, with their state, time left and GPU-hours.
    List,
    /// Open a running session in the browser ($BROWSER), waiting for it to be ready; the
    /// tunnel stays open until Ctrl-C (the session goes on).
    Open { id: String },
    /// Stop a session (cancels its job) and say the GPU-hours it used.
    Stop { id: String },
    /// Give a running session more minutes, where the cluster lets users do that.
    Extend { id: String, minutes: u64 },
}

#[derive(Args)]
pub struct StartArgs {
    /// jupyterlab, tensorboard or web-app.
    pub kind: String,
    /// A cluster's name, or this-computer.
    #[arg(long, default_value = "this-computer")]
    pub target: String,
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Minutes before the cluster ends it.
    #[arg(long)]
    pub time: Option<u64>,
    #[arg(long)]
    pub cpus: Option<u32>,
    #[arg(long)]
    pub partition: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    /// TensorBoard: the folder of event files.
    #[arg(long)]
    pub folder: Option<String>,
    /// Any web app: its command, listening on $PORT.
    #[arg(long)]
    pub command: Option<String>,
    /// A venv folder that has the server (JupyterLab, TensorBoard).
    #[arg(long)]
    pub venv: Option<String>,
    /// A conda environment that has the server.
    #[arg(long, conflicts_with = "venv")]
    pub conda: Option<String>,
    /// Environment modules to load first.
    #[arg(long = "module")]
    pub modules: Vec<String>,
    /// Open it once it is ready, and keep its tunnel until Ctrl-C.
    #[arg(long)]
    pub open: bool,
}

#[derive(Args)]
pub struct ForwardArgs {
    /// The job (Usine's id or Slurm's).
    pub job: String,
    /// The port on the job's node.
    pub port: u16,
    /// Which of the job's nodes (its first by default).
    #[arg(long)]
    pub node: Option<String>,
    /// The port on this computer (a free one by default).
    #[arg(long, default_value_t = 0)]
    pub local_port: u16,
}

pub async fn run(command: SessionCommand, json: bool) -> anyhow::Result<()> {
    match command {
        SessionCommand::Kinds => print_kinds(json),
        SessionCommand::Start(args) => start(*args, json).await?,
        SessionCommand::List => print_list(&sessions::list(&open_store()?, None)?, json),
        SessionCommand::Open { id } => open(&id).await?,
        SessionCommand::Stop { id } => stop(&id).await?,
        SessionCommand::Extend { id, minutes } => extend(&id, minutes).await?,
    }
    Ok(())
}

fn open_store() -> anyhow::Result<Mutex<Store>> {
    Ok(Mutex::new(Store::open_default()?))
}

fn asking() -> Opening {
    Opening::Asking(terminal::questions())
}

pub async fn start(args: StartArgs, json: bool) -> anyhow::Result<()> {
    let (store, connections) = (open_store()?, Connections::default());
    let then_open = args.open;
    let started = sessions::start(&store, &connections, &asking(), &request(args)).await?;
    print_started(&started, json);
    if then_open {
        open_and_wait(&store, &connections, &asking(), &started.id).await?;
    }
    Ok(())
}

pub async fn open(id: &str) -> anyhow::Result<()> {
    open_and_wait(&open_store()?, &Connections::default(), &asking(), id).await
}

pub async fn stop(id: &str) -> anyhow::Result<()> {
    let (store, connections, forwards) =
        (open_store()?, Connections::default(), Forwards::default());
    let stopped = sessions::stop(&store, &connections, &forwards, &asking(), id).await?;
    println!("Stopped. It used {:.2} GPU-hours.", stopped.gpu_hours);
    Ok(())
}

pub async fn extend(id: &str, minutes: u64) -> anyhow::Result<()> {
    let (store, connections) = (open_store()?, Connections::default());
    sessions::extend(&store, &connections, &asking(), id, minutes).await?;
    println!("The session has {minutes} more minutes.");
    Ok(())
}

fn request(a: StartArgs) -> SessionRequest {
    let python = match (a.venv, a.conda) {
        (Some(v), _) => Some(PythonEnv::Venv(v)),
        (None, Some(c)) => Some(PythonEnv::Conda(c)),
        (None, None) => None,
    };
    SessionRequest {
        kind: a.kind,
        target: a.target,
        folder: a.folder,
        command: a.command,
        gpus: a.gpus,
        cpus: a.cpus,
        time_limit_minutes: a.time,
        partition: a.partition,
        account: a.account,
        environment: Environment {
            modules: a.modules,
            python,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Waits for the session to be ready (saying why it waits when that changes), opens it, and
/// keeps its tunnel until Ctrl-C.
async fn open_and_wait(
    store: &Mutex<Store>,
    connections: &Connections,
    asking: &Opening,
    id: &str,
) -> anyhow::Result<()> {
    let forwards = Forwards::default();
    let mut said = String::new();
    let opened = loop {
        match sessions::open(store, connections, &forwards, asking, id).await {
            Ok(opened) => break opened,
            Err(e @ (SessionError::Starting | SessionError::Waiting(_))) => {
                let now = e.to_string();
                if now != said {
                    eprintln!("{now}");
                    said = now;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    match &opened.route {
        None => println!("Open: {}", opened.url),
        Some(route) => println!("Open: {}\n({})", opened.url, route_words(route)),
    }
    terminal::open_browser(&opened.url);
    if opened.route.is_some() {
        eprintln!(
            "Keep this running while you use the page; Ctrl-C closes the tunnel (the session goes on: `usine session stop {id}` ends it)."
        );
        tokio::signal::ctrl_c().await?;
    }
    Ok(())
}

fn route_words(route: &Route) -> String {
    match route {
        Route::Direct => "through the login node's forwarding".into(),
        Route::Relay { program } => format!(
            "the login node does not forward: through the job itself, with {program} on the node"
        ),
    }
}

fn print_kinds(json: bool) {
    let kinds = sessions::kinds::all();
    if json {
        return print_json(&kinds);
    }
    for k in kinds {
        println!("{:<12} {}", k.id, k.summary);
    }
}

fn print_started(s: &SessionView, json: bool) {
    if json {
        return print_json(s);
    }
    match &s.job.scheduler_id {
        Some(job) => println!(
            "Started {} on {} as job {job} ({}). Open it with: usine session open {}",
            s.title, s.target, s.id, s.id
        ),
        None => println!(
            "{} is queued for {}: it is sent the next time Usine reaches it ({}).",
            s.title, s.target, s.id
        ),
    }
}

fn print_list(all: &[SessionView], json: bool) {
    if json {
        return print_json(&all);
    }
    if all.is_empty() {
        println!("No sessions. Start one: usine session start jupyterlab --target …");
    }
    for s in all {
        let state = match (s.ready, s.minutes_left, &s.job.waiting_because) {
            (true, Some(m), _) => format!("ready, {m} min left"),
            (true, None, _) => "ready".into(),
            (false, Some(m), _) => format!("starting, {m} min left"),
            (false, None, Some(why)) => match &s.place {
                Some(p) => format!("waiting ({} ahead): {why}", p.ahead),
                None => format!("waiting: {why}"),
            },
            (false, None, None) => format!("{:?}", s.job.state).to_lowercase(),
        };
        println!(
            "{:<14} {:<12} {:<14} {:<28} {:.2} GPU-h",
            short(&s.id),
            s.kind,
            s.target,
            state,
            s.gpu_hours
        );
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

pub async fn forward(args: ForwardArgs, json: bool) -> anyhow::Result<()> {
    let (store, connections, forwards) =
        (open_store()?, Connections::default(), Forwards::default());
    let wanted = forward::JobPort {
        job: args.job,
        port: args.port,
        node: args.node,
        local_port: args.local_port,
    };
    let f = forward::to_job(&store, &connections, &forwards, &asking(), &wanted).await?;
    print_forward(&f, json);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn print_forward(f: &ForwardView, json: bool) {
    if json {
        return print_json(f);
    }
    println!(
        "http://127.0.0.1:{} reaches port {} of {} (job {}), {}. Ctrl-C closes it.",
        f.local_port,
        f.port,
        f.node,
        f.job,
        route_words(&f.route)
    );
}
