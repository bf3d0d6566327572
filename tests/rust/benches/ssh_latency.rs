//! Connection time and command round-trips of Usine's SSH client against OpenSSH, on the lab.
//! Run: `cargo bench -p usine-lab-tests --bench ssh_latency` (the lab must be up).
//! Prints medians and the ratio to what a user would otherwise do: one `ssh` per command.

use std::process::Command;
use std::time::{Duration, Instant};

use usine_core::ssh::Connection;
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::{Answers, answering, spec};

const CONNECTS: usize = 5;
const COMMANDS: usize = 50;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn openssh(lab: &Lab, extra: &[&str], command: &str) -> Command {
    let mut cmd = Command::new("ssh");
    cmd.args(["-F", lab.var("USINE_LAB_SSH_CONFIG"), "-o", "BatchMode=yes"])
        .args(extra)
        .args(["lab-alice", command]);
    cmd
}

#[tokio::main]
async fn main() {
    let lab = Lab::get();
    let otp_answers = || Answers {
        password: Some(lab.var("USINE_LAB_OTP_PASSWORD").to_owned()),
        code: Some(lab.totp()),
        ..Answers::default()
    };
    let jump = usine_core::ssh::Hop {
        endpoint: lab.jump_endpoint(),
        credentials: lab.key_hop().credentials,
    };

    println!(
        "SSH on the lab (127.0.0.1), medians of {CONNECTS} connections and {COMMANDS} commands"
    );
    let connect = |name: &'static str,
                   make: Box<dyn Fn() -> usine_core::ssh::ConnectSpec>,
                   answers: Answers| {
        let lab = &lab;
        async move {
            let mut times = Vec::new();
            for _ in 0..CONNECTS {
                let (questions, _) = answering(answers.clone());
                let start = Instant::now();
                let conn = Connection::open(&make(), lab.host_keys(), questions)
                    .await
                    .unwrap();
                times.push(start.elapsed());
                conn.close().await;
            }
            let m = median(times);
            println!("  connect + log in, {name:<22} {:>8.1} ms", ms(m));
            m
        }
    };
    let key_hop = lab.key_hop();
    let otp_hop = lab.otp_hop();
    let jump_hop = jump.clone();
    let key = connect(
        "key",
        Box::new(move || spec(key_hop.clone())),
        Answers::default(),
    )
    .await;
    connect(
        "password + TOTP",
        Box::new(move || spec(otp_hop.clone())),
        otp_answers(),
    )
    .await;
    let key_hop = lab.key_hop();
    connect(
        "key, via bastion",
        Box::new(move || spec(key_hop.clone()).via(jump_hop.clone())),
        Answers::default(),
    )
    .await;

    // One `ssh` per command: what scripts and most GUIs do today.
    let mut fresh = Vec::new();
    for _ in 0..COMMANDS / 5 {
        let start = Instant::now();
        assert!(openssh(&lab, &[], "true").status().unwrap().success());
        fresh.push(start.elapsed());
    }
    let fresh = median(fresh);
    println!(
        "  OpenSSH connect + log in + command  {:>8.1} ms",
        ms(fresh)
    );
    println!(
        "  Usine key connect vs OpenSSH        {:>8.2}x",
        ms(fresh) / ms(key)
    );

    let (questions, _) = answering(Answers::default());
    let conn = Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
        .await
        .unwrap();
    let mut one = Vec::new();
    for _ in 0..COMMANDS {
        let start = Instant::now();
        assert!(conn.exec("true").await.unwrap().success());
        one.push(start.elapsed());
    }
    conn.close().await;
    let one = median(one);
    println!(
        "\n  command round-trip, Usine (one connection)  {:>8.2} ms",
        ms(one)
    );
    println!(
        "  command round-trip, a fresh `ssh` each       {:>8.2} ms",
        ms(fresh)
    );
    println!(
        "  ratio (fresh ssh / Usine)                    {:>8.1}x",
        ms(fresh) / ms(one)
    );
}
