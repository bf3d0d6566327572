//! Browser login: short-lived SSH certificates from the site's or the federation's certificate
//! authority, renewed without asking.
//!
//! The person logs in once at their identity provider in the system browser (or with a device
//! code); Usine makes a fresh ed25519 key in memory, has the CA sign it, and logs in to the
//! cluster with both. Nothing of it touches the disk: the key and certificate live in the
//! [`Wallet`] (memory), the refresh token, when the provider gives one, in the keychain. Before
//! a certificate ends (at 80 % of its life) a new one is fetched with the refresh token; when
//! that is not possible the wallet says so ten minutes before the end, so the app can ask.
//! Connections already open keep working across renewals (OpenSSH checks a certificate at login
//! only); the new certificate serves the next login.

pub(crate) mod authorities;
mod http;
mod loopback;
mod oidc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use ts_rs::TS;

use crate::secrets::{self, SecretKind};
use crate::ssh::certificate::{self, CertificateState, CertificateStatus};
use crate::ssh::{IssuedCertificate, Questions, SessionKey, SshError, agent_share};
use crate::sync::Locked;
use authorities::{Authority, dispatch};
pub use oidc::Way;

/// Which certificate authority a cluster's browser login goes through, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "protocol")]
pub enum CertificateAuthority {
    /// smallstep step-ca with an OIDC provisioner (CINECA's Leonardo).
    #[serde(rename_all = "camelCase")]
    StepCa {
        ca_url: String,
        /// SHA-256 of the CA's root certificate, as the site publishes it.
        fingerprint: String,
        provisioner: String,
    },
    /// The EuroHPC Federation Platform's sshca: certificates for one resource (site).
    #[serde(rename_all = "camelCase")]
    Sshca {
        /// The CA's address, with its name (`https://…/{ca}`).
        ca_url: String,
        issuer: String,
        client_id: String,
        resource: String,
    },
    /// A service that signs a key for a bearer access token (CSCS style).
    #[serde(rename_all = "camelCase")]
    SigningService {
        sign_url: String,
        issuer: String,
        client_id: String,
        /// As the service names its durations (`1d`, `1min`).
        duration: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{}", crate::tr!(
        en: "Cannot reach the login service {} ({}). Check your internet connection and try again in a few minutes.",
        fr: "Impossible de joindre le service de connexion {} ({}). Vérifiez votre connexion internet et réessayez dans quelques minutes.",
        .url, .reason
    ))]
    Unreachable { url: String, reason: String },

    #[error("{}", crate::tr!(
        en: "The login service {} answered something Usine does not understand ({}). Try again later; if it persists, tell the site's support.",
        fr: "Le service de connexion {} a répondu quelque chose qu'Usine ne comprend pas ({}). Réessayez plus tard ; si cela persiste, prévenez le support du site.",
        .url, .reason
    ))]
    Unexpected { url: String, reason: String },

    #[error("{}", crate::tr!(
        en: "Refusing to log in: the certificate authority at {} does not present the root certificate the site publishes (SHA-256 {}). Either the site changed it (check its announcements and update the cluster's settings), or someone is intercepting your connection.",
        fr: "Connexion refusée : l'autorité de certification {} ne présente pas le certificat racine publié par le site (SHA-256 {}). Soit le site l'a changé (consultez ses annonces et mettez à jour les réglages du cluster), soit quelqu'un intercepte votre connexion.",
        .ca, .expected
    ))]
    FingerprintChanged { ca: String, expected: String },

    #[error("{}", crate::tr!(
        en: "The certificate authority {} has no browser login named {}. Check the name in the site's guide (the `--provisioner` of `step ssh login`).",
        fr: "L'autorité de certification {} n'a pas de connexion par navigateur nommée {}. Vérifiez le nom dans le guide du site (le `--provisioner` de `step ssh login`).",
        .ca, .name
    ))]
    NoProvisioner { ca: String, name: String },

    #[error("{}", crate::tr!(
        en: "The identity provider {} cannot be used ({}). Check the address in the cluster's settings; if it is right, try again later.",
        fr: "Le fournisseur d'identité {} est inutilisable ({}). Vérifiez l'adresse dans les réglages du cluster ; si elle est juste, réessayez plus tard.",
        .issuer, .reason
    ))]
    Provider { issuer: String, reason: String },

    #[error("{}", crate::tr!(
        en: "The identity provider {} does not offer logins with a code typed on another device. Log in with the browser on this computer instead.",
        fr: "Le fournisseur d'identité {} ne propose pas de connexion par code saisi sur un autre appareil. Connectez-vous plutôt avec le navigateur de cet ordinateur.",
        .issuer
    ))]
    NoDeviceFlow { issuer: String },

    #[error("{}", crate::tr!(
        en: "Usine stopped waiting for the browser login after {} minutes. Press Connect to open the login page again.",
        fr: "Usine a cessé d'attendre la connexion dans le navigateur après {} minutes. Appuyez sur Connecter pour rouvrir la page de connexion.",
        .minutes
    ))]
    BrowserTimedOut { minutes: u64 },

    #[error("{}", crate::tr!(
        en: "The code to type expired before the login was finished. Connect again for a new code.",
        fr: "Le code à saisir a expiré avant la fin de la connexion. Reconnectez-vous pour obtenir un nouveau code.",
    ))]
    CodeExpired,

    #[error("{}", crate::tr!(
        en: "The login was not completed at the identity provider ({}). Connect again and finish the login in the browser.",
        fr: "La connexion n'a pas abouti chez le fournisseur d'identité ({}). Reconnectez-vous et terminez la connexion dans le navigateur.",
        .reason
    ))]
    Denied { reason: String },

    #[error("{}", crate::tr!(
        en: "The browser came back with an answer for another login; it was ignored. Close the old login tabs and press Connect again.",
        fr: "Le navigateur est revenu avec la réponse d'une autre connexion ; elle a été ignorée. Fermez les anciens onglets de connexion et appuyez de nouveau sur Connecter.",
    ))]
    StateMismatch,

    #[error("{}", crate::tr!(
        en: "The identity provider's answer was refused and not sent on ({}). Press Connect to log in again; if it repeats, check this computer's clock and the cluster's settings.",
        fr: "La réponse du fournisseur d'identité a été refusée et n'a pas été transmise ({}). Appuyez sur Connecter pour vous reconnecter ; si cela se répète, vérifiez l'horloge de cet ordinateur et les réglages du cluster.",
        .reason
    ))]
    TokenRejected { reason: String },

    #[error("{}", crate::tr!(
        en: "Port {} on this computer, which this site's login needs, is taken by another program (perhaps another login tool such as `step`). Close it and press Connect again.",
        fr: "Le port {} de cet ordinateur, dont la connexion de ce site a besoin, est pris par un autre programme (peut-être un autre outil de connexion comme `step`). Fermez-le et appuyez de nouveau sur Connecter.",
        .port
    ))]
    PortTaken { port: u16 },

    #[error("{}", crate::tr!(
        en: "The certificate authority {} refused to issue a certificate: {}. If you believe you should have access, ask the site's support.",
        fr: "L'autorité de certification {} a refusé de délivrer un certificat : {}. Si vous pensez devoir y avoir accès, demandez au support du site.",
        .ca, .reason
    ))]
    CaRefused { ca: String, reason: String },

    #[error("{}", crate::tr!(
        en: "Your federated account has no access to {} yet ({}). Request access to this site for your project on the EuroHPC Federation Platform, then connect again.",
        fr: "Votre compte fédéré n'a pas encore accès à {} ({}). Demandez l'accès à ce site pour votre projet sur la plateforme de fédération EuroHPC, puis reconnectez-vous.",
        .resource, .reason
    ))]
    NoEntitlement { resource: String, reason: String },

    #[error("{}", crate::tr!(
        en: "The certificate is for {}, not for the user name {} set for this cluster. Change the user name in the cluster's settings to the one the site gave you.",
        fr: "Le certificat est établi pour {}, pas pour l'identifiant {} réglé pour ce cluster. Mettez dans les réglages du cluster l'identifiant que le site vous a donné.",
        .principals, .user
    ))]
    WrongPrincipal { user: String, principals: String },

    #[error("{}", crate::tr!(
        en: "The certificate authority's answer cannot be used: {}",
        fr: "La réponse de l'autorité de certification est inutilisable : {}",
        .0
    ))]
    Certificate(SshError),

    #[error("{}", crate::tr!(
        en: "Logging in needs you: press Connect to log in with your browser.",
        fr: "La connexion a besoin de vous : appuyez sur Connecter pour vous connecter avec votre navigateur.",
    ))]
    NeedsYou,

    #[error("{}", crate::tr!(en: "Login cancelled.", fr: "Connexion annulée."))]
    Cancelled,

    #[error("{}", crate::tr!(
        en: "This computer could not start the browser login: {}",
        fr: "Cet ordinateur n'a pas pu lancer la connexion par navigateur : {}",
        .reason
    ))]
    Local { reason: String },
}

