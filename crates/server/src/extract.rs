//! Request extractors that fail with the error envelope: validated JSON bodies, path ids, and the
//! authenticated user.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use kintara_api::{FieldError, FieldErrors, Refusal, Validate};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// Largest JSON body any endpoint accepts (a report's description is at most 10 000 characters).
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON body that parsed and passed `Validate`. Malformed JSON is a 400, a wrong or missing field
/// a 422 naming the field, a body over the limit a 413, another content type a 415.
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::from(Refusal::UnsupportedMediaType {
                expected: "application/json".into(),
            }));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from(Refusal::PayloadTooLarge {
                    max_bytes: MAX_JSON_BODY as u64,
                })
            } else {
                ApiError::from(Refusal::UnreadableBody {})
            }
        })?;
        let value = parse_json::<T>(&bytes)?;
        value.validate().map_err(ApiError::validation)?;
        Ok(ValidJson(value))
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |detail: &str| {
        ApiError::from(Refusal::InvalidJson {
            detail: strip_position(detail),
        })
    };
    // Every body is an object: serde would otherwise fill a struct from a positional array.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        // Still report broken JSON as such before complaining about its shape.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|e| invalid(&e.to_string()))?;
        let detail = "the body must be a JSON object".to_owned();
        return Err(ApiError::field(
            "non_field_errors",
            FieldError::Invalid { detail },
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut *de);
    let value = result.map_err(|err| {
        let path = field_key(&err.path().to_string());
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                // "missing field `x` at line.." names the field only in its message.
                let field = missing_field(&message)
                    .map(|f| {
                        if path.is_empty() {
                            f
                        } else {
                            format!("{path}.{f}")
                        }
                    })
                    .unwrap_or_else(|| {
                        if path.is_empty() {
                            "non_field_errors".into()
                        } else {
                            path.clone()
                        }
                    });
                let error = match missing_field(&message) {
                    Some(_) => FieldError::Required {},
                    None => FieldError::Invalid {
                        detail: strip_position(&message),
                    },
                };
                let mut errors = FieldErrors::default();
                errors.add(&field, error);
                ApiError::validation(errors)
            }
            _ => invalid(&inner.to_string()),
        }
    })?;
    // Trailing text after the object is as broken as a missing brace.
    de.end().map_err(|e| invalid(&e.to_string()))?;
    Ok(value)
}

/// A serde path as a form field key: `support_services[1]` → `support_services`,
/// `.` → `` (the body itself).
fn field_key(path: &str) -> String {
    let mut key = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            _ if !in_index => key.push(c),
            _ => {}
        }
    }
    if key == "." {
        String::new()
    } else {
        key
    }
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// serde_json appends " at line 1 column 17"; people don't need that.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; anything axum cannot parse (a repeated key, a bad number) is a 422 naming
/// the parameter, like any other invalid input.
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ValidQuery)
            .map_err(|err| {
                let message = err.inner().to_string();
                let field = duplicate_field(&message)
                    .or_else(|| missing_field(&message))
                    .unwrap_or_else(|| {
                        let key = field_key(&err.path().to_string());
                        if key.is_empty() {
                            "non_field_errors".into()
                        } else {
                            key
                        }
                    });
                ApiError::field(&field, FieldError::Invalid { detail: message })
            })
    }
}

