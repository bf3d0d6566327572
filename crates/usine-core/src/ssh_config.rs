//! Importing hosts from OpenSSH's `~/.ssh/config`, resolved the way `ssh` resolves them: the
//! first value obtained wins, `Host` patterns with `*`, `?` and `!`, `Include` (with globs,
//! relative to `~/.ssh`). What cannot be imported (`Match` blocks, unknown tokens) is reported,
//! never silently dropped.

use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::cluster::{ClusterSettings, Jump, Login};

/// One concrete `Host` entry, with every setting that applies to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportedHost {
    /// The name after `Host`.
    pub alias: String,
    /// `HostName`, or the alias itself.
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    #[ts(type = "string | null")]
    pub identity_file: Option<PathBuf>,
    #[ts(type = "string | null")]
    pub certificate_file: Option<PathBuf>,
    /// `ProxyJump` hops, in order (aliases or `[user@]host[:port]`).
    pub proxy_jump: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Import {
    pub hosts: Vec<ImportedHost>,
    /// What was not understood or not supported, with the file and line.
    pub notes: Vec<String>,
}

/// A flattened config: `(file, line number, keyword, value)`, Includes spliced in place.
type Lines = Vec<(PathBuf, usize, String, String)>;

/// Reads `path` (usually `~/.ssh/config`) and every file it includes.
pub fn import(path: &Path) -> Import {
    let home = std::env::home_dir().unwrap_or_default();
    let mut notes = Vec::new();
    let mut lines = Lines::new();
    read(path, &home, 0, &mut lines, &mut notes);
    resolve(&lines, &home, notes)
}

fn read(path: &Path, home: &Path, depth: usize, out: &mut Lines, notes: &mut Vec<String>) {
    // OpenSSH stops at 16 levels; a loop would otherwise never end.
    if depth > 16 {
        notes.push(format!(
            "{}: Include nested too deeply; ignored",
            path.display()
        ));
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        if depth == 0 {
            notes.push(format!("{} cannot be read", path.display()));
        }
        return;
    };
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = split_keyword(line);
        if key.eq_ignore_ascii_case("include") {
            for pattern in value.split_whitespace() {
                for file in include_targets(pattern, home) {
                    read(&file, home, depth + 1, out, notes);
                }
            }
        } else {
            out.push((
                path.to_owned(),
                index + 1,
                key.to_ascii_lowercase(),
                value.to_owned(),
            ));
        }
    }
}

/// `Keyword value`, `Keyword=value` or `Keyword = "value"`.
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(end);
    let rest = rest.trim_start().strip_prefix('=').unwrap_or(rest).trim();
    (key, rest.trim_matches('"'))
}

fn include_targets(pattern: &str, home: &Path) -> Vec<PathBuf> {
    let expanded = expand_tilde(pattern, home);
    let full = if expanded.is_absolute() {
        expanded
    } else {
        home.join(".ssh").join(expanded)
    };
    let (Some(dir), Some(name)) = (full.parent(), full.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return vec![full];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| crate::ssh::host_pattern_matches(name, n))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn expand_tilde(value: &str, home: &Path) -> PathBuf {
    match value.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if value == "~" => home.to_owned(),
        None => PathBuf::from(value),
    }
}

fn host_matches(patterns: &str, alias: &str) -> bool {
    let mut matched = false;
    for p in patterns.split_whitespace() {
        if let Some(negated) = p.strip_prefix('!') {
            if crate::ssh::host_pattern_matches(negated, alias) {
                return false;
            }
        } else if crate::ssh::host_pattern_matches(p, alias) {
            matched = true;
        }
    }
    matched
}

fn resolve(lines: &Lines, home: &Path, mut notes: Vec<String>) -> Import {
    // Concrete aliases: Host patterns without wildcards or negation.
    let mut aliases: Vec<String> = Vec::new();
    for (file, line, key, value) in lines {
        match key.as_str() {
            "host" => {
                for p in value.split_whitespace() {
                    if !p.contains(['*', '?', '!']) && !aliases.iter().any(|a| a == p) {
                        aliases.push(p.to_owned());
                    }
                }
            }
            "match" => notes.push(format!(
                "{}:{line}: `Match {value}` is not supported; its settings were not imported",
                file.display()
            )),
            _ => {}
        }
    }
    let hosts = aliases
        .iter()
        .map(|alias| resolve_one(lines, home, alias))
        .collect();
    Import { hosts, notes }
}

