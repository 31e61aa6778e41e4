//! Settings: the language, what the user shares in chat (read receipts, typing, presence), the
//! disguise, and the PIN (where the device key is under one).
//! The sharing switches live on the server; survivors start with all three off.

use kintara_api::app::{cmd, SwitchArgs};
use kintara_api::ChatSettings;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::t;
use crate::ipc::{self, NoArgs};
use crate::screens::unlock::{BiometricSetup, ChangePin};

/// The three sharing switches, loaded from and saved to the server.
#[component]
pub fn PrivacySwitches() -> impl IntoView {
    let ctx = ctx();
    let settings: RwSignal<Option<ChatSettings>> = RwSignal::new(None);
    let status: RwSignal<Option<String>> = RwSignal::new(None);
    spawn_local(async move {
        match ipc::invoke::<cmd::ChatSettings>(&NoArgs {}).await {
            Ok(s) => settings.set(Some(s)),
            Err(e) => status.set(Some(ctx.fail(e))),
        }
    });
    // Shown at once; put back to what was saved if the server refuses.
    let saved = StoredValue::new(None::<ChatSettings>);
    let saving = ipc::action::<cmd::SetChatSettings>();
    Effect::new(move |_| match saving.value().get() {
        Some(Ok(s)) => {
            settings.set(Some(s));
            status.set(Some(t("privacy.saved").into()));
        }
        Some(Err(e)) => {
            settings.set(saved.get_value());
            status.set(Some(ctx.fail(e)));
        }
        None => {}
    });
    let save = move |next: ChatSettings| {
        saved.set_value(settings.get_untracked());
        settings.set(Some(next));
        status.set(None);
        saving.dispatch(next);
    };
    let switch = move |id: &'static str,
                       label: &'static str,
                       get: fn(&ChatSettings) -> bool,
                       put: fn(&mut ChatSettings, bool)| {
        view! {
            <label class="switch">
                <input id=id type="checkbox"
                    disabled=move || settings.with(Option::is_none)
                    prop:checked=move || settings.with(|s| s.as_ref().is_some_and(get))
                    on:change=move |e| {
                        if let Some(mut s) = settings.get_untracked() {
                            put(&mut s, event_target_checked(&e));
                            save(s);
                        }
                    }/>
                <span>{move || t(label)}</span>
            </label>
        }
    };
    view! {
        <div id="privacy" class="privacy card"
            data-ready=move || settings.with(Option::is_some).to_string()>
            <h2>{move || t("privacy.title")}</h2>
            {switch("share-read-receipts", "privacy.read", |s| s.read_receipts, |s, v| s.read_receipts = v)}
            {switch("share-typing", "privacy.typing", |s| s.typing_indicators, |s, v| s.typing_indicators = v)}
            {switch("share-presence", "privacy.presence", |s| s.presence, |s, v| s.presence = v)}
            <p id="privacy-status" class="hint" role="status">
                {move || if settings.with(Option::is_none) && status.with(Option::is_none) {
                    Some(t("privacy.loading").to_string())
                } else {
                    status.get()
                }}
            </p>
        </div>
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <section id="settings" class="screen">
            <header class="top"><h1>{move || t("settings.title")}</h1></header>
            <PrivacySwitches/>
            <Disguise/>
            <ChangePin/>
            <BiometricSetup/>
        </section>
    }
}

/// Shows the app as "Notes": its window title, its header and the title of its OS notifications
/// (a phone's home-screen icon needs the mobile build's alternate icons).
#[component]
fn Disguise() -> impl IntoView {
    let ctx = ctx();
    let error = RwSignal::new(None::<String>);
    let switch = ipc::action::<cmd::SetDisguise>();
    let wanted = StoredValue::new(false);
    Effect::new(move |_| match switch.value().get() {
        Some(Ok(())) => {
            error.set(None);
            ctx.disguised.set(wanted.get_value());
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let toggle = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        wanted.set_value(on);
        switch.dispatch(SwitchArgs { on });
    };
    view! {
        <fieldset class="privacy">
            <legend>"Disguise"</legend>
            <label class="switch">
                <input id="disguise" type="checkbox"
                    prop:checked=move || ctx.disguised.get() on:change=toggle/>
                " Show this app as \"Notes\""
            </label>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </fieldset>
    }
}
