//! The local cache against a real server: filled by a full fetch and by the event stream, read
//! back offline from the sealed SQLite file after the server is gone, and refilled when the
//! server says the client's cursor is too old.

use std::sync::Arc;
use std::time::Duration;

use kintara_api::{AssignRequest, SendMessage};
use kintara_core::sync::{SyncConfig, SyncEvent, SyncService, SyncState};
use kintara_core::vault::Vault;
use kintara_core::{Cache, Client, LocalStore, MemoryStore, SqliteLocal};
use uuid::Uuid;

async fn signed_in(url: &str, who: &str) -> Arc<Client> {
    let client = Client::new(url, Arc::new(MemoryStore::default())).expect("client");
    client
        .login(&format!("{who}@kintara.test"), "kintara-demo")
        .await
        .expect("login");
    Arc::new(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_follows_the_stream_and_reads_offline_after_the_server_is_gone() {
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = kintara_server::testing::config(server_dir.path()).await;
    config.demo = true;
    let server = kintara_server::start(config).await.unwrap();
    let url = server.url();
    let survivor = signed_in(&url, "survivor").await;
    let provider = signed_in(&url, "counseling").await;
    let dispatcher = signed_in(&url, "dispatcher").await;
    let report = serde_json::from_value(serde_json::json!({
        "type": "emotional", "incident_date": "2026-11-01", "description": "cache test",
        "location": {"address": "Nakuru"}, "support_services": ["counseling"]
    }))
    .unwrap();
    let incident = survivor.create_incident(&report).await.unwrap();
    let provider_id = provider.current_user().unwrap().id;
    let assign: AssignRequest =
        serde_json::from_value(serde_json::json!({"provider_ids": [provider_id]})).unwrap();
    dispatcher.assign(incident.id, &assign).await.unwrap();
    provider.accept_assignment(incident.id, None).await.unwrap();

    // The survivor's device: a sealed SQLite store, filled once, then kept current live.
    let device = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let db = device.path().join("local.db");
    let local = Arc::new(SqliteLocal::open(&db, Vault::from_key(key)).await.unwrap());
    let cache = Cache::new(local.clone());
    cache.refresh_all(&survivor).await.unwrap();
    let rooms = cache.rooms().await.unwrap();
    assert_eq!(rooms.len(), 1);
    let room = rooms[0].id;
    assert_eq!(cache.cases().await.unwrap()[0].id, incident.id);

    let sync = SyncService::with_config(survivor.clone(), local.clone(), SyncConfig::default());
    let mut events = sync.events();
    let mut state = sync.state();
    tokio::spawn(sync.clone().run());
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| *s == SyncState::Online),
    )
    .await
    .unwrap()
    .unwrap();
    for i in 0..3 {
        provider
            .send_message(&SendMessage {
                room,
                content: format!("offline-readable {i}"),
                client_id: Some(Uuid::new_v4().to_string()),
            })
            .await
            .unwrap();
    }
    let mut seen = 0;
    while seen < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("frames")
            .unwrap();
        if let SyncEvent::Frame(f) = &ev {
            if f.kind() == kintara_api::EventType::NewMessage {
                seen += 1;
            }
        }
        assert!(!cache.apply(&ev).await.unwrap(), "no resync needed");
    }

    // The server goes away and the app restarts: everything reads from the sealed file.
    server.stop().await;
    drop(cache);
    drop(sync);
    drop(local);
    let local = Arc::new(SqliteLocal::open(&db, Vault::from_key(key)).await.unwrap());
    let cache = Cache::new(local.clone());
    let messages: Vec<String> = cache
        .messages(room)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.content)
        .collect();
    assert_eq!(
        messages,
        [
            "offline-readable 0",
            "offline-readable 1",
            "offline-readable 2"
        ]
    );
    assert!(!cache.notifications().await.unwrap().is_empty());
    assert_eq!(cache.rooms().await.unwrap()[0].id, room);
    // Survivors' notifications never carry message text, on screen or at rest.
    for n in cache.notifications().await.unwrap() {
        assert!(!n.message.contains("offline-readable"), "{n:?}");
    }
    // And the file itself holds none of it in clear.
    let raw = std::fs::read(&db).unwrap();
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap_or_default();
    for bytes in [&raw, &wal] {
        assert!(!String::from_utf8_lossy(bytes).contains("offline-readable"));
    }
    assert!(
        local.cursor().await.unwrap().is_some(),
        "the cursor survived too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_the_server_no_longer_knows_asks_for_a_full_refetch() {
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = kintara_server::testing::config(server_dir.path()).await;
    config.demo = true;
    let server = kintara_server::start(config).await.unwrap();
    let survivor = signed_in(&server.url(), "survivor").await;
    let local = Arc::new(kintara_core::MemoryLocal::default());
    // A cursor from another server's log (or older than retention).
    local.set_cursor("999999").await.unwrap();
    let sync = SyncService::new(survivor.clone(), local.clone());
    let mut events = sync.events();
    tokio::spawn(sync.clone().run());
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("a frame")
        .unwrap();
    assert_eq!(ev, SyncEvent::ResyncRequired);
    let cache = Cache::new(local.clone());
    assert!(
        cache.apply(&ev).await.unwrap(),
        "the cache asks for a refetch"
    );
    cache.refresh_all(&survivor).await.unwrap();
    // The cursor moved to the log's end: the next connection continues from there.
    assert_ne!(local.cursor().await.unwrap().as_deref(), Some("999999"));
}
