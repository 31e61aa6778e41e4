//! Rate limits, quotas and timeouts, over real sockets on the test database: a flood from one
//! address or one account is answered `429 rate_limited` with `Retry-After`, changes nothing,
//! and leaves other addresses and accounts alone; a client that sends nothing, or headers too
//! slowly, is disconnected.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::*;
use kintara_api::{codes, Incident};
use reqwest::{Client, Method};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::connect_async;

async fn server_with(limits: &str) -> TestServer {
    let limits = limits.to_owned();
    TestServer::start_with(move |c| {
        c.demo = true;
        c.rate_limits = limits.parse().expect("a limit spec");
    })
    .await
}

/// Asserts a 429 in the error envelope, with a `Retry-After` of a few seconds at most `max`.
fn assert_limited(resp: &Resp, max: u64) {
    resp.expect_error(429, codes::RATE_LIMITED);
    let after: u64 = resp
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=max).contains(&after), "Retry-After {after}");
}

#[tokio::test]
async fn a_flood_of_sign_ins_for_her_e_mail_never_locks_her_out_from_elsewhere() {
    // The default limits, but a small per-address one.
    let server = server_with("login.address=5/min").await;
    let mut limited = 0;
    for _ in 0..20 {
        let resp = server.login("survivor@kintara.test", DEMO_PASSWORD).await;
        if resp.status.as_u16() == 429 {
            assert_limited(&resp, 12);
            limited += 1;
        }
    }
    // Past its 5 the flooding address is refused (one more may pass if the loop took over the
    // 12 s in which the limit gives one back).
    assert!((14..=15).contains(&limited), "{limited} refused");
    // The owner, from her own address, signs in at once: nothing counts per e-mail by default.
    server
        .login_from("127.0.0.2", "survivor@kintara.test", DEMO_PASSWORD)
        .await
        .expect(200);
}

/// Opt-in only (it lets anyone hold an account's sign-in back): the limit counts an e-mail from
/// every address alike.
#[tokio::test]
async fn an_opted_in_per_account_sign_in_limit_counts_every_address() {
    let server = server_with("login.account=3/min").await;
    for from in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        server
            .login_from(from, "dispatcher@kintara.test", DEMO_PASSWORD)
            .await
            .expect(200);
    }
    // Known and unknown e-mails alike: the answer tells nothing about which exist.
    assert_limited(
        &server
            .login_from("127.0.0.5", "Dispatcher@Kintara.test ", DEMO_PASSWORD)
            .await,
        20,
    );
    server
        .login_from("127.0.0.5", "survivor@kintara.test", DEMO_PASSWORD)
        .await
        .expect(200);
}

#[tokio::test]
async fn messages_over_an_accounts_limit_are_refused_and_not_stored() {
    let server = server_with("message.account=5/min").await;
    let survivor = server.demo_login("survivor").await;
    let provider = server.demo_login("healthcare").await;
    let dispatcher = server.demo_login("dispatcher").await;
    let incident = server
        .create_report(&survivor.access, &report("help"))
        .await;
    server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&dispatcher.access),
            &json!({ "provider_ids": [provider.user.id] }),
        )
        .await
        .expect(200);
    server
        .patch(
            &format!("/api/incidents/{}/accept/", incident.id),
            Some(&provider.access),
            &json!({}),
        )
        .await
        .expect(200);
    let room: String = sqlx::query_scalar("SELECT id FROM conversations WHERE incident_id = $1")
        .bind(incident.id.to_string())
        .fetch_one(&server.running.state.db.read)
        .await
        .unwrap();
    let send = |who: &Account, n: usize| {
        let body = json!({"room": room, "content": format!("message {n}")});
        let token = who.access.clone();
        let server = &server;
        async move {
            server
                .post("/api/chat/messages/", Some(&token), &body)
                .await
        }
    };
    for n in 0..5 {
        send(&survivor, n).await.expect(201);
    }
    let before = server.count("messages").await;
    assert_limited(&send(&survivor, 5).await, 12);
    assert_eq!(server.count("messages").await, before, "nothing stored");
    // The provider's own limit is untouched.
    send(&provider, 0).await.expect(201);

    // Over the socket too: the frame is answered with the same refusal.
    let url = server
        .url(&format!("/ws/?token={}", survivor.access))
        .replacen("http://", "ws://", 1);
    let (mut ws, _) = connect_async(url).await.expect("socket");
    use futures_util::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({"type": "send_message", "ref": "r1",
               "data": {"room": room, "content": "via socket"}})
        .to_string()
        .into(),
    ))
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("an answer")
            .expect("open")
            .expect("a frame");
        let text = msg.into_text().unwrap_or_default();
        if text.contains("\"r1\"") {
            assert!(text.contains(codes::RATE_LIMITED), "{text}");
            break;
        }
    }
    assert_eq!(server.count("messages").await, before + 1);
}

