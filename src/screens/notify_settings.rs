//! Settings → Notifications: for each kind of notification this user receives, the channels it
//! goes to (only those the server offers), the WhatsApp number, and "Send me a test", which
//! shows how each channel went once the server knows.

use std::collections::BTreeMap;

use kintara_api::app::cmd;
use kintara_api::{
    Channel, ChannelDelivery, ChannelPreference, DeliveryState, NotificationPreferences,
    NotificationType, UpdateMeRequest,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::{lang, t};
use crate::ipc::{self, NoArgs};

/// How long the test's results are followed before what is still on its way is shown as such.
const TEST_FOLLOW_SECS: u32 = 30;

#[component]
pub fn NotificationSettings() -> impl IntoView {
    let ctx = ctx();
    let prefs: RwSignal<Option<NotificationPreferences>> = RwSignal::new(None);
    let status: RwSignal<Option<String>> = RwSignal::new(None);
    spawn_local(async move {
        match ipc::invoke::<cmd::NotificationSettings>(&NoArgs {}).await {
            Ok(p) => prefs.set(Some(p)),
            Err(e) => status.set(Some(ctx.fail(e))),
        }
    });
    let role = move || ctx.user.with(|u| u.as_ref().map(|u| u.role));
    // One type's channels, shown at once and put back if the server refuses.
    let toggle = move |kind: NotificationType, channel: Channel, on: bool| {
        let Some(before) = prefs.get_untracked() else {
            return;
        };
        let mut channels = before
            .preferences
            .iter()
            .find(|p| p.notification_type == kind)
            .map(|p| p.channels.clone())
            .unwrap_or_default();
        channels.retain(|c| *c != channel);
        if on {
            channels.push(channel);
        }
        let mut shown = before.clone();
        for p in &mut shown.preferences {
            if p.notification_type == kind {
                p.channels = channels.clone();
            }
        }
        prefs.set(Some(shown));
        status.set(None);
        let change = NotificationPreferences {
            preferences: vec![ChannelPreference {
                notification_type: kind,
                channels,
            }],
            offered: Vec::new(),
        };
        spawn_local(async move {
            match ipc::invoke::<cmd::SetNotificationChannels>(&change).await {
                Ok(now) => {
                    prefs.set(Some(now));
                    status.set(Some(t("notify.saved").into()));
                }
                Err(e) => {
                    prefs.set(Some(before));
                    status.set(Some(ctx.fail(e)));
                }
            }
        });
    };
    let offered = move || prefs.with(|p| p.as_ref().map(|p| p.offered.clone()).unwrap_or_default());
    let row = move |p: ChannelPreference| {
        let kind = p.notification_type;
        let cells = offered()
            .into_iter()
            .map(|channel| {
                let on = p.channels.contains(&channel);
                view! {
                    <label class="switch">
                        <input type="checkbox"
                            data-channel=channel.as_str()
                            prop:checked=on
                            on:change=move |e| toggle(kind, channel, event_target_checked(&e))/>
                        <span>{move || kintara_i18n::channel(lang(), channel)}</span>
                    </label>
                }
            })
            .collect_view();
        view! {
            <fieldset class="notify-type" data-type=kind.as_str()>
                <legend>{move || kintara_i18n::notification_type(lang(), kind)}</legend>
                {cells}
            </fieldset>
        }
    };
    view! {
        <div id="notify-settings" class="privacy card"
            data-ready=move || prefs.with(Option::is_some).to_string()>
            <h2>{move || t("notify.title")}</h2>
            <p class="hint">{move || t("notify.hint")}</p>
            {move || {
                let role = role();
                prefs.get().map(|p| {
                    p.preferences
                        .into_iter()
                        .filter(|p| role.is_some_and(|r| p.notification_type.received_by(r)))
                        .map(row)
                        .collect_view()
                })
            }}
            {move || offered().contains(&Channel::Whatsapp).then(WhatsappNumber)}
            <SendTest/>
            <p id="notify-status" class="hint" role="status">
                {move || if prefs.with(Option::is_none) && status.with(Option::is_none) {
                    Some(t("notify.loading").to_string())
                } else {
                    status.get()
                }}
            </p>
        </div>
    }
}

/// The profile's WhatsApp number, checked by the server (E.164).
#[component]
fn WhatsappNumber() -> impl IntoView {
    let ctx = ctx();
    let number = RwSignal::new(
        ctx.user
            .get_untracked()
            .and_then(|u| u.whatsapp_number)
            .unwrap_or_default(),
    );
    let message: RwSignal<Option<String>> = RwSignal::new(None);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = UpdateMeRequest {
            whatsapp_number: Some(number.get_untracked().trim().to_owned()),
            ..Default::default()
        };
        spawn_local(async move {
            match ipc::invoke::<cmd::UpdateProfile>(&req).await {
                Ok(user) => {
                    number.set(user.whatsapp_number.clone().unwrap_or_default());
                    ctx.user.set(Some(user));
                    message.set(Some(t("notify.saved").into()));
                }
                Err(e) => {
                    let fields: Vec<String> = e.fields.values().flatten().cloned().collect();
                    let m = ctx.fail(e);
                    message.set(Some(if fields.is_empty() {
                        m
                    } else {
                        fields.join(" ")
                    }));
                }
            }
        });
    };
    view! {
        <form id="whatsapp-form" on:submit=save>
            <label>{move || t("notify.whatsapp")}
                <input id="whatsapp-number" type="tel" inputmode="tel" autocomplete="tel"
                    placeholder="+254712345678"
                    prop:value=number on:input=move |e| number.set(event_target_value(&e))/>
            </label>
            <p class="hint">{move || t("notify.whatsapp_hint")}</p>
            <button id="whatsapp-save" class="secondary" type="submit">
                {move || t("notify.save_number")}
            </button>
            <p id="whatsapp-status" class="hint" role="status">{move || message.get()}</p>
        </form>
    }
}

