//! Notifications leaving the server, against a loopback FCM that checks the protocol as FCM
//! does (`kintara-fakes`): the push reaches the right device and the feed says so honestly; a
//! survivor's pushes carry nothing of her case; a dead token is removed; Retry-After is honoured
//! and a `kill -9` mid-backoff loses and doubles nothing; a channel nobody can carry is skipped;
//! two instances share the work without sending anything twice.

#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kintara_api::{
    delivery_error, ChatRoomList, DeliveryHealth, DeliveryLane, DeliveryState, EventsPage,
    Incident, Notification, NotificationPage,
};
use kintara_fakes::{FakeFcm, FakeWhatsapp, Reply, WaReply};
use serde_json::{json, Value};
use uuid::Uuid;

/// Writes `fake`'s service account where a server can read it.
fn account_file(fake: &FakeFcm, dir: &std::path::Path) -> PathBuf {
    let path = dir.join("fcm-service-account.json");
    std::fs::write(&path, fake.service_account().to_string()).expect("written");
    path
}

/// A demo server pushing through `fake`.
async fn server_with(fake: &FakeFcm) -> (TestServer, tempfile::TempDir) {
    let keys = tempfile::tempdir().expect("temp dir");
    let creds = account_file(fake, keys.path());
    let url = fake.url.clone();
    let server = TestServer::start_with(move |c| {
        c.demo = true;
        c.fcm_credentials = Some(creds);
        c.fcm_endpoint = url;
    })
    .await;
    (server, keys)
}

async fn register_device(s: &TestServer, who: &Account, token: &str) {
    s.post(
        "/api/devices/",
        Some(&who.access),
        &json!({ "token": token, "platform": "android", "kind": "fcm" }),
    )
    .await
    .expect(201);
}

async fn feed(s: &TestServer, who: &Account) -> Vec<Notification> {
    let page: NotificationPage = s
        .get("/api/notifications/?page_size=100", Some(&who.access))
        .await
        .json_as();
    page.results
}

/// Waits (up to 20 s) until `done` holds, re-checking every 50 ms.
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn push_state(n: &Notification) -> DeliveryState {
    n.channels["push"].state
}

/// Waits until every notification of `who` has left the push channel's `pending`.
async fn settled(s: &TestServer, who: &Account, count: usize) -> Vec<Notification> {
    until("the pushes to settle", || async {
        let f = feed(s, who).await;
        f.len() >= count && f.iter().all(|n| push_state(n) != DeliveryState::Pending)
    })
    .await;
    feed(s, who).await
}

async fn assign(s: &TestServer, dispatcher: &Account, incident: Uuid, provider: &Account) {
    s.post(
        &format!("/api/dispatch/cases/{incident}/assign/"),
        Some(&dispatcher.access),
        &json!({ "provider_ids": [provider.user.id] }),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_case_assignment_reaches_the_providers_phone_and_the_feed_says_sent() {
    let fake = FakeFcm::start().await;
    let (s, _keys) = server_with(&fake).await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    register_device(&s, &provider, "legal-phone-1").await;

    for i in 0..3 {
        let incident = s
            .create_report(&survivor.access, &report(&format!("Report {i}")))
            .await;
        assign(&s, &dispatcher, incident.id, &provider).await;
        // One at a time, so each is its own push (a burst would be folded into one).
        until("the push", || async { fake.accepted().len() > i }).await;
    }
    let notes = settled(&s, &provider, 3).await;
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 3, "one push per assignment");
    assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    assert_eq!(
        fake.grants(),
        1,
        "the access token is kept, not fetched per push"
    );
    for n in &notes {
        let push = &n.channels["push"];
        assert_eq!(push.state, DeliveryState::Sent, "{push:?}");
        assert!(push
            .message_id
            .as_deref()
            .is_some_and(|m| m.starts_with("projects/kintara-test/messages/")));
        assert_eq!(push.attempts, 1);
    }
    let names: BTreeSet<String> = accepted.iter().map(|a| a.name.clone()).collect();
    let ids: BTreeSet<String> = notes
        .iter()
        .filter_map(|n| n.channels["push"].message_id.clone())
        .collect();
    assert_eq!(
        names, ids,
        "each notification records the message FCM accepted"
    );
    let first = &accepted[0].message;
    assert_eq!(accepted[0].token, "legal-phone-1");
    assert!(first["notification"]["title"]
        .as_str()
        .is_some_and(|t| t.contains("assigned to you")));
    let data = first["data"].as_object().expect("data");
    assert!(data.values().all(Value::is_string));
    let keys: BTreeSet<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["incident_id", "notification_id"]));
}