/// A key and the certificate issued for it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub key: SessionKey,
    pub certificate: IssuedCertificate,
}

/// What a cluster's browser login needs.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub cluster: String,
    pub authority: CertificateAuthority,
    /// The account name on the cluster: the certificate must be for it.
    pub user: String,
    pub way: Way,
    /// How long to wait for the person in the browser.
    pub wait: Duration,
    /// Lend each certificate to the person's ssh-agent for its lifetime.
    pub share_with_agent: bool,
}

/// Said when a certificate was renewed or when the person must log in again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum WalletEvent {
    #[serde(rename_all = "camelCase")]
    Renewed {
        cluster: String,
        #[ts(type = "number")]
        valid_before: u64,
    },
    /// No silent renewal was possible; said ten minutes before the certificate ends.
    #[serde(rename_all = "camelCase")]
    LoginNeeded {
        cluster: String,
        #[ts(type = "number")]
        valid_before: u64,
    },
}

impl WalletEvent {
    pub fn cluster(&self) -> &str {
        match self {
            Self::Renewed { cluster, .. } | Self::LoginNeeded { cluster, .. } => cluster,
        }
    }

    /// The desktop notification's title and text, when the person must act.
    pub fn notice(&self) -> Option<(String, String)> {
        let Self::LoginNeeded { cluster, .. } = self else {
            return None;
        };
        Some((
            crate::tr!(
                en: "{}: log in again to keep your session",
                fr: "{} : reconnectez-vous pour garder votre session",
                cluster
            ),
            crate::tr!(
                en: "Your login certificate ends in a few minutes and could not be renewed by itself. Open Usine and press Log in again: work under way is not interrupted.",
                fr: "Votre certificat de connexion expire dans quelques minutes et n'a pas pu être renouvelé tout seul. Ouvrez Usine et appuyez sur Se reconnecter : le travail en cours n'est pas interrompu.",
            ),
        ))
    }
}

