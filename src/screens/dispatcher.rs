//! Dispatcher home: dashboard numbers, the review queue with assignment from the server's
//! suggestions, and all cases.

use std::collections::{HashMap, HashSet};

use kintara_api::app::{cmd, AssignArgs, CaseDecision, CasesArgs, DecideArgs, IncidentArgs};
use kintara_api::{CaseView, DashboardStats, IncidentStatus, IncidentType, UrgencyLevel};
use leptos::prelude::*;

use crate::app::ctx;
use crate::i18n::{self, t};
use crate::ipc::{self, NoArgs};
use crate::live::{self, Topic};
use crate::screens::case_detail::CaseDetail;
use crate::screens::directory::{reasons_text, reassignable, ProviderDirectory, Reassign};
use crate::screens::provider::{case_key, CaseSummary};
use crate::screens::timeline::Timeline;

#[component]
pub fn DispatcherHome() -> impl IntoView {
    let ctx = ctx();
    // The case being assigned: (id, case number).
    let assigning = RwSignal::new(None::<(String, String)>);
    let reload = RwSignal::new(0u32);
    // "All cases" shows one status, or every status when empty (the server filters)...
    let filter = RwSignal::new(String::new());
    // ...and one urgency and one type, or all (filtered here, on what the server sent).
    let urgency_filter = RwSignal::new(None::<UrgencyLevel>);
    let type_filter = RwSignal::new(None::<IncidentType>);
    // Cases whose history or details are open, kept across live refreshes.
    let open_history = RwSignal::new(HashSet::<String>::new());
    let open_details = RwSignal::new(HashSet::<String>::new());
    crate::screens::case_detail::follow_focus(open_details);
    // Close/reopen panels that are open, with the reason typed so far: kept here, so a live
    // refresh that draws a card anew does not close the panel under the dispatcher's hands.
    let deciding = RwSignal::new(HashMap::<(uuid::Uuid, CaseDecision), String>::new());
    let (stats, stats_error) = live::load(ctx, move || {
        ctx.topics.track(Topic::Cases);
        reload.track();
        async move { ipc::invoke::<cmd::Dashboard>(&NoArgs {}).await }
    });
    let (queue, queue_error) = live::load(ctx, move || {
        ctx.topics.track(Topic::Cases);
        reload.track();
        async move {
            let args = CasesArgs {
                status: Some(IncidentStatus::PendingDispatcherReview),
            };
            let mut l = ipc::invoke::<cmd::DispatchCases>(&args).await?;
            // Urgent first, then the longest waiting.
            l.sort_by_key(|c| {
                (
                    std::cmp::Reverse(urgency_rank(c)),
                    c.incident.date_submitted,
                )
            });
            Ok(l)
        }
    });
    let (all, all_error) = live::load(ctx, move || {
        ctx.topics.track(Topic::Cases);
        reload.track();
        let args = CasesArgs {
            status: IncidentStatus::parse(&filter.get()),
        };
        async move { ipc::invoke::<cmd::DispatchCases>(&args).await }
    });
    let shown_cases = move || {
        let (u, k) = (urgency_filter.get(), type_filter.get());
        all.get()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| u.is_none_or(|u| c.incident.urgency_level == u))
            .filter(|c| k.is_none_or(|k| c.incident.kind == k))
            .collect::<Vec<_>>()
    };
    let error = Signal::derive(move || {
        stats_error
            .get()
            .or_else(|| queue_error.get())
            .or_else(|| all_error.get())
    });
    let stat = move |id: &'static str, label: &'static str, f: fn(&DashboardStats) -> i64| {
        view! {
            <div class="stat">
                <span id=id class="stat-value">{move || stats.get().map(|s| f(&s).to_string()).unwrap_or_else(|| "–".into())}</span>
                <span class="stat-label">{move || t(label)}</span>
            </div>
        }
    };
    view! {
        {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
        <section id="stats" class="stats" aria-label=move || t("dispatch.stats")>
            {stat("stat-total", "dispatch.stat_total", |s| s.total_cases)}
            {stat("stat-pending", "dispatch.stat_pending", |s| s.pending_dispatcher_review)}
            {stat("stat-urgent", "dispatch.stat_urgent", |s| s.unassigned_urgent_cases)}
            {stat("stat-active", "dispatch.stat_active", |s| s.active_cases)}
            {stat("stat-available", "dispatch.stat_available", |s| s.available_providers)}
        </section>
        <div class="panes">
            <section class="pane" aria-labelledby="queue-title">
                <h2 id="queue-title">{move || t("dispatch.queue_title")}</h2>
                <ul id="queue" class="cards">
                    <For each=move || queue.get().unwrap_or_default() key=case_key let:c>
                        {
                            let id = c.incident.id.to_string();
                            let number = c.incident.case_number.clone();
                            let submitted = c.incident.date_submitted;
                            let key = id.clone();
                            view! {
                                <li class="case-card card" data-incident=key>
                                    <CaseSummary case=c.clone()/>
                                    <div class="meta">{move || t("dispatch.waiting")} {move || age(submitted)}</div>
                                    <CaseDetail case=c open=open_details/>
                                    <Sending incident=ipc::id(&id)/>
                                    <div class="card-actions">
                                        <button class="assign primary-sm"
                                            on:click=move |_| assigning.set(Some((id.clone(), number.clone())))>
                                            {move || t("dispatch.assign")}
                                        </button>
                                    </div>
                                </li>
                            }
                        }
                    </For>
                </ul>
                {move || queue.get().is_some_and(|q| q.is_empty()).then(|| view! {
                    <p class="hint empty">{move || t("dispatch.queue_empty")}</p>
                })}
            </section>
            <section class="pane">
                {move || assigning.get().map(|(id, number)| view! {
                    <AssignPanel id=id number=number assigning=assigning reload=reload/>
                })}
                <div class="pane-head">
                    <h2 id="all-title">{move || t("dispatch.all_title")}</h2>
                    <label class="filter">
                        <span class="visually-hidden">{move || t("dispatch.filter")}</span>
                        <select id="cases-filter"
                            on:change=move |ev| filter.set(event_target_value(&ev))>
                            <option value="">{move || t("dispatch.every_status")}</option>
                            {IncidentStatus::ALL.iter().map(|s| view! {
                                <option value=s.as_str()>{move || i18n::incident_status(*s)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="filter">
                        <span class="visually-hidden">{move || t("dispatch.filter_urgency")}</span>
                        <select id="cases-urgency"
                            on:change=move |ev| urgency_filter.set(UrgencyLevel::parse(&event_target_value(&ev)))>
                            <option value="">{move || t("dispatch.every_urgency")}</option>
                            {UrgencyLevel::ALL.iter().map(|u| view! {
                                <option value=u.as_str()>{move || i18n::urgency(*u)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="filter">
                        <span class="visually-hidden">{move || t("dispatch.filter_type")}</span>
                        <select id="cases-type"
                            on:change=move |ev| type_filter.set(IncidentType::parse(&event_target_value(&ev)))>
                            <option value="">{move || t("dispatch.every_type")}</option>
                            {IncidentType::ALL.iter().map(|k| view! {
                                <option value=k.as_str()>{move || i18n::incident_type(*k)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <ul id="all-cases" class="cards compact">
                    <For each=shown_cases key=all_key let:c>
                        <li class="case-card card" data-incident=c.incident.id.to_string()>
                            <CaseSummary case=c.clone()/>
                            {(!c.assigned_providers.is_empty()).then(|| view! {
                                <div class="helpers">
                                    {
                                        let helpers: Vec<_> = c.assigned_providers.iter().map(|a| (a.provider_name.clone(), a.status)).collect();
                                        move || helpers.iter().map(|(name, status)| format!("{name} ({})", i18n::assignment_status(*status))).collect::<Vec<_>>().join(", ")
                                    }
                                </div>
                            })}
                            <CaseDetail case=c.clone() open=open_details/>
                            {reassignable(&c).then(|| view! { <Reassign case=c.clone() reload=reload/> })}
                            {decision_for(c.incident.status).map(|d| view! { <Decide incident=c.incident.id decision=d deciding=deciding/> })}
                            <Sending incident=c.incident.id/>
                            <Timeline incident=c.incident.id.to_string() open=open_history/>
                        </li>
                    </For>
                </ul>
            </section>
            <ProviderDirectory/>
        </div>
    }
}

/// "Sending…" while the outbox holds an action on the case: it shows until the server has it.
#[component]
pub fn Sending(incident: uuid::Uuid) -> impl IntoView {
    let ctx = ctx();
    let busy = Memo::new(move |_| {
        ctx.outbox
            .with(|o| o.iter().any(|it| it.incident() == Some(incident)))
    });
    move || {
        busy.get()
            .then(|| view! { <p class="sending" role="status">{move || t("provider.sending")}</p> })
    }
}

/// What the workflow lets a dispatcher decide about a case in `status`.
fn decision_for(status: IncidentStatus) -> Option<CaseDecision> {
    match status {
        IncidentStatus::Completed => Some(CaseDecision::Close),
        IncidentStatus::Closed => Some(CaseDecision::Reopen),
        _ => None,
    }
}

/// Close a completed case or reopen a closed one, with a reason for the timeline.
#[component]
fn Decide(
    incident: uuid::Uuid,
    decision: CaseDecision,
    deciding: RwSignal<HashMap<(uuid::Uuid, CaseDecision), String>>,
) -> impl IntoView {
    let ctx = ctx();
    // Keyed by the decision too: a close still pending when the card comes back as closed
    // does not open the reopen panel.
    let key = (incident, decision);
    let open = Memo::new(move |_| deciding.with(|d| d.contains_key(&key)));
    let reason = move || deciding.with(|d| d.get(&key).cloned().unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let decide = ipc::action::<cmd::Decide>();
    // The panel closes as the decision is queued; a refusal to queue it shows under the button.
    Effect::new(move |_| {
        if let Some(Err(e)) = decide.value().get() {
            let field = e.fields.values().flatten().next().cloned();
            let msg = ctx.fail(e);
            error.set(Some(field.unwrap_or(msg)));
        }
    });
    let (label, confirm_label) = match decision {
        CaseDecision::Close => ("dispatch.close_case", "dispatch.confirm_close"),
        CaseDecision::Reopen => ("dispatch.reopen_case", "dispatch.confirm_reopen"),
    };
    let toggle = move |_| {
        deciding.update(|d| {
            if d.remove(&key).is_none() {
                d.insert(key, String::new());
            }
        })
    };
    let confirm = move |_| {
        let why = reason().trim().to_owned();
        if why.is_empty() {
            error.set(Some(t("dispatch.decision_reason_needed").into()));
            return;
        }
        error.set(None);
        deciding.update(|d| {
            d.remove(&key);
        });
        decide.dispatch(DecideArgs {
            incident,
            decision,
            reason: why,
        });
    };
    let input_id = StoredValue::new(format!("decision-reason-{incident}"));
    view! {
        <div class="card-actions">
            <button class="decide secondary-sm" data-decision=decision.as_str()
                aria-expanded=move || open.get().to_string()
                on:click=toggle>{move || t(label)}</button>
        </div>
        {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
        <Show when=move || open.get()>
            <div class="decide-panel">
                <label for=input_id.get_value()>{move || t("dispatch.decision_why")}</label>
                <input id=input_id.get_value() class="decision-reason" type="text"
                    prop:value=reason
                    on:input=move |ev| deciding.update(|d| {
                        d.insert(key, event_target_value(&ev));
                    })/>
                <button class="confirm-decision primary-sm" on:click=confirm>{move || t(confirm_label)}</button>
            </div>
        </Show>
    }
}

/// Redraws a case card when its status or its providers change.
fn all_key(c: &CaseView) -> String {
    let helpers: Vec<String> = c
        .assigned_providers
        .iter()
        .map(|a| format!("{}={}", a.provider_id, a.status.as_str()))
        .collect();
    format!("{}|{}", case_key(c), helpers.join(","))
}

fn urgency_rank(c: &CaseView) -> u8 {
    match c.incident.urgency_level {
        UrgencyLevel::Immediate => 2,
        UrgencyLevel::Urgent => 1,
        UrgencyLevel::Routine => 0,
    }
}

/// How long a case has waited, in words.
fn age(submitted: chrono::DateTime<chrono::Utc>) -> String {
    let mins = (chrono::Utc::now() - submitted).num_minutes().max(0);
    let (key, n) = if mins < 60 {
        ("dispatch.minutes", mins)
    } else if mins < 60 * 48 {
        ("dispatch.hours", mins / 60)
    } else {
        ("dispatch.days", mins / 60 / 24)
    };
    i18n::tf(key, &[("n", &n.to_string())])
}

#[component]
fn AssignPanel(
    id: String,
    number: String,
    assigning: RwSignal<Option<(String, String)>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let ctx = ctx();
    let args = IncidentArgs {
        incident: ipc::id(&id),
    };
    let (suggestions, error) = live::load(ctx, move || async move {
        ipc::invoke::<cmd::Recommendations>(&args).await
    });
    let incident = StoredValue::new(id);
    let assign = ipc::action::<cmd::Assign>();
    let busy = assign.pending();
    Effect::new(move |_| match assign.value().get() {
        Some(Ok(_)) => {
            assigning.set(None);
            reload.update(|r| *r += 1);
        }
        Some(Err(e)) => error.set(Some(ctx.fail(e))),
        None => {}
    });
    let assign_to = move |provider: String| {
        error.set(None);
        assign.dispatch(AssignArgs {
            incident: ipc::id(&incident.get_value()),
            provider_ids: vec![ipc::id(&provider)],
        });
    };
    view! {
        <section id="assign-panel" class="assign-panel card" aria-labelledby="assign-title">
            <div class="row">
                <h2 id="assign-title">{move || t("dispatch.assign_title")} {number}</h2>
                <button class="link close" aria-label=move || t("dispatch.close") on:click=move |_| assigning.set(None)>"✕"</button>
            </div>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            {move || match suggestions.get() {
                None => view! { <p class="loading">{move || t("dispatch.loading")}</p> }.into_any(),
                Some(l) if l.is_empty() => view! { <p class="hint">{move || t("dispatch.no_fit")}</p> }.into_any(),
                Some(l) => view! {
                    <ul class="suggestions">
                        {l.into_iter().map(|s| {
                            let pid = s.provider.id.to_string();
                            let p = pid.clone();
                            let ptype = s.provider.provider_type;
                            let why = s.reasons.clone();
                            view! {
                                <li class="suggestion" data-provider=pid>
                                    <div class="row">
                                        <span class="provider-name">{s.provider.full_name.clone()}</span>
                                        <span class="kind">{move || i18n::provider_type(ptype)}</span>
                                    </div>
                                    <div class="meta">{move || reasons_text(&why)}</div>
                                    <button class="assign-to primary-sm" disabled=move || busy.get()
                                        on:click=move |_| assign_to(p.clone())>{move || t("dispatch.assign_to")} {s.provider.first_name.clone()}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
