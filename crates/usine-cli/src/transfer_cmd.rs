//! `usine upload` and `usine transfers`.

use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use usine_core::cluster::{self, Connections, ReconnectPolicy};
use usine_core::store::Store;
use usine_core::transfer;

use crate::{print_json, terminal};

#[derive(Args)]
pub struct UploadArgs {
    /// The cluster (see `usine cluster list`).
    cluster: Option<String>,
    /// A file or folder on this computer.
    source: Option<PathBuf>,
    /// The folder on the cluster to put it in (created if needed); it keeps its name there:
    /// `usine upload lab ./cats '~/datasets'` makes `~/datasets/cats`.
    destination: Option<String>,
    /// Continue an earlier upload instead (its id is in `usine transfers`).
    #[arg(long, conflicts_with_all = ["cluster", "source", "destination"])]
    resume: Option<String>,
    /// Skip files the cluster has with the same contents (SHA-256), whatever their dates say;
    /// slower than the default size-and-time check, for copies whose dates changed.
    #[arg(long, conflicts_with = "resume")]
    checksum: bool,
}

pub async fn upload(args: UploadArgs, json: bool) -> anyhow::Result<bool> {
    let store = Mutex::new(Store::open_default()?);
    let (cluster_name, id) = match (args.resume, args.cluster, args.source, args.destination) {
        (Some(id), ..) => (transfer::get(&store, &id)?.cluster, id),
        (None, Some(cluster), Some(source), Some(destination)) => {
            let started = transfer::start(&store, &cluster, &source, &destination)?;
            if let Some(earlier) = &started.continued {
                eprintln!(
                    "Continuing the unfinished upload {} of the same folder ({} of {} MiB already on {cluster} and confirmed).",
                    earlier.id,
                    earlier.bytes_confirmed >> 20,
                    earlier.bytes >> 20
                );
            }
            if args.checksum {
                transfer::set_compare(&store, &started.id, transfer::Compare::Checksum)?;
            }
            eprintln!("It goes to {} on {cluster}.", started.place);
            for p in started.problems {
                eprintln!("skipped {}: {}", p.path, p.problem);
            }
            (cluster, started.id)
        }
        _ => anyhow::bail!(
            "say what to send: usine upload CLUSTER SOURCE DESTINATION (or --resume ID)"
        ),
    };
    let settings = {
        let guard = store.lock().unwrap_or_else(|p| p.into_inner());
        cluster::get(&guard, &cluster_name)?
    };
    eprintln!("Upload {id} to {cluster_name} (resume it with: usine upload --resume {id})");
    let bar = progress_bar();
    let result = transfer::upload_resuming(
        &Connections::default(),
        &settings,
        terminal::questions(),
        &store,
        &id,
        &ReconnectPolicy::default(),
        |p| show(&bar, p),
        |state| bar.println(format!("connection: {state:?}")),
    )
    .await;
    bar.finish_and_clear();
    let report = result?;
    if json {
        print_json(&report);
    } else {
        println!(
            "{} of {} files verified in {cluster_name}:{} ({} MiB sent, {} MiB were already there).",
            report.verified,
            report.files,
            report.place,
            report.bytes_sent >> 20,
            report.bytes_skipped >> 20
        );
        for p in &report.problems {
            println!("  problem with {}: {}", p.path, p.problem);
        }
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
    let bar = progress_bar();
    let report = usine_core::download::bring_back(
        &store,
        &Connections::default(),
        &args.cluster,
        terminal::questions(),
        &args.source,
        &args.destination,
        |p| show(&bar, p),
    )
    .await;
    bar.finish_and_clear();
    let report =
        report.map_err(|e| anyhow::anyhow!("{e} (run the same command again to continue)"))?;
    if json {
        print_json(&report);
    } else {
        println!(
            "{} of {} files verified in {} ({} MiB received, {} MiB were already here).",
            report.verified,
            report.files,
            report.place,
            report.bytes_sent >> 20,
            report.bytes_skipped >> 20
        );
        for p in &report.problems {
            println!("  problem with {}: {}", p.path, p.problem);
        }
    }
    Ok(report.problems.is_empty())
}

pub fn list(json: bool) -> anyhow::Result<()> {
    let store = Mutex::new(Store::open_default()?);
    let transfers = transfer::list(&store)?;
    if json {
        print_json(&transfers);
        return Ok(());
    }
    if transfers.is_empty() {
        println!("No transfer yet. Send a folder with: usine upload CLUSTER ./data /scratch/you");
    }
    for t in transfers {
        println!(
            "{}  {:<7} {} → {}:{}  {}/{} files verified, {} of {} MiB on the cluster",
            t.id,
            t.state,
            t.local_root,
            t.cluster,
            t.remote_root,
            t.verified,
            t.files,
            t.bytes_confirmed >> 20,
            t.bytes >> 20
        );
    }
    Ok(())
}