fn resolve_one(lines: &Lines, home: &Path, alias: &str) -> ImportedHost {
    let mut active = true; // lines before the first Host apply to every host
    let mut get: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (_, _, key, value) in lines {
        match key.as_str() {
            "host" => active = host_matches(value, alias),
            "match" => active = false,
            k if active => {
                get.entry(k).or_insert(value.as_str());
            }
            _ => {}
        }
    }
    let host = get
        .get("hostname")
        .map_or(alias, |h| h)
        .replace("%h", alias);
    let user = get.get("user").map(|u| (*u).to_owned());
    let expand = |v: &str| {
        let v = v
            .replace("%d", &home.to_string_lossy())
            .replace("%h", &host)
            .replace("%r", user.as_deref().unwrap_or(""));
        expand_tilde(&v, home)
    };
    ImportedHost {
        alias: alias.to_owned(),
        port: get.get("port").and_then(|p| p.parse().ok()).unwrap_or(22),
        identity_file: get.get("identityfile").map(|v| expand(v)),
        certificate_file: get.get("certificatefile").map(|v| expand(v)),
        proxy_jump: get
            .get("proxyjump")
            .filter(|v| !v.eq_ignore_ascii_case("none"))
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default(),
        host,
        user,
    }
}

/// Clusters ready to add from the user's `~/.ssh/config`, with notes on what was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Candidates {
    pub clusters: Vec<ClusterSettings>,
    pub notes: Vec<String>,
}

/// The user's OpenSSH config file.
pub fn default_path() -> PathBuf {
    std::env::home_dir()
        .unwrap_or_default()
        .join(".ssh")
        .join("config")
}

/// Reads an OpenSSH config and proposes one cluster per concrete host.
pub fn candidates(path: &Path) -> Candidates {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    let found = import(path);
    Candidates {
        clusters: found
            .hosts
            .iter()
            .map(|h| to_cluster(h, &found.hosts, &user))
            .collect(),
        notes: found.notes,
    }
}

