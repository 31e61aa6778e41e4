//! The frame around every signed-in screen: connection state, the bell, navigation.
//! Phone: bottom tab bar; tablet: top bar + panes; desktop: sidebar + panes (see styles.css).

use leptos::prelude::*;

use kintara_api::app::SyncStatus;
use kintara_api::Role;

use crate::app::{ctx, Screen};
use crate::i18n::{self, t, Lang};
use crate::live;
use crate::live::Topic;
use crate::quick_exit::QuickExitButton;
use crate::screens::{admin, chat, home, notifications, outbox, reports, safety, settings};

#[component]
pub fn Frame() -> impl IntoView {
    let ctx = ctx();
    live::refresh_all(ctx);
    // The unread count follows the notifications.
    Effect::new(move |prev: Option<()>| {
        ctx.topics.track(Topic::Notifications);
        if prev.is_some() {
            live::refresh_unread(ctx);
        }
    });
    let state = move || ctx.sync.get().as_str();
    let unread = move || ctx.unread.get();
    let waiting = move || ctx.outbox.with(|o| o.len());
    let survivor = move || {
        ctx.user
            .with(|u| u.as_ref().map(|u| u.role) == Some(Role::Survivor))
    };
    let admin = move || {
        ctx.user
            .with(|u| u.as_ref().map(|u| u.role) == Some(Role::Admin))
    };
    // The screen shown changes only when another is chosen: asking for the one already shown
    // (a notification's case while on Home) must not build it again, which reloads its lists
    // and loses what it was asked to open.
    let shown = Memo::new(move |_| ctx.screen.get());
    let nav = move |id: &'static str, label: &'static str, target: Screen| {
        let current = move || {
            let s = ctx.screen.get();
            let on = s == target
                || (target == Screen::Home && matches!(s, Screen::Wizard | Screen::Reports));
            on.then_some("page")
        };
        view! {
            <button id=id class="nav-item" aria-current=current on:click=move |_| ctx.go(target)>
                <span class="nav-label">{move || t(label)}</span>
                {(target == Screen::Outbox).then(|| view! {
                    <span class="nav-badge" hidden=move || waiting() == 0>{waiting}</span>
                })}
            </button>
        }
    };
    view! {
        <div class="frame">
            <header class="frame-head">
                <span class="frame-brand">
                    {move || (!ctx.disguised.get()).then(|| view! { <img src="app-icon.png" alt="" width="28" height="28"/> })}
                    {move || if ctx.disguised.get() { "Notes" } else { "Kintara" }}
                </span>
                <span id="conn-state" class="conn" data-state=state role="status">
                    <span class="dot" aria-hidden="true"></span>
                    {move || conn_label(ctx.sync.get())}
                </span>
                <button id="lang" class="lang" type="button"
                    aria-label=move || t("frame.language")
                    data-lang=move || i18n::lang().code()
                    on:click=move |_| i18n::set_lang(if i18n::lang() == Lang::En { Lang::Sw } else { Lang::En })>
                    <span class="lang-en">"EN"</span>" / "<span class="lang-sw">"SW"</span>
                </button>
                {move || survivor().then(|| view! { <QuickExitButton/> })}
                <button id="bell" class="bell"
                    aria-label=move || i18n::tf("frame.bell", &[("n", &unread().to_string())])
                    on:click=move |_| ctx.go(Screen::Notifications)>
                    <svg class="bell-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                        <path fill="currentColor" d="M12 22c1.1 0 2-.9 2-2h-4c0 1.1.9 2 2 2zm6-6v-5c0-3.07-1.64-5.64-4.5-6.32V4c0-.83-.67-1.5-1.5-1.5s-1.5.67-1.5 1.5v.68C7.63 5.36 6 7.92 6 11v5l-2 2v1h16v-1l-2-2z"/>
                    </svg>
                    <span id="bell-count" class="badge" hidden=move || unread() == 0>{unread}</span>
                </button>
            </header>
            <nav class="frame-nav" aria-label=move || t("frame.nav")>
                {nav("nav-home", "nav.home", Screen::Home)}
                {move || survivor().then(|| nav("nav-safety", "nav.safety", Screen::Safety))}
                {nav("nav-chat", "nav.chat", Screen::Chat)}
                {nav("nav-notifications", "nav.notifications", Screen::Notifications)}
                {nav("nav-outbox", "nav.outbox", Screen::Outbox)}
                {nav("nav-settings", "nav.settings", Screen::Settings)}
                {move || admin().then(|| nav("nav-admin", "nav.admin", Screen::Admin))}
            </nav>
            <div class="frame-body">
                {move || match shown.get() {
                    Screen::Reports => view! { <reports::MyReports/> }.into_any(),
                    Screen::Chat => view! { <chat::Chat/> }.into_any(),
                    Screen::Notifications => view! { <notifications::Notifications/> }.into_any(),
                    Screen::Outbox => view! { <outbox::OutboxView/> }.into_any(),
                    Screen::Safety => view! { <safety::Safety/> }.into_any(),
                    Screen::Settings => view! { <settings::Settings/> }.into_any(),
                    Screen::Admin => view! { <admin::Admin/> }.into_any(),
                    _ => view! { <home::Home/> }.into_any(),
                }}
            </div>
        </div>
    }
}

/// The header's words for a sync state.
fn conn_label(state: SyncStatus) -> &'static str {
    t(match state {
        SyncStatus::Online => "conn.online",
        SyncStatus::Offline => "conn.offline",
        SyncStatus::Polling => "conn.polling",
        SyncStatus::LoggedOut => "conn.logged_out",
        SyncStatus::Connecting => "conn.connecting",
    })
}
