//! The error every command returns: `kintara_api::app::UiError` (the one shape the UI reads),
//! wrapped so the shell can say how each of its failures becomes one.

use std::collections::BTreeMap;

use kintara_api::app::{self, UiErrorKind};
use kintara_core::CoreError;
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct UiError(pub app::UiError);

impl UiError {
    pub fn new(kind: UiErrorKind, message: impl Into<String>) -> Self {
        UiError(app::UiError::new(kind, message))
    }

    pub fn other(message: impl Into<String>) -> Self {
        UiError::new(UiErrorKind::Other, message)
    }

    /// A form's field errors.
    pub fn validation(fields: BTreeMap<String, Vec<String>>) -> Self {
        UiError(app::UiError {
            kind: UiErrorKind::Validation,
            message: "Some fields need attention.".into(),
            fields,
        })
    }
}

impl From<kintara_core::LocalError> for UiError {
    fn from(e: kintara_core::LocalError) -> Self {
        UiError::other(format!("This device's storage failed: {e}"))
    }
}

impl From<kintara_core::CacheError> for UiError {
    fn from(e: kintara_core::CacheError) -> Self {
        UiError::other(format!("This device's storage failed: {e}"))
    }
}

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> Self {
        let (kind, fields) = match &e {
            CoreError::Network(_) => (UiErrorKind::Network, BTreeMap::new()),
            CoreError::LoggedOut(_) => (UiErrorKind::LoggedOut, BTreeMap::new()),
            CoreError::InvalidUrl(_) => (UiErrorKind::Validation, BTreeMap::new()),
            CoreError::Api {
                status, envelope, ..
            } => {
                let kind = match status {
                    401 => UiErrorKind::Auth,
                    429 => UiErrorKind::Locked,
                    400 | 409 | 413 | 415 | 422 => UiErrorKind::Validation,
                    _ => UiErrorKind::Other,
                };
                (kind, envelope.errors.clone())
            }
            CoreError::Storage(_) | CoreError::Protocol(_) => (UiErrorKind::Other, BTreeMap::new()),
        };
        let message = match &e {
            CoreError::Network(_) => {
                "Cannot reach the Kintara server. Check the server address and your connection."
                    .to_owned()
            }
            CoreError::LoggedOut(_) => "Your session has ended. Please sign in again.".to_owned(),
            other => other.to_string(),
        };
        UiError(app::UiError {
            kind,
            message,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::ErrorEnvelope;

    fn api(status: u16, code: &str) -> CoreError {
        CoreError::Api {
            status,
            envelope: ErrorEnvelope {
                success: false,
                message: format!("server says {code}"),
                code: code.into(),
                errors: [("email".to_owned(), vec!["taken".to_owned()])].into(),
            },
            retry_after: None,
        }
    }

    #[test]
    fn screens_get_a_kind_a_sentence_and_the_field_errors() {
        let e = UiError::from(api(409, "email_taken")).0;
        assert_eq!(
            (e.kind, e.message.as_str()),
            (UiErrorKind::Validation, "server says email_taken")
        );
        assert_eq!(e.fields["email"], vec!["taken".to_owned()]);
        let kind = |e: CoreError| UiError::from(e).0.kind;
        assert_eq!(kind(api(429, "account_locked")), UiErrorKind::Locked);
        assert_eq!(kind(api(401, "invalid_credentials")), UiErrorKind::Auth);
        let offline = UiError::from(CoreError::Network("connection refused".into())).0;
        assert_eq!(offline.kind, UiErrorKind::Network);
        assert!(offline
            .message
            .starts_with("Cannot reach the Kintara server"));
        assert_eq!(
            kind(CoreError::LoggedOut("x".into())),
            UiErrorKind::LoggedOut
        );
        // On the wire the UI reads the shared shape, not a wrapper.
        let json = serde_json::to_value(UiError::other("x")).unwrap();
        assert_eq!(json["kind"], "other");
    }
}
