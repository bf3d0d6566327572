//! Jobs end to end against the lab's real Slurm (over Usine's SSH connection) and on this
//! computer: submit, follow to the end, logs, cancel, arrays, the GPU-hour limit, the offline
//! outbox and a crash between submitting and recording.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::jobs::history;
use usine_core::jobs::local::ThisComputer;
use usine_core::jobs::scheduler::Scheduler;
use usine_core::jobs::slurm::{JobState, pending_reason};
use usine_core::jobs::spec::{EnvVar, JobArray};
use usine_core::jobs::{templates, tracking};
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::scratch_file;

fn store() -> Mutex<Store> {
    Mutex::new(Store::open(&scratch_file("store").join("usine.sqlite3")).unwrap())
}

/// Refreshes until the job reaches a finished state, then returns the stored entry.
async fn follow(
    store: &Mutex<Store>,
    target: &str,
    scheduler: &impl Scheduler,
    id: &str,
    seen: &mut Vec<JobState>,
) -> history::JobEntry {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        for change in tracking::refresh(store, target, scheduler).await.unwrap() {
            if change.job.id == id {
                seen.push(change.job.state.clone());
            }
        }
        let entry = history::get(&store.lock().unwrap(), id).unwrap();
        if entry.state.is_finished() {
            return entry;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} still {:?} after 90 s",
            entry.state
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn a_job_with_hostile_values_runs_to_completion_with_logs_and_cost(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let name = lab.unique("hostile");
    let mut spec = lab.cpu_job(
        &name,
        "printf 'V=%s\\n' \"$HOSTILE\"; pwd; echo to-stderr >&2\n",
    );
    spec.working_dir = format!("~/usine-it/{name}/it's $(id) dir");
    spec.environment.variables.push(EnvVar {
        name: "HOSTILE".into(),
        value: "$(touch pwned) `id` 'q' \"d\"; rm -rf ~".into(),
    });
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    assert_eq!(entry.state, JobState::Queued);
    let sent = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    let job_id = sent.scheduler_id.clone().unwrap();
    let mut seen = Vec::new();
    let done = follow(&store, "lab", &slurm, &entry.id, &mut seen).await;
    assert_eq!(done.state, JobState::Completed, "{done:#?}");
    let record = done.record.unwrap();
    assert_eq!(
        (record.exit_code, record.partition.as_str()),
        (Some(0), "cpu")
    );
    assert!(record.elapsed_seconds.is_some());

    let logs = slurm.logs(&job_id, &spec, 10_000).await.unwrap();
    assert!(
        logs.stdout
            .contains("V=$(touch pwned) `id` 'q' \"d\"; rm -rf ~\n"),
        "{logs:?}"
    );
    assert!(
        logs.stdout
            .contains(&format!("/home/alice/usine-it/{name}/it's $(id) dir")),
        "{logs:?}"
    );
    assert_eq!(logs.stderr.trim(), "to-stderr");
    let pwned = lab.ssh_alice(&format!("ls ~/usine-it/{name}/*/pwned ~/pwned"));
    assert!(!pwned.status.success(), "a value escaped its quotes");
}

/// A relative working folder is in the home (no spurious `cd` error in the job's errors), and a
/// Python environment that is not there stops the job before the commands, saying so, instead
/// of running them elsewhere and ending "completed".
async fn a_failing_set_up_stops_the_job_and_a_relative_folder_is_in_the_home(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let name = lab.unique("setup");
    let mut spec = lab.cpu_job(&name, "pwd; echo ran-the-commands\n");
    spec.working_dir = format!("usine-it/{name}");
    let good = tracking::enqueue(&store, "lab", &spec).unwrap();
    let sent = tracking::send(&store, &slurm, &good.id).await.unwrap();
    let done = follow(&store, "lab", &slurm, &good.id, &mut Vec::new()).await;
    assert_eq!(done.state, JobState::Completed, "{done:#?}");
    let logs = slurm
        .logs(sent.scheduler_id.as_deref().unwrap(), &spec, 10_000)
        .await
        .unwrap();
    assert!(
        logs.stdout
            .contains(&format!("/home/alice/usine-it/{name}\nran-the-commands")),
        "{logs:?}"
    );
    assert_eq!(logs.stderr.trim(), "", "no spurious error");

    spec.environment.python = Some(usine_core::jobs::spec::PythonEnv::Venv(
        "~/no-such-venv".into(),
    ));
    let bad = tracking::enqueue(&store, "lab", &spec).unwrap();
    let sent = tracking::send(&store, &slurm, &bad.id).await.unwrap();
    let done = follow(&store, "lab", &slurm, &bad.id, &mut Vec::new()).await;
    assert_eq!(done.state, JobState::Failed, "{done:#?}");
    let logs = slurm
        .logs(sent.scheduler_id.as_deref().unwrap(), &spec, 10_000)
        .await
        .unwrap();
    assert!(!logs.stdout.contains("ran-the-commands"), "{logs:?}");
    assert!(
        logs.stderr.contains("Usine: the set-up line above failed"),
        "{logs:?}"
    );
}

/// A job whose output file cannot be written fails without an exit code; it says why.
async fn a_job_whose_output_cannot_be_written_says_why(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let name = lab.unique("no-output");
    let mut spec = lab.cpu_job(&name, "echo never\n");
    spec.extra_directives
        .push("--output=/nonexistent/usine/%j.out".into());
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    tracking::send(&store, &slurm, &entry.id).await.unwrap();
    let done = follow(&store, "lab", &slurm, &entry.id, &mut Vec::new()).await;
    assert_eq!(done.state, JobState::Failed, "{done:#?}");
    let why = done.failed_because.unwrap_or_default();
    assert!(why.contains("/nonexistent/usine/"), "{why}");
    assert!(why.contains("cannot be written"), "{why}");
}

async fn a_missing_input_dataset_stops_the_submission_with_what_to_do(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let name = lab.unique("input");
    let mut spec = lab.cpu_job(&name, "true\n");
    spec.inputs = vec![format!("~/datasets/{name}/it's missing")];
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    let err = tracking::send(&store, &slurm, &entry.id).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "~/datasets/{name}/it's missing is not on the cluster. Upload it first"
        )),
        "{err}"
    );
    assert!(
        history::get(&store.lock().unwrap(), &entry.id)
            .unwrap()
            .scheduler_id
            .is_none()
    );
    // The refusal is final: the job left the outbox and is not sent again.
    let refused = history::get(&store.lock().unwrap(), &entry.id).unwrap();
    assert_eq!(refused.state, JobState::Failed);
    assert!(refused.refused_because.is_some());
    assert!(matches!(
        tracking::send(&store, &slurm, &entry.id).await,
        Err(usine_core::jobs::scheduler::JobError::Rejected(_))
    ));
    // Once the data is there, the job sent again goes through.
    lab.ssh_alice_ok(&format!(
        "mkdir -p ~/datasets/{name} && touch ~/datasets/{name}/\"it's missing\""
    ));
    let again = tracking::enqueue(&store, "lab", &spec).unwrap();
    let sent = tracking::send(&store, &slurm, &again.id).await.unwrap();
    assert!(sent.scheduler_id.is_some());
}

