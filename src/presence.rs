//! Typing and presence: who is typing in which room, and who is online. Fed by `typing` and
//! `presence` frames; neither makes the screens refetch their data.

use chrono::{DateTime, Duration, Utc};
use kintara_api::{EventFrame, EventType};
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

pub fn on_frame(ctx: Ctx, frame: &EventFrame) {
    match frame.r#type {
        EventType::Typing => on_typing(ctx, &frame.data, Utc::now()),
        EventType::Presence => {
            let user = frame.data["user_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let online = frame.data["online"].as_bool().unwrap_or(false);
            ctx.online.update(|o| {
                o.retain(|u| *u != user);
                if online {
                    o.push(user);
                }
            });
            refresh_online(ctx);
        }
        _ => {}
    }
}

fn on_typing(ctx: Ctx, data: &serde_json::Value, now: DateTime<Utc>) {
    let text = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
    let (room, user) = (text("room"), text("user_id"));
    let typing = data["is_typing"].as_bool().unwrap_or(false);
    let until = data["until"]
        .as_str()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
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
        if let Ok(list) = ipc::call::<_, Vec<String>>("online_users", &NoArgs {}).await {
            ctx.online.set(list);
        }
    });
}
