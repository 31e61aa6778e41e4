//! The five-step report wizard: what happened; when, where and how; the help wanted; urgency and
//! contact; review, evidence (files and a voice note) and send. Each step is checked with the
//! same rules the server applies; the files with the core's limits.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use kintara_api::app::{cmd, Filed, NoArgs, UiErrorKind};
use kintara_api::{
    CommunicationMethod, EvidenceKind, IncidentCreate, IncidentStatus, IncidentType, Location,
    ProviderPreferences, Severity, SupportService, UrgencyLevel, MAX_EVIDENCE_BYTES,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

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

/// `file_report`'s body: the report and its files laid out by `kintara_api::upload`, sent raw.
fn report_body(
    report: &IncidentCreate,
    files: &[Picked],
) -> Result<js_sys::Uint8Array, ipc::UiError> {
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|f| (f.name.as_str(), f.bytes.as_slice()))
        .collect();
    let body = kintara_api::upload::encode(report, &files)
        .map_err(|_| ipc::UiError::other(t("evidence.unreadable_any")))?;
    Ok(js_sys::Uint8Array::from(&body[..]))
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
    let evidence = EvidenceState::new();

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
        let files = evidence.files.get_untracked();
        spawn_local(async move {
            // The report is stored on the device before anything goes on the wire, its files
            // with it; the answer says whether the server already has the report.
            let filed = match report_body(&report, &files) {
                Ok(body) => ipc::invoke_raw::<cmd::FileReport>(body).await,
                Err(e) => Err(e),
            };
            match filed {
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
                Err(e) if e.kind == UiErrorKind::LoggedOut => ctx.signed_out(Some(e.message)),
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
                _ => step_review(draft, errors, evidence).into_any(),
            }}
            <ErrorBanner id="wizard-error" message=error/>
            <div class="wizard-nav">
                <Show when=move || !on_last()>
                    <button id="wizard-next" class="primary" on:click=next>{move || t("wizard.next")}</button>
                </Show>
                <Show when=on_last>
                    <button id="wizard-submit" class="primary" on:click=submit
                        disabled=move || busy.get() || evidence.recording.get() != Rec::Idle>
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

fn step_review(
    draft: RwSignal<Draft>,
    errors: Signal<Errors>,
    evidence: EvidenceState,
) -> impl IntoView {
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
        <EvidencePart state=evidence/>
        <label class="check">
            <input id="anonymous" type="checkbox"
                prop:checked=move || draft.with(|d| d.anonymous)
                on:change=move |ev| draft.update(|d| d.anonymous = event_target_checked(&ev)) />
            {move || t("wizard.anonymous")}
        </label>
        <p class="hint">{move || t("wizard.privacy")}</p>
    }
}

/// A file added to the report in the wizard, or a voice note, held until the report is sent.
#[derive(Clone)]
struct Picked {
    /// Unique within this wizard, for removing it.
    id: u32,
    name: String,
    bytes: Arc<Vec<u8>>,
}

/// Where the voice recorder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rec {
    Idle,
    /// Asking for the microphone.
    Starting,
    Recording,
    /// Stopped; the recording is being read into the list.
    Saving,
}

/// A recording under way: what must be stopped when it ends.
struct Session {
    recorder: web_sys::MediaRecorder,
    stream: web_sys::MediaStream,
    ticker: Option<IntervalHandle>,
}

impl Session {
    /// Stops the recorder (its `stop` event then saves the note) and frees the microphone.
    fn end(self) {
        if let Some(t) = self.ticker {
            t.clear();
        }
        // Refused (and ignored) when the recorder has already stopped by itself.
        let _ = self.recorder.stop();
        release(&self.stream);
    }
}

