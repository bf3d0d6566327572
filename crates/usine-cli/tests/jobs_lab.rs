//! `usine draft`, `usine submit`, `usine jobs` and `usine job` against the lab, as a person
//! types them.

use std::time::{Duration, Instant};

use usine_lab_tests::Lab;
use usine_lab_tests::cli::{Sandbox, add_lab_cluster, text};

fn lab_with_alice(lab: &Lab) -> Sandbox {
    lab_with_alice_and(lab, &[])
}

fn lab_with_alice_and(lab: &Lab, extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new(lab, true, env!("CARGO_BIN_EXE_usine"));
    let mut login = vec!["--key", lab.var("USINE_LAB_KEY")];
    login.extend_from_slice(extra);
    let add = add_lab_cluster(&sb, "lab", "alice", &login);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let connect = sb.run(&["cluster", "connect", "lab"], "");
    assert!(connect.status.success(), "{}", text(&connect.stderr));
    sb
}

/// Cancels a lab job when dropped, so a failed test does not leave it holding the lab's GPUs.
struct CancelOnDrop<'a>(&'a Sandbox, String);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["job", "cancel", &self.1], "");
    }
}

fn new_draft(sb: &Sandbox, sets: &[&str]) -> String {
    let mut args = vec![
        "draft",
        "new",
        "--template",
        "cpu-preprocessing",
        "--target",
        "lab",
        "--json",
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out: serde_json::Value = serde_json::from_str(&sb.ok(&args)).unwrap();
    out["draft"]["id"].as_str().unwrap().to_owned()
}

fn template_to_draft_to_a_finished_job_with_its_output(lab: Lab) {
    let sb = lab_with_alice(&lab);
    let name = lab.unique("cli-job");
    let draft = new_draft(
        &sb,
        &[
            &format!("name={name}"),
            "partition=cpu",
            "account=ai-startup",
            "timeLimitMinutes=5",
            &format!("workingDir=~/usine-it/{name}"),
            "commands=echo hello from $SLURM_JOB_NAME\n",
        ],
    );
    let check = sb.ok(&["draft", "check", &draft]);
    assert!(check.contains("Checks: all good."), "{check}");
    let script = sb.ok(&["draft", "export", &draft]);
    assert!(
        script.contains(&format!("#SBATCH --job-name={name}")),
        "{script}"
    );

    let submitted = sb.ok(&["submit", &draft, "--json"]);
    let job: serde_json::Value = serde_json::from_str(&submitted).unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let logs = sb.ok(&["job", "logs", &id, "--follow"]);
    assert!(logs.contains(&format!("hello from {name}")), "{logs}");
    assert!(logs.trim_end().ends_with("--- completed ---"), "{logs}");
    let list = sb.ok(&["jobs"]);
    assert!(
        list.lines()
            .any(|l| l.contains(&name) && l.ends_with("completed")),
        "{list}"
    );
}

#[test]
fn a_job_the_project_cannot_pay_for_is_stopped_before_it_is_sent() {
    let lab = Lab::get();
    let sb = lab_with_alice(&lab);
    let draft = new_draft(
        &sb,
        &[
            "partition=gpu",
            &format!("account={}", lab.var("USINE_LAB_SPENT_ACCOUNT")),
            "gpusPerNode=4",
            "timeLimitMinutes=600",
        ],
    );
    let out = sb.run(&["submit", &draft], "");
    assert!(!out.status.success());
    let said = text(&out.stdout);
    assert!(
        said.contains("may use up to 40.0 GPU-hours, but your project has 1.0 left"),
        "{said}"
    );
    assert!(
        said.contains("shorten the time limit to 00:15:00"),
        "{said}"
    );
    assert!(sb.ok(&["jobs"]).contains("No jobs yet"));
}

#[test]
fn a_job_queued_offline_is_sent_once_by_the_next_refresh() {
    let lab = Lab::get();
    let sb = lab_with_alice(&lab);
    let name = format!("cli-queued-{}", std::process::id());
    let draft = new_draft(
        &sb,
        &[
            &format!("name={name}"),
            "partition=cpu",
            "account=ai-startup",
            "timeLimitMinutes=5",
            "commands=echo queued\n",
        ],
    );
    let queued = sb.ok(&["submit", &draft, "--queue"]);
    assert!(queued.contains("Queued"), "{queued}");
    assert!(sb.ok(&["jobs"]).contains("not sent yet"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = sb.ok(&["jobs", "--refresh"]);
        if list
            .lines()
            .any(|l| l.contains(&name) && l.ends_with("completed"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "{list}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(lab.jobs_named(&name), 1);
}

/// The cluster refuses a job the checks could not judge (an option of the user's own): it
/// leaves the outbox at once as refused, the draft says why, and once corrected and sent again
/// only the corrected job runs; no later refresh sends the refused one.
#[test]
fn a_refused_job_leaves_the_outbox_and_the_draft_says_why() {
    let lab = Lab::get();
    let sb = lab_with_alice(&lab);
    let name = format!("cli-refused-{}", std::process::id());
    let draft = new_draft(
        &sb,
        &[
            &format!("name={name}"),
            "partition=cpu",
            "account=ai-startup",
            "timeLimitMinutes=5",
            r#"extraDirectives=["--constraint=no-such-feature"]"#,
            "commands=echo corrected\n",
        ],
    );
    let out = sb.run(&["submit", &draft], "");
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("refused"), "{said}");
    let list = sb.ok(&["jobs"]);
    assert!(list.contains("refused by the cluster"), "{list}");
    assert!(!list.contains("not sent yet"), "{list}");
    let check = sb.ok(&["draft", "check", &draft]);
    assert!(
        check.contains("Last sent: refused by the cluster"),
        "{check}"
    );

    sb.ok(&["draft", "edit", &draft, "--set", "extraDirectives=[]"]);
    let job: serde_json::Value =
        serde_json::from_str(&sb.ok(&["submit", &draft, "--json"])).unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let logs = sb.ok(&["job", "logs", &id, "--follow"]);
    assert!(logs.contains("corrected"), "{logs}");
    sb.ok(&["jobs", "--refresh"]);
    sb.ok(&["jobs", "--refresh"]);
    assert_eq!(lab.jobs_named(&name), 1);
    let check = sb.ok(&["draft", "check", &draft]);
    assert!(!check.contains("refused"), "{check}");
}

/// Two `usine jobs --refresh` at the same moment (two terminals, or the app's tracker and a
/// terminal) over one outbox: each queued job reaches Slurm once, counted by Slurm itself.
#[test]
fn two_refreshes_at_once_send_each_queued_job_exactly_once() {
    let lab = Lab::get();
    let sb = lab_with_alice(&lab);
    let name = format!("cli-race-{}", std::process::id());
    let draft = new_draft(
        &sb,
        &[
            &format!("name={name}"),
            "partition=cpu",
            "account=ai-startup",
            "timeLimitMinutes=5",
            // Held: twenty jobs must not wait for the lab's nodes, only be counted.
            r#"extraDirectives=["--hold"]"#,
            "commands=echo once\n",
        ],
    );
    let rounds = 20;
    for round in 0..rounds {
        sb.ok(&["submit", &draft, "--queue"]);
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| sb.run(&["jobs", "--refresh"], ""));
            let b = s.spawn(|| sb.run(&["jobs", "--refresh"], ""));
            (a.join().unwrap(), b.join().unwrap())
        });
        for out in [&a, &b] {
            assert!(
                out.status.success(),
                "round {round}: {}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
    }
    let ids = lab.job_ids_named(&name);
    lab.ssh_alice_ok(&format!("scancel --name={name}"));
    assert_eq!(ids.len(), rounds, "one job per queued submission: {ids:?}");
    // Every row of the outbox was sent (none left behind by the loser of a race).
    let list = sb.ok(&["jobs", "--refresh"]);
    assert!(!list.contains("not sent yet"), "{list}");
}

fn through_the_sites_slurmrestd_with_a_token_fetched_over_ssh(lab: Lab) {
    let sb = lab_with_alice_and(&lab, &["--rest", lab.var("USINE_LAB_REST_URL")]);
    let name = lab.unique("cli-rest");
    lab.ssh_alice_ok(&format!("mkdir -p ~/usine-it/{name}"));
    let draft = new_draft(
        &sb,
        &[
            &format!("name={name}"),
            "partition=cpu",
            "account=ai-startup",
            "timeLimitMinutes=5",
            &format!("workingDir=~/usine-it/{name}"),
            "commands=echo via the REST service\n",
        ],
    );
    let job: serde_json::Value =
        serde_json::from_str(&sb.ok(&["submit", &draft, "--json"])).unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let logs = sb.ok(&["job", "logs", &id, "--follow"]);
    assert!(logs.contains("via the REST service"), "{logs}");
    // slurmrestd, not sbatch over SSH, took it: the SSH path leaves its proof file behind.
    assert!(
        !lab.ssh_alice(&format!("test -e ~/.usine/jobs/{id}"))
            .status
            .success()
    );
    assert_eq!(lab.jobs_named(&name), 1);
}

fn watch_a_gpu_job_then_export_its_samples_as_csv_and_png(lab: Lab) {
    let sb = lab_with_alice(&lab);
    let name = lab.unique("cli-gpu");
    let draft = new_draft(
        &sb,
        &[
            &format!("name={name}"),
            "partition=gpu",
            "account=ai-startup",
            "gpusPerNode=1",
            "gpuType=h100",
            "timeLimitMinutes=5",
            "recordGpuMetrics=true",
            &format!(
                "environment.variables=[{{\"name\":\"PATH\",\"value\":\"/opt/usine-lab/bin:{}:/usr/local/bin:/usr/bin:/bin\"}}]",
                lab.var("USINE_LAB_SLURM_BIN")
            ),
            "commands=sleep 60\n",
        ],
    );
    let job: serde_json::Value =
        serde_json::from_str(&sb.ok(&["submit", &draft, "--json"])).unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let _cancel = CancelOnDrop(&sb, id.clone());
    let deadline = Instant::now() + Duration::from_secs(45);
    let table = loop {
        let out = sb.ok(&["watch", &id, "--once"]);
        if out.contains("1 GPU(s),") {
            break out;
        }
        assert!(Instant::now() < deadline, "no GPU samples: {out}");
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().skip(1).take(2).eq(["GPU", "0"])),
        "{table}"
    );

    let dir = usine_lab_tests::ssh::scratch_file("metrics");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("gpu.csv");
    sb.ok(&["metrics", "export", &id, "--csv", csv.to_str().unwrap()]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("time_ms,node,device,utilization_percent,"),
        "{text}"
    );
    assert!(text.lines().count() >= 2, "{text}");
    let png = dir.join("gpu.png");
    sb.ok(&["metrics", "export", &id, "--png", png.to_str().unwrap()]);
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    sb.ok(&["job", "cancel", &id]);
}

usine_lab_tests::on_every_cluster!(
    sync: template_to_draft_to_a_finished_job_with_its_output,
    through_the_sites_slurmrestd_with_a_token_fetched_over_ssh,
    watch_a_gpu_job_then_export_its_samples_as_csv_and_png,
);
