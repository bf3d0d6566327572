//! Mutation fuzzing of every parser of outside output: GPU tools, the GPU recorder's log,
//! Slurm's text and JSON, `lfs quota`, `df`, SSH config files, imported sbatch scripts and
//! interactive sessions' connection files.
//! Each family starts from real captures (`tests/samples/`) and feeds its parsers mutated
//! copies: flipped and inserted bytes, tokens the formats care about (`|`, `=`, `NaN`, huge
//! numbers, multi-byte characters), deleted, repeated and spliced ranges. A panic fails the test
//! and leaves the input under the temp folder's `usine-fuzz-failures/`, to become a
//! regression test.
//!
//! Each family runs `USINE_FUZZ_SECS` seconds (1 in a plain `cargo test`, so CI runs them);
//! `scripts/fuzz.sh` runs them for minutes in release mode. `USINE_FUZZ_SEED` replays a run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// xorshift64*: enough randomness to mutate inputs, and a run replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Pieces the parsed formats give meaning to, and values that broke parsers before (a
/// multi-byte character where a byte index was expected, numbers past u32 and u64).
const TOKENS: &[&[u8]] = &[
    b"|",
    b",",
    b"=",
    b":",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\"",
    b"'",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b"-",
    b".",
    b"*",
    b"%",
    b"/",
    b"#",
    b"\0",
    "é".as_bytes(),
    "日本".as_bytes(),
    "🚀".as_bytes(),
    b"\xff\xfe",
    b"0",
    b"-1",
    b"4294967296",
    b"18446744073709551616",
    b"99999999999999999999999999",
    b"1e400",
    b"-0.0",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"null",
    b"true",
    b"{\"set\":true,\"infinite\":true,\"number\":0}",
    b"N/A",
    b"(null)",
    b"UNLIMITED",
    b"None",
    b"gres/gpu=",
    b"gres/gpu:h100=",
    b"gpu:h100:",
    b"gres:gpu:",
    b"2026-12-02 10:00:00.000",
    b"2026/12/02 10:00:00.000",
    b"[N/A]",
    b"[Not Supported]",
    b"JobId=",
    b"StdOut=",
    b"Reason=",
    b"#SBATCH ",
    b"--gpus=",
    b"--time=",
    b"Host ",
    b"Match ",
    b"ProxyJump ",
    b"Disk quotas for usr ",
    b"Filesystem",
    b"usine: no GPU tool",
];

fn mutate(rng: &mut Rng, seeds: &[&[u8]]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 | 3 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            4 if !data.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            5 if !data.is_empty() => {
                let end = (at + 1 + rng.below(256)).min(data.len());
                let piece = data[at.min(end)..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, piece);
            }
            6 => {
                let other = seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(512)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => data.truncate(at),
        }
    }
    data
}

/// Feeds `parse` mutated seeds for `USINE_FUZZ_SECS` seconds; fails on the first panic.
fn fuzz(family: &str, seeds: &[&[u8]], parse: impl Fn(&[u8])) {
    let secs: u64 = std::env::var("USINE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let seed: u64 = std::env::var("USINE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        | 1;
    let mut rng = Rng(seed);
    // Every seed as it is, first.
    for input in seeds {
        check(family, seed, input, &parse);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs: u64 = 0;
    while Instant::now() < deadline {
        for _ in 0..32 {
            check(family, seed, &mutate(&mut rng, seeds), &parse);
            runs += 1;
        }
    }
    println!("fuzz {family}: {runs} inputs in {secs} s, no panic (USINE_FUZZ_SEED={seed})");
}

fn check(family: &str, seed: u64, input: &[u8], parse: &impl Fn(&[u8])) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| parse(input))) {
        let dir = std::env::temp_dir().join("usine-fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{family}-{seed}.bin"));
        let _ = std::fs::write(&file, input);
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        panic!(
            "{family} panicked ({message}) on {} bytes, saved to {}",
            input.len(),
            file.display()
        );
    }
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

macro_rules! sample {
    ($name:literal) => {
        include_bytes!(concat!("../tests/samples/", $name)).as_slice()
    };
}

const FIELDS: &str = crate::gpu::parse::RECORDER_FIELDS;

#[test]
fn nvidia_smi() {
    use crate::gpu::parse::nvidia_smi_csv;
    let seeds = [
        sample!("gpu/nvidia-smi-h100x1-allfields-load.csv"),
        sample!("gpu/nvidia-smi-l40sx4-noheader-name-driver-memtotal-cc.csv"),
        sample!("gpu/nvidia-smi-p100x1-nounits.csv"),
    ];
    fuzz("nvidia-smi", &seeds, |b| {
        let t = text(b);
        nvidia_smi_csv(&t, None, "n", 0);
        nvidia_smi_csv(&t, Some(FIELDS), "n", 0);
    });
}

