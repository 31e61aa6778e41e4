//! What goes on in an open room besides its messages: who is typing, the caller's own typing
//! state (throttled), the heartbeat that tells the server the room is being read, presence dots.

use std::time::Duration;

use chrono::Utc;
use kintara_api::app::{cmd, HeartbeatArgs, TypingArgs};
use kintara_api::{ChatParticipant, READING_SECONDS};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::{t, tf};
use crate::ipc;

/// "Typing" is sent at most this often while keys come.
const TYPING_EVERY_MS: f64 = 3000.0;

/// Sends the caller's typing state for one room: "typing" at most every 3 s while keys come,
/// "stopped" once on send or blur. (The server drops it for people who do not share typing.)
#[derive(Clone, Copy)]
pub struct TypingSender {
    room: StoredValue<String>,
    last: StoredValue<Option<f64>>,
}

impl TypingSender {
    pub fn new(room: String) -> Self {
        TypingSender {
            room: StoredValue::new(room),
            last: StoredValue::new(None),
        }
    }

    pub fn typed(&self) {
        let now = js_sys::Date::now();
        if self
            .last
            .get_value()
            .is_some_and(|t| now - t < TYPING_EVERY_MS)
        {
            return;
        }
        self.last.set_value(Some(now));
        self.send(true);
    }

    pub fn stopped(&self) {
        if self.last.get_value().is_some() {
            self.last.set_value(None);
            self.send(false);
        }
    }

    fn send(&self, is_typing: bool) {
        let args = TypingArgs {
            room: ipc::id(&self.room.get_value()),
            is_typing,
        };
        spawn_local(async move {
            let _ = ipc::invoke::<cmd::Typing>(&args).await;
        });
    }
}

fn beat(room: Option<String>) {
    let room = room.as_deref().map(ipc::id);
    spawn_local(async move {
        let _ = ipc::invoke::<cmd::Heartbeat>(&HeartbeatArgs { room }).await;
    });
}

/// How often an open room says it is still being read: well inside the server's
/// `READING_SECONDS`, so a message arriving in a room she is looking at never adds a feed entry
/// or a push (the app's presence beat, every 2 minutes, is far too slow for that).
const READING_EVERY: Duration = Duration::from_secs((READING_SECONDS as u64) * 2 / 3);

/// Opening a room beats at once, naming it, so the server counts the caller reading it (no
/// notification for messages read there), and again every `READING_EVERY` while the window is
/// in use; leaving beats without a room.
pub fn keep_reading(room: String) {
    beat(Some(room.clone()));
    let ctx = ctx();
    let again = move || {
        if crate::presence::in_use(ctx) {
            beat(Some(room.clone()));
        }
    };
    if let Ok(handle) = set_interval_with_handle(again, READING_EVERY) {
        on_cleanup(move || handle.clear());
    }
    on_cleanup(move || beat(None));
}

/// "Amina is typing…" for the others typing in `room`; empty when nobody is.
#[component]
pub fn TypingLine(room: String, participants: Signal<Vec<ChatParticipant>>) -> impl IntoView {
    let ctx = ctx();
    let me = ctx.me();
    // Typing expires by itself: look again every second.
    let now = RwSignal::new(Utc::now());
    if let Ok(handle) =
        set_interval_with_handle(move || now.set(Utc::now()), Duration::from_secs(1))
    {
        on_cleanup(move || handle.clear());
    }
    let text = move || {
        let now = now.get();
        let people = participants.get();
        let names: Vec<String> = ctx.typing.with(|typists| {
            typists
                .iter()
                .filter(|x| x.room == room && x.user != me && x.until > now)
                .map(|x| {
                    people
                        .iter()
                        .find(|p| p.id.to_string() == x.user)
                        .map(|p| p.full_name.clone())
                        .unwrap_or_else(|| t("chat.someone").into())
                })
                .collect()
        });
        match names.as_slice() {
            [] => String::new(),
            [one] => tf("chat.typing_one", &[("name", one)]),
            many => tf("chat.typing_many", &[("names", &many.join(", "))]),
        }
    };
    view! { <p id="typing" class="typing" aria-live="polite">{text}</p> }
}

/// A dot that is green while `user` is online (only people who share their presence are).
#[component]
pub fn PresenceDot(user: String) -> impl IntoView {
    let ctx = ctx();
    let id = user.clone();
    let online = Memo::new(move |_| ctx.online.with(|o| o.contains(&id)));
    view! {
        <span class=move || if online.get() { "presence online" } else { "presence" } data-user=user
            role="img" aria-label=move || if online.get() { t("chat.online") } else { t("chat.offline") }></span>
    }
}

/// Whether anyone in `participants` but the caller is online.
pub fn anyone_online(participants: &[ChatParticipant], me: &str, online: &[String]) -> bool {
    participants
        .iter()
        .map(|p| p.id.to_string())
        .any(|id| id != me && online.contains(&id))
}
