//! A case's status history, for the survivor's reports and the staff's case cards.

use std::collections::HashSet;

use kintara_api::app::{cmd, IncidentArgs};
use kintara_api::StatusChange;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{self, t};
use crate::ipc;

/// A case's status history, behind a toggle (loaded when opened, and again whenever the card is
/// redrawn by a live change). `open` holds the cases whose history is open, kept by the list so
/// a live refresh does not close them. Staff see the reasons recorded with each move; the server
/// gives a survivor none.
#[component]
pub fn Timeline(incident: String, open: RwSignal<HashSet<String>>) -> impl IntoView {
    let changes = RwSignal::new(None::<Result<Vec<StatusChange>, String>>);
    let id = incident.clone();
    let is_open = Memo::new(move |_| open.with(|o| o.contains(&id)));
    let id = incident.clone();
    Effect::new(move |_| {
        if !open.with(|o| o.contains(&id)) {
            return;
        }
        let arg = IncidentArgs {
            incident: ipc::id(&id),
        };
        spawn_local(async move {
            let got = ipc::invoke::<cmd::Timeline>(&arg).await;
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
            t("reports.hide_history")
        } else {
            t("reports.history")
        }
    };
    view! {
        <button class="show-timeline link" aria-expanded=move || is_open.get().to_string() on:click=toggle>
            {label}
        </button>
        {move || is_open.get().then(|| match changes.get() {
            None => view! { <p class="loading">{move || t("reports.loading")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error-banner" role="alert">{e}</p> }.into_any(),
            Some(Ok(list)) => view! {
                <ol class="timeline">
                    {list.into_iter().map(|c| view! {
                        <li class="timeline-entry">
                            <span class="timeline-status">{move || i18n::incident_status(c.to)}</span>
                            " · "
                            <time>{move || format!("{} UTC", i18n::day_time(&c.at))}</time>
                            {c.reason.map(|r| view! { <span class="timeline-reason">" · "{r}</span> })}
                        </li>
                    }).collect_view()}
                </ol>
            }.into_any(),
        })}
    }
}
