//! The rules a request body must meet, declared once per type: `Validate` checks them, and the
//! server's OpenAPI document states them as JSON Schema (`apply_all`), so a client learns from
//! the document exactly what the server refuses.
//!
//! A field's rule ([`Rule`]) is checked on the body as it serialises, at its wire path. Rules
//! across fields (a provider names a type, a patch changes something) are a type's `across`
//! check together with the JSON Schema fragment that says the same. The few rules JSON Schema
//! cannot state (a date not in the future, two ids that must differ, a key listed once) are named
//! in the schema's description; README lists them.

use serde::Serialize;
use serde_json::{json, Value};

use crate::validate::is_plausible_email;
use crate::{FieldError, FieldErrors};

/// The characters Rust's `char::is_whitespace` (Unicode `White_Space`) takes for blank, as the
/// ranges of a regular-expression class. A test holds the two to the same set.
pub const WHITESPACE: &[(char, char)] = &[
    ('\u{9}', '\u{d}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// The control characters (`char::is_control`, Unicode `Cc`).
pub const CONTROL: &[(char, char)] = &[('\u{0}', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// The inside of a regular-expression class holding `ranges`, with `\uXXXX` escapes that
/// ECMA-262 and Python read alike.
fn class(ranges: &[(char, char)]) -> String {
    let esc = |c: char| format!("\\u{:04X}", c as u32);
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                esc(a)
            } else {
                format!("{}-{}", esc(a), esc(b))
            }
        })
        .collect()
}

/// Text with something other than whitespace in it (unanchored: one such character anywhere).
pub fn non_blank_pattern() -> String {
    format!("[^{}]", class(WHITESPACE))
}

/// A plausible e-mail address, whitespace allowed only around it: one `@`, something before it,
/// a dot inside the domain. Real validation is delivery; this catches typos.
pub fn email_pattern() -> String {
    let ws = class(WHITESPACE);
    format!("^[{ws}]*[^@{ws}]+@[^@.{ws}][^@{ws}]*\\.[^@{ws}]*[^@.{ws}][{ws}]*$")
}

/// A phone number in E.164, or nothing: the same as `is_e164`.
pub const PHONE_OR_EMPTY_PATTERN: &str = "^(\\+[1-9][0-9]{6,14})?$";

/// `+`, then 7 to 15 digits, the first not 0 (ITU-T E.164). Nothing else: no spaces or dashes,
/// so one number is stored one way.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// One field's rule. Lengths count characters (Unicode scalar values), as JSON Schema does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// At most `max` characters.
    Text { max: usize },
    /// More than whitespace, at most `max` characters.
    RequiredText { max: usize },
    /// A key the client chose (an idempotency key): not blank, at most `max` characters.
    Key { max: usize },
    /// A secret: not empty, at most `max` characters; whitespace counts.
    Secret { min: usize, max: usize },
    /// A plausible e-mail address of at most `max` characters.
    Email { max: usize },
    /// Not blank, no control characters, at most `max` characters (a push token).
    Token { max: usize },
    /// A number from `min` to `max`.
    Range { min: i64, max: i64 },
    /// A phone number in E.164 (`+` and 7 to 15 digits, no leading 0), or empty for none.
    PhoneOrEmpty,
    /// A list of `min..=max` items; with `unique`, none twice.
    Items {
        min: usize,
        max: usize,
        unique: bool,
    },
}

impl Rule {
    fn check(self, e: &mut FieldErrors, field: &str, value: &Value) {
        match self {
            Rule::Text { max } => {
                if let Some(s) = value.as_str() {
                    e.max_len(field, s, max);
                }
            }
            Rule::RequiredText { max } => {
                if let Some(s) = value.as_str() {
                    e.required_text(field, s, max);
                }
            }
            Rule::Key { max } => {
                if let Some(s) = value.as_str() {
                    if s.trim().is_empty() {
                        e.add(field, FieldError::Blank {});
                    } else {
                        e.max_len(field, s, max);
                    }
                }
            }
            Rule::Secret { min, max } => {
                if let Some(s) = value.as_str() {
                    let n = s.chars().count();
                    if n == 0 {
                        e.add(field, FieldError::Required {});
                    } else if n < min {
                        e.add(field, FieldError::TooShort { min });
                    } else if n > max {
                        e.add(field, FieldError::TooLong { max });
                    }
                }
            }
            Rule::Email { max } => {
                if let Some(s) = value.as_str() {
                    if s.trim().is_empty() {
                        e.add(field, FieldError::Required {});
                    } else if s.chars().count() > max {
                        e.add(field, FieldError::TooLong { max });
                    } else if !is_plausible_email(s.trim()) {
                        e.add(field, FieldError::NotAnEmail {});
                    }
                }
            }
            Rule::Token { max } => {
                if let Some(s) = value.as_str() {
                    e.required_text(field, s, max);
                    if s.chars().any(char::is_control) {
                        e.add(field, FieldError::ControlCharacters {});
                    }
                }
            }
            Rule::PhoneOrEmpty => {
                if let Some(s) = value.as_str() {
                    if !s.is_empty() && !is_e164(s) {
                        e.add(field, FieldError::NotAPhoneNumber {});
                    }
                }
            }
            Rule::Range { min, max } => {
                // A number that is not finite serialises as null: out of any range too.
                let n = value.as_f64().unwrap_or(f64::NAN);
                if !(n >= min as f64 && n <= max as f64) {
                    e.add(field, FieldError::OutOfRange { min, max });
                }
            }
            Rule::Items { min, max, unique } => {
                if let Some(items) = value.as_array() {
                    if items.len() < min {
                        e.add(field, FieldError::NoneChosen {});
                    } else if items.len() > max {
                        e.add(field, FieldError::TooMany { max });
                    }
                    if unique {
                        let twice = items
                            .iter()
                            .enumerate()
                            .find(|(i, v)| items[..*i].contains(v));
                        if let Some((_, v)) = twice {
                            let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                            e.add(field, FieldError::ListedTwice { value });
                        }
                    }
                }
            }
        }
    }