#[tokio::test]
async fn reports_over_the_limit_are_refused_but_a_resend_is_not() {
    let server = server_with("report.account=2/h").await;
    let survivor = server.demo_login("survivor").await;
    let mut first = report("first");
    first["client_id"] = json!("outbox-1");
    let filed = server
        .post("/api/incidents/", Some(&survivor.access), &first)
        .await;
    filed.expect(201);
    server
        .create_report(&survivor.access, &report("second"))
        .await;
    let before = server.count("incidents").await;
    assert_limited(
        &server
            .post("/api/incidents/", Some(&survivor.access), &report("third"))
            .await,
        3600,
    );
    assert_eq!(server.count("incidents").await, before);
    // The outbox resending a report whose answer was lost gets it back, limit or not.
    let again = server
        .post("/api/incidents/", Some(&survivor.access), &first)
        .await;
    again.expect(200);
    assert_eq!(
        again.json_as::<Incident>().id,
        filed.json_as::<Incident>().id
    );
}

#[tokio::test]
async fn an_account_opens_only_so_many_sockets() {
    let server = TestServer::start_with(|c| {
        c.demo = true;
        c.max_sockets_per_user = 2;
    })
    .await;
    let survivor = server.demo_login("survivor").await;
    let url = server
        .url(&format!("/ws/?token={}", survivor.access))
        .replacen("http://", "ws://", 1);
    let one = connect_async(url.clone()).await.expect("first");
    let two = connect_async(url.clone()).await.expect("second");
    match connect_async(url.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429);
            assert!(resp.headers().get("retry-after").is_some());
        }
        other => panic!("a third socket: {:?}", other.map(|_| ())),
    }
    // Another account is not affected; closing one frees a place.
    let dispatcher = server.demo_login("dispatcher").await;
    let theirs = server
        .url(&format!("/ws/?token={}", dispatcher.access))
        .replacen("http://", "ws://", 1);
    connect_async(theirs)
        .await
        .expect("another account's socket");
    drop(one);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect_async(url.clone()).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("no place freed: {e}"),
        }
    }
    drop(two);
}

#[tokio::test]
async fn evidence_past_a_cases_quota_is_refused() {
    let server = server_with("").await;
    let survivor = server.demo_login("survivor").await;
    let incident = server
        .create_report(&survivor.access, &report("quota"))
        .await;
    // The case already holds its quota (rows as big as the quota, without files).
    server
        .exec(
            "INSERT INTO evidence (id, incident_id, uploaded_by, kind, content_type, file_name, \
             size_bytes, created_at) VALUES ($1, $2, $3, 'document', 'application/pdf', 'x.pdf', \
             CAST($4 AS BIGINT), '2026-01-01T00:00:00Z')",
            &[
                &uuid::Uuid::new_v4().to_string(),
                &incident.id.to_string(),
                &survivor.user.id.to_string(),
                &kintara_server::evidence::MAX_CASE_EVIDENCE_BYTES.to_string(),
            ],
        )
        .await;
    let before = server.count("evidence").await;
    let png: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];
    let part = reqwest::multipart::Part::bytes(png.to_vec())
        .file_name("photo.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let resp = Resp::from(
        server
            .request(
                Method::POST,
                &format!("/api/incidents/{}/evidence/", incident.id),
            )
            .bearer_auth(&survivor.access)
            .multipart(form),
    )
    .await;
    resp.expect_error(413, codes::EVIDENCE_QUOTA_FULL);
    assert_eq!(server.count("evidence").await, before);
}

/// Whether the server closes `tcp` within `within` (reads until EOF).
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn slow_and_silent_clients_are_disconnected() {
    let server = TestServer::start_with(|c| c.header_timeout_secs = 1).await;
    // Connects and says nothing.
    let mut silent = TcpStream::connect(server.running.addr).await.unwrap();
    // Sends half a request's headers and stops (slowloris).
    let mut slow = TcpStream::connect(server.running.addr).await.unwrap();
    slow.write_all(b"GET /api/auth/health/ HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let began = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert!(closed_within(&mut slow, Duration::from_secs(5)).await);
    assert!(
        began.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    // A keep-alive connection left idle after its answer is closed too.
    let client = Client::builder()
        .no_proxy()
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    client
        .get(server.url("/api/auth/health/"))
        .send()
        .await
        .unwrap();
    let mut idle = TcpStream::connect(server.running.addr).await.unwrap();
    idle.write_all(b"GET /api/auth/health/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
    // And a prompt client is served as always.
    server.get("/api/auth/health/", None).await.expect(200);
}
