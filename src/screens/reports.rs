//! "My reports": the survivor's cases with their case number and status, and above them the
//! reports still waiting on this device (in the outbox) to be sent. A waiting report is replaced
//! by its case as soon as the outbox has delivered it.

use std::collections::HashSet;

use kintara_api::app::{cmd, EditReportArgs, IncidentArgs, OutboxAction, OutboxState, UiErrorKind};
use kintara_api::{Incident, IncidentPatch, IncidentStatus, SupportService};
use leptos::prelude::*;

use crate::app::{ctx, Notice, Screen};
use crate::i18n::{self, t, tf, Lang};
use crate::ipc::{self, NoArgs};
use crate::live::{self, Topic};
use crate::screens::dispatcher::Sending;
use crate::screens::timeline::Timeline;

/// The words for a report still on this device, by its outbox state.
fn waiting_label(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Sending => t("reports.sending"),
        OutboxState::Failed => t("reports.failed"),
        OutboxState::Queued => t("reports.waiting"),
    }
}

/// Day, month, year and time in UTC ("22 Nov 2026, 14:05 UTC"; chrono only knows English
/// month names, so Swahili gives the month as a number).
fn stamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    match i18n::lang() {
        Lang::En => at.format("%d %b %Y, %H:%M UTC").to_string(),
        Lang::Sw => at.format("%d/%m/%Y, %H:%M UTC").to_string(),
    }
}

