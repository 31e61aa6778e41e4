//! The WebSocket `/ws/` over real sockets: the handshake (who gets a socket and who gets an
//! error), the event log from a cursor and live, client frames answered like their REST calls,
//! the room filter, and the ways a connection ends (expiry, sign-out, slow reader, shutdown).

#[allow(dead_code)]
mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::{report, Account, FrameData, TestServer};
use futures::{SinkExt, StreamExt};
use kintara_api::{
    close_code, codes, ControlFrame, Established, EventFrame, EventType, EventsPage, Incident,
    ServerFrame,
};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a frame that should come may take.
const WAIT: Duration = Duration::from_secs(5);
/// How long a socket that should stay silent is watched.
const QUIET: Duration = Duration::from_millis(700);

const SECRET: &str = "websocket-test-secret-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn ws_url(server: &TestServer, path: &str) -> String {
    server.url(path).replacen("http://", "ws://", 1)
}

/// Opens `path` (query included) as it is; a refused handshake is the `Err`.
async fn try_connect(server: &TestServer, path: &str) -> Result<Ws, tungstenite::Error> {
    connect_async(ws_url(server, path)).await.map(|(ws, _)| ws)
}

/// `path` with `token` (and more query) appended.
fn with_token(path: &str, token: &str, query: &str) -> String {
    let sep = if query.is_empty() { "" } else { "&" };
    format!("{path}?token={token}{sep}{query}")
}

/// Connects `who` to `path` and reads the `connection_established` frame.
async fn open_at(server: &TestServer, who: &Account, path: &str, query: &str) -> (Ws, Established) {
    let mut ws = try_connect(server, &with_token(path, &who.access, query))
        .await
        .unwrap_or_else(|e| panic!("{path} handshake: {}", describe(&e)));
    let hello = match next_frame(&mut ws).await {
        ServerFrame::Control(ControlFrame::ConnectionEstablished(e)) => e,
        other => panic!("the first frame is connection_established, got {other:?}"),
    };
    assert_eq!(hello.user_id, who.user.id);
    (ws, hello)
}

async fn open(server: &TestServer, who: &Account, query: &str) -> (Ws, Established) {
    open_at(server, who, "/ws/", query).await
}

fn describe(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Http(resp) => format!(
            "HTTP {} {}",
            resp.status(),
            String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default())
        ),
        other => other.to_string(),
    }
}

/// Asserts the handshake was refused with `status` and an error envelope with `code`.
#[track_caller]
fn assert_refused(result: Result<Ws, tungstenite::Error>, status: u16, code: &str) -> Value {
    let err = match result {
        Ok(_) => panic!("expected HTTP {status} ({code}), got a socket"),
        Err(e) => e,
    };
    let tungstenite::Error::Http(resp) = err else {
        panic!("expected a refused handshake, got {err}");
    };
    let body = resp.body().clone().unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "refusal body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&body)
        )
    });
    assert_eq!(resp.status().as_u16(), status, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!(code), "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{body}"
    );
    body
}

/// What came off the socket, ignoring WebSocket pings and pongs.
enum Got {
    Text(String),
    Closed(Option<u16>),
}

async fn next_raw(ws: &mut Ws, within: Duration) -> Option<Got> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(m) => m,
        };
        return Some(match msg {
            Some(Ok(Message::Text(t))) => Got::Text(t.to_string()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(frame))) => Got::Closed(frame.map(|f| u16::from(f.code))),
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
            Some(Err(_)) | None => Got::Closed(None),
        });
    }
}

/// The next frame, within [`WAIT`].
async fn next_frame(ws: &mut Ws) -> ServerFrame {
    match next_raw(ws, WAIT).await {
        None => panic!("no frame within {WAIT:?}"),
        Some(Got::Closed(code)) => panic!("socket closed ({code:?}) while a frame was due"),
        Some(Got::Text(t)) => {
            ServerFrame::parse(&t).unwrap_or_else(|e| panic!("not a server frame ({e}): {t}"))
        }
    }
}

async fn next_event(ws: &mut Ws) -> EventFrame {
    match next_frame(ws).await {
        ServerFrame::Event(e) => e,
        ServerFrame::Control(c) => panic!("expected an event frame, got {c:?}"),
    }
}

/// Event frames until one has `cursor` (the log's end), in order.
async fn events_until(ws: &mut Ws, cursor: &str) -> Vec<EventFrame> {
    let end: i64 = cursor.parse().unwrap();
    let mut out = Vec::new();
    loop {
        let frame = next_event(ws).await;
        let at = seq(&frame);
        out.push(frame);
        assert!(at <= end, "frame beyond the log's end {end}: {out:?}");
        if at == end {
            return out;
        }
    }
}

/// Asserts nothing (no frame, no close) arrives within [`QUIET`].
async fn assert_silent(ws: &mut Ws, what: &str) {
    match next_raw(ws, QUIET).await {
        None => {}
        Some(Got::Text(t)) => panic!("{what}: unexpected frame {t}"),
        Some(Got::Closed(code)) => panic!("{what}: socket closed ({code:?})"),
    }
}

/// Asserts the socket closes with `code` within `within`, with no frame before the close.
async fn expect_close(ws: &mut Ws, code: u16, within: Duration) -> Duration {
    let began = Instant::now();
    match next_raw(ws, within).await {
        None => panic!("not closed within {within:?} (expected {code})"),
        Some(Got::Text(t)) => panic!("expected close {code}, got frame {t}"),
        Some(Got::Closed(got)) => assert_eq!(got, Some(code), "close code"),
    }
    began.elapsed()
}

