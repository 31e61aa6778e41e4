//! The WebSocket `/ws/` (aliases `/ws/notifications/` and `/ws/chat/{room_id}/`): the caller's
//! event log from a cursor, live, plus client frames that do what the REST calls do.
//!
//! The handshake (`upgrade`) authenticates before upgrading: no token or a forged one gets a
//! 401 envelope and never a socket; an expired one is upgraded only to be closed at once with
//! `TOKEN_EXPIRED`, so a browser-like client (which cannot read a refused handshake) still
//! learns to refresh. `connection` runs the socket; `frames` carries out client frames.

mod connection;
mod frames;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kintara_api::MAX_CLIENT_FRAME_BYTES;
use serde::Deserialize;
use uuid::Uuid;

use std::net::IpAddr;

use crate::auth::{self, tokens::Claims, AuthUser};
use crate::chat;
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::events::Cursor;
use crate::extract::{IdPath, ValidQuery};
use crate::limits::{Action, SocketPlace};
use crate::state::AppState;
use kintara_api::FieldError;
use kintara_api::Refusal;

/// Bytes read from the network at a time. Small on purpose: every idle socket holds this buffer,
/// and most client frames (ping, typing, mark_read) fit in it; a larger frame grows it as needed.
/// 4 KiB measured 13.0 KB per idle socket, 1 KiB 10.1 KB, 512 B 9.5 KB (the realtime bench).
const READ_BUFFER: usize = 512;
/// Frames written but not yet taken by the network. Past this the client is a slow consumer and
/// is disconnected (it resumes from its cursor; nothing is skipped).
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws/", get(all_events))
        .route("/ws/notifications/", get(all_events))
        .route("/ws/chat/{id}/", get(room_events))
}

#[derive(Debug, Deserialize)]
struct SocketQuery {
    token: Option<String>,
    since: Option<String>,
}

/// Everything the user's log holds.
async fn all_events(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ValidQuery(q): ValidQuery<SocketQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, addr, headers, q, None, ws)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Only the frames about one room the caller is in (the cursor still counts every frame).
async fn room_events(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    IdPath(room): IdPath,
    ValidQuery(q): ValidQuery<SocketQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, addr, headers, q, Some(room), ws)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// What a connection starts with once the handshake is accepted.
struct Accepted {
    claims: Claims,
    user: AuthUser,
    since: Option<Cursor>,
    room: Option<Uuid>,
    /// The account's place among its open sockets, freed when the connection ends.
    place: SocketPlace,
}

async fn upgrade(
    state: AppState,
    addr: IpAddr,
    headers: HeaderMap,
    q: SocketQuery,
    room: Option<Uuid>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    state.limits.address(Action::Socket, addr)?;
    let token = q
        .token
        .as_deref()
        .or_else(|| auth::bearer_token_of(&headers))
        .ok_or_else(|| ApiError::from(Refusal::NotAuthenticated {}))?;
    let expired = match state.keys.verify(token) {
        Ok(claims) => Err(claims),
        Err(ApiError::Refused {
            refusal: Refusal::TokenExpired {},
            ..
        }) => Ok(()),
        Err(e) => return Err(e),
    };
    let ws = ws.map_err(|_| ApiError::from(Refusal::UpgradeRequired {}))?;
    let ws = ws
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES);
    let claims = match expired {
        Ok(()) => return Ok(ws.on_upgrade(connection::refuse_expired)),
        Err(claims) => claims,
    };
    let user = auth::session_user(&state, &claims).await?;
    state.limits.per_account(Action::Socket, user.id)?;
    let since = match q.since.as_deref() {
        None => None,
        Some(s) => Some(
            Cursor::parse(s).map_err(|_| ApiError::field("since", FieldError::NotACursor {}))?,
        ),
    };
    if let Some(room) = room {
        // Someone else's room does not exist, as over REST.
        let mut conn = state.db.read.acquire().await?;
        chat::repo::room_for(&mut conn, room, user.id)
            .await?
            .ok_or(chat::ChatError::NotFound)?;
    }
    let place = state
        .limits
        .socket_place(user.id, state.config.max_sockets_per_user)?;
    let accepted = Accepted {
        claims,
        user,
        since,
        room,
        place,
    };
    Ok(ws.on_upgrade(move |socket| connection::run(state, socket, accepted)))
}