#[component]
pub fn MyReports() -> impl IntoView {
    let ctx = ctx();
    // Reports whose status history is open; kept here so a live refresh does not close them.
    let open = RwSignal::new(HashSet::<String>::new());
    // Waiting reports delivered while this screen is open: the "saved on this device" notice
    // is then out of date and gives way to one that says it was sent.
    let sent_here = RwSignal::new(0usize);
    // Live: refetch when a case or a room changes, or she asks.
    let reload = RwSignal::new(0u32);
    let load = move || reload.update(|n| *n += 1);
    // "All", or one status (filtered here, on what the server sent).
    let filter = RwSignal::new(None::<IncidentStatus>);
    let (reports, error) = live::load(ctx, move || {
        ctx.topics.track(Topic::Cases);
        reload.track();
        // A change or a withdrawal leaving the outbox has reached the server.
        ctx.outbox
            .with(|o| o.iter().filter(|i| i.incident().is_some()).count());
        async move {
            ipc::invoke::<cmd::ListIncidents>(&NoArgs {})
                .await
                .map_err(|e| match e.kind {
                    // Offline is no fault of hers, and her reports on this device are safe.
                    UiErrorKind::Network => ipc::UiError::new(e.kind, t("reports.offline")),
                    _ => e,
                })
        }
    });
    // The case rooms this survivor is in (only their own: the core asks the server as them).
    let (rooms, _) = live::load(ctx, move || {
        ctx.topics.track(Topic::Cases);
        ctx.topics.track(Topic::Rooms);
        reload.track();
        async move { ipc::invoke::<cmd::Rooms>(&NoArgs {}).await }
    });
    // Reports still on this device, oldest first, as the outbox reports them.
    let waiting = Memo::new(move |_| {
        ctx.outbox.with(|o| {
            o.iter()
                .filter(|i| matches!(i.action, OutboxAction::FileReport(_)))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    // A waiting report that leaves the outbox was delivered (or discarded): refetch, so its case
    // takes its place at once, without waiting for a server event.
    // A failed one only leaves when it is discarded, so it does not count as sent.
    Effect::new(move |before: Option<Vec<(String, bool)>>| {
        let now: Vec<(String, bool)> = waiting.with(|w| {
            w.iter()
                .map(|i| (i.client_id.clone(), i.is_failed()))
                .collect()
        });
        let gone: Vec<bool> = before
            .unwrap_or_default()
            .into_iter()
            .filter(|(id, _)| !now.iter().any(|(n, _)| n == id))
            .map(|(_, failed)| failed)
            .collect();
        if !gone.is_empty() {
            sent_here.update(|n| *n += gone.iter().filter(|failed| !**failed).count());
            load();
        }
        now
    });
    // What to say once they went: the newest case is the report just sent.
    let sent_note = move || match sent_here.get() {
        0 => None,
        1 => reports.with(|r| {
            r.as_ref()
                .and_then(|l| l.iter().max_by_key(|i| i.date_submitted))
                .map(|i| tf("reports.sent_one", &[("num", &i.case_number)]))
        }),
        _ => Some(t("reports.sent_many").to_owned()),
    };
    let room_of = move |incident: &str| {
        rooms.with(|l| {
            l.iter()
                .flatten()
                .find(|r| r.incident.map(|i| i.to_string()).as_deref() == Some(incident))
                .map(|r| r.id.to_string())
        })
    };
    view! {
        <section class="screen">
            <header class="top">
                <button id="back-home" class="link" on:click=move |_| ctx.go(Screen::Home)>{move || t("reports.home")}</button>
                <h1>{move || t("reports.title")}</h1>
                <button id="reports-refresh" class="link" on:click=move |_| load()>{move || t("reports.refresh")}</button>
            </header>
            <Show when=move || sent_here.get() == 0>
                <Notice/>
            </Show>
            {move || sent_note().map(|t| view! {
                <div id="report-sent" class="notice" role="status">{t}</div>
            })}
            {move || error.get().map(|e| view! {
                <div id="reports-error" class="error-banner" role="alert">{e}</div>
            })}
            <label class="filter">
                <span class="visually-hidden">{move || t("dispatch.filter")}</span>
                <select id="reports-filter"
                    on:change=move |ev| filter.set(IncidentStatus::parse(&event_target_value(&ev)))>
                    <option value="">{move || t("dispatch.every_status")}</option>
                    {IncidentStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str()>{move || i18n::incident_status(*s)}</option>
                    }).collect_view()}
                </select>
            </label>
            // Polite live region: a screen reader hears when a waiting report starts sending or
            // goes.
            <ul id="reports-queued" class="cards" aria-live="polite" aria-label=move || t("reports.queued")>
                {move || waiting.get().into_iter().map(|it| {
                    let report = match &it.action {
                        OutboxAction::FileReport(r) => Some(r.clone()),
                        _ => None,
                    };
                    let failed = it.is_failed();
                    let saved = chrono::DateTime::from_timestamp_millis(it.created_at);
                    let saved = move || saved.as_ref().map(stamp).unwrap_or_default();
                    let kind = report.as_ref().map(|r| r.kind);
                    let urgency = report.as_ref().map(|r| r.urgency_level);
                    let state = it.state;
                    let state_label = move || waiting_label(state);
                    view! {
                        <li class=format!("report card queued state-{}", it.state.as_str()) data-client=it.client_id.clone()>
                            <div class="row">
                                <span class="case-number">{move || t("reports.not_sent_yet")}</span>
                                <span class=format!("status status-{}", it.state.as_str())>{state_label}</span>
                            </div>
                            <div class="kind">{move || kind.map(i18n::incident_type).unwrap_or_else(|| t("reports.a_report"))}</div>
                            <div class="meta">{move || t("reports.saved")} {saved}
                                {move || urgency.map(|u| format!(" · {}", i18n::urgency(u)))}</div>
                            {if failed {
                                view! {
                                    <p class="reason">{move || t("reports.rejected")}
                                        {it.last_error.clone().unwrap_or_default()}</p>
                                    <div class="card-actions">
                                        <button class="primary-sm" on:click=move |_| ctx.go(Screen::Outbox)>
                                            {move || t("reports.open_outbox")}
                                        </button>
                                    </div>
                                }.into_any()
                            } else {
                                view! {
                                    <p class="hint">{move || t("reports.automatic")}</p>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || match reports.get().map(|l| {
                let only = filter.get();
                l.into_iter().filter(|r| only.is_none_or(|s| r.status == s)).collect::<Vec<_>>()
            }) {
                // Offline with nothing loaded yet: the banner says why, and nothing is loading.
                None if error.with(Option::is_some) => ().into_any(),
                None => view! { <p class="loading">{move || t("reports.loading")}</p> }.into_any(),
                Some(list) if list.is_empty() && filter.with(Option::is_some) => view! {
                    <p id="reports-none-here" class="hint">{move || t("reports.none_with_status")}</p>
                }.into_any(),
                Some(list) if list.is_empty() && waiting.with(Vec::is_empty) => view! {
                    <p id="reports-empty" class="hint">{move || t("reports.empty")}</p>
                }.into_any(),
                Some(list) if list.is_empty() => ().into_any(),
                Some(list) => view! {
                    <ul id="reports-list" class="cards">
                        {list.into_iter().map(|r| {
                            let (status, kind, urgency) = (r.status, r.kind, r.urgency_level);
                            let filed = r.date_submitted;
                            let helpers = r.helpers.clone();
                            let helpers = move || {
                                helpers
                                    .iter()
                                    .map(|h| {
                                        let what = h.provider_type.map(i18n::provider_type);
                                        let what = what.map(str::to_owned).or_else(|| h.provider_type_display.clone());
                                        format!("{} ({})", h.name, what.unwrap_or_default())
                                    })
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            };
                            view! {
                            <li class="report card" data-id=r.id.to_string()>
                                <div class="row">
                                    <span class="case-number">{r.case_number.clone()}</span>
                                    <span class=format!("status status-{}", r.status.as_str())>{move || i18n::incident_status(status)}</span>
                                </div>
                                <div class="kind">{move || i18n::incident_type(kind)}</div>
                                {(!r.helpers.is_empty()).then(|| view! {
                                    <div class="helpers">{move || t("reports.helping")} {helpers}</div>
                                })}
                                <div class="meta">{move || t("reports.filed")} {move || stamp(&filed)}
                                    " · " {move || i18n::urgency(urgency)}</div>
                                {(!r.helpers.is_empty()).then(|| room_of(&r.id.to_string())).flatten().map(|room| view! {
                                    <div class="card-actions">
                                        <button class="open-chat primary-sm" on:click=move |_| ctx.open_room(room.clone())>
                                            {move || t("reports.open_chat")}
                                        </button>
                                    </div>
                                })}
                                <Timeline incident=r.id.to_string() open=open/>
                                <Sending incident=r.id/>
                                {(!matches!(status, IncidentStatus::Completed | IncidentStatus::Closed)).then(|| view! {
                                    <ChangeReport report=r.clone()/>
                                })}
                            </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}

/// Edit what the server lets her change while the case is open (what happened, the help she
/// asks for), or withdraw the report after a confirmation. Both go through the outbox.
#[component]
fn ChangeReport(report: Incident) -> impl IntoView {
    let ctx = ctx();
    let incident = report.id;
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let description = RwSignal::new(report.description.clone());
    let services = RwSignal::new(report.support_services.clone());
    let error = RwSignal::new(None::<String>);
    let edit = ipc::action::<cmd::EditReport>();
    let withdraw = ipc::action::<cmd::WithdrawReport>();
    Effect::new(move |_| match edit.value().get() {
        Some(Ok(_)) => editing.set(false),
        Some(Err(e)) => {
            let field = e.fields.values().flatten().next().cloned();
            let msg = ctx.fail(e);
            error.set(Some(field.unwrap_or(msg)));
        }
        None => {}
    });
    Effect::new(move |_| match withdraw.value().get() {
        Some(Ok(_)) => confirming.set(false),
        Some(Err(e)) => error.set(Some(ctx.fail(e))),
        None => {}
    });
    let save = move |_| {
        let text = description.get_untracked().trim().to_owned();
        if text.is_empty() {
            error.set(Some(t("reports.description_needed").into()));
            return;
        }
        error.set(None);
        edit.dispatch(EditReportArgs {
            incident,
            patch: IncidentPatch {
                description: Some(text),
                support_services: Some(services.get_untracked()),
                provider_preferences: None,
            },
        });
    };
    let desc_id = StoredValue::new(format!("edit-description-{incident}"));
    view! {
        {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
        <div class="card-actions">
            <button class="edit-report secondary-sm" aria-expanded=move || editing.get().to_string()
                on:click=move |_| { editing.update(|e| *e = !*e); confirming.set(false); }>
                {move || t("reports.edit")}
            </button>
            <button class="withdraw-report secondary-sm" aria-expanded=move || confirming.get().to_string()
                on:click=move |_| { confirming.update(|c| *c = !*c); editing.set(false); }>
                {move || t("reports.withdraw")}
            </button>
        </div>
        <Show when=move || editing.get()>
            <div class="edit-panel">
                <label for=desc_id.get_value()>{move || t("reports.edit_description")}</label>
                <textarea id=desc_id.get_value() class="edit-description" rows="4"
                    prop:value=move || description.get()
                    on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                <fieldset class="edit-services">
                    <legend>{move || t("case.help_asked")}</legend>
                    {SupportService::ALL.iter().map(|s| {
                        let s = *s;
                        view! {
                            <label class="check">
                                <input type="checkbox" data-service=s.as_str()
                                    prop:checked=move || services.with(|l| l.contains(&s))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        services.update(|l| {
                                            l.retain(|x| *x != s);
                                            if on { l.push(s); }
                                        });
                                    }/>
                                " " {move || i18n::support_service(s)}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button class="save-report primary-sm" on:click=save>{move || t("reports.save")}</button>
            </div>
        </Show>
        <Show when=move || confirming.get()>
            <div class="withdraw-panel" role="alertdialog" aria-label=move || t("reports.withdraw")>
                <p>{move || t("reports.withdraw_confirm")}</p>
                <button class="confirm-withdraw danger-sm"
                    on:click=move |_| { withdraw.dispatch(IncidentArgs { incident }); }>
                    {move || t("reports.withdraw_yes")}
                </button>
                <button class="cancel-withdraw secondary-sm" on:click=move |_| confirming.set(false)>
                    {move || t("reports.withdraw_no")}
                </button>
            </div>
        </Show>
    }
}
