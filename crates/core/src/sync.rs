//! The sync service: one task that keeps the user's event stream flowing and says how it is
//! doing. WebSocket first (with a heartbeat), long-polling the same log when the socket keeps
//! failing (a proxy that refuses upgrades), and back to the socket when it works again. Every
//! path resumes from the persisted cursor, so frames arrive in order and, because frames at or
//! before the cursor are dropped, once. Reconnects back off with jitter up to 30 s, never give up,
//! and retry at once when woken (network back, app in the foreground), except that a server which
//! answered with `Retry-After` (an overload, a restart) is never asked again sooner.
//!
//! Token expiry is answered by the client's single-flight refresh and an immediate reconnect; a
//! session the server ended becomes `LoggedOut`, never a retry loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kintara_api::{
    close_code, ClientEnvelope, ClientFrame, ControlFrame, Cursor, Event, EventFrame, ServerFrame,
};
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::client::Client;
use crate::error::{at_least, parse_retry_after, ErrorClass};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The service's timings. The defaults are what the app uses; tests shorten them.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// How long a long-poll waits on the server.
    pub poll_wait: Duration,
    /// The client's heartbeat: a `ping` this often; no answer within `pong_wait` means the
    /// connection is dead even if TCP has not noticed.
    pub ping_every: Duration,
    pub pong_wait: Duration,
    /// After this many failed socket openings in a row, poll instead.
    pub socket_tries: u32,
    /// While polling, try the socket again this often.
    pub socket_retry: Duration,
    /// The longest wait between reconnection attempts.
    pub backoff_max: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            poll_wait: Duration::from_secs(25),
            ping_every: Duration::from_secs(20),
            pong_wait: Duration::from_secs(10),
            socket_tries: 3,
            socket_retry: Duration::from_secs(60),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// What the UI shows as the connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// Not started, or between attempts with no failure yet.
    Idle,
    Connecting,
    /// Live over the socket.
    Online,
    /// Live over long-polling (the socket is unavailable).
    Polling,
    /// The server cannot be reached; the next attempt is in `retry_in` (or sooner when woken).
    Offline {
        retry_in: Duration,
        reason: String,
    },
    /// The session ended: sign in again. Nothing retries until then.
    LoggedOut,
}

/// What the service hands to the app, in order. Not boxed: a frame is moved once into the
/// broadcast channel, and the resync that makes the enum uneven is rare.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum SyncEvent {
    /// A frame of the log, after the previous one and exactly once.
    Frame(EventFrame),
    /// The cursor was older than the server keeps: refetch rooms, cases and notifications.
    ResyncRequired,
}

/// Where the cursor survives restarts.
pub trait CursorStore: Send + Sync + 'static {
    fn load_cursor(&self) -> impl Future<Output = Result<Option<Cursor>, String>> + Send;
    fn save_cursor(&self, cursor: Cursor) -> impl Future<Output = Result<(), String>> + Send;
}

/// A cursor kept in memory only (tools and tests that do not resume across runs).
#[derive(Default)]
pub struct MemoryCursor(std::sync::Mutex<Option<Cursor>>);

impl CursorStore for MemoryCursor {
    async fn load_cursor(&self) -> Result<Option<Cursor>, String> {
        Ok(*self.0.lock().map_err(|e| e.to_string())?)
    }

    async fn save_cursor(&self, cursor: Cursor) -> Result<(), String> {
        *self.0.lock().map_err(|e| e.to_string())? = Some(cursor);
        Ok(())
    }
}

pub struct SyncService<S: CursorStore> {
    client: Arc<Client>,
    store: Arc<S>,
    config: SyncConfig,
    state: watch::Sender<SyncState>,
    events: broadcast::Sender<SyncEvent>,
    wake: Notify,
    /// Forces long-polling (a user setting for networks that break sockets, and tests).
    socket_allowed: std::sync::atomic::AtomicBool,
}

/// How one connection ended.
enum Ended {
    /// The access token expired: refresh, then reconnect at once.
    TokenExpired(String),
    /// The server ended the session.
    LoggedOut,
    /// The connection failed or closed; `never_opened` when it never opened; `retry_after` when
    /// the server said how long to stay away.
    Failed {
        reason: String,
        never_opened: bool,
        retry_after: Option<Duration>,
    },
    /// The store failed: the cursor cannot be trusted to move.
    Storage(String),
}

