//! One socket, in one task: the log from the cursor, then live frames as wakes come; answers to
//! client frames; pings. It ends on token expiry, sign-out, a slow or silent client, or shutdown,
//! each with its own close code, and the client resumes from its last cursor.

use std::collections::VecDeque;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use kintara_api::{close_code, ControlFrame, Established, Event, EventFrame, PING_INTERVAL_SECS};
use tokio::time::{interval_at, sleep_until, timeout, Instant};
use uuid::Uuid;

use super::frames::{self, Next, Reply, Session};
use super::Accepted;
use crate::events::{self, Cursor, Found, PAGE_LIMIT};
use crate::state::AppState;

/// Client frames read ahead of their answers, at most. Enough to keep the send queue's batches
/// full for a client that sends in bursts (the app's outbox, a dispatcher's broadcast).
const MAX_IN_FLIGHT: usize = 32;
/// A frame the client has not taken within this is a slow consumer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const PING: Duration = Duration::from_secs(PING_INTERVAL_SECS);
/// Nothing heard (not even a pong) for this long: the peer is gone.
const SILENCE: Duration = Duration::from_secs(3 * PING_INTERVAL_SECS);
/// How often, without any wake, the log is re-read and the session re-checked: the backstop for
/// a wake lost by the broker (or a sign-out on an instance the broker could not reach).
const RECHECK: Duration = Duration::from_secs(60);

/// How a connection ends.
enum End {
    /// Closed by us, with a code from `close_code` and a short reason.
    Close(u16, &'static str),
    /// The peer hung up or the network failed: nothing more to send.
    Gone,
}

/// The handshake's token had expired: close before sending anything.
pub(super) async fn refuse_expired(mut socket: WebSocket) {
    close(&mut socket, close_code::TOKEN_EXPIRED, "token_expired").await;
}

pub(super) async fn run(state: AppState, mut socket: WebSocket, accepted: Accepted) {
    tracing::debug!("socket opened");
    match serve(&state, &mut socket, accepted).await {
        End::Close(code, reason) => {
            tracing::debug!(code, reason, "socket closed by the server");
            close(&mut socket, code, reason).await;
        }
        End::Gone => tracing::debug!("socket closed by the client"),
    }
}

async fn serve(state: &AppState, socket: &mut WebSocket, accepted: Accepted) -> End {
    // `_place` is held until the connection ends.
    let Accepted {
        claims,
        user,
        since,
        room,
        place: _place,
    } = accepted;
    let user_id = user.id;
    let now_unix = chrono::Utc::now().timestamp();
    let expires = Instant::now() + Duration::from_secs((claims.exp - now_unix).max(0) as u64);
    let mut session = Session::checked(claims, user);
    let hub = state.events.clone();
    let sub = hub.subscribe(user_id);
    let token_expiry = sleep_until(expires);
    tokio::pin!(token_expiry);

    let mut cursor = match since {
        Some(c) => c,
        None => match log_end(state, user_id).await {
            Ok(c) => c,
            Err(end) => return end,
        },
    };
    let hello = ControlFrame::ConnectionEstablished(Established {
        user_id,
        cursor,
        ping_interval_secs: PING_INTERVAL_SECS,
    });
    if let Err(end) = send_json(socket, &hello).await {
        return end;
    }

    let mut last_heard = Instant::now();
    let mut ping = interval_at(Instant::now() + PING, PING);
    // Spread the re-checks of many sockets over the period instead of all at once.
    let first = RECHECK.mul_f64(rand::random::<f64>());
    let mut recheck = interval_at(Instant::now() + first, RECHECK);
    // The first turn reads the log from the client's cursor; later turns take what a wake
    // delivered, and read the log only when a wake asks for it (a sign-out, another instance's
    // news), when the delivered frames do not continue the cursor, or at the re-check.
    let mut reread = true;
    let mut woken = false;
    // Answers still to send, oldest first. Chat messages are queued as they arrive, so a client
    // may have several in flight (stored in order, answered in order); while `MAX_IN_FLIGHT`
    // wait, the socket reads no more (TCP pushes back on the client).
    let mut replies: VecDeque<Reply> = VecDeque::new();
    loop {
        // Armed before reading: a commit between the read and the wait still wakes us.
        let notified = sub.notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if hub.is_closing() {
            return End::Close(close_code::GOING_AWAY, "server_shutdown");
        }
        if std::mem::take(&mut woken) {
            if sub.must_reread() {
                reread = true;
            } else {
                match sub.after(cursor) {
                    Found::Nothing => {}
                    Found::Gap => reread = true,
                    Found::Next(delivered) => {
                        for d in &delivered {
                            if about(room, &d.frame) {
                                if let Err(end) = send_json(socket, &*d.frame).await {
                                    return end;
                                }
                                state.handover.took(&d.frame);
                            }
                            cursor = Cursor::after(d.seq);
                        }
                    }
                }
            }
        }
        if std::mem::take(&mut reread) {
            sub.must_reread();
            // Still signed in? A sign-out wakes its user's sockets, so they end here at once.
            match session.check(state).await {
                Ok(_) => {}
                Err(crate::error::ApiError::Refused { .. }) => {
                    return End::Close(close_code::SESSION_ENDED, "session_ended")
                }
                Err(_) if hub.is_closing() => {
                    return End::Close(close_code::GOING_AWAY, "server_shutdown")
                }
                Err(_) => return server_error_now(),
            }
            if let Err(end) = pump(state, socket, user_id, &mut cursor, room).await {
                return end;
            }
        }
        tokio::select! {
            _ = &mut notified => woken = true,
            _ = &mut token_expiry => return End::Close(close_code::TOKEN_EXPIRED, "token_expired"),
            _ = recheck.tick() => reread = true,
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE {
                    return End::Gone;
                }
                if let Err(end) = send(socket, Message::Ping(Default::default())).await {
                    return end;
                }
            }
            reply = next_reply(&mut replies), if !replies.is_empty() => {
                replies.pop_front();
                if let Err(end) = answer(socket, &reply).await {
                    return end;
                }
            }
            msg = socket.recv(), if replies.len() < MAX_IN_FLIGHT => {
                last_heard = Instant::now();
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        return End::Close(close_code::POLICY, "frames are JSON text")
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return End::Gone,
                };
                match frames::read(state, &mut session, text.as_str()).await {
                    Next::Reply(reply) => replies.push_back(reply),
                    Next::Act(envelope) => {
                        // After everything before it, in order.
                        while let Some(reply) = next_reply_or_none(&mut replies).await {
                            if let Err(end) = answer(socket, &reply).await {
                                return end;
                            }
                        }
                        let reply = frames::act_now(state, &mut session, envelope).await;
                        if let Err(end) = answer(socket, &reply).await {
                            return end;
                        }
                    }
                }
            }
        }
    }
}

