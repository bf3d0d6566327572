//! The foundation's proof that the lab is usable from Rust: log in over SSH, submit a batch job,
//! and see Slurm's accounting record it as finished.

use std::time::Duration;

use usine_lab_tests::{Lab, wait_for};

async fn a_job_submitted_over_ssh_completes_and_shows_in_sacct(lab: Lab) {
    assert_eq!(lab.ssh_alice_ok("id -un").trim(), "alice");

    let marker = lab.unique("plain-sbatch");
    let job_id: u64 = lab
        .ssh_alice_ok(&format!(
            "sbatch --parsable -J {marker} -p cpu -t 2 -o /tmp/{marker}-%j.out --wrap 'echo {marker}; hostname'"
        ))
        .trim()
        .parse()
        .expect("sbatch --parsable prints the job id");

    // A job that starts and ends within a second can first reach slurmdbd under the name
    // "allocation"; the record is complete once its real name arrives.
    let record = wait_for(
        "the job to finish in sacct",
        Duration::from_secs(60),
        || {
            let out = lab.ssh_alice_ok(&format!(
                "sacct -n -X -P -j {job_id} --format=JobName,State,ExitCode"
            ));
            let line = out.lines().next()?.to_owned();
            let finished = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"]
                .iter()
                .any(|s| line.contains(s));
            (finished && line.starts_with(&marker)).then_some(line)
        },
    );
    assert_eq!(record, format!("{marker}|COMPLETED|0:0"));

    let output = lab.ssh_alice_ok(&format!("cat /tmp/{marker}-{job_id}.out"));
    assert_eq!(output.lines().next(), Some(marker.as_str()));
}

async fn sacct_json_records_the_gpus_a_job_had(lab: Lab) {
    let job_id = lab
        .ssh_alice_ok("sbatch --parsable -J usine-it-gpu -p gpu --gres=gpu:h100:1 -t 2 --wrap true")
        .trim()
        .to_owned();
    let job = wait_for(
        "sacct --json to show the GPU job finished",
        Duration::from_secs(60),
        || {
            let out = lab.ssh_alice_ok(&format!("sacct --json -j {job_id}"));
            let doc: serde_json::Value = serde_json::from_str(&out).ok()?;
            let job = doc["jobs"].get(0)?.clone();
            // 22.05 says "COMPLETED"; 23.02 and later say ["COMPLETED"].
            let state = &job["state"]["current"];
            let completed = state == "COMPLETED" || state.get(0).is_some_and(|s| s == "COMPLETED");
            completed.then_some(job)
        },
    );
    let gpus = job["tres"]["allocated"]
        .as_array()
        .expect("tres.allocated is a list")
        .iter()
        .find(|t| t["type"] == "gres" && t["name"] == "gpu")
        .map(|t| t["count"].as_u64());
    assert_eq!(gpus, Some(Some(1)));
    assert_eq!(job["account"], lab.var("USINE_LAB_ACCOUNT"));
}

usine_lab_tests::on_every_cluster!(
    a_job_submitted_over_ssh_completes_and_shows_in_sacct,
    sacct_json_records_the_gpus_a_job_had,
);
