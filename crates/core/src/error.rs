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

/// What to do about a failure: the one classification used by REST calls, the socket and the
/// outbox alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The server could not be reached: retry with backoff, and at once when the network returns.
    Network,
    /// The server is there but could not do it now (5xx, 408, 429, a busy conflict): retry with
    /// backoff.
    Transient,
    /// Retrying the same request cannot succeed (validation, not found, forbidden, a finished
    /// case): show the reason; the user may edit, retry or discard.
    Permanent,
    /// No usable session: stop, and ask the user to sign in.
    Auth,
}

impl CoreError {
    pub fn class(&self) -> ErrorClass {
        match self {
            CoreError::Network(_) => ErrorClass::Network,
            CoreError::LoggedOut(_) => ErrorClass::Auth,
            CoreError::Api { status, .. } => match status {
                401 => ErrorClass::Auth,
                408 | 429 | 500..=599 => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            // A proxy page or a wrong port may be temporary (a captive portal, a restart).
            CoreError::Protocol(_) => ErrorClass::Transient,
            CoreError::Storage(_) | CoreError::InvalidUrl(_) => ErrorClass::Permanent,
        }
    }

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
