//! The one error type of the core, shaped for what a screen must say.

use std::time::Duration;

use kintara_api::ErrorEnvelope;

/// The longest `Retry-After` the core honours: a wrong or hostile header cannot park the outbox
/// or the connection for hours.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(5 * 60);

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
        /// The server's `Retry-After` (seconds form, capped at `RETRY_AFTER_CAP`): retrying
        /// sooner is pointless (a lockout, an overload).
        retry_after: Option<Duration>,
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
    /// backoff, and never before the server's `Retry-After` (`CoreError::retry_after`).
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

    /// Why the server refused, as a code with params.
    pub fn refusal(&self) -> Option<&kintara_api::Refusal> {
        match self {
            CoreError::Api { envelope, .. } => Some(&envelope.refusal),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CoreError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to wait before trying again; only for transient failures
    /// (a `Retry-After` on a permanent refusal means nothing to a retry that will not happen).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CoreError::Api { retry_after, .. } if self.class() == ErrorClass::Transient => {
                *retry_after
            }
            _ => None,
        }
    }
}

/// A `Retry-After` value in its seconds form, capped at `RETRY_AFTER_CAP`. The HTTP-date form
/// and anything unparsable give `None`: the caller's own backoff applies, as without a header.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(RETRY_AFTER_CAP))
}

/// The wait before the next try: the caller's backoff, but never less than the server asked.
pub fn at_least(backoff: Duration, retry_after: Option<Duration>) -> Duration {
    retry_after.map_or(backoff, |r| backoff.max(r))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, retry_after: Option<Duration>) -> CoreError {
        CoreError::Api {
            status,
            envelope: ErrorEnvelope {
                success: false,
                message: "m".into(),
                refusal: kintara_api::Refusal::ServiceUnavailable {},
                errors: Default::default(),
            },
            retry_after,
        }
    }

    #[test]
    fn retry_after_takes_seconds_only_and_is_capped() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("86400"), Some(RETRY_AFTER_CAP));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn only_transient_failures_carry_the_hint() {
        let five = Some(Duration::from_secs(5));
        assert_eq!(api(429, five).retry_after(), five);
        assert_eq!(api(503, five).retry_after(), five);
        assert_eq!(api(422, five).retry_after(), None);
        assert_eq!(api(503, None).retry_after(), None);
        assert_eq!(
            at_least(Duration::from_secs(1), five),
            Duration::from_secs(5)
        );
        assert_eq!(
            at_least(Duration::from_secs(9), five),
            Duration::from_secs(9)
        );
    }
}
