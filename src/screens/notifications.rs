//! The notification feed: tap one to mark it read and open its room or case.

use kintara_api::app::{cmd, IdArgs, PageArgs};
use kintara_api::{Notification, NotificationType, Priority, Role};
use kintara_i18n::notification;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ctx, Ctx};
use crate::i18n::{self, t};
use crate::ipc::{self, NoArgs};
use crate::live;
use crate::live::Topic;
use crate::screens::chat::open_case_room;

/// Marks `n` read and opens what it is about: its room, or its case (a message about a case
/// opens the case's conversation for staff). A tap on the feed's entry and a click on the OS
/// notification both come here.
pub async fn open_entry(ctx: Ctx, n: Notification, error: RwSignal<Option<String>>) {
    if !n.is_read {
        let _ = ipc::invoke::<cmd::MarkNotificationRead>(&IdArgs { id: n.id }).await;
        live::refresh_unread(ctx);
    }
    if let Some(room) = n.conversation {
        ctx.open_room(room.to_string());
    } else if let Some(incident) = n.incident {
        let staff = ctx.user.get_untracked().map(|u| u.role) != Some(Role::Survivor);
        if staff && n.notification_type == NotificationType::NewMessage {
            open_case_room(ctx, incident.to_string(), error);
        } else {
            ctx.open_case(incident.to_string());
        }
    } else {
        ctx.go(crate::app::Screen::Notifications);
    }
}

#[component]
pub fn Notifications() -> impl IntoView {
    let ctx = ctx();
    let reload = RwSignal::new(0u32);
    // Only the unread ones, or all.
    let unread_only = RwSignal::new(false);
    // The first page follows live changes; older pages are added below it on demand.
    let (first, error) = live::load(ctx, move || {
        ctx.topics.track(Topic::Notifications);
        reload.track();
        async move { ipc::invoke::<cmd::Notifications>(&PageArgs { page: 1 }).await }
    });
    let older = RwSignal::new(Vec::<Notification>::new());
    // The next page to ask for, once the first page said there is one.
    let next_page = RwSignal::new(None::<u32>);
    let loading_older = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(p) = first.get() {
            // Until older pages were asked for, the first page says whether there are more. After
            // that a live refresh leaves them be: new entries push older ones down a page, which
            // then come again and are shown once (`shown`), and none is skipped.
            if older.with_untracked(Vec::is_empty) {
                next_page.set(p.next.is_some().then_some(2));
            }
        }
    });
    let load_older = move || {
        let Some(page) = next_page.get_untracked() else {
            return;
        };
        if loading_older.get_untracked() {
            return;
        }
        loading_older.set(true);
        spawn_local(async move {
            match ipc::invoke::<cmd::Notifications>(&PageArgs { page }).await {
                Ok(p) => {
                    older.update(|o| o.extend(p.results));
                    next_page.set(p.next.is_some().then_some(page + 1));
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
            loading_older.set(false);
        });
    };
    let all_read = ipc::action::<cmd::MarkAllNotificationsRead>();
    Effect::new(move |_| match all_read.value().get() {
        Some(Ok(())) => {
            live::refresh_unread(ctx);
            // Everything changed: start again from the first page.
            older.set(Vec::new());
            reload.update(|r| *r += 1);
        }
        Some(Err(e)) => error.set(Some(ctx.fail(e))),
        None => {}
    });
    let mark_all = move |_| {
        all_read.dispatch(NoArgs {});
    };
    let open = move |n: Notification| {
        spawn_local(async move {
            let unread = !n.is_read;
            open_entry(ctx, n, error).await;
            if unread {
                reload.update(|r| *r += 1);
            }
        });
    };
    let shown = move || {
        let only = unread_only.get();
        let mut all = first.get().map(|p| p.results).unwrap_or_default();
        older.with(|o| {
            for n in o {
                // A live refresh may have brought an entry of an older page to the first.
                if !all.iter().any(|a| a.id == n.id) {
                    all.push(n.clone());
                }
            }
        });
        all.into_iter()
            .filter(move |n| !only || !n.is_read)
            .collect::<Vec<_>>()
    };
    view! {
        <section class="screen">
            <header class="top">
                <h1>{move || t("notifications.title")}</h1>
                <button id="mark-all-read" class="link" on:click=mark_all>{move || t("notifications.mark_all")}</button>
            </header>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <ul id="notifications" class="cards">
                <li class="filters" role="group" aria-label=move || t("notifications.show")>
                    <button id="filter-all" class="secondary-sm" aria-pressed=move || (!unread_only.get()).to_string()
                        on:click=move |_| unread_only.set(false)>{move || t("notifications.all")}</button>
                    <button id="filter-unread" class="secondary-sm" aria-pressed=move || unread_only.get().to_string()
                        on:click=move |_| unread_only.set(true)>{move || t("notifications.unread")}</button>
                </li>
                // Keyed: a live refresh redraws only entries that changed.
                <For each=shown key=|n| format!("{}:{}", n.id, n.is_read) let:n>
                {{
                    let urgent = n.priority == Priority::High;
                    let class = format!(
                        "notification card{}{}",
                        if n.is_read { "" } else { " unread" },
                        if urgent { " urgent" } else { "" }
                    );
                    let item = n.clone();
                    let at = n.created_at;
                    let (for_subject, for_body) = (n.clone(), n.clone());
                    view! {
                        <li>
                            <button class=class data-id=n.id.to_string() data-type=n.notification_type.as_str()
                                on:click=move |_| open(item.clone())>
                                <span class="row">
                                    <span class="subject title">
                                        {urgent.then(|| view! { <span class="visually-hidden">{move || t("notifications.urgent")}</span> })}
                                        {move || worded(ctx, &for_subject).0}
                                    </span>
                                    <time class="when">{move || i18n::day_time(&at)}</time>
                                </span>
                                <span class="body">{move || worded(ctx, &for_body).1}</span>
                            </button>
                        </li>
                    }
                }}
                </For>
            </ul>
            {move || next_page.get().is_some().then(|| view! {
                <button id="older-notifications" class="secondary-sm" aria-busy=move || loading_older.get().to_string()
                    on:click=move |_| load_older()>
                    {move || if loading_older.get() { t("chat.loading_older") } else { t("notifications.older") }}
                </button>
            })}
            {move || (first.get().is_some() && shown().is_empty()).then(|| view! {
                <p class="hint empty">{move || if unread_only.get() { t("notifications.none_unread") } else { t("notifications.none") }}</p>
            })}
        </section>
    }
}

/// A notification's subject and text in the current language (tracked: call it in a closure
/// and it follows a language switch or the disguise).
fn worded(ctx: Ctx, n: &Notification) -> (String, String) {
    let survivor = ctx.user.get().map(|u| u.role) == Some(Role::Survivor);
    if survivor {
        let app = if ctx.disguised.get() {
            "Notes"
        } else {
            "Kintara"
        };
        return notification::for_survivor(i18n::lang(), n.notification_type, app);
    }
    notification::from_params(i18n::lang(), n.notification_type, &n.params)
        .unwrap_or_else(|| (n.subject.clone(), n.message.clone()))
}
