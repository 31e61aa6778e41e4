//! Staff work a case in the real app window: an offered provider decides from what the offer
//! shows (and nothing that finds her), accepts, then reads the whole case with its photo,
//! recording and document, opens the place on a map, starts and completes it; a dispatcher reads
//! the same case and closes and reopens it from its card. Every action goes through the outbox.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{App, Server};
use serde_json::{json, Value};

/// Written in her report: must not be on screen before the provider accepts.
const WHAT: &str = "Zawadi-marker: he hit her at the Gikomba stall";
const ADDRESS: &str = "Kibera Lane 7";
const PLACE: &str = "behind the blue kiosk";

/// A real 4×4 PNG, so the web view decodes it (its `naturalWidth` shows it was shown).
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x02\x00\x00\x00\x26\x93\x09\x29\x00\x00\x00\x10\x49\x44\x41\x54\x78\x9c\x63\x38\x60\x60\x00\x47\x0c\xc4\x71\x00\xdd\x43\x12\x01\x80\x75\xa2\x41\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// A tenth of a second of 8 kHz silence as WAV.
fn wav() -> Vec<u8> {
    let samples = vec![0x80u8; 800];
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    b.extend_from_slice(&samples);
    b
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n% Kintara case-work statement\n1 0 obj << >> endobj\n%%EOF\n".to_vec()
}

/// Uploads a file to the case as the survivor (multipart by hand: one part, `file`).
async fn upload(
    server: &Server,
    token: &str,
    incident: &str,
    name: &str,
    ctype: &str,
    bytes: &[u8],
) {
    let boundary = "kintara-e2e-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("{}/api/incidents/{incident}/evidence/", server.url))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 201, "upload {name}");
}

/// The opener the app runs for documents and maps (`KINTARA_OPENER`): records each target and
/// keeps a copy of a file target, as the system's viewer would read it.
fn recording_opener(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("opened.log");
    let script = dir.join("opener.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ -f \"$1\" ]; then cp \"$1\" '{copy}'; fi\nprintf '%s\\n' \"$1\" >> '{log}'\n",
            copy = dir.join("copy").display(),
            log = log.display()
        ),
    )
    .expect("write the opener");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, log)
}

