//! The event log over real HTTP (`GET /api/events/`): frames in order and exactly once, written
//! with their change and published only after it committed, long-polls woken by commits,
//! retention answered with `resync_required`, and nobody reading anyone else's log.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::{report, Account, FrameData, TestServer};
use kintara_api::{EventFrame, EventType, EventsPage, Incident};
use serde_json::{json, Value};
use uuid::Uuid;

struct World {
    server: TestServer,
    survivor: Account,
    dispatcher: Account,
    rescue: Account,
    healthcare: Account,
}

impl World {
    async fn new() -> Self {
        let server = TestServer::demo().await;
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

    async fn poll(&self, who: &Account, since: impl std::fmt::Display, timeout: u64) -> EventsPage {
        let resp = self
            .server
            .get(
                &format!("/api/events/?since={since}&timeout={timeout}"),
                Some(&who.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    /// Everything in `who`'s log from the start.
    async fn all(&self, who: &Account) -> EventsPage {
        self.poll(who, "0", 0).await
    }

    async fn urgent(&self, description: &str) -> Incident {
        let mut body = report(description);
        body["urgency_level"] = json!("urgent");
        self.server
            .create_report(&self.survivor.access, &body)
            .await
    }

    /// A routine report assigned to `provider`, who accepted it; and its case room.
    async fn accepted_case(&self, provider: &Account, description: &str) -> (Incident, Uuid) {
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
        self.server
            .patch(
                &format!("/api/incidents/{}/accept/", incident.id),
                Some(&provider.access),
                &json!({}),
            )
            .await
            .expect(200);
        let resp = self
            .server
            .get("/api/chat/rooms/", Some(&self.survivor.access))
            .await;
        resp.expect(200);
        let room = resp.json()["results"]
            .as_array()
            .expect("rooms")
            .iter()
            .find(|r| r["incident"] == json!(incident.id))
            .map(|r| r["id"].as_str().expect("id").parse().expect("uuid"))
            .expect("the case room");
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

#[tokio::test]
async fn an_urgent_report_reaches_the_rescue_provider_in_order_and_once() {
    let w = World::new().await;
    let incident = w.urgent("urgent events case").await;
    let page = w.all(&w.rescue).await;
    let types: Vec<EventType> = page.events.iter().map(|f| f.kind()).collect();
    assert_eq!(
        types,
        [EventType::CaseAssigned, EventType::Notification],
        "{page:?}"
    );
    assert_increasing(&page.events);
    assert_eq!(page.events[0].data()["incident_id"], json!(incident.id));
    assert_eq!(
        page.events[1].data()["notification_type"],
        json!("case_assigned")
    );
    assert_eq!(page.cursor, page.events[1].cursor);
    // The frame carries the feed's notification, exactly.
    let feed = w
        .server
        .get("/api/notifications/", Some(&w.rescue.access))
        .await;
    feed.expect(200);
    // Except the delivery states, which move on after the frame was made: the in-app channel
    // is `sent` once this very long-poll has handed the frame over (recorded just after).
    let mut stored = feed.json()["results"][0].clone();
    let mut framed = page.events[1].data();
    assert_eq!(framed["channels"]["websocket"]["state"], "pending");
    let ws = stored["channels"]["websocket"]["state"].clone();
    assert!(ws == "pending" || ws == "sent", "{ws}");
    stored["channels"]["websocket"] = Value::Null;
    framed["channels"]["websocket"] = Value::Null;
    assert_eq!(stored, framed);

    // From the returned cursor: nothing again, and the cursor stays.
    let again = w.poll(&w.rescue, &page.cursor, 0).await;
    assert!(again.events.is_empty(), "{again:?}");
    assert_eq!(again.cursor, page.cursor);
    // From the middle: only what follows.
    let rest = w.poll(&w.rescue, &page.events[0].cursor, 0).await;
    assert_eq!(rest.events, page.events[1..]);
    assert_eq!(w.server.running.state.events.waiting_users(), 0);
}

#[tokio::test]
async fn a_long_poll_returns_soon_after_another_request_commits() {
    let w = World::new().await;
    let start = w.all(&w.rescue).await;
    let began = Instant::now();
    let (page, committed) = tokio::join!(w.poll(&w.rescue, &start.cursor, 10), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        w.urgent("long-poll case").await;
        Instant::now()
    });
    let answered = Instant::now();
    assert!(
        answered.duration_since(began) >= Duration::from_millis(400),
        "the poll waited for the change"
    );
    assert!(
        answered.duration_since(committed) < Duration::from_secs(3),
        "answered {:?} after the commit",
        answered.duration_since(committed)
    );
    // Exactly the new frames: the same as a plain poll from the old cursor now.
    let now = w.poll(&w.rescue, &start.cursor, 0).await;
    assert!(!page.events.is_empty());
    assert!(page.events.len() <= now.events.len());
    assert_eq!(page.events, now.events[..page.events.len()]);
    assert_eq!(w.server.running.state.events.waiting_users(), 0);
}

#[tokio::test]
async fn a_long_poll_times_out_empty_with_its_cursor() {
    let w = World::new().await;
    let began = Instant::now();
    let page = w.poll(&w.healthcare, "0", 1).await;
    assert!(began.elapsed() >= Duration::from_millis(900));
    assert!(page.events.is_empty());
    assert_eq!(page.cursor.to_string(), "0");
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_frames_and_no_gap() {
    let w = World::new().await;
    let incident = w
        .server
        .create_report(&w.survivor.access, &report("rollback case"))
        .await;
    let before = w.all(&w.healthcare).await;
    let survivor_before = w.all(&w.survivor).await;
    // The rescue provider can take nothing more: the assignment fails as a whole, after the
    // healthcare provider's offer (and its frames) were already written in the transaction.
    w.server
        .exec(
            "UPDATE provider_profiles SET max_case_load = 0 WHERE user_id = $1",
            &[&w.rescue.user.id.to_string()],
        )
        .await;
    let resp = w
        .server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&w.dispatcher.access),
            &json!({ "provider_ids": [w.healthcare.user.id, w.rescue.user.id] }),
        )
        .await;
    resp.expect(409);
    for (who, was) in [(&w.healthcare, &before), (&w.survivor, &survivor_before)] {
        let page = w.poll(who, &was.cursor, 0).await;
        assert!(page.events.is_empty(), "{page:?}");
    }
    assert!(w.all(&w.rescue).await.events.is_empty());

    // The next real change continues the log right after the old end: no hole, no reuse.
    w.server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&w.dispatcher.access),
            &json!({ "provider_ids": [w.healthcare.user.id] }),
        )
        .await
        .expect(200);
    let after = w.poll(&w.healthcare, &before.cursor, 0).await;
    assert_eq!(seq(&after.events[0]), before.cursor.seq() + 1);
    assert_eq!(after.events[0].kind(), EventType::CaseAssigned);
}

#[tokio::test]
async fn concurrent_messages_arrive_exactly_once_in_send_order() {
    let w = World::new().await;
    let (_, room) = w.accepted_case(&w.healthcare, "busy room").await;
    let start_s = w.all(&w.survivor).await.cursor;
    let start_p = w.all(&w.healthcare).await.cursor;
    let texts: Vec<(String, String)> = (0..50)
        .map(|i| (format!("s{i}"), format!("p{i}")))
        .collect();
    let sends = texts
        .iter()
        .flat_map(|(s, p)| [w.send(&w.survivor, room, s), w.send(&w.healthcare, room, p)]);
    let sent = futures::future::join_all(sends).await;
    for (who, start, sender) in [
        (&w.survivor, &start_s, &w.healthcare),
        (&w.healthcare, &start_p, &w.survivor),
    ] {
        let page = w.poll(who, start, 0).await;
        assert_increasing(&page.events);
        let messages = of_type(&page.events, EventType::NewMessage);
        assert_eq!(messages.len(), 50, "one frame per message from the other");
        let seqs: Vec<i64> = messages
            .iter()
            .map(|f| f.data()["seq"].as_i64().expect("seq"))
            .collect();
        assert!(seqs.windows(2).all(|p| p[0] < p[1]), "send order: {seqs:?}");
        let mut ids: Vec<Value> = messages.iter().map(|f| f.data()["id"].clone()).collect();
        let mut expected: Vec<Value> = sent
            .iter()
            .filter(|m| m["sender"]["id"] == json!(sender.user.id))
            .map(|m| m["id"].clone())
            .collect();
        ids.sort_by_key(|v| v.to_string());
        expected.sort_by_key(|v| v.to_string());
        assert_eq!(ids, expected);
    }
}

#[tokio::test]
async fn an_old_cursor_after_retention_gets_one_resync_then_continues() {
    let w = World::new().await;
    w.urgent("retention case").await;
    let seen = w.all(&w.rescue).await;
    assert!(!seen.events.is_empty());
    {
        let mut conn = w.server.running.state.db.write.acquire().await.unwrap();
        let future = chrono::Utc::now() + chrono::Duration::days(1);
        let removed = kintara_server::events::prune(&mut conn, future)
            .await
            .unwrap();
        assert!(removed >= seen.events.len() as u64);
    }
    // A client behind retention: exactly one resync, pointing at the log's end.
    let stale = w.poll(&w.rescue, "0", 0).await;
    assert_eq!(stale.events.len(), 1, "{stale:?}");
    assert_eq!(stale.events[0].kind(), EventType::ResyncRequired);
    assert_eq!(stale.events[0].data(), json!({}));
    assert_eq!(stale.events[0].cursor, seen.cursor);
    assert_eq!(stale.cursor, seen.cursor);
    // A client that was up to date is not disturbed.
    let current = w.poll(&w.rescue, &seen.cursor, 0).await;
    assert!(current.events.is_empty(), "{current:?}");
    // And both continue normally from there.
    w.urgent("after retention").await;
    let next = w.poll(&w.rescue, &stale.cursor, 0).await;
    assert_eq!(next.events[0].kind(), EventType::CaseAssigned);
    assert_eq!(seq(&next.events[0]), seq(&stale.events[0]) + 1);
    // A cursor from beyond the end (another server's) also resyncs instead of waiting forever.
    let ahead = w.poll(&w.rescue, "999999", 0).await;
    assert_eq!(ahead.events[0].kind(), EventType::ResyncRequired);
    assert_eq!(ahead.cursor, next.cursor);
}

/// A frame in the log that this version cannot read (another version wrote it, say) is not
/// dropped in silence and does not stop the stream: it reaches the reader as `resync_required` at
/// its own place, and the frames after it follow.
#[tokio::test]
async fn an_unreadable_frame_is_a_resync_in_its_place_and_the_stream_goes_on() {
    let w = World::new().await;
    w.urgent("before").await;
    let before = w.all(&w.rescue).await;
    let user = w.rescue.user.id.to_string();
    let next = before.cursor.seq() + 1;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    // A payload of the wrong shape, and a type this version has never heard of.
    for (i, (kind, data)) in [("case_updated", r#"{"status":"gone"}"#), ("shout", "{}")]
        .into_iter()
        .enumerate()
    {
        w.server
            .exec(
                &format!(
                    "INSERT INTO user_events (user_id, seq, event_type, data, created_at) \
                     VALUES ($1, {}, $2, $3, $4)",
                    next + i as i64
                ),
                &[&user, kind, data, &created],
            )
            .await;
    }
    w.server
        .exec(
            &format!("UPDATE users SET event_seq = {} WHERE id = $1", next + 1),
            &[&user],
        )
        .await;
    w.urgent("after").await;
    let page = w.poll(&w.rescue, &before.cursor, 0).await;
    let kinds: Vec<EventType> = page.events.iter().map(|f| f.kind()).collect();
    assert_eq!(
        kinds[..3],
        [
            EventType::ResyncRequired,
            EventType::ResyncRequired,
            EventType::CaseAssigned
        ],
        "{page:?}"
    );
    assert_eq!(seq(&page.events[0]), next);
    assert_eq!(seq(&page.events[1]), next + 1);
    assert_increasing(&page.events);
}

#[tokio::test]
async fn bad_parameters_are_422_and_strangers_401() {
    let w = World::new().await;
    for (query, field) in [
        ("since=-1", "since"),
        ("since=abc", "since"),
        ("since=1.5", "since"),
        ("since=", "since"),
        ("timeout=61", "timeout"),
        ("timeout=-1", "timeout"),
        ("timeout=x", "timeout"),
    ] {
        w.server
            .get(&format!("/api/events/?{query}"), Some(&w.survivor.access))
            .await
            .expect_invalid(&[field]);
    }
    w.server
        .get("/api/events/?since=0&timeout=0", None)
        .await
        .expect(401);
    w.server
        .get("/api/events/?since=0&timeout=0", Some("not-a-token"))
        .await
        .expect(401);
}

#[tokio::test]
async fn nobody_reads_anyone_elses_frames_and_survivors_see_no_details() {
    let w = World::new().await;
    let other = w.server.register_survivor("other@example.com").await;
    let description = "a very specific private description 7731";
    let (incident, room) = w.accepted_case(&w.healthcare, description).await;
    w.send(&w.survivor, room, "hello").await;
    // The provider reads before replying (a reply moves her read position by itself).
    w.server
        .post(
            &format!("/api/chat/rooms/{room}/mark_read/"),
            Some(&w.healthcare.access),
            &json!({}),
        )
        .await
        .expect(200);
    w.send(&w.healthcare, room, "hello back").await;
    w.server
        .post(
            &format!("/api/chat/rooms/{room}/typing/"),
            Some(&w.healthcare.access),
            &json!({"is_typing": true}),
        )
        .await
        .expect(200);
    w.server
        .patch(
            &format!("/api/providers/cases/{}/status/", incident.id),
            Some(&w.healthcare.access),
            &json!({"status": "completed"}),
        )
        .await
        .expect(200);

    let mine = w.all(&w.survivor).await;
    assert_increasing(&mine.events);
    for t in [
        EventType::CaseUpdated,
        EventType::Notification,
        EventType::NewMessage,
        EventType::Typing,
        EventType::MessageRead,
    ] {
        assert!(!of_type(&mine.events, t).is_empty(), "{t} for the survivor");
    }
    let text = serde_json::to_string(&mine.events).unwrap();
    assert!(
        !text.contains(description),
        "no description in survivor frames"
    );
    for f in of_type(&mine.events, EventType::CaseUpdated) {
        let data = f.data();
        let keys: Vec<&String> = data.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["case_number", "incident_id", "status"]);
        assert_eq!(f.data()["incident_id"], json!(incident.id));
    }
    // The provider's log has the case updates and her message, and nobody else's business.
    let theirs = w.all(&w.healthcare).await;
    assert!(of_type(&theirs.events, EventType::CaseUpdated)
        .iter()
        .any(|f| f.data()["status"] == json!("completed")));
    // The other survivor's log stayed empty through all of it.
    let empty = w.all(&other).await;
    assert!(empty.events.is_empty(), "{empty:?}");
    assert_eq!(empty.cursor.to_string(), "0");
    // Nobody else's frames either: the rescue provider had no part in this case.
    assert!(w.all(&w.rescue).await.events.is_empty());
}

#[tokio::test]
async fn stopping_the_server_answers_waiting_long_polls() {
    let w = World::new().await;
    let began = Instant::now();
    let poll = w
        .server
        .http
        .get(w.server.url("/api/events/?since=0&timeout=30"))
        .bearer_auth(&w.rescue.access)
        .send();
    let (resp, ()) = tokio::join!(poll, async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        w.server.running.state.events.close();
    });
    let resp = resp.expect("an answer");
    assert_eq!(resp.status(), 200);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "not held until the timeout"
    );
}

#[tokio::test]
async fn dispatchers_follow_every_case_and_an_edited_report_reaches_its_providers() {
    let w = World::new().await;
    let description = "a private description that must stay out of frames 5521";
    let (incident, _room) = w.accepted_case(&w.healthcare, description).await;
    let updates = |page: &EventsPage| -> Vec<Value> {
        of_type(&page.events, EventType::IncidentUpdated)
            .into_iter()
            .filter(|f| f.data()["incident_id"] == json!(incident.id))
            .map(|f| f.data().clone())
            .collect()
    };
    // Filed (queue), assigned, accepted: the dispatcher's queue and dashboard hear of each.
    let staff = updates(&w.all(&w.dispatcher).await);
    let statuses: Vec<&str> = staff.iter().filter_map(|d| d["status"].as_str()).collect();
    assert_eq!(
        statuses,
        ["pending_dispatcher_review", "assigned", "in_progress"]
    );
    for d in &staff {
        let keys: Vec<&String> = d.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            ["case_number", "incident_id", "status", "urgency_level"]
        );
    }
    // Providers and the survivor do not get staff updates for status moves (they have
    // `case_updated`), but an edited report reaches everyone on the case.
    assert!(updates(&w.all(&w.healthcare).await).is_empty());
    w.server
        .patch(
            &format!("/api/incidents/{}/", incident.id),
            Some(&w.survivor.access),
            &json!({"description": "Edited: moved to a safer place since the report"}),
        )
        .await
        .expect(200);
    for who in [&w.healthcare, &w.survivor, &w.dispatcher] {
        let page = w.all(who).await;
        assert_eq!(
            updates(&page).last().expect("an update")["status"],
            "in_progress"
        );
        let text = serde_json::to_string(&page.events).unwrap();
        assert!(!text.contains(description) && !text.contains("safer place"));
    }
    // Someone with no part in the case hears nothing of it.
    assert!(updates(&w.all(&w.rescue).await).is_empty());
}