/// A user's own script, imported as it is, with its own `--output`/`--error` (and `%x`, `%j`):
/// its output is read where the script put it (24.11 no longer prints a field the old `sed`
/// relied on; `scontrol show job` is now read by key).
async fn logs_are_found_where_an_imported_script_put_them(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let name = lab.unique("own-logs");
    let script = format!(
        "#!/bin/bash\n#SBATCH --job-name={name}\n#SBATCH --account={account}\n#SBATCH -p cpu\n\
#SBATCH --time=00:05:00\n#SBATCH --output=/tmp/%x-out-%j.log\n#SBATCH -e /tmp/%x-err-%j.log\n\
echo to my own file\necho and my errors >&2\n",
        account = lab.var("USINE_LAB_ACCOUNT")
    );
    let imported = usine_core::jobs::sbatch::import(&script);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    let spec = imported.spec;
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    let sent = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    follow(&store, "lab", &slurm, &entry.id, &mut Vec::new()).await;
    let logs = slurm
        .logs(sent.scheduler_id.as_deref().unwrap(), &spec, 1000)
        .await
        .unwrap();
    assert_eq!(logs.stdout, "to my own file\n");
    assert_eq!(logs.stderr, "and my errors\n");
    if lab.name() == "lab24" {
        // Looked at later, once slurmctld has forgotten the job (30 s there, 5 min by default).
        lab.wait_forgotten(sent.scheduler_id.as_deref().unwrap());
        let later = slurm
            .logs(sent.scheduler_id.as_deref().unwrap(), &spec, 1000)
            .await
            .unwrap();
        assert_eq!((later.stdout, later.stderr), (logs.stdout, logs.stderr));
    }
}

