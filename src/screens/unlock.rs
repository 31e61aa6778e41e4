//! The device key's screens: unlock with the PIN (and, on Android, biometrics), choose a PIN
//! before sign-in on a device with no OS keystore, and Settings → Change PIN. The shell decides
//! which one shows (`key_status`); the PIN itself never leaves the shell's commands.

use kintara_api::app::{
    cmd, ChangePinArgs, KeySource, KeyState, KeyStatus, NewPinArgs, PinArgs, UiErrorKind,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ctx, Notice};
use crate::fields::{ErrorBanner, Errors, FieldError};
use crate::i18n::t;
use crate::ipc::{self, NoArgs};

/// What the shell says about the device key (`src-tauri/src/unlock.rs`); `None` until it
/// answered.
pub type Key = Option<KeyStatus>;

pub fn unlocked(key: &Key) -> bool {
    key.is_some_and(|k| k.state == KeyState::Unlocked)
}

/// Asks the shell where the key stands.
pub async fn fetch_status() -> Key {
    ipc::invoke::<cmd::KeyStatus>(&NoArgs {}).await.ok()
}

/// The same rule the core applies (`kintara_core::vault::check_new_pin`), checked here first for
/// a quick answer: at least six digits, digits only.
pub const MIN_PIN_DIGITS: usize = 6;

pub fn pin_ok(pin: &str) -> bool {
    pin.chars().count() >= MIN_PIN_DIGITS && pin.chars().all(|c| c.is_ascii_digit())
}

/// A localised sentence for a key command's error.
fn explain(e: &ipc::UiError) -> String {
    match e.kind {
        UiErrorKind::WrongPin => t("unlock.wrong").to_owned(),
        UiErrorKind::Wait => {
            let secs = e
                .fields
                .get("retry_after")
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_default();
            t("unlock.wait").replace("{n}", &secs)
        }
        UiErrorKind::Validation if e.fields.contains_key("confirm") => t("pin.mismatch").to_owned(),
        UiErrorKind::Validation => t("pin.rule").to_owned(),
        _ => e.message.clone(),
    }
}

/// Shown instead of every other screen until the key is at hand.
#[component]
pub fn KeyGate() -> impl IntoView {
    let ctx = ctx();
    move || match ctx.key.with(|k| k.map(|k| k.state)) {
        Some(KeyState::Locked) => view! { <Unlock/> }.into_any(),
        Some(KeyState::NewPin) => view! { <ChoosePin/> }.into_any(),
        Some(KeyState::Unavailable) => view! { <Unavailable/> }.into_any(),
        Some(KeyState::Unlocked) | None => view! { <p class="loading">"…"</p> }.into_any(),
    }
}

fn brand() -> impl IntoView {
    let ctx = ctx();
    view! {
        <div class="brand">
            {move || (!ctx.disguised.get()).then(|| view! { <img src="app-icon.png" alt="" width="56" height="56"/> })}
            <h1>{move || if ctx.disguised.get() { "Notes" } else { "Kintara" }}</h1>
        </div>
    }
}

