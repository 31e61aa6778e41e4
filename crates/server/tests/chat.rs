//! Chat over real HTTP: case rooms opened by acceptance, direct rooms and who may open them,
//! ordered and paginated history, idempotent sends, read positions and receipts, typing,
//! presence, privacy defaults, and the notifications a message causes.

#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;

use common::*;
use kintara_api::{
    ChatMessage, ChatMessagePage, ChatRoom, ChatRoomList, ChatSettings, Incident, MarkReadResult,
    NotificationPage, NotificationType, OnlineUsers, RoomType, TypingResult,
};
use serde_json::{json, Value};
use uuid::Uuid;

struct Chat {
    server: TestServer,
    survivor: Account,
    provider: Account,
    dispatcher: Account,
}

impl Chat {
    async fn new() -> Self {
        let server = TestServer::demo().await;
        let survivor = server.demo_login("survivor").await;
        let provider = server.demo_login("healthcare").await;
        let dispatcher = server.demo_login("dispatcher").await;
        Chat {
            server,
            survivor,
            provider,
            dispatcher,
        }
    }

    async fn login(&self, who: &str) -> Account {
        self.server.demo_login(who).await
    }

    /// A report by the survivor, assigned to `provider` (not yet accepted).
    async fn assigned(&self, provider: &Account, body: &Value) -> Incident {
        let incident = self.server.create_report(&self.survivor.access, body).await;
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

    async fn accept(&self, provider: &Account, incident: Uuid) {
        self.server
            .patch(
                &format!("/api/incidents/{incident}/accept/"),
                Some(&provider.access),
                &json!({}),
            )
            .await
            .expect(200);
    }

    /// An accepted case of the survivor with `provider`, and its room.
    async fn case_room(&self, provider: &Account) -> (Incident, Uuid) {
        let incident = self.assigned(provider, &report("chat case")).await;
        self.accept(provider, incident.id).await;
        let room = self
            .rooms(&self.survivor)
            .await
            .into_iter()
            .find(|r| r.incident == Some(incident.id))
            .expect("the case room");
        (incident, room.id)
    }

    async fn rooms(&self, who: &Account) -> Vec<ChatRoom> {
        let resp = self.server.get("/api/chat/rooms/", Some(&who.access)).await;
        resp.expect(200);
        resp.json_as::<ChatRoomList>().results
    }

    async fn room(&self, who: &Account, id: Uuid) -> ChatRoom {
        self.rooms(who)
            .await
            .into_iter()
            .find(|r| r.id == id)
            .expect("the room is listed")
    }

    async fn send(
        &self,
        who: &Account,
        room: Uuid,
        content: &str,
        client_id: Option<&str>,
    ) -> Resp {
        let mut body = json!({ "room": room, "content": content });
        if let Some(c) = client_id {
            body["client_id"] = json!(c);
        }
        self.server
            .post("/api/chat/messages/", Some(&who.access), &body)
            .await
    }

    async fn sent(&self, who: &Account, room: Uuid, content: &str) -> ChatMessage {
        let resp = self.send(who, room, content, None).await;
        resp.expect(201);
        resp.json_as()
    }

    async fn page(&self, who: &Account, query: &str) -> ChatMessagePage {
        let resp = self
            .server
            .get(&format!("/api/chat/messages/?{query}"), Some(&who.access))
            .await;
        resp.expect(200);
        resp.json_as()
    }

    async fn direct(&self, who: &Account, with: Uuid) -> Resp {
        self.server
            .post(
                "/api/chat/rooms/create_direct_chat/",
                Some(&who.access),
                &json!({ "user_id": with }),
            )
            .await
    }

    async fn mark_read(&self, who: &Account, path: &str) -> MarkReadResult {
        let resp = self.server.post(path, Some(&who.access), &json!({})).await;
        resp.expect(200);
        resp.json_as()
    }

    async fn settings(&self, who: &Account, s: ChatSettings) {
        self.server
            .put(
                "/api/chat/settings/",
                Some(&who.access),
                &serde_json::to_value(s).unwrap(),
            )
            .await
            .expect(200);
    }

    async fn heartbeat(&self, who: &Account, room: Option<Uuid>) {
        let body = match room {
            Some(r) => json!({ "room_id": r }),
            None => json!({ "timestamp": "2026-01-01T00:00:00Z" }),
        };
        self.server
            .post("/api/chat/heartbeat/", Some(&who.access), &body)
            .await
            .expect(200);
    }

    async fn online(&self, who: &Account) -> Vec<Uuid> {
        let resp = self
            .server
            .get("/api/chat/online-users/", Some(&who.access))
            .await;
        resp.expect(200);
        resp.json_as::<OnlineUsers>().online_users
    }

    async fn new_messages(&self, who: &Account) -> Vec<kintara_api::Notification> {
        let resp = self
            .server
            .get(
                "/api/notifications/?notification_type=new_message&page_size=100",
                Some(&who.access),
            )
            .await;
        resp.expect(200);
        resp.json_as::<NotificationPage>().results
    }
}

const ALL_ON: ChatSettings = ChatSettings {
    read_receipts: true,
    typing_indicators: true,
    presence: true,
};
const ALL_OFF: ChatSettings = ChatSettings {
    read_receipts: false,
    typing_indicators: false,
    presence: false,
};

#[tokio::test]
async fn the_case_room_opens_for_survivor_and_provider_when_the_provider_accepts() {
    let c = Chat::new().await;
    let incident = c.assigned(&c.provider, &report("waiting")).await;
    assert!(
        c.rooms(&c.provider).await.is_empty(),
        "no room before acceptance"
    );
    c.accept(&c.provider, incident.id).await;
    for who in [&c.survivor, &c.provider] {
        let rooms = c.rooms(who).await;
        assert_eq!(rooms.len(), 1);
        let r = &rooms[0];
        assert_eq!(r.room_type, RoomType::Case);
        assert_eq!(r.incident, Some(incident.id));
        assert!(r.name.contains(&incident.case_number), "{}", r.name);
        assert!(r.is_active && !r.read_only);
        assert_eq!(r.unread_count, 0);
        assert!(r.last_message.is_none());
        let ids: BTreeSet<Uuid> = r.participants.iter().map(|p| p.id).collect();
        assert_eq!(
            ids,
            BTreeSet::from([c.survivor.user.id, c.provider.user.id])
        );
    }
    // Dispatchers are not in case rooms.
    assert!(c.rooms(&c.dispatcher).await.is_empty());
    // The shape of document 004.
    let raw = c
        .server
        .get("/api/chat/rooms/", Some(&c.survivor.access))
        .await
        .json();
    let room = &raw["results"][0];
    for key in [
        "id",
        "type",
        "name",
        "participants",
        "last_message",
        "unread_count",
        "updated_at",
        "created_at",
    ] {
        assert!(room.get(key).is_some(), "{key} missing: {room}");
    }
    assert_eq!(room["type"], json!("case"));
}

#[tokio::test]
async fn an_anonymous_survivor_is_anonymous_to_providers_but_not_to_herself() {
    let c = Chat::new().await;
    let mut body = report("anonymous report");
    body["is_anonymous"] = json!(true);
    let incident = c.assigned(&c.provider, &body).await;
    c.accept(&c.provider, incident.id).await;
    let room = &c.rooms(&c.provider).await[0];
    let her = room
        .participants
        .iter()
        .find(|p| p.id == c.survivor.user.id)
        .unwrap();
    assert_eq!(her.full_name, "Anonymous");
    let msg = c.sent(&c.survivor, room.id, "hello").await;
    let seen = c.page(&c.provider, &format!("room_id={}", room.id)).await;
    assert_eq!(seen.results[0].id, msg.id);
    assert_eq!(
        seen.results[0].sender.as_ref().unwrap().full_name,
        "Anonymous"
    );
    let own = &c.rooms(&c.survivor).await[0];
    let me = own
        .participants
        .iter()
        .find(|p| p.id == c.survivor.user.id)
        .unwrap();
    assert_ne!(me.full_name, "Anonymous");
    // The provider's notification does not name her either.
    let n = c.new_messages(&c.provider).await;
    assert_eq!(n.len(), 1);
    assert!(
        !n[0].message.contains(&c.survivor.user.first_name),
        "{}",
        n[0].message
    );
}

/// A survivor who reported anonymously stays anonymous in a direct room too: nothing a provider
/// receives about her messages there, over REST or the event log, names her.
#[tokio::test]
async fn an_anonymous_reporter_is_not_named_by_a_direct_rooms_notifications() {
    let c = Chat::new().await;
    let mut body = report("anonymous report");
    body["is_anonymous"] = json!(true);
    let incident = c.assigned(&c.provider, &body).await;
    c.accept(&c.provider, incident.id).await;
    let direct = c.direct(&c.survivor, c.provider.user.id).await;
    direct.expect(201);
    let room: ChatRoom = direct.json_as();
    c.sent(&c.survivor, room.id, "hello from the direct room")
        .await;

    let her = [&c.survivor.user.first_name, &c.survivor.user.last_name];
    let n = c.new_messages(&c.provider).await;
    assert_eq!(n.len(), 1, "{n:?}");
    let everything = [
        c.server
            .get("/api/notifications/", Some(&c.provider.access))
            .await
            .text,
        c.server
            .get("/api/events/?since=0", Some(&c.provider.access))
            .await
            .text,
        c.server
            .get("/api/chat/rooms/", Some(&c.provider.access))
            .await
            .text,
        c.server
            .get(
                &format!("/api/chat/messages/?room_id={}", room.id),
                Some(&c.provider.access),
            )
            .await
            .text,
    ];
    for text in &everything {
        for name in her {
            assert!(!text.contains(name.as_str()), "{name} in {text}");
        }
    }
    assert!(everything[0].contains("Anonymous"), "{}", everything[0]);
}

#[tokio::test]
async fn direct_chats_open_only_between_people_who_work_together() {
    let c = Chat::new().await;
    let legal = c.login("legal").await;
    let police = c.login("police").await;
    let other = c.server.register_survivor("other.chat@example.org").await;
    // The healthcare provider has a pending assignment on her case; police has nothing.
    let incident = c.assigned(&c.provider, &report("direct")).await;
    c.server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&c.dispatcher.access),
            &json!({ "provider_ids": [legal.user.id] }),
        )
        .await
        .expect(200);

    let first = c.direct(&c.survivor, c.provider.user.id).await;
    first.expect(201);
    let room: ChatRoom = first.json_as();
    assert_eq!(room.room_type, RoomType::Direct);
    assert_eq!(room.incident, None);
    assert_eq!(room.participants.len(), 2);
    // Again, from either side: the same room.
    let again = c.direct(&c.survivor, c.provider.user.id).await;
    again.expect(200);
    assert_eq!(again.json_as::<ChatRoom>().id, room.id);
    let theirs = c.direct(&c.provider, c.survivor.user.id).await;
    theirs.expect(200);
    assert_eq!(theirs.json_as::<ChatRoom>().id, room.id);

    // Two providers on one case; a dispatcher and any provider.
    c.direct(&c.provider, legal.user.id).await.expect(201);
    c.direct(&c.dispatcher, police.user.id).await.expect(201);
    c.direct(&police, c.dispatcher.user.id).await.expect(200);

    // Strangers.
    for (who, with) in [
        (&c.survivor, police.user.id),
        (&c.survivor, c.dispatcher.user.id),
        (&other, c.provider.user.id),
        (&police, c.provider.user.id),
        (&police, c.survivor.user.id),
        (&c.survivor, other.user.id),
        (&c.survivor, Uuid::new_v4()),
    ] {
        c.direct(who, with)
            .await
            .expect_error(403, "no_shared_case");
    }
    c.direct(&c.survivor, c.survivor.user.id)
        .await
        .expect_error(403, "not_with_yourself");
    let rooms = c.server.count("conversations").await;
    assert_eq!(rooms, 3);
}

