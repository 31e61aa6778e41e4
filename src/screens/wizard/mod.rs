//! The five-step report wizard: what happened; when, where and how; the help wanted; urgency and
//! contact; review, evidence (files and a voice note) and send. Each step is checked with the
//! same rules the server applies; the files with the core's limits.
//!
//! Its parts: `draft` (the inputs and their checks: pure, tested natively), `steps` (the first
//! four steps' forms and the review), `evidence` (files and the list), `recording` (the voice
//! note); this module runs the steps and sends the report.

mod draft;
mod evidence;
mod recording;
mod steps;

pub(crate) use steps::contact_label;

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

use draft::*;
use evidence::*;
use recording::*;
use steps::*;

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

/// A problem in the current language.
fn word(p: &Problem) -> String {
    match p {
        Problem::Key(key) => t(key).to_owned(),
        Problem::Field(e) => i18n::field_error(e),
    }
}

#[component]
pub fn ReportWizard() -> impl IntoView {
    let ctx = ctx();
    let step = RwSignal::new(1usize);
    let draft = RwSignal::new(Draft::on(today()));
    // Once the survivor tries to move on, the step's errors follow every edit, so a fixed field
    // stops being marked at once.
    let attempted = RwSignal::new(false);
    let server_errors = RwSignal::new(Errors::new());
    let errors = Signal::derive(move || {
        // The server's are worded by the shell already; the draft's are worded here.
        let mut shown = server_errors.get();
        if attempted.get() {
            for (k, v) in errors_for_step(&draft.get(), step.get(), today()) {
                shown.entry(k).or_default().extend(v.iter().map(word));
            }
        }
        shown
    });
    let error = RwSignal::new(None::<String>);
    let evidence = EvidenceState::new();
    // The report is stored on the device before anything goes on the wire, its files with it;
    // the answer says whether the server already has the report.
    let file = Action::new_local(|(report, files): &(IncidentCreate, Vec<Picked>)| {
        let body = report_body(report, files);
        async move { ipc::invoke_raw::<cmd::FileReport>(body?).await }
    });
    let busy = file.pending();
    Effect::new(move |_| match file.value().get() {
        Some(Ok(Filed::Sent { incident })) => {
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
        Some(Ok(Filed::Queued)) => {
            ctx.notice.set(Some(t("wizard.saved").into()));
            ctx.go(Screen::Reports);
        }
        Some(Err(e)) if e.kind == UiErrorKind::LoggedOut => ctx.signed_out(Some(e.message)),
        Some(Err(e)) => {
            server_errors.set(e.fields.clone());
            error.set(Some(e.message));
        }
        None => {}
    });

    let next = move |_| {
        let current = step.get_untracked();
        if errors_for_step(&draft.get_untracked(), current, today()).is_empty() {
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
        let report = match draft.get_untracked().to_request(today()) {
            Ok(r) => r,
            Err(_) => {
                attempted.set(true);
                error.set(Some(t("wizard.fix").into()));
                return;
            }
        };
        error.set(None);
        file.dispatch((report, evidence.files.get_untracked()));
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
