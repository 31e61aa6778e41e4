//! The survivor's safety screen: who to call, emergency contacts kept on this device only, what
//! she shares in chat, and a short safety note.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::t;
use crate::screens::settings::PrivacySwitches;

/// A neutral name, so the device's storage does not say what the app is.
const CONTACTS_KEY: &str = "notes.people";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: String,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn load() -> Vec<Contact> {
    storage()
        .and_then(|s| s.get_item(CONTACTS_KEY).ok().flatten())
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default()
}

fn store(contacts: &[Contact]) {
    if let (Some(s), Ok(v)) = (storage(), serde_json::to_string(contacts)) {
        let _ = s.set_item(CONTACTS_KEY, &v);
    }
}

/// Keeps only what a phone number can hold.
fn tel(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

#[component]
fn Contacts() -> impl IntoView {
    let contacts = RwSignal::new(load());
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let error = RwSignal::new(false);
    let add = move || {
        let (n, p) = (name.get_untracked(), phone.get_untracked());
        let (n, p) = (n.trim().to_string(), p.trim().to_string());
        if n.is_empty() || tel(&p).is_empty() {
            error.set(true);
            return;
        }
        error.set(false);
        contacts.update(|c| c.push(Contact { name: n, phone: p }));
        store(&contacts.get_untracked());
        name.set(String::new());
        phone.set(String::new());
    };
    let remove = move |i: usize| {
        contacts.update(|c| {
            if i < c.len() {
                c.remove(i);
            }
        });
        store(&contacts.get_untracked());
    };
    view! {
        <div class="card">
            <h2>{move || t("safety.contacts")}</h2>
            <p class="hint">{move || t("safety.contacts_hint")}</p>
            <ul id="contacts" class="contacts">
                {move || contacts.get().into_iter().enumerate().map(|(i, c)| {
                    let href = format!("tel:{}", tel(&c.phone));
                    view! {
                        <li class="contact">
                            <a href=href><span class="contact-name">{c.name}</span>" "<span class="contact-phone">{c.phone}</span></a>
                            <button type="button" class="contact-remove link" on:click=move |_| remove(i)>
                                {move || t("safety.remove")}
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="hint" hidden=move || !contacts.with(Vec::is_empty)>{move || t("safety.no_contacts")}</p>
            <form class="contact-form" on:submit=move |e| { e.prevent_default(); add(); }>
                <input id="contact-name" type="text" autocomplete="off"
                    placeholder=move || t("safety.name") aria-label=move || t("safety.name")
                    prop:value=name on:input=move |e| name.set(event_target_value(&e))/>
                <input id="contact-phone" type="tel" autocomplete="off"
                    placeholder=move || t("safety.phone") aria-label=move || t("safety.phone")
                    prop:value=phone on:input=move |e| phone.set(event_target_value(&e))/>
                <button id="contact-add" type="submit" class="secondary">{move || t("safety.add")}</button>
            </form>
            <p class="field-error" hidden=move || !error.get()>{move || t("safety.need_both")}</p>
        </div>
    }
}

#[component]
pub fn Safety() -> impl IntoView {
    view! {
        <section id="safety" class="screen">
            <header class="top"><h1>{move || t("safety.title")}</h1></header>
            <div class="card help">
                <h2>{move || t("safety.call_title")}</h2>
                <p><a id="call-hotline" class="call" href="tel:1195">"1195"</a>" — "{move || t("safety.hotline")}</p>
                <p><a id="call-police" class="call" href="tel:999">"999"</a>" — "{move || t("safety.police")}</p>
            </div>
            <Contacts/>
            <PrivacySwitches/>
            <div class="card">
                <h2>{move || t("safety.note_title")}</h2>
                <p id="safety-note">{move || t("safety.note")}</p>
            </div>
        </section>
    }
}
