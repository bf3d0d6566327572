//! A new ed25519 key for people who never made one: encrypted with a passphrase, files only the
//! user can read, and the passphrase kept in the keychain so that nobody has to type it.

use std::path::{Path, PathBuf};

use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use russh::keys::ssh_key::{Algorithm, LineEnding, PrivateKey};
use zeroize::Zeroizing;

use super::host_keys::fingerprint_sha256;
use crate::secrets::{self, SecretKind};

/// Where the passphrase comes from.
pub enum Passphrase {
    /// A random one, stored only in the keychain (the user never sees or types it).
    Generated,
    /// One the user chose; it is kept in the keychain as well, when possible.
    Chosen(Zeroizing<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedKey {
    #[ts(type = "string")]
    pub private_path: PathBuf,
    #[ts(type = "string")]
    pub public_path: PathBuf,
    /// The line to paste into the site's portal.
    pub public_openssh: String,
    pub fingerprint: String,
    /// Whether the keychain holds the passphrase (false: the user must remember it).
    pub passphrase_in_keychain: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("{}", crate::tr!(
        en: "{} already exists; Usine never overwrites a key. Choose another name.",
        fr: "{} existe déjà ; Usine n'écrase jamais une clé. Choisissez un autre nom.",
        .0.display()
    ))]
    Exists(PathBuf),
    #[error("{}", crate::tr!(
        en: "The system keychain is not available, so a generated passphrase could not be kept. Choose a passphrase yourself (and keep it safe), or start the keychain and try again.",
        fr: "Le trousseau du système n'est pas disponible : une phrase secrète générée ne pourrait pas y être gardée. Choisissez vous-même une phrase secrète (et gardez-la en lieu sûr), ou démarrez le trousseau et réessayez."
    ))]
    NoKeychain,
    #[error("{}", crate::tr!(
        en: "Could not write the key to {}: {}",
        fr: "Impossible d'écrire la clé dans {} : {}",
        .path.display(), .reason
    ))]
    Write { path: PathBuf, reason: String },
}

/// Where a new key goes unless the user chooses: `~/.ssh/id_usine_ed25519`.
pub fn default_path() -> PathBuf {
    std::env::home_dir()
        .unwrap_or_default()
        .join(".ssh")
        .join("id_usine_ed25519")
}

/// `path`, or `path-2`, `path-3`, … : the first name where neither the key nor its `.pub` exists.
pub fn free_path(path: &Path) -> PathBuf {
    let taken = |p: &Path| p.exists() || p.with_extension("pub").exists();
    if !taken(path) {
        return path.to_owned();
    }
    (2..)
        .map(|n| PathBuf::from(format!("{}-{n}", path.display())))
        .find(|p| !taken(p))
        .expect("an unused name exists")
}

/// Writes `path` (private, 0600) and `path.pub`, encrypted with the passphrase.
pub async fn generate_ed25519(
    path: &Path,
    comment: &str,
    passphrase: Passphrase,
) -> Result<GeneratedKey, KeygenError> {
    let public_path = path.with_extension(match path.extension() {
        Some(ext) => format!("{}.pub", ext.to_string_lossy()),
        None => "pub".to_owned(),
    });
    for p in [path, public_path.as_path()] {
        if p.exists() {
            return Err(KeygenError::Exists(p.to_owned()));
        }
    }
    let write_err = |p: &Path, e: &dyn std::fmt::Display| KeygenError::Write {
        path: p.to_owned(),
        reason: e.to_string(),
    };

    let mut rng = UnwrapErr(SysRng);
    let (secret, generated) = match passphrase {
        Passphrase::Generated => (random_passphrase(), true),
        Passphrase::Chosen(p) => (p, false),
    };
    let id = path.display().to_string();
    let kept = secrets::set(SecretKind::KeyPassphrase, &id, &secret).await;
    if generated && !kept {
        return Err(KeygenError::NoKeychain);
    }

    let mut key =
        PrivateKey::random(&mut rng, Algorithm::Ed25519).map_err(|e| write_err(path, &e))?;
    key.set_comment(comment);
    let encrypted = key
        .encrypt(&mut rng, secret.as_bytes())
        .map_err(|e| write_err(path, &e))?;
    let private_text = encrypted
        .to_openssh(LineEnding::LF)
        .map_err(|e| write_err(path, &e))?;
    let public = key.public_key();
    let public_openssh = public.to_openssh().map_err(|e| write_err(path, &e))?;

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| write_err(dir, &e))?;
    }
    write_new(path, private_text.as_bytes(), 0o600).map_err(|e| write_err(path, &e))?;
    write_new(
        &public_path,
        format!("{public_openssh}\n").as_bytes(),
        0o644,
    )
    .map_err(|e| write_err(&public_path, &e))?;
    Ok(GeneratedKey {
        private_path: path.to_owned(),
        public_path,
        public_openssh,
        fingerprint: fingerprint_sha256(public),
        passphrase_in_keychain: kept,
    })
}

fn random_passphrase() -> Zeroizing<String> {
    use getrandom::rand_core::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = UnwrapErr(SysRng);
    // 32 characters from 57: about 186 bits.
    Zeroizing::new(
        (0..32)
            .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
            .collect(),
    )
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates `path`, failing if it exists; on Unix with `mode` from the first byte written.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_chosen_passphrase_key_is_private_encrypted_and_readable_by_openssh() {
        let dir = std::env::temp_dir().join(format!("usine-keygen-{}", std::process::id()));
        let path = dir.join("keys").join("id_usine");
        let key = generate_ed25519(
            &path,
            "ana@laptop",
            Passphrase::Chosen(Zeroizing::new("correct horse".into())),
        )
        .await
        .unwrap();
        assert_eq!(key.public_path, dir.join("keys").join("id_usine.pub"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&dir.join("keys")), 0o700);
        }
        // Encrypted: unreadable without the passphrase, and OpenSSH derives the same public key.
        assert!(matches!(
            russh::keys::load_secret_key(&path, None),
            Err(russh::keys::Error::KeyIsEncrypted)
        ));
        let out = std::process::Command::new("ssh-keygen")
            .args(["-y", "-P", "correct horse", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        let derived = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            derived.split_whitespace().nth(1),
            key.public_openssh.split_whitespace().nth(1)
        );
        assert!(key.public_openssh.ends_with("ana@laptop"));

        // Never overwritten.
        let again =
            generate_ed25519(&path, "x", Passphrase::Chosen(Zeroizing::new("p".into()))).await;
        assert!(matches!(again, Err(KeygenError::Exists(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn free_path_never_points_at_an_existing_key() {
        let dir = std::env::temp_dir().join(format!("usine-freepath-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("id");
        assert_eq!(free_path(&base), base);
        std::fs::write(dir.join("id.pub"), "").unwrap();
        std::fs::write(dir.join("id-2"), "").unwrap();
        assert_eq!(free_path(&base), dir.join("id-3"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generated_passphrases_are_long_and_different() {
        let (a, b) = (random_passphrase(), random_passphrase());
        assert_eq!(a.len(), 32);
        assert_ne!(*a, *b);
    }
}
