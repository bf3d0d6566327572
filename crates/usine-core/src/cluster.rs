//! The clusters the user added: how to reach each one, stored locally, and the one shared
//! connection per cluster that everything else uses.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use ts_rs::TS;

use crate::browser_login::{CertificateAuthority, Issued, LoginError, LoginRequest, Wallet, Way};
use crate::discovery::{self, ClusterProfile};
use crate::ssh::certificate::{self, CertificateStatus};
use crate::ssh::{
    ConnectSpec, Connection, ConnectionState, Credential, Endpoint, Hop, HostKeyStore, OfflineWhy,
    Questions, SshError,
};
use crate::store::{Store, StoreError, Table, data_dir};

/// How the user logs in to a cluster, in the words the UI uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "method")]
pub enum Login {
    /// A key file, optionally with an OpenSSH certificate.
    #[serde(rename_all = "camelCase")]
    Key {
        #[ts(type = "string")]
        key: PathBuf,
        #[ts(type = "string | null")]
        certificate: Option<PathBuf>,
    },
    /// The keys of the running ssh-agent.
    Agent,
    /// Password and one-time code, typed when asked.
    PasswordAndCode,
    /// A key file, then a one-time code.
    #[serde(rename_all = "camelCase")]
    KeyThenCode {
        #[ts(type = "string")]
        key: PathBuf,
    },
    /// A login in the browser at the site's identity provider; a certificate authority then
    /// signs a key made for the session (both kept in memory only).
    #[serde(rename_all = "camelCase")]
    Browser {
        authority: CertificateAuthority,
        /// Also lend the key and certificate to the person's ssh-agent until the certificate
        /// ends, for their own terminal and tools.
        #[serde(default)]
        share_with_agent: bool,
    },
}

impl Login {
    /// Whether logging in needs a person (a password or one-time code). Such logins are never
    /// repeated automatically: sites lock accounts that send codes unasked.
    pub fn needs_user(&self) -> bool {
        matches!(self, Self::PasswordAndCode | Self::KeyThenCode { .. })
    }

    fn credentials(&self, issued: Option<&Issued>) -> Vec<Credential> {
        // Paths as the user wrote them (`~/.ssh/id_ed25519`), read on this computer.
        let key = |path: &PathBuf, certificate: Option<PathBuf>| Credential::KeyFile {
            path: crate::local_paths::expand(path),
            certificate: certificate.map(|c| crate::local_paths::expand(&c)),
        };
        match self {
            Self::Key {
                key: k,
                certificate,
            } => vec![key(k, certificate.clone())],
            Self::Agent => vec![Credential::Agent],
            Self::PasswordAndCode => vec![Credential::KeyboardInteractive],
            Self::KeyThenCode { key: k } => vec![key(k, None), Credential::KeyboardInteractive],
            Self::Browser { .. } => issued
                .map(|i| Credential::Issued {
                    key: i.key.clone(),
                    certificate: i.certificate.clone(),
                })
                .into_iter()
                .collect(),
        }
    }
}

/// A bastion to cross first (OpenSSH's ProxyJump).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Jump {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub login: Login,
}

/// Everything Usine keeps about a cluster (no secret: those live in the keychain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSettings {
    /// The user's name for it; unique.
    pub name: String,
    /// The catalogue site it belongs to, if any.
    pub site: Option<String>,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub login: Login,
    pub jumps: Vec<Jump>,
    /// The site's slurmrestd, when it opens one to users (`https://…`); jobs then go through it,
    /// with a short-lived token fetched over the SSH connection. `None`: Slurm over SSH.
    #[serde(default)]
    pub rest_url: Option<String>,
}

impl ClusterSettings {
    /// The validity of the certificate the cluster logs in with, if any (unreadable: none).
    pub fn certificate_status(&self) -> Option<CertificateStatus> {
        match &self.login {
            Login::Key {
                certificate: Some(path),
                ..
            } => certificate::status(path).ok(),
            _ => None,
        }
    }

    /// Whether any hop's login needs a person.
    pub fn login_needs_user(&self) -> bool {
        self.login.needs_user() || self.jumps.iter().any(|j| j.login.needs_user())
    }

    pub fn connect_spec(&self) -> ConnectSpec {
        self.connect_spec_with(None)
    }

