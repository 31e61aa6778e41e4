//! The outbox: what this device has not sent yet, and what the server refused.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::app::ctx;
use crate::i18n::{self, t};
use crate::ipc::{self, NoArgs};
use crate::live::OutboxItem;

#[derive(Serialize)]
struct IdArgs {
    id: i64,
}

#[component]
pub fn OutboxView() -> impl IntoView {
    let ctx = ctx();
    let error = RwSignal::new(None::<String>);
    let act = move |cmd: &'static str, id: i64| {
        spawn_local(async move {
            match ipc::call::<_, ()>(cmd, &IdArgs { id }).await {
                Ok(()) => {
                    if let Ok(l) = ipc::call::<_, Vec<OutboxItem>>("outbox_items", &NoArgs {}).await
                    {
                        ctx.outbox.set(l);
                    }
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
        });
    };
    view! {
        <section class="screen">
            <header class="top"><h1>{move || t("outbox.title")}</h1></header>
            <p class="hint">{move || t("outbox.hint")}</p>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <ul id="outbox" class="cards">
                {move || ctx.outbox.get().into_iter().map(|it| {
                    let failed = it.state == "failed";
                    let id = it.id;
                    let (what, state) = (it.clone(), it.state.clone());
                    let attempts = it.attempts.to_string();
                    view! {
                        <li class=format!("outbox-item card state-{}", it.state) data-id=id.to_string()>
                            <div class="row">
                                <span class="what">{move || describe(&what)}</span>
                                <span class="state">{move || state_label(&state)}</span>
                            </div>
                            {it.last_error.clone().map(|e| view! { <div class="reason">{e}</div> })}
                            {(it.attempts > 0).then(|| view! { <div class="meta">{move || i18n::tf("outbox.tried", &[("n", &attempts)])}</div> })}
                            {failed.then(|| view! {
                                <div class="card-actions">
                                    <button class="retry primary-sm" on:click=move |_| act("outbox_retry", id)>{move || t("outbox.retry")}</button>
                                    <button class="discard secondary-sm" on:click=move |_| act("outbox_discard", id)>{move || t("outbox.discard")}</button>
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || ctx.outbox.with(|o| o.is_empty()).then(|| view! {
                <p id="outbox-empty" class="hint empty">{move || t("outbox.empty")}</p>
            })}
        </section>
    }
}

/// What an item is, in words, in the current language.
fn describe(it: &OutboxItem) -> String {
    let key = match it.kind() {
        "send_message" => {
            return format!(
                "{}{}",
                t("outbox.message"),
                it.data_str("content").unwrap_or_default()
            )
        }
        "file_report" => "outbox.report",
        "attach_evidence" => "outbox.attachment",
        "accept" => "outbox.accept",
        "reject" => "outbox.reject",
        "update_status" => "outbox.status",
        "mark_read" => "outbox.mark_read",
        // An action this UI does not know yet: its wire name is better than nothing.
        other => return other.replace('_', " "),
    };
    t(key).to_owned()
}

fn state_label(state: &str) -> &'static str {
    t(match state {
        "sending" => "outbox.sending",
        "failed" => "outbox.failed",
        _ => "outbox.waiting",
    })
}
