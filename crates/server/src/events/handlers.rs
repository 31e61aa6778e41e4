//! `GET events/`: the long-poll over the caller's own event log.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use kintara_api::endpoint;
use kintara_api::{ErrorEnvelope, EventsPage, DEFAULT_EVENTS_TIMEOUT, MAX_EVENTS_TIMEOUT};
use serde::Deserialize;
use tokio::time::Instant;
use utoipa::IntoParams;

use super::{since, Cursor, PAGE_LIMIT};
use crate::auth::AuthUser;
use crate::client_addr::ClientAddr;
use crate::error::ApiResult;
use crate::extract::query::{Param, QueryParam};
use crate::extract::ValidQuery;
use crate::limits::Action;
use crate::state::AppState;

/// While waiting, the log is re-read this often even without a wake-up: a frame appended outside
/// a request collector, or by another instance, is still delivered within this bound.
const RECHECK: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// The cursor of the last frame seen; "0" (the default) reads from the start.
    pub since: Option<String>,
    /// Seconds to wait for a frame when there is none (0..=60). The default, 0, answers at once,
    /// so a plain client with a usual read timeout is never held; a long-poll asks for one.
    pub timeout: Option<String>,
}

/// How `EventsQuery` is read.
pub const EVENTS_QUERY: [QueryParam; 2] = [
    QueryParam::optional("since", Param::Cursor),
    QueryParam::optional("timeout", Param::Seconds(MAX_EVENTS_TIMEOUT)),
];

fn parse(q: &EventsQuery) -> ApiResult<(Cursor, Duration)> {
    let [since, timeout] = EVENTS_QUERY;
    let cursor = match since.cursor(q.since.as_deref())? {
        None => Cursor::START,
        Some(seq) => Cursor::after(seq),
    };
    let secs = timeout
        .number(q.timeout.as_deref())?
        .unwrap_or(DEFAULT_EVENTS_TIMEOUT);
    Ok((cursor, Duration::from_secs(secs)))
}

/// The caller's frames after `since`, in order. Answers at once when there are any; otherwise
/// waits up to `timeout` seconds for the next ones, and answers `{events: [], cursor: since}`
/// if none come. A cursor older than retention gets one `resync_required` frame.
#[utoipa::path(get, path = endpoint::Events::PATH, tag = "events", security(("bearer" = [])),
    params(EventsQuery),
    responses(
        (status = 200, description = "Frames after the cursor, and the next cursor", body = EventsPage),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 422, description = "Invalid since or timeout", body = ErrorEnvelope),
    ))]
pub async fn poll(
    State(state): State<AppState>,
    user: AuthUser,
    ClientAddr(addr): ClientAddr,
    ValidQuery(q): ValidQuery<EventsQuery>,
) -> ApiResult<Json<EventsPage>> {
    state.limits.account(Action::LongPoll, user.id, addr)?;
    let (cursor, timeout) = parse(&q)?;
    let deadline = Instant::now() + timeout;
    // Subscribed before the first read, and each wait armed before its read: a commit that
    // lands between a read and the wait still wakes us.
    let sub = state.events.subscribe(user.id);
    loop {
        let notified = sub.notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // A connection only for the read, never held while waiting.
        let (events, next) = {
            let mut conn = state.db.read.acquire().await?;
            since(&mut conn, user.id, cursor, PAGE_LIMIT).await?
        };
        let now = Instant::now();
        // Checked after arming the wait: `close` sets the flag before waking.
        if !events.is_empty() || now >= deadline || state.events.is_closing() {
            for frame in &events {
                state.handover.took(frame);
            }
            return Ok(Json(EventsPage {
                events,
                cursor: next,
            }));
        }
        let wait = (deadline - now).min(RECHECK);
        // Woken, re-check time, or the deadline: read again either way (the last read at the
        // deadline still catches a frame that committed just before it).
        let _ = tokio::time::timeout(wait, notified).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(since: Option<&str>, timeout: Option<&str>) -> EventsQuery {
        EventsQuery {
            since: since.map(str::to_owned),
            timeout: timeout.map(str::to_owned),
        }
    }

    #[test]
    fn timeouts_are_whole_seconds_up_to_a_minute() {
        assert_eq!(parse(&q(None, None)).unwrap().1, Duration::ZERO);
        assert_eq!(parse(&q(Some("7"), Some("0"))).unwrap().0, Cursor::after(7));
        assert_eq!(
            parse(&q(None, Some("60"))).unwrap().1,
            Duration::from_secs(60)
        );
        for bad in ["61", "-1", "1.5", "", "+5", "x"] {
            assert!(parse(&q(None, Some(bad))).is_err(), "{bad:?}");
        }
        assert!(parse(&q(Some("-3"), None)).is_err());
    }
}