async fn send_json(ws: &mut Ws, frame: &Value) {
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("frame sent");
}

/// Sends a client frame (`ref` added) and returns the `ack`/`error` answering it, with any event
/// frames that arrived first.
async fn request(
    ws: &mut Ws,
    mut frame: Value,
    reference: &str,
) -> (ControlFrame, Vec<EventFrame>) {
    frame["ref"] = json!(reference);
    send_json(ws, &frame).await;
    answer(ws, reference).await
}

async fn answer(ws: &mut Ws, reference: &str) -> (ControlFrame, Vec<EventFrame>) {
    let mut events = Vec::new();
    loop {
        match next_frame(ws).await {
            ServerFrame::Event(e) => events.push(e),
            ServerFrame::Control(c) => {
                let r = match &c {
                    ControlFrame::Ack { reference, .. } | ControlFrame::Error { reference, .. } => {
                        reference.clone()
                    }
                    other => panic!("expected an ack or error, got {other:?}"),
                };
                assert_eq!(r.as_deref(), Some(reference), "the answer echoes the ref");
                return (c, events);
            }
        }
    }
}

#[track_caller]
fn ack_result(c: ControlFrame) -> Value {
    match c {
        ControlFrame::Ack { result, .. } => result,
        other => panic!("expected an ack, got {other:?}"),
    }
}

/// The error envelope of an `error` frame, checked for `code`.
#[track_caller]
fn error_of(c: ControlFrame, code: &str) -> kintara_api::ErrorEnvelope {
    match c {
        ControlFrame::Error { error, .. } => {
            assert_eq!(error.code(), code, "{error:?}");
            assert!(!error.success);
            assert!(!error.message.trim().is_empty());
            error
        }
        other => panic!("expected an error {code}, got {other:?}"),
    }
}

async fn ping_pong(ws: &mut Ws) {
    send_json(ws, &json!({"type": "ping"})).await;
    match next_frame(ws).await {
        ServerFrame::Control(ControlFrame::Pong {}) => {}
        other => panic!("expected pong, got {other:?}"),
    }
}

fn send_message(room: Uuid, content: &str, client_id: Option<&str>) -> Value {
    let mut data = json!({"room": room, "content": content});
    if let Some(c) = client_id {
        data["client_id"] = json!(c);
    }
    json!({"type": "send_message", "data": data})
}

fn seq(frame: &EventFrame) -> i64 {
    frame.cursor.seq()
}

fn assert_increasing(frames: &[EventFrame]) {
    for pair in frames.windows(2) {
        assert!(seq(&pair[0]) < seq(&pair[1]), "cursors go up: {frames:?}");
    }
}

fn of_type(frames: &[EventFrame], t: EventType) -> Vec<&EventFrame> {
    frames.iter().filter(|f| f.kind() == t).collect()
}

struct World {
    server: TestServer,
    survivor: Account,
    dispatcher: Account,
    rescue: Account,
    healthcare: Account,
}

impl World {
    async fn new() -> Self {
        Self::with(TestServer::demo().await).await
    }

    async fn with(server: TestServer) -> Self {
        let survivor = server.demo_login("survivor").await;
        let dispatcher = server.demo_login("dispatcher").await;
        let rescue = server.demo_login("gbv_rescue").await;
        let healthcare = server.demo_login("healthcare").await;
        World {
            server,
            survivor,
            dispatcher,
            rescue,
            healthcare,
        }
    }