    /// The connection's hops; a browser login's hops use `issued`.
    pub fn connect_spec_with(&self, issued: Option<&Issued>) -> ConnectSpec {
        let hop = |host: &str, port: u16, user: &str, login: &Login| Hop {
            endpoint: Endpoint {
                host: host.to_owned(),
                port,
                user: user.to_owned(),
            },
            credentials: login.credentials(issued),
        };
        let mut spec = ConnectSpec::direct(hop(&self.host, self.port, &self.user, &self.login));
        for j in &self.jumps {
            spec = spec.via(hop(&j.host, j.port, &j.user, &j.login));
        }
        spec
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{}", crate::tr!(
        en: "There is no cluster called “{}”. `usine cluster list` shows the ones you added.",
        fr: "Aucun cluster ne s'appelle « {} ». `usine cluster list` montre ceux que vous avez ajoutés.",
        .0
    ))]
    Unknown(String),
    #[error("{}", crate::tr!(
        en: "A cluster called “{}” already exists. Choose another name, or forget the old one first.",
        fr: "Un cluster « {} » existe déjà. Choisissez un autre nom, ou oubliez d'abord l'ancien.",
        .0
    ))]
    Exists(String),
    #[error("{}", crate::tr!(
        en: "A cluster needs a name, a host and a user name.",
        fr: "Un cluster a besoin d'un nom, d'une adresse et d'un identifiant."
    ))]
    Incomplete,
    #[error("{}", crate::tr!(
        en: "Write the bastion “{}” as user@host or user@host:port.",
        fr: "Écrivez le bastion « {} » sous la forme utilisateur@hôte ou utilisateur@hôte:port.",
        .0
    ))]
    BadJump(String),
    #[error("{}", crate::tr!(
        en: "There is no site “{}” in the catalogue: give the cluster's address instead.",
        fr: "Le catalogue n'a pas de site « {} » : donnez plutôt l'adresse du cluster.",
        .0
    ))]
    UnknownSite(String),
    #[error("{}", crate::tr!(
        en: "There is no `Host {}` in your OpenSSH config.",
        fr: "Votre configuration OpenSSH n'a pas de `Host {}`.",
        .0
    ))]
    NotInSshConfig(String),
    #[error("{}", crate::tr!(
        en: "The connection to “{}” dropped. Logging in again needs you (a one-time code or a password): press Connect when you are ready.",
        fr: "La connexion à « {} » est tombée. Vous reconnecter demande votre intervention (un code à usage unique ou un mot de passe) : appuyez sur Se connecter quand vous êtes prêt.",
        .0
    ))]
    NeedsUser(String),
    #[error("{}", crate::tr!(
        en: "Could not reconnect to “{}” after {} tries: {}",
        fr: "Impossible de se reconnecter à « {} » après {} essais : {}",
        .name, .attempts, .last
    ))]
    ReconnectFailed {
        name: String,
        attempts: u32,
        last: Box<ClusterError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl ClusterError {
    /// Why a login that ended with this error left the cluster offline.
    pub fn offline_why(&self) -> OfflineWhy {
        match self {
            Self::Ssh(
                SshError::Unreachable { .. }
                | SshError::PortClosed { .. }
                | SshError::UnknownHost { .. }
                | SshError::TimedOut { .. },
            ) => OfflineWhy::Unreachable,
            Self::Login(LoginError::Unreachable { .. }) => OfflineWhy::Unreachable,
            Self::ReconnectFailed { .. } | Self::NeedsUser(_) => OfflineWhy::Dropped,
            _ => OfflineWhy::LoginRefused,
        }
    }
}

/// A cluster as a person describes it (the app's form, `usine cluster add`): a catalogue site
/// fills in the address it leaves out, and bastions are written as `user@host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewCluster {
    pub name: String,
    pub site: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: String,
    pub login: Login,
    pub jumps: Vec<String>,
    pub rest_url: Option<String>,
}

impl NewCluster {
    /// The settings to keep: the address from the site unless given, bastions parsed.
    pub fn settings(&self) -> Result<ClusterSettings, ClusterError> {
        let site = match &self.site {
            Some(id) => {
                Some(crate::sites::find(id).ok_or_else(|| ClusterError::UnknownSite(id.clone()))?)
            }
            None => None,
        };
        let host = self.host.clone().filter(|h| !h.trim().is_empty());
        let host = host.or_else(|| site.as_ref().map(|s| s.hosts[0].clone()));
        let jumps = self.jumps.iter().filter(|j| !j.trim().is_empty());
        Ok(ClusterSettings {
            name: self.name.clone(),
            site: site.as_ref().map(|s| s.id.clone()),
            host: host.ok_or(ClusterError::Incomplete)?,
            port: self.port.or(site.map(|s| s.port)).unwrap_or(22),
            user: self.user.clone(),
            login: self.login.clone(),
            jumps: jumps
                .map(|j| jump(j, &self.login))
                .collect::<Result<_, _>>()?,
            rest_url: self.rest_url.clone().filter(|u| !u.trim().is_empty()),
        })
    }
}