#[tokio::test]
async fn nothing_of_her_case_leaves_the_app_in_a_survivors_pushes() {
    const MARK: &str = "Plantedmark";
    let fake = FakeFcm::start().await;
    let (s, _keys) = server_with(&fake).await;
    let mut reg = survivor_registration("private.person@example.org");
    reg["is_anonymous"] = json!(true);
    reg["first_name"] = json!(format!("{MARK}first"));
    reg["last_name"] = json!(format!("{MARK}last"));
    let resp = s.register(&reg).await;
    resp.expect(201);
    let her = Account::from_auth(resp.json_as());
    register_device(&s, &her, "her-phone").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    register_device(&s, &provider, "provider-phone").await;
    register_device(&s, &dispatcher, "dispatcher-desk").await;

    let mut body = report(&format!("{MARK} description: he waits at the gate"));
    body["is_anonymous"] = json!(true);
    body["location"] = json!({ "address": format!("{MARK} street 4"), "description": format!("{MARK} near the well") });
    let incident: Incident = s.create_report(&her.access, &body).await;
    assign(&s, &dispatcher, incident.id, &provider).await;
    s.patch(
        &format!("/api/incidents/{}/accept/", incident.id),
        Some(&provider.access),
        &json!({}),
    )
    .await
    .expect(200);
    let rooms: ChatRoomList = s.get("/api/chat/rooms/", Some(&her.access)).await.json_as();
    let room = rooms
        .results
        .iter()
        .find(|r| r.incident == Some(incident.id))
        .expect("the case room")
        .id;
    for who in [&provider, &her] {
        s.post(
            "/api/chat/messages/",
            Some(&who.access),
            &json!({ "room": room, "content": format!("{MARK} message") }),
        )
        .await
        .expect(201);
    }
    s.patch(
        &format!("/api/providers/cases/{}/status/", incident.id),
        Some(&provider.access),
        &json!({ "status": "completed" }),
    )
    .await
    .expect(200);

    let hers = settled(&s, &her, 3).await;
    settled(&s, &provider, 1).await;
    settled(&s, &dispatcher, 2).await;
    assert!(hers.iter().all(|n| push_state(n) == DeliveryState::Sent));
    let all = fake.accepted();
    assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    assert!(all.iter().any(|a| a.token == "her-phone"));
    for a in &all {
        let text = a.message.to_string();
        assert!(!text.contains(MARK), "the marker left the app: {text}");
        if a.token == "her-phone" {
            assert!(a.message["notification"].get("title").is_none());
            let body = a.message["notification"]["body"].as_str().unwrap_or("");
            assert!(
                body == "You have a new update"
                    || (body.starts_with("You have ") && body.ends_with(" new updates")),
                "{body}"
            );
            let data = a.message["data"].as_object().expect("data");
            for (k, v) in data {
                assert!(["notification_id", "incident_id", "conversation_id"].contains(&k.as_str()));
                Uuid::parse_str(v.as_str().expect("a string")).expect("an id");
            }
        }
    }
}

#[tokio::test]
async fn a_dead_token_is_removed_and_never_used_again() {
    let fake = FakeFcm::start().await;
    let (s, _keys) = server_with(&fake).await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    register_device(&s, &provider, "uninstalled-app").await;
    fake.unregister("uninstalled-app");

    let one = s.create_report(&survivor.access, &report("One")).await;
    assign(&s, &dispatcher, one.id, &provider).await;
    let notes = settled(&s, &provider, 1).await;
    let push = &notes[0].channels["push"];
    assert_eq!(push.state, DeliveryState::Failed);
    assert!(
        push.last_error
            .as_deref()
            .is_some_and(|e| e.contains("UNREGISTERED")),
        "{push:?}"
    );
    assert_eq!(
        s.count("devices").await,
        0,
        "the dead token is gone from the database"
    );
    let attempts = fake.attempts();
    assert_eq!(attempts, 1, "a dead token is not retried");

    let two = s.create_report(&survivor.access, &report("Two")).await;
    assign(&s, &dispatcher, two.id, &provider).await;
    let notes = settled(&s, &provider, 2).await;
    let newest = notes.iter().find(|n| n.incident == Some(two.id)).unwrap();
    assert_eq!(push_state(newest), DeliveryState::Skipped);
    assert_eq!(
        newest.channels["push"].last_error.as_deref(),
        Some(delivery_error::NO_DEVICE)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.attempts(), attempts, "never used again");

    // Operators see it; nobody else may look.
    s.get("/api/admin/deliveries/", Some(&provider.access))
        .await
        .expect_error(403, "only_roles");
    let admin = s.demo_login("admin").await;
    let health: DeliveryHealth = s
        .get("/api/admin/deliveries/", Some(&admin.access))
        .await
        .json_as();
    let fcm = health
        .lanes
        .iter()
        .find(|l| l.lane == DeliveryLane::Fcm)
        .unwrap();
    assert!(fcm.configured);
    assert_eq!(fcm.last_hour.failed, 1);
    assert_eq!(fcm.last_hour.pending, 0);
    assert!(fcm.recent_errors[0].error.contains("UNREGISTERED"));
    let email = health
        .lanes
        .iter()
        .find(|l| l.lane == DeliveryLane::Email)
        .unwrap();
    assert!(!email.configured);
}

#[tokio::test]
async fn a_channel_nobody_can_carry_is_skipped_and_one_switched_off_gets_nothing() {
    // No FCM configured at all.
    let s = TestServer::demo().await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    register_device(&s, &provider, "legal-phone").await;
    s.put(
        "/api/notifications/preferences/",
        Some(&provider.access),
        &json!({ "preferences": [
            { "notification_type": "case_assigned", "channels": ["push", "email", "whatsapp"] }
        ] }),
    )
    .await
    .expect(200);
    let incident = s.create_report(&survivor.access, &report("Quiet")).await;
    assign(&s, &dispatcher, incident.id, &provider).await;

    let notes = feed(&s, &provider).await;
    let n = notes
        .iter()
        .find(|n| n.incident == Some(incident.id))
        .expect("the feed still lists it");
    for channel in ["push", "email", "whatsapp"] {
        assert_eq!(
            n.channels[channel].state,
            DeliveryState::Skipped,
            "{channel}"
        );
        assert_eq!(
            n.channels[channel].last_error.as_deref(),
            Some(delivery_error::NOT_CONFIGURED),
            "{channel}"
        );
    }
    assert_eq!(n.channels["websocket"].state, DeliveryState::Skipped);
    assert_eq!(
        n.channels["websocket"].last_error, None,
        "switched off, not failed"
    );
    let page: EventsPage = s
        .get("/api/events/?since=0&timeout=0", Some(&provider.access))
        .await
        .json_as();
    let frames = serde_json::to_string(&page.events).unwrap();
    assert!(
        !frames.contains(&n.id.to_string()),
        "no frame for a channel switched off"
    );
    assert_eq!(s.count("deliveries").await, 0, "nothing waits for ever");
}

