//! Is this really the cluster? Host keys checked against the user's `~/.ssh/known_hosts`
//! (read, never written) and Usine's own known-hosts file (where first-use decisions go).

use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::ssh_key::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

/// What the known-hosts files say about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A recorded key matches.
    Known,
    /// No key of this type is recorded for the host: first contact, ask the user.
    Unknown,
    /// A different key of the same type is recorded: refuse.
    Changed { file: PathBuf, line: usize },
    /// The key is listed as `@revoked`: refuse.
    Revoked { file: PathBuf, line: usize },
}

/// The two known-hosts files Usine consults.
#[derive(Debug, Clone)]
pub struct HostKeyStore {
    /// The user's OpenSSH file, if any: trusted, never modified.
    pub user_file: Option<PathBuf>,
    /// Usine's own file: where keys the user accepted in Usine are recorded.
    pub app_file: PathBuf,
}

impl HostKeyStore {
    /// The user's `~/.ssh/known_hosts` plus Usine's file at `app_file`.
    pub fn with_user_known_hosts(app_file: PathBuf) -> Self {
        let user_file = std::env::home_dir().map(|h| h.join(".ssh").join("known_hosts"));
        Self {
            user_file,
            app_file,
        }
    }

    pub fn verify(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        let mut verdict = Verdict::Unknown;
        for file in self.user_file.iter().chain(std::iter::once(&self.app_file)) {
            match verify_in_file(file, host, port, key) {
                // A changed or revoked key anywhere wins over a match elsewhere, as in OpenSSH.
                v @ (Verdict::Changed { .. } | Verdict::Revoked { .. }) => return v,
                Verdict::Known => verdict = Verdict::Known,
                Verdict::Unknown => {}
            }
        }
        verdict
    }

    /// The host-key algorithms to offer `host`, most wanted first: those of the keys recorded
    /// for it (in the files' order), then russh's defaults. A recorded RSA key asks for the
    /// SHA-2 signatures first, as OpenSSH does.
    pub fn algorithms_for(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let name = host_pattern(host, port);
        let mut algorithms: Vec<Algorithm> = Vec::new();
        for file in self.user_file.iter().chain(std::iter::once(&self.app_file)) {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for entry in text.lines().filter_map(|l| l.trim().parse::<Entry>().ok()) {
                if entry.marker().is_some() || !matches_host(entry.host_patterns(), &name) {
                    continue;
                }
                let recorded = match entry.public_key().algorithm() {
                    Algorithm::Rsa { .. } => vec![
                        Algorithm::Rsa {
                            hash: Some(HashAlg::Sha512),
                        },
                        Algorithm::Rsa {
                            hash: Some(HashAlg::Sha256),
                        },
                        Algorithm::Rsa { hash: None },
                    ],
                    other => vec![other],
                };
                for a in recorded {
                    // Only what russh can verify: an unsupported one would fail the handshake.
                    if russh::Preferred::DEFAULT.key.contains(&a) && !algorithms.contains(&a) {
                        algorithms.push(a);
                    }
                }
            }
        }
        for a in russh::Preferred::DEFAULT.key.iter() {
            if !algorithms.contains(a) {
                algorithms.push(a.clone());
            }
        }
        algorithms
    }

    /// Records a key the user accepted, in Usine's own file.
    pub fn remember(&self, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = self.app_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let line = format!(
            "{} {}\n",
            host_pattern(host, port),
            key.to_openssh().map_err(std::io::Error::other)?
        );
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.app_file)?
            .write_all(line.as_bytes())
    }
}

/// OpenSSH's `SHA256:…` fingerprint, as `ssh-keygen -lf` prints it.
pub fn fingerprint_sha256(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

fn verify_in_file(file: &Path, host: &str, port: u16, key: &PublicKey) -> Verdict {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Verdict::Unknown;
    };
    let name = host_pattern(host, port);
    let mut verdict = Verdict::Unknown;
    let mut skipped = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // One odd line (an unknown key type, a typo) must not hide the rest of the file.
        let Ok(entry) = line.parse::<Entry>() else {
            skipped += 1;
            continue;
        };
        if !matches_host(entry.host_patterns(), &name) {
            continue;
        }
        let same_key = entry.public_key().key_data() == key.key_data();
        match entry.marker() {
            Some(Marker::Revoked) if same_key => {
                return Verdict::Revoked {
                    file: file.to_owned(),
                    line: index + 1,
                };
            }
            // Host certificate authorities are not supported yet; such lines neither vouch for
            // nor against a plain host key.
            Some(_) => {}
            None if same_key => verdict = Verdict::Known,
            None if entry.public_key().algorithm() == key.algorithm() => {
                return Verdict::Changed {
                    file: file.to_owned(),
                    line: index + 1,
                };
            }
            None => {}
        }
    }
    if skipped > 0 {
        tracing::debug!(file = %file.display(), skipped, "known_hosts lines not understood");
    }
    verdict
}

fn matches_host(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => Hmac::<Sha1>::new_from_slice(salt)
            .map(|mac| mac.chain_update(name).verify_slice(hash).is_ok())
            .unwrap_or(false),
        HostPatterns::Patterns(list) => {
            let mut matched = false;
            for pattern in list {
                if let Some(negated) = pattern.strip_prefix('!') {
                    if glob(negated, name) {
                        return false;
                    }
                } else if glob(pattern, name) {
                    matched = true;
                }
            }
            matched
        }
    }
}