fn duplicate_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("duplicate field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Query parameters, each declared once as a [`query::QueryParam`]: the handler parses with the
/// declaration and the OpenAPI document states it (`crate::openapi`), so the two cannot drift.
pub mod query {
    use super::{ApiError, FieldError};
    use serde_json::{json, Value};
    use uuid::Uuid;

    /// What a parameter's value may be.
    #[derive(Debug, Clone, Copy)]
    pub enum Param {
        /// One of these wire strings; an empty value means "any".
        Choice(&'static [&'static str]),
        /// `true`/`1` or `false`/`0`; an empty value means "any".
        Flag,
        /// A whole number from 1 to this.
        Number(u32),
        /// An id.
        Id,
        /// A position in a sequence: a whole number from 0.
        Cursor,
        /// Whole seconds from 0 to this.
        Seconds(u64),
        /// Free text (a search) of at most this many characters; an empty value means "any".
        Text(usize),
    }

    #[derive(Debug, Clone, Copy)]
    pub struct QueryParam {
        pub name: &'static str,
        pub param: Param,
        pub required: bool,
    }

    impl QueryParam {
        pub const fn optional(name: &'static str, param: Param) -> Self {
            QueryParam {
                name,
                param,
                required: false,
            }
        }

        pub const fn required(name: &'static str, param: Param) -> Self {
            QueryParam {
                name,
                param,
                required: true,
            }
        }

        /// The value's JSON Schema, as the document states it.
        pub fn schema(&self) -> Value {
            match self.param {
                Param::Choice(values) => {
                    let mut all: Vec<&str> = values.to_vec();
                    all.push("");
                    json!({"type": "string", "enum": all})
                }
                Param::Flag => json!({"type": "string", "enum": ["true", "false", "1", "0", ""]}),
                Param::Number(max) => json!({"type": "integer", "minimum": 1, "maximum": max}),
                Param::Id => json!({"type": "string", "format": "uuid"}),
                Param::Cursor => json!({"type": "integer", "minimum": 0, "maximum": i64::MAX}),
                Param::Seconds(max) => json!({"type": "integer", "minimum": 0, "maximum": max}),
                Param::Text(max) => json!({"type": "string", "maxLength": max}),
            }
        }

        fn invalid(&self, error: FieldError) -> ApiError {
            ApiError::field(self.name, error)
        }

        /// The raw value, or a 422 when it is missing but required. Only choices and flags take
        /// an empty value as "none"; for the rest an empty value is invalid.
        fn present<'a>(&self, raw: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
            let raw = match self.param {
                Param::Choice(_) | Param::Flag | Param::Text(_) => raw.filter(|s| !s.is_empty()),
                _ => raw,
            };
            match raw {
                None if self.required => Err(self.invalid(FieldError::Required {})),
                other => Ok(other),
            }
        }

        /// One of the declared choices, read with the enum's own `parse`.
        pub fn choice<T>(
            &self,
            raw: Option<&str>,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Result<Option<T>, ApiError> {
            debug_assert!(matches!(self.param, Param::Choice(_)), "{}", self.name);
            self.present(raw)?
                .map(|s| parse(s).ok_or_else(|| self.invalid(FieldError::UnknownValue {})))
                .transpose()
        }

        pub fn flag(&self, raw: Option<&str>) -> Result<Option<bool>, ApiError> {
            debug_assert!(matches!(self.param, Param::Flag), "{}", self.name);
            self.present(raw)?
                .map(|s| match s {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(self.invalid(FieldError::NotABoolean {})),
                })
                .transpose()
        }

        /// A whole number in the declared range (`Number` from 1, `Seconds` from 0).
        pub fn number(&self, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
            let (min, max) = match self.param {
                Param::Number(max) => (1, u64::from(max)),
                Param::Seconds(max) => (0, max),
                _ => unreachable!("{} is not a number", self.name),
            };
            self.present(raw)?
                .map(|s| {
                    s.parse::<u64>()
                        .ok()
                        .filter(|n| (min..=max).contains(n) && !s.starts_with('+'))
                        .ok_or_else(|| {
                            self.invalid(FieldError::OutOfRange {
                                min: min as i64,
                                max: max as i64,
                            })
                        })
                })
                .transpose()
        }

        /// Free text within the declared length; blank means none.
        pub fn text<'a>(&self, raw: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
            let Param::Text(max) = self.param else {
                unreachable!("{} is not text", self.name)
            };
            match self.present(raw)? {
                Some(s) if s.chars().count() > max => {
                    Err(self.invalid(FieldError::TooLong { max }))
                }
                other => Ok(other.map(str::trim).filter(|s| !s.is_empty())),
            }
        }

        pub fn id(&self, raw: Option<&str>) -> Result<Option<Uuid>, ApiError> {
            debug_assert!(matches!(self.param, Param::Id), "{}", self.name);
            self.present(raw)?
                .map(|s| Uuid::parse_str(s).map_err(|_| self.invalid(FieldError::NotAnId {})))
                .transpose()
        }

        /// A cursor: digits only, and it must fit an `i64`.
        pub fn cursor(&self, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
            debug_assert!(matches!(self.param, Param::Cursor), "{}", self.name);
            self.present(raw)?
                .map(|s| {
                    s.bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| s.parse::<i64>().ok())
                        .flatten()
                        .ok_or_else(|| self.invalid(FieldError::NotACursor {}))
                })
                .transpose()
        }
    }
}

/// A UUID from the path. Anything else is simply "not found".
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        Uuid::parse_str(&raw)
            .map(IdPath)
            .map_err(|_| ApiError::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::LoginRequest;

    #[test]
    fn names_the_missing_field() {
        match parse_json::<LoginRequest>(br#"{"email": "a@b.co"}"#) {
            Err(ApiError::Refused {
                refusal: Refusal::ValidationFailed {},
                errors,
                ..
            }) => {
                assert_eq!(errors.0["password"], vec![FieldError::Required {}]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn array_indices_are_not_part_of_field_keys() {
        assert_eq!(field_key("support_services[1]"), "support_services");
        assert_eq!(field_key("a[0].b"), "a.b");
        assert_eq!(field_key("."), "");
    }

    #[test]
    fn syntax_errors_are_400() {
        match parse_json::<LoginRequest>(b"{\"email\": ") {
            Err(ApiError::Refused {
                refusal: Refusal::InvalidJson { .. },
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}
