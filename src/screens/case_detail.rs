//! A case as staff read it: what happened, when, where, the help asked for, how to reach her,
//! the assignments and the evidence, behind a toggle on the case's card so every action stays
//! next to it. What a reader gets is the server's decision (`Incident::disclosure`): an offered
//! provider sees enough to decide, and is told what comes once they accept.

use std::collections::HashSet;

use kintara_api::app::{cmd, IdArgs, IncidentArgs, MapArgs, OpenEvidenceArgs};
use kintara_api::{
    AssignmentStatus, CaseView, Disclosure, Evidence, EvidenceKind, PreferredGender, Role, Severity,
};
use leptos::prelude::*;

use crate::app::ctx;
use crate::i18n::{self, t};
use crate::ipc;
use crate::screens::chat::{join_case_room, open_direct};

/// Opens the details of the case `ctx.case` names (a feed entry or an OS notification asked for
/// it) and brings its card into view once it is drawn.
pub fn follow_focus(open: RwSignal<HashSet<String>>) {
    let ctx = ctx();
    Effect::new(move |_| {
        let Some(id) = ctx.case.get() else {
            return;
        };
        open.update(|o| {
            o.insert(id.clone());
        });
        ctx.case.set(None);
        // The card may come with the next load: look for it for a few seconds.
        leptos::task::spawn_local(async move {
            for _ in 0..50 {
                let card = web_sys::window().and_then(|w| w.document()).and_then(|d| {
                    d.query_selector(&format!(".case-card[data-incident='{id}']"))
                        .ok()
                        .flatten()
                });
                if let Some(card) = card {
                    card.scroll_into_view();
                    return;
                }
                sleep_ms(100).await;
            }
        });
    });
}

/// Waits `ms` milliseconds (the browser's timer).
pub(crate) async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The case's details behind a "Case details" toggle. `open` holds the cases whose details are
/// open, kept by the list so a live refresh does not close them.
#[component]
pub fn CaseDetail(case: CaseView, open: RwSignal<HashSet<String>>) -> impl IntoView {
    let id = case.incident.id.to_string();
    let key = id.clone();
    let is_open = Memo::new(move |_| open.with(|o| o.contains(&key)));
    let toggle = move |_| {
        open.update(|o| {
            if !o.remove(&id) {
                o.insert(id.clone());
            }
        })
    };
    let label = move || {
        if is_open.get() {
            t("case.hide_details")
        } else {
            t("case.details")
        }
    };
    let case = StoredValue::new(case);
    view! {
        <button class="show-details link" aria-expanded=move || is_open.get().to_string() on:click=toggle>
            {label}
        </button>
        {move || is_open.get().then(|| view! { <Details case=case.get_value()/> })}
    }
}

