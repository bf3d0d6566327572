//! Why a connection failed, in words a non-expert can act on. No variant ever carries a secret.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error(
        "Cannot reach {host} on port {port} ({reason}). Check your internet connection; some \
         clusters are only reachable from your institution's network or VPN."
    )]
    Unreachable {
        host: String,
        port: u16,
        reason: String,
    },

    #[error(
        "{host} did not answer within {seconds} s. The network may be slow or the cluster may \
         be down: try again in a few minutes, and check the site's status page."
    )]
    TimedOut { host: String, seconds: u64 },

    #[error(
        "Refusing to connect: the identity key of {host} (port {port}) is not the one recorded \
         in {} (line {line}). Either the cluster's administrators replaced their key (check the \
         site's announcements or ask its support), or someone is intercepting your connection. \
         If the site confirms the new key {fingerprint}, remove that line and connect again.",
         file.display()
    )]
    HostKeyChanged {
        host: String,
        port: u16,
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },

    #[error(
        "Refusing to connect: the key {fingerprint} of {host} is marked as revoked in {}. \
         Contact the site's support.", file.display()
    )]
    HostKeyRevoked {
        host: String,
        fingerprint: String,
        file: PathBuf,
    },

    #[error(
        "Not connected: you did not confirm the identity of {host} ({fingerprint}). Compare it \
         with the fingerprint the site publishes, then connect again."
    )]
    HostKeyNotTrusted { host: String, fingerprint: String },

    #[error(
        "{destination} did not accept the password or one-time code. Nothing was retried, so \
         your account is not at risk of being locked: wait for a new code and connect again."
    )]
    CodeRejected { destination: String },

    #[error(
        "{destination} did not accept any of your login methods ({tried}). Check your user name \
         and that your public key is registered on the site's portal (registration can take a \
         while to reach the cluster)."
    )]
    AuthRejected { destination: String, tried: String },

    #[error(
        "Your SSH certificate {} expired on {expired}. Get a new one from the site (for \
         example with its certificate tool or portal), then connect again.", path.display()
    )]
    CertificateExpired { path: PathBuf, expired: String },

    #[error(
        "Your SSH certificate {} is not valid before {valid_from}. Check your computer's clock.",
        path.display()
    )]
    CertificateNotYetValid { path: PathBuf, valid_from: String },

    #[error("The passphrase for {} is not right. Try again.", path.display())]
    WrongPassphrase { path: PathBuf },

    #[error("Cannot use the key file {}: {reason}", path.display())]
    KeyUnreadable { path: PathBuf, reason: String },

    #[error("No SSH agent is running (SSH_AUTH_SOCK is not set or does not answer): {reason}")]
    NoAgent { reason: String },

    #[error("Login cancelled.")]
    Cancelled,

    #[error(
        "The connection to {host} broke ({reason}). Usine will offer to reconnect; check your \
         network if this repeats."
    )]
    Disconnected { host: String, reason: String },

    #[error("SSH protocol problem with {host}: {reason}")]
    Protocol { host: String, reason: String },
}