/// The words of the button that logs in again (notification, cluster card).
pub fn log_in_again_words() -> String {
    crate::tr!(en: "Log in again", fr: "Se reconnecter")
}

/// Certificates less than this far from their end are not used for a new login.
const MARGIN: u64 = 30;
/// The warning before the end, when no silent renewal is possible.
const WARN_BEFORE: u64 = 600;

struct Held {
    issued: Issued,
    renewal: tokio::task::AbortHandle,
    /// No silent renewal was possible: the person was asked to log in again.
    stuck: bool,
}

/// The certificates issued in this process, per cluster, and their renewals.
#[derive(Clone)]
pub struct Wallet {
    held: Arc<Mutex<HashMap<String, Held>>>,
    events: broadcast::Sender<WalletEvent>,
}

impl Default for Wallet {
    fn default() -> Self {
        Self {
            held: Arc::default(),
            events: broadcast::channel(16).0,
        }
    }
}

impl Wallet {
    pub fn subscribe(&self) -> broadcast::Receiver<WalletEvent> {
        self.events.subscribe()
    }

    /// The cluster's certificate, if one is held and still good for a login.
    pub fn current(&self, cluster: &str) -> Option<Issued> {
        let now = certificate::now();
        self.held
            .locked()
            .get(cluster)
            .map(|h| h.issued.clone())
            .filter(|i| i.certificate.valid_before() > now + MARGIN)
    }

