//! The cluster's files from this computer, against the tools a user would otherwise use, on the
//! lab's sshd, on plain loopback and through a relay that adds 20 ms of round-trip time:
//! - listing a folder of 100,000 entries: Usine's first page (200 entries, sorted), on the
//!   connection the app already holds and with a fresh login, against `ssh host ls -la`;
//! - downloads of one large file and of 10,000 small files: Usine (verified against the
//!   cluster's SHA-256 of every file) against scp (-r) and rsync.
//!
//! Same cipher (aes256-gcm), data in RAM on both ends, medians of `USINE_BENCH_ROUNDS` (3).
//! Run: `cargo bench -p usine-lab-tests --bench files` (the lab must be up, as root: the data is
//! made in alice's /dev/shm directly). `USINE_BENCH_QUICK=1`: 256 MiB, 2,000 small files, 20,000
//! entries. `USINE_BENCH_NET=loopback,rtt` picks networks, `USINE_BENCH_ONLY=list,big,small` what is timed, `USINE_BENCH_NO_SCP=1` leaves scp out. Through the relay, scp -r pays round
//! trips per file: it is timed on 1,000 files and scaled (said in the table).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::cluster::Connections;
use usine_core::cluster_files::{self as files, Listings, OnCluster, View};
use usine_core::ssh::{Connection, Endpoint, Hop};
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::bench::{median, run, ssh_opts, write_data};
use usine_lab_tests::proxy::{DelayProxy, alice_cluster};
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

const REMOTE: &str = "/dev/shm/usine-bench-files";
const LOCAL: &str = "/dev/shm/usine-bench-files-here";
const SAMPLE: usize = 1000;

fn chown_alice(path: &str) {
    let ok = Command::new("chown")
        .args(["-R", "alice:", path])
        .status()
        .unwrap();
    assert!(ok.success());
}

async fn connect(lab: &Lab, port: u16) -> Connection {
    let hop = Hop {
        endpoint: Endpoint {
            port,
            ..lab.endpoint("alice")
        },
        credentials: lab.key_hop().credentials,
    };
    let (questions, _) = answering(Answers::default());
    Connection::open(&spec(hop), lab.host_keys_for_port(port), questions)
        .await
        .unwrap()
}

/// Files and bytes under `path` here.
fn measure(path: &Path) -> (usize, u64) {
    let mut out = (0, 0);
    for e in std::fs::read_dir(path).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        if m.is_dir() {
            let (f, b) = measure(&e.path());
            out = (out.0 + f, out.1 + b);
        } else {
            out = (out.0 + 1, out.1 + m.len());
        }
    }
    out
}

fn fresh_local(tool: &str) -> PathBuf {
    let p = PathBuf::from(LOCAL).join(tool);
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

async fn listing(lab: &Lab, port: u16, network: &str, rounds: usize, entries: usize) {
    let dir = format!("{REMOTE}/many");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..entries {
        std::fs::write(format!("{dir}/run-{i:06}.log"), b"x").unwrap();
    }
    chown_alice(REMOTE);
    let settings = alice_cluster(lab, "bench", port);
    let store = Store::open(&scratch_file("bench-files").join("db")).unwrap();
    usine_core::cluster::add(&store, &settings).unwrap();
    let store = Mutex::new(store);
    let (mut warm, mut cold, mut ls) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // With a fresh login, as `ssh host ls` pays one.
        let connections = Connections::new(lab.host_keys_for_port(port));
        let on = OnCluster {
            store: &store,
            connections: &connections,
            cluster: "bench",
            questions: answering(Answers::default()).0,
        };
        let start = Instant::now();
        let page = files::browse(&on, &Listings::default(), &dir, &View::default(), true)
            .await
            .unwrap();
        cold.push(start.elapsed());
        assert_eq!((page.total, page.entries.len()), (entries, 200));
        // On the connection the app already holds (what the browser does).
        let start = Instant::now();
        files::browse(&on, &Listings::default(), &dir, &View::default(), true)
            .await
            .unwrap();
        warm.push(start.elapsed());
        let mut cmd = Command::new("ssh");
        cmd.args(ssh_opts(lab, port))
            .arg("alice@127.0.0.1")
            .arg(format!("ls -la {dir}"));
        ls.push(run(&mut cmd));
    }
    let (warm, cold, ls) = (median(warm), median(cold), median(ls));
    let row = |tool: &str, t: Duration, ratio: String| {
        println!(
            "| {network} | {entries} entries | {tool} | {:.3} | {ratio} |",
            t.as_secs_f64()
        );
    };
    row(
        "**Usine**, first page, connection held",
        warm,
        String::new(),
    );
    row("**Usine**, first page, with login", cold, String::new());
    let ratio = |u: Duration| ls.as_secs_f64() / u.as_secs_f64();
    row(
        "ssh host ls -la",
        ls,
        format!("{:.2}× ({:.2}× with login)", ratio(warm), ratio(cold)),
    );
}

