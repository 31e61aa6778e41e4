//! The client's reads behind the app's chat history and availability switch, against a real
//! server: a room longer than a page opens on its newest page and pages back with `before`
//! to its first message, each message once; a provider reads back the availability they set,
//! and nobody else has one to read.

use std::sync::Arc;

use kintara_api::{AssignRequest, SendMessage};
use kintara_core::{Client, CoreError, MemoryStore};

async fn signed_in(url: &str, who: &str) -> Arc<Client> {
    let client = Client::new(url, Arc::new(MemoryStore::default())).expect("client");
    client
        .login(&format!("{who}@kintara.test"), "kintara-demo")
        .await
        .expect("login");
    Arc::new(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_room_pages_back_to_its_first_message_and_availability_reads_back() {
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = kintara_server::testing::config(server_dir.path()).await;
    config.demo = true;
    let server = kintara_server::start(config).await.unwrap();
    let url = server.url();
    let survivor = signed_in(&url, "survivor").await;
    let provider = signed_in(&url, "counseling").await;
    let dispatcher = signed_in(&url, "dispatcher").await;

    // A case room between the survivor and the provider.
    let report = serde_json::from_value(serde_json::json!({
        "type": "emotional", "incident_date": "2026-11-01", "description": "history test",
        "location": {"address": "Nakuru"}, "support_services": ["counseling"]
    }))
    .unwrap();
    let incident = survivor.create_incident(&report).await.unwrap();
    let provider_id = provider.current_user().unwrap().id;
    let assign: AssignRequest =
        serde_json::from_value(serde_json::json!({"provider_ids": [provider_id]})).unwrap();
    dispatcher.assign(incident.id, &assign).await.unwrap();
    provider.accept_assignment(incident.id, None).await.unwrap();
    let room = provider.rooms().await.unwrap().results[0].id;
    let before_ours = provider
        .messages(room, None, 200)
        .await
        .unwrap()
        .results
        .len();
    for n in 1..=130 {
        provider
            .send_message(&SendMessage {
                room,
                content: format!("line {n}"),
                client_id: Some(format!("line-{n}")),
            })
            .await
            .unwrap();
    }
    let total = before_ours + 130;

    // The newest page, then pages back until the server says there is nothing older.
    let newest = survivor.messages(room, None, 100).await.unwrap();
    assert_eq!(newest.results.len(), 100);
    assert_eq!(
        newest.results.last().unwrap().content.as_deref(),
        Some("line 130")
    );
    let mut seen = newest.results;
    let mut cursor = newest.previous_cursor;
    while let Some(c) = cursor {
        let before: i64 = c.parse().expect("a seq");
        assert_eq!(before, seen[0].seq, "the cursor is the first shown message");
        let page = survivor.older_messages(room, before, 50).await.unwrap();
        assert!(!page.results.is_empty() && page.results.len() <= 50);
        assert!(page.results.iter().all(|m| m.seq < before));
        cursor = page.previous_cursor;
        seen.splice(0..0, page.results);
    }
    assert_eq!(seen.len(), total, "every message once");
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
    assert_eq!(seen[0].seq, 1);
    let lines: Vec<_> = seen.iter().filter_map(|m| m.content.clone()).collect();
    assert!(lines.contains(&"line 1".to_owned()));

    // Availability: the provider reads back what they set; others have none to read.
    assert!(
        provider
            .availability()
            .await
            .unwrap()
            .profile
            .is_currently_available
    );
    provider.set_availability(false).await.unwrap();
    let again = signed_in(&url, "counseling").await;
    assert!(
        !again
            .availability()
            .await
            .unwrap()
            .profile
            .is_currently_available
    );
    for other in [&survivor, &dispatcher] {
        match other.availability().await {
            Err(CoreError::Api { status: 403, .. }) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
