//! Interactive sessions on the lab: the time from Start to a notebook cell's answer, in its
//! parts, and the tunnel's throughput against `ssh -L` on the same login node.
//! Run: `cargo bench -p usine-lab-tests --bench sessions` (the lab must be up).

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use usine_core::cluster::{self, Connections};
use usine_core::forward::{Destination, Forwards};
use usine_core::jobs::targets::Opening;
use usine_core::sessions::{self, SessionError};
use usine_core::ssh::Questions;
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::proxy::alice_cluster;
use usine_lab_tests::ssh::scratch_file;

const STARTS: usize = 3;
const BYTES: u64 = 1 << 30;
const ROUNDS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let lab = Lab::get();
    let port: u16 = lab.var("USINE_LAB_SSH_PORT").parse().unwrap();
    let settings = alice_cluster(&lab, "lab", port);
    let connections = Connections::new(lab.host_keys_for_port(port));
    let store = Store::open(&scratch_file("bench-store").join("usine.sqlite3")).unwrap();
    cluster::add(&store, &settings).unwrap();
    let store = Mutex::new(store);
    let forwards = Forwards::default();
    let asking = || Opening::Asking(Questions::channel().0);

    println!("From Start to a notebook cell's answer on the lab (medians of {STARTS}):");
    let (mut queue, mut server, mut first_cell, mut total) = (vec![], vec![], vec![], vec![]);
    for _ in 0..STARTS {
        let request = lab.session_request("jupyterlab", "lab");
        let t0 = Instant::now();
        let started = sessions::start(&store, &connections, &asking(), &request)
            .await
            .unwrap();
        let mut running_at = None;
        let opened = loop {
            match sessions::open(&store, &connections, &forwards, &asking(), &started.id).await {
                Ok(o) => break o,
                Err(SessionError::Waiting(_)) => {}
                Err(SessionError::Starting) => {
                    running_at.get_or_insert_with(|| t0.elapsed());
                }
                Err(e) => panic!("{e}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let ready = t0.elapsed();
        let running = running_at.unwrap_or(ready);
        let cell =
            tokio::process::Command::new(format!("{}/bin/python", lab.var("USINE_LAB_JUPYTER")))
                .args([
                    concat!(env!("CARGO_MANIFEST_DIR"), "/../lab/notebook_cell.py"),
                    &opened.url,
                    "print(6 * 7)",
                ])
                .output()
                .await
                .unwrap();
        assert_eq!(String::from_utf8_lossy(&cell.stdout), "42\n");
        let answered = t0.elapsed();
        queue.push(running.as_secs_f64());
        server.push((ready - running).as_secs_f64());
        first_cell.push((answered - ready).as_secs_f64());
        total.push(answered.as_secs_f64());
        sessions::stop(&store, &connections, &forwards, &asking(), &started.id)
            .await
            .unwrap();
    }
    println!("  queue (sent → running)          {:>6.2} s", median(queue));
    println!(
        "  server start (running → ready)  {:>6.2} s",
        median(server)
    );
    println!(
        "  tunnel + kernel + first cell    {:>6.2} s",
        median(first_cell)
    );
    println!("  Start → the cell's answer       {:>6.2} s", median(total));

    // A server on the "node" (this machine, behind the login node) that sends BYTES to each
    // connection: what a tunnel carries, read by a client here.
    let source = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let source_port = source.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = source.accept().await.unwrap();
            tokio::spawn(async move {
                let block = vec![0u8; 1 << 20];
                let mut left = BYTES;
                while left > 0 {
                    let n = left.min(block.len() as u64) as usize;
                    if s.write_all(&block[..n]).await.is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    let forward = forwards
        .open(
            &connections,
            "bench",
            Destination {
                settings: settings.clone(),
                job: "0".into(),
                node: "127.0.0.1".into(),
                port: source_port,
            },
            0,
        )
        .await
        .unwrap();
    let ssh_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut ssh = Command::new("ssh")
        .args([
            "-F",
            lab.var("USINE_LAB_SSH_CONFIG"),
            "-o",
            "BatchMode=yes",
            "-N",
            "-L",
        ])
        .arg(format!("{ssh_port}:127.0.0.1:{source_port}"))
        .arg("lab-alice")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let read_all = |port: u16| async move {
        let start = Instant::now();
        let mut s = loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Ok(s) => break s,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        assert_eq!(got, BYTES);
        BYTES as f64 / start.elapsed().as_secs_f64() / 1e6
    };
    // ssh -L needs a moment to listen; the first read waits for it.
    let (mut usine, mut openssh) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        usine.push(read_all(forward.local_port).await);
        openssh.push(read_all(ssh_port).await);
    }
    let _ = ssh.kill();
    let _ = ssh.wait();
    let (u, o) = (median(usine), median(openssh));
    println!("\nTunnel throughput, 1 GiB from the node, medians of {ROUNDS} alternating runs:");
    println!("  Usine (direct-tcpip on its connection)  {u:>8.0} MB/s");
    println!("  ssh -L (OpenSSH)                        {o:>8.0} MB/s");
    println!("  ratio Usine / ssh -L                    {:>8.2}", u / o);
}
