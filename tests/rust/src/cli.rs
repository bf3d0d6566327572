//! Runs the `usine` CLI the way a person does: answers typed on stdin, and each sandbox with its
//! own data folder and home.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::Lab;
use crate::ssh::scratch_file;

pub struct Sandbox {
    pub data: PathBuf,
    pub home: PathBuf,
    bin: PathBuf,
    /// The SSH port of the lab cluster's login node.
    port: String,
}

impl Sandbox {
    /// A fresh data folder, and a home whose known_hosts trusts the lab's hosts (or not).
    pub fn new(lab: &Lab, trust_lab_hosts: bool, bin: impl Into<PathBuf>) -> Self {
        let root = scratch_file("cli");
        let home = root.join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        if trust_lab_hosts {
            std::fs::copy(
                lab.var("USINE_LAB_KNOWN_HOSTS"),
                home.join(".ssh/known_hosts"),
            )
            .unwrap();
        }
        Self {
            data: root.join("data"),
            home,
            bin: bin.into(),
            port: lab.var("USINE_LAB_SSH_PORT").to_owned(),
        }
    }

    /// The command with the sandbox's folders, to start in the background (a tunnel that
    /// stays open until it is killed).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("USINE_DATA_DIR", &self.data)
            .env("HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `usine ARGS` with nothing typed, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        assert!(
            out.status.success(),
            "usine {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with(args, stdin, &[])
    }

    pub fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &std::ffi::OsStr)]) -> Output {
        let mut child = Command::new(&self.bin)
            .args(args)
            .envs(env.iter().copied())
            .env("USINE_DATA_DIR", &self.data)
            .env("HOME", &self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// `usine cluster add NAME --host 127.0.0.1 --port PORT --user USER …` for the login node of
/// the sandbox's lab cluster.
pub fn add_lab_cluster(sb: &Sandbox, name: &str, user: &str, login: &[&str]) -> Output {
    let mut args = vec![
        "cluster",
        "add",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        &sb.port,
        "--user",
        user,
    ];
    args.extend_from_slice(login);
    sb.run(&args, "")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
