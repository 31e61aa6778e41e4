//! OS notifications over the real desktop notification protocol: each app runs on a D-Bus
//! session bus of its own (a real `dbus-daemon`), and `dbus-monitor` records every
//! `org.freedesktop.Notifications.Notify` call the app makes. A provider who chose Swahili is
//! told of a case offered to them in Swahili; a survivor is told only that there is an update,
//! in her language, with nothing of her case. Clicking a notification (the desktop's
//! `ActionInvoked`, from a notification server on that bus) opens its room or its case.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{App, Group, Server, DEMO_PASSWORD};
use serde_json::json;

/// A session bus and a monitor of the notification calls on it.
struct NotificationBus {
    address: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    // Dropped first: the monitor, then the bus.
    _monitor: Group,
    _daemon: Group,
}

impl NotificationBus {
    fn start() -> NotificationBus {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        // The daemon prints its address once it accepts connections. Its socket file exists
        // a moment earlier (bound, not yet listening), and a client connecting in that moment
        // is refused: waiting for the file let dbus-monitor fail to start under load.
        let printed = dir.path().join("address");
        let daemon = Group::spawn(
            Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--nopidfile", "--print-address"])
                .arg(format!("--address={address}"))
                .stdout(std::fs::File::create(&printed).expect("address file"))
                .stderr(Stdio::null()),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&printed).is_ok_and(|a| a.ends_with('\n')) {
            assert!(Instant::now() < deadline, "dbus-daemon did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(socket.exists(), "dbus-daemon is not at {address}");
        let log = dir.path().join("monitor.log");
        let errors = dir.path().join("monitor.err");
        let monitor = Group::spawn(
            Command::new("dbus-monitor")
                .args(["--address", &address])
                .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
                // Who asks the bus for the clicks (`ActionInvoked`), and when.
                .arg("type='method_call',interface='org.freedesktop.DBus',member='AddMatch'")
                .stdout(std::fs::File::create(&log).expect("monitor log"))
                .stderr(std::fs::File::create(&errors).expect("monitor errors")),
        );
        // The monitor is listening once it has said hello to the bus (its first lines).
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) == 0 {
            assert!(
                Instant::now() < deadline,
                "dbus-monitor did not start: {}",
                std::fs::read_to_string(&errors).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        NotificationBus {
            address,
            log,
            _dir: dir,
            _monitor: monitor,
            _daemon: daemon,
        }
    }

    /// Every `Notify` call so far: (summary, body).
    fn notifications(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if !line.contains("member=Notify") {
                continue;
            }
            // app_name, replaces_id, app_icon, summary, body.
            let args: Vec<&str> = lines.by_ref().take(5).collect();
            let string = |l: Option<&&str>| {
                l.and_then(|l| l.trim().strip_prefix("string \""))
                    .and_then(|l| l.strip_suffix('"'))
                    .unwrap_or_default()
                    .to_owned()
            };
            out.push((string(args.get(3)), string(args.get(4))));
        }
        out
    }

    /// Waits until the connection that raised the notification whose summary contains `summary`
    /// listens for clicks (asked the bus for `ActionInvoked`). A critical alert is raised on a
    /// connection of its own, which subscribes after the `Notify` call; a person is never that
    /// quick, but a test clicking at once would be.
    async fn wait_listening_for_clicks(&self, summary: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let sender = |header: &str| {
                header
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("sender="))
                    .map(str::to_owned)
            };
            let raised_by = lines.iter().enumerate().find_map(|(i, l)| {
                (l.contains("member=Notify")
                    && lines.get(i + 4).is_some_and(|a| a.contains(summary)))
                .then(|| sender(l))
                .flatten()
            });
            let listening = raised_by.is_some_and(|who| {
                lines.iter().enumerate().any(|(i, l)| {
                    l.contains("member=AddMatch")
                        && sender(l).as_deref() == Some(who.as_str())
                        && lines
                            .get(i + 1)
                            .is_some_and(|a| a.contains("ActionInvoked"))
                })
            });
            if listening {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the app never listened for clicks on {summary:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a notification whose summary and body contain the needles.
    async fn wait_for(&self, summary: &str, body: &str) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all = self.notifications();
            if let Some(n) = all
                .iter()
                .find(|(s, b)| s.contains(summary) && b.contains(body))
            {
                return n.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no notification ({summary:?}, {body:?}) among {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A notification server on a bus, as a desktop runs one (`org.freedesktop.Notifications`):
/// it answers `Notify` with an id and records what it was given, and `click` tells the app its
/// notification was clicked (the `ActionInvoked` signal with the `default` action), as the
/// desktop does when the person clicks it.
struct NotificationServer {
    shown: Arc<Mutex<Vec<Shown>>>,
    conn: zbus::Connection,
}

#[derive(Debug, Clone)]
struct Shown {
    id: u32,
    summary: String,
    body: String,
    actions: Vec<String>,
    /// The `urgency` hint: 0 low, 1 normal, 2 critical; none given counts as normal.
    urgency: Option<u8>,
}

struct NotificationsInterface {
    shown: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationsInterface {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().unwrap();
        let id = shown.len() as u32 + 1;
        shown.push(Shown {
            id,
            summary,
            body,
            actions,
            urgency: hints.get("urgency").and_then(|v| u8::try_from(&**v).ok()),
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "kintara-e2e".into(),
            "kintara".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

impl NotificationServer {
    async fn start(bus: &NotificationBus) -> NotificationServer {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::connection::Builder::address(bus.address.as_str())
            .name("org.freedesktop.Notifications")
            .serve_at(
                "/org/freedesktop/Notifications",
                NotificationsInterface {
                    shown: shown.clone(),
                },
            )
            .build()
            .await
            .expect("connected to the bus");
        NotificationServer { shown, conn }
    }

    /// Waits for a notification whose summary contains `needle`.
    async fn wait_for(&self, needle: &str) -> Shown {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all = self.shown.lock().unwrap().clone();
            if let Some(n) = all.iter().find(|n| n.summary.contains(needle)) {
                return n.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no notification {needle:?} among {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, n: &Shown) {
        assert!(
            n.actions.iter().any(|a| a == "default"),
            "a click on it would report nothing: {n:?}"
        );
        self.conn
            .emit_signal(
                None::<&str>,
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(n.id, "default"),
            )
            .await
            .expect("signal sent");
    }
}

/// Launches the app on `bus`, switches it to Swahili on the sign-in screen and signs in.
async fn signed_in_in_swahili(server: &Server, bus: &NotificationBus, email: &str) -> App {
    let app = App::launch_with_env(&[("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())]).await;
    app.find("#login-email").await;
    app.connect_to(&server.url).await;
    app.click("#signin-lang").await;
    app.sign_in(email, DEMO_PASSWORD).await;
    app.wait_text("#home-title", "Habari").await;
    app.wait_text("#conn-state", "Mtandaoni").await;
    app
}

#[tokio::test]
async fn os_notifications_speak_the_apps_language_and_keep_a_survivors_secrets() {
    let server = Server::start();
    let provider_bus = NotificationBus::start();
    let survivor_bus = NotificationBus::start();
    let provider = signed_in_in_swahili(&server, &provider_bus, "healthcare@kintara.test").await;
    let survivor = signed_in_in_swahili(&server, &survivor_bus, "survivor@kintara.test").await;
    // A window the app does not own in front of both, as when the person is using another
    // program: an app is told nothing while its own window has the focus (the last one opened
    // has it here).
    let in_front = App::launch().await;
    in_front.find("#login-email").await;

    // She files a routine report (it waits for a dispatcher), who offers it to the provider.
    let survivor_token = server.login("survivor@kintara.test").await;
    let (incident, case_number) = server.file_routine_report(&survivor_token).await;
    let provider_token = server.login("healthcare@kintara.test").await;
    let provider_id = server.user_id(&provider_token).await;
    let dispatcher = server.login("dispatcher@kintara.test").await;
    server
        .api(
            &dispatcher,
            reqwest::Method::POST,
            &format!("/api/dispatch/cases/{incident}/assign/"),
            json!({"provider_ids": [provider_id]}),
        )
        .await;

    // The provider: the case and what to do, in Swahili.
    let (summary, body) = provider_bus
        .wait_for(
            &format!("Umekabidhiwa kesi {case_number}"),
            "Ikubali au uikatae",
        )
        .await;
    assert!(
        body.contains("Ukatili wa kimwili (kawaida)"),
        "the case's type and urgency in Swahili: {body}"
    );
    assert!(
        !summary.contains("assigned") && !body.contains("Physical"),
        "{summary} / {body}"
    );

    // The provider accepts; the survivor is told that there is an update, in Swahili, and nothing
    // of her case, whatever came.
    server
        .api(
            &provider_token,
            reqwest::Method::PATCH,
            &format!("/api/incidents/{incident}/accept/"),
            json!({}),
        )
        .await;
    let (summary, _) = survivor_bus
        .wait_for("Kintara", "Kesi yako ina taarifa mpya.")
        .await;
    assert_eq!(summary, "Kintara");
    for (summary, body) in survivor_bus.notifications() {
        for secret in [
            case_number.as_str(),
            "Ukatili",
            "Physical",
            "Kibera",
            "phone",
            "Dr.",
        ] {
            assert!(
                !summary.contains(secret) && !body.contains(secret),
                "{secret:?} shown to the survivor: {summary} / {body}"
            );
        }
    }
    // Each app tells only its own bus.
    assert!(provider_bus
        .notifications()
        .iter()
        .all(|(s, _)| s != "Kintara"));

    let _ = provider.close().await;
    let _ = survivor.close().await;
    let _ = in_front.close().await;
}

#[tokio::test]
async fn clicking_an_os_notification_opens_its_room_or_its_case() {
    let server = Server::start();
    let bus = NotificationBus::start();
    let desktop = NotificationServer::start(&bus).await;
    let app = App::launch_with_env(&[("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())]).await;
    app.sign_in_to(&server.url, "healthcare@kintara.test", "Hello")
        .await;
    app.wait_text("#conn-state", "Online").await;
    // Another program in front: the app raises OS notifications only when it is not looked at.
    let in_front = App::launch().await;
    in_front.find("#login-email").await;

    // A case offered to the provider, then (accepted) a message from the survivor in its room.
    let survivor = server.login("survivor@kintara.test").await;
    let (incident, case_number) = server.file_routine_report(&survivor).await;
    let provider = server.login("healthcare@kintara.test").await;
    let provider_id = server.user_id(&provider).await;
    let dispatcher = server.login("dispatcher@kintara.test").await;
    server
        .api(
            &dispatcher,
            reqwest::Method::POST,
            &format!("/api/dispatch/cases/{incident}/assign/"),
            json!({"provider_ids": [provider_id]}),
        )
        .await;
    let offered = desktop.wait_for(&case_number).await;
    server
        .api(
            &provider,
            reqwest::Method::PATCH,
            &format!("/api/incidents/{incident}/accept/"),
            json!({}),
        )
        .await;
    let rooms = server
        .api(
            &survivor,
            reqwest::Method::GET,
            "/api/chat/rooms/",
            json!(null),
        )
        .await;
    let room = rooms["results"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["incident"] == json!(incident))
        .expect("the case room")["id"]
        .as_str()
        .expect("room id")
        .to_owned();
    server
        .api(
            &survivor,
            reqwest::Method::POST,
            "/api/chat/messages/",
            json!({"room": room, "content": "Are you there?"}),
        )
        .await;
    let message = desktop.wait_for("New message").await;
    assert!(message.body.contains("sent you a message"), "{message:?}");

    // Clicking the message opens its conversation; clicking the offer, the case.
    desktop.click(&message).await;
    app.find(&format!("#room[data-room='{room}']")).await;
    desktop.click(&offered).await;
    app.wait_text(
        &format!(".case-card[data-incident='{incident}'] .case-detail"),
        "What happened",
    )
    .await;
    app.screenshot("os-notification-click.png").await;

    let _ = app.close().await;
    let _ = in_front.close().await;
}

#[tokio::test]
async fn an_urgent_alert_is_critical_on_the_desktop_and_its_click_opens_the_case() {
    let server = Server::start();
    let bus = NotificationBus::start();
    let desktop = NotificationServer::start(&bus).await;
    let app = App::launch_with_env(&[("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())]).await;
    app.sign_in_to(&server.url, "dispatcher@kintara.test", "Hello")
        .await;
    app.wait_text("#conn-state", "Online").await;
    let in_front = App::launch().await;
    in_front.find("#login-email").await;

    // A routine report, then an urgent one: each tells every dispatcher.
    let survivor = server.login("survivor@kintara.test").await;
    let (_, routine_number) = server.file_routine_report(&survivor).await;
    let routine = desktop.wait_for(&routine_number).await;
    let urgent_case = server
        .api(
            &survivor,
            reqwest::Method::POST,
            "/api/incidents/",
            json!({
                "type": "physical",
                "incident_date": "2026-11-20",
                "description": "He is outside the door now.",
                "location": {"address": "Kibera, Nairobi"},
                "support_services": ["police"],
                "urgency_level": "urgent"
            }),
        )
        .await;
    let incident = urgent_case["id"].as_str().expect("id").to_owned();
    let urgent_number = urgent_case["case_number"].as_str().expect("number");
    let urgent = desktop.wait_for(urgent_number).await;

    // Only the urgent one is critical: it stays on screen until dismissed.
    assert_eq!(urgent.urgency, Some(2), "{urgent:?}");
    assert_ne!(routine.urgency, Some(2), "{routine:?}");

    // Its click opens the case, as any other's does.
    bus.wait_listening_for_clicks(urgent_number).await;
    desktop.click(&urgent).await;
    app.wait_text(
        &format!(".case-card[data-incident='{incident}'] .case-detail"),
        "What happened",
    )
    .await;

    let _ = app.close().await;
    let _ = in_front.close().await;
}