    /// The JSON Schema keywords that say the same.
    pub fn schema(self) -> Value {
        match self {
            Rule::Text { max } => json!({"maxLength": max}),
            Rule::RequiredText { max } | Rule::Key { max } => {
                json!({"maxLength": max, "pattern": non_blank_pattern()})
            }
            Rule::Secret { min, max } => json!({"minLength": min.max(1), "maxLength": max}),
            Rule::Email { max } => json!({"maxLength": max, "pattern": email_pattern()}),
            Rule::Token { max } => json!({
                "maxLength": max,
                "pattern": non_blank_pattern(),
                "not": {"pattern": format!("[{}]", class(CONTROL))},
            }),
            Rule::PhoneOrEmpty => json!({"pattern": PHONE_OR_EMPTY_PATTERN}),
            Rule::Range { min, max } => json!({"minimum": min, "maximum": max}),
            Rule::Items { min, max, unique } => {
                let mut s = json!({"minItems": min, "maxItems": max});
                if unique {
                    s["uniqueItems"] = json!(true);
                }
                s
            }
        }
    }
}

/// A rule at a field's wire path (`location.address`).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub path: &'static str,
    pub rule: Rule,
}

pub const fn field(path: &'static str, rule: Rule) -> Field {
    Field { path, rule }
}

/// A request body's declared rules.
pub trait Rules: Serialize {
    /// Its schema's name in the OpenAPI document.
    const SCHEMA: &'static str;
    const FIELDS: &'static [Field];

    /// Checks the rules across fields (and those JSON Schema cannot state).
    fn across(&self, _e: &mut FieldErrors) {}

    /// JSON Schema fragments for the rules across fields, each merged into the schema at a path
    /// (`""`: the body itself).
    fn across_schema() -> Vec<(&'static str, Value)> {
        Vec::new()
    }

    /// The rules JSON Schema cannot state, in words, for the schema's description.
    const UNSTATED: &'static str = "";
}

/// Every rule of `T`, checked on `value`.
pub fn check<T: Rules>(value: &T) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    let wire = serde_json::to_value(value).unwrap_or(Value::Null);
    for f in T::FIELDS {
        // An absent or null field has nothing to check (whether it may be absent is serde's
        // part), except a number, which is null when it is not finite.
        let (parent, last) = f.path.rsplit_once('.').unwrap_or(("", f.path));
        let object = parent
            .split('.')
            .filter(|k| !k.is_empty())
            .try_fold(&wire, |v, key| v.get(key).filter(|v| !v.is_null()));
        let at = object.and_then(|o| o.get(last));
        match at {
            Some(Value::Null) if !matches!(f.rule, Rule::Range { .. }) => {}
            Some(v) => f.rule.check(&mut e, f.path, v),
            None => {}
        }
    }
    value.across(&mut e);
    e.into_result()
}

/// States `T`'s rules in `schemas` (the document's `components.schemas`).
pub fn apply<T: Rules>(schemas: &mut Value) {
    for f in T::FIELDS {
        let (parent, last) = match f.path.rsplit_once('.') {
            Some((parent, last)) => (Some(parent), last),
            None => (None, f.path),
        };
        let object = object_at(schemas, T::SCHEMA, parent);
        let property = &mut object["properties"][last];
        assert!(!property.is_null(), "{}: no property {}", T::SCHEMA, f.path);
        merge(property, f.rule.schema());
    }
    for (path, fragment) in T::across_schema() {
        let parent = (!path.is_empty()).then_some(path);
        merge(object_at(schemas, T::SCHEMA, parent), fragment);
    }
    if !T::UNSTATED.is_empty() {
        let schema = &mut schemas[T::SCHEMA];
        let before = schema["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        schema["description"] = json!(format!("{before}\n\nAlso refused: {}", T::UNSTATED)
            .trim_start()
            .to_owned());
    }
}

