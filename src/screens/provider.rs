//! Provider home: cases offered (accept / decline with a reason) and cases accepted.

use std::collections::{BTreeMap, HashSet};

use kintara_api::app::{cmd, AnswerArgs, CaseStatusArgs};
use kintara_api::{AssignmentStatus, CaseView, IncidentStatus, StatusUpdateRequest};
use leptos::prelude::*;

use crate::app::ctx;
use crate::fields::{Errors, FieldError};
use crate::i18n::{self, t};
use crate::ipc::{self, NoArgs};
use crate::live::{self, Topic};
use crate::screens::availability::AvailabilityToggle;
use crate::screens::case_detail::CaseDetail;
use crate::screens::chat::open_case_room;
use crate::screens::timeline::Timeline;

/// A key that changes when a card must be redrawn.
pub fn case_key(c: &CaseView) -> String {
    format!(
        "{}:{}:{}",
        c.incident.id,
        c.incident.status.as_str(),
        c.assignment_status.map(|s| s.as_str()).unwrap_or("")
    )
}

#[component]
pub fn ProviderHome() -> impl IntoView {
    let ctx = ctx();
    // Cases whose history is open, and cases whose details are open, kept across live
    // refreshes.
    let open_history = RwSignal::new(HashSet::<String>::new());
    let open_details = RwSignal::new(HashSet::<String>::new());
    crate::screens::case_detail::follow_focus(open_details);
    let (cases, error) = live::load(ctx, move || {
        ctx.topics.track(Topic::Cases);
        // An answer leaving the outbox has reached the server: its case moved.
        ctx.outbox.with(|o| o.len());
        async move { ipc::invoke::<cmd::AssignedCases>(&NoArgs {}).await }
    });
    let with_status = move |want: AssignmentStatus| {
        cases
            .get()
            .unwrap_or_default()
            .into_iter()
            .filter(move |c| c.assignment_status == Some(want))
            .collect::<Vec<_>>()
    };
    view! {
        <AvailabilityToggle/>
        {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
        <div class="panes">
            <section class="pane" aria-labelledby="pending-title">
                <h2 id="pending-title">{move || t("provider.pending_title")}</h2>
                <ul id="pending-list" class="cards">
                    <For each=move || with_status(AssignmentStatus::Pending) key=case_key let:c>
                        <PendingCard case=c open_details=open_details open_history=open_history/>
                    </For>
                </ul>
                {move || (cases.get().is_some() && with_status(AssignmentStatus::Pending).is_empty())
                    .then(|| view! { <p class="hint empty">{move || t("provider.pending_empty")}</p> })}
            </section>
            <section class="pane" aria-labelledby="active-title">
                <h2 id="active-title">{move || t("provider.active_title")}</h2>
                <ul id="active-list" class="cards">
                    <For each=move || with_status(AssignmentStatus::Accepted) key=case_key let:c>
                        <ActiveCard case=c open_history=open_history open_details=open_details/>
                    </For>
                </ul>
                {move || (cases.get().is_some() && with_status(AssignmentStatus::Accepted).is_empty())
                    .then(|| view! { <p class="hint empty">{move || t("provider.active_empty")}</p> })}
            </section>
        </div>
    }
}

/// Case number, urgency, type.
#[component]
pub fn CaseSummary(case: CaseView) -> impl IntoView {
    let i = case.incident;
    // Labels from the enums, not the server's English `*_display` fields, so they follow the
    // language.
    let (urgency, kind, status, filed) = (i.urgency_level, i.kind, i.status, i.date_submitted);
    view! {
        <div class="row">
            <span class="case-number">{i.case_number.clone()}</span>
            <span class=format!("urgency urgency-{}", urgency.as_str())>{move || i18n::urgency(urgency)}</span>
        </div>
        <div class="kind">{move || i18n::incident_type(kind)}</div>
        <div class="meta">
            <span class=format!("status status-{}", status.as_str())>{move || i18n::incident_status(status)}</span>
            {(!case.survivor_name.is_empty()).then(|| format!(" · {}", case.survivor_name))}
            {move || t("case.filed")} {move || i18n::day_time(&filed)}
        </div>
    }
}

#[component]
fn PendingCard(
    case: CaseView,
    open_details: RwSignal<HashSet<String>>,
    open_history: RwSignal<HashSet<String>>,
) -> impl IntoView {
    let ctx = ctx();
    let id = case.incident.id.to_string();
    let declining = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let errors = RwSignal::new(Errors::new());
    let error = RwSignal::new(None::<String>);
    let incident = case.incident.id;
    let busy = Memo::new(move |_| {
        ctx.outbox
            .with(|o| o.iter().any(|it| it.incident() == Some(incident)))
    });
    // Queued in the outbox: the card shows "sending" (`busy`) until the server has it.
    let answer_action = ipc::action::<cmd::AnswerAssignment>();
    Effect::new(move |_| {
        if let Some(Err(e)) = answer_action.value().get() {
            if e.fields.is_empty() {
                error.set(Some(ctx.fail(e)));
            } else {
                errors.set(e.fields);
            }
        }
    });
    let answer = {
        move |accepted: bool| {
            let reason_text = reason.get_untracked().trim().to_owned();
            if !accepted && reason_text.is_empty() {
                errors.set(BTreeMap::from([(
                    "reason".to_owned(),
                    vec![t("provider.reason_needed").to_owned()],
                )]));
                return;
            }
            errors.set(Errors::new());
            error.set(None);
            answer_action.dispatch(AnswerArgs {
                incident,
                accepted,
                reason: (!accepted).then_some(reason_text),
            });
        }
    };
    let input_id = StoredValue::new(format!("decline-reason-{id}"));
    view! {
        <li class="case-card card" data-incident=id.clone()>
            <CaseSummary case=case.clone()/>
            <CaseDetail case=case open=open_details/>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <Show when=move || !busy.get() fallback=|| view! { <p class="sending">{move || t("provider.sending")}</p> }>
                <div class="card-actions">
                    <button class="accept primary-sm" on:click=move |_| answer(true)>{move || t("provider.accept")}</button>
                    <button class="decline secondary-sm" aria-expanded=move || declining.get().to_string()
                        on:click=move |_| declining.update(|d| *d = !*d)>{move || t("provider.decline")}</button>
                </div>
                <Show when=move || declining.get()>
                    <label for=input_id.get_value()>{move || t("provider.why_decline")}</label>
                    <input id=input_id.get_value() class="decline-reason" type="text"
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))/>
                    <FieldError errors=errors field="reason"/>
                    <button class="confirm-decline secondary-sm" on:click=move |_| answer(false)>
                        {move || t("provider.confirm_decline")}
                    </button>
                </Show>
            </Show>
            <Timeline incident=id.clone() open=open_history/>
        </li>
    }
}

