//! `usine`: Usine in a terminal. Each subcommand is a short adapter over `usine-core`.

mod cluster_cmd;
mod files_cmd;
mod gpu_cmd;
mod jobs_cmd;
mod key_cmd;
mod session_cmd;
mod terminal;
mod transfer_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use usine_core::{doctor, target};

#[derive(Parser)]
#[command(name = "usine", version = usine_core::VERSION, about = "Run AI jobs on EuroHPC AI Factories, or on this computer")]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the places where jobs can run.
    Targets,
    /// Check what this machine has that Usine needs, and say how to fix what is missing.
    Doctor,
    /// Add, list, connect to and forget clusters.
    #[command(subcommand)]
    Cluster(cluster_cmd::ClusterCommand),
    /// SSH keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Send a file or folder to a cluster: resumable, verified with checksums.
    Upload(transfer_cmd::UploadArgs),
    /// Bring a folder (e.g. a job's results) back from a cluster, verified with checksums.
    Download(transfer_cmd::DownloadArgs),
    /// List uploads and downloads; show one file by file; cancel one.
    Transfers(transfer_cmd::TransfersArgs),
    /// List a folder on a cluster: `usine ls lab:~/runs`.
    Ls(files_cmd::LsArgs),
    /// Make a folder on a cluster.
    Mkdir(files_cmd::MkdirArgs),
    /// Move or rename a file or folder on a cluster.
    Mv(files_cmd::MvArgs),
    /// Delete files (and, with -r, folders) on a cluster; links are removed, never followed.
    Rm(files_cmd::RmArgs),
    /// Write jobs before sending them: from templates or sbatch scripts, checked offline.
    #[command(subcommand)]
    Draft(jobs_cmd::DraftCommand),
    /// Send a draft to its target (queued if the cluster is not reachable).
    Submit(jobs_cmd::SubmitArgs),
    /// Jobs sent or queued, with their state in plain words.
    Jobs(jobs_cmd::JobsArgs),
    /// One job: show, cancel, logs.
    #[command(subcommand)]
    Job(jobs_cmd::JobCommand),
    /// A running job's GPUs, live: busy and memory per GPU, and idle warnings.
    Watch(gpu_cmd::WatchArgs),
    /// A job's GPU samples: export them as a chart or a table.
    #[command(subcommand)]
    Metrics(gpu_cmd::MetricsCommand),
    /// JupyterLab, TensorBoard or your own web app on a compute node (or this computer),
    /// opened through the cluster's connection.
    #[command(subcommand)]
    Session(session_cmd::SessionCommand),
    /// Reach a port of a running job's node from this computer (until Ctrl-C).
    Forward(session_cmd::ForwardArgs),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new ed25519 key, protected by a passphrase kept in the keychain.
    Generate(key_cmd::GenerateArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("USINE_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Targets => targets(cli.json).map(|()| true),
        Command::Doctor => Ok(doctor(cli.json)),
        Command::Cluster(c) => block_on(cluster_cmd::run(c, cli.json)).map(|()| true),
        Command::Key(KeyCommand::Generate(args)) => {
            block_on(key_cmd::generate(args)).map(|()| true)
        }
        Command::Upload(args) => block_on(transfer_cmd::upload(args, cli.json)),
        Command::Download(args) => block_on(transfer_cmd::download(args, cli.json)),
        Command::Transfers(args) => block_on(transfer_cmd::transfers(args, cli.json)),
        Command::Ls(args) => block_on(files_cmd::ls(args, cli.json)).map(|()| true),
        Command::Mkdir(args) => block_on(files_cmd::mkdir(args)).map(|()| true),
        Command::Mv(args) => block_on(files_cmd::mv(args)),
        Command::Rm(args) => block_on(files_cmd::rm(args)),
        Command::Draft(c) => block_on(jobs_cmd::draft(c, cli.json)).map(|()| true),
        Command::Submit(args) => block_on(jobs_cmd::submit(args, cli.json)).map(|()| true),
        Command::Jobs(args) => block_on(jobs_cmd::jobs(args, cli.json)).map(|()| true),
        Command::Job(c) => block_on(jobs_cmd::job(c, cli.json)).map(|()| true),
        Command::Watch(args) => block_on(gpu_cmd::watch(args)).map(|()| true),
        Command::Metrics(c) => gpu_cmd::metrics(c).map(|()| true),
        Command::Session(c) => block_on(session_cmd::run(c, cli.json)).map(|()| true),
        Command::Forward(args) => block_on(session_cmd::forward(args, cli.json)).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("usine: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn block_on<T>(f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Runtime::new()?.block_on(f)
}

fn targets(json: bool) -> anyhow::Result<()> {
    let targets = target::list(&usine_core::store::Store::open_default()?)?;
    if json {
        print_json(&targets);
    }
    for t in targets.iter().filter(|_| !json) {
        println!("{:<16} {:<16} {}", t.id, t.name, t.host);
    }
    Ok(())
}

/// Prints the report; false when something needs fixing.
fn doctor(json: bool) -> bool {
    let report = doctor::run();
    if json {
        print_json(&report);
    } else {
        for check in &report.checks {
            match &check.outcome {
                doctor::Outcome::Ok { detail } => println!("ok       {}: {detail}", check.name),
                doctor::Outcome::Warning { detail, fix } => {
                    println!("warning  {}: {detail}\n         → {fix}", check.name)
                }
                doctor::Outcome::Problem { detail, fix } => {
                    println!("PROBLEM  {}: {detail}\n         → {fix}", check.name)
                }
            }
        }
        println!(
            "\n{}",
            if report.has_problems() {
                "Some things need fixing before Usine can do everything (see → above)."
            } else {
                "Everything Usine needs is here."
            }
        );
    }
    !report.has_problems()
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("usine: cannot print JSON: {error}"),
    }
}
