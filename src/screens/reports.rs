//! "My reports": the survivor's cases with their case number and status.

use kintara_api::{ChatRoom, Incident};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ctx, Notice, Screen};
use crate::ipc::{self, NoArgs};

#[component]
pub fn MyReports() -> impl IntoView {
    let ctx = ctx();
    let reports = RwSignal::new(None::<Vec<Incident>>);
    let error = RwSignal::new(None::<String>);
    // The case rooms this survivor is in (only their own: the core asks the server as them).
    let rooms = RwSignal::new(Vec::<ChatRoom>::new());
    let load = move || {
        spawn_local(async move {
            match ipc::call::<_, Vec<Incident>>("list_incidents", &NoArgs {}).await {
                Ok(list) => {
                    error.set(None);
                    reports.set(Some(list));
                }
                Err(e) if e.kind == "logged_out" => ctx.signed_out(Some(e.message)),
                Err(e) => error.set(Some(e.message)),
            }
            if let Ok(list) = ipc::call::<_, Vec<ChatRoom>>("rooms", &NoArgs {}).await {
                rooms.set(list);
            }
        });
    };
    // Live: refetch on every event.
    Effect::new(move |_| {
        ctx.tick.track();
        load();
    });
    let room_of = move |incident: &str| {
        rooms.with(|l| {
            l.iter()
                .find(|r| r.incident.map(|i| i.to_string()).as_deref() == Some(incident))
                .map(|r| r.id.to_string())
        })
    };
    view! {
        <section class="screen">
            <header class="top">
                <button id="back-home" class="link" on:click=move |_| ctx.go(Screen::Home)>"‹ Home"</button>
                <h1>"My reports"</h1>
                <button id="reports-refresh" class="link" on:click=move |_| load()>"Refresh"</button>
            </header>
            <Notice/>
            {move || error.get().map(|e| view! {
                <div id="reports-error" class="error-banner" role="alert">{e}</div>
            })}
            {move || match reports.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <p id="reports-empty" class="hint">"You have not filed a report yet."</p>
                }.into_any(),
                Some(list) => view! {
                    <ul id="reports-list" class="cards">
                        {list.into_iter().map(|r| view! {
                            <li class="report card" data-id=r.id.to_string()>
                                <div class="row">
                                    <span class="case-number">{r.case_number.clone()}</span>
                                    <span class=format!("status status-{}", r.status.as_str())>{r.status_display.clone()}</span>
                                </div>
                                <div class="kind">{r.incident_type_display.clone()}</div>
                                {(!r.helpers.is_empty()).then(|| view! {
                                    <div class="helpers">"Helping you: "
                                        {r.helpers.iter().map(|h| format!("{} ({})", h.name, h.provider_type_display.clone().unwrap_or_default())).collect::<Vec<_>>().join(", ")}
                                    </div>
                                })}
                                <div class="meta">"Filed " {r.date_submitted.format("%d %b %Y, %H:%M UTC").to_string()}
                                    " · " {r.urgency_level.label()}</div>
                                {(!r.helpers.is_empty()).then(|| room_of(&r.id.to_string())).flatten().map(|room| view! {
                                    <div class="card-actions">
                                        <button class="open-chat primary-sm" on:click=move |_| ctx.open_room(room.clone())>
                                            "Open chat"
                                        </button>
                                    </div>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