impl<S: CursorStore> SyncService<S> {
    pub fn new(client: Arc<Client>, store: Arc<S>) -> Arc<Self> {
        Self::with_config(client, store, SyncConfig::default())
    }

    pub fn with_config(client: Arc<Client>, store: Arc<S>, config: SyncConfig) -> Arc<Self> {
        let (state, _) = watch::channel(SyncState::Idle);
        let (events, _) = broadcast::channel(1024);
        Arc::new(SyncService {
            client,
            store,
            config,
            state,
            events,
            wake: Notify::new(),
            socket_allowed: std::sync::atomic::AtomicBool::new(true),
        })
    }

    pub fn state(&self) -> watch::Receiver<SyncState> {
        self.state.subscribe()
    }

    /// Frames in order. Subscribe before `run` so none are missed; a receiver that falls more
    /// than 1024 behind is told it lagged and should refetch.
    pub fn events(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    /// The network came back, the app came to the foreground, or the user signed in: stop
    /// waiting and try now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Allows or forbids the socket (forbidden: long-polling only).
    pub fn set_socket_allowed(&self, allowed: bool) {
        self.socket_allowed
            .store(allowed, std::sync::atomic::Ordering::SeqCst);
        self.wake();
    }

    /// The loop; spawn it. It returns only when every `SyncService` handle but this is gone.
    pub async fn run(self: Arc<Self>) {
        let mut failures: u32 = 0;
        let mut socket_failures: u32 = 0;
        let mut polling_since: Option<Instant> = None;
        loop {
            if Arc::strong_count(&self) == 1 {
                return;
            }
            if self.client.current_user().is_none() {
                self.state.send_replace(SyncState::LoggedOut);
                self.wake.notified().await;
                continue;
            }
            let socket_allowed = self
                .socket_allowed
                .load(std::sync::atomic::Ordering::SeqCst);
            let try_socket = socket_allowed
                && (socket_failures < self.config.socket_tries
                    || polling_since.is_some_and(|t| t.elapsed() >= self.config.socket_retry));
            let ended = if try_socket {
                self.state.send_replace(SyncState::Connecting);
                let ended = self.socket_session(&mut failures).await;
                if let Ended::Failed {
                    never_opened: true, ..
                } = ended
                {
                    socket_failures += 1;
                    if socket_failures >= self.config.socket_tries {
                        polling_since = Some(Instant::now());
                    }
                } else {
                    socket_failures = 0;
                    polling_since = None;
                }
                ended
            } else {
                polling_since.get_or_insert_with(Instant::now);
                self.poll_session(&mut failures, socket_allowed).await
            };
            match ended {
                Ended::TokenExpired(access) => match self.client.refresh_expired(&access).await {
                    Ok(()) => continue,
                    Err(e) if e.class() == ErrorClass::Auth => continue, // logged out: top of loop
                    Err(e) => {
                        let retry_after = e.retry_after();
                        self.back_off(&mut failures, e.to_string(), retry_after)
                            .await
                    }
                },
                Ended::LoggedOut => {
                    let _ = self.client.end_session();
                }
                Ended::Failed {
                    reason,
                    retry_after,
                    ..
                } => {
                    // While polling, a failed socket attempt just returns to polling, unless the
                    // server asked for a pause: polling it at once would ignore that.
                    if !(try_socket && socket_failures >= self.config.socket_tries)
                        || retry_after.is_some()
                    {
                        self.back_off(&mut failures, reason, retry_after).await;
                    }
                }
                Ended::Storage(reason) => {
                    if !(try_socket && socket_failures >= self.config.socket_tries) {
                        self.back_off(&mut failures, reason, None).await;
                    }
                }
            }
        }
    }

    /// Waits a jittered, doubling delay (capped at 30 s), or less when woken; never less than
    /// the server's `Retry-After`, which a wake does not cut short either.
    async fn back_off(&self, failures: &mut u32, reason: String, retry_after: Option<Duration>) {
        *failures = failures.saturating_add(1);
        let base = Duration::from_millis(500) * 2u32.saturating_pow((*failures).min(10) - 1);
        let capped = base.min(self.config.backoff_max);
        // Full jitter in [capped/2, capped]: many clients reconnecting after a server restart do
        // not all arrive at once.
        let delay = at_least(
            capped.mul_f64(0.5 + rand::random::<f64>() * 0.5),
            retry_after,
        );
        let started = Instant::now();
        self.state.send_replace(SyncState::Offline {
            retry_in: delay,
            reason,
        });
        tokio::select! {
            _ = sleep(delay) => {}
            _ = self.wake.notified() => {
                // The network coming back says nothing about the server's load.
                if let Some(floor) = retry_after {
                    tokio::time::sleep_until(started + floor).await;
                }
            }
        }
    }

    async fn socket_session(&self, failures: &mut u32) -> Ended {
        let access = match self.client.access_token_for_socket() {
            Ok(a) => a,
            Err(_) => return Ended::LoggedOut,
        };
        let cursor = match self.store.load_cursor().await {
            Ok(c) => c,
            Err(e) => return Ended::Storage(e),
        };
        let mut url = self.client.socket_url(Some(cursor.unwrap_or_default()));
        url.query_pairs_mut().append_pair("token", &access);
        let request = match url.as_str().into_client_request() {
            Ok(r) => r,
            Err(e) => return failed(e.to_string(), true),
        };
        let mut socket =
            match timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request)).await {
                Err(_) => return failed("the socket did not open in time".into(), true),
                Ok(Err(tungstenite::Error::Http(resp))) if resp.status() == 401 => {
                    // Refused at the handshake: a token the server does not accept. Refreshing
                    // tells whether the session still exists.
                    return Ended::TokenExpired(access);
                }
                Ok(Err(tungstenite::Error::Http(resp))) => {
                    // Refused at the handshake (overloaded, restarting): the same hint as a REST
                    // answer would carry.
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    return Ended::Failed {
                        reason: format!("the server refused the socket ({})", resp.status()),
                        never_opened: true,
                        retry_after,
                    };
                }
                Ok(Err(e)) => return failed(e.to_string(), true),
                Ok(Ok((s, _))) => s,
            };
        let mut cursor = cursor.unwrap_or_default();
        let mut ping_due = Instant::now() + self.config.ping_every;
        let mut pong_deadline: Option<Instant> = None;
        let mut established = false;
        loop {
            let wait_until = pong_deadline.unwrap_or(ping_due);
            let msg = tokio::select! {
                m = socket.next() => m,
                _ = tokio::time::sleep_until(wait_until) => {
                    if pong_deadline.is_some() {
                        return failed("no answer to the heartbeat".into(), false);
                    }
                    let ping = ClientEnvelope::new(ClientFrame::Ping, None).to_json();
                    if let Err(e) = socket.send(Message::text(ping)).await {
                        return failed(e.to_string(), false);
                    }
                    pong_deadline = Some(Instant::now() + self.config.pong_wait);
                    continue;
                }
            };
            // Anything heard proves the connection alive.
            pong_deadline = None;
            ping_due = Instant::now() + self.config.ping_every;
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    return match code {
                        Some(close_code::TOKEN_EXPIRED) => Ended::TokenExpired(access),
                        Some(close_code::SESSION_ENDED) => Ended::LoggedOut,
                        _ => failed(close_reason(frame.as_ref().map(|f| f.code)), !established),
                    };
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return failed(e.to_string(), !established),
                None => return failed("the connection closed".into(), !established),
            };
            let frame = match ServerFrame::parse(text.as_str()) {
                Ok(f) => f,
                // A frame this version does not know: skip it rather than drop the stream.
                Err(_) => continue,
            };
            match frame {
                ServerFrame::Control(ControlFrame::ConnectionEstablished(_)) => {
                    established = true;
                    *failures = 0;
                    self.state.send_replace(SyncState::Online);
                }
                ServerFrame::Control(_) => {}
                ServerFrame::Event(e) => {
                    if let Err(end) = self.deliver(&mut cursor, e).await {
                        let _ = socket.close(None).await;
                        return end;
                    }
                }
            }
        }
    }

    /// Long-polls until it fails, or (when the socket is allowed) until it is time to try the
    /// socket again.
    async fn poll_session(&self, failures: &mut u32, socket_allowed: bool) -> Ended {
        let started = Instant::now();
        let mut cursor = match self.store.load_cursor().await {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => return Ended::Storage(e),
        };
        loop {
            if socket_allowed && started.elapsed() >= self.config.socket_retry {
                return failed("trying the socket again".into(), false);
            }
            if !socket_allowed
                && self
                    .socket_allowed
                    .load(std::sync::atomic::Ordering::SeqCst)
            {
                return failed("the socket is allowed again".into(), false);
            }
            let page = match self.client.poll_events(cursor, self.config.poll_wait).await {
                Ok(p) => p,
                Err(e) => {
                    return match e.class() {
                        ErrorClass::Auth => Ended::LoggedOut,
                        _ => Ended::Failed {
                            reason: e.to_string(),
                            never_opened: false,
                            retry_after: e.retry_after(),
                        },
                    }
                }
            };
            *failures = 0;
            self.state.send_replace(SyncState::Polling);
            for frame in page.events {
                if let Err(end) = self.deliver(&mut cursor, frame).await {
                    return end;
                }
            }
        }
    }

    /// Hands a frame to the app once: frames at or before the cursor are repeats and dropped.
    /// The cursor is saved after the frame is handed over, so a crash in between repeats at most
    /// that frame (the app applies frames idempotently, keyed by what they are about).
    async fn deliver(&self, cursor: &mut Cursor, frame: EventFrame) -> Result<(), Ended> {
        let resync = matches!(frame.event, Event::ResyncRequired {});
        if !resync && frame.cursor <= *cursor {
            return Ok(());
        }
        let next = frame.cursor;
        let event = if resync {
            SyncEvent::ResyncRequired
        } else {
            SyncEvent::Frame(frame)
        };
        // No receiver is fine (nobody is looking); the cursor still moves.
        let _ = self.events.send(event);
        self.store.save_cursor(next).await.map_err(Ended::Storage)?;
        *cursor = next;
        Ok(())
    }
}

