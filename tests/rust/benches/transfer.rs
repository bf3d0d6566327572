//! Upload speed of Usine against the tools a user would otherwise use (scp, scp -r, sftp, rsync),
//! on the lab's sshd, on plain loopback and through a relay that adds 20 ms of round-trip time.
//! Same data, same cipher (aes256-gcm), fresh connection for every run, data in RAM on both ends.
//!
//! Run: `cargo bench -p usine-lab-tests --bench transfer` (the lab must be up).
//! `USINE_BENCH_QUICK=1` uses smaller data (256 MiB, 2,000 files, 100 MB mixed);
//! `USINE_BENCH_ONLY=big,small,mixed` and `USINE_BENCH_NET=loopback,rtt` pick rows.
//! With latency, scp -r and sftp need about three round trips per file: on more than 1,000
//! small files they are timed on 1,000 of them and the time scaled up (said in the table), as
//! 10,000 would take each of them a quarter of an hour.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use usine_core::ssh::{Connection, Endpoint, Hop};
use usine_core::store::Store;
use usine_core::transfer;
use usine_lab_tests::Lab;
use usine_lab_tests::bench::{median, run, ssh_opts, write_data};
use usine_lab_tests::proxy::DelayProxy;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

const LOCAL: &str = "/dev/shm/usine-bench-local";
const REMOTE: &str = "/dev/shm/usine-bench-remote";

struct Dataset {
    name: String,
    path: PathBuf,
    bytes: u64,
    files: usize,
    /// For tools that pay round trips per file: the first [`SAMPLE`] small files alone.
    sample: Option<Box<Dataset>>,
}

/// Small files scp -r and sftp are timed on through the 20 ms relay.
const SAMPLE: usize = 1000;

/// The three data sets: one big file, `small_files` files of 4 KiB, and a mixed folder of
/// 24 MiB shards plus `mixed_small` small files.
fn datasets(quick: bool, small_files: usize, mixed_small: u32, tag: &str) -> Vec<Dataset> {
    let only = std::env::var("USINE_BENCH_ONLY").unwrap_or_else(|_| "big,small,mixed".into());
    let root = PathBuf::from(LOCAL).join(tag);
    let big_len = if quick { 256usize << 20 } else { 1 << 30 };
    std::fs::create_dir_all(root.join("big")).unwrap();
    write_data(&root.join("big/model.bin"), big_len, 1);

    let small = root.join(format!("small-{small_files}"));
    let sample = root.join(format!("small-{SAMPLE}"));
    for (dir, n) in [(&small, small_files), (&sample, SAMPLE.min(small_files))] {
        std::fs::create_dir_all(dir).unwrap();
        for i in 0..n {
            let p = dir.join(format!("{:02}", i % 100));
            std::fs::create_dir_all(&p).unwrap();
            write_data(&p.join(format!("{i:05}.txt")), 4096, i as u32);
        }
    }

    // Mixed: a few large files and many small ones, about 500 MB (100 MB quick).
    let mixed = root.join("mixed");
    std::fs::create_dir_all(mixed.join("shards")).unwrap();
    let (large, small_n) = (if quick { 4 } else { 20 }, mixed_small);
    for i in 0..large {
        write_data(&mixed.join(format!("shard-{i}.bin")), 24 << 20, 100 + i);
    }
    for i in 0..small_n {
        write_data(&mixed.join(format!("shards/{i:05}.json")), 4096, 1000 + i);
    }
    let measure = |p: &Path| {
        let (mut bytes, mut files) = (0, 0);
        for e in walk(p) {
            bytes += std::fs::metadata(&e).unwrap().len();
            files += 1;
        }
        (bytes, files)
    };
    let mut out = Vec::new();
    for (kind, name, path) in [
        (
            "big",
            format!("1 file of {} MiB", big_len >> 20),
            root.join("big/model.bin"),
        ),
        (
            "small",
            format!("{small_files} files of 4 KiB"),
            small.clone(),
        ),
        (
            "mixed",
            format!("mixed folder ({large} × 24 MiB + {small_n} × 4 KiB)"),
            mixed.clone(),
        ),
    ] {
        if !only.split(',').any(|o| o == kind) {
            continue;
        }
        let (bytes, files) = if path.is_file() {
            (std::fs::metadata(&path).unwrap().len(), 1)
        } else {
            measure(&path)
        };
        let sample = (kind == "small" && files > SAMPLE).then(|| {
            let (bytes, files) = measure(&sample);
            Box::new(Dataset {
                name: format!("{files} files of 4 KiB"),
                path: sample.clone(),
                bytes,
                files,
                sample: None,
            })
        });
        out.push(Dataset {
            name,
            path,
            bytes,
            files,
            sample,
        });
    }
    out
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap().path();
        if e.is_dir() {
            out.extend(walk(&e));
        } else {
            out.push(e);
        }
    }
    out
}