/// "Send me a test": makes one, then follows it on the feed until no channel is on its way.
#[component]
fn SendTest() -> impl IntoView {
    let ctx = ctx();
    let busy = RwSignal::new(false);
    let results: RwSignal<Option<BTreeMap<String, ChannelDelivery>>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let send = move |_| {
        busy.set(true);
        error.set(None);
        results.set(None);
        spawn_local(async move {
            match ipc::invoke::<cmd::SendTestNotification>(&NoArgs {}).await {
                Ok(n) => {
                    results.set(Some(n.channels.clone()));
                    for _ in 0..TEST_FOLLOW_SECS {
                        let waiting = results.with_untracked(|r| {
                            r.as_ref().is_some_and(|r| {
                                r.values().any(|c| c.state == DeliveryState::Pending)
                            })
                        });
                        if !waiting {
                            break;
                        }
                        crate::screens::case_detail::sleep_ms(1_000).await;
                        let page = kintara_api::app::PageArgs { page: 1 };
                        if let Ok(feed) = ipc::invoke::<cmd::Notifications>(&page).await {
                            if let Some(now) = feed.results.into_iter().find(|x| x.id == n.id) {
                                results.set(Some(now.channels));
                            }
                        }
                    }
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
            busy.set(false);
        });
    };
    let line = move |(channel, d): (Channel, ChannelDelivery)| {
        let state = d.state.as_str();
        view! {
            <li data-channel=channel.as_str() data-state=state>
                <strong>{move || kintara_i18n::channel(lang(), channel)}</strong>
                ": " {move || kintara_i18n::delivery(lang(), &d)}
            </li>
        }
    };
    view! {
        <div id="notify-test">
            <button id="send-test" class="secondary" disabled=move || busy.get() on:click=send>
                {move || if busy.get() { t("notify.testing") } else { t("notify.test") }}
            </button>
            {move || results.get().map(|r| {
                let lines: Vec<(Channel, ChannelDelivery)> = Channel::ALL
                    .iter()
                    .filter_map(|c| Some((*c, r.get(c.as_str())?.clone())))
                    .collect();
                view! {
                    <p class="hint">{move || t("notify.test_done")}</p>
                    <ul id="test-results">{lines.into_iter().map(line).collect_view()}</ul>
                }
            })}
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </div>
    }
}