struct Remote {
    name: String,
    path: String,
    files: usize,
    bytes: u64,
    sample: Option<String>,
}

/// What is timed: `USINE_BENCH_ONLY`, everything by default.
fn only() -> String {
    std::env::var("USINE_BENCH_ONLY").unwrap_or_else(|_| "list,big,small".into())
}

fn remote_sets(quick: bool) -> Vec<Remote> {
    let only = only();
    let mut sets = Vec::new();
    if only.contains("big") {
        let len = if quick { 256usize << 20 } else { 1 << 30 };
        std::fs::create_dir_all(format!("{REMOTE}/big")).unwrap();
        write_data(Path::new(&format!("{REMOTE}/big/model.bin")), len, 1);
        sets.push(Remote {
            name: format!("1 file of {} MiB", len >> 20),
            path: format!("{REMOTE}/big/model.bin"),
            files: 1,
            bytes: len as u64,
            sample: None,
        });
    }
    if only.contains("small") {
        let n = if quick { 2000 } else { 10_000 };
        for (dir, count) in [
            (format!("{REMOTE}/small"), n),
            (format!("{REMOTE}/sample"), SAMPLE),
        ] {
            for i in 0..count {
                let sub = format!("{dir}/{:02}", i % 100);
                std::fs::create_dir_all(&sub).unwrap();
                write_data(Path::new(&format!("{sub}/{i:05}.txt")), 4096, i as u32);
            }
        }
        sets.push(Remote {
            name: format!("{n} files of 4 KiB"),
            path: format!("{REMOTE}/small"),
            files: n,
            bytes: n as u64 * 4096,
            sample: Some(format!("{REMOTE}/sample")),
        });
    }
    chown_alice(REMOTE);
    sets
}

