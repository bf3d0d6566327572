//! Why a connection failed, in words a non-expert can act on. No variant ever carries a secret.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("{}", crate::tr!(
        en: "The cluster's login node does not pass connections on to {} ({}); Usine goes through the job itself instead.",
        fr: "Le nœud de connexion du cluster ne transmet pas les connexions vers {} ({}) ; Usine passe alors par le job lui-même.",
        .target, .reason
    ))]
    NotForwarded { target: String, reason: String },

    #[error("{}", crate::tr!(
        en: "Cannot reach {} on port {} ({}). Check your internet connection; some clusters are only reachable from your institution's network or VPN.",
        fr: "Impossible de joindre {} sur le port {} ({}). Vérifiez votre connexion internet ; certains clusters ne sont joignables que depuis le réseau de votre institution ou par VPN.",
        .host, .port, .reason
    ))]
    Unreachable {
        host: String,
        port: u16,
        reason: String,
    },

    #[error("{}", crate::tr!(
        en: "Nothing accepts SSH connections on port {} of {}: the cluster's login service may be down (check the site's status page), or the port is not the right one (SSH is usually 22; the site's guide says which).",
        fr: "Rien n'accepte de connexion SSH sur le port {} de {} : le service de connexion du cluster est peut-être arrêté (consultez la page d'état du site), ou ce n'est pas le bon port (SSH utilise en général le 22 ; le guide du site l'indique).",
        .port, .host
    ))]
    PortClosed { host: String, port: u16 },

    #[error("{}", crate::tr!(
        en: "No computer called {} could be found. Check the spelling of the address (the site's guide gives it exactly), and that this computer is online.",
        fr: "Aucun ordinateur nommé {} n'a été trouvé. Vérifiez l'orthographe de l'adresse (le guide du site la donne exactement), et que cet ordinateur est en ligne.",
        .host
    ))]
    UnknownHost { host: String },

    #[error("{}", crate::tr!(
        en: "{} did not answer within {} s. The network may be slow or the cluster may be down: try again in a few minutes, and check the site's status page.",
        fr: "{} n'a pas répondu en {} s. Le réseau est peut-être lent ou le cluster arrêté : réessayez dans quelques minutes et consultez la page d'état du site.",
        .host, .seconds
    ))]
    TimedOut { host: String, seconds: u64 },

    #[error("{}", crate::tr!(
        en: "Refusing to connect: the identity key of {} (port {}) is not the one recorded in {} (line {}). Either the cluster's administrators replaced their key (check the site's announcements or ask its support), or someone is intercepting your connection. If the site confirms the new key {}, remove that line and connect again.",
        fr: "Connexion refusée : la clé d'identité de {} (port {}) n'est pas celle enregistrée dans {} (ligne {}). Soit les administrateurs du cluster ont changé leur clé (voyez les annonces du site ou demandez à son support), soit quelqu'un intercepte votre connexion. Si le site confirme la nouvelle clé {}, supprimez cette ligne et reconnectez-vous.",
        .host, .port, .file.display(), .line, .fingerprint
    ))]
    HostKeyChanged {
        host: String,
        port: u16,
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },

    #[error("{}", crate::tr!(
        en: "Refusing to connect: the key {} of {} is marked as revoked in {}. Contact the site's support.",
        fr: "Connexion refusée : la clé {} de {} est marquée comme révoquée dans {}. Contactez le support du site.",
        .fingerprint, .host, .file.display()
    ))]
    HostKeyRevoked {
        host: String,
        fingerprint: String,
        file: PathBuf,
    },

    #[error("{}", crate::tr!(
        en: "Not connected: you did not confirm the identity of {} ({}). Compare it with the fingerprint the site publishes, then connect again.",
        fr: "Pas connecté : vous n'avez pas confirmé l'identité de {} ({}). Comparez-la à l'empreinte publiée par le site, puis reconnectez-vous.",
        .host, .fingerprint
    ))]
    HostKeyNotTrusted { host: String, fingerprint: String },

    #[error("{}", crate::tr!(
        en: "{} did not accept the password or one-time code. Nothing was retried, so your account is not at risk of being locked: wait for a new code and connect again.",
        fr: "{} n'a pas accepté le mot de passe ou le code à usage unique. Rien n'a été retenté, votre compte ne risque donc pas d'être bloqué : attendez un nouveau code et reconnectez-vous.",
        .destination
    ))]
    CodeRejected { destination: String },

    #[error("{}", crate::tr!(
        en: "{} did not accept any of your login methods ({}). Check your user name and that your public key is registered on the site's portal (registration can take a while to reach the cluster).",
        fr: "{} n'a accepté aucune de vos méthodes de connexion ({}). Vérifiez votre identifiant et que votre clé publique est enregistrée sur le portail du site (l'enregistrement peut mettre un moment à atteindre le cluster).",
        .destination, .tried
    ))]
    AuthRejected { destination: String, tried: String },

    #[error("{}", crate::tr!(
        en: "Your SSH certificate {} expired on {}. Get a new one from the site (for example with its certificate tool or portal), then connect again.",
        fr: "Votre certificat SSH {} a expiré le {}. Obtenez-en un nouveau auprès du site (par exemple avec son outil de certificats ou son portail), puis reconnectez-vous.",
        .path.display(), .expired
    ))]
    CertificateExpired { path: PathBuf, expired: String },

    #[error("{}", crate::tr!(
        en: "Your SSH certificate {} is not valid before {}. Check your computer's clock.",
        fr: "Votre certificat SSH {} n'est pas valable avant le {}. Vérifiez l'horloge de votre ordinateur.",
        .path.display(), .valid_from
    ))]
    CertificateNotYetValid { path: PathBuf, valid_from: String },

    #[error("{}", crate::tr!(
        en: "The certificate authority answered with something that is not an SSH certificate ({}). Try again later; if it persists, tell the site's support.",
        fr: "L'autorité de certification a répondu par autre chose qu'un certificat SSH ({}). Réessayez plus tard ; si cela persiste, prévenez le support du site.",
        .reason
    ))]
    BadCertificate { reason: String },

    #[error("{}", crate::tr!(
        en: "The passphrase for {} is not right. Try again.",
        fr: "La phrase secrète de {} n'est pas la bonne. Réessayez.",
        .path.display()
    ))]
    WrongPassphrase { path: PathBuf },

    #[error("{}", crate::tr!(
        en: "Cannot use the key file {}: {}",
        fr: "Impossible d'utiliser le fichier de clé {} : {}",
        .path.display(), .reason
    ))]
    KeyUnreadable { path: PathBuf, reason: String },

    #[error("{}", crate::tr!(
        en: "There is no key file at {}. Check the path, or let Usine make a key for you (Clusters → New key, or `usine key generate`).",
        fr: "Il n'y a pas de fichier de clé à {}. Vérifiez le chemin, ou laissez Usine créer une clé (Clusters → Nouvelle clé, ou `usine key generate`).",
        .path.display()
    ))]
    KeyMissing { path: PathBuf },

    #[error("{}", crate::tr!(
        en: "{} is the public half of a key (the part you give the site). Usine needs the private file that goes with it{}.",
        fr: "{} est la moitié publique d'une clé (celle que vous donnez au site). Usine a besoin du fichier privé qui va avec{}.",
        .path.display(),
        .private.as_ref().map(|p| format!(": {}", p.display())).unwrap_or_default()
    ))]
    PublicHalf {
        path: PathBuf,
        /// The private file next to it, when there is one.
        private: Option<PathBuf>,
    },

    #[error("{}", crate::tr!(
        en: "No SSH agent is running (SSH_AUTH_SOCK is not set or does not answer): {}",
        fr: "Aucun agent SSH ne tourne (SSH_AUTH_SOCK n'est pas défini ou ne répond pas) : {}",
        .reason
    ))]
    NoAgent { reason: String },

    #[error("{}", crate::tr!(en: "Login cancelled.", fr: "Connexion annulée."))]
    Cancelled,

    #[error("{}", crate::tr!(
        en: "The connection to {} broke ({}). Usine will offer to reconnect; check your network if this repeats.",
        fr: "La connexion à {} a été coupée ({}). Usine proposera de se reconnecter ; vérifiez votre réseau si cela se répète.",
        .host, .reason
    ))]
    Disconnected { host: String, reason: String },

    #[error("{}", crate::tr!(
        en: "SSH protocol problem with {}: {}",
        fr: "Problème de protocole SSH avec {} : {}",
        .host, .reason
    ))]
    Protocol { host: String, reason: String },
}