fn remote(lab: &Lab, script: &str) -> String {
    let out = lab.ssh_alice(script);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks the destination holds exactly the data: same number of files and bytes.
fn check(lab: &Lab, dest: &str, d: &Dataset) {
    let got = remote(
        lab,
        &format!("find {dest} -type f -printf '%s\\n' | awk '{{n++; s+=$1}} END {{print n, s}}'"),
    );
    assert_eq!(
        got.trim(),
        format!("{} {}", d.files, d.bytes),
        "{dest} holds something else"
    );
}

async fn usine(lab: &Lab, port: u16, d: &Dataset, dest: &str) -> (Duration, Duration) {
    let hop = Hop {
        endpoint: Endpoint {
            port,
            ..lab.endpoint("alice")
        },
        credentials: lab.key_hop().credentials,
    };
    let store = Mutex::new(Store::open(&scratch_file("bench").join("db")).unwrap());
    let start = Instant::now();
    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(hop), lab.host_keys_for_port(port), questions)
        .await
        .unwrap();
    let (id, _) = transfer::create(&store, "bench", &d.path, dest).unwrap();
    let mut sent_at = None;
    let report = transfer::upload(&conn, &store, &id, |p| {
        if p.bytes_done == p.bytes_total && sent_at.is_none() {
            sent_at = Some(start.elapsed());
        }
    })
    .await
    .unwrap();
    let total = start.elapsed();
    assert_eq!(report.verified, d.files);
    conn.close().await;
    (sent_at.unwrap_or(total), total)
}

