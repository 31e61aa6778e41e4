//! The error every command returns: `kintara_api::app::UiError` (the one shape the UI reads),
//! wrapped so the shell can say how each of its failures becomes one. The server's refusals
//! arrive as codes with params and are worded here, in the language the UI shows, from
//! `kintara-i18n`: the UI never reads a sentence back.

use std::collections::BTreeMap;
use std::sync::RwLock;

use kintara_api::app::{self, UiErrorKind};
use kintara_api::FieldErrors;
use kintara_core::CoreError;
use kintara_i18n::refusal::{field_error, refusal};
use kintara_i18n::Lang;
use serde::Serialize;

/// The language the UI shows (it says so at start and at every switch): refusals and OS
/// notifications are worded in it.
static LANGUAGE: RwLock<Lang> = RwLock::new(Lang::En);

pub fn set_language(lang: Lang) {
    *LANGUAGE.write().unwrap_or_else(|p| p.into_inner()) = lang;
}

pub fn language() -> Lang {
    *LANGUAGE.read().unwrap_or_else(|p| p.into_inner())
}

/// Field errors, worded in the UI's language.
pub fn worded(errors: FieldErrors) -> BTreeMap<String, Vec<String>> {
    let lang = language();
    errors
        .0
        .into_iter()
        .map(|(field, list)| (field, list.iter().map(|e| field_error(lang, e)).collect()))
        .collect()
}

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

    /// One of the app's own texts (`kintara-i18n`'s `key`), in the UI's language.
    pub fn text(kind: UiErrorKind, key: &str) -> Self {
        UiError::new(kind, kintara_i18n::text(language(), key))
    }

    /// A form's field errors (the shared rules', checked here before anything is queued).
    pub fn validation(errors: FieldErrors) -> Self {
        UiError(app::UiError {
            kind: UiErrorKind::Validation,
            message: refusal(language(), &kintara_api::Refusal::ValidationFailed {}),
            fields: worded(errors),
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
                let lang = language();
                let fields = envelope
                    .errors
                    .iter()
                    .map(|(field, list)| {
                        let words = list.iter().map(|m| field_error(lang, &m.error)).collect();
                        (field.clone(), words)
                    })
                    .collect();
                (kind, fields)
            }
            CoreError::Storage(_) | CoreError::Protocol(_) => (UiErrorKind::Other, BTreeMap::new()),
        };
        let lang = language();
        let message = match &e {
            CoreError::Network(_) => kintara_i18n::text(lang, "error.unreachable").to_owned(),
            CoreError::LoggedOut(_) => kintara_i18n::text(lang, "error.logged_out").to_owned(),
            CoreError::Api { envelope, .. } => refusal(language(), &envelope.refusal),
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
    use kintara_api::{ErrorEnvelope, FieldError, FieldMessage, Refusal};

    fn api(status: u16, refusal: Refusal) -> CoreError {
        let taken = FieldMessage {
            error: FieldError::Taken {},
            message: "This e-mail already has an account.".into(),
        };
        CoreError::Api {
            status,
            envelope: ErrorEnvelope {
                success: false,
                message: "the server's English".into(),
                refusal,
                errors: [("email".to_owned(), vec![taken])].into(),
            },
            retry_after: None,
        }
    }

    #[test]
    fn screens_get_a_kind_a_sentence_and_the_field_errors() {
        let e = UiError::from(api(409, Refusal::EmailTaken {})).0;
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                UiErrorKind::Validation,
                "An account with this e-mail already exists."
            )
        );
        assert_eq!(
            e.fields["email"],
            vec!["This e-mail already has an account."]
        );
        let kind = |e: CoreError| UiError::from(e).0.kind;
        let locked = Refusal::SignInPaused { minutes: 15 };
        assert_eq!(kind(api(429, locked)), UiErrorKind::Locked);
        let wrong = Refusal::InvalidCredentials {};
        assert_eq!(kind(api(401, wrong)), UiErrorKind::Auth);
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

    /// The server's codes are worded in the language the UI shows, whatever English it sent.
    #[test]
    fn refusals_are_worded_in_the_uis_language() {
        set_language(Lang::Sw);
        let e = UiError::from(api(401, Refusal::InvalidCredentials {})).0;
        set_language(Lang::En);
        assert_eq!(e.message, "Barua pepe au nenosiri si sahihi.");
        assert_eq!(
            e.fields["email"],
            vec!["Barua pepe hii tayari ina akaunti."]
        );
    }
}
