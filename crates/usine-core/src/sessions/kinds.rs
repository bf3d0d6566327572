//! The kinds of interactive session (`data/sessions.toml`): how each web app starts on a node,
//! which page to open, and what the person has to give.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::jobs::spec::JobSpec;

const CATALOGUE: &str = include_str!("../../data/sessions.toml");

/// What a kind needs from the person besides the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Asks {
    /// A folder on the cluster (TensorBoard's event files), given to `start` as `$FOLDER`.
    Folder,
    /// The person's own command, run as written.
    Command,
}

/// A kind in the language the core writes in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionKind {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub asks: Option<Asks>,
    /// Resources and time a session of this kind starts from.
    pub spec: JobSpec,
    #[serde(skip)]
    pub(crate) start: String,
    #[serde(skip)]
    pub(crate) open: String,
    #[serde(skip)]
    pub(crate) needs: Option<String>,
}

#[derive(Deserialize)]
struct Words {
    title: String,
    summary: String,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(flatten)]
    words: crate::lang::Both<Words>,
    asks: Option<Asks>,
    open: String,
    start: String,
    needs: Option<String>,
    spec: JobSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
struct Catalogue {
    kind: Vec<Entry>,
}

fn entries() -> Vec<Entry> {
    // Compiled in and checked by the tests below, so it always parses.
    toml::from_str::<Catalogue>(CATALOGUE)
        .map(|c| c.kind)
        .unwrap_or_else(|e| panic!("data/sessions.toml is invalid: {e}"))
}

pub fn all() -> Vec<SessionKind> {
    entries()
        .into_iter()
        .map(|e| {
            let words = e.words.current();
            SessionKind {
                id: e.id,
                title: words.title,
                summary: words.summary,
                asks: e.asks,
                spec: e.spec,
                start: e.start,
                open: e.open,
                needs: e.needs,
            }
        })
        .collect()
}

pub fn find(id: &str) -> Option<SessionKind> {
    all().into_iter().find(|k| k.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_opens_a_page_that_needs_the_token_and_speaks_french() {
        let all = all();
        assert_eq!(
            all.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            ["jupyterlab", "tensorboard", "web-app"]
        );
        for e in entries() {
            assert!(
                e.open.starts_with('/') && e.open.contains("{token}"),
                "{}",
                e.id
            );
            assert_ne!(e.words.fr.summary, e.words.en.summary, "{}", e.id);
            // Other users of a node can read command lines: the token stays off them.
            assert!(!e.start.contains("--token") && !e.start.contains("token=\"$TOKEN"));
        }
        assert_eq!(find("tensorboard").unwrap().asks, Some(Asks::Folder));
        assert_eq!(find("web-app").unwrap().asks, Some(Asks::Command));
        assert_eq!(
            find("jupyterlab").unwrap().needs.as_deref(),
            Some("jupyter")
        );
    }
}
