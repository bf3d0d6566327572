//! A key made for one login session and the certificate a CA issued for it, both held only in
//! memory: nothing of them is ever written to disk, so a stolen laptop holds nothing that
//! outlives the certificate.

use std::fmt;
use std::sync::Arc;

use base64ct::{Base64, Encoding};
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use russh::keys::Certificate;
use russh::keys::ssh_key::{Algorithm, PrivateKey};

use super::SshError;

/// A fresh ed25519 key (what every CA accepts, EFP's sshca only that).
#[derive(Clone)]
pub struct SessionKey(pub(super) Arc<PrivateKey>);

impl SessionKey {
    pub fn generate() -> Self {
        let key = PrivateKey::random(&mut UnwrapErr(SysRng), Algorithm::Ed25519)
            .expect("ed25519 key generation cannot fail with the system's random source");
        Self(Arc::new(key))
    }

    /// The public key as an `authorized_keys` line, named so site logs show where it came from.
    pub fn public_line(&self) -> String {
        let mut public = self.0.public_key().clone();
        public.set_comment("usine");
        public.to_openssh().unwrap_or_default()
    }

    /// The public key's SSH wire encoding in base64 (step-ca's `publicKey`).
    pub fn public_wire_base64(&self) -> String {
        self.public_line()
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    }

    /// OpenSSH's `SHA256:…` fingerprint, for logs.
    pub fn fingerprint(&self) -> String {
        self.0
            .public_key()
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string()
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.fingerprint())
    }
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.public_key() == other.0.public_key()
    }
}

impl Eq for SessionKey {}

/// An OpenSSH user certificate as a CA returned it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCertificate(pub(super) Arc<Certificate>);

impl IssuedCertificate {
    /// From `ssh-ed25519-cert-v01@openssh.com AAAA… [comment]` or from the bare base64 of its
    /// wire form (step-ca's `crt`).
    pub fn parse(text: &str) -> Result<Self, SshError> {
        let text = text.trim();
        let bad = |e: &dyn fmt::Display| SshError::BadCertificate {
            reason: e.to_string(),
        };
        let cert = if text.contains(' ') {
            Certificate::from_openssh(text).map_err(|e| bad(&e))?
        } else {
            let wire = Base64::decode_vec(text).map_err(|e| bad(&e))?;
            Certificate::from_bytes(&wire).map_err(|e| bad(&e))?
        };
        Ok(Self(Arc::new(cert)))
    }

    /// Whether the certificate is for `key` (a CA could answer with another key's certificate).
    pub fn certifies(&self, key: &SessionKey) -> bool {
        self.0.public_key() == key.0.public_key().key_data()
    }

    pub fn principals(&self) -> &[String] {
        self.0.valid_principals()
    }

    /// Seconds since the Unix epoch.
    pub fn valid_after(&self) -> u64 {
        self.0.valid_after()
    }

    /// Seconds since the Unix epoch.
    pub fn valid_before(&self) -> u64 {
        self.0.valid_before()
    }

    pub fn key_id(&self) -> &str {
        self.0.key_id()
    }

    /// An extension's value (OpenSSH and Go's x/crypto/ssh both wrap it in a string, which
    /// `ssh-key` unwraps).
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.0.extensions().get(name).map(String::as_str)
    }
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IssuedCertificate({:?} for {:?} until {})",
            self.key_id(),
            self.principals(),
            self.valid_before()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_print_as_authorized_keys_lines() {
        let (a, b) = (SessionKey::generate(), SessionKey::generate());
        assert_ne!(a, b);
        assert!(a.public_line().starts_with("ssh-ed25519 AAAA"));
        assert!(a.public_line().ends_with(" usine"));
        assert!(a.public_line().contains(&a.public_wire_base64()));
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }

    #[test]
    fn what_is_not_a_certificate_is_refused_plainly() {
        for bad in [
            "",
            "AAAA",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",
            "not base64 !",
        ] {
            assert!(
                matches!(
                    IssuedCertificate::parse(bad),
                    Err(SshError::BadCertificate { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