    async fn poll(&self, who: &Account, since: impl std::fmt::Display) -> EventsPage {
        let resp = self
            .server
            .get(
                &format!("/api/events/?since={since}&timeout=0"),
                Some(&who.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    /// The end of `who`'s log now.
    async fn log_end(&self, who: &Account) -> String {
        self.poll(who, "0").await.cursor.to_string()
    }

    /// A routine report by the survivor, assigned to `provider` (not yet accepted).
    async fn assigned_case(&self, provider: &Account, description: &str) -> Incident {
        let incident = self
            .server
            .create_report(&self.survivor.access, &report(description))
            .await;
        self.server
            .post(
                &format!("/api/dispatch/cases/{}/assign/", incident.id),
                Some(&self.dispatcher.access),
                &json!({ "provider_ids": [provider.user.id] }),
            )
            .await
            .expect(200);
        incident
    }

    async fn room_of(&self, incident: &Incident) -> Uuid {
        let resp = self
            .server
            .get("/api/chat/rooms/", Some(&self.survivor.access))
            .await;
        resp.expect(200);
        resp.json()["results"]
            .as_array()
            .expect("rooms")
            .iter()
            .find(|r| r["incident"] == json!(incident.id))
            .map(|r| r["id"].as_str().expect("id").parse().expect("uuid"))
            .expect("the case room")
    }

    /// A routine report assigned to `provider`, who accepted it; and its case room.
    async fn accepted_case(&self, provider: &Account, description: &str) -> (Incident, Uuid) {
        let incident = self.assigned_case(provider, description).await;
        self.server
            .patch(
                &format!("/api/incidents/{}/accept/", incident.id),
                Some(&provider.access),
                &json!({}),
            )
            .await
            .expect(200);
        let room = self.room_of(&incident).await;
        (incident, room)
    }

    async fn send(&self, who: &Account, room: Uuid, content: &str) -> Value {
        let resp = self
            .server
            .post(
                "/api/chat/messages/",
                Some(&who.access),
                &json!({ "room": room, "content": content }),
            )
            .await;
        resp.expect(201);
        resp.json()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Handshake
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_handshake_refuses_strangers_and_accepts_every_way_in() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.jwt_secret = Some(SECRET.into());
    })
    .await;
    let w = World::with(server).await;
    let s = &w.server;

    // No token, garbage, an edited one, one signed with another secret: 401, no socket.
    assert_refused(try_connect(s, "/ws/").await, 401, codes::NOT_AUTHENTICATED);
    assert_refused(
        try_connect(s, "/ws/?token=not-a-token").await,
        401,
        codes::INVALID_TOKEN,
    );
    let mut claims = common::jwt_claims(&w.survivor.access);
    claims["role"] = json!("dispatcher");
    let edited = common::with_claims(&w.survivor.access, &claims);
    assert_refused(
        try_connect(s, &with_token("/ws/", &edited, "")).await,
        401,
        codes::INVALID_TOKEN,
    );
    let real = common::jwt_claims(&w.survivor.access);
    let sign = |secret: &str, claims: &Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let other_secret = "another-secret-entirely-0123456789abcdef";
    // Sanity: re-signing the genuine claims with the server's secret is accepted.
    let resigned = sign(SECRET, &real);
    let (ws, _) = open(
        s,
        &Account {
            access: resigned,
            ..w.survivor.clone()
        },
        "",
    )
    .await;
    drop(ws);
    assert_refused(
        try_connect(s, &with_token("/ws/", &sign(other_secret, &real), "")).await,
        401,
        codes::INVALID_TOKEN,
    );
    let now = chrono::Utc::now().timestamp();
    let mut old = real.clone();
    old["iat"] = json!(now - 3600);
    old["exp"] = json!(now - 60);
    // Expired and forged is still forged.
    assert_refused(
        try_connect(s, &with_token("/ws/", &sign(other_secret, &old), "")).await,
        401,
        codes::INVALID_TOKEN,
    );
    // Expired with a valid signature: upgraded, then closed at once with 4001, no frame first.
    let mut ws = try_connect(s, &with_token("/ws/", &sign(SECRET, &old), ""))
        .await
        .unwrap_or_else(|e| panic!("expired token is upgraded: {}", describe(&e)));
    expect_close(&mut ws, close_code::TOKEN_EXPIRED, Duration::from_secs(2)).await;

    // The bearer header works too.
    let mut req = ws_url(s, "/ws/").into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", w.survivor.access).parse().unwrap(),
    );
    let (mut ws, _) = connect_async(req).await.expect("bearer handshake");
    match next_frame(&mut ws).await {
        ServerFrame::Control(ControlFrame::ConnectionEstablished(e)) => {
            assert_eq!(e.user_id, w.survivor.user.id);
            assert_eq!(e.ping_interval_secs, kintara_api::PING_INTERVAL_SECS);
        }
        other => panic!("{other:?}"),
    }
    ping_pong(&mut ws).await;

    // The notifications alias is the same stream, starting at the log's end.
    let end = w.log_end(&w.survivor).await;
    let (mut ws, hello) = open_at(s, &w.survivor, "/ws/notifications/", "").await;
    assert_eq!(hello.cursor.to_string(), end);
    ping_pong(&mut ws).await;
    let (_, hello) = open_at(s, &w.survivor, "/ws/notifications/", "since=0").await;
    assert_eq!(hello.cursor.to_string(), "0");

    // A room that is not yours does not exist; nor does a made-up one.
    let (_, room) = w.accepted_case(&w.healthcare, "handshake room").await;
    let path = format!("/ws/chat/{room}/");
    assert_refused(
        try_connect(s, &with_token(&path, &w.rescue.access, "")).await,
        404,
        codes::NOT_FOUND,
    );
    let made_up = format!("/ws/chat/{}/", Uuid::new_v4());
    assert_refused(
        try_connect(s, &with_token(&made_up, &w.survivor.access, "")).await,
        404,
        codes::NOT_FOUND,
    );
    open_at(s, &w.healthcare, &path, "").await;

    // A bad cursor is a 422 on `since`.
    for bad in ["-1", "abc", "1.5", ""] {
        let body = assert_refused(
            try_connect(
                s,
                &with_token("/ws/", &w.survivor.access, &format!("since={bad}")),
            )
            .await,
            422,
            codes::VALIDATION_FAILED,
        );
        assert!(body["errors"]["since"].is_array(), "since={bad}: {body}");
    }

    // A plain GET (no upgrade) with a good token: 426.
    let resp = s
        .get(&format!("/ws/?token={}", w.survivor.access), None)
        .await;
    resp.expect_error(426, codes::UPGRADE_REQUIRED);
    let resp = s.get("/ws/", Some(&w.survivor.access)).await;
    resp.expect_error(426, codes::UPGRADE_REQUIRED);
    // And without a token, still a 401 rather than telling how to upgrade.
    s.get("/ws/", None)
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
}

// ---------------------------------------------------------------------------------------------
// 2. Live messages and socket sends
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn messages_arrive_live_and_socket_sends_are_acked_once() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "live room").await;
    let (mut provider, hello) = open(&w.server, &w.healthcare, "").await;
    let (mut survivor, _) = open(&w.server, &w.survivor, "").await;

    // Over REST: arrives live on the provider's socket.
    let sent = w.send(&w.survivor, room, "hello over rest").await;
    let end = w.log_end(&w.healthcare).await;
    let frames = events_until(&mut provider, &end).await;
    assert!(seq(&frames[0]) > hello.cursor.seq());
    assert_increasing(&frames);
    let messages = of_type(&frames, EventType::NewMessage);
    assert_eq!(messages.len(), 1, "{frames:?}");
    assert_eq!(messages[0].data()["id"], sent["id"]);
    assert_eq!(messages[0].data()["content"], json!("hello over rest"));
    assert_eq!(messages[0].data()["room"], json!(room));

    // Over the socket: the ack carries the message, as REST would return it.
    let frame = send_message(room, "hello over socket", Some("client-1"));
    let (reply, _) = request(&mut survivor, frame.clone(), "r1").await;
    let first = ack_result(reply);
    assert_eq!(first["content"], json!("hello over socket"));
    assert_eq!(first["room"], json!(room));
    assert_eq!(first["sender"]["id"], json!(w.survivor.user.id));
    let id = first["id"].clone();
    assert!(id.is_string(), "{first}");
    let got = w
        .server
        .get(
            &format!("/api/chat/messages/?room_id={room}"),
            Some(&w.survivor.access),
        )
        .await;
    got.expect(200);
    assert!(
        got.text.contains(id.as_str().unwrap()),
        "stored: {}",
        got.text
    );

    // A retry with the same client_id: the same message, and the provider sees it once.
    let (reply, _) = request(&mut survivor, frame, "r2").await;
    let again = ack_result(reply);
    assert_eq!(again["id"], id);
    let end = w.log_end(&w.healthcare).await;
    let frames = events_until(&mut provider, &end).await;
    let messages = of_type(&frames, EventType::NewMessage);
    assert_eq!(
        messages.len(),
        1,
        "one new_message for a retried send: {frames:?}"
    );
    assert_eq!(messages[0].data()["id"], id);
    assert_silent(&mut provider, "after the retried send").await;
}

