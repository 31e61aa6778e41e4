//! The sync service against a real server: frames in order and once over the socket, across
//! token expiry, through a proxy that refuses WebSocket upgrades (long-polling, then back to the
//! socket), across a server restart, and into a clean logged-out state when the session ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kintara_api::{AssignRequest, Event, EventFrame, EventType, SendMessage};
use kintara_core::sync::{MemoryCursor, SyncConfig, SyncEvent, SyncService, SyncState};
use kintara_core::{Client, MemoryStore, TokenStore};
use kintara_server::{Config, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use uuid::Uuid;

const PASSWORD: &str = "kintara-demo";

fn fast() -> SyncConfig {
    SyncConfig {
        poll_wait: Duration::from_secs(1),
        ping_every: Duration::from_secs(2),
        pong_wait: Duration::from_secs(2),
        socket_tries: 2,
        socket_retry: Duration::from_secs(3),
        backoff_max: Duration::from_secs(1),
    }
}

async fn start(config: Config) -> Running {
    kintara_server::start(config).await.expect("server starts")
}

async fn config(dir: &std::path::Path, access_ttl_secs: u64) -> Config {
    let mut c = kintara_server::testing::config(dir).await;
    c.demo = true;
    c.access_ttl_secs = access_ttl_secs;
    c
}

async fn signed_in(url: &str, who: &str) -> Arc<Client> {
    let client = Client::new(url, Arc::new(MemoryStore::default())).expect("client");
    client
        .login(&format!("{who}@kintara.test"), PASSWORD)
        .await
        .expect("login");
    Arc::new(client)
}

/// A case between the demo survivor and the healthcare provider, and its room.
async fn case_room(url: &str) -> (Arc<Client>, Arc<Client>, Uuid) {
    let survivor = signed_in(url, "survivor").await;
    let provider = signed_in(url, "healthcare").await;
    let dispatcher = signed_in(url, "dispatcher").await;
    let report: kintara_api::IncidentCreate = serde_json::from_value(serde_json::json!({
        "type": "emotional", "incident_date": "2026-11-01", "description": "sync test case",
        "location": {"address": "Kisumu"}, "support_services": ["counseling"]
    }))
    .expect("report");
    let incident = survivor.create_incident(&report).await.expect("filed");
    let provider_id = provider.current_user().expect("user").id;
    dispatcher
        .assign(
            incident.id,
            &serde_json::from_value::<AssignRequest>(
                serde_json::json!({"provider_ids": [provider_id]}),
            )
            .expect("assign request"),
        )
        .await
        .expect("assigned");
    provider
        .accept_assignment(incident.id, None)
        .await
        .expect("accepted");
    let rooms = survivor.rooms().await.expect("rooms");
    let room = rooms
        .results
        .iter()
        .find(|r| r.incident == Some(incident.id))
        .expect("the case room")
        .id;
    (survivor, provider, room)
}

async fn send(client: &Client, room: Uuid, content: String) {
    client
        .send_message(&SendMessage {
            room,
            content,
            client_id: Some(Uuid::new_v4().to_string()),
        })
        .await
        .expect("sent");
}

/// The contents of the next `n` new-message frames, skipping other frames.
async fn messages(
    rx: &mut broadcast::Receiver<SyncEvent>,
    n: usize,
    within: Duration,
) -> Vec<String> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while out.len() < n {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {n} messages within {within:?}: {out:?}",
                    out.len()
                )
            })
            .expect("the stream goes on");
        if let SyncEvent::Frame(EventFrame {
            event: Event::NewMessage(m),
            ..
        }) = ev
        {
            out.push(m.content.expect("content"));
        }
    }
    out
}

