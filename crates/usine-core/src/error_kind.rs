//! What kind of trouble an error is, besides what its message says, so that a screen can react
//! (offer Connect, point at the field to fix, say the work is under way elsewhere) instead of
//! only printing text. Every error a use case returns says its kind; the app sends
//! `{ kind, message }`, the message already in the person's language and saying what to do.

use serde::Serialize;
use ts_rs::TS;

use crate::browser_login::LoginError;
use crate::cluster::ClusterError;
use crate::gpu::chart::ChartError;
use crate::gpu::export::ExportError;
use crate::jobs::sbatch::{RenderError, ScriptFileError};
use crate::jobs::scheduler::JobError;
use crate::onboarding::GuideError;
use crate::settings::SettingsError;
use crate::ssh::SshError;
use crate::ssh::keygen::KeygenError;
use crate::store::StoreError;
use crate::transfer::{ClusterTransferError, TransferError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The cluster cannot be reached or is not connected now: connecting again may help.
    Offline,
    /// The cluster or the site said no: a login, a job, an upload refused.
    Refused,
    /// Logging in needs the person (a code, a password, a host key to trust).
    NeedsYou,
    /// What was asked for is not there (a job, a draft, a cluster, a file).
    NotFound,
    /// Something typed or chosen is not right: change it and try again.
    Invalid,
    /// The same work is under way elsewhere (another window, a command).
    Busy,
    /// This computer failed: its disk, its keychain, Usine's database.
    Local,
}

/// An error that says its [`ErrorKind`].
pub trait HasKind {
    fn kind(&self) -> ErrorKind;
}

use ErrorKind::*;

impl HasKind for SshError {
    fn kind(&self) -> ErrorKind {
        match self {
            SshError::Unreachable { .. }
            | SshError::PortClosed { .. }
            | SshError::TimedOut { .. }
            | SshError::Disconnected { .. }
            | SshError::Protocol { .. } => Offline,
            SshError::UnknownHost { .. } => Invalid,
            SshError::HostKeyNotTrusted { .. } | SshError::Cancelled => NeedsYou,
            SshError::HostKeyChanged { .. }
            | SshError::HostKeyRevoked { .. }
            | SshError::CodeRejected { .. }
            | SshError::AuthRejected { .. }
            | SshError::CertificateExpired { .. }
            | SshError::CertificateNotYetValid { .. }
            | SshError::BadCertificate { .. }
            | SshError::NotForwarded { .. } => Refused,
            SshError::WrongPassphrase { .. }
            | SshError::KeyMissing { .. }
            | SshError::PublicHalf { .. }
            | SshError::KeyUnreadable { .. } => Invalid,
            SshError::NoAgent { .. } => Local,
        }
    }
}

impl HasKind for LoginError {
    fn kind(&self) -> ErrorKind {
        match self {
            LoginError::Unreachable { .. } | LoginError::Unexpected { .. } => Offline,
            LoginError::NeedsYou | LoginError::Cancelled | LoginError::BrowserTimedOut { .. } => {
                NeedsYou
            }
            LoginError::NoProvisioner { .. }
            | LoginError::Provider { .. }
            | LoginError::NoDeviceFlow { .. }
            | LoginError::WrongPrincipal { .. } => Invalid,
            LoginError::PortTaken { .. } | LoginError::Local { .. } => Local,
            LoginError::FingerprintChanged { .. }
            | LoginError::CodeExpired
            | LoginError::Denied { .. }
            | LoginError::StateMismatch
            | LoginError::TokenRejected { .. }
            | LoginError::CaRefused { .. }
            | LoginError::NoEntitlement { .. }
            | LoginError::Certificate(_) => Refused,
        }
    }
}

impl HasKind for StoreError {
    fn kind(&self) -> ErrorKind {
        Local
    }
}

