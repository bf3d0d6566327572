//! `usine draft …`, `usine submit`, `usine jobs`, `usine job …`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use usine_core::cluster::Connections;
use usine_core::jobs::checks::{CostEstimate, Problem, Severity, has_blockers};
use usine_core::jobs::history::{self, JobEntry};
use usine_core::jobs::scheduler::JobError;
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::spec::JobSpec;
use usine_core::jobs::{drafts, sbatch, targets, templates, tracker};
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
        DraftCommand::Templates => templates(json),
        DraftCommand::New(args) => draft_new(&store, args, json),
        DraftCommand::List => draft_list(&store, json),
        DraftCommand::Edit(args) => draft_edit(&store, args, json),
        DraftCommand::Export { id, output } => draft_export(&store, &id, output, json),
        DraftCommand::Check { id } => draft_check(&store, &id, json),
        DraftCommand::Delete { id } => draft_delete(&store, &id),
    }
}

pub fn templates(json: bool) -> anyhow::Result<()> {
    let all = templates::all();
    if json {
        print_json(&all);
    }
    for t in all.iter().filter(|_| !json) {
        println!("{:<24} {}\n{:<24} {}", t.id, t.title, "", t.summary);
    }
    Ok(())
}

pub fn draft_new(store: &Mutex<Store>, args: NewArgs, json: bool) -> anyhow::Result<()> {
    let start = match (args.template, &args.script) {
        (Some(id), _) => targets::Start::Template(id),
        (None, Some(path)) => targets::Start::Script(read_script(path)?),
        (None, None) => {
            bail!("start from --template ID (see `usine draft templates`) or --script FILE")
        }
    };
    let (spec, template, notes) = targets::starting_spec(&start)?;
    notes.iter().for_each(|note| eprintln!("note: {note}"));
    let spec = apply_sets(&spec, &args.sets)?;
    let d = targets::create_draft(&lock(store), &args.target, template.as_deref(), &spec)?;
    show_draft(&targets::view(store, d)?, json);
    Ok(())
}

pub fn draft_list(store: &Mutex<Store>, json: bool) -> anyhow::Result<()> {
    let all = drafts::list(&lock(store))?;
    if json {
        print_json(&all);
    } else if all.is_empty() {
        println!("No drafts. Start one with: usine draft new --template pytorch-single-node");
    }
    for d in all.iter().filter(|_| !json) {
        println!(
            "{}  {:<20} {:<16} {}",
            d.id, d.spec.name, d.target, d.updated_at
        );
    }
    Ok(())
}

pub fn draft_edit(store: &Mutex<Store>, args: EditArgs, json: bool) -> anyhow::Result<()> {
    let d = draft_of(store, &args.id)?;
    let spec = match &args.script {
        Some(path) => sbatch::import(&read_script(path)?).spec,
        None => d.spec,
    };
    let target = args.target.unwrap_or(d.target);
    let spec = apply_sets(&spec, &args.sets)?;
    show_draft(&targets::save_draft(store, &d.id, &target, &spec)?, json);
    Ok(())
}

