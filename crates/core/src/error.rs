//! The one error type of the core, shaped for what a screen must say.

use kintara_api::ErrorEnvelope;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The server could not be reached (offline, wrong address, server down, timeout).
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with an error envelope.
    #[error("{}", .envelope.message)]
    Api {
        status: u16,
        envelope: ErrorEnvelope,
    },
    /// There is no usable session: never signed in, signed out, or the server ended it.
    #[error("signed out: {0}")]
    LoggedOut(String),
    /// The server address is not a usable http(s) URL.
    #[error("invalid server address: {0}")]
    InvalidUrl(String),
    /// Local storage failed.
    #[error("local storage failed: {0}")]
    Storage(String),
    /// The server answered something that is not the API (a proxy page, a wrong port).
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl CoreError {
    /// The machine-readable code of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            CoreError::Api { envelope, .. } => Some(&envelope.code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CoreError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for CoreError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            CoreError::Protocol(e.to_string())
        } else {
            // reqwest's message names the URL, never headers or bodies, so it is safe to show.
            CoreError::Network(e.without_url().to_string())
        }
    }
}
