//! Logging in on one hop: each credential in turn, once. A one-time code that the server refuses
//! ends the attempt at once: sites lock accounts that retry codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{Certificate, PrivateKey, PrivateKeyWithHashAlg};

use super::certificate;
use super::connection::ClientHandler;
use super::questions::{Answer, Prompt, QuestionKind, Questions};
use super::{Credential, Hop, SshError};
use crate::secrets::{self, SecretKind};

/// How a credential attempt ended, when it did not fail the whole login.
enum Step {
    Done,
    /// Accepted, but the server wants another method too (e.g. key, then one-time code).
    Partial,
    /// Refused or not applicable; try the next credential.
    Next,
}

pub(super) async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    hop: &Hop,
    questions: &Questions,
) -> Result<(), SshError> {
    let mut login = Login {
        handle,
        user: &hop.endpoint.user,
        destination: hop.endpoint.to_string(),
        questions,
    };
    let mut tried = Vec::new();
    for credential in &hop.credentials {
        let step = match credential {
            Credential::KeyFile { path, certificate } => {
                tried.push(if certificate.is_some() {
                    "certificate"
                } else {
                    "key"
                });
                login.key_file(path, certificate.as_deref()).await?
            }
            Credential::Agent => {
                tried.push("ssh-agent");
                login.agent().await?
            }
            Credential::KeyboardInteractive => {
                tried.push("password and one-time code");
                login.keyboard_interactive().await?
            }
            Credential::Password => {
                tried.push("password");
                login.password().await?
            }
            Credential::Issued { key, certificate } => {
                tried.push("certificate from the browser login");
                login.issued(key, certificate).await?
            }
        };
        match step {
            Step::Done => {
                tracing::info!(destination = %login.destination, "authenticated");
                return Ok(());
            }
            Step::Partial | Step::Next => {}
        }
    }
    Err(SshError::AuthRejected {
        destination: login.destination,
        tried: tried.join(", "),
    })
}

fn step(result: AuthResult) -> Step {
    match result {
        AuthResult::Success => Step::Done,
        AuthResult::Failure {
            partial_success: true,
            ..
        } => Step::Partial,
        AuthResult::Failure { .. } => Step::Next,
    }
}

/// One hop's login in progress.
struct Login<'a> {
    handle: &'a mut Handle<ClientHandler>,
    user: &'a str,
    destination: String,
    questions: &'a Questions,
}