#[component]
fn Details(case: CaseView) -> impl IntoView {
    let i = case.incident.clone();
    let offer = i.disclosure == Disclosure::Offer;
    let (urgency, severity, kind) = (i.urgency_level, i.severity, i.kind);
    let date = i.incident_date;
    let time = i.incident_time;
    let services = i.support_services.clone();
    let prefs = i.provider_preferences.clone().unwrap_or_default();
    let coordinates = i.location.coordinates;
    let name = case.survivor_name.clone();
    let assignments = case.assigned_providers.clone();
    let dash = || "—";
    let ctx = ctx();
    let me = ctx.me();
    let staff = ctx.user.with_untracked(|u| {
        u.as_ref()
            .is_some_and(|u| matches!(u.role, Role::Dispatcher | Role::Admin))
    });
    let error = RwSignal::new(None::<String>);
    // Whom the caller may write to from here (the server decides again): dispatchers any
    // provider on the case; a provider who took the case, colleagues on it and the dispatcher
    // who assigned them.
    let may_write = !offer;
    let my_dispatcher = (!staff)
        .then(|| {
            case.assigned_providers
                .iter()
                .find(|a| a.provider_id.to_string() == me)
                .and_then(|a| a.assigned_by)
        })
        .flatten();
    let incident_id = i.id;
    let room_open = case
        .assigned_providers
        .iter()
        .any(|a| a.status == AssignmentStatus::Accepted);
    view! {
        <section class="case-detail" aria-label=move || t("case.details")>
            {offer.then(|| view! { <p class="withheld" role="note">{move || t("case.offer_note")}</p> })}
            <dl class="detail-list">
                <dt>{move || t("case.what")}</dt>
                <dd class="detail-kind">
                    {move || i18n::incident_type(kind)} " · " {move || severity_label(severity)}
                    " · " <span class=format!("urgency urgency-{}", urgency.as_str())>{move || i18n::urgency(urgency)}</span>
                </dd>
                {(!offer).then(|| view! {
                    <dt>{move || t("case.description")}</dt>
                    <dd class="detail-description">{i.description.clone()}</dd>
                })}
                <dt>{move || t("case.when")}</dt>
                <dd class="detail-when">
                    {date.to_string()}
                    {time.map(|t| format!(" {}", t.format("%H:%M")))}
                </dd>
                {(!offer).then(|| view! {
                    <dt>{move || t("case.address")}</dt>
                    <dd class="detail-address">{if i.location.address.is_empty() { dash().to_owned() } else { i.location.address.clone() }}</dd>
                    <dt>{move || t("case.place")}</dt>
                    <dd class="detail-place">{i.location.description.clone().unwrap_or_else(|| dash().to_owned())}</dd>
                })}
                <dt>{move || if offer { t("case.area") } else { t("case.coordinates") }}</dt>
                <dd class="detail-coordinates">
                    {match coordinates {
                        Some(c) => view! {
                            <span>{format!("{:.5}, {:.5}", c.latitude, c.longitude)}</span>
                            " " <MapLink latitude=c.latitude longitude=c.longitude/>
                        }.into_any(),
                        None => view! { <span>{dash()}</span> }.into_any(),
                    }}
                </dd>
                <dt>{move || t("case.help_asked")}</dt>
                <dd class="detail-services">
                    {move || services.iter().map(|s| i18n::support_service(*s)).collect::<Vec<_>>().join(", ")}
                </dd>
                <dt>{move || t("case.contact")}</dt>
                <dd class="detail-contact">
                    {move || match (offer, prefs.communication_method) {
                        (true, _) => t("case.after_accept").to_owned(),
                        (false, Some(m)) => crate::screens::wizard::contact_label(m).to_owned(),
                        (false, None) => dash().to_owned(),
                    }}
                    {prefs.preferred_gender.filter(|g| *g != PreferredGender::NoPreference).map(|g| view! {
                        " · " <span class="detail-gender">{move || gender_label(g)}</span>
                    })}
                </dd>
                <dt>{move || t("case.survivor")}</dt>
                <dd class="detail-survivor">
                    {move || if name.is_empty() { t("case.after_accept").to_owned() } else { name.clone() }}
                </dd>
            </dl>
            <h3>{move || t("case.assignments")}</h3>
            {if assignments.is_empty() {
                view! { <p class="hint">{move || t("case.no_assignments")}</p> }.into_any()
            } else {
                view! {
                    <ul class="detail-assignments">
                        {assignments.into_iter().map(|a| {
                            let status = a.status;
                            let who = a.provider_id;
                            let writable = may_write && who.to_string() != me
                                && matches!(status, AssignmentStatus::Pending | AssignmentStatus::Accepted);
                            view! {
                                <li class="detail-assignment" data-status=status.as_str()>
                                    <span class="provider-name">{a.provider_name.clone()}</span>
                                    {writable.then(|| view! {
                                        " " <button class="message-person link" data-user=who.to_string()
                                            on:click=move |_| open_direct(ctx, who, error)>{move || t("case.message")}</button>
                                    })}
                                    " · " {move || i18n::assignment_status(status)}
                                    " · " <time>{move || i18n::day_time(&a.assigned_at)}</time>
                                    {(status == AssignmentStatus::Rejected).then_some(()).and(a.rejection_reason.clone()).map(|r| view! {
                                        <span class="decline-reason-shown">" · " {move || t("case.declined_because")} " " {r.clone()}</span>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(staff && room_open).then(|| view! {
                <button class="join-room secondary-sm" on:click=move |_| join_case_room(ctx, incident_id, error)>
                    {move || t("case.join_conversation")}
                </button>
            })}
            {my_dispatcher.map(|d| view! {
                <button class="message-dispatcher secondary-sm" data-user=d.to_string()
                    on:click=move |_| open_direct(ctx, d, error)>{move || t("case.message_dispatcher")}</button>
            })}
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <h3>{move || t("case.evidence")}</h3>
            {match i.disclosure {
                Disclosure::Full => view! { <EvidenceList incident=i.id/> }.into_any(),
                _ => view! { <p class="hint evidence-withheld">{move || t("case.evidence_after_accept")}</p> }.into_any(),
            }}
        </section>
    }
}

/// "Open in maps": the shell builds the address from the two numbers.
#[component]
fn MapLink(latitude: f64, longitude: f64) -> impl IntoView {
    let ctx = ctx();
    let error = RwSignal::new(None::<String>);
    let open = ipc::action::<cmd::OpenMap>();
    Effect::new(move |_| {
        if let Some(Err(e)) = open.value().get() {
            error.set(Some(ctx.fail(e)));
        }
    });
    view! {
        <button class="open-map link" on:click=move |_| { open.dispatch(MapArgs { latitude, longitude }); }>
            {move || t("case.open_map")}
        </button>
        {move || error.get().map(|e| view! { <span class="error-banner" role="alert">{e}</span> })}
    }
}

/// The case's evidence: photos shown, recordings playable, documents opened with the system's
/// viewer. Fetched through the shell when the details open, held in memory as object URLs that
/// are released after the details close. A recording's player loads nothing until played.
#[component]
fn EvidenceList(incident: uuid::Uuid) -> impl IntoView {
    let args = IncidentArgs { incident };
    let listed =
        LocalResource::new(move || async move { ipc::invoke::<cmd::CaseEvidence>(&args).await });
    view! {
        {move || match listed.get() {
            None => view! { <p class="loading">{move || t("reports.loading")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error-banner" role="alert">{e.message}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="hint evidence-none">{move || t("case.no_evidence")}</p> }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="evidence-list">
                    {list.into_iter().map(|e| view! { <EvidenceItem evidence=e/> }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}

#[component]
fn EvidenceItem(evidence: Evidence) -> impl IntoView {
    let ctx = ctx();
    let kind = evidence.kind;
    let name = evidence.file_name.clone();
    let caption = evidence.description.clone();
    let id = evidence.id;
    let content_type = evidence.content_type.clone();
    // Photos and recordings come into memory at once; documents only when opened.
    let url = LocalResource::new(move || {
        let content_type = content_type.clone();
        async move {
            if kind == EvidenceKind::Document {
                return None;
            }
            Some(object_url(id, &content_type).await)
        }
    });
    // Released once the element that used it is long gone: WebKit's media pipeline may still
    // be reading a recording's URL as its player is taken down.
    on_cleanup(move || {
        if let Some(Some(Some(Ok(u)))) = url.try_get_untracked() {
            leptos::prelude::set_timeout(
                move || {
                    let _ = web_sys::Url::revoke_object_url(&u);
                },
                std::time::Duration::from_secs(30),
            );
        }
    });
    let error = RwSignal::new(None::<String>);
    let open = ipc::action::<cmd::OpenEvidence>();
    Effect::new(move |_| {
        if let Some(Err(e)) = open.value().get() {
            error.set(Some(ctx.fail(e)));
        }
    });
    let doc_name = name.clone();
    view! {
        <li class="evidence-item" data-kind=kind.as_str() data-evidence=id.to_string()>
            <span class="evidence-name">{name.clone()}</span>
            {caption.map(|c| view! { <span class="evidence-caption">" · " {c}</span> })}
            // A box of fixed height whatever it holds (loading, the photo, the player), so the
            // buttons below do not move while files arrive.
            <div class=format!("evidence-media {}", kind.as_str())>
                {move || match (kind, url.get()) {
                    (EvidenceKind::Document, _) => {
                        let file_name = doc_name.clone();
                        view! {
                            <button class="open-document secondary-sm"
                                on:click=move |_| { open.dispatch(OpenEvidenceArgs { id, file_name: file_name.clone() }); }>
                                {move || t("case.open_document")}
                            </button>
                        }.into_any()
                    }
                    (_, None) | (_, Some(None)) => view! { <span class="loading">{move || t("reports.loading")}</span> }.into_any(),
                    (_, Some(Some(Err(e)))) => view! { <span class="error-banner" role="alert">{e}</span> }.into_any(),
                    (EvidenceKind::Image, Some(Some(Ok(src)))) => view! {
                        <img class="evidence-photo" src=src alt=name.clone()/>
                    }.into_any(),
                    (EvidenceKind::Audio, Some(Some(Ok(src)))) => view! {
                        <audio class="evidence-audio" controls=true preload="none" src=src></audio>
                    }.into_any(),
                }}
            </div>
            {move || error.get().map(|e| view! { <span class="error-banner" role="alert">{e}</span> })}
        </li>
    }
}

/// The file's bytes from the shell as an object URL of `content_type` (memory only).
async fn object_url(id: uuid::Uuid, content_type: &str) -> Result<String, String> {
    let bytes = ipc::invoke_bytes::<cmd::EvidenceFile>(&IdArgs { id })
        .await
        .map_err(|e| e.message)?;
    let parts = js_sys::Array::of1(&bytes);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(content_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| t("case.cannot_show").to_owned())?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| t("case.cannot_show").to_owned())
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Low => t("severity.low"),
        Severity::Medium => t("severity.medium"),
        Severity::High => t("severity.high"),
    }
}

fn gender_label(g: PreferredGender) -> &'static str {
    match g {
        PreferredGender::Male => t("case.prefers_man"),
        PreferredGender::Female => t("case.prefers_woman"),
        PreferredGender::NoPreference => "",
    }
}