impl HasKind for ClusterError {
    fn kind(&self) -> ErrorKind {
        match self {
            ClusterError::Unknown(_) | ClusterError::NotInSshConfig(_) => NotFound,
            ClusterError::Exists(_)
            | ClusterError::Incomplete
            | ClusterError::BadJump(_)
            | ClusterError::UnknownSite(_) => Invalid,
            ClusterError::NeedsUser(_) => NeedsYou,
            ClusterError::ReconnectFailed { .. } => Offline,
            ClusterError::Store(e) => e.kind(),
            ClusterError::Ssh(e) => e.kind(),
            ClusterError::Login(e) => e.kind(),
        }
    }
}

impl HasKind for JobError {
    fn kind(&self) -> ErrorKind {
        match self {
            JobError::Ssh(e) => e.kind(),
            JobError::Store(e) => e.kind(),
            JobError::Cluster(e) => e.kind(),
            JobError::Transfer(e) => e.kind(),
            JobError::Rejected(_) | JobError::TooManyInputs(_) => Refused,
            JobError::Scheduler(_) | JobError::Offline(_) => Offline,
            JobError::Local(_) => Local,
            JobError::BeingSent => Busy,
            JobError::NotFound(_) | JobError::NoTemplate(_) => NotFound,
        }
    }
}

impl HasKind for TransferError {
    fn kind(&self) -> ErrorKind {
        match self {
            TransferError::NoSpace { .. }
            | TransferError::Full(_)
            | TransferError::Remote { .. } => Refused,
            TransferError::Source(..) | TransferError::NoName(_) | TransferError::NoOutputs(_) => {
                Invalid
            }
            TransferError::AlreadyRunning(_) => Busy,
            TransferError::UnknownTransfer(_) => NotFound,
            TransferError::Interrupted(e) => e.kind(),
            TransferError::Store(_) => Local,
        }
    }
}

impl HasKind for ClusterTransferError {
    fn kind(&self) -> ErrorKind {
        match self {
            ClusterTransferError::Transfer(e) => e.kind(),
            ClusterTransferError::Cluster(e) => e.kind(),
        }
    }
}

impl HasKind for ExportError {
    fn kind(&self) -> ErrorKind {
        match self {
            ExportError::NoSamples => NotFound,
            ExportError::Exists(_) | ExportError::Format(_) => Invalid,
            ExportError::Write(..) | ExportError::Chart(_) => Local,
            ExportError::Store(e) => e.kind(),
        }
    }
}

impl HasKind for ChartError {
    fn kind(&self) -> ErrorKind {
        Local
    }
}

impl HasKind for RenderError {
    fn kind(&self) -> ErrorKind {
        Invalid
    }
}

impl HasKind for ScriptFileError {
    fn kind(&self) -> ErrorKind {
        Invalid
    }
}

impl HasKind for GuideError {
    fn kind(&self) -> ErrorKind {
        match self {
            GuideError::UnknownSite(_) => NotFound,
            GuideError::NoUser | GuideError::BadUser => Invalid,
            GuideError::Cluster(e) => e.kind(),
            GuideError::Store(e) => e.kind(),
        }
    }
}

impl HasKind for SettingsError {
    fn kind(&self) -> ErrorKind {
        match self {
            SettingsError::OutOfRange { .. } => Invalid,
            SettingsError::Store(e) => e.kind(),
        }
    }
}

impl HasKind for KeygenError {
    fn kind(&self) -> ErrorKind {
        match self {
            KeygenError::Exists(_) => Invalid,
            KeygenError::NoKeychain | KeygenError::Write { .. } => Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_not_connected_is_offline_and_a_refused_code_is_refused() {
        assert_eq!(JobError::Offline("lab".into()).kind(), Offline);
        let code = SshError::CodeRejected {
            destination: "lab".into(),
        };
        assert_eq!(JobError::Cluster(ClusterError::Ssh(code)).kind(), Refused);
        assert_eq!(JobError::BeingSent.kind(), Busy);
        assert_eq!(
            TransferError::NoName("/".into()).kind(),
            Invalid,
            "a field to fix"
        );
    }
}
