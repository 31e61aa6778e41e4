//! The signed-in home: for survivors, filing and following reports, with help always visible;
//! for providers and dispatchers, their case screens.

use kintara_api::app::cmd;
use kintara_api::Role;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ctx, Notice, Screen};
use crate::i18n::{t, tf};
use crate::ipc::{self, NoArgs};
use crate::screens::{dispatcher, provider};

/// Signs out here and on the server.
pub fn sign_out() {
    let ctx = ctx();
    spawn_local(async move {
        // The core forgets the session even when the server cannot be told.
        let _ = ipc::invoke::<cmd::Logout>(&NoArgs {}).await;
        ctx.signed_out(Some(t("home.signed_out").into()));
    });
}

/// Signs out and wipes the device with nothing on screen to say so (quick exit's wipe).
pub fn sign_out_quietly(ctx: crate::app::Ctx) {
    spawn_local(async move {
        let _ = ipc::invoke::<cmd::Logout>(&NoArgs {}).await;
        ctx.signed_out(None);
    });
}

#[component]
pub fn Home() -> impl IntoView {
    let ctx = ctx();
    let name = move || ctx.user.get().map(|u| u.first_name).unwrap_or_default();
    let role = move || ctx.user.get().map(|u| u.role);
    // Signing out wipes this device, outbox included: what has not reached the server yet would
    // be lost without a word, so ask first.
    let confirming = RwSignal::new(false);
    let unsent = move || ctx.outbox.get().len();
    let ask_or_sign_out = move |_| {
        if ctx.outbox.get_untracked().is_empty() {
            sign_out();
        } else {
            confirming.set(true);
        }
    };
    view! {
        <section class="screen">
            <header class="top">
                <h1 id="home-title">{move || t("home.hello")} {name}</h1>
                <button id="logout" class="link" on:click=ask_or_sign_out>{move || t("home.sign_out")}</button>
            </header>
            <Show when=move || confirming.get()>
                <div id="logout-confirm" class="error-banner" role="alertdialog"
                    aria-labelledby="logout-confirm-text">
                    <p id="logout-confirm-text">
                        {move || tf("home.unsent", &[("n", &unsent().to_string())])}
                    </p>
                    <button id="logout-stay" class="primary" on:click=move |_| confirming.set(false)>
                        {move || t("home.stay")}
                    </button>
                    <button id="logout-anyway" class="secondary" on:click=move |_| sign_out()>
                        {move || t("home.sign_out_anyway")}
                    </button>
                </div>
            </Show>
            <Notice/>
            {move || match role() {
                Some(Role::Survivor) => view! {
                    <div class="actions">
                        <button id="new-report" class="primary big" on:click=move |_| ctx.go(Screen::Wizard)>
                            {move || t("home.new_report")}
                        </button>
                        <button id="my-reports" class="secondary big" on:click=move |_| ctx.go(Screen::Reports)>
                            {move || t("home.my_reports")}
                        </button>
                    </div>
                    <aside class="help">
                        <h2>{move || t("home.danger")}</h2>
                        <p>{move || t("home.call")} <a href="tel:1195">"1195"</a> {move || t("home.hours")} <a href="tel:999">"999"</a> "."</p>
                    </aside>
                }.into_any(),
                Some(Role::Provider) => view! {
                    <Show when=move || ctx.user.with(|u| u.as_ref().is_some_and(|u| u.account_state == kintara_api::AccountState::Unverified))>
                        <p id="awaiting-verification" class="notice" role="status">{move || t("home.unverified")}</p>
                    </Show>
                    <provider::ProviderHome/>
                }.into_any(),
                Some(Role::Dispatcher | Role::Admin) => view! { <dispatcher::DispatcherHome/> }.into_any(),
                None => view! { <p class="hint">{move || t("home.not_signed_in")}</p> }.into_any(),
            }}
        </section>
    }
}