async fn downloads(lab: &Lab, port: u16, network: &str, rtt: bool, rounds: usize, sets: &[Remote]) {
    // scp -r through the relay takes minutes: left out while trying things.
    let no_scp = std::env::var_os("USINE_BENCH_NO_SCP").is_some();
    for d in sets {
        let mb = |t: Duration| d.bytes as f64 / 1e6 / t.as_secs_f64();
        let (mut usine, mut scp, mut rsync) = (Vec::new(), Vec::new(), Vec::new());
        let sampled = d.sample.as_ref().filter(|_| rtt);
        let scale = if sampled.is_some() {
            d.files as f64 / SAMPLE as f64
        } else {
            1.0
        };
        for _ in 0..rounds {
            let into = fresh_local("usine");
            // The download is recorded file by file, as the app and the CLI record it.
            let db = fresh_local("usine-store").join("usine.sqlite3");
            let store = std::sync::Mutex::new(usine_core::store::Store::open(&db).unwrap());
            let start = Instant::now();
            let conn = connect(lab, port).await;
            let id = usine_core::download::begin(&store, "lab", &d.path, &into).unwrap();
            let report = usine_core::download::download(&conn, &store, &id, |_| {})
                .await
                .unwrap();
            usine.push(start.elapsed());
            assert_eq!(
                (report.verified, report.files),
                (d.files, d.files),
                "{:?}",
                report.problems
            );
            conn.close().await;
            assert_eq!(measure(&into), (d.files, d.bytes));

            if no_scp {
                scp.push(Duration::ZERO);
            } else {
                let from = sampled.unwrap_or(&d.path);
                let into = fresh_local("scp");
                let mut cmd = Command::new("scp");
                cmd.arg("-q").args(ssh_opts(lab, port));
                if d.files > 1 {
                    cmd.arg("-r");
                }
                let t = run(cmd.arg(format!("alice@127.0.0.1:{from}")).arg(&into));
                scp.push(t.mul_f64(scale));
            }

            let into = fresh_local("rsync");
            let mut cmd = Command::new("rsync");
            cmd.arg("-a")
                .arg("-e")
                .arg(format!("ssh {}", ssh_opts(lab, port).join(" ")))
                .arg(format!("alice@127.0.0.1:{}", d.path))
                .arg(&into);
            rsync.push(run(&mut cmd));
            assert_eq!(measure(&into), (d.files, d.bytes));
        }
        let (usine, scp, rsync) = (median(usine), median(scp), median(rsync));
        let note = match sampled {
            Some(_) => format!(" (timed on {SAMPLE} files, ×{})", d.files / SAMPLE),
            None => String::new(),
        };
        println!(
            "| {network} | {} | **Usine** (verified) | {:.2} | {:.0} | |",
            d.name,
            usine.as_secs_f64(),
            mb(usine)
        );
        for (tool, t) in [
            (
                format!("scp{}{note}", if d.files > 1 { " -r" } else { "" }),
                scp,
            ),
            ("rsync -e ssh".to_owned(), rsync),
        ]
        .into_iter()
        .filter(|(_, t)| !t.is_zero())
        {
            println!(
                "| {network} | {} | {tool} | {:.2} | {:.0} | {:.2}× |",
                d.name,
                t.as_secs_f64(),
                mb(t),
                t.as_secs_f64() / usine.as_secs_f64()
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let lab = Lab::get();
    let quick = std::env::var_os("USINE_BENCH_QUICK").is_some();
    let rounds: usize = std::env::var("USINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let nets = std::env::var("USINE_BENCH_NET").unwrap_or_else(|_| "loopback,rtt".into());
    let login: u16 = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    let proxy = DelayProxy::start(login, Duration::from_millis(10)).await;
    let _ = std::fs::remove_dir_all(REMOTE);
    let _ = std::fs::remove_dir_all(LOCAL);
    let networks = [
        ("loopback", "loopback", login, false),
        ("rtt", "+20 ms RTT", proxy.port(), true),
    ];
    let networks: Vec<_> = networks
        .into_iter()
        .filter(|(n, ..)| nets.split(',').any(|x| x == *n))
        .collect();

    let entries = if quick { 20_000 } else { 100_000 };
    println!(
        "Listing a folder of the lab's sshd (OpenSSH 9.2), aes256-gcm; seconds, medians of {rounds}.\n"
    );
    println!("| network | folder | tool | seconds | ssh ls slower by |");
    println!("|---|---|---|---:|---:|");
    for (_, network, port, _) in networks.iter().filter(|_| only().contains("list")) {
        listing(&lab, *port, network, rounds, entries).await;
    }

    let sets = remote_sets(quick);
    println!(
        "\nDownload from the lab's sshd, data in RAM at both ends; Usine's time includes logging in"
    );
    println!(
        "and checking every file against the cluster's SHA-256, which the other tools do not do.\n"
    );
    println!("| network | data | tool | seconds | MB/s | Usine faster by |");
    println!("|---|---|---|---:|---:|---:|");
    for (_, network, port, rtt) in &networks {
        downloads(&lab, *port, network, *rtt, rounds, &sets).await;
    }
    let _ = std::fs::remove_dir_all(REMOTE);
    let _ = std::fs::remove_dir_all(LOCAL);
}
