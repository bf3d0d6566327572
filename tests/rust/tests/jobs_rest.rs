//! Jobs through the lab's slurmrestd (v0.0.38, JWT): submit and follow to the end, cancel,
//! a repeated submission, and a wrong token.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::jobs::scheduler::{JobError, Scheduler};
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::slurm_rest::SlurmRest;
use usine_core::jobs::{history, tracking};
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::scratch_file;
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