#[tokio::test]
async fn a_direct_room_with_a_provider_goes_quiet_when_they_leave_her_case() {
    let c = Chat::new().await;
    let incident = c.assigned(&c.provider, &report("follow the case")).await;
    let room: ChatRoom = c.direct(&c.provider, c.survivor.user.id).await.json_as();
    assert!(!room.read_only);
    c.sent(&c.provider, room.id, "I will call you at noon.")
        .await;
    c.sent(&c.survivor, room.id, "Thank you.").await;

    // The provider declines the case: the room stays, read-only for both.
    c.server
        .patch(
            &format!("/api/incidents/{}/reject/", incident.id),
            Some(&c.provider.access),
            &json!({"reason": "Outside my area"}),
        )
        .await
        .expect(200);
    let before = c.server.count("messages").await;
    let notes = c.server.count("notifications").await;
    for who in [&c.provider, &c.survivor] {
        c.send(who, room.id, "still there?", None)
            .await
            .expect_error(409, "room_read_only");
        c.server
            .post(
                &format!("/api/chat/rooms/{}/typing/", room.id),
                Some(&who.access),
                &json!({"is_typing": true}),
            )
            .await
            .expect_error(409, "room_read_only");
        let r = c.room(who, room.id).await;
        assert!(r.read_only, "read-only for both");
        assert_eq!(
            c.page(who, &format!("room_id={}", room.id))
                .await
                .results
                .len(),
            2
        );
    }
    assert_eq!(c.server.count("messages").await, before, "nothing stored");
    assert_eq!(
        c.server.count("notifications").await,
        notes,
        "nobody notified"
    );
    // A new direct room cannot be opened either.
    c.direct(&c.provider, c.survivor.user.id)
        .await
        .expect_error(403, "no_shared_case");
}

