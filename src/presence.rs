//! Typing and presence: who is typing in which room, and who is online. Fed by `typing` and
//! `presence` frames; neither makes the screens refetch their data.

use chrono::{DateTime, Duration, Utc};
use kintara_api::app::cmd;
use kintara_api::{PresenceEvent, TypingEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::Ctx;
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