pub fn draft_export(
    store: &Mutex<Store>,
    id: &str,
    output: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let d = draft_of(store, id)?;
    if json {
        print_json(&d.spec);
        return Ok(());
    }
    let script = sbatch::render(&d.spec)?;
    match output {
        Some(path) => {
            std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{script}"),
    }
    Ok(())
}

pub fn draft_check(store: &Mutex<Store>, id: &str, json: bool) -> anyhow::Result<()> {
    let view = targets::view(store, draft_of(store, id)?)?;
    if json {
        print_json(&serde_json::json!({
            "problems": view.problems,
            "cost": view.cost,
            "refusedBecause": view.draft.refused_because,
        }));
    } else {
        print_refusal(&view.draft);
        print_checks(&view.problems, &view.cost);
    }
    if has_blockers(&view.problems) {
        bail!("fix the problems above before submitting");
    }
    Ok(())
}

pub fn draft_delete(store: &Mutex<Store>, id: &str) -> anyhow::Result<()> {
    if !drafts::delete(&lock(store), id)? {
        bail!("no draft {id}");
    }
    println!("Deleted draft {id}.");
    Ok(())
}

fn draft_of(store: &Mutex<Store>, id: &str) -> anyhow::Result<drafts::Draft> {
    drafts::get(&lock(store), id).map_err(|_| anyhow::anyhow!("no draft {id}"))
}

fn read_script(path: &std::path::Path) -> anyhow::Result<String> {
    sbatch::read_script(path).with_context(|| format!("reading {}", path.display()))
}

fn print_refusal(d: &drafts::Draft) {
    if let Some(reason) = &d.refused_because {
        println!("Last sent: refused by the cluster. {reason}");
    }
}

fn show_draft(view: &targets::DraftView, json: bool) {
    if json {
        print_json(view);
        return;
    }
    let d = &view.draft;
    println!("Draft {} \"{}\" for {}", d.id, d.spec.name, d.target);
    print_refusal(d);
    print_checks(&view.problems, &view.cost);
    println!("Next: usine submit {}", d.id);
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
    let d = draft_of(&store, &args.draft)?;
    let asking = targets::Opening::Asking(terminal::questions());
    let connections = Connections::default();
    let how = (blockers(args.force), args.queue);
    let submitted = targets::submit(&store, &connections, &asking, &d.id, how.0, how.1).await;
    print_submitted(&submitted.map_err(|e| not_sent(&store, &d, e))?, json);
    Ok(())
}

/// Why a draft was not sent: its checks' problems, or the cluster's refusal, and what to do.
fn not_sent(store: &Mutex<Store>, d: &drafts::Draft, e: JobError) -> anyhow::Error {
    if let Ok(view) = targets::view(store, d.clone())
        && has_blockers(&view.problems)
    {
        print_checks(&view.problems, &view.cost);
        return anyhow::anyhow!("not sent: {e} Fix the problems above (or --force).");
    }
    match e {
        JobError::Rejected(reason) => anyhow::anyhow!(
            "{reason}\nThe cluster refused it, so nothing runs and nothing is queued. Correct the draft (usine draft edit {}) and submit it again.",
            d.id
        ),
        other => other.into(),
    }
}

fn print_submitted(submitted: &targets::Submitted, json: bool) {
    match submitted {
        targets::Submitted::Queued(e) => println!(
            "Queued {} for {}; it is sent the next time Usine reaches it (usine jobs --refresh).",
            e.id, e.target
        ),
        targets::Submitted::Away(e, why) => println!(
            "Queued {}: {} is not reachable now ({why}). It is sent by `usine jobs --refresh` or the app.",
            e.id, e.target
        ),
        targets::Submitted::Sent(sent) if json => print_json(sent),
        targets::Submitted::Sent(sent) => println!(
            "Submitted {} to {} as job {}. Follow it with: usine job logs {} --follow",
            sent.id,
            sent.target,
            sent.scheduler_id.as_deref().unwrap_or("?"),
            sent.id
        ),
    }
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
    let target = args.target.as_deref();
    if args.refresh {
        // The app's tracker round, once; a cluster not connected yet may ask for its login here.
        let asking = targets::Opening::Asking(terminal::questions());
        let (mut tracker, connections) = (tracker::Tracker::new(), Connections::default());
        let round = tracker.round(&store, &connections, &asking, target, say_trouble);
        round.await;
    }
    print_jobs(&history::list(&lock(&store), target)?, json);
    Ok(())
}

fn say_trouble(seen: tracker::Seen) {
    if let tracker::Seen::Trouble { target, error } = seen {
        eprintln!("{target}: not followed ({error}); showing what is known.");
    }
}

fn print_jobs(all: &[JobEntry], json: bool) {
    if json {
        return print_json(&all);
    }
    if all.is_empty() {
        println!("No jobs yet. Draft one with: usine draft new --template pytorch-single-node");
    }
    for j in all {
        let slurm_id = j.scheduler_id.as_deref().unwrap_or("-");
        let words = state_words(j);
        println!(
            "{}  {slurm_id:<8} {:<20} {:<14} {words}",
            j.id, j.spec.name, j.target
        );
    }
}

pub async fn job(command: JobCommand, json: bool) -> anyhow::Result<()> {
    let store = open_store()?;
    match command {
        JobCommand::Show { id } => job_show(&store, &id, json),
        JobCommand::Cancel { id } => job_cancel(&store, &id).await,
        JobCommand::Logs { id, follow, bytes } => job_logs(&store, &id, follow, bytes).await,
    }
}

fn job_of(store: &Mutex<Store>, id: &str) -> anyhow::Result<JobEntry> {
    history::get(&lock(store), id).map_err(|_| anyhow::anyhow!("no job {id}: see `usine jobs`"))
}

pub fn job_show(store: &Mutex<Store>, id: &str, json: bool) -> anyhow::Result<()> {
    let entry = job_of(store, id)?;
    if json {
        print_json(&entry);
    } else {
        print_job(&entry);
    }
    Ok(())
}

fn print_job(entry: &JobEntry) {
    let words = state_words(entry);
    println!(
        "{} \"{}\" on {}: {words}",
        entry.id, entry.spec.name, entry.target
    );
    let Some(r) = &entry.record else { return };
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

pub async fn job_cancel(store: &Mutex<Store>, id: &str) -> anyhow::Result<()> {
    let entry = job_of(store, id)?;
    let asking = targets::Opening::Asking(terminal::questions());
    match targets::cancel(store, &Connections::default(), &asking, &entry.id).await? {
        targets::Cancelled::Withdrawn => {
            println!("Removed {} from the outbox; it was never sent.", entry.id)
        }
        targets::Cancelled::Stopped => println!("Cancelled {}.", entry.id),
    }
    Ok(())
}

pub async fn job_logs(
    store: &Mutex<Store>,
    id: &str,
    follow: bool,
    bytes: u64,
) -> anyhow::Result<()> {
    let entry = job_of(store, id)?;
    if entry.scheduler_id.is_none() {
        bail!("{} has not been sent yet: it has no logs", entry.id);
    }
    let asking = targets::Opening::Asking(terminal::questions());
    let every = follow.then_some(Duration::from_secs(2));
    let wanted = targets::LogsWanted { bytes, every };
    let (cs, on_new) = (Connections::default(), |new: &str| print!("{new}"));
    let logs = targets::follow_logs(store, &cs, &asking, &entry.id, wanted, on_new);
    let (now, errors) = logs.await?;
    print_end(&now, &errors, follow);
    Ok(())
}

/// After the output: the errors the job wrote, and, when followed, how it ended.
fn print_end(now: &JobEntry, errors: &str, follow: bool) {
    if !errors.trim().is_empty() {
        eprintln!("--- errors ---\n{}", errors.trim_end());
    }
    if follow {
        println!("--- {} ---", state_words(now));
    }
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
