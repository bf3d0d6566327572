//! Where jobs run. Until a cluster is configured, the only target is this computer, so the app is
//! useful in its first minute.

use std::sync::OnceLock;

use serde::Serialize;
use ts_rs::TS;

/// Stable identifier of the embedded local target.
pub const THIS_COMPUTER_ID: &str = "this-computer";

/// Something that can run a job spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Stable id used by the UI and the CLI to name the target.
    pub id: String,
    /// Plain-words name shown to the user.
    pub name: String,
    pub kind: TargetKind,
    /// The machine's host name, as the operating system reports it.
    pub host: String,
}

/// What kind of machine a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    /// The computer Usine runs on; jobs run as local processes.
    ThisComputer,
    /// A cluster the person added; jobs go through its Slurm.
    Cluster,
}

impl Target {
    /// The embedded default target: the computer Usine runs on.
    pub fn this_computer() -> Self {
        Self {
            id: THIS_COMPUTER_ID.to_owned(),
            name: crate::tr!(en: "This computer", fr: "Cet ordinateur"),
            kind: TargetKind::ThisComputer,
            host: this_host().to_owned(),
        }
    }
}

/// This computer's host name as the operating system reports it (read once: charts and samples
/// name it on every look).
pub fn this_host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| sysinfo::System::host_name().unwrap_or_else(|_| "localhost".to_owned()))
}

/// Every target the person can send a job to: this computer first, then the clusters added.
pub fn list(store: &crate::store::Store) -> Result<Vec<Target>, crate::cluster::ClusterError> {
    let clusters = crate::cluster::list(store)?.into_iter().map(|c| Target {
        id: c.name.clone(),
        name: c.name,
        kind: TargetKind::Cluster,
        host: c.host,
    });
    Ok(std::iter::once(Target::this_computer())
        .chain(clusters)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_computer_is_listed_first_then_the_clusters() {
        let dir = std::env::temp_dir().join(format!("usine-targets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = crate::store::Store::open(&dir.join("usine.db")).unwrap();
        let targets = list(&store).unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].id, THIS_COMPUTER_ID);
        assert_eq!(targets[0].name, "This computer");
        assert!(!targets[0].host.is_empty());
        let lab = crate::cluster::ClusterSettings {
            name: "lab".into(),
            site: None,
            host: "login.example.eu".into(),
            port: 22,
            user: "me".into(),
            login: crate::cluster::Login::Agent,
            jumps: Vec::new(),
            rest_url: None,
        };
        crate::cluster::add(&store, &lab).unwrap();
        let targets = list(&store).unwrap();
        assert_eq!(
            (
                targets[1].id.as_str(),
                targets[1].kind,
                targets[1].host.as_str()
            ),
            ("lab", TargetKind::Cluster, "login.example.eu")
        );
    }

    #[test]
    fn serializes_in_camel_case_for_the_ui() {
        let json = serde_json::to_string(&Target::this_computer()).unwrap();
        assert!(json.contains("\"kind\":\"thisComputer\""), "{json}");
    }
}
