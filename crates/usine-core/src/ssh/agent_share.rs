//! Lends a browser login's key and certificate to the person's own ssh-agent, for as long as
//! the certificate lasts, so that their terminal, VS Code or `rsync` log in with it too.
//! russh's agent client adds plain keys only, so the one message needed is written here, as
//! the agent protocol (draft-miller-ssh-agent, 3.2) defines it: SSH_AGENTC_ADD_ID_CONSTRAINED
//! with the certificate, the ed25519 key pair and a lifetime constraint.

use std::time::Duration;

use super::{IssuedCertificate, SessionKey, SshError};

const ADD_ID_CONSTRAINED: u8 = 25;
const CONSTRAIN_LIFETIME: u8 = 1;
const SUCCESS: u8 = 6;

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The request's bytes (length-prefixed); `None` if the key is not ed25519.
fn request(
    key: &SessionKey,
    certificate: &IssuedCertificate,
    lifetime: Duration,
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let pair = key.0.key_data().ed25519()?;
    let cert = certificate.0.to_bytes().ok()?;
    let mut body = zeroize::Zeroizing::new(vec![ADD_ID_CONSTRAINED]);
    string(&mut body, b"ssh-ed25519-cert-v01@openssh.com");
    string(&mut body, &cert);
    string(&mut body, pair.public.as_ref());
    string(
        &mut body,
        zeroize::Zeroizing::new(pair.to_bytes()).as_slice(),
    );
    string(&mut body, b"usine browser login");
    body.push(CONSTRAIN_LIFETIME);
    let seconds = u32::try_from(lifetime.as_secs().max(1)).unwrap_or(u32::MAX);
    body.extend_from_slice(&seconds.to_be_bytes());
    let mut framed = zeroize::Zeroizing::new(Vec::with_capacity(body.len() + 4));
    string(&mut framed, &body);
    Some(framed)
}

/// Adds the key and certificate to the agent at `SSH_AUTH_SOCK`, to be forgotten by the agent
/// after `lifetime`.
#[cfg(unix)]
pub async fn lend(
    key: &SessionKey,
    certificate: &IssuedCertificate,
    lifetime: Duration,
) -> Result<(), SshError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let no_agent = |reason: String| SshError::NoAgent { reason };
    let socket = std::env::var_os("SSH_AUTH_SOCK")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| no_agent("SSH_AUTH_SOCK is not set".into()))?;
    let bytes = request(key, certificate, lifetime)
        .ok_or_else(|| no_agent("only ed25519 session keys can be lent".into()))?;
    let mut stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(|e| no_agent(e.to_string()))?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| no_agent(e.to_string()))?;
    let mut head = [0u8; 5];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| no_agent(e.to_string()))?;
    if head[4] == SUCCESS {
        Ok(())
    } else {
        Err(no_agent("the agent refused the certificate".into()))
    }
}

#[cfg(not(unix))]
pub async fn lend(
    _key: &SessionKey,
    _certificate: &IssuedCertificate,
    _lifetime: Duration,
) -> Result<(), SshError> {
    Err(SshError::NoAgent {
        reason: "lending a certificate to the agent is not available on this system yet".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_framed_with_its_lifetime_last() {
        let key = SessionKey::generate();
        let cert =
            IssuedCertificate::parse(include_str!("../../tests/samples/ssh-user-cert-efp.pub"))
                .unwrap();
        let bytes = request(&key, &cert, Duration::from_secs(3600)).unwrap();
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(len + 4, bytes.len());
        assert_eq!(bytes[4], ADD_ID_CONSTRAINED);
        assert_eq!(bytes[bytes.len() - 5], CONSTRAIN_LIFETIME);
        assert_eq!(&bytes[bytes.len() - 4..], 3600u32.to_be_bytes());
    }
}