    /// Where the cluster's certificate stands, for the cluster card: it "expires soon" only
    /// once it could not renew by itself (renewals are silent, whatever the lifetime).
    pub fn status(&self, cluster: &str) -> Option<CertificateStatus> {
        let held = self.held.locked();
        let held = held.get(cluster)?;
        let cert = &held.issued.certificate;
        let mut status = certificate::status_of(cert.valid_after(), cert.valid_before());
        if status.state == CertificateState::ExpiresSoon && !held.stuck {
            status.state = CertificateState::Valid;
        }
        Some(status)
    }

    /// A new certificate from a login now, whatever is held (the person pressed Log in again).
    pub async fn renew(
        &self,
        request: &LoginRequest,
        questions: &Questions,
    ) -> Result<Issued, LoginError> {
        let issued = obtain(request, Some(questions)).await?;
        self.keep(request.clone(), issued.clone());
        Ok(issued)
    }

    /// Drops the cluster's certificate and stops its renewal (logging out, forgetting it).
    pub fn forget(&self, cluster: &str) {
        if let Some(held) = self.held.locked().remove(cluster) {
            held.renewal.abort();
        }
    }

    /// A certificate for the cluster: the one held, one renewed with the refresh token, or one
    /// from a login the person does in the browser (through `questions`).
    pub async fn issued(
        &self,
        request: &LoginRequest,
        questions: &Questions,
    ) -> Result<Issued, LoginError> {
        if let Some(issued) = self.current(&request.cluster) {
            return Ok(issued);
        }
        let issued = obtain(request, Some(questions)).await?;
        self.keep(request.clone(), issued.clone());
        Ok(issued)
    }

    fn keep(&self, request: LoginRequest, issued: Issued) {
        let valid_before = issued.certificate.valid_before();
        let valid_after = issued.certificate.valid_after();
        let wallet = self.clone();
        let cluster = request.cluster.clone();
        let task = tokio::spawn(async move {
            let wait = renew_in(valid_after, valid_before, certificate::now());
            tokio::time::sleep(wait).await;
            match obtain(&request, None).await {
                Ok(renewed) => {
                    let valid_before = renewed.certificate.valid_before();
                    tracing::info!(cluster = %request.cluster, valid_before, "certificate renewed");
                    wallet.keep(request.clone(), renewed);
                    let _ = wallet.events.send(WalletEvent::Renewed {
                        cluster: request.cluster,
                        valid_before,
                    });
                }
                Err(error) => {
                    tracing::info!(cluster = %request.cluster, %error, "no silent renewal");
                    let warn_at = valid_before.saturating_sub(WARN_BEFORE);
                    let wait = warn_at.saturating_sub(certificate::now());
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    if let Some(held) = wallet.held.locked().get_mut(&request.cluster) {
                        held.stuck = held.issued.certificate.valid_before() == valid_before;
                    }
                    let _ = wallet.events.send(WalletEvent::LoginNeeded {
                        cluster: request.cluster,
                        valid_before,
                    });
                }
            }
        });
        let held = Held {
            issued,
            renewal: task.abort_handle(),
            stuck: false,
        };
        if let Some(old) = self.held.locked().insert(cluster, held) {
            old.renewal.abort();
        }
    }
}

/// How long until a certificate valid from `valid_after` to `valid_before` is renewed, seen at
/// `now` on this computer's clock: at 80 % of the time it has left. A clock a few minutes off
/// only moves the renewal earlier: behind, the certificate seems to start later than now (its
/// start counts); ahead, it seems to have less time left.
fn renew_in(valid_after: u64, valid_before: u64, now: u64) -> Duration {
    let left = valid_before.saturating_sub(now.max(valid_after));
    Duration::from_secs(left * 4 / 5)
}