#[tokio::test]
async fn a_survivor_blocks_someone_and_nothing_of_theirs_reaches_her() {
    let c = Chat::new().await;
    let (_, case_room) = c.case_room(&c.provider).await;
    let direct: ChatRoom = c.direct(&c.provider, c.survivor.user.id).await.json_as();
    c.sent(&c.provider, direct.id, "Are you safe?").await;
    let block = |user: Uuid| {
        let body = json!({ "user_id": user });
        let server = &c.server;
        let token = c.survivor.access.clone();
        async move { server.post("/api/chat/blocks/", Some(&token), &body).await }
    };
    block(c.provider.user.id).await.expect(201);
    block(c.provider.user.id).await.expect(200);

    let before = (
        c.server.count("messages").await,
        c.server.count("notifications").await,
    );
    // Nothing they write or type reaches her, in any room she is in.
    for room in [direct.id, case_room] {
        let resp = c.send(&c.provider, room, "Answer me.", None).await;
        assert!(
            matches!(resp.status.as_u16(), 403 | 409),
            "{}: {}",
            resp.status,
            resp.text
        );
        c.server
            .post(
                &format!("/api/chat/rooms/{room}/typing/"),
                Some(&c.provider.access),
                &json!({"is_typing": true}),
            )
            .await
            .expect(if room == direct.id { 409 } else { 403 });
    }
    c.send(&c.provider, case_room, "Answer me.", None)
        .await
        .expect_error(403, "cannot_write_here");
    assert_eq!(
        (
            c.server.count("messages").await,
            c.server.count("notifications").await
        ),
        before
    );
    // Their direct room left her list and cannot be opened again, from either side.
    assert!(c.rooms(&c.survivor).await.iter().all(|r| r.id != direct.id));
    c.direct(&c.provider, c.survivor.user.id)
        .await
        .expect_error(403, "no_shared_case");
    c.direct(&c.survivor, c.provider.user.id)
        .await
        .expect_error(403, "no_shared_case");
    // She still writes in her case's room; her list shows whom she blocked.
    c.sent(&c.survivor, case_room, "Please send someone else.")
        .await;
    let list = c
        .server
        .get("/api/chat/blocks/", Some(&c.survivor.access))
        .await;
    list.expect(200);
    assert_eq!(
        list.json_as::<kintara_api::BlockList>().blocked[0].user_id,
        c.provider.user.id
    );
    // Providers do not block; unblocking lets them write again.
    c.server
        .post(
            "/api/chat/blocks/",
            Some(&c.provider.access),
            &json!({"user_id": c.survivor.user.id}),
        )
        .await
        .expect_error(403, "only_roles");
    c.server
        .delete(
            &format!("/api/chat/blocks/{}/", c.provider.user.id),
            Some(&c.survivor.access),
        )
        .await
        .expect(204);
    c.sent(&c.provider, case_room, "I am here.").await;
}

#[tokio::test]
async fn messages_come_oldest_first_and_cursors_page_both_ways_without_gaps() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let mut ids = Vec::new();
    for i in 0..120 {
        let who = if i % 3 == 0 { &c.survivor } else { &c.provider };
        ids.push(c.sent(who, room, &format!("message {i}")).await.id);
    }
    // The default page: the newest 50, oldest first.
    let latest = c.page(&c.survivor, &format!("room_id={room}")).await;
    assert_eq!(latest.results.len(), 50);
    assert_eq!(latest.results.first().unwrap().id, ids[70]);
    assert_eq!(latest.results.last().unwrap().id, ids[119]);
    assert!(latest.next.is_none());
    assert_eq!(latest.results[0].content.as_deref(), Some("message 70"));

    // Backwards to the start.
    let mut seen: Vec<Uuid> = latest.results.iter().map(|m| m.id).collect();
    let mut previous = latest.previous.clone();
    while let Some(url) = previous {
        let resp = c.server.get(&url, Some(&c.survivor.access)).await;
        resp.expect(200);
        let p: ChatMessagePage = resp.json_as();
        let mut older: Vec<Uuid> = p.results.iter().map(|m| m.id).collect();
        older.extend(seen);
        seen = older;
        previous = p.previous;
    }
    assert_eq!(seen, ids);

    // Forwards from the start with another page size.
    let mut forward = Vec::new();
    let mut query = format!("room_id={room}&after=0&limit=7");
    loop {
        let p = c.page(&c.provider, &query).await;
        let seqs: Vec<i64> = p.results.iter().map(|m| m.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        forward.extend(p.results.iter().map(|m| m.id));
        match p.next_cursor {
            Some(cur) => query = format!("room_id={room}&after={cur}&limit=7"),
            None => break,
        }
    }
    assert_eq!(forward, ids);

    let max = c
        .page(&c.provider, &format!("room_id={room}&limit=200"))
        .await;
    assert_eq!(max.results.len(), 120);
    assert!(max.previous.is_none() && max.next.is_none());
    for bad in ["limit=201", "limit=0", "limit=x", "before=-1", "limit="] {
        c.server
            .get(
                &format!("/api/chat/messages/?room_id={room}&{bad}"),
                Some(&c.provider.access),
            )
            .await
            .expect(422);
    }
    c.server
        .get("/api/chat/messages/", Some(&c.provider.access))
        .await
        .expect_invalid(&["room_id"]);
}

