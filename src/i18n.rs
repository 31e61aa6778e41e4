//! English and Swahili. `t(key)` reads the current language (a signal, so views that call it in
//! a closure follow a switch); unknown keys fall back to English, then to the key itself.

use leptos::prelude::*;

const LANG_KEY: &str = "lang";

static EN: &[(&str, &str)] = &[
    ("nav.home", "Home"),
    ("nav.chat", "Chat"),
    ("nav.notifications", "Notifications"),
    ("nav.outbox", "Outbox"),
    ("nav.safety", "Safety"),
    ("nav.settings", "Settings"),
    ("frame.quick_exit", "Quick exit"),
    ("frame.language", "Language"),
    ("home.hello", "Hello, "),
    ("home.sign_out", "Sign out"),
    ("home.new_report", "Report an incident"),
    ("home.my_reports", "My reports"),
    ("home.danger", "In danger right now?"),
    ("home.call", "Call the free GBV hotline "),
    ("home.hours", " (24 hours) or the police on "),
    ("safety.title", "Safety"),
    ("safety.call_title", "Call for help"),
    ("safety.hotline", "GBV hotline (free, 24 hours)"),
    ("safety.police", "Police"),
    ("safety.contacts", "Emergency contacts"),
    ("safety.contacts_hint", "Kept on this device only, never sent anywhere."),
    ("safety.no_contacts", "No contacts yet."),
    ("safety.name", "Name"),
    ("safety.phone", "Phone"),
    ("safety.add", "Add"),
    ("safety.remove", "Remove"),
    ("safety.need_both", "Enter a name and a phone number."),
    ("safety.note_title", "Staying safe"),
    (
        "safety.note",
        "Use Quick exit (or press Escape three times) if someone comes near. Clear this app from your recent apps if your phone may be checked. Trust your instincts.",
    ),
    ("settings.title", "Settings"),
    ("privacy.title", "What others see in chat"),
    ("privacy.read", "Read receipts"),
    ("privacy.typing", "When I am typing"),
    ("privacy.presence", "When I am online"),
    ("privacy.saved", "Saved."),
    ("privacy.loading", "Loading…"),
];

static SW: &[(&str, &str)] = &[
    ("nav.home", "Nyumbani"),
    ("nav.chat", "Gumzo"),
    ("nav.notifications", "Arifa"),
    ("nav.outbox", "Zinazosubiri"),
    ("nav.safety", "Usalama"),
    ("nav.settings", "Mipangilio"),
    ("frame.quick_exit", "Toka haraka"),
    ("frame.language", "Lugha"),
    ("home.hello", "Habari, "),
    ("home.sign_out", "Ondoka"),
    ("home.new_report", "Ripoti tukio"),
    ("home.my_reports", "Ripoti zangu"),
    ("home.danger", "Uko hatarini sasa hivi?"),
    ("home.call", "Piga simu ya bure ya msaada wa GBV "),
    ("home.hours", " (saa 24) au polisi kwa "),
    ("safety.title", "Usalama"),
    ("safety.call_title", "Piga simu kupata msaada"),
    ("safety.hotline", "Simu ya msaada wa GBV (bure, saa 24)"),
    ("safety.police", "Polisi"),
    ("safety.contacts", "Watu wa dharura"),
    ("safety.contacts_hint", "Wanahifadhiwa kwenye kifaa hiki tu, hawatumwi popote."),
    ("safety.no_contacts", "Bado hakuna watu."),
    ("safety.name", "Jina"),
    ("safety.phone", "Simu"),
    ("safety.add", "Ongeza"),
    ("safety.remove", "Ondoa"),
    ("safety.need_both", "Weka jina na namba ya simu."),
    ("safety.note_title", "Kuwa salama"),
    (
        "safety.note",
        "Tumia Toka haraka (au bonyeza Escape mara tatu) mtu akikaribia. Futa programu hii kwenye programu za hivi karibuni ikiwa simu yako inaweza kukaguliwa. Amini hisia zako.",
    ),
    ("settings.title", "Mipangilio"),
    ("privacy.title", "Wengine wanachoona kwenye gumzo"),
    ("privacy.read", "Taarifa za kusomwa"),
    ("privacy.typing", "Ninapoandika"),
    ("privacy.presence", "Nikiwa mtandaoni"),
    ("privacy.saved", "Imehifadhiwa."),
    ("privacy.loading", "Inapakia…"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Sw,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sw => "sw",
        }
    }
}

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

fn lookup(table: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The text for `key` in the current language.
pub fn t(key: &'static str) -> &'static str {
    let table = match lang() {
        Lang::En => EN,
        Lang::Sw => SW,
    };
    lookup(table, key)
        .or_else(|| lookup(EN, key))
        .unwrap_or(key)
}