async fn wait_for(
    state: &mut tokio::sync::watch::Receiver<SyncState>,
    want: SyncState,
    within: Duration,
) {
    let reached = tokio::time::timeout(within, state.wait_for(|s| *s == want))
        .await
        .map(|r| r.is_ok());
    assert!(
        matches!(reached, Ok(true)),
        "not {want:?} within {within:?}; now {:?}",
        *state.borrow()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_arrive_in_order_and_once_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path(), 1800).await).await;
    let (survivor, provider, room) = case_room(&server.url()).await;
    let sync =
        SyncService::with_config(provider.clone(), Arc::new(MemoryCursor::default()), fast());
    let mut rx = sync.events();
    let mut state = sync.state();
    tokio::spawn(sync.clone().run());
    wait_for(&mut state, SyncState::Online, Duration::from_secs(5)).await;
    for i in 0..50 {
        send(&survivor, room, format!("m{i}")).await;
    }
    let got = messages(&mut rx, 50, Duration::from_secs(10)).await;
    let want: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want);
    // And nothing more: no repeats trail behind.
    let extra = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if let Ok(SyncEvent::Frame(f)) = rx.recv().await {
                if f.kind() == EventType::NewMessage {
                    return f;
                }
            }
        }
    })
    .await;
    assert!(extra.is_err(), "a repeated frame: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_expiring_mid_stream_is_refreshed_with_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    // Tokens live 2 s: the socket is closed for expiry several times during the test.
    let server = start(config(dir.path(), 2).await).await;
    let (survivor, provider, room) = case_room(&server.url()).await;
    let sync =
        SyncService::with_config(provider.clone(), Arc::new(MemoryCursor::default()), fast());
    let mut rx = sync.events();
    tokio::spawn(sync.clone().run());
    let sender = tokio::spawn({
        let survivor = survivor.clone();
        async move {
            for i in 0..30 {
                send(&survivor, room, format!("t{i}")).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    let got = messages(&mut rx, 30, Duration::from_secs(30)).await;
    sender.await.unwrap();
    assert_eq!(got, (0..30).map(|i| format!("t{i}")).collect::<Vec<_>>());
    assert!(provider.current_user().is_some(), "still signed in");
}

/// A proxy in front of the server that refuses WebSocket upgrades while `block` is set (as some
/// corporate and mobile-carrier proxies do) and passes everything else through.
async fn upgrade_blocking_proxy(upstream: std::net::SocketAddr, block: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let block = block.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = match inbound.read(&mut head).await {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
                if text.contains("upgrade: websocket") && block.load(Ordering::SeqCst) {
                    let _ = inbound
                        .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                    return;
                };
                if outbound.write_all(&head[..n]).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_refusing_sockets_means_polling_then_back_to_the_socket_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path(), 1800).await).await;
    let block = Arc::new(AtomicBool::new(true));
    let via_proxy = upgrade_blocking_proxy(server.addr, block.clone()).await;
    let (survivor, _, room) = case_room(&server.url()).await;
    let provider = signed_in(&via_proxy, "healthcare").await;
    let sync =
        SyncService::with_config(provider.clone(), Arc::new(MemoryCursor::default()), fast());
    let mut rx = sync.events();
    let mut state = sync.state();
    tokio::spawn(sync.clone().run());
    wait_for(&mut state, SyncState::Polling, Duration::from_secs(15)).await;
    for i in 0..10 {
        send(&survivor, room, format!("p{i}")).await;
    }
    let mut got = messages(&mut rx, 10, Duration::from_secs(10)).await;
    // The proxy lets sockets through again: the service climbs back and nothing is lost.
    block.store(false, Ordering::SeqCst);
    wait_for(&mut state, SyncState::Online, Duration::from_secs(15)).await;
    for i in 10..20 {
        send(&survivor, room, format!("p{i}")).await;
    }
    got.extend(messages(&mut rx, 10, Duration::from_secs(10)).await);
    // The frames of the accepted case come first; the messages are all there, once, in order.
    assert_eq!(got, (0..20).map(|i| format!("p{i}")).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_is_survived_and_resumed_from_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1800).await;
    let server = start(cfg.clone()).await;
    let addr = server.addr;
    let (survivor, provider, room) = case_room(&server.url()).await;
    let sync =
        SyncService::with_config(provider.clone(), Arc::new(MemoryCursor::default()), fast());
    let mut rx = sync.events();
    let mut state = sync.state();
    tokio::spawn(sync.clone().run());
    wait_for(&mut state, SyncState::Online, Duration::from_secs(5)).await;
    send(&survivor, room, "before".into()).await;
    assert_eq!(
        messages(&mut rx, 1, Duration::from_secs(5)).await,
        ["before"]
    );

    server.stop().await;
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, SyncState::Offline { .. })),
    )
    .await
    .expect("offline once the server is gone")
    .unwrap();
    // Back on the same address and data: what was written while the client was away arrives.
    let mut again = cfg.clone();
    again.bind = addr;
    let server = start(again).await;
    send(&survivor, room, "after 1".into()).await;
    send(&survivor, room, "after 2".into()).await;
    sync.wake();
    assert_eq!(
        messages(&mut rx, 2, Duration::from_secs(10)).await,
        ["after 1", "after 2"]
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_elsewhere_ends_in_logged_out_not_a_retry_loop() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path(), 1800).await).await;
    let store = Arc::new(MemoryStore::default());
    let provider = Client::new(&server.url(), store.clone()).expect("client");
    provider
        .login("healthcare@kintara.test", PASSWORD)
        .await
        .expect("login");
    let provider = Arc::new(provider);
    let sync =
        SyncService::with_config(provider.clone(), Arc::new(MemoryCursor::default()), fast());
    let mut state = sync.state();
    tokio::spawn(sync.clone().run());
    wait_for(&mut state, SyncState::Online, Duration::from_secs(5)).await;
    // The session is ended from somewhere else (another device with the same refresh token, or
    // an administrator): the server closes the socket and the core forgets the session.
    let refresh = store.load().unwrap().expect("a session").tokens.refresh;
    let ended = reqwest::Client::new()
        .post(format!("{}/api/auth/logout/", server.url()))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await
        .expect("logout request");
    assert!(ended.status().is_success());
    wait_for(&mut state, SyncState::LoggedOut, Duration::from_secs(5)).await;
    assert!(
        provider.current_user().is_none(),
        "the session is forgotten"
    );
    assert!(store.load().unwrap().is_none(), "and gone from the store");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(*state.borrow(), SyncState::LoggedOut, "and it stays there");
}