// ---------------------------------------------------------------------------------------------
// 3. Resume
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reconnect_with_since_gets_exactly_what_was_missed() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "resume room").await;
    let (mut ws, hello) = open(&w.server, &w.healthcare, "since=0").await;
    assert_eq!(hello.cursor.to_string(), "0");
    // From 0: the whole log so far (the assignment), the same as polling returns.
    for i in 0..3 {
        w.send(&w.survivor, room, &format!("online {i}")).await;
    }
    let end = w.log_end(&w.healthcare).await;
    let seen = events_until(&mut ws, &end).await;
    assert_eq!(seen, w.poll(&w.healthcare, "0").await.events);
    let last = seen.last().unwrap().cursor;
    ws.close(None).await.ok();
    drop(ws);

    // Offline: messages, a typing frame and a case update.
    for i in 0..4 {
        w.send(&w.survivor, room, &format!("offline {i}")).await;
    }
    let missed = w.poll(&w.healthcare, last).await.events;
    assert!(
        of_type(&missed, EventType::NewMessage).len() >= 4,
        "{missed:?}"
    );

    let (mut ws, hello) = open(&w.server, &w.healthcare, &format!("since={last}")).await;
    assert_eq!(hello.cursor, last);
    let end = w.log_end(&w.healthcare).await;
    let replayed = events_until(&mut ws, &end).await;
    assert_increasing(&replayed);
    assert!(seq(&replayed[0]) > last.seq());
    assert_eq!(replayed, missed, "exactly the missed frames, in order");
    assert_silent(&mut ws, "no repeats after the replay").await;

    // And it goes on live from there.
    let sent = w.send(&w.survivor, room, "back online").await;
    let end = w.log_end(&w.healthcare).await;
    let live = events_until(&mut ws, &end).await;
    assert_eq!(
        live,
        w.poll(&w.healthcare, replayed.last().unwrap().cursor)
            .await
            .events
    );
    assert_eq!(
        of_type(&live, EventType::NewMessage)[0].data()["id"],
        sent["id"]
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Room filter
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_chat_socket_shows_only_its_room() {
    let w = World::new().await;
    let (_, room_a) = w.accepted_case(&w.healthcare, "room a").await;
    let (_, room_b) = w.accepted_case(&w.rescue, "room b").await;
    let start = w.log_end(&w.survivor).await;
    let (mut ws, hello) = open_at(&w.server, &w.survivor, &format!("/ws/chat/{room_a}/"), "").await;
    assert_eq!(hello.cursor.to_string(), start);

    w.send(&w.rescue, room_b, "b1").await;
    w.send(&w.healthcare, room_a, "a1").await;
    w.send(&w.rescue, room_b, "b2").await;
    let last = w.send(&w.healthcare, room_a, "a2").await;

    let all = w.poll(&w.survivor, &start).await.events;
    assert!(
        all.iter().any(|f| f.data()["room"] == json!(room_b)),
        "the log has room b: {all:?}"
    );
    let expected: Vec<EventFrame> = all
        .into_iter()
        .filter(|f| f.data()["room"] == json!(room_a))
        .collect();
    let mut got = Vec::new();
    loop {
        let f = next_event(&mut ws).await;
        let done = f.kind() == EventType::NewMessage && f.data()["id"] == last["id"];
        got.push(f);
        if done {
            break;
        }
    }
    assert_eq!(got, expected);
    assert_silent(&mut ws, "nothing from the other room").await;

    // The cursor still counts every frame: resuming the whole stream from here skips nothing.
    let (mut full, _) = open(&w.server, &w.survivor, &format!("since={start}")).await;
    let end = w.log_end(&w.survivor).await;
    let everything = events_until(&mut full, &end).await;
    assert!(everything.iter().any(|f| f.data()["room"] == json!(room_b)));
}

// ---------------------------------------------------------------------------------------------
// 5. Client frame errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_client_frames_get_errors_and_the_socket_keeps_working() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "errors room").await;
    let (_, foreign_room) = w.accepted_case(&w.rescue, "not hers").await;
    let (mut ws, _) = open(&w.server, &w.healthcare, "").await;

    // Not JSON: an error without a ref (there is none to read).
    send_json_text(&mut ws, "this is not json").await;
    match next_frame(&mut ws).await {
        ServerFrame::Control(ControlFrame::Error { reference, error }) => {
            assert_eq!(reference, None);
            assert_eq!(error.code(), codes::INVALID_JSON);
        }
        other => panic!("{other:?}"),
    }
    ping_pong(&mut ws).await;

    // An unknown type keeps its ref.
    let (reply, _) = request(&mut ws, json!({"type": "shout", "data": {}}), "u1").await;
    error_of(reply, codes::INVALID_JSON);

    // Blank content: the REST 422 envelope, on `content`.
    let (reply, _) = request(&mut ws, send_message(room, "   ", None), "v1").await;
    let e = error_of(reply, codes::VALIDATION_FAILED);
    let fields: Vec<&String> = e.errors.keys().collect();
    assert_eq!(fields, ["content"], "{e:?}");

    // A room she is not in: 404, as over REST.
    let (reply, _) = request(&mut ws, send_message(foreign_room, "hi", None), "n1").await;
    error_of(reply, codes::NOT_FOUND);
    let (reply, _) = request(
        &mut ws,
        json!({"type": "typing", "data": {"room": foreign_room, "is_typing": true}}),
        "n2",
    )
    .await;
    error_of(reply, codes::NOT_FOUND);
    // Nothing was written to the other room.
    let foreign = w
        .server
        .get(
            &format!("/api/chat/messages/?room_id={foreign_room}"),
            Some(&w.rescue.access),
        )
        .await;
    foreign.expect(200);
    assert!(!foreign.text.contains("\"hi\""), "{}", foreign.text);

    // Still open and working: ping, and a real send.
    ping_pong(&mut ws).await;
    let (reply, _) = request(&mut ws, send_message(room, "still here", None), "ok").await;
    assert_eq!(ack_result(reply)["content"], json!("still here"));

    // A binary frame is a client bug: closed with 1008.
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    expect_close(&mut ws, close_code::POLICY, WAIT).await;
}