#[tokio::test]
async fn a_retried_send_returns_the_first_message_and_stores_nothing_new() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let first = c
        .send(&c.survivor, room, "are you there?", Some("outbox-1"))
        .await;
    first.expect(201);
    let first: ChatMessage = first.json_as();
    assert_eq!(first.client_id.as_deref(), Some("outbox-1"));
    let retry = c
        .send(&c.survivor, room, "are you there?", Some("outbox-1"))
        .await;
    retry.expect(200);
    assert_eq!(retry.json_as::<ChatMessage>().id, first.id);
    assert_eq!(c.server.count("messages").await, 1);

    // Two at once with the same key: one message.
    let (a, b) = tokio::join!(
        c.send(&c.survivor, room, "twice", Some("outbox-2")),
        c.send(&c.survivor, room, "twice", Some("outbox-2")),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{} / {}", a.text, b.text);
    assert_eq!(a.json_as::<ChatMessage>().id, b.json_as::<ChatMessage>().id);
    assert_eq!(c.server.count("messages").await, 2);

    // The key belongs to its sender: the provider's outbox-1 is another message.
    c.send(&c.provider, room, "yes", Some("outbox-1"))
        .await
        .expect(201);
    let page = c.page(&c.survivor, &format!("room_id={room}")).await;
    let seqs: Vec<i64> = page.results.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3], "retries leave no holes");
}

#[tokio::test]
async fn content_must_be_non_blank_and_within_limits() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    c.send(&c.survivor, room, &"a".repeat(5001), None)
        .await
        .expect_invalid(&["content"]);
    c.send(&c.survivor, room, "   \n ", None)
        .await
        .expect_invalid(&["content"]);
    c.send(&c.survivor, room, "hi", Some(&"k".repeat(65)))
        .await
        .expect_invalid(&["client_id"]);
    c.server
        .post(
            "/api/chat/messages/",
            Some(&c.survivor.access),
            &json!({"room": room}),
        )
        .await
        .expect_invalid(&["content"]);
    assert_eq!(c.server.count("messages").await, 0);
    c.send(&c.survivor, room, &"é".repeat(5000), Some(&"k".repeat(64)))
        .await
        .expect(201);
}

#[tokio::test]
async fn someone_elses_room_does_not_exist_on_any_chat_endpoint() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let msg = c.sent(&c.survivor, room, "private").await;
    let other = c.server.register_survivor("outsider@example.org").await;
    let t = Some(other.access.as_str());
    let s = &c.server;
    let mut answers = vec![
        s.get(&format!("/api/chat/messages/?room_id={room}"), t)
            .await,
        s.post(
            "/api/chat/messages/",
            t,
            &json!({"room": room, "content": "x"}),
        )
        .await,
        s.delete(&format!("/api/chat/messages/{}/", msg.id), t)
            .await,
        s.post(
            &format!("/api/chat/messages/{}/mark_read/", msg.id),
            t,
            &json!({}),
        )
        .await,
        s.post(&format!("/api/chat/rooms/{room}/mark_read/"), t, &json!({}))
            .await,
        s.delete(&format!("/api/chat/rooms/{room}/"), t).await,
        s.post(
            &format!("/api/chat/rooms/{room}/typing/"),
            t,
            &json!({"is_typing": true}),
        )
        .await,
        s.post("/api/chat/heartbeat/", t, &json!({"room_id": room}))
            .await,
    ];
    // A room that does not exist answers the same.
    answers.push(
        s.get(
            &format!("/api/chat/messages/?room_id={}", Uuid::new_v4()),
            t,
        )
        .await,
    );
    for a in &answers {
        a.expect_error(404, "not_found");
        assert!(!a.text.contains("private"));
    }
    assert!(c.rooms(&other).await.is_empty());
    assert_eq!(c.server.count("messages").await, 1);
}

#[tokio::test]
async fn a_closed_case_room_is_read_only_but_keeps_its_history() {
    let c = Chat::new().await;
    let (incident, room) = c.case_room(&c.provider).await;
    c.sent(&c.survivor, room, "thank you").await;
    c.server
        .patch(
            &format!("/api/providers/cases/{}/status/", incident.id),
            Some(&c.provider.access),
            &json!({ "status": "completed" }),
        )
        .await
        .expect(200);
    c.server
        .post(
            &format!("/api/dispatch/cases/{}/close/", incident.id),
            Some(&c.dispatcher.access),
            &json!({ "reason": "Referred on" }),
        )
        .await
        .expect(200);
    // The survivor keeps the conversation's history, read-only.
    let who = &c.survivor;
    c.send(who, room, "one more", None)
        .await
        .expect_error(409, "room_read_only");
    c.server
        .post(
            &format!("/api/chat/rooms/{room}/typing/"),
            Some(&who.access),
            &json!({"is_typing": true}),
        )
        .await
        .expect(409);
    let page = c.page(who, &format!("room_id={room}")).await;
    assert_eq!(page.results.len(), 1);
    let r = c.room(who, room).await;
    assert!(r.read_only && !r.is_active);
    // The provider keeps only the case's record: the conversation is gone for them.
    c.send(&c.provider, room, "one more", None)
        .await
        .expect_error(404, "not_found");
    c.server
        .get(
            &format!("/api/chat/messages/?room_id={room}"),
            Some(&c.provider.access),
        )
        .await
        .expect_error(404, "not_found");
    assert_eq!(c.server.count("messages").await, 1);
    // Reopened (closed by mistake), it is theirs again, writable.
    c.server
        .post(
            &format!("/api/dispatch/cases/{}/reopen/", incident.id),
            Some(&c.dispatcher.access),
            &json!({ "reason": "Closed by mistake" }),
        )
        .await
        .expect(200);
    c.send(&c.provider, room, "back on it", None)
        .await
        .expect(201);
}

