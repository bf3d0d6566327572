//! Importing hosts from OpenSSH's `~/.ssh/config`, resolved the way `ssh` resolves them: the
//! first value obtained wins, `Host` patterns with `*`, `?` and `!`, `Include` (with globs,
//! relative to `~/.ssh`). What cannot be imported (`Match` blocks, unknown tokens) is reported,
//! never silently dropped.

use std::collections::{HashMap, HashSet};
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
    let mut reader = Reader {
        home: &home,
        lines: Lines::new(),
        notes: Vec::new(),
        chain: Vec::new(),
        seen: HashSet::new(),
        block: None,
        capped: false,
    };
    reader.read(path);
    resolve(&reader.lines, &home, reader.notes)
}

/// Splices a config and its Includes into one list of lines.
struct Reader<'a> {
    home: &'a Path,
    lines: Lines,
    notes: Vec<String>,
    /// The files being read, outermost first: a file met again here is a loop.
    chain: Vec<PathBuf>,
    /// Files already spliced in, with the `Host` block they were spliced into: the same file
    /// again in the same place adds nothing (the first value wins), so it is read once.
    seen: HashSet<(PathBuf, Option<usize>)>,
    /// The index in `lines` of the last `Host` or `Match` line: the block being read.
    block: Option<usize>,
    /// Whether the bound on spliced lines was reached (said once).
    capped: bool,
}

/// OpenSSH's limit on nested Includes.
const MAX_INCLUDE_DEPTH: usize = 16;
/// A bound on what Includes can splice in (real configs have a few thousand lines), so that no
/// arrangement of files can make the import grow without end.
const MAX_LINES: usize = 1_000_000;

