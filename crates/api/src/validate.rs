//! Field-level validation shared by every layer: the UI checks with the same rules the server
//! applies, and both speak of a field's problem by its code (`FieldError`).

use std::collections::BTreeMap;

use crate::FieldError;

/// Errors per field name (dotted paths for nested fields, e.g. `location.address`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, Vec<FieldError>>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, error: FieldError) {
        self.0.entry(field.to_owned()).or_default().push(error);
    }

    /// One error on one field.
    pub fn one(field: &str, error: FieldError) -> FieldErrors {
        let mut e = FieldErrors::default();
        e.add(field, error);
        e
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Requires a non-blank string of at most `max` characters.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, FieldError::Required {});
        } else {
            self.max_len(field, value, max);
        }
    }

    /// Limits a string to `max` characters (not bytes, so every script gets the same limit).
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, FieldError::TooLong { max });
        }
    }
}

/// Input that can check itself before anything is stored or sent.
pub trait Validate {
    fn validate(&self) -> Result<(), FieldErrors>;
}

/// A deliberately small e-mail check: one `@`, a dot in the domain, no spaces. Real validation is
/// delivery; this only catches typos early.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}