/// Turns the microphone off (the OS shows it as in use until every track stops).
fn release(stream: &web_sys::MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// The wizard's evidence: kept across its steps, sent with the report.
#[derive(Clone, Copy)]
struct EvidenceState {
    files: RwSignal<Vec<Picked>>,
    /// The core's limit on files per report (`evidence_limits`), once the shell has answered;
    /// `file_report` applies it again in any case.
    max_files: RwSignal<Option<usize>>,
    /// Problems with the last files added, shown until the next addition.
    problems: RwSignal<Vec<String>>,
    recording: RwSignal<Rec>,
    elapsed: RwSignal<u32>,
    /// What the recorder last said (announced: `aria-live`).
    status: RwSignal<Option<String>>,
    session: StoredValue<Option<Session>, LocalStorage>,
    next_id: StoredValue<u32>,
    voice_notes: StoredValue<u32>,
}

impl EvidenceState {
    fn new() -> Self {
        let state = EvidenceState {
            files: RwSignal::new(Vec::new()),
            max_files: RwSignal::new(None),
            problems: RwSignal::new(Vec::new()),
            recording: RwSignal::new(Rec::Idle),
            elapsed: RwSignal::new(0),
            status: RwSignal::new(None),
            session: StoredValue::new_local(None),
            next_id: StoredValue::new(0),
            voice_notes: StoredValue::new(0),
        };
        spawn_local(async move {
            if let Ok(l) = ipc::invoke::<cmd::EvidenceLimits>(&NoArgs {}).await {
                let _ = state.max_files.try_set(Some(l.max_files));
            }
        });
        // Leaving the wizard mid-recording frees the microphone.
        on_cleanup(move || state.stop());
        state
    }

    /// How many more files fit. The `try_` reads: a recording can end after the survivor has
    /// left the wizard (Quick exit), when its signals are gone.
    fn room_left(&self) -> usize {
        let max = self.max_files.try_get_untracked().flatten();
        let have = self.files.try_with_untracked(Vec::len).unwrap_or(0);
        max.unwrap_or(usize::MAX).saturating_sub(have)
    }

    /// Adds `bytes` as `name`, or says why not (the core's checks, in the survivor's language).
    fn add(&self, name: String, bytes: Vec<u8>) -> Result<(), String> {
        check_size(&name, bytes.len() as u64, None)?;
        if self.room_left() == 0 {
            return Err(too_many(self.max_files.try_get_untracked().flatten()));
        }
        let id = self.next_id.try_update_value(|n| {
            *n += 1;
            *n
        });
        let picked = Picked {
            id: id.unwrap_or_default(),
            name,
            bytes: Arc::new(bytes),
        };
        self.files.try_update(|f| f.push(picked));
        Ok(())
    }

    /// Reads the chosen files, each checked before it is read.
    async fn add_files(self, chosen: Vec<web_sys::File>) {
        let mut problems = Vec::new();
        for file in chosen {
            let name = file.name();
            let size = file.size() as u64;
            if let Err(p) = check_size(&name, size, kind_of(&file.type_())) {
                problems.push(p);
                continue;
            }
            if self.room_left() == 0 {
                problems.push(too_many(self.max_files.try_get_untracked().flatten()));
                break;
            }
            match read_blob(&file).await {
                Some(bytes) => {
                    if let Err(p) = self.add(name, bytes) {
                        problems.push(p);
                    }
                }
                None => problems.push(tf("evidence.unreadable", &[("name", &name)])),
            }
        }
        self.problems.try_set(problems);
    }

    fn remove(&self, id: u32) {
        self.files.update(|f| f.retain(|p| p.id != id));
        self.problems.set(Vec::new());
    }

    /// Starts a recording, or says plainly why it cannot.
    async fn start(self) {
        self.recording.set(Rec::Starting);
        self.status.set(None);
        let opened = open_recorder(self).await;
        // The survivor left the wizard while the microphone was being asked for: free it.
        if self.recording.try_get_untracked().is_none() {
            if let Ok(session) = opened {
                session.end();
            }
            return;
        }
        match opened {
            Ok(session) => {
                let started = js_sys::Date::now();
                self.elapsed.set(0);
                let elapsed = self.elapsed;
                let ticker = set_interval_with_handle(
                    move || {
                        let secs = ((js_sys::Date::now() - started) / 1000.0) as u32;
                        let _ = elapsed.try_set(secs);
                    },
                    Duration::from_millis(250),
                )
                .ok();
                self.session.set_value(Some(Session { ticker, ..session }));
                self.recording.set(Rec::Recording);
                self.status.set(Some(t("evidence.recording").into()));
            }
            Err(why) => {
                self.recording.set(Rec::Idle);
                self.status.set(Some(why));
            }
        }
    }

    /// Ends a recording; its `stop` event adds the note to the list.
    fn stop(&self) {
        let session = self.session.try_update_value(Option::take).flatten();
        if let Some(s) = session {
            let _ = self.recording.try_set(Rec::Saving);
            s.end();
        }
    }

    /// The recorder's `stop` event: the note joins the list.
    async fn recorded(self, chunks: Vec<web_sys::Blob>, mime: String) {
        // The wizard is gone (the report was sent, or the survivor left): nothing to add to.
        if self.files.try_with_untracked(|_| ()).is_none() {
            return;
        }
        let parts = js_sys::Array::new();
        for c in &chunks {
            parts.push(c);
        }
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(&mime);
        let bytes = match web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options) {
            Ok(blob) => read_blob(&blob).await,
            Err(_) => None,
        };
        let n = self
            .voice_notes
            .try_update_value(|n| {
                *n += 1;
                *n
            })
            .unwrap_or(1);
        let name = format!("voice-note-{n}.{}", extension(&mime));
        let said = match bytes.filter(|b| !b.is_empty()) {
            None => t("evidence.record_failed").to_owned(),
            Some(bytes) => match self.add(name, bytes) {
                Ok(()) => t("evidence.recorded").to_owned(),
                Err(p) => p,
            },
        };
        let _ = self.status.try_set(Some(said));
        let _ = self.recording.try_set(Rec::Idle);
    }
}

