//! Dispatchers: the provider directory (availability and load) and reassigning a case to
//! another provider, chosen from the server's suggestions, with a reason.

use std::time::Duration;

use kintara_api::app::{cmd, IncidentArgs, ReassignArgs};
use kintara_api::{
    AssignmentStatus, CaseView, IncidentStatus, ProviderSuggestion, SuggestionReason,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::{self, t};
use crate::ipc::{self, NoArgs};
use crate::live::{self, Topic};
use crate::screens::chat::open_direct;

/// Availability changes raise no event: the directory also looks again this often.
const DIRECTORY_EVERY: Duration = Duration::from_secs(30);

#[component]
pub fn ProviderDirectory() -> impl IntoView {
    let ctx = ctx();
    let again = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(move || again.update(|n| *n += 1), DIRECTORY_EVERY)
    {
        on_cleanup(move || handle.clear());
    }
    let (list, error) = live::load(ctx, move || {
        // Loads and availability move with assignments.
        ctx.topics.track(Topic::Cases);
        again.track();
        async move { ipc::invoke::<cmd::DispatchProviders>(&NoArgs {}).await }
    });
    view! {
        <section class="pane directory" aria-labelledby="directory-title">
            <h2 id="directory-title">{move || t("directory.title")}</h2>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <ul id="directory" class="cards compact">
                // Keyed: a refresh redraws only the providers whose state changed, so a
                // button being pressed is not swapped for a copy under the finger.
                <For each=move || list.get().unwrap_or_default()
                    key=|p| format!("{}:{}:{}:{}", p.id, p.profile.is_currently_available, p.profile.current_case_load, p.profile.max_case_load)
                    let:p>
                {{
                    let prof = p.profile.clone();
                    let full = prof.current_case_load >= prof.max_case_load;
                    let ptype = p.provider_type;
                    let pid = p.id;
                    let (load, max) = (prof.current_case_load.to_string(), prof.max_case_load.to_string());
                    let (class, label) = match (prof.is_currently_available, full) {
                        (false, _) => ("availability-badge off", "directory.unavailable"),
                        (true, true) => ("availability-badge full", "directory.full"),
                        (true, false) => ("availability-badge on", "directory.available"),
                    };
                    view! {
                        <li class="provider card" data-provider=p.id.to_string()
                            data-available=prof.is_currently_available.to_string()>
                            <div class="row">
                                <span class="provider-name">{p.full_name.clone()}</span>
                                <span class=class>{move || t(label)}</span>
                            </div>
                            <div class="meta">
                                <span class="kind">{move || i18n::provider_type(ptype)}</span>
                                " · "
                                <span class="load">{move || i18n::tf("directory.load", &[("a", &load), ("b", &max)])}</span>
                            </div>
                            <button class="message-provider link" on:click=move |_| open_direct(ctx, pid, error)>
                                {move || t("case.message")}
                            </button>
                        </li>
                    }
                }}
                </For>
            </ul>
            {move || list.get().is_some_and(|l| l.is_empty()).then(|| view! {
                <p class="hint empty">{move || t("directory.empty")}</p>
            })}
        </section>
    }
}

/// Whether a case has a provider on it that a dispatcher could replace.
pub fn reassignable(c: &CaseView) -> bool {
    matches!(
        c.incident.status,
        IncidentStatus::Assigned | IncidentStatus::InProgress
    ) && c.assigned_providers.iter().any(|a| {
        matches!(
            a.status,
            AssignmentStatus::Pending | AssignmentStatus::Accepted
        )
    })
}

/// Inside a case card: "Reassign" → a provider from the suggestions → a reason → confirm.
#[component]
pub fn Reassign(case: CaseView, reload: RwSignal<u32>) -> impl IntoView {
    let ctx = ctx();
    let open = RwSignal::new(false);
    let suggestions = RwSignal::new(None::<Vec<ProviderSuggestion>>);
    let chosen = RwSignal::new(None::<(String, String)>);
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let incident = StoredValue::new(case.incident.id.to_string());
    let current: Vec<String> = case
        .assigned_providers
        .iter()
        .filter(|a| {
            matches!(
                a.status,
                AssignmentStatus::Pending | AssignmentStatus::Accepted
            )
        })
        .map(|a| a.provider_id.to_string())
        .collect();
    let current = StoredValue::new(current);
    let toggle = move |_| {
        let now = !open.get_untracked();
        open.set(now);
        chosen.set(None);
        error.set(None);
        if now {
            spawn_local(async move {
                let args = IncidentArgs {
                    incident: ipc::id(&incident.get_value()),
                };
                match ipc::invoke::<cmd::Recommendations>(&args).await {
                    Ok(l) => {
                        let skip = current.get_value();
                        let l = l
                            .into_iter()
                            .filter(|s| !skip.contains(&s.provider.id.to_string()))
                            .collect();
                        suggestions.set(Some(l));
                    }
                    Err(e) => error.set(Some(ctx.fail(e))),
                }
            });
        }
    };
    let reassign = ipc::action::<cmd::Reassign>();
    let busy = reassign.pending();
    Effect::new(move |_| match reassign.value().get() {
        Some(Ok(_)) => {
            open.set(false);
            reason.set(String::new());
            reload.update(|r| *r += 1);
        }
        Some(Err(e)) => {
            let field = e.fields.values().flatten().next().cloned();
            let msg = ctx.fail(e);
            error.set(Some(field.unwrap_or(msg)));
        }
        None => {}
    });
    let confirm = move |_| {
        let Some((provider, _)) = chosen.get_untracked() else {
            return;
        };
        let why = reason.get_untracked().trim().to_owned();
        if why.is_empty() {
            error.set(Some(t("reassign.reason_needed").into()));
            return;
        }
        error.set(None);
        reassign.dispatch(ReassignArgs {
            incident: ipc::id(&incident.get_value()),
            new_provider_id: ipc::id(&provider),
            reason: why,
        });
    };
    let reason_id = StoredValue::new(format!("reassign-reason-{}", case.incident.id));
    view! {
        <div class="card-actions">
            <button class="reassign secondary-sm" aria-expanded=move || open.get().to_string() on:click=toggle>
                {move || t("reassign.open")}
            </button>
        </div>
        <Show when=move || open.get()>
            <div class="reassign-panel">
                {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
                {move || match suggestions.get() {
                    None => view! { <p class="loading">{move || t("dispatch.loading")}</p> }.into_any(),
                    Some(l) if l.is_empty() => view! { <p class="hint">{move || t("reassign.no_fit")}</p> }.into_any(),
                    Some(l) => view! {
                        <ul class="suggestions">
                            {l.into_iter().map(|s| {
                                let pid = s.provider.id.to_string();
                                let pick = (pid.clone(), s.provider.full_name.clone());
                                let here = pid.clone();
                                let ptype = s.provider.provider_type;
                                let why = s.reasons.clone();
                                view! {
                                    <li class="suggestion" data-provider=pid>
                                        <div class="row">
                                            <span class="provider-name">{s.provider.full_name.clone()}</span>
                                            <span class="kind">{move || i18n::provider_type(ptype)}</span>
                                        </div>
                                        <div class="meta">{move || reasons_text(&why)}</div>
                                        <button class="choose-provider secondary-sm"
                                            aria-pressed=move || chosen.with(|c| c.as_ref().is_some_and(|(id, _)| *id == here)).to_string()
                                            on:click=move |_| chosen.set(Some(pick.clone()))>{move || t("reassign.choose")}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
                <Show when=move || chosen.get().is_some()>
                    <label for=reason_id.get_value()>
                        {move || i18n::tf("reassign.why", &[("name", &chosen.get().map(|c| c.1).unwrap_or_default())])}
                    </label>
                    <input id=reason_id.get_value() class="reassign-reason" type="text"
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))/>
                    <button class="confirm-reassign primary-sm" disabled=move || busy.get() on:click=confirm>
                        {move || t("reassign.confirm")}
                    </button>
                </Show>
            </div>
        </Show>
    }
}

/// Why the server suggests a provider, in the current language.
pub fn reasons_text(reasons: &[SuggestionReason]) -> String {
    reasons
        .iter()
        .map(|r| kintara_i18n::suggestion_reason(i18n::lang(), r))
        .collect::<Vec<_>>()
        .join(" · ")
}
