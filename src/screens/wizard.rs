//! The five-step report wizard: what happened; when, where and how; the help wanted; urgency and
//! contact; review and send. Each step is checked with the same rules the server applies.

use chrono::{NaiveDate, NaiveTime};
use kintara_api::{
    CommunicationMethod, Incident, IncidentCreate, IncidentStatus, IncidentType, Location,
    ProviderPreferences, Severity, SupportService, UrgencyLevel,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::app::{ctx, Screen};
use crate::fields::{messages, ErrorBanner, Errors, FieldError};
use crate::i18n::{self, t, tf};
use crate::ipc;

const STEPS: usize = 5;

/// The wizard's inputs, as typed.
#[derive(Clone, Debug)]
struct Draft {
    kind: Option<IncidentType>,
    date: String,
    time: String,
    address: String,
    place: String,
    description: String,
    services: Vec<SupportService>,
    urgency: UrgencyLevel,
    contact: CommunicationMethod,
    anonymous: bool,
}

fn today() -> NaiveDate {
    let d = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
        .unwrap_or_default()
}

impl Draft {
    fn new() -> Self {
        Draft {
            kind: None,
            date: today().format("%Y-%m-%d").to_string(),
            time: String::new(),
            address: String::new(),
            place: String::new(),
            description: String::new(),
            services: Vec::new(),
            urgency: UrgencyLevel::Routine,
            contact: CommunicationMethod::SecureMessage,
            anonymous: false,
        }
    }

    /// The request this draft makes, or the field errors that stop it.
    fn to_request(&self) -> Result<IncidentCreate, Errors> {
        let mut errors = Errors::new();
        let mut add = |f: &str, m: &str| errors.entry(f.to_owned()).or_default().push(m.to_owned());
        if self.kind.is_none() {
            add("type", t("wizard.need_type"));
        }
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d");
        if date.is_err() {
            add("incident_date", t("wizard.need_date"));
        }
        let time = match self.time.trim() {
            "" => None,
            typed => match NaiveTime::parse_from_str(typed, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(typed, "%H:%M:%S"))
            {
                Ok(time) => Some(time),
                Err(_) => {
                    add("incident_time", t("wizard.need_time"));
                    None
                }
            },
        };
        let request = IncidentCreate {
            kind: self.kind.unwrap_or(IncidentType::Physical),
            incident_date: date.unwrap_or_else(|_| today()),
            incident_time: time,
            description: self.description.clone(),
            location: Location {
                address: self.address.trim().to_owned(),
                coordinates: None,
                description: Some(self.place.trim().to_owned()).filter(|s| !s.is_empty()),
            },
            severity: Severity::Medium,
            urgency_level: self.urgency,
            support_services: self.services.clone(),
            provider_preferences: Some(ProviderPreferences {
                communication_method: Some(self.contact),
                ..Default::default()
            }),
            is_anonymous: self.anonymous,
            // The outbox gives the report its client id when it stores it; the server files
            // each client id once, however often the outbox has to try.
            client_id: None,
        };
        if let Err(e) = request.validate_at(today()) {
            for (k, v) in e.0 {
                errors.entry(k).or_default().extend(v);
            }
        }
        if errors.is_empty() {
            Ok(request)
        } else {
            Err(errors)
        }
    }
}

/// The fields each step owns, for showing its errors before moving on.
fn step_fields(step: usize) -> &'static [&'static str] {
    match step {
        1 => &["type"],
        2 => &["incident_date", "incident_time", "description", "location"],
        3 => &["support_services"],
        _ => &[],
    }
}

/// The draft's errors that belong to `step` (every error on the review step).
fn errors_for_step(draft: &Draft, step: usize) -> Errors {
    let Err(all) = draft.to_request() else {
        return Errors::new();
    };
    if step >= STEPS {
        return all;
    }
    all.into_iter()
        .filter(|(k, _)| {
            step_fields(step)
                .iter()
                .any(|f| k == f || k.starts_with(&format!("{f}.")))
        })
        .collect()
}

#[derive(Serialize)]
struct ReportArgs {
    report: IncidentCreate,
}

/// What `file_report` answers (`src-tauri/src/commands.rs`, `Filed`).
#[derive(Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Filed {
    /// The server has it.
    Sent { incident: Incident },
    /// Kept on this device; the app sends it by itself when the server can be reached.
    Queued,
}

/// The messages of the shared validation (`kintara-api`, also the server's), by the keys whose
/// English is their wording.
const VALIDATION: &[&str] = &[
    "valid.required",
    "valid.max_len",
    "valid.future",
    "valid.real_date",
    "valid.address",
    "valid.services",
    "valid.services_once",
];

/// Field errors in the current language: the wizard's own are already in it; those of the
/// shared validation are in English and read back through their keys.
fn in_lang(errors: Errors) -> Errors {
    errors
        .into_iter()
        .map(|(k, v)| {
            let v = v.iter().map(|m| i18n::server_text(m, VALIDATION)).collect();
            (k, v)
        })
        .collect()
}