#[tokio::test]
async fn unread_counts_follow_read_positions_which_only_move_forward() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let mut msgs = Vec::new();
    for i in 0..3 {
        msgs.push(c.sent(&c.provider, room, &format!("update {i}")).await);
    }
    assert_eq!(c.room(&c.survivor, room).await.unread_count, 3);
    assert_eq!(
        c.room(&c.provider, room).await.unread_count,
        0,
        "own messages are not unread"
    );

    let r = c
        .mark_read(
            &c.survivor,
            &format!("/api/chat/messages/{}/mark_read/", msgs[1].id),
        )
        .await;
    assert_eq!((r.updated_count, r.last_read_seq), (2, 2));
    assert_eq!(c.room(&c.survivor, room).await.unread_count, 1);
    // An older message does not move the position back.
    let r = c
        .mark_read(
            &c.survivor,
            &format!("/api/chat/messages/{}/mark_read/", msgs[0].id),
        )
        .await;
    assert_eq!((r.updated_count, r.last_read_seq), (0, 2));
    assert_eq!(c.room(&c.survivor, room).await.unread_count, 1);
    let page = c.page(&c.survivor, &format!("room_id={room}")).await;
    let read: Vec<bool> = page.results.iter().map(|m| m.is_read).collect();
    assert_eq!(read, [true, true, false]);

    let r = c
        .mark_read(&c.survivor, &format!("/api/chat/rooms/{room}/mark_read/"))
        .await;
    assert_eq!((r.updated_count, r.last_read_seq), (1, 3));
    assert_eq!(c.room(&c.survivor, room).await.unread_count, 0);

    // Her reply is unread for him only; the last message is hers.
    let reply = c.sent(&c.survivor, room, "ok").await;
    assert_eq!(c.room(&c.survivor, room).await.unread_count, 0);
    let his = c.room(&c.provider, room).await;
    assert_eq!(his.unread_count, 1);
    assert_eq!(his.last_message.unwrap().id, reply.id);
    // A deleted message stops counting.
    c.server
        .delete(
            &format!("/api/chat/messages/{}/", reply.id),
            Some(&c.survivor.access),
        )
        .await
        .expect(204);
    assert_eq!(c.room(&c.provider, room).await.unread_count, 0);
}

/// Deleted means deleted: the text leaves the message, and every copy of it in the event logs,
/// and open clients get a `message_deleted` frame.
#[tokio::test]
async fn a_deleted_messages_text_is_gone_from_every_log() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let secret = "the address where I stay now: 7 Ngong Road";
    let msg = c.sent(&c.survivor, room, secret).await;
    let log = |who: &Account| {
        let s = &c.server;
        let token = who.access.clone();
        async move { s.get("/api/events/?since=0", Some(&token)).await.text }
    };
    assert!(log(&c.provider).await.contains(secret));

    // Only the sender may delete it; a refusal changes nothing.
    c.server
        .delete(
            &format!("/api/chat/messages/{}/", msg.id),
            Some(&c.provider.access),
        )
        .await
        .expect(403);
    assert!(log(&c.provider).await.contains(secret));

    c.server
        .delete(
            &format!("/api/chat/messages/{}/", msg.id),
            Some(&c.survivor.access),
        )
        .await
        .expect(204);
    for who in [&c.provider, &c.survivor] {
        let text = log(who).await;
        assert!(!text.contains(secret), "{text}");
        let page: kintara_api::EventsPage = serde_json::from_str(&text).unwrap();
        let dropped = page.events.iter().any(|f| {
            matches!(&f.event, kintara_api::Event::MessageDeleted(d)
                if d.message_id == msg.id && d.room == room)
        });
        assert!(dropped, "no message_deleted frame: {text}");
        let messages = c.page(who, &format!("room_id={room}")).await;
        let shown = messages.results.iter().find(|m| m.id == msg.id).unwrap();
        assert!(shown.is_deleted && shown.content.is_none(), "{shown:?}");
    }
}

#[tokio::test]
async fn read_receipts_show_only_for_readers_who_share_them() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let hers = c.sent(&c.survivor, room, "did you get the photo?").await;
    let his = c.sent(&c.provider, room, "yes").await;
    // He replied, so he has read hers; he shares receipts.
    let page = c.page(&c.survivor, &format!("room_id={room}")).await;
    assert_eq!(page.results[0].read_by, [c.provider.user.id]);
    assert!(page.results[0].is_read);
    // She reads his, but shares nothing by default.
    c.mark_read(&c.survivor, &format!("/api/chat/rooms/{room}/mark_read/"))
        .await;
    let page = c.page(&c.provider, &format!("room_id={room}")).await;
    assert_eq!(page.results[1].id, his.id);
    assert!(page.results[1].read_by.is_empty());
    assert!(!page.results[1].is_read);
    // When she chooses to share, he sees it.
    c.settings(&c.survivor, ALL_ON).await;
    let page = c.page(&c.provider, &format!("room_id={room}")).await;
    assert_eq!(page.results[1].read_by, [c.survivor.user.id]);
    // And when he stops sharing, she no longer sees his.
    c.settings(&c.provider, ALL_OFF).await;
    let page = c.page(&c.survivor, &format!("room_id={room}")).await;
    assert_eq!(page.results[0].id, hers.id);
    assert!(page.results[0].read_by.is_empty());
}

