//! Building blocks for tests of Usine's own SSH client against the lab.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use usine_core::ssh::{
    Answer, ConnectSpec, Credential, Endpoint, Hop, HostKeyStore, Question, QuestionKind, Questions,
};
use zeroize::Zeroizing;

use crate::Lab;

impl Lab {
    pub fn endpoint(&self, user: &str) -> Endpoint {
        Endpoint {
            host: self.var("USINE_LAB_HOST").to_owned(),
            port: self.var("USINE_LAB_SSH_PORT").parse().unwrap(),
            user: user.to_owned(),
        }
    }

    pub fn jump_endpoint(&self) -> Endpoint {
        Endpoint {
            port: self.var("USINE_LAB_JUMP_PORT").parse().unwrap(),
            ..self.endpoint(self.var("USINE_LAB_KEY_USER"))
        }
    }

    /// alice with her key.
    pub fn key_hop(&self) -> Hop {
        Hop {
            endpoint: self.endpoint(self.var("USINE_LAB_KEY_USER")),
            credentials: vec![Credential::KeyFile {
                path: self.var("USINE_LAB_KEY").into(),
                certificate: None,
            }],
        }
    }

    /// bob: password, then a one-time code.
    pub fn otp_hop(&self) -> Hop {
        Hop {
            endpoint: self.endpoint(self.var("USINE_LAB_OTP_USER")),
            credentials: vec![Credential::KeyboardInteractive],
        }
    }

    /// Trusts exactly the lab's recorded host keys; nothing is learned into them.
    pub fn host_keys(&self) -> Arc<HostKeyStore> {
        Arc::new(HostKeyStore {
            user_file: Some(self.var("USINE_LAB_KNOWN_HOSTS").into()),
            app_file: scratch_file("app_known_hosts"),
        })
    }

    /// Trusts the lab login node's keys when reached on another port (through a relay).
    pub fn host_keys_for_port(&self, port: u16) -> Arc<HostKeyStore> {
        let known = std::fs::read_to_string(self.var("USINE_LAB_KNOWN_HOSTS")).unwrap();
        let file = scratch_file("relay_known_hosts");
        let login = format!("[127.0.0.1]:{} ", self.var("USINE_LAB_SSH_PORT"));
        let relayed: String = known
            .lines()
            .filter_map(|l| l.strip_prefix(&login))
            .map(|key| format!("[127.0.0.1]:{port} {key}\n"))
            .collect();
        std::fs::write(&file, relayed).unwrap();
        Arc::new(HostKeyStore {
            user_file: None,
            app_file: file,
        })
    }

    /// The current TOTP code for bob, from `oathtool` (installed by the lab).
    pub fn totp(&self) -> String {
        let out = Command::new("oathtool")
            .args(["--totp", "-b", self.var("USINE_LAB_TOTP_SECRET")])
            .output()
            .expect("oathtool runs");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Slurm over a fresh Usine connection as alice (key login).
    pub async fn slurm_as_alice(&self) -> usine_core::jobs::slurm_ssh::SlurmOverSsh {
        let (questions, _) = answering(Answers::default());
        let conn =
            usine_core::ssh::Connection::open(&spec(self.key_hop()), self.host_keys(), questions)
                .await
                .unwrap();
        usine_core::jobs::slurm_ssh::SlurmOverSsh::new(Arc::new(conn))
    }

    /// Lines of the login node's sshd log that contain `needle`.
    pub fn sshd_log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string("/var/log/sshd-usine-lab.log")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// The count of `needle` once sshd has written what a finished attempt makes it write: it
    /// logs a refusal after answering the client, so counting at once can read the log before
    /// the line is there (seen under load). Waits for the count to move past `before` (at most
    /// 5 s), then a little more, so that a second attempt would be counted too.
    pub fn sshd_log_count_settled(&self, needle: &str, before: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.sshd_log_count(needle) == before && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        self.sshd_log_count(needle)
    }
}

pub fn spec(target: Hop) -> ConnectSpec {
    ConnectSpec::direct(target)
}

/// A fresh file path under the test's temp dir (the file does not exist).
pub fn scratch_file(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static SWEEP: std::sync::Once = std::sync::Once::new();
    // Tests have no teardown: each run removes what earlier, finished runs left (their
    // uploads and downloads, about 40 MB a run, had filled a CI machine's disk).
    SWEEP.call_once(remove_finished_runs_scratch);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{SCRATCH}{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{tag}-{n}"))
}

const SCRATCH: &str = "usine-lab-tests-";

/// Removes the scratch folders of test processes that are no longer running.
fn remove_finished_runs_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// How the test "user" answers questions.
#[derive(Clone, Default)]
pub struct Answers {
    pub trust_host: bool,
    pub password: Option<String>,
    pub code: Option<String>,
    pub passphrase: Option<String>,
    /// The password the test browser types at the lab's identity provider, if it should log in.
    pub browser_password: Option<String>,
}

/// Spawns a task that answers questions as `answers` says, and records every question asked.
pub fn answering(answers: Answers) -> (Questions, Arc<Mutex<Vec<QuestionKind>>>) {
    let (questions, mut rx) = Questions::channel();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Some(q) = rx.recv().await {
            log.lock().unwrap().push(q.kind.clone());
            let answer = answer(&answers, &q);
            q.answer(answer);
        }
    });
    (questions, asked)
}

fn answer(answers: &Answers, q: &Question) -> Answer {
    let text = |s: &Option<String>| s.clone().map(|v| Answer::Texts(vec![Zeroizing::new(v)]));
    match &q.kind {
        QuestionKind::UnknownHostKey { .. } if answers.trust_host => Answer::Trust,
        QuestionKind::UnknownHostKey { .. } => Answer::Cancel,
        QuestionKind::KeyPassphrase { .. } => text(&answers.passphrase).unwrap_or(Answer::Cancel),
        QuestionKind::Password { .. } => text(&answers.password).unwrap_or(Answer::Cancel),
        QuestionKind::KeyboardInteractive { prompts, .. } => {
            let mut out = Vec::new();
            for p in prompts {
                let reply = if p.text.contains("assword") {
                    answers.password.clone()
                } else if p.text.contains("erification") {
                    answers.code.clone()
                } else {
                    None
                };
                match reply {
                    Some(r) => out.push(Zeroizing::new(r)),
                    None => return Answer::Cancel,
                }
            }
            Answer::Texts(out)
        }
        QuestionKind::BrowserLogin { url, code, .. } => match &answers.browser_password {
            Some(password) => {
                crate::browser::open(url, code.as_deref(), password);
                Answer::Trust
            }
            None => Answer::Cancel,
        },
    }
}
