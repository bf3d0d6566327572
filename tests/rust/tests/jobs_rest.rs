//! Jobs through each lab cluster's slurmrestd (JWT, the newest version it serves): submit and follow to the end, cancel,
//! a repeated submission, and a wrong token.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::jobs::scheduler::{JobError, Scheduler};
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::slurm_rest::SlurmRest;
use usine_core::jobs::slurm_ssh::SlurmOverSsh;
use usine_core::jobs::{history, tracking};
use usine_core::ssh::Connection;
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};
use zeroize::Zeroizing;

/// A short-lived token for alice, from her own `scontrol token` on the cluster's login node.
fn token(lab: &Lab) -> Zeroizing<String> {
    let text = Zeroizing::new(lab.ssh_alice_ok("scontrol token lifespan=600"));
    Zeroizing::new(
        text.trim()
            .strip_prefix("SLURM_JWT=")
            .expect("a token")
            .to_owned(),
    )
}

async fn rest(lab: &Lab) -> SlurmRest {
    SlurmRest::connect(
        lab.var("USINE_LAB_REST_URL"),
        "alice",
        token(lab),
        "/home/alice",
    )
    .await
    .unwrap()
}

async fn wait_state(
    store: &Mutex<Store>,
    rest: &SlurmRest,
    id: &str,
    done: impl Fn(&JobState) -> bool,
) -> JobState {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tracking::refresh(store, "lab-rest", rest).await.unwrap();
        let state = history::get(&store.lock().unwrap(), id).unwrap().state;
        if done(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "still {state:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn submit_follow_and_cancel_through_slurmrestd(lab: Lab) {
    let rest = rest(&lab).await;
    // The newest each serves: 22.05 has v0.0.36-38, 24.11 has v0.0.40-42.
    let newest = if lab.name() == "lab" {
        "v0.0.38"
    } else {
        "v0.0.42"
    };
    assert_eq!(rest.version(), newest);
    let store = Mutex::new(Store::open(&scratch_file("rest").join("db.sqlite3")).unwrap());
    let name = lab.unique("rest");
    lab.ssh_alice_ok(&format!("mkdir -p ~/usine-it/{name}"));
    let entry =
        tracking::enqueue(&store, "lab-rest", &lab.cpu_job(&name, "echo via rest\n")).unwrap();
    let sent = tracking::send(&store, &rest, &entry.id).await.unwrap();
    // Sending the same job again (a crash before recording) finds the first one.
    let again = rest
        .submit(&entry.id, &entry.spec, &entry.script)
        .await
        .unwrap();
    assert_eq!(Some(again), sent.scheduler_id.clone());
    let state = wait_state(&store, &rest, &entry.id, JobState::is_finished).await;
    assert_eq!(state, JobState::Completed);
    let job_id = sent.scheduler_id.unwrap();
    let out = lab.ssh_alice_ok(&format!("cat ~/usine-it/{name}/{name}-{job_id}.out"));
    assert_eq!(out, "via rest\n");
    // What the app reads once /jobs has forgotten the job (after MinJobAge): slurmdbd's record,
    // written when the job ends (give it a moment).
    let deadline = Instant::now() + Duration::from_secs(30);
    let accounted = loop {
        let found = rest.accounted(&job_id).await;
        if found.iter().any(|r| r.state.is_finished()) || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let record = accounted.first().expect("slurmdbd knows the finished job");
    assert_eq!(
        (record.job_id.as_str(), &record.state, record.exit_code),
        (job_id.as_str(), &JobState::Completed, Some(0))
    );
    assert!(
        rest.accounted("999999999").await.is_empty(),
        "an unknown job is none"
    );

    let long = tracking::enqueue(&store, "lab-rest", &lab.cpu_job(&name, "sleep 300\n")).unwrap();
    let long = tracking::send(&store, &rest, &long.id).await.unwrap();
    wait_state(&store, &rest, &long.id, |s| *s == JobState::Running).await;
    rest.cancel(long.scheduler_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        wait_state(&store, &rest, &long.id, JobState::is_finished).await,
        JobState::Cancelled
    );
}

async fn a_wrong_token_is_said_plainly(lab: Lab) {
    let err = SlurmRest::connect(
        lab.var("USINE_LAB_REST_URL"),
        "alice",
        Zeroizing::new("not-a-token".into()),
        "/home/alice",
    )
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, JobError::Rejected(_)));
    assert!(err.to_string().contains("wrong or expired"), "{err}");
    assert!(!err.to_string().contains("not-a-token"));
}