#[tokio::test]
async fn survivors_share_nothing_until_they_choose_to() {
    let c = Chat::new().await;
    let get = |who: &Account| {
        let token = who.access.clone();
        let s = &c.server;
        async move {
            let resp = s.get("/api/chat/settings/", Some(&token)).await;
            resp.expect(200);
            resp.json_as::<ChatSettings>()
        }
    };
    assert_eq!(get(&c.survivor).await, ALL_OFF);
    assert_eq!(get(&c.provider).await, ALL_ON);
    assert_eq!(get(&c.dispatcher).await, ALL_ON);
    let some = ChatSettings {
        read_receipts: true,
        typing_indicators: false,
        presence: true,
    };
    c.settings(&c.survivor, some).await;
    assert_eq!(get(&c.survivor).await, some);
    c.server
        .put(
            "/api/chat/settings/",
            Some(&c.survivor.access),
            &json!({"read_receipts": true}),
        )
        .await
        .expect(422);
    c.server
        .put(
            "/api/chat/settings/",
            Some(&c.survivor.access),
            &json!({"read_receipts": true, "typing_indicators": true, "presence": true, "x": 1}),
        )
        .await
        .expect(422);
    assert_eq!(get(&c.survivor).await, some);
}

#[tokio::test]
async fn typing_shows_briefly_and_only_when_shared() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let typing = |who: &Account, on: bool| {
        let token = who.access.clone();
        let s = &c.server;
        async move {
            let resp = s
                .post(
                    &format!("/api/chat/rooms/{room}/typing/"),
                    Some(&token),
                    &json!({"is_typing": on}),
                )
                .await;
            resp.expect(200);
            resp.json_as::<TypingResult>()
        }
    };
    let t = typing(&c.provider, true).await;
    assert!(t.is_typing);
    let until = t.until.unwrap() - chrono::Utc::now();
    assert!(
        until > chrono::Duration::seconds(4) && until <= chrono::Duration::seconds(6),
        "{until}"
    );
    assert_eq!(c.room(&c.survivor, room).await.typing, [c.provider.user.id]);
    assert!(
        c.room(&c.provider, room).await.typing.is_empty(),
        "not shown to oneself"
    );
    // Six seconds on, it is gone by itself.
    let past = kintara_server::db::ts(chrono::Utc::now() - chrono::Duration::seconds(1));
    c.server
        .exec("UPDATE typing SET until = $1", &[&past])
        .await;
    assert!(c.room(&c.survivor, room).await.typing.is_empty());
    // Stopping clears it at once.
    typing(&c.provider, true).await;
    typing(&c.provider, false).await;
    assert!(c.room(&c.survivor, room).await.typing.is_empty());
    // The survivor does not share typing by default: ignored.
    let t = typing(&c.survivor, true).await;
    assert!(!t.is_typing);
    assert!(c.room(&c.provider, room).await.typing.is_empty());
    assert_eq!(c.server.count("typing").await, 0);
}

#[tokio::test]
async fn online_users_are_those_sharing_a_room_and_their_presence() {
    let c = Chat::new().await;
    let (_, _room) = c.case_room(&c.provider).await;
    let legal = c.login("legal").await;
    let other = c.server.register_survivor("far.away@example.org").await;
    c.settings(&other, ALL_ON).await;
    for who in [&c.survivor, &c.provider, &legal, &other] {
        c.heartbeat(who, None).await;
    }
    // She sees him; he does not see her (presence off by default); strangers see no one.
    assert_eq!(c.online(&c.survivor).await, [c.provider.user.id]);
    assert!(c.online(&c.provider).await.is_empty());
    assert!(c.online(&other).await.is_empty());
    assert!(c.online(&legal).await.is_empty());
    c.settings(&c.survivor, ALL_ON).await;
    assert_eq!(c.online(&c.provider).await, [c.survivor.user.id]);
    // Explicit sign-off, and silence for more than five minutes.
    c.server
        .post(
            "/api/chat/mark-offline/",
            Some(&c.provider.access),
            &json!({}),
        )
        .await
        .expect(200);
    assert!(c.online(&c.survivor).await.is_empty());
    c.heartbeat(&c.provider, None).await;
    assert_eq!(c.online(&c.survivor).await, [c.provider.user.id]);
    let old = kintara_server::db::ts(chrono::Utc::now() - chrono::Duration::seconds(301));
    c.server
        .exec(
            "UPDATE presence SET last_seen_at = $1 WHERE user_id = $2",
            &[&old, &c.provider.user.id.to_string()],
        )
        .await;
    assert!(c.online(&c.survivor).await.is_empty());
}

#[tokio::test]
async fn new_message_notifications_go_to_those_not_reading_and_tell_survivors_nothing() {
    let c = Chat::new().await;
    let (incident, room) = c.case_room(&c.provider).await;
    // She has the room open: no notification for her.
    c.heartbeat(&c.survivor, Some(room)).await;
    c.sent(&c.provider, room, "the clinic opens at 9").await;
    assert!(c.new_messages(&c.survivor).await.is_empty());
    assert!(
        c.new_messages(&c.provider).await.is_empty(),
        "not for one's own message"
    );

    // Half a minute later she is no longer reading.
    let old = kintara_server::db::ts(chrono::Utc::now() - chrono::Duration::seconds(31));
    c.server
        .exec(
            "UPDATE conversation_participants SET reading_at = $1",
            &[&old],
        )
        .await;
    c.sent(&c.provider, room, "bring the medical card").await;
    let hers = c.new_messages(&c.survivor).await;
    assert_eq!(hers.len(), 1);
    let n = &hers[0];
    assert_eq!(n.notification_type, NotificationType::NewMessage);
    assert_eq!(n.conversation, Some(room));
    assert_eq!(n.message, "You have a new message.");
    for text in [&n.subject, &n.message] {
        assert!(!text.contains("medical"), "{text}");
        assert!(!text.contains(&incident.case_number), "{text}");
    }

    // Sending counts as reading too; once he has been away half a minute, her reply notifies
    // him, without its content.
    c.server
        .exec(
            "UPDATE conversation_participants SET reading_at = $1",
            &[&old],
        )
        .await;
    c.sent(&c.survivor, room, "I will bring it").await;
    let his = c.new_messages(&c.provider).await;
    assert_eq!(his.len(), 1);
    assert_eq!(his[0].conversation, Some(room));
    assert!(!his[0].message.contains("bring"), "{}", his[0].message);
    // Marking the room read counts as reading it.
    c.mark_read(&c.provider, &format!("/api/chat/rooms/{room}/mark_read/"))
        .await;
    c.sent(&c.survivor, room, "see you").await;
    assert_eq!(c.new_messages(&c.provider).await.len(), 1);
    // Signing off ends reading.
    c.server
        .post(
            "/api/chat/mark-offline/",
            Some(&c.provider.access),
            &json!({}),
        )
        .await
        .expect(200);
    c.sent(&c.survivor, room, "thanks").await;
    assert_eq!(c.new_messages(&c.provider).await.len(), 2);
}

