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

/// What kind of machine a target is. Clusters join this enum with the login work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    /// The computer Usine runs on; jobs run as local processes.
    ThisComputer,
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

/// Every target the user can pick, the local one first.
pub fn list() -> Vec<Target> {
    vec![Target::this_computer()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_computer_is_listed_first() {
        let targets = list();
        assert_eq!(targets[0].id, THIS_COMPUTER_ID);
        assert_eq!(targets[0].name, "This computer");
        assert!(!targets[0].host.is_empty());
    }

    #[test]
    fn serializes_in_camel_case_for_the_ui() {
        let json = serde_json::to_string(&Target::this_computer()).unwrap();
        assert!(json.contains("\"kind\":\"thisComputer\""), "{json}");
    }
}
