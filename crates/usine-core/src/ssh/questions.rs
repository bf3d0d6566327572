//! What the SSH layer asks the person at the keyboard, and how the answer comes back.

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use ts_rs::TS;
use zeroize::Zeroizing;

/// One prompt of a keyboard-interactive round, exactly as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    pub text: String,
    /// Whether the answer may be shown while typed (false for passwords and codes).
    pub echo: bool,
}

/// What is being asked. Serializable so the app can show it; it never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum QuestionKind {
    /// First contact with a host: trust this key? `fingerprint` is OpenSSH's `SHA256:…` form.
    #[serde(rename_all = "camelCase")]
    UnknownHostKey {
        host: String,
        port: u16,
        algorithm: String,
        fingerprint: String,
    },
    /// A keyboard-interactive round (password, one-time code, …): one answer per prompt.
    #[serde(rename_all = "camelCase")]
    KeyboardInteractive {
        destination: String,
        name: String,
        instructions: String,
        prompts: Vec<Prompt>,
    },
    /// The passphrase of an encrypted private key.
    #[serde(rename_all = "camelCase")]
    KeyPassphrase { key_path: String },
    /// A password for `destination`.
    #[serde(rename_all = "camelCase")]
    Password { destination: String },
    /// Log in at the identity provider: open `url` in a browser (the app opens it), and with a
    /// device code, type `code` there. Answered with anything but Cancel once shown; the login
    /// itself ends when the browser comes back.
    #[serde(rename_all = "camelCase")]
    BrowserLogin {
        destination: String,
        url: String,
        code: Option<String>,
    },
}

/// The user's reply.
#[derive(Debug)]
pub enum Answer {
    /// Trust the host key (only for [`QuestionKind::UnknownHostKey`]).
    Trust,
    /// One text per prompt, or a single passphrase/password.
    Texts(Vec<Zeroizing<String>>),
    /// The user declined or closed the dialog.
    Cancel,
}

/// A question waiting for its answer.
#[derive(Debug)]
pub struct Question {
    pub kind: QuestionKind,
    reply: oneshot::Sender<Answer>,
}

impl Question {
    pub fn answer(self, answer: Answer) {
        // The connection attempt may have been abandoned meanwhile; then nobody needs the answer.
        let _ = self.reply.send(answer);
    }
}

/// The sending side: the SSH layer asks here; whoever holds the receiver answers.
#[derive(Debug, Clone)]
pub struct Questions(mpsc::Sender<Question>);

impl Questions {
    /// A question channel; questions wait in the receiver until answered.
    pub fn channel() -> (Self, mpsc::Receiver<Question>) {
        let (tx, rx) = mpsc::channel(4);
        (Self(tx), rx)
    }

    /// Asks and waits. A closed channel or a dropped question counts as "cancel": nobody is
    /// there to answer, so nothing may be assumed.
    pub async fn ask(&self, kind: QuestionKind) -> Answer {
        let (reply, answer) = oneshot::channel();
        if self.0.send(Question { kind, reply }).await.is_err() {
            return Answer::Cancel;
        }
        answer.await.unwrap_or(Answer::Cancel)
    }
}
