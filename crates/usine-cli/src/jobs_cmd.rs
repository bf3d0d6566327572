//! `usine draft …`, `usine submit`, `usine jobs`, `usine job …`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use usine_core::cluster::Connections;
use usine_core::jobs::checks::{CostEstimate, Problem, Severity, has_blockers};
use usine_core::jobs::history::{self, JobEntry};
use usine_core::jobs::scheduler::{JobError, Scheduler};
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::spec::JobSpec;
use usine_core::jobs::{drafts, sbatch, targets, templates, tracker, tracking};
use usine_core::store::{Store, lock};
use usine_core::target::THIS_COMPUTER_ID;

use crate::{print_json, terminal};

#[derive(Subcommand)]
pub enum DraftCommand {
    /// Start a job from a template (`usine draft templates`) or an existing sbatch script.
    New(NewArgs),
    /// The templates to start from, with what each is for.
    Templates,
    /// Drafts, most recently edited first.
    List,
    /// Change a draft: --set field=value (JSON values: --set gpusPerNode=2), or --script FILE.
    Edit(EditArgs),
    /// Print the draft as an sbatch script (or write it to --output).
    Export {
        id: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check a draft against its target and show what it may cost.
    Check { id: String },
    /// Delete a draft.
    Delete { id: String },
}

#[derive(Args)]
pub struct NewArgs {
    /// A template id.
    #[arg(long, conflicts_with = "script")]
    template: Option<String>,
    /// An sbatch script to import (known #SBATCH options become fields).
    #[arg(long)]
    script: Option<PathBuf>,
    /// Where it will run: a cluster name, or this-computer (the default).
    #[arg(long, default_value = THIS_COMPUTER_ID)]
    target: String,
    /// Field changes, as in `usine draft edit`.
    #[arg(long = "set")]
    sets: Vec<String>,
}

#[derive(Args)]
pub struct EditArgs {
    id: String,
    #[arg(long)]
    target: Option<String>,
    #[arg(long = "set")]
    sets: Vec<String>,
    /// Replace the draft with this sbatch script.
    #[arg(long)]
    script: Option<PathBuf>,
}

#[derive(Args)]
pub struct SubmitArgs {
    /// The draft to send.
    draft: String,
    /// Only queue it (it is sent the next time Usine reaches the cluster).
    #[arg(long)]
    queue: bool,
    /// Send it even though the checks found problems (the cluster may still refuse it).
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct JobsArgs {
    /// Only this target's jobs.
    #[arg(long)]
    target: Option<String>,
    /// Ask the clusters first (and send queued jobs) instead of showing what is known offline.
    #[arg(long)]
    refresh: bool,
}

#[derive(Subcommand)]
pub enum JobCommand {
    /// Everything known about a job (the id from `usine jobs`, or Slurm's job id).
    Show { id: String },
    /// Stop a job (or take a queued one out of the outbox).
    Cancel { id: String },
    /// The end of a job's output; --follow keeps printing until it ends.
    Logs {
        id: String,
        #[arg(long)]
        follow: bool,
        #[arg(long, default_value_t = 20_000)]
        bytes: u64,
    },
}

fn open_store() -> anyhow::Result<Mutex<Store>> {
    Ok(Mutex::new(Store::open_default()?))
}

/// Applies `field=value` changes through the spec's JSON form, so every field is settable.
fn apply_sets(spec: &JobSpec, sets: &[String]) -> anyhow::Result<JobSpec> {
    let mut json = serde_json::to_value(spec)?;
    for set in sets {
        let (path, raw) = set
            .split_once('=')
            .with_context(|| format!("--set {set}: write field=value"))?;
        let value = match raw.strip_prefix('@') {
            Some(file) => serde_json::Value::String(
                std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?,
            ),
            None => serde_json::from_str(raw)
                .unwrap_or_else(|_| serde_json::Value::String(raw.to_owned())),
        };
        let mut slot = &mut json;
        for key in path.split('.') {
            slot = slot.get_mut(key).with_context(|| {
                format!("--set {path}: no field `{key}` (see `usine draft export --json`)")
            })?;
        }
        *slot = value;
    }
    serde_json::from_value(json).context("a --set value has the wrong type")
}

fn print_checks(problems: &[Problem], cost: &CostEstimate) {
    if cost.gpu_hours > 0.0 {
        let billed = match (cost.billed, &cost.billing_unit) {
            (Some(b), Some(unit)) => format!(" ({b:.1} {unit})"),
            _ => String::new(),
        };
        let left = cost
            .gpu_hours_left
            .map(|l| format!(", {l:.1} GPU-hours left"))
            .unwrap_or_default();
        println!(
            "Cost: at most {:.1} GPU-hours{billed}{left}",
            cost.gpu_hours
        );
    }
    for p in problems {
        let mark = if p.severity == Severity::Blocker {
            "PROBLEM"
        } else {
            "note   "
        };
        println!("{mark}  {}: {}", p.field, p.message);
    }
    if problems.is_empty() {
        println!("Checks: all good.");
    }
}

pub async fn draft(command: DraftCommand, json: bool) -> anyhow::Result<()> {
    let store = open_store()?;
    match command {
        DraftCommand::Templates => {
            let all = templates::all();
            if json {
                print_json(&all);
            }
            for t in all.iter().filter(|_| !json) {
                println!("{:<24} {}\n{:<24} {}", t.id, t.title, "", t.summary);
            }
        }
        DraftCommand::New(args) => {
            let start = match (args.template, &args.script) {
                (Some(id), _) => targets::Start::Template(id),
                (None, Some(path)) => targets::Start::Script(
                    sbatch::read_script(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                (None, None) => {
                    bail!("start from --template ID (see `usine draft templates`) or --script FILE")
                }
            };
            let (spec, template, notes) = targets::starting_spec(&start)?;
            for note in &notes {
                eprintln!("note: {note}");
            }
            let spec = apply_sets(&spec, &args.sets)?;
            let d = targets::create_draft(&lock(&store), &args.target, template.as_deref(), &spec)?;
            show_draft(&store, &d, json)?;
        }
        DraftCommand::List => {
            let all = drafts::list(&lock(&store))?;
            if json {
                print_json(&all);
            } else if all.is_empty() {
                println!(
                    "No drafts. Start one with: usine draft new --template pytorch-single-node"
                );
            }
            for d in all.iter().filter(|_| !json) {
                println!(
                    "{}  {:<20} {:<16} {}",
                    d.id, d.spec.name, d.target, d.updated_at
                );
            }
        }
        DraftCommand::Edit(args) => {
            let d = drafts::get(&lock(&store), &args.id)
                .map_err(|_| anyhow::anyhow!("no draft {}", args.id))?;
            let mut spec = match &args.script {
                Some(path) => {
                    let text = sbatch::read_script(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    sbatch::import(&text).spec
                }
                None => d.spec.clone(),
            };
            spec = apply_sets(&spec, &args.sets)?;
            let target = args.target.unwrap_or(d.target);
            drafts::save(&lock(&store), &d.id, &target, &spec)?;
            let d = drafts::get(&lock(&store), &d.id)?;
            show_draft(&store, &d, json)?;
        }
        DraftCommand::Export { id, output } => {
            let d =
                drafts::get(&lock(&store), &id).map_err(|_| anyhow::anyhow!("no draft {id}"))?;
            if json {
                print_json(&d.spec);
                return Ok(());
            }
            let script = sbatch::render(&d.spec)?;
            match output {
                Some(path) => std::fs::write(&path, script)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{script}"),
            }
        }
        DraftCommand::Check { id } => {
            let d =
                drafts::get(&lock(&store), &id).map_err(|_| anyhow::anyhow!("no draft {id}"))?;
            let (problems, cost) = targets::check(&store, &d.target, &d.spec)?;
            if json {
                print_json(&serde_json::json!({
                    "problems": problems,
                    "cost": cost,
                    "refusedBecause": d.refused_because,
                }));
            } else {
                print_refusal(&d);
                print_checks(&problems, &cost);
            }
            if has_blockers(&problems) {
                bail!("fix the problems above before submitting");
            }
        }
        DraftCommand::Delete { id } => {
            if !drafts::delete(&lock(&store), &id)? {
                bail!("no draft {id}");
            }
            println!("Deleted draft {id}.");
        }
    }
    Ok(())
}

fn print_refusal(d: &drafts::Draft) {
    if let Some(reason) = &d.refused_because {
        println!("Last sent: refused by the cluster. {reason}");
    }
}

fn show_draft(store: &Mutex<Store>, d: &drafts::Draft, json: bool) -> anyhow::Result<()> {
    let (problems, cost) = targets::check(store, &d.target, &d.spec)?;
    if json {
        print_json(&serde_json::json!({ "draft": d, "problems": problems, "cost": cost }));
    } else {
        println!("Draft {} \"{}\" for {}", d.id, d.spec.name, d.target);
        print_refusal(d);
        print_checks(&problems, &cost);
        println!("Next: usine submit {}", d.id);
    }
    Ok(())
}

/// `--force` overrules the checks' blockers.
fn blockers(force: bool) -> targets::Blockers {
    match force {
        true => targets::Blockers::Overrule,
        false => targets::Blockers::Stop,
    }
}

pub async fn submit(args: SubmitArgs, json: bool) -> anyhow::Result<()> {
    let store = open_store()?;
    let d = drafts::get(&lock(&store), &args.draft)
        .map_err(|_| anyhow::anyhow!("no draft {}", args.draft))?;
    let entry = targets::enqueue_draft(&store, &d.id, blockers(args.force)).map_err(|e| {
        if let Ok((problems, cost)) = targets::check(&store, &d.target, &d.spec) {
            print_checks(&problems, &cost);
        }
        anyhow::anyhow!("not sent: {e} Fix the problems above (or --force).")
    })?;
    if args.queue {
        println!(
            "Queued {} for {}; it is sent the next time Usine reaches it (usine jobs --refresh).",
            entry.id, d.target
        );
        return Ok(());
    }
    let connections = Connections::default();
    let scheduler = match targets::open(&store, &connections, &d.target, terminal::questions())
        .await
    {
        Ok(s) => s,
        Err(e) => {
            println!(
                "Queued {}: {} is not reachable now ({e}). It is sent by `usine jobs --refresh` or the app.",
                entry.id, d.target
            );
            return Ok(());
        }
    };
    let sent = match tracking::send(&store, &scheduler, &entry.id).await {
        Ok(sent) => sent,
        Err(JobError::Rejected(reason)) => bail!(
            "{reason}\nThe cluster refused it, so nothing runs and nothing is queued. Correct the draft (usine draft edit {}) and submit it again.",
            d.id
        ),
        Err(other) => return Err(other.into()),
    };
    if json {
        print_json(&sent);
    } else {
        println!(
            "Submitted {} to {} as job {}. Follow it with: usine job logs {} --follow",
            sent.id,
            sent.target,
            sent.scheduler_id.as_deref().unwrap_or("?"),
            sent.id
        );
    }
    Ok(())
}

fn state_words(job: &JobEntry) -> String {
    match (&job.state, &job.waiting_because) {
        (JobState::Pending, Some(reason)) => format!("waiting: {reason}"),
        (JobState::Queued, _) => "queued on this computer, not sent yet".into(),
        (JobState::Failed, _) if job.refused_because.is_some() => format!(
            "refused by the cluster: {}",
            job.refused_because.as_deref().unwrap_or_default()
        ),
        (JobState::Failed, _) if job.failed_because.is_some() => format!(
            "failed: {}",
            job.failed_because.as_deref().unwrap_or_default()
        ),
        (JobState::Failed, _) => match job.record.as_ref().and_then(|r| r.exit_code) {
            Some(code) => format!("failed (exit code {code}): see `usine job logs {}`", job.id),
            None => format!("failed: see `usine job logs {}`", job.id),
        },
        (state, _) => format!("{state:?}").to_lowercase(),
    }
}

pub async fn jobs(args: JobsArgs, json: bool) -> anyhow::Result<()> {
    let store = open_store()?;
    if args.refresh {
        // The app's tracker round, once; a cluster not connected yet may ask for its login here.
        let asking = targets::Opening::Asking(terminal::questions());
        tracker::Tracker::new()
            .round(
                &store,
                &Connections::default(),
                &asking,
                args.target.as_deref(),
                |seen| {
                    if let tracker::Seen::Trouble { target, error } = seen {
                        eprintln!("{target}: not followed ({error}); showing what is known.");
                    }
                },
            )
            .await;
    }
    let all = history::list(&lock(&store), args.target.as_deref())?;
    if json {
        print_json(&all);
        return Ok(());
    }
    if all.is_empty() {
        println!("No jobs yet. Draft one with: usine draft new --template pytorch-single-node");
    }
    for j in &all {
        println!(
            "{}  {:<8} {:<20} {:<14} {}",
            j.id,
            j.scheduler_id.as_deref().unwrap_or("-"),
            j.spec.name,
            j.target,
            state_words(j)
        );
    }
    Ok(())
}

pub async fn job(command: JobCommand, json: bool) -> anyhow::Result<()> {
    let store = open_store()?;
    let id = match &command {
        JobCommand::Show { id } | JobCommand::Cancel { id } | JobCommand::Logs { id, .. } => {
            id.clone()
        }
    };
    let entry = history::get(&lock(&store), &id)
        .map_err(|_| anyhow::anyhow!("no job {id}: see `usine jobs`"))?;
    if let JobCommand::Show { .. } = command {
        if json {
            print_json(&entry);
        } else {
            println!(
                "{} \"{}\" on {}: {}",
                entry.id,
                entry.spec.name,
                entry.target,
                state_words(&entry)
            );
            if let Some(r) = &entry.record {
                println!(
                    "Slurm job {}  partition {}  nodes {}",
                    r.job_id, r.partition, r.node_list
                );
                if let Some(h) = r.gpu_hours() {
                    println!("GPU-hours used: {h:.2}");
                }
                if let Some(code) = r.exit_code {
                    println!("exit code {code}");
                }
            }
        }
        return Ok(());
    }
    let connections = Connections::default();
    if let JobCommand::Cancel { .. } = command {
        let asking = targets::Opening::Asking(terminal::questions());
        match targets::cancel(&store, &connections, &asking, &entry.id).await? {
            targets::Cancelled::Withdrawn => {
                println!("Removed {} from the outbox; it was never sent.", entry.id)
            }
            targets::Cancelled::Stopped => println!("Cancelled {}.", entry.id),
        }
        return Ok(());
    }
    let Some(scheduler_id) = entry.scheduler_id.clone() else {
        bail!("{} has not been sent yet: it has no logs", entry.id);
    };
    let scheduler =
        targets::open(&store, &connections, &entry.target, terminal::questions()).await?;
    match command {
        JobCommand::Cancel { .. } => unreachable!("handled above"),
        JobCommand::Logs { follow, bytes, .. } => {
            let mut shown = 0usize;
            loop {
                let logs = scheduler.logs(&scheduler_id, &entry.spec, bytes).await?;
                // Only what is new since the last look (the tail may have moved on).
                let text = logs.stdout;
                print!("{}", text.get(shown.min(text.len())..).unwrap_or_default());
                shown = text.len();
                tracking::refresh(&store, &entry.target, &scheduler).await?;
                let now = history::get(&lock(&store), &entry.id)?;
                if !follow || now.state.is_finished() {
                    if !logs.stderr.trim().is_empty() {
                        eprintln!("--- errors ---\n{}", logs.stderr.trim_end());
                    }
                    if follow {
                        println!("--- {} ---", state_words(&now));
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        JobCommand::Show { .. } => unreachable!("handled above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_change_any_field_with_json_or_text() {
        let spec = apply_sets(
            &JobSpec::default(),
            &[
                "gpusPerNode=2".into(),
                "partition=gpu".into(),
                "environment.modules=[\"cuda\"]".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            (spec.gpus_per_node, spec.partition.as_deref()),
            (2, Some("gpu"))
        );
        assert_eq!(spec.environment.modules, ["cuda"]);
        assert!(apply_sets(&JobSpec::default(), &["nope=1".into()]).is_err());
        assert!(apply_sets(&JobSpec::default(), &["nodes=many".into()]).is_err());
    }
}
