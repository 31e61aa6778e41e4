//! Dispatcher home: dashboard numbers, the review queue with assignment from the server's
//! suggestions, and all cases.

use kintara_api::{CaseView, DashboardStats, IncidentStatus, ProviderSuggestion, UrgencyLevel};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::app::ctx;
use crate::ipc::{self, NoArgs};
use crate::screens::directory::{reassignable, ProviderDirectory, Reassign};
use crate::screens::provider::{case_key, CaseSummary};

#[derive(Serialize)]
struct CasesArgs {
    status: Option<String>,
}

#[derive(Serialize)]
struct IncidentArgs {
    incident: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssignArgs {
    incident: String,
    provider_ids: Vec<String>,
}

#[component]
pub fn DispatcherHome() -> impl IntoView {
    let ctx = ctx();
    let stats = RwSignal::new(None::<DashboardStats>);
    let queue = RwSignal::new(None::<Vec<CaseView>>);
    let all = RwSignal::new(None::<Vec<CaseView>>);
    let error = RwSignal::new(None::<String>);
    // The case being assigned: (id, case number).
    let assigning = RwSignal::new(None::<(String, String)>);
    let reload = RwSignal::new(0u32);
    // "All cases" shows one status, or every status when empty.
    let filter = RwSignal::new(String::new());
    Effect::new(move |_| {
        ctx.tick.track();
        reload.track();
        let shown = filter.get();
        spawn_local(async move {
            match ipc::call::<_, DashboardStats>("dashboard", &NoArgs {}).await {
                Ok(s) => stats.set(Some(s)),
                Err(e) => error.set(Some(ctx.fail(e))),
            }
            let args = CasesArgs {
                status: Some("pending_dispatcher_review".into()),
            };
            match ipc::call::<_, Vec<CaseView>>("dispatch_cases", &args).await {
                Ok(mut l) => {
                    // Urgent first, then the longest waiting.
                    l.sort_by_key(|c| {
                        (
                            std::cmp::Reverse(urgency_rank(c)),
                            c.incident.date_submitted,
                        )
                    });
                    queue.set(Some(l));
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
            let args = CasesArgs {
                status: (!shown.is_empty()).then_some(shown),
            };
            match ipc::call::<_, Vec<CaseView>>("dispatch_cases", &args).await {
                Ok(l) => all.set(Some(l)),
                Err(e) => error.set(Some(ctx.fail(e))),
            }
        });
    });
    let stat = move |id: &'static str, label: &'static str, f: fn(&DashboardStats) -> i64| {
        view! {
            <div class="stat">
                <span id=id class="stat-value">{move || stats.get().map(|s| f(&s).to_string()).unwrap_or_else(|| "–".into())}</span>
                <span class="stat-label">{label}</span>
            </div>
        }
    };
    view! {
        {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
        <section id="stats" class="stats" aria-label="Dashboard">
            {stat("stat-total", "Cases in total", |s| s.total_cases)}
            {stat("stat-pending", "Waiting for review", |s| s.pending_dispatcher_review)}
            {stat("stat-urgent", "Urgent, unassigned", |s| s.unassigned_urgent_cases)}
            {stat("stat-active", "Active", |s| s.active_cases)}
            {stat("stat-available", "Providers available", |s| s.available_providers)}
        </section>
        <div class="panes">
            <section class="pane" aria-labelledby="queue-title">
                <h2 id="queue-title">"Waiting for review"</h2>
                <ul id="queue" class="cards">
                    <For each=move || queue.get().unwrap_or_default() key=case_key let:c>
                        {
                            let id = c.incident.id.to_string();
                            let number = c.incident.case_number.clone();
                            let age = age(&c);
                            let key = id.clone();
                            view! {
                                <li class="case-card card" data-incident=key>
                                    <CaseSummary case=c/>
                                    <div class="meta">"Waiting " {age}</div>
                                    <div class="card-actions">
                                        <button class="assign primary-sm"
                                            on:click=move |_| assigning.set(Some((id.clone(), number.clone())))>
                                            "Assign"
                                        </button>
                                    </div>
                                </li>
                            }
                        }
                    </For>
                </ul>
                {move || queue.get().is_some_and(|q| q.is_empty()).then(|| view! {
                    <p class="hint empty">"No case is waiting for review."</p>
                })}
            </section>
            <section class="pane">
                {move || assigning.get().map(|(id, number)| view! {
                    <AssignPanel id=id number=number assigning=assigning reload=reload/>
                })}
                <div class="pane-head">
                    <h2 id="all-title">"All cases"</h2>
                    <label class="filter">
                        <span class="visually-hidden">"Show cases"</span>
                        <select id="cases-filter"
                            on:change=move |ev| filter.set(event_target_value(&ev))>
                            <option value="">"Every status"</option>
                            {IncidentStatus::ALL.iter().map(|s| view! {
                                <option value=s.as_str()>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <ul id="all-cases" class="cards compact">
                    <For each=move || all.get().unwrap_or_default() key=all_key let:c>
                        <li class="case-card card" data-incident=c.incident.id.to_string()>
                            <CaseSummary case=c.clone()/>
                            {(!c.assigned_providers.is_empty()).then(|| view! {
                                <div class="helpers">
                                    {c.assigned_providers.iter().map(|a| format!("{} ({})", a.provider_name, a.status.label())).collect::<Vec<_>>().join(", ")}
                                </div>
                            })}
                            {reassignable(&c).then(|| view! { <Reassign case=c.clone() reload=reload/> })}
                        </li>
                    </For>
                </ul>
            </section>
            <ProviderDirectory/>
        </div>
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

fn age(c: &CaseView) -> String {
    let mins = (chrono::Utc::now() - c.incident.date_submitted)
        .num_minutes()
        .max(0);
    if mins < 60 {
        format!("{mins} min")
    } else if mins < 60 * 48 {
        format!("{} h", mins / 60)
    } else {
        format!("{} days", mins / 60 / 24)
    }
}

#[component]
fn AssignPanel(
    id: String,
    number: String,
    assigning: RwSignal<Option<(String, String)>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let ctx = ctx();
    let suggestions = RwSignal::new(None::<Vec<ProviderSuggestion>>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    {
        let incident = id.clone();
        spawn_local(async move {
            match ipc::call::<_, Vec<ProviderSuggestion>>(
                "recommendations",
                &IncidentArgs { incident },
            )
            .await
            {
                Ok(l) => suggestions.set(Some(l)),
                Err(e) => error.set(Some(ctx.fail(e))),
            }
        });
    }
    let incident = StoredValue::new(id);
    let assign_to = move |provider: String| {
        busy.set(true);
        error.set(None);
        let args = AssignArgs {
            incident: incident.get_value(),
            provider_ids: vec![provider],
        };
        spawn_local(async move {
            match ipc::call::<_, serde_json::Value>("assign", &args).await {
                Ok(_) => {
                    assigning.set(None);
                    reload.update(|r| *r += 1);
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
            busy.set(false);
        });
    };
    view! {
        <section id="assign-panel" class="assign-panel card" aria-labelledby="assign-title">
            <div class="row">
                <h2 id="assign-title">"Assign " {number}</h2>
                <button class="link close" aria-label="Close" on:click=move |_| assigning.set(None)>"✕"</button>
            </div>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            {move || match suggestions.get() {
                None => view! { <p class="loading">"Loading suggestions…"</p> }.into_any(),
                Some(l) if l.is_empty() => view! { <p class="hint">"No provider fits this case right now."</p> }.into_any(),
                Some(l) => view! {
                    <ul class="suggestions">
                        {l.into_iter().map(|s| {
                            let pid = s.provider.id.to_string();
                            let p = pid.clone();
                            view! {
                                <li class="suggestion" data-provider=pid>
                                    <div class="row">
                                        <span class="provider-name">{s.provider.full_name.clone()}</span>
                                        <span class="kind">{s.provider.provider_type_display.clone()}</span>
                                    </div>
                                    <div class="meta">{s.reasons.join(" · ")}</div>
                                    <button class="assign-to primary-sm" disabled=move || busy.get()
                                        on:click=move |_| assign_to(p.clone())>"Assign to " {s.provider.first_name.clone()}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
