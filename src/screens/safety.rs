//! The survivor's safety screen: who to call, emergency contacts kept on this device only (sealed
//! by the shell with the rest of her data, and wiped with it at sign-out), what she shares in
//! chat, and a short safety note.

use kintara_api::app::{cmd, ContactsArgs, EmergencyContact as Contact};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::t;
use crate::ipc::{self, NoArgs};
use crate::screens::settings::PrivacySwitches;

/// Where builds before the sealed store kept the contacts, in the web view's storage and in
/// clear: moved into the sealed store once, then removed.
const OLD_CONTACTS_KEY: &str = "notes.people";

fn old_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The contacts from the sealed store, after moving any left in the web view's storage there.
async fn load() -> Result<Vec<Contact>, ipc::UiError> {
    let mut contacts = ipc::invoke::<cmd::Contacts>(&NoArgs {}).await?;
    let old = old_storage().and_then(|s| s.get_item(OLD_CONTACTS_KEY).ok().flatten());
    if let Some(old) = old {
        let moved: Vec<Contact> = serde_json::from_str(&old).unwrap_or_default();
        for c in moved {
            if !contacts.contains(&c) {
                contacts.push(c);
            }
        }
        ipc::invoke::<cmd::SetContacts>(&ContactsArgs {
            contacts: contacts.clone(),
        })
        .await?;
        if let Some(s) = old_storage() {
            let _ = s.remove_item(OLD_CONTACTS_KEY);
        }
    }
    Ok(contacts)
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
    let ctx = ctx();
    let contacts: RwSignal<Vec<Contact>> = RwSignal::new(Vec::new());
    let failed = RwSignal::new(None::<String>);
    spawn_local(async move {
        match load().await {
            Ok(c) => contacts.set(c),
            Err(e) => failed.set(Some(ctx.fail(e))),
        }
    });
    // Sealed and stored by the shell; shown at once.
    let store = move |list: Vec<Contact>| {
        spawn_local(async move {
            let args = ContactsArgs { contacts: list };
            if let Err(e) = ipc::invoke::<cmd::SetContacts>(&args).await {
                failed.set(Some(ctx.fail(e)));
            }
        })
    };
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
        store(contacts.get_untracked());
        name.set(String::new());
        phone.set(String::new());
    };
    let remove = move |i: usize| {
        contacts.update(|c| {
            if i < c.len() {
                c.remove(i);
            }
        });
        store(contacts.get_untracked());
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
            {move || failed.get().map(|e| view! { <p id="contacts-error" class="field-error" role="alert">{e}</p> })}
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
            <WipeOnExit/>
            <PrivacySwitches/>
            <div class="card">
                <h2>{move || t("safety.note_title")}</h2>
                <p id="safety-note">{move || t("safety.note")}</p>
            </div>
        </section>
    }
}

/// Quick exit can also sign her out and wipe this device, for when someone may take the phone.
#[component]
fn WipeOnExit() -> impl IntoView {
    let on = RwSignal::new(crate::quick_exit::wipe_on_exit());
    view! {
        <div class="card">
            <label class="switch">
                <input id="wipe-on-exit" type="checkbox" prop:checked=on
                    on:change=move |e| {
                        let v = event_target_checked(&e);
                        crate::quick_exit::set_wipe_on_exit(v);
                        on.set(v);
                    }/>
                <span>{move || t("safety.wipe_on_exit")}</span>
            </label>
            <p class="hint">{move || t("safety.wipe_on_exit_hint")}</p>
        </div>
    }
}
