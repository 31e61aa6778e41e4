//! Settings: the language, what the user shares in chat (read receipts, typing, presence), where
//! notifications go (`notify_settings`), the disguise, security (where she is signed in, signing other devices out, her password), and
//! the PIN (where the device key is under one).
//! The sharing switches live on the server; survivors start with all three off.

use kintara_api::app::{cmd, IdArgs, SwitchArgs};
use kintara_api::{ChangePasswordRequest, ChatSettings, SessionInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::{day_time, t, tf};
use crate::ipc::{self, NoArgs};
use crate::screens::notify_settings::NotificationSettings;
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
            <NotificationSettings/>
            <Security/>
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
            <legend>{move || t("disguise.title")}</legend>
            <label class="switch">
                <input id="disguise" type="checkbox"
                    prop:checked=move || ctx.disguised.get() on:change=toggle/>
                " " {move || t("disguise.switch")}
            </label>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </fieldset>
    }
}

/// Where she is signed in, with a way to sign any other device out (someone who knew her
/// password, a lost phone), and her password, whose change signs every other device out.
#[component]
fn Security() -> impl IntoView {
    let ctx = ctx();
    let sessions: RwSignal<Option<Vec<SessionInfo>>> = RwSignal::new(None);
    let status: RwSignal<Option<String>> = RwSignal::new(None);
    let load = move || {
        spawn_local(async move {
            match ipc::invoke::<cmd::Sessions>(&NoArgs {}).await {
                Ok(list) => sessions.set(Some(list.sessions)),
                Err(e) => status.set(Some(ctx.fail(e))),
            }
        })
    };
    load();
    let end = move |id: uuid::Uuid| {
        spawn_local(async move {
            match ipc::invoke::<cmd::EndSession>(&IdArgs { id }).await {
                Ok(()) => status.set(Some(t("security.ended").into())),
                Err(e) => status.set(Some(ctx.fail(e))),
            }
            load();
        })
    };
    let end_others = move |_| {
        spawn_local(async move {
            match ipc::invoke::<cmd::RevokeOtherSessions>(&NoArgs {}).await {
                Ok(done) => status.set(Some(tf(
                    "security.ended_n",
                    &[("n", &done.ended.to_string())],
                ))),
                Err(e) => status.set(Some(ctx.fail(e))),
            }
            load();
        })
    };
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = ChangePasswordRequest {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        spawn_local(async move {
            match ipc::invoke::<cmd::ChangePassword>(&req).await {
                Ok(done) => {
                    current.set(String::new());
                    new.set(String::new());
                    status.set(Some(tf(
                        "security.changed",
                        &[("n", &done.ended.to_string())],
                    )));
                }
                Err(e) => {
                    let fields: Vec<String> = e.fields.values().flatten().cloned().collect();
                    let message = ctx.fail(e);
                    status.set(Some(if fields.is_empty() {
                        message
                    } else {
                        fields.join(" ")
                    }));
                }
            }
            load();
        })
    };
    let row = move |s: SessionInfo| {
        let id = s.id;
        let label = if s.device_label.is_empty() {
            t("security.unknown_device").to_owned()
        } else {
            s.device_label.clone()
        };
        let since = s.created_at;
        let used = s.last_used_at;
        view! {
            <li class="session" data-session=id.to_string() data-current=s.current.to_string()>
                <span class="session-device">{label}</span>
                {s.current.then(|| view! { <strong class="session-current">{move || t("security.this_device")}</strong> })}
                <span class="hint">
                    {move || tf("security.since", &[("when", &day_time(&since))])} ", "
                    {move || tf("security.last_used", &[("when", &day_time(&used))])}
                </span>
                {(!s.current).then(|| view! {
                    <button class="end-session secondary" on:click=move |_| end(id)>
                        {move || t("security.end")}
                    </button>
                })}
            </li>
        }
    };
    view! {
        <div id="security" class="privacy card"
            data-ready=move || sessions.with(Option::is_some).to_string()>
            <h2>{move || t("security.title")}</h2>
            <h3>{move || t("security.sessions")}</h3>
            <ul id="sessions" class="sessions">
                {move || sessions.get().unwrap_or_default().into_iter().map(row).collect_view()}
            </ul>
            <button id="revoke-others" class="secondary"
                disabled=move || sessions.with(|s| s.as_ref().is_none_or(|s| s.len() < 2))
                on:click=end_others>
                {move || t("security.end_others")}
            </button>
            <form id="password-form" on:submit=change>
                <h3>{move || t("security.password")}</h3>
                <label>{move || t("security.current")}
                    <input id="pw-current" type="password" autocomplete="current-password"
                        prop:value=current on:input=move |e| current.set(event_target_value(&e))/>
                </label>
                <label>{move || t("security.new")}
                    <input id="pw-new" type="password" autocomplete="new-password"
                        prop:value=new on:input=move |e| new.set(event_target_value(&e))/>
                </label>
                <button id="pw-change" class="primary" type="submit">{move || t("security.change")}</button>
            </form>
            <p id="security-status" class="hint" role="status">
                {move || if sessions.with(Option::is_none) && status.with(Option::is_none) {
                    Some(t("security.loading").to_string())
                } else {
                    status.get()
                }}
            </p>
        </div>
    }
}