impl Login<'_> {
    fn protocol(&self, e: impl std::fmt::Display) -> SshError {
        SshError::Protocol {
            host: self.destination.clone(),
            reason: e.to_string(),
        }
    }

    async fn rsa_hash(&mut self) -> Result<Option<russh::keys::HashAlg>, SshError> {
        match self.handle.best_supported_rsa_hash().await {
            Ok(hash) => Ok(hash.flatten()),
            Err(e) => Err(self.protocol(e)),
        }
    }

    async fn key_file(
        &mut self,
        path: &Path,
        certificate: Option<&Path>,
    ) -> Result<Step, SshError> {
        // Check the certificate before anything reaches the server: an expired one would only
        // cost a failed attempt in the site's logs.
        let cert = certificate.map(load_certificate).transpose()?;
        let key = Arc::new(load_key(path, self.questions).await?);
        let result = match cert {
            Some(cert) => {
                self.handle
                    .authenticate_openssh_cert(self.user, key, cert)
                    .await
            }
            None => {
                let hash = self.rsa_hash().await?;
                self.handle
                    .authenticate_publickey(self.user, PrivateKeyWithHashAlg::new(key, hash))
                    .await
            }
        };
        result.map(step).map_err(|e| self.protocol(e))
    }

    async fn issued(
        &mut self,
        key: &super::SessionKey,
        certificate: &super::IssuedCertificate,
    ) -> Result<Step, SshError> {
        self.handle
            .authenticate_openssh_cert(self.user, key.0.clone(), (*certificate.0).clone())
            .await
            .map(step)
            .map_err(|e| self.protocol(e))
    }

    async fn agent(&mut self) -> Result<Step, SshError> {
        let no_agent = |e: russh::keys::Error| SshError::NoAgent {
            reason: e.to_string(),
        };
        let mut agent = AgentClient::connect_env().await.map_err(no_agent)?;
        let identities = agent.request_identities().await.map_err(no_agent)?;
        let hash = self.rsa_hash().await?;
        for identity in identities {
            let result = match identity {
                AgentIdentity::PublicKey { key, .. } => {
                    self.handle
                        .authenticate_publickey_with(self.user, key, hash, &mut agent)
                        .await
                }
                AgentIdentity::Certificate { certificate, .. } => {
                    self.handle
                        .authenticate_certificate_with(self.user, certificate, hash, &mut agent)
                        .await
                }
            };
            match result.map(step) {
                Ok(Step::Next) => {}
                Ok(done_or_partial) => return Ok(done_or_partial),
                // The agent declined one key; the others may still work.
                Err(e) => tracing::debug!(error = %e, "the agent could not sign"),
            }
        }
        Ok(Step::Next)
    }

    async fn keyboard_interactive(&mut self) -> Result<Step, SshError> {
        let mut answered = false;
        let mut response = match self
            .handle
            .authenticate_keyboard_interactive_start(self.user, None)
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(self.protocol(e)),
        };
        loop {
            let (name, instructions, prompts) = match response {
                KeyboardInteractiveAuthResponse::Success => return Ok(Step::Done),
                KeyboardInteractiveAuthResponse::Failure {
                    partial_success: true,
                    ..
                } => return Ok(Step::Partial),
                // Something typed was wrong. Never try again on our own, nor with another method
                // (one more failure in the site's count): the user decides.
                KeyboardInteractiveAuthResponse::Failure { .. } if answered => {
                    return Err(SshError::CodeRejected {
                        destination: self.destination.clone(),
                    });
                }
                KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(Step::Next),
                KeyboardInteractiveAuthResponse::InfoRequest {
                    name,
                    instructions,
                    prompts,
                } => (name, instructions, prompts),
            };
            // Servers send empty rounds (PAM info messages, for instance); they take an empty reply.
            let responses: Vec<String> = if prompts.is_empty() {
                Vec::new()
            } else {
                let count = prompts.len();
                let kind = QuestionKind::KeyboardInteractive {
                    destination: self.destination.clone(),
                    name,
                    instructions,
                    prompts: prompts
                        .into_iter()
                        .map(|p| Prompt {
                            text: p.prompt,
                            echo: p.echo,
                        })
                        .collect(),
                };
                match self.questions.ask(kind).await {
                    Answer::Texts(texts) if texts.len() == count => {
                        answered = true;
                        // russh takes plain Strings; ours are zeroized when dropped here.
                        texts.iter().map(|t| t.as_str().to_owned()).collect()
                    }
                    _ => return Err(SshError::Cancelled),
                }
            };
            response = match self
                .handle
                .authenticate_keyboard_interactive_respond(responses)
                .await
            {
                Ok(r) => r,
                Err(e) => return Err(self.protocol(e)),
            };
        }
    }

    async fn password(&mut self) -> Result<Step, SshError> {
        let answer = self
            .questions
            .ask(QuestionKind::Password {
                destination: self.destination.clone(),
            })
            .await;
        let Answer::Texts(mut texts) = answer else {
            return Err(SshError::Cancelled);
        };
        let Some(password) = texts.pop() else {
            return Err(SshError::Cancelled);
        };
        let result = self
            .handle
            .authenticate_password(self.user, password.as_str())
            .await;
        match result.map(step) {
            Ok(Step::Next) => Err(SshError::CodeRejected {
                destination: self.destination.clone(),
            }),
            Ok(other) => Ok(other),
            Err(e) => Err(self.protocol(e)),
        }
    }
}