/// A bastion written `user@host[:port]`. It logs in with the cluster's key or agent: one-time
/// codes are for the cluster itself.
pub fn jump(text: &str, cluster_login: &Login) -> Result<Jump, ClusterError> {
    let bad = || ClusterError::BadJump(text.to_owned());
    let (user, rest) = text.trim().split_once('@').ok_or_else(bad)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| bad())?),
        None => (rest, 22),
    };
    if [user, host]
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(bad());
    }
    let login = match cluster_login {
        Login::KeyThenCode { key } => Login::Key {
            key: key.clone(),
            certificate: None,
        },
        other => other.clone(),
    };
    Ok(Jump {
        host: host.to_owned(),
        port,
        user: user.to_owned(),
        login,
    })
}

/// Adds the cluster a person described; the settings kept are returned.
pub fn add_new(store: &Store, new: &NewCluster) -> Result<ClusterSettings, ClusterError> {
    let settings = new.settings()?;
    add(store, &settings)?;
    Ok(settings)
}

pub fn add(store: &Store, settings: &ClusterSettings) -> Result<(), ClusterError> {
    if [&settings.name, &settings.host, &settings.user]
        .iter()
        .any(|s| s.trim().is_empty())
    {
        return Err(ClusterError::Incomplete);
    }
    if store
        .get_json::<ClusterSettings>(Table::Clusters, &settings.name)?
        .is_some()
    {
        return Err(ClusterError::Exists(settings.name.clone()));
    }
    // A key that is not there, or its public half, is said now, not after the host-key
    // question at the first login.
    for login in std::iter::once(&settings.login).chain(settings.jumps.iter().map(|j| &j.login)) {
        if let Login::Key { key, .. } | Login::KeyThenCode { key } = login {
            crate::ssh::check_key_file(key)?;
        }
    }
    store.put_json(Table::Clusters, &settings.name, settings)?;
    Ok(())
}

pub fn list(store: &Store) -> Result<Vec<ClusterSettings>, ClusterError> {
    Ok(store
        .list_json::<ClusterSettings>(Table::Clusters)?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

pub fn get(store: &Store, name: &str) -> Result<ClusterSettings, ClusterError> {
    store
        .get_json(Table::Clusters, name)?
        .ok_or_else(|| ClusterError::Unknown(name.to_owned()))
}

pub fn forget(store: &Store, name: &str) -> Result<(), ClusterError> {
    if store.delete(Table::Clusters, name)? {
        Ok(())
    } else {
        Err(ClusterError::Unknown(name.to_owned()))
    }
}

/// Forgets a cluster and what this computer holds to log in to it besides its settings: a
/// browser login's certificate and key (memory, renewal stopped) and refresh token (keychain),
/// which could otherwise still obtain certificates. The app's Forget and `usine cluster forget`.
pub async fn forget_with_login(
    store: &std::sync::Mutex<Store>,
    connections: &Connections,
    name: &str,
) -> Result<(), ClusterError> {
    forget(&crate::store::lock(store), name)?;
    connections.wallet.forget(name);
    crate::secrets::delete(crate::secrets::SecretKind::RefreshToken, name).await;
    Ok(())
}

/// The discovery cached at the last connection, for offline use.
pub fn cached_profile(store: &Store, name: &str) -> Result<Option<ClusterProfile>, ClusterError> {
    Ok(store.get_json(Table::ClusterProfiles, name)?)
}

/// Known-hosts files: the user's OpenSSH one, and Usine's own beside its database.
pub fn host_keys() -> Arc<HostKeyStore> {
    Arc::new(HostKeyStore::with_user_known_hosts(
        data_dir().join("known_hosts"),
    ))
}

/// How often, and after how long, a dropped connection is retried without asking anyone.
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    /// Wait before each attempt; its length is the number of attempts.
    pub delays: Vec<Duration>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            delays: [1, 5, 15, 60].map(Duration::from_secs).to_vec(),
        }
    }
}

/// One open connection per cluster, shared by everything that talks to it.
#[derive(Clone)]
pub struct Connections {
    open: Arc<Mutex<HashMap<String, Arc<Connection>>>>,
    host_keys: Arc<HostKeyStore>,
    /// Browser logins' certificates.
    pub wallet: Wallet,
    /// How a browser login is done here (the CLI can use a device code).
    pub login_way: Way,
    /// How long a browser login waits for the person.
    pub browser_wait: Duration,
}

