//! The language chosen on this device, and its texts (from `kintara-i18n`). `t(key)` reads the
//! current language (a signal, so views that call it in a closure follow a switch); unknown keys
//! fall back to English, then to the key itself.

use chrono::{DateTime, Datelike, Utc};
use kintara_api::{
    AssignmentStatus, IncidentStatus, IncidentType, ProviderType, SupportService, UrgencyLevel,
};
use leptos::prelude::*;

pub use kintara_i18n::Lang;

const LANG_KEY: &str = "lang";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn remembered() -> Lang {
    match storage().and_then(|s| s.get_item(LANG_KEY).ok().flatten()) {
        Some(v) if v == "sw" => Lang::Sw,
        _ => Lang::En,
    }
}

thread_local! {
    static LANG: ArcRwSignal<Lang> = ArcRwSignal::new(remembered());
}

/// The current language (tracked).
pub fn lang() -> Lang {
    LANG.with(|l| l.get())
}

/// Switches the language and remembers it on the device.
pub fn set_lang(lang: Lang) {
    if let Some(s) = storage() {
        let _ = s.set_item(LANG_KEY, lang.code());
    }
    LANG.with(|l| l.set(lang));
}

/// Tells the shell the current language, so the OS notifications it raises speak it too (the
/// app calls this at start and at every switch).
pub fn tell_shell() {
    let lang = LANG.with(|l| l.get_untracked()).code().to_owned();
    leptos::task::spawn_local(async move {
        let args = kintara_api::app::LanguageArgs { lang };
        let _ = crate::ipc::invoke::<kintara_api::app::cmd::SetLanguage>(&args).await;
    });
}

/// A field error of the shared rules, in the current language.
pub fn field_error(e: &kintara_api::FieldError) -> String {
    kintara_i18n::refusal::field_error(lang(), e)
}

/// The text for `key` in the current language.
pub fn t(key: &'static str) -> &'static str {
    kintara_i18n::text(lang(), key)
}

/// `t(key)` with each `{name}` replaced by its value.
pub fn tf(key: &'static str, values: &[(&str, &str)]) -> String {
    kintara_i18n::fill(lang(), key, values)
}

pub fn incident_status(s: IncidentStatus) -> &'static str {
    kintara_i18n::incident_status(lang(), s)
}

pub fn urgency(u: UrgencyLevel) -> &'static str {
    kintara_i18n::urgency(lang(), u)
}

pub fn incident_type(k: IncidentType) -> &'static str {
    kintara_i18n::incident_type(lang(), k)
}

pub fn provider_type(p: ProviderType) -> &'static str {
    kintara_i18n::provider_type(lang(), p)
}

pub fn assignment_status(a: AssignmentStatus) -> &'static str {
    kintara_i18n::assignment_status(lang(), a)
}

const MONTHS_SW: [&str; 12] = [
    "Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ago", "Sep", "Okt", "Nov", "Des",
];

/// Day, month and time ("22 Nov, 14:05"); chrono only knows English month names.
pub fn day_time(at: &DateTime<Utc>) -> String {
    match lang() {
        Lang::En => at.format("%d %b, %H:%M").to_string(),
        Lang::Sw => format!(
            "{} {}, {}",
            at.format("%d"),
            MONTHS_SW[at.month0() as usize],
            at.format("%H:%M")
        ),
    }
}

/// The English text of `key`, whatever the current language.
pub fn english(key: &'static str) -> &'static str {
    kintara_i18n::text(Lang::En, key)
}

/// The values that fill `template`'s `{name}` slots to give `text`, or `None` when `text` does
/// not have the template's shape: the reverse of `tf`, for text the server composes in English.
pub fn unfill(template: &str, text: &str) -> Option<Vec<(String, String)>> {
    // Literal, name, literal, name, …, literal.
    let mut literals = vec![];
    let mut names = vec![];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        literals.push(&rest[..open]);
        names.push(&rest[open + 1..close]);
        rest = &rest[close + 1..];
    }
    literals.push(rest);
    let mut text = text.strip_prefix(literals[0])?;
    let mut values = vec![];
    for (i, name) in names.iter().enumerate() {
        let next = literals[i + 1];
        let end = if i + 1 == names.len() {
            text.strip_suffix(next)?.len()
        } else {
            text.find(next)?
        };
        if end == 0 {
            return None;
        }
        values.push(((*name).to_owned(), text[..end].to_owned()));
        text = &text[end + next.len()..];
    }
    // With slots the last one took the rest; without, the text must be exactly the template.
    if !text.is_empty() {
        return None;
    }
    Some(values)
}

/// Text the server composed in English from one of `patterns` (keys whose English is the
/// server's wording), in the current language: the values are read back out of the English
/// pattern, translated where they are enum labels (`server_value`), and put into the pattern in
/// this language. Text that fits no pattern (from a newer server) shows as the server wrote it.
pub fn server_text(text: &str, patterns: &[&'static str]) -> String {
    if lang() == Lang::En {
        return text.to_owned();
    }
    for &key in patterns {
        if let Some(values) = unfill(english(key), text) {
            let values: Vec<(String, String)> = values
                .into_iter()
                .map(|(name, v)| {
                    let v = server_value(&name, &v);
                    (name, v)
                })
                .collect();
            let pairs: Vec<(&str, &str)> = values
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            return tf(key, &pairs);
        }
    }
    text.to_owned()
}

/// A value the server took from enum labels, in the current language, by its slot's name:
/// `urgency` is a label ("Urgent", or "urgent"), `kind` an incident type's label in lower case,
/// `what` is "{type} ({urgency in lower case})", `services` support services' labels in lower
/// case, joined with ", ". Names, numbers and case numbers stay as they are.
fn server_value(name: &str, value: &str) -> String {
    fn urgency_of(label: &str) -> Option<String> {
        UrgencyLevel::ALL
            .iter()
            .find(|u| u.label().eq_ignore_ascii_case(label))
            .map(|&u| urgency(u).to_lowercase())
    }
    fn kind_of(label: &str) -> Option<String> {
        IncidentType::ALL
            .iter()
            .find(|k| k.label().eq_ignore_ascii_case(label))
            .map(|&k| incident_type(k).to_lowercase())
    }
    match name {
        "urgency" => urgency_of(value),
        "kind" => kind_of(value),
        "what" => IncidentType::ALL.iter().find_map(|&k| {
            let rest = value.strip_prefix(k.label())?.strip_prefix(" (")?;
            let u = urgency_of(rest.strip_suffix(')')?)?;
            Some(format!("{} ({u})", incident_type(k)))
        }),
        "services" => value
            .split(", ")
            .map(|label| {
                SupportService::ALL
                    .iter()
                    .find(|s| s.label().eq_ignore_ascii_case(label))
                    .map(|&s| support_service(s).to_lowercase())
            })
            .collect::<Option<Vec<_>>>()
            .map(|l| l.join(", ")),
        _ => None,
    }
    .unwrap_or_else(|| value.to_owned())
}

pub fn support_service(s: SupportService) -> &'static str {
    kintara_i18n::support_service(lang(), s)
}