/// The size checks, in the survivor's language: the core's (`kintara_core::Attachment::new`)
/// and, when the file's type says what it is, the server's limit for that kind, so a photo over
/// 10 MB is refused here rather than failing later in the outbox. (The server decides the kind
/// from the content; the declared type is only a good guess.)
fn check_size(name: &str, size: u64, kind: Option<EvidenceKind>) -> Result<(), String> {
    if size == 0 {
        return Err(tf("evidence.empty", &[("name", name)]));
    }
    let max = kind.map_or(MAX_EVIDENCE_BYTES, EvidenceKind::max_bytes);
    if size > max {
        return Err(tf(
            "evidence.too_large",
            &[
                ("name", name),
                ("size", &size.div_ceil(MIB).to_string()),
                ("max", &(max / MIB).to_string()),
            ],
        ));
    }
    Ok(())
}

/// What a file's declared media type says it is, as the server will class it.
fn kind_of(mime: &str) -> Option<EvidenceKind> {
    let top = mime.split('/').next().unwrap_or_default();
    match top {
        "image" => Some(EvidenceKind::Image),
        "audio" => Some(EvidenceKind::Audio),
        "application" | "text" => Some(EvidenceKind::Document),
        _ => None,
    }
}

/// The types the server stores (`evidence::sniff`), for the file chooser's filter.
const ACCEPTED: &str = "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,\
audio/*,.amr,.opus,application/pdf,.docx,.odt";

fn too_many(max: Option<usize>) -> String {
    tf(
        "evidence.too_many",
        &[("max", &max.map(|m| m.to_string()).unwrap_or_default())],
    )
}

const MIB: u64 = 1024 * 1024;

/// A size as the list shows it.
fn size_label(bytes: u64) -> String {
    if bytes < MIB {
        tf(
            "evidence.kb",
            &[("n", &bytes.div_ceil(1024).max(1).to_string())],
        )
    } else {
        let tenths = (bytes * 10).div_ceil(MIB);
        tf(
            "evidence.mb",
            &[("n", &format!("{}.{}", tenths / 10, tenths % 10))],
        )
    }
}