impl Default for Connections {
    fn default() -> Self {
        Self::new(host_keys())
    }
}

impl Connections {
    pub fn new(host_keys: Arc<HostKeyStore>) -> Self {
        Self {
            open: Arc::default(),
            host_keys,
            wallet: Wallet::default(),
            login_way: Way::default(),
            browser_wait: Duration::from_secs(300),
        }
    }

    /// The cluster's connection, opened (and logged in) only if there is none alive yet.
    /// Concurrent callers wait for the same login instead of starting a second one.
    pub async fn get(
        &self,
        settings: &ClusterSettings,
        questions: Questions,
    ) -> Result<Arc<Connection>, ClusterError> {
        let mut open = self.open.lock().await;
        if let Some(conn) = open.get(&settings.name).filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let issued = match self.login_request(settings) {
            Some(request) => Some(self.wallet.issued(&request, &questions).await?),
            None => None,
        };
        let spec = settings.connect_spec_with(issued.as_ref());
        let conn = Arc::new(Connection::open(&spec, self.host_keys.clone(), questions).await?);
        open.insert(settings.name.clone(), conn.clone());
        Ok(conn)
    }

    /// The cluster's connection, opened again if it dropped, asking nobody anything: for
    /// work the person already started (a forward's next browser request).
    pub async fn get_quietly(
        &self,
        settings: &ClusterSettings,
    ) -> Result<Arc<Connection>, ClusterError> {
        self.get(settings, refusing_questions()).await
    }

    fn login_request(&self, settings: &ClusterSettings) -> Option<LoginRequest> {
        let Login::Browser {
            authority,
            share_with_agent,
        } = &settings.login
        else {
            return None;
        };
        Some(LoginRequest {
            cluster: settings.name.clone(),
            authority: authority.clone(),
            share_with_agent: *share_with_agent,
            user: settings.user.clone(),
            way: self.login_way,
            wait: self.browser_wait,
        })
    }

