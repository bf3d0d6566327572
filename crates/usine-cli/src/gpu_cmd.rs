//! `usine watch JOB` and `usine metrics export JOB`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use usine_core::cluster::Connections;
use usine_core::gpu::series::Device;
use usine_core::gpu::{export, series, watch};
use usine_core::jobs::history::{self, JobEntry};
use usine_core::jobs::targets::Opening;
use usine_core::store::{Store, lock};

use crate::terminal;

#[derive(Args)]
pub struct WatchArgs {
    /// The job (its id from `usine jobs`, or Slurm's job id).
    job: String,
    /// Seconds between looks.
    #[arg(long, default_value_t = 10)]
    every: u64,
    /// One look, then stop (for scripts).
    #[arg(long)]
    once: bool,
}

#[derive(Subcommand)]
pub enum MetricsCommand {
    /// Write a job's GPU samples (and, for a job on this computer, its CPU and memory use) as a
    /// chart (--png) or a table (--csv).
    Export {
        job: String,
        #[arg(long, conflicts_with = "csv")]
        png: Option<PathBuf>,
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last values as a one-line chart.
fn sparkline(values: &[f32]) -> String {
    values
        .iter()
        .map(|v| BARS[((v.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect()
}

fn print_table(store: &Mutex<Store>, job: &str) -> anyhow::Result<()> {
    let curves = series::load(&lock(store), job, 40)?;
    let below = usine_core::settings::load(&lock(store)).idle_below_percent;
    let sum = series::summary(&lock(store), job, below, 60_000)?;
    println!(
        "{:<14} {:>6} {:>7} {:>9}  last 40 looks",
        "node", "device", "busy %", "memory"
    );
    for c in &curves {
        let last = c.points.last();
        let busy: Vec<f32> = c.points.iter().filter_map(|p| p.1).collect();
        let device = match c.device {
            Device::Gpu(g) => format!("GPU {g}"),
            Device::Processors => "CPUs".into(),
        };
        // As the app's chart: a GPU's memory as a share of it, a job here's in GiB.
        let memory =
            last.and_then(|p| p.2)
                .map_or("-".into(), |v| match (c.device, c.memory_gib(v)) {
                    (Device::Processors, Some(gib)) => format!("{gib:.1} GiB"),
                    _ => format!("{v:.0} %"),
                });
        println!(
            "{:<14} {:>6} {:>7} {:>9}  {}",
            c.node,
            device,
            last.and_then(|p| p.1)
                .map_or("-".into(), |v| format!("{v:.0}")),
            memory,
            sparkline(&busy)
        );
    }
    match sum.mean_utilization {
        Some(mean) => println!(
            "{} GPU(s), {mean:.0} % busy on average, {:.2} GPU hours idle of {:.2}",
            sum.gpus, sum.idle_gpu_hours, sum.gpu_hours
        ),
        None if curves.is_empty() => {
            println!("No samples yet: they come about every 10 seconds while the job runs.")
        }
        // A job on this computer without GPUs: its CPUs are in the table above.
        None => {}
    }
    Ok(())
}

pub async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let store = Mutex::new(Store::open_default()?);
    let job = followed_job(&store, &args.job)?;
    let every = (!args.once).then_some(Duration::from_secs(args.every.max(2)));
    let on_look = |now: &_, idle| show_look(&store, now, idle);
    let (cs, asking) = (
        Connections::default(),
        Opening::Asking(terminal::questions()),
    );
    watch::follow(&store, &cs, &asking, &job.id, every, on_look).await?;
    Ok(())
}

/// The job to watch, if its use is recorded.
fn followed_job(store: &Mutex<Store>, id: &str) -> anyhow::Result<JobEntry> {
    let job = history::get(&lock(store), id)
        .map_err(|_| anyhow::anyhow!("no job {id}: see `usine jobs`"))?;
    if !watch::followed(&job) {
        bail!(
            "{} does not record GPU use (it has no GPUs, or recording was off when it was sent)",
            job.id
        );
    }
    Ok(job)
}

/// One look: a warning when the job sat idle, its table, and how it ended.
fn show_look(store: &Mutex<Store>, now: &JobEntry, idle: Option<watch::IdleRule>) {
    if let Some(rule) = idle {
        eprintln!(
            "Its GPUs have been under {} % busy for {} minutes: is it stuck? (usine job cancel {})",
            rule.below, rule.minutes, now.id
        );
    }
    if let Err(e) = print_table(store, &now.id) {
        eprintln!("The samples cannot be read: {e}");
    }
    match now.state.is_finished() {
        true => println!("The job has ended ({:?}).", now.state),
        false => println!(),
    }
}

pub fn metrics(command: MetricsCommand) -> anyhow::Result<()> {
    let store = Store::open_default()?;
    let MetricsCommand::Export { job, png, csv } = command;
    let entry = history::get(&store, &job)
        .map_err(|_| anyhow::anyhow!("no job {job}: see `usine jobs`"))?;
    let (format, path) = match (png, csv) {
        (Some(path), None) => (export::Format::Png, path),
        (None, Some(path)) => (export::Format::Csv, path),
        _ => bail!("say what to write: --png FILE or --csv FILE"),
    };
    let written = export::write(&store, &entry.id, format, &path)?;
    println!("Wrote {}", written.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sparklines_follow_the_values() {
        assert_eq!(super::sparkline(&[0.0, 50.0, 100.0, 250.0]), "▁▅██");
    }
}