#[test]
fn rocm_smi() {
    let seeds = [
        sample!("gpu/rocm-smi-mi100-rocm6.0.2-allinfo.json"),
        sample!("gpu/rocm-smi-mi250-rocm6-allinfo-1card.json"),
    ];
    fuzz("rocm-smi", &seeds, |b| {
        crate::gpu::parse::rocm_smi_json(&text(b), "n", 0);
    });
}

#[test]
fn amd_smi() {
    let seeds = [
        sample!("gpu/amd-smi-metric-gpu_data-2gpu.json"),
        sample!("gpu/amd-smi-metric-list-1gpu.json"),
    ];
    fuzz("amd-smi", &seeds, |b| {
        crate::gpu::parse::amd_smi_json(&text(b), "n", 0);
    });
}

#[test]
fn recorder_log() {
    use crate::gpu::parse;
    let nvidia = b"2026/12/02 10:00:00.123, 0, 87, 40000, 81559, 350.12, 61\n\
2026/12/02 10:00:10.123, 1, [N/A], 12, 81559, [Not Supported], 40\n";
    let rocm = [
        b"1764669600 ".as_slice(),
        sample!("gpu/rocm-smi-mi250-rocm6-allinfo-1card.json"),
        b"\n",
    ]
    .concat();
    let amd = [
        b"1764669600.5 ".as_slice(),
        sample!("gpu/amd-smi-metric-list-1gpu.json"),
        b"\n",
    ]
    .concat();
    let seeds = [
        nvidia.as_slice(),
        &rocm,
        &amd,
        b"usine: no GPU tool\n",
        sample!("sacct-pno-TRESUsageInMax-gpuutil-curc-alpine.txt"),
    ];
    fuzz("recorder-log", &seeds, |b| {
        let t = text(b);
        parse::recorder_log(&t, "n");
        parse::slurm_gpu_tres(&t, 0, 4);
        for line in t.lines() {
            parse::parse_timestamp(line);
        }
    });
}

#[test]
fn slurm_text() {
    use crate::discovery;
    use crate::jobs::{sbatch, slurm};
    let sinfo = b"cpu*|(null)|1|1-00:00:00|up|8|8000\n\
gpu|gpu:h100:2(S:0),gpu:a100:2(S:0)|1|1-00:00:00|up|8|8000\n\
big|gpu:mi250:8,shard:8|3002|2-00:00:00|up|128+|480000+\n";
    let accounts = b"ai-startup|gres/gpu=6000|gres/gpu=4\n|ai-startup|alice|gres/gpu=120,cpu=4\n";
    let storage = b"home /home/alice 1234 5678\nscratch /scratch/p465 0 0\n";
    let seeds = [
        sample!("squeue-24.11.txt"),
        sample!("squeue-tres-alloc-24.11.txt"),
        sample!("sacct-24.11.txt"),
        sample!("scontrol_show_job_22.05.txt"),
        sample!("scontrol_show_job_24.11.txt"),
        sinfo.as_slice(),
        accounts.as_slice(),
        storage.as_slice(),
        b"slurm 24.11.5\n",
    ];
    let names = ["ai-startup".to_owned()];
    fuzz("slurm-text", &seeds, |b| {
        let t = text(b);
        slurm::parse_squeue(&t);
        slurm::parse_squeue_gpus(&t);
        slurm::parse_sacct(&t);
        for line in t.lines() {
            slurm::scontrol_fields(line);
            slurm::launch_failure(line);
            slurm::pending_reason(line);
            slurm::parse_elapsed(line);
            discovery::parse_gpu_gres(line);
            discovery::parse_slurm_minutes(line);
            discovery::parse_tres(line);
            sbatch::parse_memory_mib(line);
        }
        discovery::parse_sinfo_partitions(&t);
        discovery::parse_accounts(&names, &t, &t);
        discovery::parse_storage(&t);
        discovery::parse_slurm_version(&t);
    });
}

#[test]
fn slurm_json() {
    use crate::jobs::slurm;
    let seeds = [
        sample!("squeue-22.05.json"),
        sample!("rest-jobs-22.05.json"),
        sample!("rest-db-job-22.05.json"),
        sample!("slurmrestd-jobs-23.02-v0.0.39.json"),
        sample!("slurmrestd-jobs-23.11-v0.0.40.json"),
        sample!("slurmrestd-job-gpu-running-24.05-v0.0.41.json"),
        sample!("slurmdb-job-gpu-completed-24.05-v0.0.41.json"),
        sample!("slurmrestd-jobs-24.11-v0.0.42.json"),
        sample!("rest-jobs-24.11-v0.0.40.json"),
        sample!("rest-job-24.11-v0.0.42.json"),
        sample!("rest-db-job-24.11-v0.0.42.json"),
        sample!("squeue-24.11-lab.json"),
    ];
    fuzz("slurm-json", &seeds, |b| {
        let t = text(b);
        let _ = slurm::parse_jobs_json(&t);
        let _ = slurm::parse_accounting_json(&t);
    });
}

