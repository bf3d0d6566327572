//! The first-run guide: from "I have an allocation e-mail" to a cluster that answers. Its
//! progress is saved after every step, so quitting in the middle loses nothing and the app
//! opens where the newcomer stopped. No secret passes here: a key Usine made keeps its
//! passphrase in the keychain, and only the public half is remembered, to show it again.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::cluster::{self, ClusterError, ClusterSettings, Login};
use crate::sites;
use crate::store::{Store, StoreError, Table};

/// Where the guide stands; each step holds exactly what the earlier steps decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "step")]
pub enum Guide {
    /// "Which AI Factory gave you compute time?"
    Factory,
    /// The place is chosen; next, the user name the site gave.
    User { place: Place },
    /// Next, how to log in: a key Usine makes, one the user has, a certificate or a code.
    Login { place: Place, user: String },
    /// The cluster is saved; the user registers the public key where the site says (`key`:
    /// the public key Usine made, to copy again after a restart).
    Register {
        cluster: String,
        key: Option<String>,
    },
    /// The first login: host key and one-time code questions come here.
    Connect { cluster: String },
    /// Logged in: accounts, partitions and GPU hours found on the cluster.
    Discovered { cluster: String },
    /// Over, or skipped; `cluster` is where the first job goes (none: this computer).
    Finished { cluster: Option<String> },
}

/// The cluster the user was given time on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Place {
    /// A machine of the catalogue (`sites`), by its id.
    Site { id: String },
    /// Anything else, by address.
    Custom {
        name: String,
        host: String,
        port: u16,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum GuideError {
    #[error("{}", crate::tr!(
        en: "Usine does not know the site “{}”. Choose it again in the list, or enter its address.",
        fr: "Usine ne connaît pas le site « {} ». Choisissez-le à nouveau dans la liste, ou saisissez son adresse.",
        .0
    ))]
    UnknownSite(String),
    #[error("{}", crate::tr!(
        en: "Type your user name on the cluster: it is in the e-mail that gave you the compute time.",
        fr: "Saisissez votre identifiant sur le cluster : il figure dans l'e-mail qui vous a attribué le temps de calcul."
    ))]
    NoUser,
    #[error("{}", crate::tr!(
        en: "A user name has no spaces or special characters (letters, digits, “.”, “_”, “-”). Copy it from the e-mail that gave you the compute time.",
        fr: "Un identifiant n'a ni espace ni caractère spécial (lettres, chiffres, « . », « _ », « - »). Copiez-le depuis l'e-mail qui vous a attribué le temps de calcul."
    ))]
    BadUser,
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const KEY: &str = "guide";

/// The saved progress, if the guide was ever started.
pub fn load(store: &Store) -> Result<Option<Guide>, StoreError> {
    store.get_json(Table::Settings, KEY)
}

pub fn save(store: &Store, guide: &Guide) -> Result<(), StoreError> {
    store.put_json(Table::Settings, KEY, guide)
}

/// What the app opens with: the unfinished guide, or its first step for someone with no
/// cluster who never saw it; nothing once it is finished or skipped.
pub fn at_start(store: &Store) -> Result<Option<Guide>, GuideError> {
    Ok(match load(store)? {
        Some(Guide::Finished { .. }) => None,
        Some(guide) => Some(guide),
        None if cluster::list(store)?.is_empty() => Some(Guide::Factory),
        None => None,
    })
}

