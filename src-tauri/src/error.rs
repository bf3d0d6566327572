//! The one error type commands return: the core's message, which already says what to do.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct UiError {
    pub message: String,
}

impl<E: std::fmt::Display> From<E> for UiError {
    fn from(e: E) -> Self {
        Self {
            message: e.to_string(),
        }
    }
}
