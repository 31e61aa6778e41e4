//! The error shape every command returns, for the UI to show.

use std::collections::BTreeMap;

use kintara_core::CoreError;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct UiError {
    /// `network`, `validation`, `auth`, `logged_out`, `locked`, or `other`.
    pub kind: &'static str,
    pub message: String,
    /// Messages per field, for forms.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl UiError {
    pub fn other(message: impl Into<String>) -> Self {
        UiError { kind: "other", message: message.into(), fields: BTreeMap::new() }
    }
}

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> Self {
        let (kind, fields) = match &e {
            CoreError::Network(_) => ("network", BTreeMap::new()),
            CoreError::LoggedOut(_) => ("logged_out", BTreeMap::new()),
            CoreError::InvalidUrl(_) => ("validation", BTreeMap::new()),
            CoreError::Api { status, envelope } => {
                let kind = match status {
                    401 => "auth",
                    429 => "locked",
                    400 | 409 | 413 | 415 | 422 => "validation",
                    _ => "other",
                };
                (kind, envelope.errors.clone())
            }
            CoreError::Storage(_) | CoreError::Protocol(_) => ("other", BTreeMap::new()),
        };
        let message = match &e {
            CoreError::Network(_) => {
                "Cannot reach the Kintara server. Check the server address and your connection."
                    .to_owned()
            }
            CoreError::LoggedOut(_) => "Your session has ended. Please sign in again.".to_owned(),
            other => other.to_string(),
        };
        UiError { kind, message, fields }
    }
}