/// Saves the cluster the guide's answers describe and moves the guide to the key's
/// registration. A catalogue site gets its own name (`lumi`, else `lumi-2`, …).
pub fn add_cluster(
    store: &Store,
    place: &Place,
    user: &str,
    login: Login,
    public_key: Option<String>,
) -> Result<Guide, GuideError> {
    let user = user.trim();
    if user.is_empty() {
        return Err(GuideError::NoUser);
    }
    if !user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(GuideError::BadUser);
    }
    let (name, site, host, port) = match place {
        Place::Site { id } => {
            let site = sites::find(id).ok_or_else(|| GuideError::UnknownSite(id.clone()))?;
            let taken: Vec<String> = cluster::list(store)?.into_iter().map(|c| c.name).collect();
            let name = std::iter::once(site.id.clone())
                .chain((2..).map(|n| format!("{}-{n}", site.id)))
                .find(|n| !taken.contains(n))
                .expect("an unused name exists");
            (
                name,
                Some(site.id.clone()),
                site.hosts[0].clone(),
                site.port,
            )
        }
        Place::Custom { name, host, port } => {
            (name.trim().to_owned(), None, host.trim().to_owned(), *port)
        }
    };
    cluster::add(
        store,
        &ClusterSettings {
            name: name.clone(),
            site,
            host,
            port,
            user: user.to_owned(),
            login,
            jumps: Vec::new(),
            rest_url: None,
        },
    )?;
    let next = Guide::Register {
        cluster: name,
        key: public_key,
    };
    save(store, &next)?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(tag: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("usine-guide-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir.join("db.sqlite3")).unwrap()
    }

    /// A real key file (the guide checks it), made once per test process.
    fn key() -> Login {
        static KEY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
        let path = KEY.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("usine-guide-key-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("id_ed25519");
            let made = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&path)
                .status()
                .unwrap();
            assert!(made.success());
            path
        });
        Login::Key {
            key: path.clone(),
            certificate: None,
        }
    }

    #[test]
    fn a_missing_key_or_its_public_half_is_said_at_the_login_step() {
        let store = store("keys");
        let lumi = Place::Site { id: "lumi".into() };
        let Login::Key { key: real, .. } = key() else {
            unreachable!()
        };
        let missing = Login::Key {
            key: real.with_file_name("nope"),
            certificate: None,
        };
        let err = crate::lang::with(crate::lang::Lang::En, || {
            add_cluster(&store, &lumi, "ada", missing, None)
                .unwrap_err()
                .to_string()
        });
        assert!(err.contains("There is no key file at"), "{err}");
        assert!(err.contains("make a key"), "{err}");
        let public = Login::Key {
            key: real.with_extension("pub"),
            certificate: None,
        };
        let err = crate::lang::with(crate::lang::Lang::En, || {
            add_cluster(&store, &lumi, "ada", public, None)
                .unwrap_err()
                .to_string()
        });
        assert!(err.contains("is the public half"), "{err}");
        assert!(err.contains(&real.display().to_string()), "{err}");
        // Nothing was saved: the guide stays at the login step.
        assert!(cluster::list(&store).unwrap().is_empty());
    }

    #[test]
    fn a_newcomer_starts_at_the_first_step_and_resumes_where_they_stopped() {
        let store = store("resume");
        assert_eq!(at_start(&store).unwrap(), Some(Guide::Factory));
        let half = Guide::Login {
            place: Place::Site { id: "lumi".into() },
            user: "ada".into(),
        };
        save(&store, &half).unwrap();
        // A restart reads the same progress back.
        drop(store);
        let store = reopen("resume");
        assert_eq!(at_start(&store).unwrap(), Some(half));
        save(&store, &Guide::Finished { cluster: None }).unwrap();
        assert_eq!(at_start(&store).unwrap(), None);
    }

    fn reopen(tag: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("usine-guide-{tag}-{}", std::process::id()));
        Store::open(&dir.join("db.sqlite3")).unwrap()
    }

    #[test]
    fn someone_with_clusters_already_is_not_sent_to_the_guide() {
        let store = store("expert");
        add_cluster(
            &store,
            &Place::Custom {
                name: "mine".into(),
                host: "login.example.org".into(),
                port: 22,
            },
            "ada",
            key(),
            None,
        )
        .unwrap();
        // The guide was left at "register"; forgetting that, an expert who added a cluster by
        // hand does not see it.
        store.delete(Table::Settings, KEY).unwrap();
        assert_eq!(at_start(&store).unwrap(), None);
    }

    #[test]
    fn a_catalogue_site_fills_in_the_address_and_gets_a_free_name() {
        let store = store("site");
        let lumi = Place::Site { id: "lumi".into() };
        let first = add_cluster(
            &store,
            &lumi,
            " ada ",
            key(),
            Some("ssh-ed25519 AAAA ada".into()),
        )
        .unwrap();
        assert_eq!(
            first,
            Guide::Register {
                cluster: "lumi".into(),
                key: Some("ssh-ed25519 AAAA ada".into())
            }
        );
        let saved = cluster::get(&store, "lumi").unwrap();
        assert_eq!(
            (saved.host.as_str(), saved.port, saved.user.as_str()),
            ("lumi.csc.fi", 22, "ada")
        );
        assert_eq!(saved.site.as_deref(), Some("lumi"));
        assert_eq!(load(&store).unwrap(), Some(first));
        // A second project on the same machine.
        let second = add_cluster(&store, &lumi, "ada2", key(), None).unwrap();
        assert!(matches!(second, Guide::Register { cluster, .. } if cluster == "lumi-2"));
    }

    #[test]
    fn unusable_answers_are_refused_with_what_to_do_and_nothing_saved() {
        let store = store("refused");
        let lumi = Place::Site { id: "lumi".into() };
        for (user, says) in [
            ("  ", "Type your user name"),
            ("ada; rm -rf ~", "no spaces"),
        ] {
            let err = add_cluster(&store, &lumi, user, key(), None).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
        let err = add_cluster(
            &store,
            &Place::Site {
                id: "atlantis".into(),
            },
            "ada",
            key(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("enter its address"), "{err}");
        let fr = crate::lang::with(crate::lang::Lang::Fr, || err.to_string());
        assert!(
            fr.starts_with("Usine ne connaît pas le site « atlantis »"),
            "{fr}"
        );
        assert!(cluster::list(&store).unwrap().is_empty());
        assert_eq!(load(&store).unwrap(), None);
    }
}