async fn cancelling_a_running_job(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let entry = tracking::enqueue(
        &store,
        "lab",
        &lab.cpu_job(&lab.unique("cancel"), "sleep 300\n"),
    )
    .unwrap();
    let sent = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    let job_id = sent.scheduler_id.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while history::get(&store.lock().unwrap(), &entry.id)
        .unwrap()
        .state
        != JobState::Running
    {
        assert!(Instant::now() < deadline, "never started");
        tracking::refresh(&store, "lab", &slurm).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    slurm.cancel(&job_id).await.unwrap();
    let done = follow(&store, "lab", &slurm, &entry.id, &mut Vec::new()).await;
    assert_eq!(done.state, JobState::Cancelled);
}

async fn a_job_array_runs_every_task(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    let name = lab.unique("array");
    let mut spec = lab.cpu_job(&name, "echo task=$SLURM_ARRAY_TASK_ID\n");
    spec.array = Some(JobArray {
        first: 0,
        last: 2,
        max_parallel: Some(2),
    });
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    let sent = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    let done = follow(&store, "lab", &slurm, &entry.id, &mut Vec::new()).await;
    assert_eq!(done.state, JobState::Completed);
    let logs = slurm
        .logs(sent.scheduler_id.as_deref().unwrap(), &spec, 1000)
        .await
        .unwrap();
    let mut tasks: Vec<&str> = logs.stdout.lines().collect();
    tasks.sort_unstable();
    assert_eq!(tasks, ["task=0", "task=1", "task=2"]);
}

async fn a_job_beyond_the_gpu_hour_limit_waits_with_the_reason_in_plain_words(lab: Lab) {
    let slurm = lab.slurm_as_alice().await;
    let store = store();
    // 2 GPUs for 1 h = 2 GPU-hours; the nearly spent project has 1 in total.
    let mut spec = lab.cpu_job(&lab.unique("budget"), "true\n");
    spec.account = Some(lab.var("USINE_LAB_SPENT_ACCOUNT").into());
    spec.partition = Some("gpu".into());
    spec.gpus_per_node = 2;
    spec.gpu_type = Some("h100".into());
    spec.time_limit_minutes = 60;
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    let sent = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let reason = loop {
        tracking::refresh(&store, "lab", &slurm).await.unwrap();
        let e = history::get(&store.lock().unwrap(), &entry.id).unwrap();
        let reason = e.record.and_then(|r| r.reason).unwrap_or_default();
        if reason.starts_with("AssocGrp") {
            break reason;
        }
        assert!(
            Instant::now() < deadline,
            "no limit reason, last: {reason:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(reason, "AssocGrpGRESMinutes");
    assert!(pending_reason(&reason).contains("no GPU-hours left"));
    slurm
        .cancel(sent.scheduler_id.as_deref().unwrap())
        .await
        .unwrap();
}

async fn the_offline_outbox_is_sent_exactly_once_when_the_cluster_is_back(lab: Lab) {
    let store = store();
    let name = lab.unique("outbox");
    // Offline: the job is only recorded.
    let entry = tracking::enqueue(&store, "lab", &lab.cpu_job(&name, "echo sent\n")).unwrap();
    assert_eq!(
        history::outbox(&store.lock().unwrap(), "lab")
            .unwrap()
            .len(),
        1
    );
    // Back online: flushed twice (say, by two reconnect events), sent once.
    let slurm = lab.slurm_as_alice().await;
    let first = tracking::flush_outbox(&store, "lab", &slurm).await.unwrap();
    let second = tracking::flush_outbox(&store, "lab", &slurm).await.unwrap();
    assert_eq!((first.len(), second.len()), (1, 0));
    follow(&store, "lab", &slurm, &entry.id, &mut Vec::new()).await;
    assert_eq!(lab.jobs_named(&name), 1);
}

async fn a_refused_job_leaves_the_outbox_with_its_reason_and_the_next_one_still_goes(lab: Lab) {
    let store = store();
    let name = lab.unique("refused");
    let mut bad = lab.cpu_job(&format!("{name}-bad"), "echo never\n");
    bad.partition = Some("no-such-partition".into());
    let bad = tracking::enqueue(&store, "lab", &bad).unwrap();
    let good = tracking::enqueue(&store, "lab", &lab.cpu_job(&name, "echo sent\n")).unwrap();

    let slurm = lab.slurm_as_alice().await;
    let left = tracking::flush_outbox(&store, "lab", &slurm).await.unwrap();
    assert_eq!(left.len(), 2, "both left the outbox");
    let refused = history::get(&store.lock().unwrap(), &bad.id).unwrap();
    assert_eq!(refused.state, JobState::Failed);
    assert!(refused.scheduler_id.is_none());
    let reason = refused.refused_because.unwrap_or_default();
    assert!(reason.contains("partition"), "{reason}");
    assert!(
        history::outbox(&store.lock().unwrap(), "lab")
            .unwrap()
            .is_empty()
    );
    follow(&store, "lab", &slurm, &good.id, &mut Vec::new()).await;
    assert_eq!(lab.jobs_named(&name), 1);
}

async fn a_crash_between_submitting_and_recording_never_submits_twice(lab: Lab) {
    let store = store();
    let slurm = lab.slurm_as_alice().await;
    let name = lab.unique("crash");
    let mut spec = lab.cpu_job(&name, "echo once\n");
    // Held, so it is still in the queue when the proof file is lost below.
    spec.extra_directives.push("--hold".into());
    let entry = tracking::enqueue(&store, "lab", &spec).unwrap();
    // The app sent it, then died before recording the id.
    let first = slurm
        .submit(&entry.id, &entry.spec, &entry.script)
        .await
        .unwrap();
    assert!(
        history::get(&store.lock().unwrap(), &entry.id)
            .unwrap()
            .scheduler_id
            .is_none()
    );
    // Restarted, it sends the outbox again: the cluster answers with the first job.
    let again = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    assert_eq!(again.scheduler_id.as_deref(), Some(first.as_str()));
    // Even when the proof file on the cluster was lost, the tag in the queue finds the job.
    lab.ssh_alice_ok(&format!("rm -f ~/.usine/jobs/{}/jobid", entry.id));
    assert_eq!(
        slurm
            .submit(&entry.id, &entry.spec, &entry.script)
            .await
            .unwrap(),
        first
    );
    let queued = lab.ssh_alice_ok(&format!("squeue --me -h -n {name} -o %i"));
    assert_eq!(queued.trim(), first);
    slurm.cancel(&first).await.unwrap();
}

/// The same queued job sent from two computers at once (a laptop and a desktop sharing an
/// outbox, each with its own connection): the claim on the cluster lets one `sbatch` run, and
/// the other sender answers with its job id.
async fn two_computers_sending_the_same_job_at_once_start_it_once(lab: Lab) {
    let (laptop, desktop) = (lab.slurm_as_alice().await, lab.slurm_as_alice().await);
    let name = lab.unique("two-senders");
    let mut spec = lab.cpu_job(&name, "echo once\n");
    spec.extra_directives.push("--hold".into());
    let rounds = 20;
    for round in 0..rounds {
        let tag = lab.unique(&format!("race-{round}"));
        let script = usine_core::jobs::sbatch::render(&spec).unwrap();
        let (a, b) = tokio::join!(
            laptop.submit(&tag, &spec, &script),
            desktop.submit(&tag, &spec, &script)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a, b, "round {round}: both answer with the one job");
    }
    let ids = lab.job_ids_named(&name);
    lab.ssh_alice_ok(&format!("scancel --name={name}"));
    assert_eq!(ids.len(), rounds, "{ids:?}");
}

#[tokio::test]
async fn this_computer_runs_the_same_script_with_slurm_variables() {
    let store = store();
    let root = scratch_file("local-jobs");
    let local = ThisComputer::new(&root);
    let mut spec = templates::find("cpu-preprocessing").unwrap().spec;
    spec.working_dir = scratch_file("local-wd").display().to_string();
    spec.cpus_per_task = 3;
    spec.commands = "echo \"cpus=$SLURM_CPUS_PER_TASK task=${SLURM_ARRAY_TASK_ID:-none} dir=$(basename \"$PWD\")\"\necho oops >&2\n".into();
    spec.array = Some(JobArray {
        first: 1,
        last: 2,
        max_parallel: None,
    });
    let entry = tracking::enqueue(&store, "this-computer", &spec).unwrap();
    let sent = tracking::send(&store, &local, &entry.id).await.unwrap();
    let done = follow(&store, "this-computer", &local, &entry.id, &mut Vec::new()).await;
    let record = done.record.unwrap();
    assert_eq!(
        (done.state, record.exit_code),
        (JobState::Completed, Some(0))
    );
    // The timeline is complete, as a cluster's: prepared, started, ended, in that order.
    let at = |t: &Option<String>| -> u64 {
        t.as_deref()
            .and_then(|t| t.strip_prefix('@'))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{t:?}"))
    };
    assert!(at(&record.submitted) <= at(&record.started));
    assert!(at(&record.started) <= at(&record.ended));
    let logs = local
        .logs(sent.scheduler_id.as_deref().unwrap(), &spec, 1000)
        .await
        .unwrap();
    let dir = std::path::Path::new(&spec.working_dir)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        logs.stdout,
        format!("cpus=3 task=1 dir={dir}\ncpus=3 task=2 dir={dir}\n")
    );
    assert_eq!(logs.stderr, "oops\noops\n");

    // A failing job and a cancelled one.
    spec.array = None;
    spec.commands = "exit 3\n".into();
    let failing = tracking::enqueue(&store, "this-computer", &spec).unwrap();
    tracking::send(&store, &local, &failing.id).await.unwrap();
    let failed = follow(
        &store,
        "this-computer",
        &local,
        &failing.id,
        &mut Vec::new(),
    )
    .await;
    assert_eq!(failed.state, JobState::Failed);
    spec.commands = "sleep 300\n".into();
    let long = tracking::enqueue(&store, "this-computer", &spec).unwrap();
    let long = tracking::send(&store, &local, &long.id).await.unwrap();
    local
        .cancel(long.scheduler_id.as_deref().unwrap())
        .await
        .unwrap();
    let cancelled = follow(&store, "this-computer", &local, &long.id, &mut Vec::new()).await;
    assert_eq!(cancelled.state, JobState::Cancelled);
    let pid: u32 = std::fs::read_to_string(root.join(&long.id).join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cancelled job is still running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_job_on_this_computer_has_its_cpu_and_memory_charted() {
    use usine_core::gpu::series::{self, Device};
    use usine_core::gpu::{chart, watch};
    use usine_core::jobs::targets::AnyScheduler;

    let store = store();
    let here = AnyScheduler::ThisComputer(ThisComputer::new(scratch_file("local-use")));
    let mut spec = templates::find("cpu-preprocessing").unwrap().spec;
    spec.working_dir = scratch_file("local-use-wd").display().to_string();
    // One busy core in a child process that also holds 200 MiB: the reading must cover the tree.
    spec.commands = "python3 -c '\nimport time\nb = bytearray(200 << 20)\nt = time.time()\nwhile time.time() - t < 60: pass'\n".into();
    let entry = tracking::enqueue(&store, "this-computer", &spec).unwrap();
    let sent = tracking::send(&store, &here, &entry.id).await.unwrap();
    let rule = watch::IdleRule {
        below: 10.0,
        minutes: 30,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let summary = loop {
        tracking::refresh(&store, "this-computer", &here)
            .await
            .unwrap();
        let job = history::get(&store.lock().unwrap(), &entry.id).unwrap();
        if watch::watched(&job) {
            watch::look(&store, &here, &job, rule).await.unwrap();
        }
        let summary = series::summary(&store.lock().unwrap(), &entry.id, 10.0, 60_000).unwrap();
        if summary.cpu_samples >= 4 {
            break summary;
        }
        assert!(Instant::now() < deadline, "{summary:?} after 30 s");
        tokio::time::sleep(Duration::from_millis(700)).await;
    };
    here.cancel(sent.scheduler_id.as_deref().unwrap())
        .await
        .unwrap();

    let cpus = std::thread::available_parallelism().unwrap().get() as f32;
    let one_core = 100.0 / cpus;
    let mean = summary.mean_cpu_percent.unwrap();
    assert!(
        mean > one_core * 0.5 && mean <= one_core * 1.5,
        "one busy core of {cpus} is about {one_core} %, read {mean} %"
    );
    assert_eq!(summary.gpus, 0, "{summary:?}");
    let used = series::processor_samples(&store.lock().unwrap(), &entry.id).unwrap();
    // The first reading may come before Python has its memory.
    assert!(
        used.last().unwrap().memory_used_mib > 200.0,
        "the child's 200 MiB are counted: {used:?}"
    );
    let curves = series::load(&store.lock().unwrap(), &entry.id, 100).unwrap();
    assert_eq!(curves.len(), 1);
    assert_eq!(curves[0].device, Device::Processors);
    let svg = chart::svg(&curves, &spec.name, 800, 480).unwrap();
    assert!(svg.contains("CPUs busy (%)"), "{svg}");
    // Its memory in GiB: a job's few hundred MiB would sit near 0 as a share of this computer.
    assert!(svg.contains("memory used (GiB)"), "{svg}");
    let last = curves[0].points.last().and_then(|p| p.2).unwrap();
    assert!(
        curves[0].memory_gib(last).unwrap() > 0.19,
        "200 MiB drawn as {:?} GiB",
        curves[0].memory_gib(last)
    );
}

usine_lab_tests::on_every_cluster!(
    a_job_with_hostile_values_runs_to_completion_with_logs_and_cost,
    a_failing_set_up_stops_the_job_and_a_relative_folder_is_in_the_home,
    a_job_whose_output_cannot_be_written_says_why,
    a_missing_input_dataset_stops_the_submission_with_what_to_do,
    logs_are_found_where_an_imported_script_put_them,
    cancelling_a_running_job,
    a_job_array_runs_every_task,
    a_job_beyond_the_gpu_hour_limit_waits_with_the_reason_in_plain_words,
    the_offline_outbox_is_sent_exactly_once_when_the_cluster_is_back,
    a_refused_job_leaves_the_outbox_with_its_reason_and_the_next_one_still_goes,
    a_crash_between_submitting_and_recording_never_submits_twice,
    two_computers_sending_the_same_job_at_once_start_it_once,
);
