//! GPU-hours as Usine shows them, for the ways people ask for GPUs: `--gpus N` (per job, not per
//! node) and GPUs of two types in one job. Each job is followed to its end over SSH, and what
//! Usine shows is compared with what Slurm's accounting charged (`sacct`'s `AllocTRES`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::jobs::slurm::{JobRecord, JobState};
use usine_core::jobs::spec::JobSpec;
use usine_core::jobs::{history, tracking};
use usine_core::store::Store;
use usine_lab_tests::ssh::scratch_file;
use usine_lab_tests::{Lab, wait_for};

/// A short GPU job asking for its GPUs with `directives` (the spec's own GPU count left at 0,
/// as in an imported script).
fn gpu_job(lab: &Lab, tag: &str, directives: &[&str]) -> JobSpec {
    let mut spec = lab.cpu_job(&lab.unique(tag), "sleep 3\n");
    spec.partition = Some("gpu".into());
    spec.extra_directives = directives.iter().map(|d| (*d).to_owned()).collect();
    spec
}

/// Follows the job to its end; returns what Usine saw while it ran and at its end.
async fn follow(lab: &Lab, spec: &JobSpec) -> (Vec<JobRecord>, JobRecord, String) {
    let slurm = lab.slurm_as_alice().await;
    let store = Mutex::new(Store::open(&scratch_file("gpu-hours").join("db.sqlite3")).unwrap());
    let entry = tracking::enqueue(&store, "lab", spec).unwrap();
    let sent = tracking::send(&store, &slurm, &entry.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut running = Vec::new();
    loop {
        tracking::refresh(&store, "lab", &slurm).await.unwrap();
        let job = history::get(&store.lock().unwrap(), &entry.id).unwrap();
        if let Some(record) = job.record {
            if job.state == JobState::Running {
                running.push(record);
            } else if job.state.is_finished() {
                assert_eq!(job.state, JobState::Completed, "{record:?}");
                return (running, record, sent.scheduler_id.unwrap());
            }
        }
        assert!(Instant::now() < deadline, "still {:?}", job.state);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The GPUs and seconds Slurm's accounting charged the job.
fn charged(lab: &Lab, job_id: &str) -> (u32, u64) {
    wait_for("the job's accounting", Duration::from_secs(30), || {
        let out = lab.ssh_alice_ok(&format!(
            "sacct -X -n -P -j {job_id} --format=AllocTRES,ElapsedRaw,State"
        ));
        let line = out.lines().next()?;
        let mut fields = line.split('|');
        let (tres, elapsed, state) = (fields.next()?, fields.next()?, fields.next()?);
        let gpus = tres
            .split(',')
            .find_map(|t| t.strip_prefix("gres/gpu="))?
            .parse()
            .ok()?;
        (state == "COMPLETED").then_some((gpus, elapsed.parse().ok()?))
    })
}

async fn check(lab: &Lab, spec: &JobSpec, gpus: u32) {
    let (running, done, job_id) = follow(lab, spec).await;
    for seen in &running {
        assert_eq!(seen.gpus, Some(gpus), "while it ran: {seen:?}");
    }
    let (charged_gpus, charged_seconds) = charged(lab, &job_id);
    assert_eq!(charged_gpus, gpus, "the lab's own accounting");
    assert_eq!(done.gpus, Some(gpus), "{done:?}");
    assert_eq!(done.elapsed_seconds, Some(charged_seconds), "{done:?}");
    assert_eq!(
        done.gpu_hours(),
        Some(f64::from(gpus) * charged_seconds as f64 / 3600.0)
    );
}

async fn gpus_asked_per_job_count_in_gpu_hours(lab: Lab) {
    check(&lab, &gpu_job(&lab, "gpus-per-job", &["--gpus=2"]), 2).await;
}

/// Two H100 and one A100 in one job: the three count, not the first type's two.
#[tokio::test]
async fn gpus_of_two_types_in_one_job_all_count_in_gpu_hours() {
    let lab = Lab::cluster("lab24");
    let spec = gpu_job(&lab, "two-types", &["--gres=gpu:h100:2,gpu:a100:1"]);
    check(&lab, &spec, 3).await;
}

usine_lab_tests::on_every_cluster!(gpus_asked_per_job_count_in_gpu_hours);
