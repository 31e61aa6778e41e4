//! The provider's "Available for new cases" switch. The server's answer is the truth (so a second
//! device or a reinstall shows the same state); the device keeps the last answer per account only
//! to show something while offline (a new account starts available).

use kintara_api::app::{cmd, AvailabilityArgs, UiErrorKind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::t;
use crate::ipc::{self, NoArgs};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn key(user: &str) -> String {
    format!("kintara.available.{user}")
}

fn remembered(user: &str) -> bool {
    storage()
        .and_then(|s| s.get_item(&key(user)).ok().flatten())
        .is_none_or(|v| v != "false")
}

fn remember(user: &str, available: bool) {
    if let Some(s) = storage() {
        let _ = s.set_item(&key(user), if available { "true" } else { "false" });
    }
}

#[component]
pub fn AvailabilityToggle() -> impl IntoView {
    let ctx = ctx();
    let me = StoredValue::new(ctx.me());
    let available = RwSignal::new(remembered(&me.get_value()));
    // Busy until the server has said what it holds: a switch flipped from a stale state would
    // send the opposite of what the provider meant.
    let loading = RwSignal::new(true);
    let switch = ipc::action::<cmd::SetAvailability>();
    let busy = Signal::derive(move || loading.get() || switch.pending().get());
    // What the last flip asked for, to put the switch back if it is refused.
    let wanted = StoredValue::new(false);
    let error = RwSignal::new(None::<String>);
    // Offline: the state shown is the device's last known one, and says so.
    let stale = RwSignal::new(false);
    spawn_local(async move {
        match ipc::invoke::<cmd::Availability>(&NoArgs {}).await {
            Ok(p) => {
                let now = p.profile.is_currently_available;
                remember(&me.get_value(), now);
                available.set(now);
            }
            Err(e) if e.kind == UiErrorKind::Network => stale.set(true),
            Err(e) => error.set(Some(ctx.fail(e))),
        }
        loading.set(false);
    });
    Effect::new(move |_| match switch.value().get() {
        Some(Ok(p)) => {
            let now = p.profile.is_currently_available;
            remember(&me.get_value(), now);
            available.set(now);
            stale.set(false);
        }
        Some(Err(e)) => {
            error.set(Some(ctx.fail(e)));
            // Put the switch back where it was.
            available.set(!wanted.get_value());
        }
        None => {}
    });
    let set = move |want: bool| {
        error.set(None);
        wanted.set_value(want);
        switch.dispatch(AvailabilityArgs { available: want });
    };
    view! {
        <div class="availability card">
            <label class="switch" for="availability">
                <input id="availability" type="checkbox" role="switch"
                    prop:checked=move || available.get()
                    disabled=move || busy.get()
                    on:change=move |ev| set(event_target_checked(&ev))/>
                <span class="switch-label">{move || t("availability.label")}</span>
            </label>
            <span class="availability-state" role="status">
                {move || if available.get() { t("availability.on") } else { t("availability.off") }}
            </span>
            {move || stale.get().then(|| view! {
                <span id="availability-stale" class="hint">{move || t("availability.stale")}</span>
            })}
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
        </div>
    }
}
