//! The private file a session's job writes once its server listens: `host port token`.
//! It comes from the cluster, so it is read without trusting it: a name that is not a plain
//! host name, a port out of range or a token that is not the script's hex is no session.

/// Where a session's server listens, and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Listening {
    /// The node, as Slurm names it (checked to be one of the job's nodes before use).
    pub host: String,
    pub port: u16,
    pub token: String,
}

// The token never reaches a log, even through `{:?}`.
impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("token", &"<hidden>")
            .finish()
    }
}

/// The first line of the file, or `None` when it is not what the session script writes.
pub fn parse(bytes: &[u8]) -> Option<Listening> {
    let line = std::str::from_utf8(bytes).ok()?.lines().next()?;
    let mut words = line.split(' ');
    let (host, port, token) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('-')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    let token_ok =
        (16..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_hexdigit());
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    (host_ok && token_ok).then(|| Listening {
        host: host.to_owned(),
        port,
        token: token.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_reads_back_and_anything_else_is_refused() {
        let l = parse(b"gpu-node-17 41234 0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!((l.host.as_str(), l.port), ("gpu-node-17", 41234));
        assert!(!format!("{l:?}").contains("0123456789abcdef"));
        for bad in [
            &b""[..],
            b"node 0 0123456789abcdef",
            b"node 70000 0123456789abcdef",
            b"node 80 short",
            b"-oProxyCommand=x 80 0123456789abcdef",
            b"no;de 80 0123456789abcdef",
            b"node 80 0123456789abcdef extra",
            b"node 80 0123456789abcdeg",
            b"\xff\xfe 80 0123456789abcdef",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