fn failed(reason: String, never_opened: bool) -> Ended {
    Ended::Failed {
        reason,
        never_opened,
        retry_after: None,
    }
}

fn close_reason(code: Option<CloseCode>) -> String {
    match code.map(u16::from) {
        Some(close_code::SLOW_CONSUMER) => "the server dropped a slow connection".into(),
        Some(close_code::GOING_AWAY) => "the server is restarting".into(),
        Some(c) => format!("the server closed the connection ({c})"),
        None => "the server closed the connection".into(),
    }
}

/// The device's local store keeps the cursor with everything else it persists.
impl<T: crate::local::LocalStore> CursorStore for T {
    async fn load_cursor(&self) -> Result<Option<Cursor>, String> {
        match self.cursor().await.map_err(|e| e.to_string())? {
            None => Ok(None),
            // A cursor this store never wrote: refuse it rather than replay or skip frames.
            Some(c) => Cursor::parse(&c)
                .map(Some)
                .map_err(|e| format!("the saved cursor {c:?}: {e}")),
        }
    }

    async fn save_cursor(&self, cursor: Cursor) -> Result<(), String> {
        self.set_cursor(&cursor.to_string())
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn a_wake_cuts_the_backoff_short_but_not_the_servers_retry_after() {
        // Nothing listens there: only the waiting is exercised.
        let client = Client::new("http://127.0.0.1:9", Arc::new(MemoryStore::default())).unwrap();
        let sync = SyncService::new(Arc::new(client), Arc::new(MemoryCursor::default()));
        let mut failures = 10;

        // A wake already pending (the network came back): our own backoff is skipped.
        sync.wake();
        let started = Instant::now();
        sync.back_off(&mut failures, "down".into(), None).await;
        assert!(started.elapsed() < Duration::from_secs(1));

        // With a Retry-After, the wait is at least that long, woken or not, and says so.
        let floor = Duration::from_millis(1200);
        sync.wake();
        let started = Instant::now();
        let mut failures = 0;
        sync.back_off(&mut failures, "busy".into(), Some(floor))
            .await;
        assert!(started.elapsed() >= floor, "{:?}", started.elapsed());
        match &*sync.state().borrow() {
            SyncState::Offline { retry_in, .. } => assert!(*retry_in >= floor),
            other => panic!("offline, not {other:?}"),
        }
    }
}