#[tokio::test]
async fn presence_frames_tell_room_mates_when_someone_comes_online_or_signs_off() {
    let w = World::new().await;
    let (_incident, _room) = w.accepted_case(&w.healthcare, "presence case").await;
    let presence_of = |page: &EventsPage, who: &Account| -> Vec<bool> {
        of_type(&page.events, EventType::Presence)
            .into_iter()
            .filter(|f| f.data()["user_id"] == json!(who.user.id))
            .map(|f| f.data()["online"].as_bool().expect("online flag"))
            .collect()
    };
    let server = &w.server;
    let beat = |who: &Account| {
        let token = who.access.clone();
        async move {
            server
                .post("/api/chat/heartbeat/", Some(&token), &json!({}))
                .await
                .expect(200);
        }
    };
    // The provider comes online, stays online (a second heartbeat is no news), signs off.
    beat(&w.healthcare).await;
    beat(&w.healthcare).await;
    w.server
        .post(
            "/api/chat/mark-offline/",
            Some(&w.healthcare.access),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        presence_of(&w.all(&w.survivor).await, &w.healthcare),
        [true, false]
    );
    // Nobody outside the room hears it.
    assert!(presence_of(&w.all(&w.rescue).await, &w.healthcare).is_empty());
    // Survivors share no presence until they choose to.
    beat(&w.survivor).await;
    assert!(presence_of(&w.all(&w.healthcare).await, &w.survivor).is_empty());
}