const LFS_AND_DF: &[u8] = crate::transfer::room::DF_AND_QUOTAS.as_bytes();

#[test]
fn lfs_quota() {
    fuzz("lfs-quota", &[LFS_AND_DF], |b| {
        crate::transfer::room::parse_lfs_quota(&text(b));
    });
}

#[test]
fn ssh_certificates() {
    let line = sample!("ssh-user-cert-efp.pub");
    let wire = line.split(|b| *b == b' ').nth(1).unwrap_or_default();
    fuzz("ssh-certificate", &[line, wire], |b| {
        if let Ok(cert) = crate::ssh::IssuedCertificate::parse(&text(b)) {
            cert.extension("ssh-domain-grant@core.aai.geant.org");
        }
    });
}

#[test]
fn session_files() {
    let file = b"gpu-node-17 41234 0123456789abcdef0123456789abcdef0123456789abcdef\n";
    let lookup =
        b"gpu-node-17 41234 0123456789abcdef0123456789abcdef\n\n@nodes\ngpu-node-17\ngpu-node-18\n";
    let queue = b"1201 2026-12-03T14:30:00\n1207 N/A\n1188 2026-12-03T15:00:00\n";
    fuzz("session-file", &[file, lookup, queue], |b| {
        crate::sessions::connection_file::parse(b);
        crate::sessions::lookup(b);
        crate::sessions::queue_place::parse(b, "1188");
    });
}

#[test]
fn df() {
    fuzz("df", &[LFS_AND_DF], |b| {
        crate::transfer::room::parse_df(&text(b));
    });
}

#[test]
fn folder_listing() {
    let seeds = [sample!("find-listing.bin")];
    fuzz("folder-listing", &seeds, |b| {
        let (entries, skipped) = crate::cluster_files::listing::parse(b, "1000");
        let listing = crate::cluster_files::Listing {
            path: b.iter().take(40).copied().collect(),
            entries,
            skipped,
        };
        listing.page(&crate::cluster_files::View::default());
        crate::cluster_files::preview::make(&text(&b[..b.len().min(8)]), b.len() as u64, b);
    });
}

#[test]
fn ssh_config() {
    let seeds: [&[u8]; 2] = [
        b"Host lumi\n    HostName lumi.csc.fi\n    User alice\n    IdentityFile ~/.ssh/id_lumi\n\
Host *.leonardo\n    ProxyJump bastion\n    Port 2222\nHost bastion\n    HostName login.cineca.it\n\
Match host x exec true\n    User bob\nHost \"quoted name\" other\n    CertificateFile ~/.ssh/c-cert.pub\n",
        b"host=a\nhostname=127.0.0.1\nport 99999\nuser=\nProxyCommand ssh -W %h:%p j\n",
    ];
    let dir = std::env::temp_dir().join(format!("usine-fuzz-ssh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config");
    fuzz("ssh-config", &seeds, |b| {
        // Include would read whatever file a mutation names (a FIFO blocks for ever): the rest
        // of the grammar is fuzzed, and Include has its own tests.
        let t = text(b).replace(['I', 'i'], "j");
        std::fs::write(&file, t).unwrap();
        crate::ssh_config::import(&file);
        crate::ssh_config::candidates(&file);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sbatch_import() {
    use crate::jobs::sbatch;
    let lumi = b"#!/bin/bash -l\n#SBATCH -J bert\n#SBATCH -A project_465000001\n#SBATCH --partition=standard-g\n#SBATCH -N 2\n#SBATCH --gpus-per-node=8\n#SBATCH -t 2-00:00:00\n#SBATCH --mem=480G\n#SBATCH --exclusive\n#SBATCH -o logs/%x-%j.out\n#SBATCH --mail-type=ALL --mail-user=x # not parsed\n\nmodule load LUMI\nsrun python train.py\n#SBATCH --ignored-after-commands\n";
    let rendered: Vec<Vec<u8>> = crate::jobs::templates::all()
        .iter()
        .filter_map(|t| sbatch::render(&t.spec).ok())
        .map(String::into_bytes)
        .collect();
    let mut seeds: Vec<&[u8]> = vec![lumi.as_slice()];
    seeds.extend(rendered.iter().map(Vec::as_slice));
    fuzz("sbatch-import", &seeds, |b| {
        let t = text(b);
        sbatch::import(&t);
        sbatch::unquote(&t);
        for line in t.lines() {
            sbatch::split_option(line);
        }
    });
}
