//! Form helpers: field error messages next to their inputs.

use std::collections::BTreeMap;

use leptos::prelude::*;

pub type Errors = BTreeMap<String, Vec<String>>;

/// The shared rules' field errors, worded in the current language (`kintara-i18n`).
pub fn worded(errors: kintara_api::FieldErrors) -> Errors {
    errors
        .0
        .into_iter()
        .map(|(field, list)| (field, list.iter().map(crate::i18n::field_error).collect()))
        .collect()
}

/// The messages for `field` (and its nested fields, e.g. `location.address` under `location`).
pub fn messages(errors: &Errors, field: &str) -> Vec<String> {
    errors
        .iter()
        .filter(|(k, _)| *k == field || k.starts_with(&format!("{field}.")))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect()
}

#[component]
pub fn FieldError(#[prop(into)] errors: Signal<Errors>, field: &'static str) -> impl IntoView {
    move || {
        let msgs = messages(&errors.get(), field);
        (!msgs.is_empty()).then(|| {
            view! { <p class="field-error" data-field=field role="alert">{msgs.join(" ")}</p> }
        })
    }
}

/// A form-level error banner.
#[component]
pub fn ErrorBanner(id: &'static str, message: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <div id=id class="error-banner" role="alert">{m}</div> })
    }
}