fn load_certificate(path: &Path) -> Result<Certificate, SshError> {
    let cert = certificate::load(path)?;
    let now = certificate::now();
    if now >= cert.valid_before() {
        return Err(SshError::CertificateExpired {
            path: path.to_owned(),
            expired: utc(cert.valid_before()),
        });
    }
    if now < cert.valid_after() {
        return Err(SshError::CertificateNotYetValid {
            path: path.to_owned(),
            valid_from: utc(cert.valid_after()),
        });
    }
    Ok(cert)
}

/// A UTC date and time for messages, without pulling in a date crate for one format.
fn utc(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), valid for every date a certificate carries.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Checks, before any login, that `path` (`~` allowed) is a private key Usine can use: that
/// it exists, and that it is not the public half. An encrypted key passes (its passphrase is
/// asked when logging in).
pub fn check_key_file(path: &Path) -> Result<(), SshError> {
    let path = crate::local_paths::expand(path);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SshError::KeyMissing { path });
        }
        Err(e) => {
            return Err(SshError::KeyUnreadable {
                path,
                reason: e.to_string(),
            });
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    if russh::keys::PublicKey::from_openssh(text.trim()).is_ok() {
        let private = path
            .to_str()
            .and_then(|p| p.strip_suffix(".pub"))
            .map(PathBuf::from)
            .filter(|p| p.is_file());
        return Err(SshError::PublicHalf { path, private });
    }
    match russh::keys::decode_secret_key(&text, None) {
        Ok(_) | Err(russh::keys::Error::KeyIsEncrypted) => Ok(()),
        Err(e) => Err(SshError::KeyUnreadable {
            path,
            reason: e.to_string(),
        }),
    }
}

/// Loads a private key; an encrypted one is opened with the passphrase from the keychain, or
/// with one the user types (kept in the keychain once it works).
async fn load_key(path: &Path, questions: &Questions) -> Result<PrivateKey, SshError> {
    let unreadable = |e: &dyn std::fmt::Display| SshError::KeyUnreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => return Ok(key),
        Err(russh::keys::Error::KeyIsEncrypted) => {}
        // A missing file or a public half is said plainly, with what to do.
        Err(e) => return Err(check_key_file(path).err().unwrap_or_else(|| unreadable(&e))),
    }
    let secret_id = path.display().to_string();
    if let Some(passphrase) = secrets::get(SecretKind::KeyPassphrase, &secret_id).await {
        if let Ok(key) = russh::keys::load_secret_key(path, Some(&passphrase)) {
            return Ok(key);
        }
        tracing::info!(key = %path.display(), "the keychain's passphrase no longer opens the key");
    }
    // A local passphrase may be retried: nothing reaches the server.
    for _ in 0..3 {
        let answer = questions
            .ask(QuestionKind::KeyPassphrase {
                key_path: secret_id.clone(),
            })
            .await;
        let Answer::Texts(mut texts) = answer else {
            return Err(SshError::Cancelled);
        };
        let Some(passphrase) = texts.pop() else {
            return Err(SshError::Cancelled);
        };
        match russh::keys::load_secret_key(path, Some(&passphrase)) {
            Ok(key) => {
                secrets::set(SecretKind::KeyPassphrase, &secret_id, &passphrase).await;
                return Ok(key);
            }
            Err(russh::keys::Error::KeyIsEncrypted | russh::keys::Error::SshKey(_)) => continue,
            Err(e) => return Err(unreadable(&e)),
        }
    }
    Err(SshError::WrongPassphrase {
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        // 2020-01-02 00:00 UTC, the expired lab certificate's end.
        assert_eq!(super::utc(1_577_923_200), "2020-01-02 00:00 UTC");
        assert_eq!(super::utc(1_795_869_386), "2026-11-28 12:36 UTC");
    }
}
