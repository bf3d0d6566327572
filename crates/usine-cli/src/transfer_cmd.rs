//! `usine upload` and `usine transfers`.

use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use usine_core::cluster::Connections;
use usine_core::store::Store;
use usine_core::{download, transfer};

use crate::{print_json, terminal};

#[derive(Args)]
pub struct UploadArgs {
    /// The cluster (see `usine cluster list`).
    cluster: Option<String>,
    /// Files or folders on this computer, then the folder on the cluster to put them in
    /// (created if needed), as with scp; each keeps its name there: `usine upload lab ./cats
    /// '~/datasets'` makes `~/datasets/cats`. Items of one folder here travel as one upload.
    #[arg(value_name = "SOURCE... DESTINATION")]
    paths: Vec<String>,
    /// Continue an earlier upload instead (its id is in `usine transfers`).
    #[arg(long, conflicts_with_all = ["cluster", "paths"])]
    resume: Option<String>,
    /// Skip files the cluster has with the same contents (SHA-256), whatever their dates say;
    /// slower than the default size-and-time check, for copies whose dates changed.
    #[arg(long, conflicts_with = "resume")]
    checksum: bool,
}

pub async fn upload(args: UploadArgs, json: bool) -> anyhow::Result<bool> {
    let store = Mutex::new(Store::open_default()?);
    let (cs, mut all_sent) = (Connections::default(), true);
    for id in transfers_of(&store, args)? {
        let cluster = transfer::get(&store, &id)?.cluster;
        eprintln!("Upload {id} to {cluster} (resume it with: usine upload --resume {id})");
        let (bar, qs) = (progress_bar(), terminal::questions());
        let report = transfer::run(&cs, &store, &id, qs, progress(&bar), link(&bar)).await;
        bar.finish_and_clear();
        all_sent &= print_report(&report?, &format!("{cluster}:"), "sent", json)?;
    }
    Ok(all_sent)
}

/// The uploads to run: the one to resume, or new ones (one per folder the sources are in).
fn transfers_of(store: &Mutex<Store>, args: UploadArgs) -> anyhow::Result<Vec<String>> {
    match args.resume {
        Some(id) => Ok(vec![id]),
        None => begin(store, args),
    }
}

/// Shows a transfer's progress on `bar`.
fn progress(bar: &ProgressBar) -> impl FnMut(&transfer::Progress) + '_ {
    |p| show(bar, p)
}

/// Shows the connection's changes (dropped, back) above `bar`.
fn link(bar: &ProgressBar) -> impl FnMut(usine_core::ssh::ConnectionState) + '_ {
    |state| bar.println(format!("connection: {state:?}"))
}

/// Records new uploads (or finds the unfinished ones they continue) and says where they go.
fn begin(store: &Mutex<Store>, args: UploadArgs) -> anyhow::Result<Vec<String>> {
    let usage = "say what to send: usine upload CLUSTER SOURCE... DESTINATION (or --resume ID)";
    let Some(cluster) = args.cluster else {
        anyhow::bail!(usage)
    };
    let Some((into, sources)) = args.paths.split_last().filter(|(_, s)| !s.is_empty()) else {
        anyhow::bail!(usage)
    };
    let compare = transfer::Compare::by_checksum(args.checksum);
    let sources: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
    let mut ids = Vec::new();
    for started in transfer::begin_many(store, &cluster, &sources, into, compare)? {
        if let Some(earlier) = &started.continued {
            eprintln!(
                "Continuing the unfinished upload {} of the same items ({} of {} MiB already on {cluster} and confirmed).",
                earlier.id,
                earlier.bytes_confirmed >> 20,
                earlier.bytes >> 20
            );
        }
        eprintln!("It goes to {} on {cluster}.", started.place);
        for p in started.problems {
            eprintln!("skipped {}: {}", p.path, p.problem);
        }
        ids.push(started.id);
    }
    Ok(ids)
}

/// What a finished transfer did; `false` when some files had problems.
fn print_report(
    report: &transfer::Report,
    on: &str,
    moved: &str,
    json: bool,
) -> anyhow::Result<bool> {
    if json {
        print_json(report);
        return Ok(report.problems.is_empty());
    }
    println!(
        "{} of {} files verified in {on}{} ({} MiB {moved}, {} MiB were already there).",
        report.verified,
        report.files,
        report.place,
        report.bytes_sent >> 20,
        report.bytes_skipped >> 20
    );
    for p in &report.problems {
        println!("  problem with {}: {}", p.path, p.problem);
    }
    Ok(report.problems.is_empty())
}

