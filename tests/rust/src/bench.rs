//! What the benchmarks share: data that does not compress, the ssh options every tool is run
//! with (same cipher, no host-key prompt), a timed command, and medians.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Lab;

/// Writes `len` pseudo-random bytes (xorshift, from `seed`) to `path`.
pub fn write_data(path: &Path, len: usize, seed: u32) {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

/// alice's key, aes256-gcm, no questions, for ssh, scp, sftp and rsync -e ssh on `port`.
pub fn ssh_opts(lab: &Lab, port: u16) -> Vec<String> {
    let mut opts: Vec<String> = [
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-c",
        "aes256-gcm@openssh.com",
        "-i",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    opts.extend([
        lab.var("USINE_LAB_KEY").to_owned(),
        "-o".into(),
        format!("Port={port}"),
    ]);
    opts
}

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs `cmd`, which must succeed; how long it took.
pub fn run(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}