async fn send_json_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text.to_owned())).await.expect("sent");
}

// ---------------------------------------------------------------------------------------------
// 6. assignment_response
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn providers_answer_assignments_over_the_socket() {
    let w = World::new().await;
    let declined = w.assigned_case(&w.healthcare, "to decline").await;
    let accepted = w.assigned_case(&w.healthcare, "to accept").await;
    let (mut provider, _) = open(&w.server, &w.healthcare, "").await;
    let (mut survivor, _) = open(&w.server, &w.survivor, "").await;
    let respond = |id: Uuid, accepted: bool, reason: Option<&str>| {
        json!({"type": "assignment_response",
               "data": {"incident_id": id, "accepted": accepted, "reason": reason}})
    };

    // Declining needs a reason.
    let (reply, _) = request(&mut provider, respond(declined.id, false, None), "d1").await;
    let e = error_of(reply, codes::VALIDATION_FAILED);
    assert_eq!(e.errors.keys().collect::<Vec<_>>(), ["reason"], "{e:?}");
    let (reply, _) = request(&mut provider, respond(declined.id, false, Some("  ")), "d2").await;
    error_of(reply, codes::VALIDATION_FAILED);
    // With one: acked with the case as REST returns it.
    let (reply, _) = request(
        &mut provider,
        respond(declined.id, false, Some("Out of my area")),
        "d3",
    )
    .await;
    let result = ack_result(reply);
    assert!(result.is_object(), "{result}");
    // Declining twice is refused the REST way, not acked.
    let (reply, _) = request(
        &mut provider,
        respond(declined.id, false, Some("Out of my area")),
        "d4",
    )
    .await;
    assert!(
        matches!(reply, ControlFrame::Error { .. }),
        "a second decline is an error: {reply:?}"
    );

    // Accepting: acked, and the survivor's socket hears of it live.
    let before = w.log_end(&w.survivor).await;
    let (reply, _) = request(&mut provider, respond(accepted.id, true, None), "a1").await;
    let result = ack_result(reply);
    assert!(result.is_object(), "{result}");
    let end = w.log_end(&w.survivor).await;
    assert_ne!(end, before, "accepting wrote to the survivor's log");
    let frames = events_until(&mut survivor, &end).await;
    let updates = of_type(&frames, EventType::CaseUpdated);
    assert!(
        updates
            .iter()
            .any(|f| f.data()["incident_id"] == json!(accepted.id)),
        "{frames:?}"
    );
    // The case is no longer pending, as REST shows the survivor.
    let cases = w.server.incidents(&w.survivor.access).await;
    let case = cases.iter().find(|i| i.id == accepted.id).expect("listed");
    assert_ne!(
        serde_json::to_value(case.status).unwrap(),
        json!("pending"),
        "{case:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. typing and mark_read
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn typing_and_read_receipts_over_the_socket_reach_the_other_side() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "typing room").await;
    let message = w.send(&w.survivor, room, "are you there?").await;
    let (mut provider, _) = open(&w.server, &w.healthcare, "").await;
    let (mut survivor, _) = open(&w.server, &w.survivor, "").await;

    let (reply, _) = request(
        &mut provider,
        json!({"type": "typing", "data": {"room": room, "is_typing": true}}),
        "t1",
    )
    .await;
    assert_eq!(ack_result(reply)["is_typing"], json!(true));
    let f = next_event(&mut survivor).await;
    assert_eq!(f.kind(), EventType::Typing, "{f:?}");
    assert_eq!(f.data()["room"], json!(room));
    assert_eq!(f.data()["user_id"], json!(w.healthcare.user.id));
    assert_eq!(f.data()["is_typing"], json!(true));

    let (reply, _) = request(
        &mut provider,
        json!({"type": "mark_read", "data": {"room": room, "message_id": message["id"]}}),
        "m1",
    )
    .await;
    let result = ack_result(reply);
    assert_eq!(result["updated_count"], json!(1), "{result}");
    let end = w.log_end(&w.survivor).await;
    let frames = events_until(&mut survivor, &end).await;
    let reads = of_type(&frames, EventType::MessageRead);
    assert_eq!(reads.len(), 1, "{frames:?}");
    assert_eq!(reads[0].data()["room"], json!(room));
    assert_eq!(reads[0].data()["user_id"], json!(w.healthcare.user.id));
    assert_eq!(reads[0].data()["last_read_seq"], message["seq"]);

    // The survivor shares nothing by default: her typing is acked but the provider sees nothing.
    let (reply, _) = request(
        &mut survivor,
        json!({"type": "typing", "data": {"room": room, "is_typing": true}}),
        "t2",
    )
    .await;
    assert_eq!(ack_result(reply)["is_typing"], json!(false));
    assert_silent(&mut provider, "survivor typing is private by default").await;

    // Once she shares it, it arrives.
    let resp = w
        .server
        .get("/api/chat/settings/", Some(&w.survivor.access))
        .await;
    resp.expect(200);
    let mut settings = resp.json();
    settings["typing_indicators"] = json!(true);
    settings["read_receipts"] = json!(true);
    w.server
        .put("/api/chat/settings/", Some(&w.survivor.access), &settings)
        .await
        .expect(200);
    let (reply, _) = request(
        &mut survivor,
        json!({"type": "typing", "data": {"room": room, "is_typing": true}}),
        "t3",
    )
    .await;
    assert_eq!(ack_result(reply)["is_typing"], json!(true));
    let f = next_event(&mut provider).await;
    assert_eq!(f.kind(), EventType::Typing, "{f:?}");
    assert_eq!(f.data()["user_id"], json!(w.survivor.user.id));
}