/// One certificate: tokens (refreshed silently when the keychain has a refresh token, else
/// from a login through `questions`; `None`: nobody to ask), a fresh key, the CA's signature,
/// and the checks that it is for that key and that user.
async fn obtain(
    request: &LoginRequest,
    questions: Option<&Questions>,
) -> Result<Issued, LoginError> {
    let authority = &request.authority;
    let http = dispatch!(authority, a => a.connect().await)?;
    let provider = dispatch!(authority, a => a.provider(&http).await)?;
    let idp = http::Http::system()?;
    let mut tokens = None;
    if let Some(refresh) = secrets::get(SecretKind::RefreshToken, &request.cluster).await {
        match oidc::refresh(&idp, &provider, &refresh).await {
            Ok(t) => tokens = Some(t),
            Err(error) => {
                tracing::info!(cluster = %request.cluster, %error, "the refresh token no longer works");
                secrets::delete(SecretKind::RefreshToken, &request.cluster).await;
            }
        }
    }
    let tokens = match (tokens, questions) {
        (Some(tokens), _) => tokens,
        (None, Some(questions)) => {
            oidc::log_in(
                &idp,
                &provider,
                request.way,
                &request.cluster,
                questions,
                request.wait,
            )
            .await?
        }
        (None, None) => return Err(LoginError::NeedsYou),
    };
    if let Some(refresh) = &tokens.refresh_token {
        secrets::set(SecretKind::RefreshToken, &request.cluster, refresh).await;
    }
    let key = SessionKey::generate();
    let signed = dispatch!(authority, a => a.sign(&http, &tokens, &key).await)?;
    let certificate = signed.certificate;
    if !certificate.certifies(&key) {
        return Err(LoginError::Certificate(SshError::BadCertificate {
            reason: "it is for another key".into(),
        }));
    }
    let principals = certificate.principals();
    let named = signed.user.as_deref() == Some(request.user.as_str());
    if !named && !principals.contains(&request.user) {
        return Err(LoginError::WrongPrincipal {
            user: request.user.clone(),
            principals: principals.join(", "),
        });
    }
    if certificate.valid_before() <= certificate::now() {
        return Err(LoginError::Certificate(SshError::BadCertificate {
            reason: "it has already expired (check this computer's clock)".into(),
        }));
    }
    tracing::info!(
        cluster = %request.cluster,
        key = %key.fingerprint(),
        valid_before = certificate.valid_before(),
        "certificate issued"
    );
    if request.share_with_agent {
        let lifetime = certificate
            .valid_before()
            .saturating_sub(certificate::now());
        let lent = agent_share::lend(&key, &certificate, Duration::from_secs(lifetime)).await;
        match lent {
            Ok(()) => tracing::info!(cluster = %request.cluster, lifetime, "lent to the ssh-agent"),
            // The login itself worked: the person's own tools just cannot use it.
            Err(error) => {
                tracing::warn!(cluster = %request.cluster, %error, "not lent to the ssh-agent")
            }
        }
    }
    Ok(Issued { key, certificate })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_at_80_percent_and_never_later_with_a_skewed_clock() {
        let (from, to) = (1_000_000, 1_000_000 + 12 * 3600);
        assert_eq!(
            renew_in(from, to, from),
            Duration::from_secs(12 * 3600 * 4 / 5)
        );
        // This computer 3 minutes behind the CA: the certificate seems to start in the future.
        let behind = renew_in(from, to, from - 180);
        assert!(behind <= Duration::from_secs(12 * 3600 * 4 / 5));
        // 3 minutes ahead: a little less time left, renewed a little earlier.
        assert_eq!(
            renew_in(from, to, from + 180),
            Duration::from_secs((12 * 3600 - 180) * 4 / 5)
        );
        // Already ended by this clock: at once.
        assert_eq!(renew_in(from, to, to + 1), Duration::ZERO);
    }

    #[test]
    fn only_a_login_notice_asks_the_person() {
        let renewed = WalletEvent::Renewed {
            cluster: "leonardo".into(),
            valid_before: 1,
        };
        assert_eq!(renewed.notice(), None);
        let needed = WalletEvent::LoginNeeded {
            cluster: "leonardo".into(),
            valid_before: 1,
        };
        let (title, body) = needed.notice().unwrap();
        assert!(title.starts_with("leonardo"), "{title}");
        assert!(body.contains(&log_in_again_words()), "{body}");
    }
}