/// The words for a way to be contacted.
fn contact_label(c: CommunicationMethod) -> &'static str {
    match c {
        CommunicationMethod::Sms => t("contact.sms"),
        CommunicationMethod::Call => t("contact.call"),
        CommunicationMethod::SecureMessage => t("contact.secure_message"),
    }
}

#[component]
pub fn ReportWizard() -> impl IntoView {
    let ctx = ctx();
    let step = RwSignal::new(1usize);
    let draft = RwSignal::new(Draft::new());
    // Once the survivor tries to move on, the step's errors follow every edit, so a fixed field
    // stops being marked at once.
    let attempted = RwSignal::new(false);
    let server_errors = RwSignal::new(Errors::new());
    let errors = Signal::derive(move || {
        let mut shown = server_errors.get();
        if attempted.get() {
            for (k, v) in errors_for_step(&draft.get(), step.get()) {
                shown.entry(k).or_default().extend(v);
            }
        }
        in_lang(shown)
    });
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let next = move |_| {
        let current = step.get_untracked();
        if errors_for_step(&draft.get_untracked(), current).is_empty() {
            attempted.set(false);
            step.set((current + 1).min(STEPS));
        } else {
            attempted.set(true);
        }
    };
    let on_last = move || step.get() == STEPS;
    let back = move |_| {
        attempted.set(false);
        match step.get_untracked() {
            1 => ctx.go(Screen::Home),
            n => step.set(n - 1),
        }
    };
    let submit = move |_| {
        let report = match draft.get_untracked().to_request() {
            Ok(r) => r,
            Err(_) => {
                attempted.set(true);
                error.set(Some(t("wizard.fix").into()));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            // The report is stored on the device before anything goes on the wire; the answer
            // says whether the server already has it.
            match ipc::call::<_, Filed>("file_report", &ReportArgs { report }).await {
                Ok(Filed::Sent { incident }) => {
                    let next = if incident.status == IncidentStatus::Assigned {
                        t("wizard.rescue")
                    } else {
                        t("wizard.dispatcher")
                    };
                    ctx.notice.set(Some(tf(
                        "wizard.sent",
                        &[("num", &incident.case_number), ("next", next)],
                    )));
                    ctx.go(Screen::Reports);
                }
                // "My reports" shows it as waiting, and as the real case once it is sent.
                Ok(Filed::Queued) => {
                    ctx.notice.set(Some(t("wizard.saved").into()));
                    ctx.go(Screen::Reports);
                }
                Err(e) if e.kind == "logged_out" => ctx.signed_out(Some(e.message)),
                Err(e) => {
                    server_errors.set(e.fields.clone());
                    error.set(Some(e.message));
                }
            }
            busy.set(false);
        });
    };

    view! {
        <section class="screen">
            <header class="top">
                <button id="wizard-back" class="link" on:click=back>{move || t("wizard.back")}</button>
                <h1>{move || t("wizard.title")}</h1>
            </header>
            <div class="progress" aria-hidden="true">
                <div class="bar" style=move || format!("width: {}%", step.get() * 100 / STEPS)></div>
            </div>
            <p id="wizard-step" class="hint">{move || {
                tf("wizard.step", &[("n", &step.get().to_string()), ("total", &STEPS.to_string())])
            }}</p>
            {move || match step.get() {
                1 => step_type(draft, errors).into_any(),
                2 => step_details(draft, errors).into_any(),
                3 => step_services(draft, errors).into_any(),
                4 => step_urgency(draft).into_any(),
                _ => step_review(draft, errors).into_any(),
            }}
            <ErrorBanner id="wizard-error" message=error/>
            <div class="wizard-nav">
                <Show when=move || !on_last()>
                    <button id="wizard-next" class="primary" on:click=next>{move || t("wizard.next")}</button>
                </Show>
                <Show when=on_last>
                    <button id="wizard-submit" class="primary" on:click=submit disabled=move || busy.get()>
                        {move || if busy.get() { t("wizard.sending") } else { t("wizard.send") }}
                    </button>
                </Show>
            </div>
        </section>
    }
}

fn step_type(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{move || t("wizard.what_q")}</legend>
            {IncidentType::ALL.iter().map(|&k| view! {
                <label class="choice">
                    <input type="radio" name="type" id=format!("type-{}", k.as_str())
                        prop:checked=move || draft.with(|d| d.kind == Some(k))
                        on:change=move |_| draft.update(|d| d.kind = Some(k)) />
                    {move || i18n::incident_type(k)}
                </label>
            }).collect_view()}
        </fieldset>
        <FieldError errors=errors field="type"/>
    }
}