// ---------------------------------------------------------------------------------------------
// 8. Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_expiring_token_closes_the_socket_with_4001() {
    let server = TestServer::start_with(|c| c.access_ttl_secs = 2).await;
    let account = server.register_survivor("amina@example.org").await;
    let (mut ws, _) = open(&server, &account, "").await;
    let waited = expect_close(&mut ws, close_code::TOKEN_EXPIRED, Duration::from_secs(5)).await;
    assert!(
        waited >= Duration::from_millis(500),
        "not before expiry: {waited:?}"
    );
}

#[tokio::test]
async fn signing_out_closes_the_socket_with_4003() {
    let w = World::new().await;
    let (mut ws, _) = open(&w.server, &w.survivor, "").await;
    // Another session of the same user is not affected.
    let other = w.server.demo_login("survivor").await;
    let (mut other_ws, _) = open(&w.server, &other, "").await;
    w.server
        .post(
            "/api/auth/logout/",
            None,
            &json!({"refresh": w.survivor.refresh}),
        )
        .await
        .expect(200);
    expect_close(&mut ws, close_code::SESSION_ENDED, Duration::from_secs(2)).await;
    ping_pong(&mut other_ws).await;
    // And the signed-out token cannot open a new one.
    let refused = try_connect(&w.server, &with_token("/ws/", &w.survivor.access, "")).await;
    assert!(refused.is_err(), "a signed-out token gets no socket");
}

#[tokio::test]
async fn stopping_the_server_closes_sockets_with_going_away() {
    let w = World::new().await;
    let (mut ws, _) = open(&w.server, &w.survivor, "").await;
    // Answered only once the socket has read its backlog: it is idle, waiting for wakes.
    ping_pong(&mut ws).await;
    let World { server, .. } = w;
    let began = Instant::now();
    drop(server);
    match next_raw(&mut ws, WAIT).await {
        None => panic!("the socket stayed open after the server stopped"),
        Some(Got::Text(t)) => panic!("unexpected frame {t}"),
        Some(Got::Closed(code)) => {
            eprintln!("server stop: close {code:?}");
            assert!(
                code.is_none() || code == Some(close_code::GOING_AWAY),
                "close code {code:?}"
            );
        }
    }
    assert!(began.elapsed() < Duration::from_secs(3));
}

