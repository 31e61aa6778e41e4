//! Typing and presence: who is typing in which room, and who is online. Fed by `typing` and
//! `presence` frames; neither makes the screens refetch their data.

use chrono::{DateTime, Duration, Utc};
use kintara_api::app::cmd;
use kintara_api::{PresenceEvent, TypingEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{Ctx, Screen};
use crate::ipc::{self, NoArgs};

/// Someone typing in a room, until `until` (by this device's clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Typist {
    pub room: String,
    pub user: String,
    pub until: DateTime<Utc>,
}

/// How long a "typing" lasts when the server's `until` cannot be trusted (clocks disagree).
const TYPING_FALLBACK_SECS: i64 = 6;

pub fn on_presence(ctx: Ctx, p: &PresenceEvent) {
    let user = p.user_id.to_string();
    ctx.online.update(|o| {
        o.retain(|u| *u != user);
        if p.online {
            o.push(user);
        }
    });
    refresh_online(ctx);
}

pub fn on_typing(ctx: Ctx, t: &TypingEvent) {
    let now = Utc::now();
    let (room, user) = (t.room.to_string(), t.user_id.to_string());
    let typing = t.is_typing;
    let until = t
        .until
        .filter(|u| *u > now && *u < now + Duration::seconds(60))
        .unwrap_or(now + Duration::seconds(TYPING_FALLBACK_SECS));
    ctx.typing.update(|t| {
        t.retain(|x| x.until > now && !(x.room == room && x.user == user));
        if typing {
            t.push(Typist { room, user, until });
        }
    });
}

/// Who is online now, from the server.
pub fn refresh_online(ctx: Ctx) {
    spawn_local(async move {
        if let Ok(list) = ipc::invoke::<cmd::OnlineUsers>(&NoArgs {}).await {
            ctx.online.set(list.iter().map(|u| u.to_string()).collect());
        }
    });
}

/// The app's one presence heartbeat: every 2 minutes while someone is signed in and the window
/// is in use (not hidden, not behind the quick exit), naming the room on screen if any. The
/// server counts a user online for `ONLINE_SECONDS` (5 minutes) after a beat, so one missed
/// beat does not flicker her presence. Opening and leaving a room beat at once
/// (`room_live::keep_reading`).
pub const PRESENCE_EVERY: std::time::Duration = std::time::Duration::from_secs(120);

/// Someone is signed in and looking at the app: the window is shown and not behind the quick
/// exit. Only then does the app tell the server she is present, or reading a room.
pub fn in_use(ctx: Ctx) -> bool {
    let signed_in = ctx.user.with_untracked(Option::is_some);
    let visible = web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| !d.hidden());
    signed_in && visible && !crate::quick_exit::hidden()
}

pub fn keep_present(ctx: Ctx) {
    let beat = move || {
        if !in_use(ctx) {
            return;
        }
        let room = (ctx.screen.get_untracked() == Screen::Chat)
            .then(|| ctx.room.get_untracked())
            .flatten()
            .map(|r| ipc::id(&r));
        spawn_local(async move {
            let _ = ipc::invoke::<cmd::Heartbeat>(&kintara_api::app::HeartbeatArgs { room }).await;
        });
    };
    // At once when someone signs in (or the app opens signed in)...
    Effect::new(move |was: Option<bool>| {
        let now = ctx.user.with(Option::is_some);
        if now && was != Some(true) {
            beat();
        }
        now
    });
    // ...and then every 2 minutes.
    let _ = set_interval_with_handle(beat, PRESENCE_EVERY);
}
