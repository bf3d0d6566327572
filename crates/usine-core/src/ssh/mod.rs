//! One authenticated SSH connection per cluster, with `russh`.
//!
//! All of Usine's SSH code lives under this module: russh changes its API between 0.x releases,
//! and nothing outside should need to change when it does. A [`Connection`] is made once (host
//! key checked, user authenticated, bastions crossed) and then every command runs as a channel on
//! it, so a one-time code is asked for once per connection, never per command.
//!
//! Questions for the user (an unknown host key, a one-time code, a key passphrase) travel as
//! [`Question`]s on a channel: the app shows a dialog, the CLI a prompt, tests answer them.

pub mod agent_share;
mod auth;
pub mod certificate;
mod connection;
mod error;
mod host_keys;
mod issued;
pub mod keygen;
mod questions;

pub use auth::check_key_file;
pub use connection::{CommandOutput, Connection, ConnectionState, OfflineWhy};
pub use error::SshError;
pub(crate) use host_keys::glob as host_pattern_matches;
pub use host_keys::{HostKeyStore, fingerprint_sha256};
pub use issued::{IssuedCertificate, SessionKey};
pub use questions::{Answer, Prompt, Question, QuestionKind, Questions};
pub use russh::keys::PublicKey;

use std::path::PathBuf;
use std::time::Duration;

/// A host to log in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.port == 22 {
            write!(f, "{}@{}", self.user, self.host)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// One way to prove who the user is, tried in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A private key file; with `certificate`, an OpenSSH user certificate for that key.
    /// An encrypted key's passphrase comes from the keychain, else from a [`Question`].
    KeyFile {
        path: PathBuf,
        certificate: Option<PathBuf>,
    },
    /// The keys held by the running ssh-agent (`SSH_AUTH_SOCK`).
    Agent,
    /// Keyboard-interactive: the server's prompts (password, one-time code, …) are shown to the
    /// user as they come.
    KeyboardInteractive,
    /// A plain password, asked for when needed.
    Password,
    /// A key made for this session and the certificate a CA issued for it, both in memory.
    Issued {
        key: SessionKey,
        certificate: IssuedCertificate,
    },
}

/// One hop: where to log in and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub endpoint: Endpoint,
    pub credentials: Vec<Credential>,
}

/// Everything needed to open a connection: the target and the bastions to cross first
/// (OpenSSH's ProxyJump, in the same order).
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    pub target: Hop,
    pub jumps: Vec<Hop>,
    /// How long to wait for a TCP connection and the SSH handshake of each hop.
    pub connect_timeout: Duration,
    /// Keepalive period; the link is declared dropped after three unanswered keepalives.
    pub keepalive: Duration,
}

impl ConnectSpec {
    pub fn direct(target: Hop) -> Self {
        Self {
            target,
            jumps: Vec::new(),
            connect_timeout: Duration::from_secs(15),
            keepalive: Duration::from_secs(30),
        }
    }

    pub fn via(mut self, jump: Hop) -> Self {
        self.jumps.push(jump);
        self
    }
}

/// Quotes `arg` for a POSIX shell, so that no user text is ever interpreted by the remote shell.
pub fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b))
    {
        return arg.to_owned();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// A path on the cluster as a person writes it, with `~` (alone or as `~/…`) meaning their home
/// there, as `scp` and a shell read it; anything else is returned unchanged. Asks the cluster
/// for its `$HOME` only when needed.
pub async fn expand_home(conn: &Connection, path: &str) -> Result<String, SshError> {
    let rest = match path.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return Ok(path.to_owned()),
    };
    let out = conn.exec("printf '%s' \"$HOME\"").await?;
    let home = out.stdout_text();
    if !out.success() || !home.starts_with('/') {
        return Ok(path.to_owned());
    }
    Ok(format!("{}{rest}", home.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_plain_words_and_wraps_everything_else() {
        assert_eq!(quote("train.py"), "train.py");
        assert_eq!(quote("--lr=0.1"), "--lr=0.1");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("my data"), "'my data'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(quote("a\nb"), "'a\nb'");
        assert_eq!(quote("-rf *"), "'-rf *'");
    }

    #[test]
    fn quoted_text_comes_back_unchanged_from_a_real_shell() {
        for hostile in [
            "it's", "$(id)", "`id`", "a;b", "x\ny", "\\", "\"q\"", "*", "é ü",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(hostile)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), hostile);
        }
    }

    #[test]
    fn endpoints_print_like_ssh_destinations() {
        let mut e = Endpoint {
            host: "lumi.csc.fi".into(),
            port: 22,
            user: "ana".into(),
        };
        assert_eq!(e.to_string(), "ana@lumi.csc.fi");
        e.port = 2222;
        assert_eq!(e.to_string(), "ana@lumi.csc.fi:2222");
    }
}
