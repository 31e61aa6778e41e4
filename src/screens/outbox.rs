//! The outbox: what this device has not sent yet, and what the server refused.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::app::ctx;
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
            <header class="top"><h1>"Outbox"</h1></header>
            <p class="hint">"What you did while the connection was poor is sent here, in order."</p>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <ul id="outbox" class="cards">
                {move || ctx.outbox.get().into_iter().map(|it| {
                    let failed = it.state == "failed";
                    let id = it.id;
                    view! {
                        <li class=format!("outbox-item card state-{}", it.state) data-id=id.to_string()>
                            <div class="row">
                                <span class="what">{it.describe()}</span>
                                <span class="state">{it.state_label()}</span>
                            </div>
                            {it.last_error.clone().map(|e| view! { <div class="reason">{e}</div> })}
                            {(it.attempts > 0).then(|| view! { <div class="meta">{format!("Tried {} times", it.attempts)}</div> })}
                            {failed.then(|| view! {
                                <div class="card-actions">
                                    <button class="retry primary-sm" on:click=move |_| act("outbox_retry", id)>"Retry"</button>
                                    <button class="discard secondary-sm" on:click=move |_| act("outbox_discard", id)>"Discard"</button>
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || ctx.outbox.with(|o| o.is_empty()).then(|| view! {
                <p id="outbox-empty" class="hint empty">"Nothing waiting to be sent."</p>
            })}
        </section>
    }
}