/// Needs about 12 s: the server gives a stalled reader `SEND_TIMEOUT` (10 s).
#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_and_others_are_unaffected() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "slow room").await;
    // A big backlog in the provider's log, written the way `append` does (rows and counter).
    let user = w.healthcare.user.id.to_string();
    let base: i64 = w.log_end(&w.healthcare).await.parse().unwrap();
    let padding = "x".repeat(64 * 1024);
    let count: i64 = 400;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for i in 1..=count {
        // A real notification's payload, its message padded to 64 KB.
        let data = json!({
            "id": uuid::Uuid::new_v4(), "recipient": user, "notification_type": "new_message",
            "notification_type_display": "New message", "priority": "normal",
            "subject": format!("test {i}"), "message": padding, "params": {}, "incident": null,
            "conversation": null, "channels": {}, "is_read": false, "read_at": null,
            "created_at": created,
        })
        .to_string();
        w.server
            .exec(
                &format!(
                    "INSERT INTO user_events (user_id, seq, event_type, data, created_at) \
                     VALUES ($1, {}, 'notification', $2, $3)",
                    base + i
                ),
                &[&user, &data, &created],
            )
            .await;
    }
    w.server
        .exec(
            &format!(
                "UPDATE users SET event_seq = {} WHERE id = $1",
                base + count
            ),
            &[&user],
        )
        .await;

    let (mut slow, _) = open(&w.server, &w.healthcare, &format!("since={base}")).await;
    // Never read `slow` for a while; meanwhile others are served normally.
    let (mut other, _) = open(&w.server, &w.survivor, "").await;
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(13) {
        ping_pong(&mut other).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Now drain: the frames that made it are a gap-free prefix, then the connection ends.
    let mut got = 0i64;
    let end = loop {
        match next_raw(&mut slow, WAIT).await {
            None => panic!("the stalled socket is still open after {got} frames"),
            Some(Got::Closed(code)) => break code,
            Some(Got::Text(t)) => {
                let f = match ServerFrame::parse(&t).unwrap() {
                    ServerFrame::Event(f) => f,
                    ServerFrame::Control(c) => panic!("{c:?}"),
                };
                got += 1;
                assert_eq!(seq(&f), base + got, "in order, nothing skipped");
            }
        }
    };
    eprintln!("slow consumer: {got} of {count} frames, then close {end:?}");
    assert!(
        got < count,
        "cut off before the backlog was delivered ({got})"
    );
    assert!(
        end.is_none() || end == Some(close_code::SLOW_CONSUMER),
        "close code {end:?}"
    );
    // The server is healthy: a reconnect resumes right after what arrived.
    let (mut again, hello) = open(&w.server, &w.healthcare, &format!("since={}", base + got)).await;
    assert_eq!(hello.cursor.to_string(), (base + got).to_string());
    let next = next_event(&mut again).await;
    assert_eq!(seq(&next), base + got + 1);
    drop(again);
    let sent = w.send(&w.survivor, room, "after the slow one").await;
    assert!(sent["id"].is_string());
    ping_pong(&mut other).await;
}

// ---------------------------------------------------------------------------------------------
// 9. Concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn two_sockets_of_one_user_both_get_every_frame() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "two sockets").await;
    let (mut a, _) = open(&w.server, &w.survivor, "").await;
    let (mut b, _) = open(&w.server, &w.survivor, "").await;
    for i in 0..5 {
        w.send(&w.healthcare, room, &format!("m{i}")).await;
    }
    let end = w.log_end(&w.survivor).await;
    let fa = events_until(&mut a, &end).await;
    let fb = events_until(&mut b, &end).await;
    assert_eq!(fa, fb);
    assert_eq!(of_type(&fa, EventType::NewMessage).len(), 5);
    assert_silent(&mut a, "a").await;
    assert_silent(&mut b, "b").await;
}

#[tokio::test]
async fn concurrent_socket_senders_reach_the_recipient_once_each_in_order() {
    let w = World::new().await;
    let (_, room_h) = w.accepted_case(&w.healthcare, "busy h").await;
    let (_, room_r) = w.accepted_case(&w.rescue, "busy r").await;
    let (mut recipient, hello) = open(&w.server, &w.survivor, "").await;
    let mut senders = Vec::new();
    for i in 0..5 {
        let (who, room) = if i < 3 {
            (&w.healthcare, room_h)
        } else {
            (&w.rescue, room_r)
        };
        let (ws, _) = open(&w.server, who, "").await;
        senders.push((i, ws, room));
    }
    let runs = senders.into_iter().map(|(i, mut ws, room)| async move {
        let mut ids = Vec::new();
        for j in 0..20 {
            let (reply, _) = request(
                &mut ws,
                send_message(room, &format!("s{i} m{j}"), Some(&format!("s{i}-{j}"))),
                &format!("{i}-{j}"),
            )
            .await;
            ids.push(ack_result(reply)["id"].as_str().unwrap().to_owned());
        }
        ids
    });
    let reader = async {
        // Read while they send, so the recipient is never a slow consumer.
        let mut frames = Vec::new();
        loop {
            let f = next_event(&mut recipient).await;
            frames.push(f);
            if of_type(&frames, EventType::NewMessage).len() == 100 {
                return frames;
            }
        }
    };
    let (sent, frames) = tokio::join!(futures::future::join_all(runs), reader);
    let sent: BTreeSet<String> = sent.into_iter().flatten().collect();
    assert_eq!(sent.len(), 100);
    assert!(seq(&frames[0]) > hello.cursor.seq());
    assert_increasing(&frames);
    let got: Vec<String> = of_type(&frames, EventType::NewMessage)
        .iter()
        .map(|f| f.data()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got.len(), 100);
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), sent);
    // Nothing more than the log holds.
    let end = w.log_end(&w.survivor).await;
    if frames.last().unwrap().cursor.to_string() != end {
        let rest = events_until(&mut recipient, &end).await;
        assert!(of_type(&rest, EventType::NewMessage).is_empty(), "{rest:?}");
    }
    assert_silent(&mut recipient, "after the burst").await;
}

