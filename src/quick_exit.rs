//! Quick exit: at once replaces the whole app with a plain "Notes" page that says nothing about
//! Kintara. Pressing Escape three times quickly does the same. Coming back takes a deliberate tap
//! on the small "Back" link. Client-side only: nothing is sent anywhere.

use std::cell::RefCell;

use leptos::prelude::*;

/// Three presses of Escape within this many milliseconds trigger the exit.
const ESCAPE_WINDOW_MS: f64 = 1500.0;

thread_local! {
    static HIDDEN: ArcRwSignal<bool> = ArcRwSignal::new(false);
    static PRESSES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Whether the decoy is showing (tracked).
pub fn hidden() -> bool {
    HIDDEN.with(|h| h.get())
}

/// Hides the app behind the decoy.
pub fn exit_now() {
    HIDDEN.with(|h| h.set(true));
}

/// Back from the decoy.
pub fn come_back() {
    HIDDEN.with(|h| h.set(false));
}

/// Listens for Escape pressed three times quickly, for the whole life of the app.
pub fn listen_for_escape() {
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