/// Where a transfer stands, on its progress bar.
fn show(bar: &ProgressBar, p: &transfer::Progress) {
    bar.set_length(p.bytes_total);
    bar.set_position(p.bytes_done);
    bar.set_message(format!("{}/{} files", p.files_done, p.files_total));
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

#[derive(Args)]
pub struct DownloadArgs {
    /// The cluster (see `usine cluster list`).
    cluster: String,
    /// The folder on the cluster, e.g. a job's output folder.
    source: String,
    /// The folder on this computer to put it in (created if needed); it keeps its name there:
    /// `usine download lab '~/runs/42' ~/results` makes `~/results/42`.
    destination: PathBuf,
}

/// Brings a folder back; run it again to continue after an interruption.
pub async fn download(args: DownloadArgs, json: bool) -> anyhow::Result<bool> {
    let store = Mutex::new(Store::open_default()?);
    let (bar, cs, qs) = (
        progress_bar(),
        Connections::default(),
        terminal::questions(),
    );
    let (from, into) = (&args.source, &args.destination);
    let report = download::bring_back(&store, &cs, &args.cluster, qs, from, into, progress(&bar));
    let report = report.await;
    bar.finish_and_clear();
    let again = |e| anyhow::anyhow!("{e} (run the same command again to continue)");
    print_report(&report.map_err(again)?, "", "received", json)
}

#[derive(Args)]
pub struct TransfersArgs {
    #[command(subcommand)]
    command: Option<TransfersCommand>,
}

#[derive(clap::Subcommand)]
enum TransfersCommand {
    /// Every upload and download, newest first (the default).
    List,
    /// What became of each file of a transfer, problems first.
    Show {
        id: String,
        /// Every file, not only the first 50.
        #[arg(long)]
        all: bool,
    },
    /// Stop a transfer for good (it is no longer resumed).
    Cancel {
        id: String,
        /// Also delete what it wrote: on the cluster for an upload, here for a download. Files
        /// that were already there are never deleted.
        #[arg(long)]
        delete: bool,
    },
}

pub async fn transfers(args: TransfersArgs, json: bool) -> anyhow::Result<bool> {
    let store = Mutex::new(Store::open_default()?);
    match args.command.unwrap_or(TransfersCommand::List) {
        TransfersCommand::List => list(&store, json).map(|()| true),
        TransfersCommand::Show { id, all } => show_files(&store, &id, all, json),
        TransfersCommand::Cancel { id, delete } => {
            let (cs, qs) = (Connections::default(), terminal::questions());
            let cancelled = transfer::cancel(&cs, &store, &id, delete, qs).await?;
            print_cancelled(&cancelled, delete, json);
            Ok(cancelled.problems.is_empty())
        }
    }
}

fn list(store: &Mutex<Store>, json: bool) -> anyhow::Result<()> {
    let transfers = transfer::list(store)?;
    if json {
        print_json(&transfers);
    } else if transfers.is_empty() {
        println!("No transfer yet. Send a folder with: usine upload CLUSTER ./data /scratch/you");
    }
    for t in transfers.iter().filter(|_| !json) {
        print_transfer(t);
    }
    Ok(())
}

fn print_transfer(t: &transfer::Summary) {
    let (from, to) = match t.direction {
        transfer::Direction::Up => (
            t.local_root.clone(),
            format!("{}:{}", t.cluster, t.remote_root),
        ),
        transfer::Direction::Down => (
            format!("{}:{}", t.cluster, t.remote_root),
            t.local_root.clone(),
        ),
    };
    println!(
        "{}  {:<11} {from} → {to}  {}/{} files verified, {} of {} MiB arrived",
        t.id,
        t.state.as_str(),
        t.verified,
        t.files,
        t.bytes_confirmed >> 20,
        t.bytes >> 20
    );
}

/// A transfer's files, problems first; `false` when some had one.
fn show_files(store: &Mutex<Store>, id: &str, all: bool, json: bool) -> anyhow::Result<bool> {
    let page = transfer::files(store, id, 0, if all { usize::MAX >> 1 } else { 50 })?;
    if json {
        print_json(&page);
        return Ok(page.problems == 0);
    }
    print_transfer(&transfer::get(store, id)?);
    for f in &page.files {
        let state = match f.state {
            transfer::FileState::Waiting => "waiting".to_owned(),
            transfer::FileState::Partly => format!("{} of {} MiB", f.done >> 20, f.size >> 20),
            transfer::FileState::Verified => "verified".to_owned(),
            transfer::FileState::AlreadyThere => "already there".to_owned(),
            transfer::FileState::Problem => f.problem.clone().unwrap_or_default(),
        };
        println!(
            "  {:<40} {state}",
            usine_core::cluster_files::names::shown(f.path.as_bytes())
        );
    }
    if page.files.len() < page.total {
        println!(
            "  … and {} more (--all to see them)",
            page.total - page.files.len()
        );
    }
    Ok(page.problems == 0)
}

fn print_cancelled(c: &transfer::Cancelled, deleted: bool, json: bool) {
    if json {
        return print_json(c);
    }
    println!("Transfer {} cancelled.", c.id);
    if deleted {
        println!(
            "Deleted {} files it had written ({} MiB).",
            c.deleted,
            c.bytes_deleted >> 20
        );
    }
    for p in &c.problems {
        println!("  kept {}: {}", p.path, p.problem);
    }
}