fn step_details(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    view! {
        <label for="incident-date">{move || t("wizard.date")}</label>
        <input id="incident-date" type="date"
            prop:value=move || draft.with(|d| d.date.clone())
            on:input=move |ev| draft.update(|d| d.date = event_target_value(&ev)) />
        <FieldError errors=errors field="incident_date"/>
        <label for="incident-time">{move || t("wizard.time")}</label>
        <input id="incident-time" type="time"
            prop:value=move || draft.with(|d| d.time.clone())
            on:input=move |ev| draft.update(|d| d.time = event_target_value(&ev)) />
        <FieldError errors=errors field="incident_time"/>
        <label for="location-address">{move || t("wizard.where")}</label>
        <input id="location-address" type="text" placeholder=move || t("wizard.where_hint")
            prop:value=move || draft.with(|d| d.address.clone())
            on:input=move |ev| draft.update(|d| d.address = event_target_value(&ev)) />
        <FieldError errors=errors field="location"/>
        <label for="location-description">{move || t("wizard.place")}</label>
        <input id="location-description" type="text"
            prop:value=move || draft.with(|d| d.place.clone())
            on:input=move |ev| draft.update(|d| d.place = event_target_value(&ev)) />
        <label for="description">{move || t("wizard.description")}</label>
        <textarea id="description" rows="6"
            prop:value=move || draft.with(|d| d.description.clone())
            on:input=move |ev| draft.update(|d| d.description = event_target_value(&ev))></textarea>
        <FieldError errors=errors field="description"/>
    }
}

fn step_services(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{move || t("wizard.help_q")}</legend>
            {SupportService::ALL.iter().map(|&s| view! {
                <label class="choice">
                    <input type="checkbox" id=format!("service-{}", s.as_str())
                        prop:checked=move || draft.with(|d| d.services.contains(&s))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            draft.update(|d| {
                                d.services.retain(|x| *x != s);
                                if on { d.services.push(s); }
                            });
                        } />
                    {move || i18n::support_service(s)}
                </label>
            }).collect_view()}
        </fieldset>
        <FieldError errors=errors field="support_services"/>
    }
}

fn urgency_hint(u: UrgencyLevel) -> &'static str {
    match u {
        UrgencyLevel::Immediate => t("wizard.immediate"),
        UrgencyLevel::Urgent => t("wizard.urgent"),
        UrgencyLevel::Routine => t("wizard.routine"),
    }
}

fn step_urgency(draft: RwSignal<Draft>) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{move || t("wizard.urgency_q")}</legend>
            {[UrgencyLevel::Immediate, UrgencyLevel::Urgent, UrgencyLevel::Routine].into_iter().map(|u| view! {
                <label class="choice">
                    <input type="radio" name="urgency" id=format!("urgency-{}", u.as_str())
                        prop:checked=move || draft.with(|d| d.urgency == u)
                        on:change=move |_| draft.update(|d| d.urgency = u) />
                    <strong>{move || i18n::urgency(u)}</strong> " — " {move || urgency_hint(u)}
                </label>
            }).collect_view()}
        </fieldset>
        <fieldset class="choices">
            <legend>{move || t("wizard.contact_q")}</legend>
            {CommunicationMethod::ALL.iter().map(|&c| view! {
                <label class="choice">
                    <input type="radio" name="contact" id=format!("contact-{}", c.as_str())
                        prop:checked=move || draft.with(|d| d.contact == c)
                        on:change=move |_| draft.update(|d| d.contact = c) />
                    {move || contact_label(c)}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

fn step_review(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    let d = draft.get_untracked();
    let services = d.services.clone();
    let services = move || {
        services
            .iter()
            .map(|&s| i18n::support_service(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (kind, urgency, contact) = (d.kind, d.urgency, d.contact);
    let problems = move || {
        let all = errors.get();
        let fields = [
            "type",
            "incident_date",
            "description",
            "location",
            "support_services",
        ];
        fields
            .iter()
            .flat_map(|f| messages(&all, f))
            .collect::<Vec<_>>()
    };
    view! {
        <dl id="review" class="review">
            <dt>{move || t("wizard.r_what")}</dt>
            <dd>{move || kind.map(i18n::incident_type).unwrap_or("—")}</dd>
            <dt>{move || t("wizard.r_when")}</dt><dd>{d.date.clone()} " " {d.time.clone()}</dd>
            <dt>{move || t("wizard.r_where")}</dt><dd>{d.address.clone()}</dd>
            <dt>{move || t("wizard.r_help")}</dt><dd>{services}</dd>
            <dt>{move || t("wizard.r_urgency")}</dt><dd>{move || i18n::urgency(urgency)}</dd>
            <dt>{move || t("wizard.r_contact")}</dt><dd>{move || contact_label(contact)}</dd>
        </dl>
        {move || {
            let p = problems();
            (!p.is_empty()).then(|| view! { <p class="field-error" role="alert">{p.join(" ")}</p> })
        }}
        <label class="check">
            <input id="anonymous" type="checkbox"
                prop:checked=move || draft.with(|d| d.anonymous)
                on:change=move |ev| draft.update(|d| d.anonymous = event_target_checked(&ev)) />
            {move || t("wizard.anonymous")}
        </label>
        <p class="hint">{move || t("wizard.privacy")}</p>
    }
}