#[tokio::main]
async fn main() {
    let lab = Lab::get();
    let quick = std::env::var_os("USINE_BENCH_QUICK").is_some();
    let proxy = DelayProxy::start(
        lab.var("USINE_LAB_SSH_PORT").parse().unwrap(),
        Duration::from_millis(10),
    )
    .await;
    let _ = std::fs::remove_dir_all(LOCAL);
    let sets = datasets(
        quick,
        if quick { 2000 } else { 10_000 },
        if quick { 500 } else { 1000 },
        "data",
    );
    let rounds: usize = std::env::var("USINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let nets = std::env::var("USINE_BENCH_NET").unwrap_or_else(|_| "loopback,rtt".into());

    println!("Upload to the lab's sshd (OpenSSH 9.2), aes256-gcm, data in RAM at both ends.");
    println!("Usine times include connecting and logging in, like the tools'; 'verified' adds the");
    println!("cluster's own SHA-256 of every file, which the other tools do not do.\n");
    println!("| network | data | tool | seconds | MB/s | Usine faster by |");
    println!("|---|---|---|---:|---:|---:|");
    for (net, network, port) in [
        (
            "loopback",
            "loopback",
            lab.var("USINE_LAB_SSH_PORT").parse::<u16>().unwrap(),
        ),
        ("rtt", "+20 ms RTT", proxy.port()),
    ] {
        if !nets.split(',').any(|n| n == net) {
            continue;
        }
        for d in &sets {
            let mb = |t: Duration| d.bytes as f64 / 1e6 / t.as_secs_f64();
            let dest = |tool: &str| format!("{REMOTE}/{tool}");
            let fresh = |tool: &str| {
                remote(&lab, &format!("rm -rf {0} && mkdir -p {0}", dest(tool)));
            };
            // Per-file round trips: time a sample through the relay, scale to the whole set.
            let sampled = match (&d.sample, net) {
                (Some(s), "rtt") => Some(s.as_ref()),
                _ => None,
            };
            let (per_file, scale, note) = match sampled {
                Some(s) => (
                    s,
                    d.files as f64 / s.files as f64,
                    format!(" (timed on {} files, ×{})", s.files, d.files / s.files),
                ),
                None => (d, 1.0, String::new()),
            };
            let dir = d.path.is_dir();
            // Tools' times over the rounds, interleaved so that background load spreads evenly.
            let (mut sent, mut verified) = (Vec::new(), Vec::new());
            let mut others: Vec<(String, Vec<Duration>, String)> = vec![
                (
                    if dir { "scp -r" } else { "scp" }.into(),
                    Vec::new(),
                    note.clone(),
                ),
                ("sftp".into(), Vec::new(), note.clone()),
                ("rsync -e ssh".into(), Vec::new(), String::new()),
            ];
            for _ in 0..rounds {
                fresh("usine");
                let (s, v) = usine(&lab, port, d, &dest("usine")).await;
                sent.push(s);
                verified.push(v);
                check(&lab, &dest("usine"), d);
                let opts = ssh_opts(&lab, port);
                let target = |tool: &str| format!("alice@127.0.0.1:{}/", dest(tool));
                // scp (SFTP protocol in OpenSSH 9), -r for folders.
                fresh("scp");
                let mut scp = Command::new("scp");
                scp.arg("-q").args(&opts);
                if dir {
                    scp.arg("-r");
                }
                let t = run(scp.arg(&per_file.path).arg(target("scp")));
                check(&lab, &dest("scp"), per_file);
                others[0].1.push(t.mul_f64(scale));
                // sftp in batch mode.
                fresh("sftp");
                let batch = scratch_file("sftp-batch");
                std::fs::write(
                    &batch,
                    format!(
                        "put {} {} {}/\n",
                        if dir { "-r" } else { "" },
                        per_file.path.display(),
                        dest("sftp")
                    ),
                )
                .unwrap();
                let mut sftp = Command::new("sftp");
                sftp.arg("-q")
                    .arg("-b")
                    .arg(&batch)
                    .args(&opts)
                    .arg("alice@127.0.0.1");
                let t = run(&mut sftp);
                check(&lab, &dest("sftp"), per_file);
                others[1].1.push(t.mul_f64(scale));
                // rsync over ssh, on the whole set.
                fresh("rsync");
                let mut rsync = Command::new("rsync");
                rsync
                    .arg("-a")
                    .arg("-e")
                    .arg(format!("ssh {}", opts.join(" ")))
                    .arg(&d.path)
                    .arg(target("rsync"));
                let t = run(&mut rsync);
                check(&lab, &dest("rsync"), d);
                others[2].1.push(t);
            }
            let (sent, verified) = (median(sent), median(verified));
            let others: Vec<(String, Duration, String)> = others
                .into_iter()
                .map(|(tool, times, note)| (tool, median(times), note))
                .collect();
            println!(
                "| {network} | {} | **Usine** (sent) | {:.2} | {:.0} | |",
                d.name,
                sent.as_secs_f64(),
                mb(sent)
            );
            println!(
                "| {network} | {} | **Usine** (sent + verified) | {:.2} | {:.0} | |",
                d.name,
                verified.as_secs_f64(),
                mb(verified)
            );
            for (tool, t, note) in &others {
                println!(
                    "| {network} | {} | {tool}{note} | {:.2} | {:.0} | {:.2}× ({:.2}× verified) |",
                    d.name,
                    t.as_secs_f64(),
                    mb(*t),
                    t.as_secs_f64() / sent.as_secs_f64(),
                    t.as_secs_f64() / verified.as_secs_f64()
                );
            }
        }
    }
    remote(&lab, &format!("rm -rf {REMOTE}"));
    let _ = std::fs::remove_dir_all(LOCAL);
}
