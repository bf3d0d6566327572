//! The one error type commands return: the core's message, which already says what to do, and
//! its kind, so that a screen can react (offer Connect, point at a field) rather than only
//! print it.

use serde::Serialize;
use usine_core::error_kind::{ErrorKind, HasKind};

#[derive(Debug, Serialize)]
pub struct UiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl<E: HasKind + std::fmt::Display> From<E> for UiError {
    fn from(e: E) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}
