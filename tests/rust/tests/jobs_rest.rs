//! Jobs through the lab's slurmrestd (v0.0.38, JWT): submit and follow to the end, cancel,
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

/// A short-lived token for alice, as `scontrol token` gives one (root may ask for anyone).
fn token() -> Zeroizing<String> {
    let out = std::process::Command::new("scontrol")
        .args(["token", "username=alice", "lifespan=600"])
        .output()
        .expect("scontrol runs");
    let text = String::from_utf8(out.stdout).unwrap();
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
        token(),
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

#[tokio::test]
async fn submit_follow_and_cancel_through_slurmrestd() {
    let lab = Lab::get();
    let rest = rest(&lab).await;
    assert_eq!(rest.version(), "v0.0.38");
    let store = Mutex::new(Store::open(&scratch_file("rest").join("db.sqlite3")).unwrap());
    let name = format!("it-rest-{}", std::process::id());
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

#[tokio::test]
async fn a_wrong_token_is_said_plainly() {
    let lab = Lab::get();
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
#[tokio::test]
async fn options_usine_does_not_model_give_the_same_job_over_rest_as_over_ssh() {
    let lab = Lab::get();
    let rest = rest(&lab).await;
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    let ssh = SlurmOverSsh::new(std::sync::Arc::new(conn));
    let name = format!("it-rest-options-{}", std::process::id());
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
    let tag = format!("opts-{}", std::process::id());
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
#[tokio::test]
async fn an_option_the_rest_service_cannot_carry_is_refused_by_name() {
    let lab = Lab::get();
    let rest = rest(&lab).await;
    let mut job = lab.cpu_job("never-sent", "echo no\n");
    job.extra_directives = vec!["--export=NONE".into()];
    let script = usine_core::jobs::sbatch::render(&job).unwrap();
    let err = rest
        .submit(&format!("refused-{}", std::process::id()), &job, &script)
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains("--export=NONE"), "{err}");
}