/// A client may send frames without waiting for their answers: chat messages are stored in the
/// order sent, every frame is answered in the order sent, and an action after them sees them.
#[tokio::test]
async fn frames_sent_in_a_burst_are_stored_and_answered_in_order() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "burst room").await;
    let no_room = Uuid::new_v4();
    let (mut provider, _) = open(&w.server, &w.healthcare, "").await;
    let (mut survivor, _) = open(&w.server, &w.survivor, "").await;

    // 35 frames in one go: 30 messages, a retry of the fourth (same client id), a blank one, one
    // to a room that does not exist, a ping, then a mark_read of the room.
    let mut frames: Vec<(String, Value)> = Vec::new();
    for i in 0..30 {
        frames.push((
            format!("m{i}"),
            send_message(room, &format!("burst {i}"), Some(&format!("b-{i}"))),
        ));
        match i {
            5 => frames.push(("retry".into(), send_message(room, "burst 3", Some("b-3")))),
            10 => frames.push(("blank".into(), send_message(room, "  ", None))),
            15 => frames.push(("missing".into(), send_message(no_room, "hi", None))),
            20 => frames.push(("ping".into(), json!({"type": "ping"}))),
            _ => {}
        }
    }
    frames.push((
        "read".into(),
        json!({"type": "mark_read", "data": {"room": room}}),
    ));
    let burst: Vec<Message> = frames
        .iter()
        .map(|(r, f)| {
            let mut f = f.clone();
            if r != "ping" {
                f["ref"] = json!(r);
            }
            Message::text(f.to_string())
        })
        .collect();
    let mut burst = futures::stream::iter(burst.into_iter().map(Ok));
    survivor.send_all(&mut burst).await.expect("burst sent");

    // Every answer, in the order of the frames.
    let mut acks: HashMap<String, Value> = HashMap::new();
    for (reference, _) in &frames {
        let frame = loop {
            match next_frame(&mut survivor).await {
                // Her own messages bring her no events; a room mate's might.
                ServerFrame::Event(_) => continue,
                ServerFrame::Control(c) => break c,
            }
        };
        match (reference.as_str(), frame) {
            ("ping", ControlFrame::Pong {}) => {}
            ("blank", c) => {
                error_of(c, codes::VALIDATION_FAILED);
            }
            ("missing", c) => {
                error_of(c, codes::NOT_FOUND);
            }
            (expected, ControlFrame::Ack { reference, result }) => {
                assert_eq!(reference.as_deref(), Some(expected), "answered in order");
                acks.insert(expected.to_owned(), result);
            }
            (expected, other) => panic!("{expected}: expected an ack, got {other:?}"),
        }
    }
    // Stored in the order sent, with no gap, and the retry is the fourth message again.
    let seqs: Vec<i64> = (0..30)
        .map(|i| acks[&format!("m{i}")]["seq"].as_i64().expect("seq"))
        .collect();
    let first = seqs[0];
    assert_eq!(seqs, (first..first + 30).collect::<Vec<_>>());
    assert_eq!(acks["retry"]["id"], acks["m3"]["id"]);
    // The mark_read was carried out after all of them: her read position is at the last one.
    assert_eq!(
        acks["read"]["last_read_seq"],
        json!(first + 29),
        "{}",
        acks["read"]
    );

    // The provider gets each message once, in the order sent.
    let end = w.log_end(&w.healthcare).await;
    let got = events_until(&mut provider, &end).await;
    let contents: Vec<String> = of_type(&got, EventType::NewMessage)
        .iter()
        .map(|f| f.data()["content"].as_str().expect("content").to_owned())
        .collect();
    let sent: Vec<String> = (0..30).map(|i| format!("burst {i}")).collect();
    assert_eq!(contents, sent);
}

// ---------------------------------------------------------------------------------------------
// 10. Authorization
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_socket_never_carries_anyone_elses_frames() {
    let w = World::new().await;
    let other = w.server.register_survivor("other@example.org").await;
    let (mut bystander, _) = open(&w.server, &other, "since=0").await;
    let (mut rescue, _) = open(&w.server, &w.rescue, "").await;
    let (_, room) = w.accepted_case(&w.healthcare, "private room").await;
    let (mut survivor, _) = open(&w.server, &w.survivor, "").await;
    w.send(&w.survivor, room, "private words").await;
    let (reply, _) = request(
        &mut survivor,
        send_message(room, "more private words", None),
        "p",
    )
    .await;
    ack_result(reply);
    w.send(&w.healthcare, room, "reply").await;
    assert_silent(&mut bystander, "another survivor").await;
    assert_silent(&mut rescue, "a provider not on the case").await;
    assert!(w.poll(&other, "0").await.events.is_empty());
    // A room of theirs cannot be opened by the bystander either.
    assert_refused(
        try_connect(
            &w.server,
            &with_token(&format!("/ws/chat/{room}/"), &other.access, ""),
        )
        .await,
        404,
        codes::NOT_FOUND,
    );
}
