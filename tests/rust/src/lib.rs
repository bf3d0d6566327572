//! Access to the lab that `tests/lab/up.sh` starts: its settings file and a plain `ssh` client.
//! (Usine's own SSH client replaces the `ssh` command in these tests with the login work.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where `up.sh` writes the lab's settings, unless `USINE_LAB_ENV` says otherwise.
pub const DEFAULT_ENV_FILE: &str = "/var/lib/usine-lab/client/lab.env";

/// The lab's clusters: `lab` runs Slurm 22.05 (Debian 12's packages), `lab24` runs Slurm 24.11
/// (built from Debian 13's source) with its own login node, slurmrestd, two GPU types and a
/// 30-second `MinJobAge`.
pub const CLUSTERS: [&str; 2] = ["lab", "lab24"];

/// The lab's settings (ports, users, key paths) as seen from one of its clusters, read from
/// its `lab.env`.
pub struct Lab {
    vars: HashMap<String, String>,
    cluster: &'static str,
}

/// Generates, for each named `async fn(Lab)`, one test per lab cluster (`on_lab::name`,
/// `on_lab24::name`), so that one test body proves a behaviour on every Slurm version.
/// `sync:` first for plain `fn(Lab)` tests (those that drive the `usine` command).
#[macro_export]
macro_rules! on_every_cluster {
    (sync: $($test:ident),+ $(,)?) => {
        mod on_lab {
            $( #[test] fn $test() { super::$test($crate::Lab::cluster("lab")) } )+
        }
        mod on_lab24 {
            $( #[test] fn $test() { super::$test($crate::Lab::cluster("lab24")) } )+
        }
    };
    ($($test:ident),+ $(,)?) => {
        mod on_lab {
            $( #[tokio::test] async fn $test() { super::$test($crate::Lab::cluster("lab")).await } )+
        }
        mod on_lab24 {
            $( #[tokio::test] async fn $test() { super::$test($crate::Lab::cluster("lab24")).await } )+
        }
    };
}

impl Lab {
    /// The 22.05 cluster, where tests that do not depend on Slurm's version run.
    pub fn get() -> Self {
        Self::cluster("lab")
    }

    /// Reads the lab's settings for one of [`CLUSTERS`]: a `USINE_LAB24_X` setting stands for
    /// `USINE_LAB_X` on `lab24` (its SSH port, its REST address). Panics with the fix when the
    /// lab is not up: a test that needs the lab must fail, never pass quietly without it.
    pub fn cluster(name: &str) -> Self {
        let cluster = CLUSTERS
            .into_iter()
            .find(|c| *c == name)
            .unwrap_or_else(|| panic!("the lab has no cluster {name}"));
        let mut vars = Self::read_vars();
        if cluster == "lab24" {
            let own: Vec<(String, String)> = vars
                .iter()
                .filter_map(|(k, v)| {
                    let rest = k.strip_prefix("USINE_LAB24_")?;
                    Some((format!("USINE_LAB_{rest}"), v.clone()))
                })
                .collect();
            vars.extend(own);
        }
        Self { vars, cluster }
    }

    /// The cluster's name, as its `slurm.conf` says (`lab` or `lab24`).
    pub fn name(&self) -> &'static str {
        self.cluster
    }

    /// A name no other test run, and no other cluster's test, uses at the same time (the two
    /// clusters share the home folders).
    pub fn unique(&self, tag: &str) -> String {
        format!("it-{tag}-{}-{}", self.cluster, std::process::id())
    }

    fn read_vars() -> HashMap<String, String> {
        let path = std::env::var_os("USINE_LAB_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ENV_FILE));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the lab settings {} ({e}): start the lab with `sudo tests/lab/up.sh`",
                path.display()
            )
        });
        parse_env(&text)
    }

    pub fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing from lab.env: re-run tests/lab/up.sh"))
    }

    /// Runs `remote_command` as the key user (alice) on the lab's login node.
    pub fn ssh_alice(&self, remote_command: &str) -> Output {
        let port = self.var("USINE_LAB_SSH_PORT");
        let target = format!(
            "{}@{}",
            self.var("USINE_LAB_KEY_USER"),
            self.var("USINE_LAB_HOST")
        );
        Command::new("ssh")
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .args(["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.var("USINE_LAB_KNOWN_HOSTS")
            ))
            .args([
                "-i",
                self.var("USINE_LAB_KEY"),
                "-p",
                port,
                &target,
                remote_command,
            ])
            .output()
            .expect("the `ssh` command runs")
    }

    /// A five-minute CPU job of the lab's project, working in `~/usine-it/NAME`.
    pub fn cpu_job(&self, name: &str, commands: &str) -> usine_core::jobs::spec::JobSpec {
        usine_core::jobs::spec::JobSpec {
            name: name.into(),
            account: Some(self.var("USINE_LAB_ACCOUNT").into()),
            partition: Some("cpu".into()),
            time_limit_minutes: 5,
            working_dir: format!("~/usine-it/{name}"),
            commands: commands.into(),
            ..Default::default()
        }
    }

    /// A ten-minute, one-core session of `kind` on `target`, its server from the lab's venv
    /// (as a site's module would provide it); on a cluster, in the lab's project.
    pub fn session_request(
        &self,
        kind: &str,
        target: &str,
    ) -> usine_core::sessions::SessionRequest {
        let cluster = target != usine_core::target::THIS_COMPUTER_ID;
        usine_core::sessions::SessionRequest {
            kind: kind.into(),
            target: target.into(),
            partition: cluster.then(|| "cpu".into()),
            account: cluster.then(|| self.var("USINE_LAB_ACCOUNT").into()),
            time_limit_minutes: Some(10),
            cpus: Some(1),
            environment: usine_core::jobs::spec::Environment {
                python: Some(usine_core::jobs::spec::PythonEnv::Venv(
                    self.var("USINE_LAB_JUPYTER").into(),
                )),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// How many jobs called `name` alice has in Slurm's accounting, once there is any. (A job
    /// that ends within a second can first reach slurmdbd under the name "allocation".)
    pub fn jobs_named(&self, name: &str) -> usize {
        wait_for("the job in accounting", Duration::from_secs(30), || {
            let out = self.ssh_alice_ok(&format!("sacct -X -n -P --name={name} --format=JobID"));
            let n = out.lines().filter(|l| !l.trim().is_empty()).count();
            (n > 0).then_some(n)
        })
    }

    /// Every job id alice's jobs called `name` have, in the queue or in accounting (a held job
    /// may not be in accounting yet, a finished one is no longer queued), each once.
    pub fn job_ids_named(&self, name: &str) -> Vec<String> {
        let out = self.ssh_alice_ok(&format!(
            "squeue --me -h -n {name} -o %i; sacct -X -n -P --name={name} --format=JobID"
        ));
        let mut ids: Vec<String> = out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Waits until slurmctld no longer knows the job (after its `MinJobAge`: 30 s on lab24,
    /// plus its purge round of up to a minute), as happens to every job a user looks at late.
    pub fn wait_forgotten(&self, job_id: &str) {
        wait_for(
            "slurmctld to forget the finished job (MinJobAge)",
            Duration::from_secs(180),
            || {
                // squeue hides finished jobs; scontrol shows them until they are purged.
                let out = self.ssh_alice(&format!("scontrol show job -o {job_id}"));
                (!out.status.success()).then_some(())
            },
        );
    }

    /// Like [`Lab::ssh_alice`], but fails the test unless the command succeeds; returns stdout.
    pub fn ssh_alice_ok(&self, remote_command: &str) -> String {
        let out = self.ssh_alice(remote_command);
        assert!(
            out.status.success(),
            "`{remote_command}` failed on the lab ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Polls `probe` until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_lab_env_lines_and_skips_comments() {
        let vars = super::parse_env("# lab\nA=1\n\nB = x=y\n");
        assert_eq!(vars.len(), 2);
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "x=y");
    }
}

pub mod bench;
pub mod browser;
pub mod cli;
pub mod proxy;
pub mod ssh;