#[tokio::test]
async fn deleting_and_leaving() {
    let c = Chat::new().await;
    let (_, case_room) = c.case_room(&c.provider).await;
    let mine = c.sent(&c.survivor, case_room, "delete me").await;
    let his = c.sent(&c.provider, case_room, "keep").await;
    c.server
        .delete(
            &format!("/api/chat/messages/{}/", his.id),
            Some(&c.survivor.access),
        )
        .await
        .expect_error(403, "not_the_sender");
    c.server
        .delete(
            &format!("/api/chat/messages/{}/", mine.id),
            Some(&c.survivor.access),
        )
        .await
        .expect(204);
    let page = c.page(&c.provider, &format!("room_id={case_room}")).await;
    assert!(page.results[0].is_deleted);
    assert_eq!(page.results[0].content, None);
    assert_eq!(page.results[1].content.as_deref(), Some("keep"));
    let stored: String = sqlx::query_scalar("SELECT content FROM messages WHERE id = $1")
        .bind(mine.id.to_string())
        .fetch_one(&c.server.running.state.db.read)
        .await
        .unwrap();
    assert_eq!(stored, "", "the content is erased, not just hidden");
    // A case room cannot be left.
    c.server
        .delete(
            &format!("/api/chat/rooms/{case_room}/"),
            Some(&c.survivor.access),
        )
        .await
        .expect_error(409, "case_room_stays");

    // A direct room can: it leaves her list until something new arrives.
    let direct: ChatRoom = c.direct(&c.survivor, c.provider.user.id).await.json_as();
    c.server
        .delete(
            &format!("/api/chat/rooms/{}/", direct.id),
            Some(&c.survivor.access),
        )
        .await
        .expect(204);
    assert!(c.rooms(&c.survivor).await.iter().all(|r| r.id != direct.id));
    assert!(c.rooms(&c.provider).await.iter().any(|r| r.id == direct.id));
    c.sent(&c.provider, direct.id, "still there?").await;
    let back = c.room(&c.survivor, direct.id).await;
    assert_eq!(back.unread_count, 1);
    // The newest room comes first.
    assert_eq!(c.rooms(&c.survivor).await[0].id, direct.id);
}

#[tokio::test]
async fn a_dispatcher_joins_a_case_conversation_takes_part_and_leaves_it() {
    let c = Chat::new().await;
    let join = |incident: Uuid, who: &Account| {
        let path = format!("/api/chat/case-rooms/{incident}/join/");
        let access = who.access.clone();
        let server = &c.server;
        async move { server.post(&path, Some(&access), &json!({})).await }
    };
    // No such case; a case whose conversation has not opened yet.
    join(Uuid::new_v4(), &c.dispatcher)
        .await
        .expect_error(404, "not_found");
    let waiting = c.assigned(&c.provider, &report("not accepted yet")).await;
    join(waiting.id, &c.dispatcher)
        .await
        .expect_error(409, "no_case_room_yet");
    // Providers and survivors are in their case's room by the case; they cannot join others.
    let (incident, room) = c.case_room(&c.provider).await;
    let other = c.login("legal").await;
    join(incident.id, &other).await.expect(403);
    join(incident.id, &c.survivor).await.expect(403);

    let c1 = c
        .sent(&c.survivor, room, "before the dispatcher came")
        .await;
    let joined: ChatRoom = {
        let r = join(incident.id, &c.dispatcher).await;
        r.expect(201);
        r.json_as()
    };
    assert_eq!(joined.id, room);
    join(incident.id, &c.dispatcher).await.expect(200);
    // She sees who reads her conversation now.
    let hers = c.room(&c.survivor, room).await;
    assert!(
        hers.participants
            .iter()
            .any(|p| p.id == c.dispatcher.user.id),
        "{:?}",
        hers.participants
    );
    // The dispatcher reads it from its first message and writes in it.
    let page = c.page(&c.dispatcher, &format!("room_id={room}")).await;
    assert_eq!(page.results[0].id, c1.id);
    c.sent(&c.dispatcher, room, "I am here to help coordinate.")
        .await;
    let seen = c.page(&c.survivor, &format!("room_id={room}")).await;
    assert!(seen
        .results
        .iter()
        .any(|m| m.content.as_deref() == Some("I am here to help coordinate.")));

    // Leaving: gone from their list, nothing more of it reaches them; the others stay.
    c.server
        .delete(
            &format!("/api/chat/rooms/{room}/"),
            Some(&c.dispatcher.access),
        )
        .await
        .expect(204);
    assert!(c.rooms(&c.dispatcher).await.iter().all(|r| r.id != room));
    c.server
        .get(
            &format!("/api/chat/messages/?room_id={room}"),
            Some(&c.dispatcher.access),
        )
        .await
        .expect(404);
    c.sent(&c.survivor, room, "after the dispatcher left").await;
    assert!(c
        .new_messages(&c.dispatcher)
        .await
        .iter()
        .all(|n| n.conversation != Some(room)));
    for stays in [&c.survivor, &c.provider] {
        c.server
            .delete(&format!("/api/chat/rooms/{room}/"), Some(&stays.access))
            .await
            .expect_error(409, "case_room_stays");
    }
    // And may come back.
    join(incident.id, &c.dispatcher).await.expect(201);
}