    /// Brings a dropped connection back without asking anyone anything: bounded attempts,
    /// each reported through `on_state`. A login that needs a person (one-time code, password,
    /// a passphrase the keychain does not have) is not attempted: the user must press Connect.
    pub async fn reconnect_quietly(
        &self,
        settings: &ClusterSettings,
        policy: &ReconnectPolicy,
        mut on_state: impl FnMut(ConnectionState),
    ) -> Result<Arc<Connection>, ClusterError> {
        if settings.login_needs_user() {
            let error = ClusterError::NeedsUser(settings.name.clone());
            on_state(ConnectionState::Offline {
                reason: error.to_string(),
                why: OfflineWhy::Dropped,
            });
            return Err(error);
        }
        let of = u32::try_from(policy.delays.len()).unwrap_or(u32::MAX);
        let mut last = None;
        for (attempt, delay) in (1..).zip(&policy.delays) {
            on_state(ConnectionState::Reconnecting { attempt, of });
            tokio::time::sleep(*delay).await;
            match self.get(settings, refusing_questions()).await {
                Ok(conn) => {
                    on_state(ConnectionState::Connected);
                    return Ok(conn);
                }
                // A question came up (e.g. the keychain lost the passphrase, a browser login has
                // no refresh token): a person is needed.
                Err(
                    ClusterError::Ssh(SshError::Cancelled)
                    | ClusterError::Login(LoginError::Cancelled | LoginError::NeedsYou),
                ) => {
                    last = Some(ClusterError::NeedsUser(settings.name.clone()));
                    break;
                }
                Err(e @ ClusterError::Ssh(SshError::HostKeyChanged { .. })) => {
                    last = Some(e);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let error = match last {
            Some(e @ ClusterError::NeedsUser(_)) => e,
            Some(e) => ClusterError::ReconnectFailed {
                name: settings.name.clone(),
                attempts: of,
                last: Box::new(e),
            },
            None => ClusterError::NeedsUser(settings.name.clone()),
        };
        on_state(ConnectionState::Offline {
            reason: error.to_string(),
            why: OfflineWhy::Dropped,
        });
        Err(error)
    }

    /// Names of the clusters with a live connection.
    pub async fn connected(&self) -> HashSet<String> {
        let open = self.open.lock().await;
        open.iter()
            .filter(|(_, c)| !c.is_closed())
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Questions nobody is there to answer: each is declined at once.
fn refusing_questions() -> Questions {
    let (questions, mut rx) = Questions::channel();
    tokio::spawn(async move {
        while let Some(q) = rx.recv().await {
            tracing::info!(question = ?q.kind, "declined: reconnecting without the user");
            q.answer(crate::ssh::Answer::Cancel);
        }
    });
    questions
}

/// Connects (or reuses the connection) and discovers what the cluster offers.
pub async fn connect_and_discover(
    connections: &Connections,
    settings: &ClusterSettings,
    questions: Questions,
) -> Result<ClusterProfile, ClusterError> {
    let conn = connections.get(settings, questions).await?;
    let budget = settings
        .site
        .as_deref()
        .and_then(crate::sites::find)
        .map(|s| s.budget_command)
        .unwrap_or_default();
    Ok(discovery::discover(&conn, &budget).await?)
}

/// Connects to the cluster `name` (its one shared connection), asks it what it offers and keeps
/// that for offline use: the app's Connect button and `usine cluster connect`. `on_state` hears
/// connecting, then connected or offline and why.
pub async fn connect(
    store: &std::sync::Mutex<Store>,
    connections: &Connections,
    name: &str,
    questions: Questions,
    mut on_state: impl FnMut(ConnectionState),
) -> Result<ClusterProfile, ClusterError> {
    let settings = get(&crate::store::lock(store), name)?;
    on_state(ConnectionState::Connecting);
    let found = connect_and_discover(connections, &settings, questions)
        .await
        .and_then(|profile| {
            save_profile(&crate::store::lock(store), name, &profile)?;
            Ok(profile)
        });
    on_state(match &found {
        Ok(_) => ConnectionState::Connected,
        Err(error) => ConnectionState::Offline {
            reason: error.to_string(),
            why: error.offline_why(),
        },
    });
    found
}

/// Logs in again through the browser for a new certificate, keeping the open connection (the
/// app's Log in again, when a certificate could not be renewed by itself). Returns its end.
pub async fn log_in_again(
    store: &std::sync::Mutex<Store>,
    connections: &Connections,
    name: &str,
    questions: Questions,
) -> Result<Option<CertificateStatus>, ClusterError> {
    let settings = get(&crate::store::lock(store), name)?;
    let Some(request) = connections.login_request(&settings) else {
        return Ok(None);
    };
    connections.wallet.renew(&request, &questions).await?;
    Ok(connections.wallet.status(name))
}

/// Caches a discovered profile for offline use.
pub fn save_profile(
    store: &Store,
    name: &str,
    profile: &ClusterProfile,
) -> Result<(), ClusterError> {
    store.put_json(Table::ClusterProfiles, name, profile)?;
    Ok(())
}

/// A cluster as a UI shows it: its settings, whether it is connected, and what is known of it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    pub settings: ClusterSettings,
    pub connected: bool,
    /// From the last connection; shown offline too.
    pub profile: Option<ClusterProfile>,
    /// The login certificate's validity, when the cluster uses one.
    pub certificate: Option<CertificateStatus>,
    /// Where data sent to it should go ([`crate::transfer::place::suggested_folder`]).
    pub data_folder: String,
}

/// Every cluster with its state, for a UI; `connected` comes from [`Connections::connected`].
pub fn views(
    store: &Store,
    connected: &HashSet<String>,
    wallet: &Wallet,
) -> Result<Vec<ClusterView>, ClusterError> {
    list(store)?
        .into_iter()
        .map(|settings| {
            let profile = cached_profile(store, &settings.name)?;
            Ok(ClusterView {
                connected: connected.contains(&settings.name),
                data_folder: crate::transfer::place::suggested_folder(
                    profile.as_ref().map_or(&[][..], |p| &p.storage),
                ),
                profile,
                certificate: match settings.login {
                    Login::Browser { .. } => wallet.status(&settings.name),
                    _ => settings.certificate_status(),
                },
                settings,
            })
        })
        .collect()
}

/// A question from a cluster's login, numbered so that the UI's answer finds its way back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AskedQuestion {
    #[ts(type = "number")]
    pub id: u64,
    pub cluster: String,
    pub question: crate::ssh::QuestionKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bastions_are_parsed_and_log_in_without_the_clusters_codes() {
        let with_code = Login::KeyThenCode { key: "/k".into() };
        let j = jump(" alice@gate.example.eu:2200 ", &with_code).unwrap();
        assert_eq!(
            (j.user.as_str(), j.host.as_str(), j.port),
            ("alice", "gate.example.eu", 2200)
        );
        assert_eq!(
            j.login,
            Login::Key {
                key: "/k".into(),
                certificate: None
            }
        );
        assert_eq!(jump("a@b", &Login::Agent).unwrap().login, Login::Agent);
        assert_eq!(jump("a@b", &Login::Agent).unwrap().port, 22);
        for bad in ["gate", "@gate", "a@", "a@b:port", "a b@c", "a@b:99999"] {
            assert!(
                matches!(jump(bad, &Login::Agent), Err(ClusterError::BadJump(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_site_fills_in_the_address_left_out() {
        let new = NewCluster {
            name: "l".into(),
            site: Some("lumi".into()),
            host: None,
            port: None,
            user: "me".into(),
            login: Login::Agent,
            jumps: vec!["me@bastion".into(), " ".into()],
            rest_url: Some(" ".into()),
        };
        let s = new.settings().unwrap();
        let lumi = crate::sites::find("lumi").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port),
            (lumi.hosts[0].as_str(), lumi.port)
        );
        assert_eq!((s.jumps.len(), s.rest_url), (1, None));
        let by_hand = NewCluster {
            site: None,
            host: Some("h".into()),
            port: Some(2222),
            ..new.clone()
        };
        assert_eq!(by_hand.settings().unwrap().port, 2222);
        let nowhere = NewCluster {
            site: None,
            ..new.clone()
        };
        assert!(matches!(nowhere.settings(), Err(ClusterError::Incomplete)));
        let unknown = NewCluster {
            site: Some("atlantis".into()),
            ..new
        };
        assert!(matches!(
            unknown.settings(),
            Err(ClusterError::UnknownSite(_))
        ));
    }

    fn lab() -> ClusterSettings {
        ClusterSettings {
            name: "lab".into(),
            site: None,
            host: "127.0.0.1".into(),
            port: 2222,
            user: "bob".into(),
            login: Login::KeyThenCode { key: "/k".into() },
            jumps: vec![Jump {
                host: "bastion".into(),
                port: 22,
                user: "bob".into(),
                login: Login::Agent,
            }],
            rest_url: None,
        }
    }

    #[test]
    fn settings_become_a_connect_spec_with_the_same_hops() {
        let spec = lab().connect_spec();
        assert_eq!(spec.target.endpoint.to_string(), "bob@127.0.0.1:2222");
        assert_eq!(spec.target.credentials.len(), 2);
        assert_eq!(spec.target.credentials[1], Credential::KeyboardInteractive);
        assert_eq!(spec.jumps[0].endpoint.to_string(), "bob@bastion");
        assert_eq!(spec.jumps[0].credentials, vec![Credential::Agent]);
    }

    #[test]
    fn a_failed_login_says_whether_the_cluster_was_reached() {
        let unreachable = ClusterError::Ssh(SshError::TimedOut {
            host: "lumi".into(),
            seconds: 10,
        });
        assert_eq!(unreachable.offline_why(), OfflineWhy::Unreachable);
        let refused = ClusterError::Ssh(SshError::CodeRejected {
            destination: "lumi".into(),
        });
        assert_eq!(refused.offline_why(), OfflineWhy::LoginRefused);
        assert_eq!(
            ClusterError::NeedsUser("lumi".into()).offline_why(),
            OfflineWhy::Dropped
        );
    }

    #[test]
    fn add_list_get_forget() {
        let dir = std::env::temp_dir().join(format!("usine-cluster-{}", std::process::id()));
        let store = Store::open(&dir.join("db")).unwrap();
        // `lab()`'s key file does not exist: refused, and nothing is saved.
        assert!(matches!(
            add(&store, &lab()),
            Err(ClusterError::Ssh(SshError::KeyMissing { .. }))
        ));
        let lab = || ClusterSettings {
            login: Login::Agent,
            ..lab()
        };
        add(&store, &lab()).unwrap();
        assert!(matches!(add(&store, &lab()), Err(ClusterError::Exists(_))));
        let mut blank = lab();
        blank.name = "x".into();
        blank.host = " ".into();
        assert!(matches!(add(&store, &blank), Err(ClusterError::Incomplete)));
        assert_eq!(list(&store).unwrap(), vec![lab()]);
        assert_eq!(get(&store, "lab").unwrap(), lab());
        forget(&store, "lab").unwrap();
        assert!(matches!(get(&store, "lab"), Err(ClusterError::Unknown(_))));
        assert!(matches!(
            forget(&store, "lab"),
            Err(ClusterError::Unknown(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