/// The oldest unanswered frame's answer, once it is ready (it stays queued until taken).
async fn next_reply(replies: &mut VecDeque<Reply>) -> ControlFrame {
    match replies.front_mut() {
        Some(reply) => reply.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The oldest unanswered frame's answer, taken; `None` when every frame is answered.
async fn next_reply_or_none(replies: &mut VecDeque<Reply>) -> Option<ControlFrame> {
    let reply = replies.pop_front()?;
    Some(reply.await)
}

/// Sends an answer; one that says the session is over closes the socket after it.
async fn answer(socket: &mut WebSocket, reply: &ControlFrame) -> Result<(), End> {
    send_json(socket, reply).await?;
    if frames::ends_session(reply) {
        return Err(End::Close(close_code::SESSION_ENDED, "session_ended"));
    }
    Ok(())
}

/// Sends every frame after `cursor`, page by page, and moves the cursor. With `room`, frames
/// about other rooms are skipped (the cursor still moves past them).
async fn pump(
    state: &AppState,
    socket: &mut WebSocket,
    user: Uuid,
    cursor: &mut Cursor,
    room: Option<Uuid>,
) -> Result<(), End> {
    loop {
        let (frames, next) = {
            let mut conn = read_conn(state).await?;
            events::since(&mut conn, user, *cursor, PAGE_LIMIT)
                .await
                .map_err(|e| failed(state, e))?
        };
        let full = frames.len() as i64 >= PAGE_LIMIT;
        for frame in &frames {
            if about(room, frame) {
                send_json(socket, frame).await?;
                state.handover.took(frame);
            }
        }
        *cursor = next;
        if !full {
            return Ok(());
        }
    }
}

/// Whether a socket filtered to `room` (if any) gets `frame`.
fn about(room: Option<Uuid>, frame: &EventFrame) -> bool {
    room.is_none_or(|r| {
        matches!(frame.event, Event::ResyncRequired {}) || frame.event.room() == Some(r)
    })
}

async fn log_end(state: &AppState, user: Uuid) -> Result<Cursor, End> {
    let mut conn = read_conn(state).await?;
    events::end(&mut conn, user)
        .await
        .map_err(|e| failed(state, e))
}

/// A connection of the read pool, held only for one read (never while waiting).
async fn read_conn(state: &AppState) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, End> {
    state.db.read.acquire().await.map_err(|e| failed(state, e))
}

/// A database failure; during shutdown (the pools closing) it is just the server going away.
fn failed(state: &AppState, e: sqlx::Error) -> End {
    if state.events.is_closing() {
        return End::Close(close_code::GOING_AWAY, "server_shutdown");
    }
    tracing::error!(error = %e, "socket: reading the event log failed");
    server_error_now()
}

/// The client reconnects with backoff and resumes from its cursor.
fn server_error_now() -> End {
    End::Close(1011, "server_error")
}

async fn send_json<T: serde::Serialize>(socket: &mut WebSocket, frame: &T) -> Result<(), End> {
    let text = serde_json::to_string(frame).map_err(|e| {
        tracing::error!(error = %e, "socket: a frame did not serialise");
        End::Close(1011, "server_error")
    })?;
    send(socket, Message::Text(text.into())).await
}

/// One frame out, flushed. A client that does not take it within `SEND_TIMEOUT` is a slow
/// consumer: it is closed, never silently skipped.
async fn send(socket: &mut WebSocket, msg: Message) -> Result<(), End> {
    match timeout(SEND_TIMEOUT, socket.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::Close(close_code::SLOW_CONSUMER, "slow_consumer")),
    }
}

/// Best effort: a peer that does not read gets one second, then the connection is dropped.
async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = timeout(
        Duration::from_secs(1),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}