impl Reader<'_> {
    fn read(&mut self, path: &Path) {
        let depth = self.chain.len();
        let Ok(text) = std::fs::read_to_string(path) else {
            if depth == 0 {
                self.notes
                    .push(format!("{} cannot be read", path.display()));
            }
            return;
        };
        let id = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        self.chain.push(id);
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = split_keyword(line);
            if key.eq_ignore_ascii_case("include") {
                for pattern in value.split_whitespace() {
                    for file in include_targets(pattern, self.home) {
                        self.include(path, index + 1, &file);
                    }
                }
            } else {
                let key = key.to_ascii_lowercase();
                if key == "host" || key == "match" {
                    self.block = Some(self.lines.len());
                }
                self.lines
                    .push((path.to_owned(), index + 1, key, value.to_owned()));
            }
        }
        self.chain.pop();
    }

    fn include(&mut self, from: &Path, line: usize, file: &Path) {
        let id = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
        if self.chain.contains(&id) {
            self.notes.push(format!(
                "{}:{line}: Include {} includes a file that is already being read (a loop); ignored",
                from.display(),
                file.display()
            ));
            return;
        }
        if self.chain.len() >= MAX_INCLUDE_DEPTH {
            self.notes.push(format!(
                "{}:{line}: Include nested too deeply (more than {MAX_INCLUDE_DEPTH} levels); ignored",
                from.display()
            ));
            return;
        }
        if self.lines.len() >= MAX_LINES {
            if !std::mem::replace(&mut self.capped, true) {
                self.notes.push(format!(
                    "{}:{line}: the config and its Includes make more than {MAX_LINES} lines; the rest was not read",
                    from.display()
                ));
            }
            return;
        }
        if self.seen.insert((id, self.block)) {
            self.read(file);
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

/// Resolves every concrete host in one pass over the lines (a 1 MB config of thousands of
/// hosts took minutes when each host re-read every line): each `Host` block is applied to the
/// hosts it names, looked up by name, and only wildcard or negated blocks are matched against
/// every host.
fn resolve(lines: &Lines, home: &Path, mut notes: Vec<String>) -> Import {
    // Concrete aliases: Host patterns without wildcards or negation.
    let mut aliases: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (file, line, key, value) in lines {
        match key.as_str() {
            "host" => {
                for p in value.split_whitespace() {
                    if !p.contains(['*', '?', '!']) && !index.contains_key(p) {
                        index.insert(p, aliases.len());
                        aliases.push(p);
                    }
                }
            }
            "match" => notes.push(format!(
                "{}:{line}: `Match {value}` is not supported; its settings were not imported",
                file.display()
            )),
            "proxycommand" => notes.push(format!(
                "{}:{line}: `ProxyCommand` is not supported, so it was not imported; a host that needs it to be reached can use ProxyJump instead",
                file.display()
            )),
            _ => {}
        }
    }
    let mut settings: Vec<HashMap<&str, &str>> = vec![HashMap::new(); aliases.len()];
    // Lines before the first Host apply to every host.
    let mut targets: Vec<usize> = (0..aliases.len()).collect();
    for (_, _, key, value) in lines {
        match key.as_str() {
            "host" if value.contains(['*', '?', '!']) => {
                targets = (0..aliases.len())
                    .filter(|&i| host_matches(value, aliases[i]))
                    .collect();
            }
            "host" => {
                targets = value
                    .split_whitespace()
                    .filter_map(|p| index.get(p).copied())
                    .collect();
                targets.sort_unstable();
                targets.dedup();
            }
            "match" => targets.clear(),
            k => {
                for &i in &targets {
                    settings[i].entry(k).or_insert(value.as_str());
                }
            }
        }
    }
    let hosts = aliases
        .iter()
        .zip(&settings)
        .map(|(alias, get)| host_from(alias, get, home))
        .collect();
    Import { hosts, notes }
}

fn host_from(alias: &str, get: &HashMap<&str, &str>, home: &Path) -> ImportedHost {
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
    let by_alias: HashMap<&str, &ImportedHost> =
        found.hosts.iter().map(|h| (h.alias.as_str(), h)).collect();
    let sites = crate::sites::all();
    Candidates {
        clusters: found
            .hosts
            .iter()
            .map(|h| to_cluster(h, &by_alias, &sites, &user))
            .collect(),
        notes: found.notes,
    }
}

/// Turns an imported host into cluster settings; bastions that are aliases of the same config
/// are resolved through `by_alias`, and a catalogue site is recognised by its host. A missing
/// `User` is `default_user` (OpenSSH uses the local login name).
fn to_cluster(
    host: &ImportedHost,
    by_alias: &HashMap<&str, &ImportedHost>,
    sites: &[crate::sites::Site],
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
            match by_alias.get(name) {
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
        site: sites
            .iter()
            .find(|s| s.hosts.iter().any(|h| h == &host.host))
            .map(|s| s.id.clone()),
        host: host.host.clone(),
        port: host.port,
        user: host.user.clone().unwrap_or_else(|| default_user.to_owned()),
        login: login(host),
        jumps,
        rest_url: None,
    }
}

/// What adding hosts from an OpenSSH config did.
#[derive(Debug, Default)]
pub struct Added {
    pub added: Vec<ClusterSettings>,
    /// Hosts that could not be added (a name taken, a key missing), with why.
    pub skipped: Vec<(String, crate::cluster::ClusterError)>,
    /// Aliases asked for that the config does not have.
    pub missing: Vec<String>,
    /// What the config holds that could not be imported.
    pub notes: Vec<String>,
}

impl Added {
    /// Why nothing was added, when nothing was.
    pub fn nothing_because(self) -> Option<crate::cluster::ClusterError> {
        let missing = self.missing.into_iter().next();
        let skipped = self.skipped.into_iter().next().map(|(_, e)| e);
        (self.added.is_empty())
            .then(|| skipped.or(missing.map(crate::cluster::ClusterError::NotInSshConfig)))
            .flatten()
    }
}

/// Adds the hosts of the OpenSSH config at `path` named in `aliases` (every concrete host when
/// empty) as clusters, the way [`candidates`] proposes them.
pub fn add_hosts(store: &crate::store::Store, path: &Path, aliases: &[String]) -> Added {
    let found = candidates(path);
    let wanted = |c: &&ClusterSettings| aliases.is_empty() || aliases.contains(&c.name);
    let mut done = Added {
        missing: aliases
            .iter()
            .filter(|a| !found.clusters.iter().any(|c| &c.name == *a))
            .cloned()
            .collect(),
        notes: found.notes,
        ..Added::default()
    };
    for settings in found.clusters.iter().filter(wanted) {
        match crate::cluster::add(store, settings) {
            Ok(()) => done.added.push(settings.clone()),
            Err(e) => done.skipped.push((settings.name.clone(), e)),
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("usine-sshcfg-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        d
    }

    fn cluster_of(host: &ImportedHost, import: &Import, user: &str) -> ClusterSettings {
        let by_alias = import.hosts.iter().map(|h| (h.alias.as_str(), h)).collect();
        to_cluster(host, &by_alias, &crate::sites::all(), user)
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

        let cluster = cluster_of(leo, &import, "me");
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
        let cluster = cluster_of(a, &import, "local");
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
        assert!(
            looped.notes.iter().any(|n| n.contains("a loop")),
            "{looped:?}"
        );
        assert_eq!(looped.hosts.len(), 1);
        let missing = import(&d.join("nope"));
        assert!(missing.hosts.is_empty());
        assert!(missing.notes[0].contains("cannot be read"));
        std::fs::remove_dir_all(d).unwrap();
    }

    /// Spliced lines of `path`, as the import sees them before resolving.
    fn spliced(path: &Path, home: &Path) -> (Lines, Vec<String>) {
        let mut reader = Reader {
            home,
            lines: Lines::new(),
            notes: Vec::new(),
            chain: Vec::new(),
            seen: HashSet::new(),
            block: None,
            capped: false,
        };
        reader.read(path);
        (reader.lines, reader.notes)
    }

    #[test]
    fn a_config_that_includes_itself_twice_is_read_once() {
        // Before: each of the two Includes re-read the file down to depth 16, 2^17 copies of
        // every line (2 GB in 45 s for a real config).
        let d = dir("twice");
        let config = d.join("config");
        std::fs::write(
            &config,
            format!(
                "Include {0}/config\nInclude {0}/config\nHost x\n  User u\n",
                d.display()
            ),
        )
        .unwrap();
        let (lines, notes) = spliced(&config, &d);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(notes.len(), 2, "each looping Include is named: {notes:?}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_host_block_included_inside_two_hosts_applies_to_both() {
        // The same file under two different Host blocks is two places, read twice.
        let d = dir("places");
        std::fs::write(d.join("common"), "User shared\n").unwrap();
        std::fs::write(
            d.join("config"),
            format!(
                "Host a\n  Include {0}/common\nHost b\n  Include {0}/common\n",
                d.display()
            ),
        )
        .unwrap();
        let import = import(&d.join("config"));
        assert_eq!(import.hosts.len(), 2);
        assert!(
            import
                .hosts
                .iter()
                .all(|h| h.user.as_deref() == Some("shared"))
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn proxy_command_is_named_in_the_notes() {
        let d = dir("proxycmd");
        std::fs::write(
            d.join("config"),
            "Host inner\n  ProxyCommand ssh -W %h:%p gw\n",
        )
        .unwrap();
        let import = import(&d.join("config"));
        assert!(
            import
                .notes
                .iter()
                .any(|n| n.contains(":2: `ProxyCommand`")),
            "{:?}",
            import.notes
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any text as a config (including Includes of itself and of nothing) imports without
        /// panicking, and every host it yields is one of its `Host` names.
        #[test]
        fn any_config_text_imports_without_panicking(text in "((Host|HostName|Include|Match|User|Port|ProxyJump|ProxyCommand|IdentityFile)[ =]?[ -~]{0,20}\n|[^\n]{0,30}\n){0,12}") {
            let d = dir("prop");
            std::fs::write(d.join("config"), format!("{text}\nInclude {}/config\n", d.display())).unwrap();
            let found = import(&d.join("config"));
            for host in &found.hosts {
                proptest::prop_assert!(text.contains(&host.alias), "{} from {text:?}", host.alias);
            }
        }
    }

    #[test]
    fn adds_the_hosts_asked_for_and_says_why_others_were_not() {
        let d = dir("add");
        std::fs::write(
            d.join("config"),
            "Host a\n  HostName a.example.eu\n  User ana\n\
             Host b\n  HostName b.example.eu\n  User ana\n  IdentityFile /nowhere/key\n",
        )
        .unwrap();
        let store = crate::store::Store::open(&d.join("usine.db")).unwrap();
        let asked = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let done = add_hosts(&store, &d.join("config"), &asked);
        let added: Vec<&str> = done.added.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(added, ["a"]);
        assert_eq!(done.skipped.len(), 1, "b's key is missing");
        assert_eq!(done.missing, ["c"]);
        assert!(done.nothing_because().is_none());
        let again = add_hosts(&store, &d.join("config"), &["a".to_owned()]);
        assert!(matches!(
            again.nothing_because(),
            Some(crate::cluster::ClusterError::Exists(_))
        ));
        let none = add_hosts(&store, &d.join("config"), &["zz".to_owned()]);
        assert!(matches!(
            none.nothing_because(),
            Some(crate::cluster::ClusterError::NotInSshConfig(_))
        ));
    }
}