/// The file name's extension for what the recorder wrote.
fn extension(mime: &str) -> &'static str {
    let mime = mime.to_ascii_lowercase();
    if mime.contains("ogg") {
        "ogg"
    } else if mime.contains("mp4") || mime.contains("aac") || mime.contains("m4a") {
        "m4a"
    } else if mime.contains("wav") {
        "wav"
    } else {
        "webm"
    }
}

/// A file's or a recording's bytes, or `None` when the web view cannot read them.
async fn read_blob(blob: &web_sys::Blob) -> Option<Vec<u8>> {
    let buffer = JsFuture::from(blob.array_buffer()).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// What the recorder is asked to write, best first: WebM/Opus and Ogg are what browsers'
/// recorders write; MP4/AAC is WebKit's. The server accepts each of them as a recording.
const RECORDING_TYPES: &[&str] = &[
    "audio/webm;codecs=opus",
    "audio/webm",
    "audio/ogg;codecs=opus",
    "audio/ogg",
    "audio/mp4",
];

/// Whether this web view can record: `MediaRecorder` exists and can write one of
/// `RECORDING_TYPES`. WebKitGTK has the class even where GStreamer lacks the encoders it needs
/// (its `start()` then fails), so the record button is hidden unless a type is supported.
fn can_record() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("MediaRecorder")).unwrap_or(false)
        && RECORDING_TYPES
            .iter()
            .any(|m| web_sys::MediaRecorder::is_type_supported(m))
}

/// Asks for the microphone and starts a recorder on it.
async fn open_recorder(state: EvidenceState) -> Result<Session, String> {
    let no_mic = || t("evidence.no_mic").to_owned();
    let navigator = web_sys::window().ok_or_else(no_mic)?.navigator();
    let has_devices = js_sys::Reflect::get(&navigator, &JsValue::from_str("mediaDevices"))
        .map(|d| !d.is_undefined() && !d.is_null())
        .unwrap_or(false);
    if !has_devices {
        return Err(no_mic());
    }
    let devices = navigator.media_devices().map_err(|_| no_mic())?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_audio(&JsValue::TRUE);
    let asked = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|_| no_mic())?;
    let stream: web_sys::MediaStream = JsFuture::from(asked)
        .await
        .map_err(|_| t("evidence.denied").to_owned())?
        .unchecked_into();
    let options = web_sys::MediaRecorderOptions::new();
    if let Some(mime) = RECORDING_TYPES
        .iter()
        .find(|m| web_sys::MediaRecorder::is_type_supported(m))
    {
        options.set_mime_type(mime);
    }
    let recorder =
        web_sys::MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &options)
            .or_else(|_| web_sys::MediaRecorder::new_with_media_stream(&stream));
    let recorder = match recorder {
        Ok(r) => r,
        Err(_) => {
            release(&stream);
            return Err(t("evidence.record_failed").into());
        }
    };
    let chunks = Rc::new(RefCell::new(Vec::<web_sys::Blob>::new()));
    let on_data = {
        let chunks = chunks.clone();
        Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |e: web_sys::BlobEvent| {
            if let Some(b) = e.data().filter(|b| b.size() > 0.0) {
                chunks.borrow_mut().push(b);
            }
        })
    };
    recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
    // Runs once, after the last `dataavailable`; it frees the data handler with it.
    let on_stop = {
        let recorder = recorder.clone();
        let stream = stream.clone();
        Closure::once_into_js(move |_: web_sys::Event| {
            recorder.set_ondataavailable(None);
            drop(on_data);
            release(&stream);
            let mime = recorder.mime_type();
            let chunks = chunks.take();
            let mime = match chunks.first() {
                Some(c) if mime.is_empty() => c.type_(),
                _ => mime,
            };
            spawn_local(state.recorded(chunks, mime));
        })
    };
    recorder.set_onstop(Some(on_stop.unchecked_ref()));
    if recorder.start().is_err() {
        release(&stream);
        return Err(t("evidence.record_failed").into());
    }
    Ok(Session {
        recorder,
        stream,
        ticker: None,
    })
}