/// The object schema at `path` inside `schema`, with references on the way inlined, so rules for
/// a request do not change the same type where a response uses it.
fn object_at<'a>(schemas: &'a mut Value, schema: &str, path: Option<&str>) -> &'a mut Value {
    let all = schemas.clone();
    let mut at = &mut schemas[schema];
    for key in path.into_iter().flat_map(|p| p.split('.')) {
        let property = &mut at["properties"][key];
        inline(property, &all);
        // `Option<T>` is `oneOf: [null, T]`: the rules are T's.
        let variant = property
            .get("oneOf")
            .and_then(Value::as_array)
            .and_then(|vs| {
                vs.iter()
                    .position(|v| v.get("type") != Some(&json!("null")))
            });
        at = match variant {
            Some(i) => {
                let v = &mut property["oneOf"][i];
                inline(v, &all);
                v
            }
            None => property,
        };
    }
    at
}

fn inline(at: &mut Value, all: &Value) {
    if let Some(name) = at
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        *at = all[name].clone();
    }
}

/// Adds `fragment`'s keywords to `target`; objects (`properties`) merge key by key.
fn merge(target: &mut Value, fragment: Value) {
    let (Some(target), Value::Object(fragment)) = (target.as_object_mut(), fragment) else {
        panic!("rules merge into an object schema");
    };
    for (k, v) in fragment {
        match target.get_mut(&k) {
            Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
            _ => {
                target.insert(k, v);
            }
        }
    }
}

/// serde fills a struct from a JSON array as readily as from an object (`[1, 2]` for
/// `{"latitude": 1, "longitude": 2}`). A body's nested objects are read from objects only, as
/// the document says: `#[serde(deserialize_with = "rules::object")]`. The field path of any
/// error inside stays exact, since the object is read through the caller's own deserializer.
pub mod strict {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    pub fn object<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        T::deserialize(MapOnly(d))
    }

    /// [`object`], or `null`/absent.
    pub fn optional_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        struct Opt<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Opt<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object or null")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                object(d).map(Some)
            }
        }
        d.deserialize_option(Opt(PhantomData))
    }

    /// A list of [`object`]s.
    pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        struct Each<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Each<T> {
            type Value = T;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
                object(d)
            }
        }
        struct List<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for List<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element_seed(Each(PhantomData))? {
                    all.push(item);
                }
                Ok(all)
            }
        }
        d.deserialize_seq(List(PhantomData))
    }

    /// A deserializer that reads a struct only from a map.
    struct MapOnly<D>(D);

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
        type Error = D::Error;

        fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.0.deserialize_any(v)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _fields: &'static [&'static str],
            v: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_map(NoSeq(v))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    /// Passes a map on; anything else is refused by `Visitor`'s defaults ("invalid type").
    struct NoSeq<V>(V);

    impl<'de, V: Visitor<'de>> Visitor<'de> for NoSeq<V> {
        type Value = V::Value;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
            self.0.visit_map(map)
        }
    }
}

/// States every request body's rules in the document's `components.schemas`.
pub fn apply_all(schemas: &mut Value) {
    use crate::*;
    apply::<RegisterRequest>(schemas);
    apply::<LoginRequest>(schemas);
    apply::<RefreshRequest>(schemas);
    apply::<UpdateMeRequest>(schemas);
    apply::<ChangePasswordRequest>(schemas);
    apply::<AccountActionRequest>(schemas);
    apply::<CreateStaffRequest>(schemas);
    apply::<IncidentCreate>(schemas);
    apply::<IncidentPatch>(schemas);
    apply::<AcceptRequest>(schemas);
    apply::<RejectRequest>(schemas);
    apply::<StatusUpdateRequest>(schemas);
    apply::<AssignRequest>(schemas);
    apply::<ReassignRequest>(schemas);
    apply::<CaseDecisionRequest>(schemas);
    apply::<NotificationPreferences>(schemas);
    apply::<DeviceRegistration>(schemas);
    apply::<SendMessage>(schemas);
    apply::<Heartbeat>(schemas);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
        ranges.iter().any(|&(a, b)| (a..=b).contains(&c))
    }

    #[test]
    fn the_classes_are_rusts_own() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(in_ranges(WHITESPACE, c), c.is_whitespace(), "{c:?}");
            assert_eq!(in_ranges(CONTROL, c), c.is_control(), "{c:?}");
        }
    }
}

#[cfg(test)]
mod strict_tests {
    use crate::{IncidentPatch, NotificationPreferences};

    #[test]
    fn a_nested_object_is_not_read_from_a_list() {
        for body in [
            r#"{"provider_preferences": [null, null]}"#,
            r#"{"provider_preferences": ["sms"]}"#,
        ] {
            assert!(
                serde_json::from_str::<IncidentPatch>(body).is_err(),
                "{body}"
            );
        }
        let ok: IncidentPatch =
            serde_json::from_str(r#"{"provider_preferences": {"communication_method": "sms"}}"#)
                .unwrap();
        assert!(ok.provider_preferences.is_some());
        let none: IncidentPatch =
            serde_json::from_str(r#"{"provider_preferences": null, "description": "x"}"#).unwrap();
        assert!(none.provider_preferences.is_none());
        let list = r#"{"preferences": [["new_message", []]]}"#;
        assert!(serde_json::from_str::<NotificationPreferences>(list).is_err());
    }
}
