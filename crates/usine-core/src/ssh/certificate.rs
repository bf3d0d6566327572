//! OpenSSH user certificates: when they stop working, so the user hears it before a login fails.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::keys::Certificate;
use serde::Serialize;
use ts_rs::TS;

use super::SshError;

/// A certificate this close to its end is flagged (sites issue 12- to 24-hour certificates).
pub const EXPIRY_WARNING: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CertificateState {
    Valid,
    ExpiresSoon,
    Expired,
    NotYetValid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    pub state: CertificateState,
    /// End of validity, seconds since the Unix epoch (UTC).
    #[ts(type = "number")]
    pub valid_before: u64,
}

pub(super) fn load(path: &Path) -> Result<Certificate, SshError> {
    russh::keys::load_openssh_certificate(path).map_err(|e| SshError::KeyUnreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Seconds since the Unix epoch, as certificates count.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where the certificate at `path` stands now.
pub fn status(path: &Path) -> Result<CertificateStatus, SshError> {
    let cert = load(path)?;
    Ok(status_at(cert.valid_after(), cert.valid_before(), now()))
}

/// Where a certificate valid from `valid_after` to `valid_before` stands now.
pub fn status_of(valid_after: u64, valid_before: u64) -> CertificateStatus {
    status_at(valid_after, valid_before, now())
}

fn status_at(valid_after: u64, valid_before: u64, now: u64) -> CertificateStatus {
    let state = if now < valid_after {
        CertificateState::NotYetValid
    } else if now >= valid_before {
        CertificateState::Expired
    } else if valid_before - now < EXPIRY_WARNING.as_secs() {
        CertificateState::ExpiresSoon
    } else {
        CertificateState::Valid
    };
    CertificateStatus {
        state,
        valid_before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_around_the_validity_window() {
        let s = |now| status_at(1000, 10_000, now).state;
        assert_eq!(s(999), CertificateState::NotYetValid);
        assert_eq!(s(1000), CertificateState::Valid);
        assert_eq!(s(10_000 - 3601), CertificateState::Valid);
        assert_eq!(s(10_000 - 3599), CertificateState::ExpiresSoon);
        assert_eq!(s(10_000), CertificateState::Expired);
    }
}
