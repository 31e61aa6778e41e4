//! Settings → Notifications in the real window, against a server that sends WhatsApp messages
//! through the loopback WhatsApp Cloud API (`kintara-fakes`): a provider sees only the kinds of
//! notification she gets and only the channels the server offers, gives her WhatsApp number
//! (checked), turns WhatsApp on for new cases, and "Send me a test" shows how each channel went;
//! the language she reads follows the app's switch to the server.

mod common;

use std::time::{Duration, Instant};

use common::{App, Server};
use fantoccini::Locator;
use kintara_fakes::FakeWhatsapp;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn a_provider_chooses_whatsapp_for_new_cases_and_a_test_shows_each_channel() {
    let fake = FakeWhatsapp::start("wa-token", "106540352242922").await;
    let server = Server::start_with_env(&[
        ("KINTARA_WHATSAPP_ENDPOINT", &fake.url),
        ("KINTARA_WHATSAPP_TOKEN", "wa-token"),
        ("KINTARA_WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
    ]);
    let token = server.login("legal@kintara.test").await;
    let app = App::launch().await;
    app.sign_in_to(&server.url, "legal@kintara.test", "Hello")
        .await;
    app.click("#nav-settings").await;
    app.find("#notify-settings[data-ready='true']").await;

    // Only what a provider is sent, and only what this server carries: the app and WhatsApp.
    app.find("#notify-settings .notify-type[data-type='case_assigned']")
        .await;
    app.find("#notify-settings .notify-type[data-type='new_message']")
        .await;
    for absent in [
        ".notify-type[data-type='incident_created']",
        ".notify-type[data-type='status_changed']",
        "input[data-channel='push']",
        "input[data-channel='email']",
    ] {
        let found = app
            .client
            .find_all(Locator::Css(&format!("#notify-settings {absent}")))
            .await
            .expect("query");
        assert!(found.is_empty(), "{absent} is offered");
    }

    // Her number, checked by the server's rule, then saved.
    app.fill("#whatsapp-number", "0712 345 678").await;
    app.click("#whatsapp-save").await;
    app.wait_text("#whatsapp-status", "international form")
        .await;
    app.fill("#whatsapp-number", "+254712345678").await;
    app.click("#whatsapp-save").await;
    app.wait_text("#whatsapp-status", "Saved").await;
    let me = server
        .api(&token, Method::GET, "/api/auth/me/", Value::Null)
        .await;
    assert_eq!(me["user"]["whatsapp_number"], "+254712345678");

    // WhatsApp for new cases: the server has it.
    app.click(
        "#notify-settings .notify-type[data-type='case_assigned'] input[data-channel='whatsapp']",
    )
    .await;
    app.wait_text("#notify-status", "Saved").await;
    let prefs = server
        .api(
            &token,
            Method::GET,
            "/api/notifications/preferences/",
            Value::Null,
        )
        .await;
    let assigned = prefs["preferences"]
        .as_array()
        .expect("preferences")
        .iter()
        .find(|p| p["notification_type"] == "case_assigned")
        .expect("case_assigned")
        .clone();
    assert!(
        assigned["channels"]
            .as_array()
            .expect("channels")
            .contains(&Value::from("whatsapp")),
        "{assigned}"
    );

    // The test: in the app (the open window took it) and on WhatsApp (Meta accepted it); each
    // other channel says why it was not sent.
    app.click("#send-test").await;
    app.wait_text(
        "#test-results li[data-channel='whatsapp'][data-state='sent']",
        "sent",
    )
    .await;
    app.wait_text(
        "#test-results li[data-channel='websocket'][data-state='sent']",
        "sent",
    )
    .await;
    app.wait_text("#test-results li[data-channel='email']", "not chosen")
        .await;
    app.wait_text(
        "#test-results li[data-channel='push']",
        "no phone registered",
    )
    .await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, "254712345678");
    assert_eq!(sent[0].language, "en");
    assert_eq!(
        sent[0].parameters,
        ["Test notification: Notifications reach you here."]
    );
    app.screenshot("notification-settings.png").await;

    // She reads Swahili: the screen says so, and so does what the server sends her.
    app.click("#lang").await;
    app.wait_text("#notify-settings h2", "Arifa").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let me = server
            .api(&token, Method::GET, "/api/auth/me/", Value::Null)
            .await;
        if me["user"]["language"] == "sw" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never heard of Swahili"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.click("#send-test").await;
    // The click cleared the first test's results, so what shows next is the second's.
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.sent().len() < 2 {
        assert!(Instant::now() < deadline, "the second test never went out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.wait_text(
        "#test-results li[data-channel='whatsapp'][data-state='sent']",
        "imetumwa",
    )
    .await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].language, "sw");
    assert_eq!(
        sent[1].parameters,
        ["Arifa ya majaribio: Arifa zinakufikia hapa."]
    );
    app.close().await;
}
