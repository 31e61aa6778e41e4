//! "My reports": the survivor's cases with their case number and status.

use std::collections::HashSet;

use kintara_api::{ChatRoom, Incident, StatusChange};
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
    // Reports whose status history is open; kept here so a live refresh does not close them.
    let open = RwSignal::new(HashSet::<String>::new());
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
                                <Timeline incident=r.id.to_string() open=open/>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}

#[derive(serde::Serialize)]
struct IncidentArg {
    incident: String,
}

/// A report's status history, behind a toggle (loaded when opened, and again on every live
/// event while open).
#[component]
fn Timeline(incident: String, open: RwSignal<HashSet<String>>) -> impl IntoView {
    let changes = RwSignal::new(None::<Result<Vec<StatusChange>, String>>);
    let id = incident.clone();
    let is_open = Memo::new(move |_| open.with(|o| o.contains(&id)));
    let id = incident.clone();
    Effect::new(move |_| {
        if !open.with(|o| o.contains(&id)) {
            return;
        }
        let arg = IncidentArg {
            incident: id.clone(),
        };
        spawn_local(async move {
            let got = ipc::call::<_, Vec<StatusChange>>("timeline", &arg).await;
            changes.set(Some(got.map_err(|e| e.message)));
        });
    });
    let id = incident.clone();
    let toggle = move |_| {
        open.update(|o| {
            if !o.remove(&id) {
                o.insert(id.clone());
            }
        })
    };
    let label = move || {
        if is_open.get() {
            "Hide status history"
        } else {
            "Status history"
        }
    };
    view! {
        <button class="show-timeline link" aria-expanded=move || is_open.get().to_string() on:click=toggle>
            {label}
        </button>
        {move || is_open.get().then(|| match changes.get() {
            None => view! { <p class="loading">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error-banner" role="alert">{e}</p> }.into_any(),
            Some(Ok(list)) => view! {
                <ol class="timeline">
                    {list.into_iter().map(|c| view! {
                        <li class="timeline-entry">
                            <span class="timeline-status">{c.to.label()}</span>
                            " · "
                            <time>{c.at.format("%d %b, %H:%M UTC").to_string()}</time>
                        </li>
                    }).collect_view()}
                </ol>
            }.into_any(),
        })}
    }
}