#[component]
fn ActiveCard(
    case: CaseView,
    open_history: RwSignal<HashSet<String>>,
    open_details: RwSignal<HashSet<String>>,
) -> impl IntoView {
    let ctx = ctx();
    let id = case.incident.id.to_string();
    let status = case.incident.status;
    let error = RwSignal::new(None::<String>);
    let next = match status {
        IncidentStatus::Assigned => Some((IncidentStatus::InProgress, "provider.start")),
        IncidentStatus::InProgress => Some((IncidentStatus::Completed, "provider.complete")),
        _ => None,
    };
    let open = {
        let id = id.clone();
        move |_| open_case_room(ctx, id.clone(), error)
    };
    let incident = case.incident.id;
    let status_action = ipc::action::<cmd::UpdateCaseStatus>();
    Effect::new(move |_| {
        if let Some(Err(e)) = status_action.value().get() {
            error.set(Some(ctx.fail(e)));
        }
    });
    let busy = Memo::new(move |_| {
        ctx.outbox
            .with(|o| o.iter().any(|it| it.incident() == Some(incident)))
    });
    let set_status = move |to: IncidentStatus| {
        status_action.dispatch(CaseStatusArgs {
            incident,
            request: StatusUpdateRequest {
                status: to,
                notes: None,
            },
        });
    };
    view! {
        <li class="case-card card" data-incident=id.clone()>
            <CaseSummary case=case.clone()/>
            <CaseDetail case=case open=open_details/>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <div class="card-actions">
                <button class="open-chat primary-sm" on:click=open>{move || t("provider.open_chat")}</button>
                {next.map(|(to, label)| view! {
                    <button class="set-status secondary-sm" data-status=to.as_str()
                        disabled=move || busy.get()
                        on:click=move |_| set_status(to)>{move || t(label)}</button>
                })}
            </div>
            {move || busy.get().then(|| view! { <p class="sending">{move || t("provider.sending")}</p> })}
            <Timeline incident=id.clone() open=open_history/>
        </li>
    }
}
