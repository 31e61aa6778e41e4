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

pub fn support_service(s: SupportService) -> &'static str {
    kintara_i18n::support_service(lang(), s)
}