/// The evidence part of the last step: files from the device, a voice note, the list.
#[component]
fn EvidencePart(state: EvidenceState) -> impl IntoView {
    let recordable = can_record();
    let on_files = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let chosen: Vec<web_sys::File> = input
            .files()
            .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
            .unwrap_or_default();
        // Cleared, so choosing the same file again (after removing it) is seen as a change.
        input.set_value("");
        state.problems.set(Vec::new());
        spawn_local(state.add_files(chosen));
    };
    let on_record = move |_| match state.recording.get_untracked() {
        Rec::Idle => spawn_local(state.start()),
        Rec::Recording => state.stop(),
        Rec::Starting | Rec::Saving => {}
    };
    // Switching to another step ends a recording (and keeps it).
    on_cleanup(move || state.stop());
    let hint = move || {
        let mb = |k: EvidenceKind| (k.max_bytes() / MIB).to_string();
        let sizes = [
            ("image", mb(EvidenceKind::Image)),
            ("audio", mb(EvidenceKind::Audio)),
            ("doc", mb(EvidenceKind::Document)),
        ];
        let sizes = sizes.iter().map(|(k, v)| (*k, v.as_str()));
        match state.max_files.get() {
            Some(max) => {
                let max = max.to_string();
                let args: Vec<_> = sizes.chain([("max", max.as_str())]).collect();
                tf("evidence.hint", &args)
            }
            None => tf("evidence.hint_size", &sizes.collect::<Vec<_>>()),
        }
    };
    view! {
        <section id="evidence" class="evidence" aria-labelledby="evidence-title">
            <h2 id="evidence-title">{move || t("evidence.title")}</h2>
            <p id="evidence-hint" class="hint">{hint}</p>
            <label for="evidence-input" class="file-pick">{move || t("evidence.add")}</label>
            <input id="evidence-input" type="file" multiple accept=ACCEPTED
                aria-describedby="evidence-hint" on:change=on_files />
            <Show when=move || recordable>
                <div class="recorder">
                    <button id="record-voice" type="button"
                        class=move || if state.recording.get() == Rec::Recording { "danger" } else { "secondary" }
                        aria-pressed=move || (state.recording.get() == Rec::Recording).to_string()
                        aria-describedby="record-status"
                        disabled=move || matches!(state.recording.get(), Rec::Starting | Rec::Saving)
                        on:click=on_record>
                        {move || if state.recording.get() == Rec::Recording {
                            t("evidence.stop")
                        } else {
                            t("evidence.record")
                        }}
                    </button>
                    <Show when=move || state.recording.get() == Rec::Recording>
                        <span id="record-elapsed" role="timer">
                            {move || tf("evidence.seconds", &[("n", &state.elapsed.get().to_string())])}
                        </span>
                    </Show>
                </div>
            </Show>
            <p id="record-status" class="hint" role="status" aria-live="polite">
                {move || state.status.get().unwrap_or_default()}
            </p>
            {move || {
                let p = state.problems.get();
                (!p.is_empty()).then(|| view! {
                    <ul id="evidence-error" class="field-error" role="alert">
                        {p.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                    </ul>
                })
            }}
            <ul id="evidence-list" class="evidence-list" aria-label=move || t("evidence.list")>
                <For each=move || state.files.get() key=|f| f.id let:file>
                    {
                        let id = file.id;
                        let name = file.name.clone();
                        let size = file.bytes.len() as u64;
                        let label = name.clone();
                        view! {
                            <li class="evidence-item" data-id=id.to_string()>
                                <span class="evidence-name">{name}</span>
                                <span class="evidence-size">{move || size_label(size)}</span>
                                <button type="button" class="link evidence-remove"
                                    aria-label=move || tf("evidence.remove_named", &[("name", &label)])
                                    on:click=move |_| state.remove(id)>
                                    {move || t("evidence.remove")}
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || state.files.with(Vec::is_empty)>
                <p id="evidence-none" class="hint">{move || t("evidence.none")}</p>
            </Show>
        </section>
    }
}
