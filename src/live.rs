//! Live updates: Tauri events from the core (`sync-state`, `kintara-event`, `outbox`) turned
//! into signals. Screens refetch their data when `Ctx::tick` changes.

use kintara_api::Event;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
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

/// One outbox item, as `kintara_core::local::OutboxItem` serialises it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: i64,
    pub client_id: String,
    pub lane: String,
    /// `{action: "send_message" | ..., data: {...}}`.
    pub action: serde_json::Value,
    /// "queued" | "sending" | "failed".
    pub state: String,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_attempt_at: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub created_at: i64,
}

impl OutboxItem {
    pub fn kind(&self) -> &str {
        self.action["action"].as_str().unwrap_or("")
    }

    pub fn data_str(&self, key: &str) -> Option<String> {
        self.action["data"][key].as_str().map(String::from)
    }

    /// The case this item acts on, if any.
    pub fn incident(&self) -> Option<String> {
        self.data_str("incident")
    }
}

fn payload(ev: &JsValue) -> JsValue {
    js_sys::Reflect::get(ev, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL)
}

/// Starts listening (once, for the life of the window).
pub fn start(ctx: Ctx) {
    if !ipc::in_app() {
        return;
    }
    spawn_local(async move {
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            if let Some(s) = payload(&ev).as_string() {
                ctx.sync.set(s);
            }
        });
        let _ = listen("sync-state", &on_state).await;
        on_state.forget();

        let on_event = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let event = serde_wasm_bindgen::from_value::<Event>(payload(&ev)).ok();
            match &event {
                // Typing and presence change no screen's data: no refetch for them.
                Some(Event::Typing(t)) => return presence::on_typing(ctx, t),
                Some(Event::Presence(p)) => return presence::on_presence(ctx, p),
                Some(Event::Notification(_)) => refresh_unread(ctx),
                _ => {}
            }
            ctx.tick.update(|t| *t += 1);
        });
        let _ = listen("kintara-event", &on_event).await;
        on_event.forget();

        let on_outbox = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            if let Ok(list) = serde_wasm_bindgen::from_value::<Vec<OutboxItem>>(payload(&ev)) {
                ctx.outbox.set(list);
            }
        });
        let _ = listen("outbox", &on_outbox).await;
        on_outbox.forget();
    });
}

/// Fetches what the header shows: sync state, outbox and unread count.
pub fn refresh_all(ctx: Ctx) {
    spawn_local(async move {
        if let Ok(s) = ipc::call::<_, String>("sync_state", &NoArgs {}).await {
            ctx.sync.set(s);
        }
        if let Ok(list) = ipc::call::<_, Vec<OutboxItem>>("outbox_items", &NoArgs {}).await {
            ctx.outbox.set(list);
        }
    });
    refresh_unread(ctx);
    presence::refresh_online(ctx);
}

pub fn refresh_unread(ctx: Ctx) {
    spawn_local(async move {
        if let Ok(n) = ipc::call::<_, i64>("unread_count", &NoArgs {}).await {
            ctx.unread.set(n);
        }
    });
}
