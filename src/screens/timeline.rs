//! A case's status history, for the survivor's reports and the staff's case cards.

use std::collections::HashSet;

use kintara_api::app::{cmd, IncidentArgs};
use leptos::prelude::*;

use crate::i18n::{self, t};
use crate::ipc;

/// A case's status history, behind a toggle (loaded when opened, and again whenever the card is
/// redrawn by a live change). `open` holds the cases whose history is open, kept by the list so
/// a live refresh does not close them. Staff see the reasons recorded with each move; the server
/// gives a survivor none.
#[component]
pub fn Timeline(incident: String, open: RwSignal<HashSet<String>>) -> impl IntoView {
    let id = incident.clone();
    let is_open = Memo::new(move |_| open.with(|o| o.contains(&id)));
    // Loaded when opened (and again whenever the card is drawn anew by a live change).
    let arg = IncidentArgs {
        incident: ipc::id(&incident),
    };
    let loaded = LocalResource::new(move || async move {
        if is_open.get() {
            Some(ipc::invoke::<cmd::Timeline>(&arg).await)
        } else {
            None
        }
    });
    let changes = move || loaded.get().flatten().map(|got| got.map_err(|e| e.message));
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
        {move || is_open.get().then(|| match changes() {
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
