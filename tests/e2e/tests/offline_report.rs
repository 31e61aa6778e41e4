//! A survivor files a report while the server is down: the app keeps it on the device, says so
//! in words she understands, and shows it in "My reports" as waiting; when the server is back
//! (same port, same data) the report goes by itself and becomes a real case on screen, filed
//! exactly once. And a report the server refuses comes back to the wizard as field errors,
//! without leaving a failed copy in the outbox.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{App, DEMO_PASSWORD};
use fantoccini::Locator;
use serde_json::{json, Value};

/// A `kintara-server` on a port and data directory chosen by the test, so it can be stopped and
/// started again as the same server (the harness's `Server` picks both itself). Runs in its
/// own process group, killed on drop (toolchain pitfall P10).
struct StoppableServer(Child);

impl StoppableServer {
    fn start(port: u16, data: &Path, run: u32) -> StoppableServer {
        let log = std::fs::File::create(
            common::artifacts_dir().join(format!("offline-report-server-{run}.log")),
        )
        .expect("log file");
        let child = Command::new(common::binary("kintara-server"))
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--demo",
                "--data-dir",
            ])
            .arg(data)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("spawn kintara-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "kintara-server did not open {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        StoppableServer(child)
    }
}

impl Drop for StoppableServer {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.0.id());
        for signal in ["-TERM", "-KILL"] {
            let _ = Command::new("kill")
                .args([signal, "--", &pgid])
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_report_filed_while_the_server_is_down_is_kept_and_sent_when_it_is_back() {
    let port = common::free_port();
    let data = tempfile::tempdir().expect("tempdir");
    let url = format!("http://127.0.0.1:{port}");
    let server = StoppableServer::start(port, data.path(), 1);

    let app = App::launch().await;
    app.find("#login-email").await;
    app.connect_to(&url).await;
    app.sign_in("survivor@kintara.test", DEMO_PASSWORD).await;
    app.wait_text("#home-title", "Amani").await;

    // The connection drops: the server is gone (its data stays).
    drop(server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server is stopped"
    );

    app.click("#new-report").await;
    app.wait_text("#wizard-step", "Step 1 of 5").await;
    app.click("#type-physical").await;
    app.click("#wizard-next").await;
    app.wait_text("#wizard-step", "Step 2 of 5").await;
    app.fill("#location-address", "Mathare, Nairobi").await;
    app.fill("#description", "He threatened me at the water point.")
        .await;
    app.click("#wizard-next").await;
    app.wait_text("#wizard-step", "Step 3 of 5").await;
    app.click("#service-counseling").await;
    app.click("#wizard-next").await;
    app.wait_text("#wizard-step", "Step 4 of 5").await;
    app.click("#wizard-next").await;
    app.wait_text("#wizard-step", "Step 5 of 5").await;
    app.click("#wizard-submit").await;

    // No error and no lost report: she is told it is safe on the device and will go by itself.
    app.wait_text("#notice", "saved on this device").await;
    app.wait_text("#notice", "sent automatically").await;
    assert!(
        app.client
            .find(Locator::Css("#wizard-error"))
            .await
            .is_err(),
        "no error is shown for a report kept on the device"
    );
    app.wait_text("#reports-queued .report", "Physical Violence")
        .await;
    app.wait_text("#reports-queued .status", "Waiting for connection")
        .await;
    app.wait_text("#reports-error", "You are offline").await;
    app.screenshot("report-saved-offline.png").await;

    // Signing out would wipe the device, the waiting report with it: the app asks first, and
    // "stay" keeps everything.
    app.click("#back-home").await;
    app.click("#logout").await;
    app.wait_text(
        "#logout-confirm-text",
        "1 item(s) have not reached Kintara yet",
    )
    .await;
    app.click("#logout-stay").await;
    app.wait_gone("#logout-confirm").await;
    app.wait_text("#home-title", "Amani").await;
    app.click("#my-reports").await;
    app.wait_text("#reports-queued .status", "Waiting for connection")
        .await;

    // The server is back, as the same server: the outbox delivers the report by itself and the
    // waiting entry turns into the case, with its number, without any action of hers.
    let _server = StoppableServer::start(port, data.path(), 2);
    let case_number = app
        .wait_text_within(
            "#reports-list .case-number",
            "KIN-",
            Duration::from_secs(90),
        )
        .await;
    app.wait_gone("#reports-queued .report").await;
    app.wait_gone("#reports-error").await;
    // The "saved on this device" notice has given way to one that says it was sent.
    app.wait_text("#report-sent", &case_number).await;
    app.wait_gone("#notice").await;
    app.screenshot("report-sent-when-back.png").await;
    let _ = app.close().await;

    // Exactly one incident, holding what she entered.
    let login: Value = reqwest::Client::new()
        .post(format!("{url}/api/auth/login/"))
        .json(&json!({"email": "survivor@kintara.test", "password": DEMO_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["tokens"]["access"].as_str().expect("access token");
    let list: Vec<Value> = reqwest::Client::new()
        .get(format!("{url}/api/incidents/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list body");
    assert_eq!(list.len(), 1, "exactly one report stored: {list:?}");
    assert_eq!(list[0]["case_number"], case_number.as_str());
    assert_eq!(
        list[0]["description"],
        "He threatened me at the water point."
    );
    assert_eq!(list[0]["location"]["address"], "Mathare, Nairobi");
}

/// Calls a Tauri command from the page, as the UI does, and returns `{ok: …}` or `{err: …}`.
async fn invoke(app: &App, cmd: &str, args: Value) -> Value {
    let script = r#"
        const [cmd, args, done] = arguments;
        window.__TAURI__.core.invoke(cmd, args).then(ok => done({ok}), err => done({err}));
    "#;
    app.client
        .execute_async(script, vec![json!(cmd), args])
        .await
        .unwrap_or_else(|e| panic!("invoke {cmd}: {e}"))
}

/// Calls `file_report` from the page with a report and no files, laid out as the UI does
/// (`kintara_api::upload`: the metadata's length, little-endian, then the metadata as JSON).
async fn file_report(app: &App, report: Value) -> Value {
    let script = r#"
        const [report, done] = arguments;
        const meta = new TextEncoder().encode(JSON.stringify({report, files: []}));
        const body = new Uint8Array(4 + meta.length);
        new DataView(body.buffer).setUint32(0, meta.length, true);
        body.set(meta, 4);
        window.__TAURI__.core.invoke("file_report", body).then(ok => done({ok}), err => done({err}));
    "#;
    app.client
        .execute_async(script, vec![report])
        .await
        .unwrap_or_else(|e| panic!("invoke file_report: {e}"))
}

/// The UI checks a report with the server's own rules, so only a report that slips past them
/// can be refused; it is sent here straight to the command. The refusal comes back with the
/// server's field errors (the wizard marks them on its form) and no failed copy stays behind in
/// the outbox: the wizard still holds the draft.
#[tokio::test]
async fn a_report_the_server_refuses_comes_back_with_its_field_errors_and_leaves_no_trace() {
    let server = common::Server::start();
    let app = App::launch().await;
    app.sign_in_to(&server.url, "survivor@kintara.test", "Amani")
        .await;

    let report = json!({
        "type": "physical",
        "incident_date": "2024-03-01",
        "description": "",
        "location": {"address": "Kibera, Nairobi"},
        "support_services": ["medical"],
    });
    // Named JSON arguments are not how a report comes: refused, and nothing queued.
    let answer = invoke(&app, "file_report", json!({ "report": report })).await;
    assert!(
        answer["err"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not be saved")),
        "{answer}"
    );
    let answer = file_report(&app, report).await;
    let err = &answer["err"];
    assert_eq!(err["kind"], "validation", "refused: {answer}");
    assert!(
        err["fields"]["description"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "the server's field errors come back: {answer}"
    );
    let outbox = invoke(&app, "outbox_items", json!({})).await;
    assert_eq!(outbox["ok"], json!([]), "nothing lingers in the outbox");
    let _ = app.close().await;

    let token = server.login("survivor@kintara.test").await;
    let list: Vec<Value> = reqwest::Client::new()
        .get(format!("{}/api/incidents/", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list body");
    assert!(list.is_empty(), "nothing was filed: {list:?}");
}