/// The server binary as its own process, so it can be killed with SIGKILL.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn start(
        data_dir: &std::path::Path,
        db_url: Option<&str>,
        fake: &FakeFcm,
        creds: &PathBuf,
    ) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kintara-server"));
        cmd.arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--demo")
            .env("KINTARA_RATE_LIMITS", "off")
            .env("KINTARA_FCM_CREDENTIALS", creds)
            .env("KINTARA_FCM_ENDPOINT", &fake.url)
            .env("KINTARA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(url) = db_url {
            cmd.env("KINTARA_DATABASE_URL", url);
        }
        let child = cmd.spawn().expect("the server starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Process { child, url }
    }

    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A demo account's access token and id.
async fn login(http: &reqwest::Client, url: &str, who: &str) -> (String, Value) {
    let resp = http
        .post(format!("{url}/api/auth/login/"))
        .json(&json!({ "email": format!("{who}@kintara.test"), "password": DEMO_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    (
        v["tokens"]["access"].as_str().expect("access").to_owned(),
        v["user"]["id"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_a_kill_mid_backoff_delivers_exactly_once_after_restart() {
    let fake = FakeFcm::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let creds = account_file(&fake, dir.path());
    let data = dir.path().join("data");
    let db_url = match std::env::var(kintara_server::testing::DATABASE_ENV) {
        Ok(admin) => Some(
            kintara_server::testing::fresh_postgres_database(&admin)
                .await
                .expect("a test database"),
        ),
        Err(_) => None,
    };
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let first = Process::start(&data, db_url.as_deref(), &fake, &creds);
    let (survivor, _) = login(&http, &first.url, "survivor").await;
    let (dispatcher, _) = login(&http, &first.url, "dispatcher").await;
    let (provider, provider_id) = login(&http, &first.url, "legal").await;
    http.post(format!("{}/api/devices/", first.url))
        .bearer_auth(&provider)
        .json(&json!({ "token": "legal-phone", "platform": "android", "kind": "fcm" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    fake.script([Reply::Unavailable {
        retry_after: Some(4),
    }]);
    let incident: Incident = http
        .post(format!("{}/api/incidents/", first.url))
        .bearer_auth(&survivor)
        .json(&report("Delivered once"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.post(format!(
        "{}/api/dispatch/cases/{}/assign/",
        first.url, incident.id
    ))
    .bearer_auth(&dispatcher)
    .json(&json!({ "provider_ids": [provider_id] }))
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    until("the first, refused attempt", || async {
        fake.attempts() == 1
    })
    .await;
    let refused_at = Instant::now();
    // Killed once the refusal is recorded (killed before, the delivery would wait out its
    // lease: at least once, but two minutes late).
    until("the refusal to be recorded", || async {
        let page: NotificationPage = http
            .get(format!("{}/api/notifications/", first.url))
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page.results.first().is_some_and(|n| {
            let push = &n.channels["push"];
            push.state == DeliveryState::Pending
                && push
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("UNAVAILABLE"))
        })
    })
    .await;
    // Mid-backoff: FCM asked for 4 s.
    first.kill_9();

    let second = Process::start(&data, db_url.as_deref(), &fake, &creds);
    until("the delivery after the restart", || async {
        fake.accepted().len() == 1
    })
    .await;
    let waited = fake.accepted()[0].at - refused_at;
    assert!(
        waited >= Duration::from_millis(3_900),
        "Retry-After honoured across the restart: {waited:?}"
    );
    // Nothing more comes: no second copy from the first process's lease or the restart.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.accepted().len(), 1, "delivered exactly once");
    assert_eq!(fake.attempts(), 2);
    let (provider, _) = login(&http, &second.url, "legal").await;
    let page: NotificationPage = http
        .get(format!("{}/api/notifications/", second.url))
        .bearer_auth(&provider)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let push = &page.results[0].channels["push"];
    assert_eq!(push.state, DeliveryState::Sent);
    assert_eq!(push.attempts, 2);

    // The operator's view from the command line.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kintara-server"));
    cmd.arg("--data-dir").arg(&data).arg("deliveries");
    if let Some(url) = &db_url {
        cmd.env("KINTARA_DATABASE_URL", url);
    }
    let out = cmd.output().expect("kintara-server deliveries");
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    let fcm = table
        .lines()
        .find(|l| l.starts_with("fcm "))
        .expect("a line for FCM");
    assert!(fcm.contains(" yes ") && fcm.contains("1/0/0/0"), "{table}");
}

/// Two instances on one PostgreSQL database both push; each notification goes out once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_deliveries_and_send_nothing_twice() {
    let Ok(admin) = std::env::var(kintara_server::testing::DATABASE_ENV) else {
        eprintln!("skipped: needs KINTARA_TEST_DATABASE_URL (several instances need PostgreSQL)");
        return;
    };
    let fake = FakeFcm::start().await;
    let url = kintara_server::testing::fresh_postgres_database(&admin)
        .await
        .expect("a test database");
    let keys = tempfile::tempdir().unwrap();
    let creds = account_file(&fake, keys.path());
    let secret = format!("delivery-test-secret-{}", Uuid::new_v4().simple());
    let instance = |demo: bool| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut c = kintara_server::Config::for_data_dir(dir.path());
        c.database_url = Some(url.clone());
        c.jwt_secret = Some(secret.clone());
        c.evidence_key = Some("ab".repeat(32));
        c.rate_limits = kintara_server::limits::LimitSpec::off();
        c.demo = demo;
        c.fcm_credentials = Some(creds.clone());
        c.fcm_endpoint = fake.url.clone();
        (c, dir)
    };
    let (c1, d1) = instance(true);
    let one = TestServer::with_config(c1, d1).await;
    let (c2, d2) = instance(false);
    let two = TestServer::with_config(c2, d2).await;
    let dispatcher = one.demo_login("dispatcher").await;
    // Urgent reports: each is its own push to every dispatcher device (never folded).
    const DEVICES: usize = 4;
    for d in 0..DEVICES {
        register_device(&one, &dispatcher, &format!("desk-{d}")).await;
    }
    const REPORTS: usize = 30;
    let mut survivors = Vec::new();
    for i in 0..3 {
        survivors.push(one.register_survivor(&format!("s{i}@example.org")).await);
    }
    let filed = futures::future::join_all((0..REPORTS).map(|i| {
        let server = if i % 2 == 0 { &one } else { &two };
        let mut body = report(&format!("Urgent {i}"));
        body["urgency_level"] = json!("urgent");
        let who = survivors[i % survivors.len()].access.clone();
        async move { server.create_report(&who, &body).await }
    }))
    .await;
    assert_eq!(filed.len(), REPORTS);
    let expected = REPORTS * DEVICES;
    until("every push", || async { fake.accepted().len() >= expected }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), expected, "nothing sent twice");
    let pairs: BTreeSet<(String, String)> = accepted
        .iter()
        .map(|a| {
            (
                a.token.clone(),
                a.message["data"]["notification_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), expected, "each (device, notification) once");
}

#[tokio::test]
async fn the_in_app_channel_is_sent_once_the_app_took_the_frame() {
    let s = TestServer::demo().await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    let incident = s.create_report(&survivor.access, &report("Seen")).await;
    assign(&s, &dispatcher, incident.id, &provider).await;
    let websocket = |f: Vec<Notification>| {
        f.iter()
            .find(|n| n.incident == Some(incident.id))
            .expect("in the feed")
            .channels["websocket"]
            .clone()
    };
    // Nobody has the app open: the frame waits in the log.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        websocket(feed(&s, &provider).await).state,
        DeliveryState::Pending
    );
    let page: EventsPage = s
        .get("/api/events/?since=0&timeout=0", Some(&provider.access))
        .await
        .json_as();
    assert!(!page.events.is_empty());
    until("the in-app channel to be sent", || async {
        websocket(feed(&s, &provider).await).state == DeliveryState::Sent
    })
    .await;
    assert_eq!(websocket(feed(&s, &provider).await).attempts, 1);
}

/// A CA and a certificate it signed for 127.0.0.1, made with openssl in `dir`.
fn certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Kintara test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "relay.key",
        "-out",
        "relay.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "relay.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "relay.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("relay.pem"),
        dir.join("relay.key"),
    )
}

/// aiosmtpd on loopback, requiring STARTTLS and AUTH (`crates/fakes/smtp/server.py`).
struct Relay {
    child: Child,
    port: u16,
    maildir: PathBuf,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Relay {
    fn start() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path());
        let maildir = dir.path().join("Maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let python = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let mut child = Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fakes/smtp/server.py"
            ))
            .arg(port.to_string())
            .arg(&maildir)
            .arg(&cert)
            .arg(&key)
            .args(["kintara-mailer", "relay-secret"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (.ci/setup installs python3-aiosmtpd)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "the relay started");
        Relay {
            child,
            port,
            maildir,
            ca,
            _dir: dir,
        }
    }

    fn url(&self, password: &str) -> String {
        format!(
            "smtp://kintara-mailer:{password}@127.0.0.1:{}?tls=required",
            self.port
        )
    }

    /// Every mail stored so far, parsed: (To, Subject, plain body, HTML body, the raw mail).
    fn mails(&self) -> Vec<(String, String, String, String, String)> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        dir.map(|e| {
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            let mail = mailparse::parse_mail(&raw).unwrap();
            use mailparse::MailHeaderMap;
            let header = |h: &str| mail.headers.get_first_value(h).unwrap_or_default();
            let part = |t: &str| {
                mail.subparts
                    .iter()
                    .find(|p| p.ctype.mimetype == t)
                    .map(|p| p.get_body().unwrap())
                    .unwrap_or_default()
            };
            (
                header("To"),
                header("Subject"),
                part("text/plain"),
                part("text/html"),
                String::from_utf8_lossy(&raw).into_owned(),
            )
        })
        .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn choose(s: &TestServer, who: &Account, kinds: &[&str], channels: &[&str]) {
    let preferences: Vec<Value> = kinds
        .iter()
        .map(|k| json!({ "notification_type": k, "channels": channels }))
        .collect();
    s.put(
        "/api/notifications/preferences/",
        Some(&who.access),
        &json!({ "preferences": preferences }),
    )
    .await
    .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mail_goes_through_starttls_and_auth_says_nothing_of_her_case_and_a_hanging_push_service_does_not_hold_it(
) {
    const MARK: &str = "Plantedmark";
    let relay = Relay::start();
    let fake = FakeFcm::start().await;
    // FCM hangs for 8 s on every request: its lane waits, e-mail must not.
    fake.set_delay(Duration::from_secs(8));
    let keys = tempfile::tempdir().unwrap();
    let creds = account_file(&fake, keys.path());
    let (url, ca, fcm) = (
        relay.url("relay-secret"),
        relay.ca.clone(),
        fake.url.clone(),
    );
    let s = TestServer::start_with(move |c| {
        c.demo = true;
        c.fcm_credentials = Some(creds);
        c.fcm_endpoint = fcm;
        c.smtp_url = Some(url);
        c.smtp_from = Some("Kintara <notify@kintara.test>".into());
        c.smtp_ca = Some(ca);
    })
    .await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    register_device(&s, &provider, "legal-phone").await;
    choose(&s, &provider, &["case_assigned"], &["push", "email"]).await;
    choose(
        &s,
        &survivor,
        &["assignment_accepted", "status_changed", "new_message"],
        &["email"],
    )
    .await;

    let mut body = report(&format!("{MARK} what happened"));
    body["location"] = json!({ "address": format!("{MARK} road"), "description": MARK });
    let incident = s.create_report(&survivor.access, &body).await;
    let assigned = Instant::now();
    assign(&s, &dispatcher, incident.id, &provider).await;
    until("the provider's e-mail", || async {
        relay
            .mails()
            .iter()
            .any(|m| m.0.contains("legal@kintara.test"))
    })
    .await;
    let took = assigned.elapsed();
    eprintln!("e-mail delivered in {took:?} while FCM hangs for 8 s");
    assert!(
        took < Duration::from_secs(4),
        "the hanging push service held e-mail back: {took:?}"
    );
    // The relay has it a moment before the outcome is recorded.
    until("the e-mail to be recorded as sent", || async {
        feed(&s, &provider).await[0].channels["email"].state == DeliveryState::Sent
    })
    .await;
    let n = feed(&s, &provider).await.remove(0);
    assert_eq!(n.incident, Some(incident.id));
    assert_eq!(
        n.channels["push"].state,
        DeliveryState::Pending,
        "FCM still hangs"
    );
    let mails = relay.mails();
    let theirs = mails
        .iter()
        .find(|m| m.0.contains("legal@kintara.test"))
        .unwrap();
    assert!(theirs.1.contains("assigned to you"), "{theirs:?}");
    assert!(theirs.2.contains("Open the app to see it."));
    assert!(theirs.3.contains("<p>") && theirs.3.contains("lang=\"en\""));

    // Her case moves and she is written to: every mail to her says only that there is news.
    s.patch(
        &format!("/api/incidents/{}/accept/", incident.id),
        Some(&provider.access),
        &json!({}),
    )
    .await
    .expect(200);
    s.patch(
        &format!("/api/providers/cases/{}/status/", incident.id),
        Some(&provider.access),
        &json!({ "status": "completed" }),
    )
    .await
    .expect(200);
    until("her e-mails", || async {
        relay
            .mails()
            .iter()
            .filter(|m| m.0.contains("survivor@kintara.test"))
            .count()
            >= 2
    })
    .await;
    for m in relay
        .mails()
        .iter()
        .filter(|m| m.0.contains("survivor@kintara.test"))
    {
        assert!(!m.4.contains(MARK) && !m.2.contains(MARK), "{}", m.4);
        assert!(
            m.1 == "You have a new update"
                || (m.1.starts_with("You have ") && m.1.ends_with(" new updates")),
            "{}",
            m.1
        );
    }
}

#[tokio::test]
async fn a_relay_that_refuses_the_login_leaves_the_mail_pending_with_the_reason() {
    let relay = Relay::start();
    let (url, ca) = (relay.url("wrong-password"), relay.ca.clone());
    let s = TestServer::start_with(move |c| {
        c.demo = true;
        c.smtp_url = Some(url);
        c.smtp_from = Some("notify@kintara.test".into());
        c.smtp_ca = Some(ca);
    })
    .await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    choose(&s, &provider, &["case_assigned"], &["email"]).await;
    let incident = s.create_report(&survivor.access, &report("Refused")).await;
    assign(&s, &dispatcher, incident.id, &provider).await;
    until("the refusal", || async {
        let f = feed(&s, &provider).await;
        f.iter()
            .find(|n| n.incident == Some(incident.id))
            .is_some_and(|n| n.channels["email"].last_error.is_some())
    })
    .await;
    let n = feed(&s, &provider).await.remove(0);
    let email = &n.channels["email"];
    assert!(
        email.state == DeliveryState::Pending || email.state == DeliveryState::Failed,
        "{email:?}"
    );
    assert!(
        email.last_error.as_deref().unwrap().contains("535"),
        "{email:?}"
    );
    assert!(relay.mails().is_empty());
}

#[tokio::test]
async fn apns_gets_http2_with_a_reused_provider_token_critical_urgent_alerts_and_dead_tokens_go() {
    let fake = kintara_fakes::FakeApns::start().await;
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("AuthKey.p8");
    std::fs::write(&key, fake.private_key()).unwrap();
    let (url, key_id, team, topic) = (
        fake.url.clone(),
        fake.key_id.clone(),
        fake.team_id.clone(),
        fake.topic.clone(),
    );
    let s = TestServer::start_with(move |c| {
        c.demo = true;
        c.apns_key = Some(key);
        c.apns_key_id = Some(key_id);
        c.apns_team_id = Some(team);
        c.apns_topic = Some(topic);
        c.apns_endpoint = url;
    })
    .await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    let ios = |who: &Account, token: String| {
        let s = &s;
        let access = who.access.clone();
        async move {
            s.post(
                "/api/devices/",
                Some(&access),
                &json!({ "token": token, "platform": "ios", "kind": "apns" }),
            )
            .await
            .expect(201);
        }
    };
    let provider_phone = "a1".repeat(32);
    let dispatcher_phone = "d4".repeat(32);
    ios(&provider, provider_phone.clone()).await;
    ios(&dispatcher, dispatcher_phone.clone()).await;

    // A routine assignment: an ordinary alert, after one 503 that is retried.
    let routine = s.create_report(&survivor.access, &report("Routine")).await;
    settled(&s, &dispatcher, 1).await;
    fake.script([kintara_fakes::ApnsReply::Unavailable]);
    assign(&s, &dispatcher, routine.id, &provider).await;
    let notes = settled(&s, &provider, 1).await;
    let push = &notes[0].channels["push"];
    assert_eq!(push.state, DeliveryState::Sent, "{push:?}");
    assert_eq!(push.attempts, 2, "the 503 was retried");
    let to_provider: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|p| p.device_token == provider_phone)
        .collect();
    assert_eq!(to_provider.len(), 1);
    let p = &to_provider[0];
    assert_eq!(push.message_id.as_deref(), Some(p.apns_id.as_str()));
    assert_eq!(p.header("apns-topic"), Some(fake.topic.as_str()));
    assert_eq!(p.header("apns-push-type"), Some("alert"));
    assert_eq!(p.header("apns-priority"), Some("5"));
    assert!(p.header("apns-collapse-id").is_some());
    assert!(p.payload["aps"]["alert"]["title"]
        .as_str()
        .is_some_and(|t| t.contains("assigned to you")));
    assert_eq!(p.payload["aps"]["interruption-level"], "active");
    assert_eq!(p.payload["incident_id"], json!(routine.id.to_string()));

    // An immediate report: the dispatchers' alert is critical, at once, never folded.
    let mut body = report("Immediate");
    body["urgency_level"] = json!("immediate");
    let loud = s.create_report(&survivor.access, &body).await;
    until("the dispatcher's critical alert", || async {
        fake.accepted().iter().any(|p| {
            p.device_token == dispatcher_phone
                && p.payload["incident_id"] == json!(loud.id.to_string())
        })
    })
    .await;
    let alert = fake
        .accepted()
        .into_iter()
        .find(|p| p.payload["incident_id"] == json!(loud.id.to_string()))
        .unwrap();
    assert_eq!(alert.header("apns-priority"), Some("10"));
    assert_eq!(alert.header("apns-collapse-id"), None);
    assert_eq!(alert.payload["aps"]["interruption-level"], "critical");
    assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    assert_eq!(fake.provider_tokens(), 1, "one provider token, reused");

    // The app was removed from the provider's phone: 410, and the device goes.
    fake.unregister(&provider_phone);
    let gone = s.create_report(&survivor.access, &report("Gone")).await;
    assign(&s, &dispatcher, gone.id, &provider).await;
    let notes = settled(&s, &provider, 2).await;
    let n = notes.iter().find(|n| n.incident == Some(gone.id)).unwrap();
    assert_eq!(push_state(n), DeliveryState::Failed);
    assert!(n.channels["push"]
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("410")));
    let devices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE token = $1")
        .bind(&provider_phone)
        .fetch_one(&s.running.state.db.read)
        .await
        .unwrap();
    assert_eq!(devices, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expo_gets_batches_of_at_most_100_and_dead_tokens_go_from_tickets_and_receipts() {
    let fake = kintara_fakes::FakeExpo::start(Some("expo-secret")).await;
    let url = fake.url.clone();
    let s = TestServer::start_with(move |c| {
        c.demo = true;
        c.expo_endpoint = Some(url);
        c.expo_access_token = Some("expo-secret".into());
        c.expo_receipt_delay_secs = 1;
    })
    .await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    const DEVICES: usize = 150;
    let token = |i: usize| format!("ExponentPushToken[desk-{i:03}]");
    for i in 0..DEVICES {
        s.post(
            "/api/devices/",
            Some(&dispatcher.access),
            &json!({ "token": token(i), "platform": "android", "kind": "expo" }),
        )
        .await
        .expect(201);
    }
    // Desk 0 was wiped (refused at once); desk 1 is wiped after Expo took the push (its
    // receipt says so).
    fake.unregister(&token(0));
    fake.unregister_later(&token(1));

    let mut body = report("Immediate");
    body["urgency_level"] = json!("immediate");
    let incident = s.create_report(&survivor.access, &body).await;
    until("every ticket", || async {
        fake.accepted().len() == DEVICES - 1
    })
    .await;
    let batches = fake.batches();
    assert!(batches.iter().all(|&b| b <= 100), "{batches:?}");
    assert_eq!(batches.iter().sum::<usize>(), DEVICES);
    assert!(
        batches.len() >= 2 && batches.len() < DEVICES / 10,
        "batched: {batches:?}"
    );
    assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    let m = &fake.accepted()[0].message;
    assert_eq!(m["priority"], "high");
    assert_eq!(m["data"]["incident_id"], json!(incident.id.to_string()));

    let count = |t: String| {
        let s = &s;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM devices WHERE token = $1")
                .bind(t)
                .fetch_one(&s.running.state.db.read)
                .await
                .unwrap()
        }
    };
    // Recorded once the batch's outcomes are (FCM has them a moment before the database).
    until("desk 0's dead ticket to remove it", || async {
        count(token(0)).await == 0
    })
    .await;
    until("desk 1's receipt", || async { count(token(1)).await == 0 }).await;
    assert!(fake.receipt_requests() >= 1);
    assert_eq!(count(token(2)).await, 1, "a good receipt keeps the device");
    let n = feed(&s, &dispatcher)
        .await
        .into_iter()
        .find(|n| n.incident == Some(incident.id))
        .unwrap();
    assert_eq!(
        push_state(&n),
        DeliveryState::Sent,
        "the other desks took it"
    );
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE lane = 'expo' AND state = 'failed'",
    )
    .fetch_one(&s.running.state.db.read)
    .await
    .unwrap();
    assert_eq!(failed, 2, "desk 0 by its ticket, desk 1 by its receipt");
}

/// A demo server sending WhatsApp messages through `fake`, its webhook on.
async fn whatsapp_server(fake: &FakeWhatsapp) -> TestServer {
    let (url, token, number) = (
        fake.url.clone(),
        fake.token.clone(),
        fake.phone_number_id.clone(),
    );
    TestServer::start_with(move |c| {
        c.demo = true;
        c.whatsapp_endpoint = url;
        c.whatsapp_token = Some(token);
        c.whatsapp_phone_number_id = Some(number);
        c.whatsapp_app_secret = Some(APP_SECRET.into());
        c.whatsapp_verify_token = Some("verify-me".into());
    })
    .await
}

const APP_SECRET: &str = "meta-app-secret";

async fn set_profile(s: &TestServer, who: &Account, body: Value) -> kintara_api::User {
    let resp = s
        .put("/api/auth/me/update/", Some(&who.access), &body)
        .await;
    resp.expect(200);
    resp.json_as::<kintara_api::MeResponse>().user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_sends_the_template_in_her_language_says_nothing_of_her_case_and_only_signed_reports_count(
) {
    const MARK: &str = "Plantedmark";
    let fake = FakeWhatsapp::start("wa-system-user-token", "106540352242922").await;
    let s = whatsapp_server(&fake).await;
    let survivor = s.demo_login("survivor").await;
    let dispatcher = s.demo_login("dispatcher").await;
    let provider = s.demo_login("legal").await;
    let admin = s.demo_login("admin").await;

    // Her number, checked as E.164 and stored one way; her language.
    for bad in [
        "0712345678",
        "+254 712 345 678",
        "+0712345678",
        "+12",
        "tel:+254712345678",
    ] {
        let resp = s
            .put(
                "/api/auth/me/update/",
                Some(&survivor.access),
                &json!({ "whatsapp_number": bad }),
            )
            .await;
        resp.expect(422);
        assert_eq!(
            resp.json()["errors"]["whatsapp_number"][0]["code"],
            "not_a_phone_number",
            "{bad}: {}",
            resp.text
        );
    }
    let me = set_profile(
        &s,
        &survivor,
        json!({ "whatsapp_number": "+254712345678", "language": "sw" }),
    )
    .await;
    assert_eq!(me.whatsapp_number.as_deref(), Some("+254712345678"));
    assert_eq!(me.language, kintara_api::Language::Sw);
    // Where she gets messages is hers alone: not even an admin sees it.
    let users = s
        .get(
            "/api/admin/users/?q=survivor@kintara.test",
            Some(&admin.access),
        )
        .await;
    users.expect(200);
    assert!(!users.text.contains("254712345678"), "{}", users.text);

    choose(
        &s,
        &survivor,
        &["assignment_accepted", "status_changed", "new_message"],
        &["whatsapp"],
    )
    .await;
    // The provider chose WhatsApp but gave no number: skipped, saying why.
    choose(&s, &provider, &["case_assigned"], &["whatsapp"]).await;
    // Meta is busy for the first attempt: it is tried again, not lost.
    fake.script([WaReply::rate_limited()]);

    let mut body = report(&format!("{MARK} what happened"));
    body["location"] = json!({ "address": format!("{MARK} road"), "description": MARK });
    let incident = s.create_report(&survivor.access, &body).await;
    assign(&s, &dispatcher, incident.id, &provider).await;
    let theirs = feed(&s, &provider).await.remove(0);
    assert_eq!(theirs.channels["whatsapp"].state, DeliveryState::Skipped);
    assert_eq!(
        theirs.channels["whatsapp"].last_error.as_deref(),
        Some(delivery_error::NO_NUMBER)
    );
    s.patch(
        &format!("/api/incidents/{}/accept/", incident.id),
        Some(&provider.access),
        &json!({}),
    )
    .await
    .expect(200);
    until("her WhatsApp message to be recorded as sent", || async {
        feed(&s, &survivor)
            .await
            .iter()
            .any(|n| n.channels["whatsapp"].state == DeliveryState::Sent)
    })
    .await;
    let hers = feed(&s, &survivor)
        .await
        .into_iter()
        .find(|n| n.channels["whatsapp"].state == DeliveryState::Sent)
        .unwrap();
    let wa = &hers.channels["whatsapp"];
    assert_eq!(wa.attempts, 2, "once refused (rate limit), then accepted");
    let sent = fake.sent();
    assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    let m = sent
        .iter()
        .find(|m| wa.message_id.as_deref() == Some(m.wamid.as_str()))
        .expect("the message the feed names");
    for other in &sent {
        assert!(!other.body.to_string().contains(MARK));
    }
    assert_eq!(m.to, "254712345678");
    assert_eq!(m.template, "kintara_notification");
    assert_eq!(m.language, "sw");
    assert_eq!(
        m.parameters,
        [kintara_i18n::text(
            kintara_i18n::Lang::Sw,
            "notif.new_update"
        )]
    );
    assert!(!m.body.to_string().contains(MARK));

    // The subscription check: only with the verify token, and only a plausible challenge.
    let check = |token: &str, challenge: &str| {
        s.request(
            reqwest::Method::GET,
            &format!(
                "/api/webhooks/whatsapp/?hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"
            ),
        )
        .send()
    };
    let ok = check("verify-me", "1158201444").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(check("guess", "1158201444").await.unwrap().status(), 401);
    assert_eq!(
        check("verify-me", "%3Cscript%3E").await.unwrap().status(),
        401,
        "nothing but a plain token is echoed"
    );

    // A report that Meta could not deliver it: believed only when signed with the app secret.
    let webhook = s.url("/api/webhooks/whatsapp/");
    let failed = [(m.wamid.as_str(), "failed", Some(131026))];
    assert_eq!(
        FakeWhatsapp::report(&webhook, "not-the-secret", &failed).await,
        401
    );
    let unsigned = s
        .request(reqwest::Method::POST, "/api/webhooks/whatsapp/")
        .json(&json!({ "entry": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let still = feed(&s, &survivor).await;
    let still = still.iter().find(|n| n.id == hers.id).unwrap();
    assert_eq!(still.channels["whatsapp"].state, DeliveryState::Sent);
    // Another message's id, and a delivered status, change nothing.
    assert_eq!(
        FakeWhatsapp::report(
            &webhook,
            APP_SECRET,
            &[
                ("wamid.NOTOURS", "failed", Some(131026)),
                (m.wamid.as_str(), "delivered", None)
            ]
        )
        .await,
        200
    );
    assert_eq!(
        feed(&s, &survivor)
            .await
            .iter()
            .find(|n| n.id == hers.id)
            .unwrap()
            .channels["whatsapp"]
            .state,
        DeliveryState::Sent
    );
    assert_eq!(
        FakeWhatsapp::report(&webhook, APP_SECRET, &failed).await,
        200
    );
    let after = feed(&s, &survivor).await;
    let wa = &after.iter().find(|n| n.id == hers.id).unwrap().channels["whatsapp"];
    assert_eq!(wa.state, DeliveryState::Failed);
    assert!(
        wa.last_error.as_deref().unwrap_or("").contains("131026"),
        "{wa:?}"
    );

    // She removes her number: the next notification is skipped, not sent to the old one.
    until("every message to her to settle", || async {
        feed(&s, &survivor)
            .await
            .iter()
            .all(|n| n.channels["whatsapp"].state != DeliveryState::Pending)
    })
    .await;
    let sent_before = fake.sent().len();
    let me = set_profile(&s, &survivor, json!({ "whatsapp_number": "" })).await;
    assert_eq!(me.whatsapp_number, None);
    s.patch(
        &format!("/api/providers/cases/{}/status/", incident.id),
        Some(&provider.access),
        &json!({ "status": "completed" }),
    )
    .await
    .expect(200);
    until("the status change to reach her feed", || async {
        feed(&s, &survivor).await.len() > after.len()
    })
    .await;
    let newest = feed(&s, &survivor).await.remove(0);
    assert_eq!(
        newest.channels["whatsapp"].last_error.as_deref(),
        Some(delivery_error::NO_NUMBER)
    );
    assert_eq!(
        fake.sent().len(),
        sent_before,
        "nothing went to the removed number"
    );
}

#[tokio::test]
async fn send_me_a_test_goes_to_every_chosen_channel_says_nothing_more_and_is_limited() {
    let fake = FakeFcm::start().await;
    let keys = tempfile::tempdir().expect("temp dir");
    let creds = account_file(&fake, keys.path());
    let url = fake.url.clone();
    // The server's own limits (the harness turns them off elsewhere).
    let s = TestServer::start_with(move |c| {
        c.demo = true;
        c.fcm_credentials = Some(creds);
        c.fcm_endpoint = url;
        c.rate_limits = kintara_server::limits::LimitSpec::default();
    })
    .await;
    let survivor = s.demo_login("survivor").await;
    register_device(&s, &survivor, "her-phone").await;
    let prefs: kintara_api::NotificationPreferences = s
        .get("/api/notifications/preferences/", Some(&survivor.access))
        .await
        .json_as();
    assert_eq!(
        prefs.offered,
        [kintara_api::Channel::Websocket, kintara_api::Channel::Push],
        "only what this server carries"
    );
    assert!(
        prefs
            .preferences
            .iter()
            .all(|p| p.notification_type != kintara_api::NotificationType::Test),
        "a test is asked for, not chosen"
    );

    let resp = s
        .post(
            "/api/notifications/test/",
            Some(&survivor.access),
            &json!({}),
        )
        .await;
    resp.expect(201);
    let made: Notification = resp.json_as();
    assert_eq!(made.notification_type, kintara_api::NotificationType::Test);
    assert_eq!(made.channels["push"].state, DeliveryState::Pending);
    assert_eq!(made.channels["email"].state, DeliveryState::Skipped);
    let notes = settled(&s, &survivor, 1).await;
    let test = notes.iter().find(|n| n.id == made.id).expect("in her feed");
    assert_eq!(test.channels["push"].state, DeliveryState::Sent);
    let pushed = fake.accepted();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        pushed[0].message["notification"]["body"], "You have a new update",
        "a survivor's test says no more than any other push"
    );

    // Each may land on a phone (or cost a WhatsApp message): five an hour.
    for _ in 0..4 {
        s.post(
            "/api/notifications/test/",
            Some(&survivor.access),
            &json!({}),
        )
        .await
        .expect(201);
    }
    let refused = s
        .post(
            "/api/notifications/test/",
            Some(&survivor.access),
            &json!({}),
        )
        .await;
    refused.expect(429);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(refused.json()["code"], "rate_limited");
}
