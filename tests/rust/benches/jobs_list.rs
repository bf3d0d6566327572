//! Listing a big queue: Usine (one command on the shared connection, parse, store in SQLite)
//! against what a user does, `ssh cluster squeue` in a terminal, on the same 10,000 jobs.
//! Run: `cargo bench -p usine-lab-tests --bench jobs_list` (the lab must be up; it submits ten
//! held arrays of 1,000 tasks as alice and cancels them at the end).

use std::process::Command;
use std::time::{Duration, Instant};

use usine_core::jobs::history;
use usine_core::jobs::slurm::{SQUEUE_FORMAT, parse_squeue};
use usine_core::jobs::slurm_ssh::SlurmOverSsh;
use usine_core::ssh::{Connection, quote};
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

const ROUNDS: usize = 5;
const JOBS: usize = 10_000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let lab = Lab::get();
    let name = format!("bench-list-{}", std::process::id());
    for _ in 0..JOBS / 1000 {
        lab.ssh_alice_ok(&format!(
            "sbatch --parsable --hold -J {name} -p cpu -t 1 --array=0-999 -o /dev/null --wrap true"
        ));
    }
    let count = |text: &str| text.lines().filter(|l| l.contains(&name)).count();

    // The user's way: a fresh ssh and squeue, printing every job.
    let mut plain = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let out = Command::new("ssh")
            .args([
                "-F",
                lab.var("USINE_LAB_SSH_CONFIG"),
                "-o",
                "BatchMode=yes",
                "lab-alice",
            ])
            .arg(format!("squeue --me -r -o {}", quote(SQUEUE_FORMAT)))
            .output()
            .unwrap();
        plain.push(start.elapsed());
        assert_eq!(count(&String::from_utf8_lossy(&out.stdout)), JOBS);
    }

    let (questions, _) = answering(Answers::default());
    let conn = std::sync::Arc::new(
        Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
            .await
            .unwrap(),
    );
    let slurm = SlurmOverSsh::new(conn.clone());
    let mut store = Store::open(&scratch_file("bench").join("db.sqlite3")).unwrap();
    let (mut fetch, mut parse, mut save, mut total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let records = slurm.queue().await.unwrap();
        let fetched = start.elapsed();
        history::save_queue(&mut store, "lab", &records).unwrap();
        total.push(start.elapsed());
        save.push(start.elapsed() - fetched);
        assert_eq!(records.iter().filter(|r| r.name == name).count(), JOBS);
        // The parse alone, on the same text.
        let text = conn
            .exec(&format!("squeue --me -h -r -o {}", quote(SQUEUE_FORMAT)))
            .await
            .unwrap()
            .stdout_text();
        let p = Instant::now();
        let parsed = parse_squeue(&text);
        parse.push(p.elapsed());
        assert_eq!(parsed.len(), records.len());
        fetch.push(fetched);
    }
    assert_eq!(
        history::queue_snapshot(&store, "lab")
            .unwrap()
            .iter()
            .filter(|r| r.name == name)
            .count(),
        JOBS
    );
    lab.ssh_alice_ok(&format!("scancel -n {name}"));

    let (plain, total) = (median(plain), median(total));
    println!("Listing {JOBS} jobs on the lab, medians of {ROUNDS} rounds");
    println!(
        "  ssh + squeue (a terminal user)           {:8.1} ms",
        ms(plain)
    );
    println!(
        "  Usine: squeue on the shared connection + parse {:8.1} ms (parse alone {:.1} ms)",
        ms(median(fetch)),
        ms(median(parse))
    );
    println!(
        "  Usine: store all in SQLite (one commit)  {:8.1} ms",
        ms(median(save))
    );
    println!(
        "  Usine total (fetch + parse + store)      {:8.1} ms",
        ms(total)
    );
    println!(
        "  ratio ssh+squeue / Usine                 {:8.2}x",
        plain.as_secs_f64() / total.as_secs_f64()
    );
}