#[tokio::test]
async fn a_provider_taken_off_the_case_loses_its_room_and_the_next_one_joins_it() {
    let c = Chat::new().await;
    let (incident, room) = c.case_room(&c.provider).await;
    let before = c.sent(&c.provider, room, "I will call you tomorrow").await;
    let legal = c.login("legal").await;
    c.server
        .post(
            &format!("/api/dispatch/cases/{}/reassign/", incident.id),
            Some(&c.dispatcher.access),
            &json!({"new_provider_id": legal.user.id, "reason": "Needs legal help"}),
        )
        .await
        .expect(200);
    // The old provider: no room, no history, no sending.
    assert!(c.rooms(&c.provider).await.is_empty());
    c.server
        .get(
            &format!("/api/chat/messages/?room_id={room}"),
            Some(&c.provider.access),
        )
        .await
        .expect_error(404, "not_found");
    c.send(&c.provider, room, "still here?", None)
        .await
        .expect_error(404, "not_found");
    c.server
        .post(
            &format!("/api/chat/messages/{}/mark_read/", before.id),
            Some(&c.provider.access),
            &json!({}),
        )
        .await
        .expect(404);
    // Nor is he told about her messages, or listed to her.
    c.sent(&c.survivor, room, "hello?").await;
    assert!(c.new_messages(&c.provider).await.is_empty());
    let hers = c.room(&c.survivor, room).await;
    assert_eq!(hers.participants.len(), 1);
    // The new provider joins the same room on accepting.
    c.accept(&legal, incident.id).await;
    let theirs = c.room(&legal, room).await;
    assert_eq!(theirs.participants.len(), 2);
    assert_eq!(theirs.unread_count, 2);
}

#[tokio::test]
async fn concurrent_sends_get_distinct_consecutive_positions() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let c = &c;
    let sends = (0..24).map(|i| {
        let who = if i % 2 == 0 { &c.survivor } else { &c.provider };
        let key = format!("burst-{i}");
        async move { c.send(who, room, &format!("burst {i}"), Some(&key)).await }
    });
    for resp in futures::future::join_all(sends).await {
        resp.expect(201);
    }
    let page = c
        .page(&c.survivor, &format!("room_id={room}&limit=200"))
        .await;
    let seqs: Vec<i64> = page.results.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=24).collect::<Vec<i64>>());
    let r = c.room(&c.provider, room).await;
    assert_eq!(r.last_message.unwrap().seq, 24);
}

/// Sends that arrive together are stored together (one transaction per batch): each still gets
/// its own outcome, a retry racing its first try stores nothing new, and every recipient's log
/// holds each message once, in order, with its notification.
#[tokio::test]
async fn sends_arriving_together_keep_their_own_outcomes() {
    let c = Chat::new().await;
    let (_, room) = c.case_room(&c.provider).await;
    let stranger = c.login("legal").await;
    let c = &c;
    let sends = (0..30).flat_map(|i| {
        let key = format!("together-{i}");
        // Every message twice at once: a client's retry racing its first try.
        [0, 1].map(move |_| {
            let key = key.clone();
            async move {
                let resp = c
                    .send(&c.survivor, room, &format!("together {i}"), Some(&key))
                    .await;
                (i, resp)
            }
        })
    });
    let strangers = (0..5).map(|i| {
        let stranger = &stranger;
        async move {
            c.send(stranger, room, &format!("not mine {i}"), None)
                .await
                .status
                .as_u16()
        }
    });
    let (answers, refused) = futures::future::join(
        futures::future::join_all(sends),
        futures::future::join_all(strangers),
    )
    .await;
    assert!(refused.iter().all(|s| *s == 404), "{refused:?}");
    let mut by_key: std::collections::BTreeMap<usize, Vec<(u16, ChatMessage)>> = Default::default();
    for (i, resp) in answers {
        let status = resp.status.as_u16();
        assert!(status == 201 || status == 200, "{status}");
        by_key.entry(i).or_default().push((status, resp.json_as()));
    }
    for (i, pair) in &by_key {
        let mut statuses: Vec<u16> = pair.iter().map(|(s, _)| *s).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 201],
            "message {i}: one stored, one answered"
        );
        assert_eq!(pair[0].1.id, pair[1].1.id, "message {i}: the same message");
    }
    let page = c
        .page(&c.survivor, &format!("room_id={room}&limit=200"))
        .await;
    let seqs: Vec<i64> = page.results.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<i64>>());

    // The provider's log: each message once, in order, each followed by its notification.
    let resp = c
        .server
        .get("/api/events/?since=0&timeout=0", Some(&c.provider.access))
        .await;
    resp.expect(200);
    let frames: Value = resp.json_as();
    let frames = frames["events"].as_array().expect("frames").clone();
    let chat: Vec<(String, i64)> = frames
        .iter()
        .filter_map(|f| {
            let kind = f["type"].as_str()?;
            match kind {
                "new_message" => Some((kind.to_owned(), f["data"]["seq"].as_i64()?)),
                "notification" if f["data"]["notification_type"] == "new_message" => {
                    Some((kind.to_owned(), 0))
                }
                _ => None,
            }
        })
        .collect();
    let expected: Vec<(String, i64)> = (1..=30)
        .flat_map(|s| {
            [
                ("new_message".to_owned(), s),
                ("notification".to_owned(), 0),
            ]
        })
        .collect();
    assert_eq!(chat, expected);
    let cursors: Vec<i64> = frames
        .iter()
        .map(|f| f["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        cursors.windows(2).all(|w| w[1] == w[0] + 1),
        "the log has no gaps: {cursors:?}"
    );
    assert_eq!(c.new_messages(&c.provider).await.len(), 30);
}