/// Waits until the opener's log has `n` lines, and returns them.
async fn opened(log: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines: Vec<String> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "the opener ran {} times",
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the dispatcher's view of the case has `status`.
async fn wait_status(server: &Server, token: &str, incident: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let case = server
            .api(
                token,
                reqwest::Method::GET,
                &format!("/api/dispatch/cases/{incident}/"),
                Value::Null,
            )
            .await;
        if case["status"] == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the case stayed {} instead of {status}",
            case["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `js` (which returns a boolean) until it is true.
async fn wait_js(app: &App, what: &str, js: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.client.execute(js, vec![]).await.ok() == Some(json!(true)) {
            return;
        }
        if Instant::now() >= deadline {
            app.fail(what).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn body_text(app: &App) -> String {
    app.find("body").await.text().await.unwrap_or_default()
}

#[tokio::test]
async fn a_provider_decides_from_the_offer_then_works_the_whole_case_and_a_dispatcher_closes_it() {
    let server = Server::start();
    let survivor = server.login("survivor@kintara.test").await;
    let dispatcher = server.login("dispatcher@kintara.test").await;
    let provider_token = server.login("healthcare@kintara.test").await;
    let provider_id = server.user_id(&provider_token).await;
    let incident = server
        .api(
            &survivor,
            reqwest::Method::POST,
            "/api/incidents/",
            json!({
                "type": "physical",
                "incident_date": "2026-11-20",
                "incident_time": "21:30:00",
                "description": WHAT,
                "location": {
                    "address": ADDRESS,
                    "description": PLACE,
                    "coordinates": {"latitude": -1.28333, "longitude": 36.81667}
                },
                "support_services": ["medical", "counseling"],
                "provider_preferences": {"communication_method": "sms", "preferred_gender": "female"},
                "urgency_level": "routine"
            }),
        )
        .await;
    let id = incident["id"].as_str().expect("id").to_owned();
    upload(&server, &survivor, &id, "bruise.png", "image/png", PNG).await;
    upload(&server, &survivor, &id, "voice.wav", "audio/wav", &wav()).await;
    upload(
        &server,
        &survivor,
        &id,
        "statement.pdf",
        "application/pdf",
        &pdf(),
    )
    .await;
    server
        .api(
            &dispatcher,
            reqwest::Method::POST,
            &format!("/api/dispatch/cases/{id}/assign/"),
            json!({"provider_ids": [provider_id]}),
        )
        .await;

    let opener_dir = tempfile::tempdir().expect("tempdir");
    let (opener, log) = recording_opener(opener_dir.path());
    let app = App::launch_with_env(&[("KINTARA_OPENER", opener.to_str().expect("path"))]).await;
    app.sign_in_to(&server.url, "healthcare@kintara.test", "Hello")
        .await;

    // Offered: enough to decide, nothing that finds her.
    let card = format!(".case-card[data-incident='{id}']");
    let offered = format!("#pending-list {card}");
    app.click(&format!("{offered} .show-details")).await;
    app.wait_text(&format!("{offered} .case-detail"), "Before you accept")
        .await;
    let shown = app
        .wait_text(
            &format!("{offered} .detail-coordinates"),
            "-1.30000, 36.80000",
        )
        .await;
    assert!(!shown.contains("1.28333"), "the exact place: {shown}");
    app.wait_text(&format!("{offered} .detail-services"), "Medical care")
        .await;
    app.wait_text(
        &format!("{offered} .detail-survivor"),
        "Shown once you accept",
    )
    .await;
    app.find(&format!("{offered} .evidence-withheld")).await;
    // Its history, with the dispatcher's move, is there before accepting too.
    app.click(&format!("{offered} .show-timeline")).await;
    app.wait_text(&format!("{offered} .timeline"), "Assigned")
        .await;
    let everything = body_text(&app).await;
    for secret in [WHAT, ADDRESS, PLACE, "21:30", "Amani"] {
        assert!(
            !everything.contains(secret),
            "{secret:?} is on the offered provider's screen"
        );
    }
    app.screenshot("case-offer.png").await;

    // Accepted (through the outbox): the whole case, its details still open.
    app.click(&format!("{offered} .accept")).await;
    let active = format!("#active-list {card}");
    app.wait_text(&format!("{active} .detail-description"), WHAT)
        .await;
    app.wait_text(&format!("{active} .detail-address"), ADDRESS)
        .await;
    app.wait_text(&format!("{active} .detail-place"), PLACE)
        .await;
    app.wait_text(&format!("{active} .detail-when"), "21:30")
        .await;
    app.wait_text(&format!("{active} .detail-contact"), "SMS")
        .await;
    app.wait_text(
        &format!("{active} .detail-coordinates"),
        "-1.28333, 36.81667",
    )
    .await;
    // The photo is decoded and shown, the recording is ready to play, both from memory.
    wait_js(
        &app,
        "the photo never showed",
        &format!("const i = document.querySelector(\"{active} .evidence-photo\"); return !!i && i.complete && i.naturalWidth === 4;"),
    )
    .await;
    // The player loads nothing until asked (as when she presses play), then plays from memory.
    wait_js(
        &app,
        "the recording never came",
        &format!("const a = document.querySelector(\"{active} .evidence-audio\"); if (!a || !a.src.startsWith('blob:')) return false; if (a.preload !== 'auto') {{ a.preload = 'auto'; a.load(); }} return a.readyState >= 1 && a.duration > 0.09 && a.duration < 0.11;"),
    )
    .await;
    app.screenshot("case-detail.png").await;

    // The document opens with the system's viewer, from a copy inside the app's own data.
    app.click(&format!("{active} .open-document")).await;
    let lines = opened(&log, 1).await;
    let copy = PathBuf::from(&lines[0]);
    assert!(
        copy.starts_with(app.xdg.path()),
        "the document was written outside the app's data: {copy:?}"
    );
    assert_eq!(copy.extension().and_then(|e| e.to_str()), Some("pdf"));
    assert_eq!(
        std::fs::read(opener_dir.path().join("copy")).expect("the viewer's copy"),
        pdf()
    );
    // The place opens on a map, from the numbers alone.
    app.click(&format!("{active} .open-map")).await;
    let lines = opened(&log, 2).await;
    assert_eq!(
        lines[1],
        "https://www.openstreetmap.org/?mlat=-1.28333&mlon=36.81667#map=16/-1.28333/36.81667"
    );

    // Accepting started the case; completing goes through the outbox too.
    wait_status(&server, &dispatcher, &id, "in_progress").await;
    app.click(&format!("{active} .set-status[data-status='completed']"))
        .await;
    wait_status(&server, &dispatcher, &id, "completed").await;

    // The card is drawn anew for its new status (its details stay open).
    app.wait_text(&format!("{active} .status"), "Completed")
        .await;

    // The case's details in the three layouts, and in Swahili.
    for (size, w, h) in [
        ("phone", 390, 844),
        ("tablet", 900, 1180),
        ("desktop", 1280, 860),
    ] {
        app.client
            .set_window_size(w, h)
            .await
            .unwrap_or_else(|e| panic!("resize to {size}: {e}"));
        wait_js(
            &app,
            &format!("what happened is not shown on a {size}"),
            &format!("const d = document.querySelector(\"{active} .detail-description\"); return !!d && d.getClientRects().length > 0 && d.textContent.includes('Zawadi-marker');"),
        )
        .await;
        app.screenshot(&format!("case-detail-{size}.png")).await;
    }
    app.click("#lang").await;
    app.wait_text(&format!("{active} .case-detail"), "Kilichotokea")
        .await;
    app.wait_text(&format!("{active} .case-detail"), "Fungua kwenye ramani")
        .await;
    app.wait_text(&format!("{active} .show-details"), "Ficha maelezo")
        .await;
    app.screenshot("case-detail-sw.png").await;
    let _ = app.close().await;

    // The dispatcher reads the same case and closes it, then reopens it, from its card.
    let app = App::launch().await;
    app.sign_in_to(&server.url, "dispatcher@kintara.test", "Hello")
        .await;
    let listed = format!("#all-cases {card}");
    app.click(&format!("{listed} .show-details")).await;
    app.wait_text(&format!("{listed} .detail-description"), WHAT)
        .await;
    // Its evidence, the same for dispatchers.
    wait_js(
        &app,
        "the dispatcher's photo never showed",
        &format!("const i = document.querySelector(\"{listed} .evidence-photo\"); return !!i && i.complete && i.naturalWidth === 4;"),
    )
    .await;
    app.wait_text(&format!("{listed} .detail-assignments"), "Accepted")
        .await;
    app.click(&format!("{listed} .decide[data-decision='close']"))
        .await;
    app.fill(
        &format!("{listed} .decision-reason"),
        "Referred on to the clinic",
    )
    .await;
    app.click(&format!("{listed} .confirm-decision")).await;
    wait_status(&server, &dispatcher, &id, "closed").await;
    app.click(&format!("{listed} .decide[data-decision='reopen']"))
        .await;
    app.fill(
        &format!("{listed} .decision-reason"),
        "Follow-up visit pending",
    )
    .await;
    app.click(&format!("{listed} .confirm-decision")).await;
    wait_status(&server, &dispatcher, &id, "completed").await;
    let timeline = server
        .api(
            &dispatcher,
            reqwest::Method::GET,
            &format!("/api/incidents/{id}/timeline/"),
            Value::Null,
        )
        .await;
    let reasons: Vec<&str> = timeline
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|c| c["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"Referred on to the clinic"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"Follow-up visit pending"), "{reasons:?}");
    let _ = app.close().await;
}

#[tokio::test]
async fn she_filters_her_reports_changes_one_and_withdraws_another() {
    let server = Server::start();
    let survivor = server.login("survivor@kintara.test").await;
    let (first, _) = server.file_routine_report(&survivor).await;
    let (second, second_number) = server.file_routine_report(&survivor).await;

    let app = App::launch().await;
    app.sign_in_to(&server.url, "survivor@kintara.test", "Amani")
        .await;
    app.click("#my-reports").await;
    let first_card = format!("#reports-list .report[data-id='{first}']");
    let second_card = format!("#reports-list .report[data-id='{second}']");
    app.find(&first_card).await;
    app.find(&second_card).await;

    // The filter: no closed report; both are waiting for review.
    app.click("#reports-filter option[value='closed']").await;
    app.find("#reports-none-here").await;
    app.click("#reports-filter option[value='pending_dispatcher_review']")
        .await;
    app.find(&first_card).await;
    app.find(&second_card).await;

    // She changes what happened and asks for legal aid as well.
    app.click(&format!("{first_card} .edit-report")).await;
    app.fill(
        &format!("{first_card} .edit-description"),
        "He hit me, took my phone and threatened my sister.",
    )
    .await;
    app.click(&format!(
        "{first_card} .edit-services input[data-service='legal']"
    ))
    .await;
    app.click(&format!("{first_card} .save-report")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = server
            .api(
                &survivor,
                reqwest::Method::GET,
                &format!("/api/incidents/{first}/"),
                Value::Null,
            )
            .await;
        if now["description"] == "He hit me, took my phone and threatened my sister." {
            let services = now["support_services"].as_array().expect("services");
            assert!(services.contains(&json!("legal")), "{services:?}");
            assert!(services.contains(&json!("medical")), "{services:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Withdrawing asks first; "Keep it" changes nothing.
    app.click(&format!("{second_card} .withdraw-report")).await;
    app.wait_text(
        &format!("{second_card} .withdraw-panel"),
        "cannot be undone",
    )
    .await;
    app.click(&format!("{second_card} .cancel-withdraw")).await;
    app.wait_gone(&format!("{second_card} .withdraw-panel"))
        .await;
    app.click(&format!("{second_card} .withdraw-report")).await;
    app.click(&format!("{second_card} .confirm-withdraw")).await;
    app.wait_gone(&second_card).await;
    let left = server
        .api(
            &survivor,
            reqwest::Method::GET,
            "/api/incidents/",
            Value::Null,
        )
        .await;
    let numbers: Vec<&str> = left
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["case_number"].as_str())
        .collect();
    assert!(!numbers.contains(&second_number.as_str()), "{numbers:?}");
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    let _ = app.close().await;
}

#[tokio::test]
async fn the_feed_pages_back_marks_urgent_entries_opens_their_case_and_marks_all_read() {
    // 22 reports from one survivor: more than the default limits let one account file in an
    // hour, and more than one page of the dispatcher's feed.
    let server = Server::start_with_env(&[(
        "KINTARA_RATE_LIMITS",
        "report.account=100/h, report.address=100/h",
    )]);
    let survivor = server.login("survivor@kintara.test").await;
    let mut ids = Vec::new();
    for _ in 0..21 {
        ids.push(server.file_routine_report(&survivor).await.0);
    }
    // The newest is urgent; rescue teams may be offered it, dispatchers hear of it loudly.
    let urgent = server
        .api(
            &survivor,
            reqwest::Method::POST,
            "/api/incidents/",
            json!({
                "type": "physical",
                "incident_date": "2026-11-20",
                "description": "He is outside the door now.",
                "location": {"address": "Mathare"},
                "support_services": ["emergency"],
                "urgency_level": "immediate"
            }),
        )
        .await;
    let urgent_id = urgent["id"].as_str().expect("id").to_owned();

    let app = App::launch().await;
    app.sign_in_to(&server.url, "dispatcher@kintara.test", "Hello")
        .await;
    app.click("#bell").await;
    // The first page: the 20 newest, the urgent one marked.
    let urgent_entry = "#notifications .notification.urgent[data-type='incident_created']";
    app.find(urgent_entry).await;
    let count = "return document.querySelectorAll('#notifications .notification').length";
    wait_js(&app, "a page of 20", &format!("{count} === 20;")).await;
    let total = server
        .api(
            &app_token(&server).await,
            reqwest::Method::GET,
            "/api/notifications/",
            Value::Null,
        )
        .await["count"]
        .as_i64()
        .expect("count");
    assert!(total >= 22, "{total}");
    // Older pages on demand, until there are no more.
    for page in 2..=(total + 19) / 20 {
        app.press("#older-notifications").await;
        let want = total.min(page * 20);
        wait_js(
            &app,
            &format!("{want} after page {page}"),
            &format!("{count} === {want};"),
        )
        .await;
    }
    app.wait_gone("#older-notifications").await;

    // An entry opens its case, with its details.
    app.click(urgent_entry).await;
    app.wait_text(
        &format!(".case-card[data-incident='{urgent_id}'] .case-detail"),
        "He is outside the door now.",
    )
    .await;

    // Mark all read: the bell says none.
    app.click("#bell").await;
    app.click("#mark-all-read").await;
    wait_js(
        &app,
        "the bell still counts unread notifications",
        "return document.getElementById('bell-count').hidden === true;",
    )
    .await;
    let unread = server
        .api(
            &app_token(&server).await,
            reqwest::Method::GET,
            "/api/notifications/unread_count/",
            Value::Null,
        )
        .await;
    assert_eq!(unread["count"], 0);
    let _ = app.close().await;
}

async fn app_token(server: &Server) -> String {
    server.login("dispatcher@kintara.test").await
}

/// A routine report of the demo survivor, assigned to the healthcare provider, who accepted
/// it: its conversation is open. Tokens of the three, the provider's id and the case's.
struct Accepted {
    survivor: String,
    dispatcher: String,
    provider: String,
    provider_id: String,
    id: String,
}

impl Accepted {
    async fn new(server: &Server) -> Accepted {
        let survivor = server.login("survivor@kintara.test").await;
        let dispatcher = server.login("dispatcher@kintara.test").await;
        let provider = server.login("healthcare@kintara.test").await;
        let provider_id = server.user_id(&provider).await;
        let (id, _) = server.file_routine_report(&survivor).await;
        server
            .api(
                &dispatcher,
                reqwest::Method::POST,
                &format!("/api/dispatch/cases/{id}/assign/"),
                json!({"provider_ids": [provider_id]}),
            )
            .await;
        server
            .api(
                &provider,
                reqwest::Method::PATCH,
                &format!("/api/incidents/{id}/accept/"),
                json!({}),
            )
            .await;
        Accepted {
            survivor,
            dispatcher,
            provider,
            provider_id,
            id,
        }
    }
}

#[tokio::test]
async fn a_dispatcher_joins_a_case_conversation_leaves_it_and_messages_a_provider() {
    let server = Server::start();
    let Accepted {
        survivor,
        dispatcher,
        provider_id,
        id,
        ..
    } = Accepted::new(&server).await;
    let rooms_of = |token: String| {
        let server = &server;
        async move {
            server
                .api(
                    &token,
                    reqwest::Method::GET,
                    "/api/chat/rooms/",
                    Value::Null,
                )
                .await["results"]
                .as_array()
                .expect("rooms")
                .clone()
        }
    };
    let case_room = rooms_of(survivor.clone())
        .await
        .into_iter()
        .find(|r| r["incident"] == id.as_str())
        .expect("the case room")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let app = App::launch().await;
    app.sign_in_to(&server.url, "dispatcher@kintara.test", "Hello")
        .await;
    let listed = format!("#all-cases .case-card[data-incident='{id}']");
    app.click(&format!("{listed} .show-details")).await;
    app.click(&format!("{listed} .join-room")).await;
    app.find(&format!("#room[data-room='{case_room}']")).await;
    app.fill("#composer", "Dispatch here: the clinic expects you at 10.")
        .await;
    app.click("#send").await;
    // The survivor reads it in her case's conversation.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = server
            .api(
                &survivor,
                reqwest::Method::GET,
                &format!("/api/chat/messages/?room_id={case_room}"),
                Value::Null,
            )
            .await;
        let seen = page["results"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["content"] == "Dispatch here: the clinic expects you at 10.");
        if seen {
            break;
        }
        assert!(Instant::now() < deadline, "the message never reached her");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Leaving takes the room from the dispatcher's list.
    app.click("#leave-room").await;
    app.wait_gone(&format!("#room[data-room='{case_room}']"))
        .await;
    let left = rooms_of(dispatcher.clone()).await;
    assert!(
        left.iter().all(|r| r["id"] != case_room.as_str()),
        "{left:?}"
    );

    // From the directory: a direct chat with the provider.
    app.click("#nav-home").await;
    app.wait_text("#home-title", "Hello").await;
    let entry = format!("#directory .provider[data-provider='{provider_id}']");
    app.click(&format!("{entry} .message-provider")).await;
    app.find("#room").await;
    let rooms = rooms_of(dispatcher.clone()).await;
    assert!(
        rooms.iter().any(|r| r["type"] == "direct"
            && r["participants"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["id"] == provider_id.as_str()))),
        "{rooms:?}"
    );
    let _ = app.close().await;
}

#[tokio::test]
async fn she_sees_her_provider_online_while_their_app_is_open_and_offline_once_they_sign_out() {
    let server = Server::start();
    let Accepted {
        survivor,
        provider,
        provider_id,
        ..
    } = Accepted::new(&server).await;
    // Signed in over HTTP only, the provider has not been seen yet... (the API calls above are
    // not presence) ...so the app's own beat is what puts them online.
    server
        .api(
            &provider,
            reqwest::Method::POST,
            "/api/chat/mark-offline/",
            json!({}),
        )
        .await;
    let online = |want: bool| {
        let (server, survivor, provider_id) = (&server, survivor.clone(), provider_id.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let list = server
                    .api(
                        &survivor,
                        reqwest::Method::GET,
                        "/api/chat/online-users/",
                        Value::Null,
                    )
                    .await;
                let now = list["online_users"]
                    .as_array()
                    .expect("online users")
                    .iter()
                    .any(|u| u == provider_id.as_str());
                if now == want {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "the provider never went online={want}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    online(false).await;

    let app = App::launch().await;
    app.sign_in_to(&server.url, "healthcare@kintara.test", "Hello")
        .await;
    online(true).await;
    // Signing out tells the server at once: not five minutes of "online" after she left.
    app.click("#logout").await;
    // Signed out (the device key went with the session: a new PIN comes first).
    app.first_of(&["#choose-pin", "#login-email"]).await;
    online(false).await;
    let _ = app.close().await;
}
