//! Live updates: the shell's events (`kintara_api::app::event`) turned into signals. Screens
//! refetch their data when `Ctx::tick` changes.

use kintara_api::app::{cmd, event, AppEvent};
use kintara_api::Event;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::app::Ctx;
use crate::ipc::{self, NoArgs};
use crate::presence;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], catch)]
    async fn listen(event: &str, handler: &Closure<dyn FnMut(JsValue)>)
        -> Result<JsValue, JsValue>;
}

/// Calls `handle` with the payload of every `E` the shell emits, for the life of the window.
async fn on<E: AppEvent>(mut handle: impl FnMut(E::Payload) + 'static) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let payload =
            js_sys::Reflect::get(&ev, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        // A payload this UI cannot read (a newer shell) changes nothing.
        if let Ok(p) = serde_wasm_bindgen::from_value::<E::Payload>(payload) {
            handle(p);
        }
    });
    let _ = listen(E::NAME, &closure).await;
    closure.forget();
}

/// Starts listening (once, for the life of the window).
pub fn start(ctx: Ctx) {
    if !ipc::in_app() {
        return;
    }
    spawn_local(async move {
        on::<event::SyncStateChanged>(move |s| ctx.sync.set(s)).await;
        on::<event::Received>(move |e| {
            match &e {
                // Typing and presence change no screen's data: no refetch for them.
                Event::Typing(t) => return presence::on_typing(ctx, t),
                Event::Presence(p) => return presence::on_presence(ctx, p),
                Event::Notification(_) => refresh_unread(ctx),
                _ => {}
            }
            ctx.tick.update(|t| *t += 1);
        })
        .await;
        on::<event::OutboxChanged>(move |list| ctx.outbox.set(list)).await;
    });
}

/// Fetches what the header shows: sync state, outbox and unread count.
pub fn refresh_all(ctx: Ctx) {
    spawn_local(async move {
        if let Ok(s) = ipc::invoke::<cmd::SyncState>(&NoArgs {}).await {
            ctx.sync.set(s);
        }
        if let Ok(list) = ipc::invoke::<cmd::OutboxItems>(&NoArgs {}).await {
            ctx.outbox.set(list);
        }
    });
    refresh_unread(ctx);
    presence::refresh_online(ctx);
}

pub fn refresh_unread(ctx: Ctx) {
    spawn_local(async move {
        if let Ok(n) = ipc::invoke::<cmd::UnreadCount>(&NoArgs {}).await {
            ctx.unread.set(n);
        }
    });
}
