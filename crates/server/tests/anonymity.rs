//! An anonymous reporter's name, planted on her account, reaches no provider by any channel:
//! not over REST (cases, timeline, evidence, rooms, messages, notifications, presence), not in
//! the event log (long-poll), not over the WebSocket, whatever she does in the case (messages in
//! the case room and a direct room, typing, reading, a photo, status changes).

#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use kintara_api::{ChatRoom, ChatRoomList, Incident};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const FIRST: &str = "Zuhura";
const LAST: &str = "Plantedname";

fn assert_clean(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for name in [FIRST, LAST] {
        assert!(
            !lower.contains(&name.to_lowercase()),
            "{name} reached a provider in {what}: {text}"
        );
    }
}

/// Every frame of `token`'s log replayed over the WebSocket, as text (read until quiet).
async fn socket_replay(server: &TestServer, token: &str) -> String {
    let url = server
        .url(&format!("/ws/?token={token}&since=0"))
        .replacen("http://", "ws://", 1);
    let (mut ws, _) = connect_async(url).await.expect("socket");
    let mut all = String::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(800), ws.next()).await
    {
        if let Message::Text(t) = msg {
            all.push_str(&t);
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn an_anonymous_reporters_planted_name_reaches_no_provider_by_any_channel() {
    let server = TestServer::demo().await;
    let mut reg = survivor_registration("quiet.reporter@example.org");
    reg["is_anonymous"] = json!(true);
    reg["first_name"] = json!(FIRST);
    reg["last_name"] = json!(LAST);
    let resp = server.register(&reg).await;
    resp.expect(201);
    let her = Account::from_auth(resp.json_as());
    let dispatcher = server.demo_login("dispatcher").await;
    let accepted = server.demo_login("healthcare").await;
    let offered = server.demo_login("legal").await;

    // Her report, anonymous; one provider accepts, another is only offered it.
    let mut body = report("He follows me home from the market.");
    body["is_anonymous"] = json!(true);
    let incident = server.create_report(&her.access, &body).await;
    server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&dispatcher.access),
            &json!({ "provider_ids": [accepted.user.id, offered.user.id] }),
        )
        .await
        .expect(200);
    server
        .patch(
            &format!("/api/incidents/{}/accept/", incident.id),
            Some(&accepted.access),
            &json!({}),
        )
        .await
        .expect(200);

    // Everything she does in the case.
    let rooms: ChatRoomList = server
        .get("/api/chat/rooms/", Some(&her.access))
        .await
        .json_as();
    let case_room = rooms.results[0].id;
    server
        .post(
            "/api/chat/messages/",
            Some(&her.access),
            &json!({"room": case_room, "content": "Can you call after six?"}),
        )
        .await
        .expect(201);
    let direct: ChatRoom = server
        .post(
            "/api/chat/rooms/create_direct_chat/",
            Some(&her.access),
            &json!({"user_id": accepted.user.id}),
        )
        .await
        .json_as();
    server
        .post(
            "/api/chat/messages/",
            Some(&her.access),
            &json!({"room": direct.id, "content": "Only here, please."}),
        )
        .await
        .expect(201);
    for room in [case_room, direct.id] {
        server
            .post(
                &format!("/api/chat/rooms/{room}/typing/"),
                Some(&her.access),
                &json!({"is_typing": true}),
            )
            .await
            .expect(200);
        server
            .post(
                &format!("/api/chat/rooms/{room}/mark_read/"),
                Some(&her.access),
                &json!({}),
            )
            .await
            .expect(200);
    }
    server
        .put(
            "/api/chat/settings/",
            Some(&her.access),
            &json!({"read_receipts": true, "typing_indicators": true, "presence": true}),
        )
        .await
        .expect(200);
    server
        .post("/api/chat/heartbeat/", Some(&her.access), &json!({}))
        .await
        .expect(200);
    let png: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];
    let part = reqwest::multipart::Part::bytes(png.to_vec())
        .file_name("door.png")
        .mime_str("image/png")
        .unwrap();
    Resp::from(
        server
            .request(
                Method::POST,
                &format!("/api/incidents/{}/evidence/", incident.id),
            )
            .bearer_auth(&her.access)
            .multipart(reqwest::multipart::Form::new().part("file", part)),
    )
    .await
    .expect(201);
    server
        .patch(
            &format!("/api/incidents/{}/", incident.id),
            Some(&her.access),
            &json!({"description": "He follows me home from the market, every day."}),
        )
        .await
        .expect(200);
    server
        .patch(
            &format!("/api/providers/cases/{}/status/", incident.id),
            Some(&accepted.access),
            &json!({"status": "completed"}),
        )
        .await
        .expect(200);

    // What each provider can see, by every channel.
    for provider in [&accepted, &offered] {
        let token = Some(provider.access.as_str());
        let mut paths = vec![
            "/api/providers/assigned-cases/".to_owned(),
            format!("/api/incidents/{}/", incident.id),
            format!("/api/incidents/{}/timeline/", incident.id),
            format!("/api/incidents/{}/evidence/", incident.id),
            "/api/chat/rooms/".to_owned(),
            "/api/chat/online-users/".to_owned(),
            "/api/notifications/?page_size=100".to_owned(),
            "/api/events/?since=0&timeout=0".to_owned(),
        ];
        for room in [case_room, direct.id] {
            paths.push(format!("/api/chat/messages/?room_id={room}"));
        }
        for path in paths {
            let resp = server.get(&path, token).await;
            assert_clean(&path, &resp.text);
        }
        assert_clean(
            "the WebSocket",
            &socket_replay(&server, &provider.access).await,
        );
    }
    // The accepted provider did get the case, the messages and the notifications: the checks
    // above looked at something.
    let seen: Incident = server
        .get(
            &format!("/api/incidents/{}/", incident.id),
            Some(&accepted.access),
        )
        .await
        .json_as();
    assert!(seen.description.contains("every day"));
    let feed = server
        .get("/api/notifications/", Some(&accepted.access))
        .await;
    assert!(feed.text.contains("Anonymous"), "{}", feed.text);
}