/// Turns an imported host into cluster settings; bastions that are aliases of the same config
/// are resolved through `all`. `default_user` fills in a missing `User` (OpenSSH uses the local
/// login name).
pub fn to_cluster(
    host: &ImportedHost,
    all: &[ImportedHost],
    default_user: &str,
) -> ClusterSettings {
    let login = |h: &ImportedHost| match &h.identity_file {
        Some(key) => Login::Key {
            key: key.clone(),
            certificate: h.certificate_file.clone(),
        },
        None => Login::Agent,
    };
    let jumps = host
        .proxy_jump
        .iter()
        .map(|hop| {
            let (user, rest) = match hop.split_once('@') {
                Some((u, r)) => (Some(u.to_owned()), r),
                None => (None, hop.as_str()),
            };
            let (name, port) = match rest.rsplit_once(':') {
                Some((n, p)) => (n, p.parse().ok()),
                None => (rest, None),
            };
            match all.iter().find(|h| h.alias == name) {
                Some(known) => Jump {
                    host: known.host.clone(),
                    port: port.unwrap_or(known.port),
                    user: user
                        .or(known.user.clone())
                        .unwrap_or_else(|| default_user.to_owned()),
                    login: login(known),
                },
                None => Jump {
                    host: name.to_owned(),
                    port: port.unwrap_or(22),
                    user: user.unwrap_or_else(|| default_user.to_owned()),
                    login: login(host),
                },
            }
        })
        .collect();
    ClusterSettings {
        name: host.alias.clone(),
        site: crate::sites::all()
            .into_iter()
            .find(|s| s.hosts.iter().any(|h| h == &host.host))
            .map(|s| s.id),
        host: host.host.clone(),
        port: host.port,
        user: host.user.clone().unwrap_or_else(|| default_user.to_owned()),
        login: login(host),
        jumps,
        rest_url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("usine-sshcfg-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        d
    }

    #[test]
    fn resolves_like_openssh_with_includes_wildcards_and_jumps() {
        let d = dir("full");
        std::fs::write(
            d.join("conf.d/10-lumi.conf"),
            "Host lumi\n  HostName lumi.csc.fi\n  User ana\n  IdentityFile ~/.ssh/id_lumi\n",
        )
        .unwrap();
        std::fs::write(
            d.join("config"),
            format!(
                "# my config\nInclude {}/conf.d/*.conf\n\
                 Host bastion\n  HostName gw.example.org\n  Port 2200\n  User ana\n\n\
                 Host leo\n  HostName login.leonardo.cineca.it\n  ProxyJump bastion\n  \
                 CertificateFile=~/.ssh/leo-cert.pub\n  IdentityFile \"~/.ssh/leo\"\n\
                 Match host *.internal\n  User nobody\n\
                 Host *\n  User fallback\n  Port 22\n",
                d.display()
            ),
        )
        .unwrap();
        let home = std::env::home_dir().unwrap();
        let import = import(&d.join("config"));
        let aliases: Vec<&str> = import.hosts.iter().map(|h| h.alias.as_str()).collect();
        assert_eq!(aliases, ["lumi", "bastion", "leo"]);
        let lumi = &import.hosts[0];
        assert_eq!(
            (lumi.host.as_str(), lumi.port, lumi.user.as_deref()),
            ("lumi.csc.fi", 22, Some("ana"))
        );
        assert_eq!(lumi.identity_file, Some(home.join(".ssh/id_lumi")));
        let leo = &import.hosts[2];
        // First value wins: `Host *` gives the user only where nothing set it before.
        assert_eq!(leo.user.as_deref(), Some("fallback"));
        assert_eq!(leo.certificate_file, Some(home.join(".ssh/leo-cert.pub")));
        assert_eq!(leo.proxy_jump, ["bastion"]);
        assert!(
            import
                .notes
                .iter()
                .any(|n| n.contains("Match host *.internal")),
            "{:?}",
            import.notes
        );

        let cluster = to_cluster(leo, &import.hosts, "me");
        assert_eq!(cluster.site.as_deref(), Some("leonardo"));
        assert_eq!(cluster.jumps.len(), 1);
        assert_eq!(
            (
                cluster.jumps[0].host.as_str(),
                cluster.jumps[0].port,
                cluster.jumps[0].user.as_str()
            ),
            ("gw.example.org", 2200, "ana")
        );
        assert!(matches!(
            cluster.login,
            Login::Key {
                certificate: Some(_),
                ..
            }
        ));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn negated_patterns_hostname_tokens_and_literal_jumps() {
        let d = dir("neg");
        std::fs::write(
            d.join("config"),
            "Host *.hpc !secret.hpc\n  User shared\nHost a.hpc secret.hpc\n  HostName %h.example.eu\n  ProxyJump me@jump.example.eu:2022,none-such\n",
        )
        .unwrap();
        let import = import(&d.join("config"));
        let a = import.hosts.iter().find(|h| h.alias == "a.hpc").unwrap();
        let s = import
            .hosts
            .iter()
            .find(|h| h.alias == "secret.hpc")
            .unwrap();
        assert_eq!(a.user.as_deref(), Some("shared"));
        assert_eq!(s.user, None);
        assert_eq!(a.host, "a.hpc.example.eu");
        let cluster = to_cluster(a, &import.hosts, "local");
        assert_eq!(cluster.jumps[0].host, "jump.example.eu");
        assert_eq!(
            (cluster.jumps[0].port, cluster.jumps[0].user.as_str()),
            (2022, "me")
        );
        assert_eq!(cluster.jumps[1].user, "local");
        assert!(matches!(cluster.login, Login::Agent));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_missing_file_and_include_loops_are_reported_not_fatal() {
        let d = dir("loop");
        std::fs::write(
            d.join("config"),
            format!("Include {}/config\nHost x\n", d.display()),
        )
        .unwrap();
        let looped = import(&d.join("config"));
        assert!(looped.notes.iter().any(|n| n.contains("nested too deeply")));
        let missing = import(&d.join("nope"));
        assert!(missing.hosts.is_empty());
        assert!(missing.notes[0].contains("cannot be read"));
        std::fs::remove_dir_all(d).unwrap();
    }
}
