//! Quick exit: at once replaces the whole app with a plain "Notes" page that says nothing about
//! Kintara. Pressing Escape three times quickly does the same. Coming back takes a deliberate tap
//! on the small "Back" link. With "wipe on exit" on (Safety), the exit also signs her out and
//! wipes the device behind the decoy: her session, outbox, cache, emergency contacts and device
//! key all go, so coming back shows only the sign-in screen.

use std::cell::RefCell;

use leptos::prelude::*;

/// Three presses of Escape within this many milliseconds trigger the exit.
const ESCAPE_WINDOW_MS: f64 = 1500.0;

thread_local! {
    static HIDDEN: ArcRwSignal<bool> = ArcRwSignal::new(false);
    /// The app's context, for the wipe: an exit can come from a key press outside any view.
    static CTX: RefCell<Option<crate::app::Ctx>> = const { RefCell::new(None) };
    static PRESSES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Whether the decoy is showing (tracked).
pub fn hidden() -> bool {
    HIDDEN.with(|h| h.get())
}

/// Whether quick exit also wipes the device, under a neutral name in the web view's storage
/// (a switch, no data).
const WIPE_KEY: &str = "notes.clear";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn wipe_on_exit() -> bool {
    storage()
        .and_then(|s| s.get_item(WIPE_KEY).ok().flatten())
        .is_some_and(|v| v == "1")
}

pub fn set_wipe_on_exit(on: bool) {
    if let Some(s) = storage() {
        let _ = if on {
            s.set_item(WIPE_KEY, "1")
        } else {
            s.remove_item(WIPE_KEY)
        };
    }
}

/// Hides the app behind the decoy (and, when chosen, signs out and wipes the device behind it).
pub fn exit_now() {
    HIDDEN.with(|h| h.set(true));
    if wipe_on_exit() {
        if let Some(ctx) = CTX.with(|c| *c.borrow()) {
            crate::screens::home::sign_out_quietly(ctx);
        }
    }
}

/// Back from the decoy.
pub fn come_back() {
    HIDDEN.with(|h| h.set(false));
}

/// Listens for Escape pressed three times quickly, for the whole life of the app; `ctx` is what a
/// wipe on exit signs out.
pub fn listen_for_escape(ctx: crate::app::Ctx) {
    CTX.with(|c| *c.borrow_mut() = Some(ctx));
    let handle = window_event_listener(leptos::ev::keydown, |e| {
        if e.key() != "Escape" {
            return;
        }
        let now = js_sys::Date::now();
        let trigger = PRESSES.with(|p| {
            let mut p = p.borrow_mut();
            p.retain(|t| now - t < ESCAPE_WINDOW_MS);
            p.push(now);
            if p.len() >= 3 {
                p.clear();
                true
            } else {
                false
            }
        });
        if trigger {
            exit_now();
        }
    });
    // The listener lives as long as the page.
    std::mem::forget(handle);
}

/// The "Quick exit" button for the frame.
#[component]
pub fn QuickExitButton() -> impl IntoView {
    view! {
        <button id="quick-exit" class="quick-exit" type="button" on:click=move |_| exit_now()>
            {move || crate::i18n::t("frame.quick_exit")}
        </button>
    }
}

/// The neutral page shown instead of the app.
#[component]
pub fn Decoy() -> impl IntoView {
    view! {
        <section id="decoy" class="decoy">
            <h1>"Notes"</h1>
            <ul class="decoy-list">
                <li>"Buy milk, bread, tomatoes"</li>
                <li>"Pay water bill on Friday"</li>
                <li>"Call Mama on Sunday"</li>
            </ul>
            <textarea class="decoy-text" placeholder="Write a note…" rows="8"></textarea>
            <a id="decoy-back" class="decoy-back" href="#" on:click=move |e| {
                e.prevent_default();
                come_back();
            }>"Back"</a>
        </section>
    }
}