#[component]
fn Unlock() -> impl IntoView {
    let ctx = ctx();
    let pin = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let biometric = ctx.key.with_untracked(|k| k.is_some_and(|k| k.biometric));
    let with_pin = ipc::action::<cmd::Unlock>();
    let with_body = ipc::action::<cmd::UnlockBiometric>();
    let busy = Signal::derive(move || with_pin.pending().get() || with_body.pending().get());
    let done = move |result: Result<(), ipc::UiError>| {
        pin.set(String::new());
        match result {
            Ok(()) => spawn_local(async move { crate::app::key_opened(ctx).await }),
            Err(e) => error.set(Some(explain(&e))),
        }
    };
    Effect::new(move |_| {
        if let Some(r) = with_pin.value().get() {
            done(r);
        }
    });
    Effect::new(move |_| {
        if let Some(r) = with_body.value().get() {
            done(r);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pin.get_untracked().is_empty() {
            error.set(Some(t("unlock.empty").into()));
            return;
        }
        error.set(None);
        with_pin.dispatch(PinArgs {
            pin: pin.get_untracked(),
        });
    };
    let with_biometrics = move |_| {
        error.set(None);
        with_body.dispatch(NoArgs {});
    };
    view! {
        <section id="unlock" class="screen narrow">
            {brand()}
            <h2>{move || t("unlock.title")}</h2>
            <p class="hint">{move || t("unlock.hint")}</p>
            <form on:submit=submit>
                <label for="unlock-pin">{move || t("unlock.pin")}</label>
                <input id="unlock-pin" type="password" inputmode="numeric" autocomplete="current-password"
                    prop:value=move || pin.get()
                    on:input=move |ev| pin.set(event_target_value(&ev)) />
                <ErrorBanner id="unlock-error" message=error/>
                <button id="unlock-submit" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { t("unlock.busy") } else { t("unlock.submit") }}
                </button>
            </form>
            {biometric.then(|| view! {
                <button id="unlock-biometric" class="secondary" disabled=move || busy.get() on:click=with_biometrics>
                    {move || t("unlock.biometric")}
                </button>
            })}
        </section>
    }
}

/// Two PIN fields and their checks; `Errors` under `pin` and `confirm`.
fn check_pair(pin: &str, confirm: &str) -> Errors {
    let mut errors = Errors::new();
    if !pin_ok(pin) {
        errors.insert("pin".into(), vec![t("pin.rule").into()]);
    } else if pin != confirm {
        errors.insert("confirm".into(), vec![t("pin.mismatch").into()]);
    }
    errors
}

#[component]
fn ChoosePin() -> impl IntoView {
    let ctx = ctx();
    let pin = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = RwSignal::new(Errors::new());
    let error = RwSignal::new(None::<String>);
    let choose = ipc::action::<cmd::ChoosePin>();
    let busy = choose.pending();
    Effect::new(move |_| match choose.value().get() {
        Some(Ok(())) => {
            pin.set(String::new());
            confirm.set(String::new());
            spawn_local(async move { crate::app::key_opened(ctx).await });
        }
        Some(Err(e)) => error.set(Some(explain(&e))),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = check_pair(&pin.get_untracked(), &confirm.get_untracked());
        if !checked.is_empty() {
            errors.set(checked);
            return;
        }
        errors.set(Errors::new());
        error.set(None);
        choose.dispatch(NewPinArgs {
            pin: pin.get_untracked(),
            confirm: confirm.get_untracked(),
        });
    };
    view! {
        <section id="choose-pin" class="screen narrow">
            {brand()}
            <h2>{move || t("pin.choose_title")}</h2>
            <p class="hint">{move || t("pin.choose_hint")}</p>
            <Notice/>
            <form on:submit=submit>
                <label for="pin-new">{move || t("pin.new")}</label>
                <input id="pin-new" type="password" inputmode="numeric" autocomplete="new-password"
                    prop:value=move || pin.get()
                    on:input=move |ev| pin.set(event_target_value(&ev)) />
                <FieldError errors=errors field="pin"/>
                <label for="pin-confirm">{move || t("pin.confirm")}</label>
                <input id="pin-confirm" type="password" inputmode="numeric" autocomplete="new-password"
                    prop:value=move || confirm.get()
                    on:input=move |ev| confirm.set(event_target_value(&ev)) />
                <FieldError errors=errors field="confirm"/>
                <ErrorBanner id="pin-error" message=error/>
                <button id="pin-save" type="submit" class="primary" disabled=move || busy.get()>
                    {move || t("pin.save")}
                </button>
            </form>
        </section>
    }
}

#[component]
fn Unavailable() -> impl IntoView {
    let ctx = ctx();
    let again = ipc::action::<cmd::KeyRetry>();
    let busy = again.pending();
    Effect::new(move |_| {
        if let Some(Ok(status)) = again.value().get() {
            if status.state == KeyState::Unlocked {
                spawn_local(async move { crate::app::key_opened(ctx).await });
            } else {
                ctx.key.set(Some(status));
            }
        }
    });
    let retry = move |_| {
        again.dispatch(NoArgs {});
    };
    view! {
        <section id="key-unavailable" class="screen narrow">
            {brand()}
            <p class="error-banner" role="alert">{move || t("pin.unavailable")}</p>
            <button id="key-retry" class="primary" disabled=move || busy.get() on:click=retry>
                {move || t("pin.retry")}
            </button>
        </section>
    }
}

/// Settings → Change PIN (only where the key is under a PIN).
#[component]
pub fn ChangePin() -> impl IntoView {
    let ctx = ctx();
    let old = RwSignal::new(String::new());
    let pin = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = RwSignal::new(Errors::new());
    let status = RwSignal::new(None::<String>);
    let change = ipc::action::<cmd::ChangePin>();
    let busy = change.pending();
    Effect::new(move |_| {
        if let Some(result) = change.value().get() {
            status.set(Some(match result {
                Ok(()) => t("pin.changed").to_owned(),
                Err(e) => explain(&e),
            }));
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = check_pair(&pin.get_untracked(), &confirm.get_untracked());
        if !checked.is_empty() {
            errors.set(checked);
            return;
        }
        errors.set(Errors::new());
        status.set(None);
        change.dispatch(ChangePinArgs {
            old: old.get_untracked(),
            pin: pin.get_untracked(),
            confirm: confirm.get_untracked(),
        });
        // The PINs leave the form at once, whatever the answer.
        for s in [old, pin, confirm] {
            s.set(String::new());
        }
    };
    let field = move |id: &'static str, label: &'static str, sig: RwSignal<String>| {
        view! {
            <label for=id>{move || t(label)}</label>
            <input id=id type="password" inputmode="numeric" autocomplete="off"
                prop:value=move || sig.get()
                on:input=move |ev| sig.set(event_target_value(&ev)) />
        }
    };
    view! {
        <Show when=move || ctx.key.with(|k| k.is_some_and(|k| k.source == Some(KeySource::Pin)))>
            <form id="change-pin" class="privacy card" on:submit=submit>
                <h2>{move || t("pin.change_title")}</h2>
                {field("pin-old", "pin.old", old)}
                {field("pin-change-new", "pin.new", pin)}
                <FieldError errors=errors field="pin"/>
                {field("pin-change-confirm", "pin.confirm", confirm)}
                <FieldError errors=errors field="confirm"/>
                <button id="pin-change-save" type="submit" class="secondary" disabled=move || busy.get()>
                    {move || t("pin.change_title")}
                </button>
                <p id="pin-change-status" class="hint" role="status">{move || status.get()}</p>
            </form>
        </Show>
    }
}

/// Settings → biometric unlock (Android, where the key is under a PIN): the PIN once, then the
/// fingerprint or face; from then on the unlock screen offers them.
#[component]
pub fn BiometricSetup() -> impl IntoView {
    let ctx = ctx();
    let pin = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let enable = ipc::action::<cmd::EnableBiometric>();
    let busy = enable.pending();
    Effect::new(move |_| match enable.value().get() {
        Some(Ok(())) => {
            status.set(Some(t("biometric.on").to_owned()));
            spawn_local(async move { ctx.key.set(fetch_status().await) });
        }
        Some(Err(e)) => status.set(Some(explain(&e))),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        status.set(None);
        enable.dispatch(PinArgs {
            pin: pin.get_untracked(),
        });
        pin.set(String::new());
    };
    view! {
        <Show when=move || ctx.key.with(|k| k.is_some_and(|k| k.biometric_setup))>
            <form id="biometric-setup" class="privacy card" on:submit=submit>
                <h2>{move || t("biometric.title")}</h2>
                <label for="biometric-pin">{move || t("pin.old")}</label>
                <input id="biometric-pin" type="password" inputmode="numeric" autocomplete="off"
                    prop:value=move || pin.get()
                    on:input=move |ev| pin.set(event_target_value(&ev)) />
                <button id="biometric-enable" type="submit" class="secondary" disabled=move || busy.get()>
                    {move || t("biometric.enable")}
                </button>
            </form>
        </Show>
        <p id="biometric-status" class="hint" role="status">{move || status.get()}</p>
    }
}
