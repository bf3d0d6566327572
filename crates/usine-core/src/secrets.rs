//! The only place secrets are kept: the operating system's keychain, through `keyring`.
//! Nothing here ever writes a secret to disk or to a log; when the keychain is unavailable,
//! the secret is simply not kept and the user is asked again next time.

use zeroize::Zeroizing;

const SERVICE: &str = "usine";

/// What a secret is for; part of its name in the keychain, so entries are easy to recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The passphrase of a private key file (id: the key's path).
    KeyPassphrase,
    /// A browser login's refresh token (id: the cluster's name).
    RefreshToken,
}

impl SecretKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::KeyPassphrase => "key-passphrase",
            Self::RefreshToken => "refresh-token",
        }
    }
}

fn account(kind: SecretKind, id: &str) -> String {
    format!("{}:{id}", kind.prefix())
}

/// Reads a secret; `None` when there is none or the keychain cannot be reached.
pub async fn get(kind: SecretKind, id: &str) -> Option<Zeroizing<String>> {
    let account = account(kind, id);
    // The keychain may block on D-Bus or a macOS prompt: keep it off the async threads.
    tokio::task::spawn_blocking(move || {
        let entry = keyring::Entry::new(SERVICE, &account).ok()?;
        match entry.get_password() {
            Ok(secret) => Some(Zeroizing::new(secret)),
            Err(keyring::Error::NoEntry) => None,
            Err(error) => {
                tracing::info!(%error, %account, "keychain read failed");
                None
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// Stores a secret; returns whether the keychain kept it.
pub async fn set(kind: SecretKind, id: &str, secret: &str) -> bool {
    let account = account(kind, id);
    let secret = Zeroizing::new(secret.to_owned());
    tokio::task::spawn_blocking(move || {
        let result = keyring::Entry::new(SERVICE, &account).and_then(|e| e.set_password(&secret));
        if let Err(error) = &result {
            tracing::info!(%error, %account, "keychain write failed; the secret is not kept");
        }
        result.is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Removes a secret; true when none is left.
pub async fn delete(kind: SecretKind, id: &str) -> bool {
    let account = account(kind, id);
    tokio::task::spawn_blocking(move || {
        match keyring::Entry::new(SERVICE, &account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => true,
            Err(error) => {
                tracing::info!(%error, %account, "keychain delete failed");
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}