/// OpenSSH host patterns: `*` any run of characters, `?` one character, case-insensitive.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (
        pattern.to_lowercase().chars().collect(),
        name.to_lowercase().chars().collect(),
    );
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMzKtbL0UyR3QjCGMFGZ9TlhLoCelTlqGsUX0eu+lPTO";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJzUzVA6pl9x74fzCdTEJCMvrzROKIyWA71quC+NMH5P";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn store(user: &str, app: &str) -> (HostKeyStore, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("usine-hk-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("user"), user).unwrap();
        std::fs::write(dir.join("app"), app).unwrap();
        (
            HostKeyStore {
                user_file: Some(dir.join("user")),
                app_file: dir.join("app"),
            },
            dir,
        )
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    #[test]
    fn the_algorithms_recorded_for_a_host_are_offered_first() {
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA8XJQ4qglC4aS3hD0fY1F7siP1Tko9j8KqSj4iB/JhuSWU/8MJX/Fp4ElCBwJCvWsHSacam3zbABKyucA82c0A=";
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDQmMV9WL2sZSXNYR8bJvL4iXa2Pk3sochNMKI1d85HSFAYHEEJcCX5PnmT2bKtpYDsqXKUpuejW1pMb8q87FBkCoT/qbE5x+ocqg5rrxEI3qOBsSMNrN221fTWHV2z2RzbjDBLT4alJYQLSUxeFxMkhBiSg9XIChuWhkbHbJs1Tw==";
        let (s, dir) = store(
            &format!("lumi.csc.fi {ecdsa}\nother.example {KEY_A}\n"),
            &format!("lumi.csc.fi {rsa}\n"),
        );
        let offered = s.algorithms_for("lumi.csc.fi", 22);
        assert_eq!(offered[0], key(ecdsa).algorithm());
        assert_eq!(
            offered[1],
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512)
            }
        );
        // Nothing is dropped: every algorithm russh verifies is still offered, once.
        assert_eq!(offered.len(), russh::Preferred::DEFAULT.key.len());
        // A host with nothing recorded gets the defaults (ed25519 first).
        assert_eq!(s.algorithms_for("new.example", 22)[0], Algorithm::Ed25519);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn plain_entries_with_ports_match_exactly() {
        let (s, dir) = store(&format!("[lumi.csc.fi]:2222 {KEY_A}\n"), "");
        assert_eq!(s.verify("lumi.csc.fi", 2222, &key(KEY_A)), Verdict::Known);
        assert_eq!(s.verify("lumi.csc.fi", 22, &key(KEY_A)), Verdict::Unknown);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_different_key_of_the_same_type_is_a_change() {
        let (s, dir) = store(&format!("# comment\nlumi.csc.fi {KEY_A}\n"), "");
        assert_eq!(
            s.verify("lumi.csc.fi", 22, &key(KEY_B)),
            Verdict::Changed {
                file: dir.join("user"),
                line: 2
            }
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hashed_wildcard_and_negated_patterns() {
        // `ssh-keygen -H` form of "login.lumi.csc.fi", salt chosen for the test.
        let salt = b"0123456789abcdefghij";
        let mac = Hmac::<Sha1>::new_from_slice(salt)
            .unwrap()
            .chain_update("login.lumi.csc.fi")
            .finalize()
            .into_bytes();
        use base64ct::{Base64, Encoding};
        let hashed = format!(
            "|1|{}|{} {KEY_A}\n",
            Base64::encode_string(salt),
            Base64::encode_string(&mac)
        );
        let (s, dir) = store(
            &hashed,
            &format!("*.leonardo.cineca.it,!bad.leonardo.cineca.it {KEY_B}\n"),
        );
        assert_eq!(
            s.verify("login.lumi.csc.fi", 22, &key(KEY_A)),
            Verdict::Known
        );
        assert_eq!(
            s.verify("LOGIN01.leonardo.cineca.it", 22, &key(KEY_B)),
            Verdict::Known
        );
        assert_eq!(
            s.verify("bad.leonardo.cineca.it", 22, &key(KEY_B)),
            Verdict::Unknown
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn revoked_keys_and_garbage_lines() {
        let (s, dir) = store(
            &format!("this is not a known_hosts line\n@revoked * {KEY_B}\nhost {KEY_A}\n"),
            "",
        );
        assert_eq!(s.verify("host", 22, &key(KEY_A)), Verdict::Known);
        assert!(matches!(
            s.verify("host", 22, &key(KEY_B)),
            Verdict::Revoked { line: 2, .. }
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn remembered_keys_are_known_next_time() {
        let (s, dir) = store("", "");
        assert_eq!(s.verify("127.0.0.1", 2222, &key(KEY_A)), Verdict::Unknown);
        s.remember("127.0.0.1", 2222, &key(KEY_A)).unwrap();
        assert_eq!(s.verify("127.0.0.1", 2222, &key(KEY_A)), Verdict::Known);
        assert!(matches!(
            s.verify("127.0.0.1", 2222, &key(KEY_B)),
            Verdict::Changed { .. }
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn fingerprints_match_ssh_keygen() {
        // `ssh-keygen -lf` of KEY_A, from the machine these keys were made on.
        assert_eq!(
            fingerprint_sha256(&key(KEY_A)),
            "SHA256:fLrTrlVQRm5Rs5yzMFcs4kkJgVum4GMutl0Q6EkBVoI"
        );
        assert_ne!(
            fingerprint_sha256(&key(KEY_A)),
            fingerprint_sha256(&key(KEY_B))
        );
    }

    #[test]
    fn glob_follows_openssh() {
        assert!(glob("*.csc.fi", "lumi.csc.fi"));
        assert!(glob("lumi?.csc.fi", "lumi1.csc.fi"));
        assert!(!glob("lumi?.csc.fi", "lumi.csc.fi"));
        assert!(glob("*", "anything"));
        assert!(!glob("*.fi", "lumi.csc.de"));
    }
}
