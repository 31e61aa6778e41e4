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
        UiError {
            kind: "other",
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }
}

impl UiError {
    /// A form's field errors.
    pub fn validation(fields: BTreeMap<String, Vec<String>>) -> Self {
        UiError {
            kind: "validation",
            message: "Some fields need attention.".into(),
            fields,
        }
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
            CoreError::Network(_) => ("network", BTreeMap::new()),
            CoreError::LoggedOut(_) => ("logged_out", BTreeMap::new()),
            CoreError::InvalidUrl(_) => ("validation", BTreeMap::new()),
            CoreError::Api {
                status, envelope, ..
            } => {
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
        UiError {
            kind,
            message,
            fields,
        }
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
        let e = UiError::from(api(409, "email_taken"));
        assert_eq!(
            (e.kind, e.message.as_str()),
            ("validation", "server says email_taken")
        );
        assert_eq!(e.fields["email"], vec!["taken".to_owned()]);
        assert_eq!(UiError::from(api(429, "account_locked")).kind, "locked");
        assert_eq!(UiError::from(api(401, "invalid_credentials")).kind, "auth");
        let offline = UiError::from(CoreError::Network("connection refused".into()));
        assert_eq!(offline.kind, "network");
        assert!(offline
            .message
            .starts_with("Cannot reach the Kintara server"));
        assert_eq!(
            UiError::from(CoreError::LoggedOut("x".into())).kind,
            "logged_out"
        );
    }
}