/// A token that expires mid-session (`scontrol token` gives an hour) is renewed over the SSH
/// connection without a word; without that connection, the expiry is said plainly.
async fn an_expired_token_is_renewed_quietly_over_ssh(lab: Lab) {
    let short = || {
        let text = Zeroizing::new(lab.ssh_alice_ok("scontrol token lifespan=2"));
        Zeroizing::new(text.trim().strip_prefix("SLURM_JWT=").unwrap().to_owned())
    };
    let url = lab.var("USINE_LAB_REST_URL");
    let name = lab.unique("renewed");
    lab.ssh_alice_ok(&format!("mkdir -p ~/usine-it/{name}"));
    let job = lab.cpu_job(&name, "sleep 30\n");
    let script = usine_core::jobs::sbatch::render(&job).unwrap();
    let first = rest(&lab).await;
    let id = first
        .submit(&lab.unique("renewed"), &job, &script)
        .await
        .unwrap();

    let expiring = SlurmRest::connect(url, "alice", short(), "/home/alice")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let err = expiring
        .status(std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("wrong or expired"), "{err}");

    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    let renewing = SlurmRest::connect(url, "alice", short(), "/home/alice")
        .await
        .unwrap()
        .renewing_with(std::sync::Arc::new(conn));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let seen = renewing.status(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(seen.first().map(|r| r.job_id.as_str()), Some(id.as_str()));
    renewing.cancel(&id).await.unwrap();
}

/// A GPU job sent through slurmrestd that ends while the app is closed, and stays closed longer
/// than the cluster's `MinJobAge` (30 s on lab24): slurmctld forgets it, and the next start
/// reads its end, exit code and GPU-hours from slurmdbd instead of showing it frozen in its
/// last state.
#[tokio::test]
async fn a_job_that_ended_while_the_app_was_closed_shows_its_end_on_the_next_start() {
    let lab = Lab::cluster("lab24");
    let store = Mutex::new(Store::open(&scratch_file("rest-closed").join("db.sqlite3")).unwrap());
    let name = lab.unique("closed");
    lab.ssh_alice_ok(&format!("mkdir -p ~/usine-it/{name}"));
    let mut spec = lab.cpu_job(&name, "sleep 2\nexit 3\n");
    spec.partition = Some("gpu".into());
    spec.gpus_per_node = 1;
    spec.gpu_type = Some("a100".into());
    let entry = tracking::enqueue(&store, "lab-rest", &spec).unwrap();
    let sent = {
        let rest = rest(&lab).await;
        tracking::send(&store, &rest, &entry.id).await.unwrap()
        // The app closes here: nothing follows the job.
    };
    let job_id = sent.scheduler_id.unwrap();
    lab.wait_forgotten(&job_id);
    let shown = history::get(&store.lock().unwrap(), &entry.id).unwrap();
    assert!(
        !shown.state.is_finished(),
        "nothing followed the job: {shown:?}"
    );

    let rest = rest(&lab).await;
    let state = wait_state(&store, &rest, &entry.id, JobState::is_finished).await;
    assert_eq!(state, JobState::Failed);
    let record = history::get(&store.lock().unwrap(), &entry.id)
        .unwrap()
        .record
        .expect("slurmdbd's record");
    assert_eq!(
        (record.exit_code, record.gpus),
        (Some(3), Some(1)),
        "{record:?}"
    );
    let elapsed = record.elapsed_seconds.expect("how long it ran");
    assert!(elapsed >= 2, "{record:?}");
    assert_eq!(record.gpu_hours(), Some(elapsed as f64 / 3600.0));
}

/// A site whose slurmrestd serves slurmctld's endpoints only (lab24's second one): a job
/// slurmctld has forgotten is completed from `sacct` over the SSH connection.
#[tokio::test]
async fn without_slurmdbds_rest_a_forgotten_job_is_completed_over_ssh() {
    use usine_core::jobs::targets::AnyScheduler;
    let lab = Lab::cluster("lab24");
    let url = lab.var("USINE_LAB_REST_CTLD_ONLY_URL");
    let rest = SlurmRest::connect(url, "alice", token(&lab), "/home/alice")
        .await
        .unwrap();
    let name = lab.unique("ctld-only");
    lab.ssh_alice_ok(&format!("mkdir -p ~/usine-it/{name}"));
    let mut job = lab.cpu_job(&name, "exit 4\n");
    job.partition = Some("gpu".into());
    job.gpus_per_node = 1;
    let script = usine_core::jobs::sbatch::render(&job).unwrap();
    let id = rest.submit(&name, &job, &script).await.unwrap();
    lab.wait_forgotten(&id);
    assert!(
        rest.status(std::slice::from_ref(&id))
            .await
            .unwrap()
            .is_empty(),
        "this slurmrestd cannot know a forgotten job"
    );
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    let both = AnyScheduler::Rest(rest, SlurmOverSsh::new(std::sync::Arc::new(conn)));
    let seen = both.status(std::slice::from_ref(&id)).await.unwrap();
    let record = seen.first().expect("sacct knows it");
    assert_eq!(
        (&record.state, record.exit_code, record.gpus),
        (&JobState::Failed, Some(4), Some(1))
    );
}

/// `scontrol show job -o` as `Key=value` pairs (values without spaces suffice here).
fn shown(lab: &Lab, id: &str) -> std::collections::HashMap<String, String> {
    lab.ssh_alice_ok(&format!("scontrol show job -o {id}"))
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The same draft, with options Usine does not model, sent over SSH (sbatch reads the script)
/// and through slurmrestd (which does not read `#SBATCH` lines): Slurm holds the same job.
async fn options_usine_does_not_model_give_the_same_job_over_rest_as_over_ssh(lab: Lab) {
    let rest = rest(&lab).await;
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    let ssh = SlurmOverSsh::new(std::sync::Arc::new(conn));
    let name = lab.unique("rest-options");
    lab.ssh_alice_ok(&format!("mkdir -p ~/usine-it/{name}"));
    let mut job = lab.cpu_job(&name, "echo options\n");
    job.working_dir = format!("~/usine-it/{name}");
    job.notify.email = Some("alice@example.org".into());
    job.notify.on_start = false;
    job.extra_directives = [
        "--hold",
        "--nice=50",
        "--begin=now+1hour",
        "--no-requeue",
        "--output=custom-%j.log",
    ]
    .map(String::from)
    .to_vec();
    let script = usine_core::jobs::sbatch::render(&job).unwrap();
    let tag = lab.unique("opts");
    let over_ssh = ssh
        .submit(&format!("{tag}-ssh"), &job, &script)
        .await
        .unwrap();
    let over_rest = rest
        .submit(&format!("{tag}-rest"), &job, &script)
        .await
        .unwrap();
    let (a, b) = (shown(&lab, &over_ssh), shown(&lab, &over_rest));
    lab.ssh_alice_ok(&format!("scancel {over_ssh} {over_rest}"));
    for key in [
        "Nice",
        "Requeue",
        "MailUser",
        "MailType",
        "Partition",
        "Account",
        "TimeLimit",
    ] {
        assert_eq!(a.get(key), b.get(key), "{key}: {a:?} / {b:?}");
    }
    assert_eq!(a.get("Nice").map(String::as_str), Some("50"));
    assert_eq!(a.get("Requeue").map(String::as_str), Some("0"));
    assert_eq!(
        b["StdOut"],
        format!("/home/alice/usine-it/{name}/custom-{over_rest}.log")
    );
    assert_eq!(
        a["StdOut"],
        format!("/home/alice/usine-it/{name}/custom-{over_ssh}.log")
    );
    // Both wait for the same time, an hour from when each was sent.
    let eligible = |m: &std::collections::HashMap<String, String>| m["EligibleTime"].clone();
    assert_ne!(eligible(&a), "Unknown", "{a:?}");
    assert_eq!(eligible(&a)[..13], eligible(&b)[..13], "same hour");
}

/// An option the REST API cannot carry is refused with its name, instead of dropped.
async fn an_option_the_rest_service_cannot_carry_is_refused_by_name(lab: Lab) {
    let rest = rest(&lab).await;
    let mut job = lab.cpu_job("never-sent", "echo no\n");
    job.extra_directives = vec!["--export=NONE".into()];
    let script = usine_core::jobs::sbatch::render(&job).unwrap();
    let err = rest
        .submit(&lab.unique("refused"), &job, &script)
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains("--export=NONE"), "{err}");
}

usine_lab_tests::on_every_cluster!(
    submit_follow_and_cancel_through_slurmrestd,
    a_wrong_token_is_said_plainly,
    an_expired_token_is_renewed_quietly_over_ssh,
    options_usine_does_not_model_give_the_same_job_over_rest_as_over_ssh,
    an_option_the_rest_service_cannot_carry_is_refused_by_name,
);
