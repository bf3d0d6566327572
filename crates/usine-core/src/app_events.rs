//! Every event the app sends to its window, its name and its payload in one type. The UI's
//! TypeScript is generated from it (`AppEvent`), so renaming an event or a payload's field here
//! breaks `tsc`, not the running app; no event name is written twice.

use serde::Serialize;
use ts_rs::TS;

use crate::cluster::AskedQuestion;
use crate::host_metrics::HostMetrics;
use crate::jobs::history::JobEntry;
use crate::ssh::ConnectionState;
use crate::transfer::{Progress, Report};

// Each event is built, serialized and dropped at once: boxing the big ones would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "name", content = "payload", rename_all = "kebab-case")]
pub enum AppEvent {
    /// This computer's load, about once a second.
    HostMetrics(HostMetrics),
    /// A cluster's login asks the person something (answered through `answer_question`).
    SshQuestion(AskedQuestion),
    ClusterState(ClusterState),
    TransferProgress(Progressed),
    TransferDone(Ended),
    DownloadProgress(Progressed),
    DownloadDone(Ended),
    /// A job was queued, sent, refused, or changed state.
    JobChanged(JobEntry),
    /// New samples of what a running job uses.
    GpuSamples(JobRef),
    /// A running job's GPUs have sat idle for the time set under Settings (once per job).
    JobIdle(IdleJob),
    /// The person clicked a job's desktop notification: show that job (its id).
    OpenJob(String),
    /// Script files wait to be opened (`take_opened_scripts`).
    OpenScript,
    /// A newer Usine was found.
    UpdateAvailable(AvailableUpdate),
    /// Files or folders of this computer were dropped on the window.
    FilesDropped(Dropped),
    /// A browser login's certificate was renewed, or the person must log in again.
    Certificate(crate::browser_login::WalletEvent),
    /// A session became ready, its way in opened, or it is about to end: list them again.
    SessionsChanged,
}

/// What was dropped on the window, and where (CSS pixels from the window's top left), so the
/// screen can tell which part of it received the drop.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Dropped {
    pub paths: Vec<String>,
    pub x: f64,
    pub y: f64,
}

impl AppEvent {
    /// The event's name and payload, as the window receives them.
    pub fn name_and_payload(&self) -> (String, serde_json::Value) {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut fields)) => {
                let name = match fields.remove("name") {
                    Some(serde_json::Value::String(name)) => name,
                    _ => String::new(),
                };
                (
                    name,
                    fields.remove("payload").unwrap_or(serde_json::Value::Null),
                )
            }
            _ => (String::new(), serde_json::Value::Null),
        }
    }
}

/// A cluster's connection changed (connecting, waiting for you, connected, reconnecting,
/// offline and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "ClusterStateEvent")]
pub struct ClusterState {
    pub cluster: String,
    pub state: ConnectionState,
}

/// An upload or download under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Progressed {
    pub id: String,
    pub progress: Progress,
}

/// An upload or download ended: its report, or what went wrong, or paused by the person.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, TS)]
#[ts(rename = "TransferDone")]
pub struct Ended {
    pub id: String,
    pub report: Option<Report>,
    pub error: Option<String>,
    /// Stopped by the person; Resume continues it.
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct JobRef {
    pub id: String,
}

/// A running job whose GPUs have sat idle.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct IdleJob {
    pub id: String,
    pub name: String,
    #[ts(type = "number")]
    pub gpus: u64,
    /// Under this share of busy time (per cent)…
    pub below: f32,
    /// …for this many minutes.
    pub minutes: u32,
}

/// A newer Usine the update server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AvailableUpdate {
    pub version: String,
    pub notes: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_its_name_and_its_payload() {
        let (name, payload) = AppEvent::GpuSamples(JobRef { id: "j1".into() }).name_and_payload();
        assert_eq!(
            (name.as_str(), payload),
            ("gpu-samples", serde_json::json!({ "id": "j1" }))
        );
        let (name, payload) = AppEvent::OpenScript.name_and_payload();
        assert_eq!(
            (name.as_str(), payload),
            ("open-script", serde_json::Value::Null)
        );
        let (name, payload) = AppEvent::TransferDone(Ended {
            id: "t".into(),
            paused: true,
            ..Ended::default()
        })
        .name_and_payload();
        assert_eq!(name, "transfer-done");
        assert_eq!(
            payload,
            serde_json::json!({ "id": "t", "report": null, "error": null, "paused": true })
        );
    }
}
