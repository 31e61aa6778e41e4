//! Trust and safety in the real window: an admin verifies a provider who registered themselves,
//! who can then be given a case (and could not before), and sees how notifications are getting
//! out; a survivor sees where she is signed in
//! and signs another device out of her account.

mod common;

use common::{App, Server};
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A status-only API call (the harness's `api` insists on success).
async fn status_of(
    server: &Server,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> StatusCode {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn an_admin_verifies_a_new_provider_who_can_then_be_assigned() {
    let server = Server::start();
    // A counsellor registers themselves: awaiting verification.
    let registered: Value = reqwest::Client::new()
        .post(format!("{}/api/auth/register/", server.url))
        .json(&json!({
            "email": "new.counsellor@example.org", "password": "a long enough secret",
            "first_name": "Neema", "last_name": "Achieng",
            "role": "provider", "provider_type": "counseling",
        }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    assert_eq!(registered["user"]["account_state"], json!("unverified"));
    let provider = registered["user"]["id"].as_str().expect("id").to_owned();
    let survivor = server.login("survivor@kintara.test").await;
    let dispatcher = server.login("dispatcher@kintara.test").await;
    let (incident, _) = server.file_routine_report(&survivor).await;
    let assign = format!("/api/dispatch/cases/{incident}/assign/");
    let body = json!({ "provider_ids": [provider] });
    assert_eq!(
        status_of(
            &server,
            &dispatcher,
            reqwest::Method::POST,
            &assign,
            body.clone()
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nobody verified them yet"
    );

    let app = App::launch().await;
    app.sign_in_to(&server.url, "admin@kintara.test", "Imani")
        .await;
    app.click("#nav-admin").await;
    app.find("#admin-users[data-ready='true']").await;
    app.select("#admin-state", "unverified").await;
    let account = format!("#admin-users .account[data-user='{provider}']");
    app.wait_text(&account, "new.counsellor@example.org").await;
    app.fill(
        &format!("{account} .reason"),
        "Licence checked with the counsellors' board",
    )
    .await;
    app.click(&format!("{account} .decide-verify")).await;
    // Verified, it leaves the list of those waiting, and the audit log says who, why.
    app.wait_gone(&account).await;
    let entry = format!("#audit .entry[data-action='verified'][data-target='{provider}']");
    app.wait_text(&entry, "Licence checked").await;
    // How notifications are getting out: this demo server carries none but the app's own.
    app.find("#deliveries[data-ready='true']").await;
    app.wait_text(
        "#lanes .lane[data-lane='fcm'][data-configured='false']",
        "Not configured on this server",
    )
    .await;
    // The same screen in Swahili.
    app.click("#lang").await;
    app.wait_text("#admin h1", "Akaunti").await;
    app.wait_text(&entry, "alithibitisha").await;
    app.wait_text("#lanes .lane[data-lane='email']", "Haijawekwa")
        .await;
    // Tablet and desktop layouts: the screen and its navigation are there in both.
    for (size, w, h) in [("tablet", 900, 1180), ("desktop", 1280, 860)] {
        app.client
            .set_window_size(w, h)
            .await
            .unwrap_or_else(|e| panic!("resize to {size}: {e}"));
        for css in ["#nav-admin", "#admin-state", "#new-staff", "#audit .entry"] {
            let shown = app.find(css).await.is_displayed().await.expect("displayed");
            assert!(shown, "{css} hidden on a {size}");
        }
        app.screenshot(&format!("admin-{size}.png")).await;
    }

    assert_eq!(
        status_of(&server, &dispatcher, reqwest::Method::POST, &assign, body).await,
        StatusCode::OK,
        "a verified provider can be given the case"
    );
    app.close().await;
}

#[tokio::test]
async fn a_survivor_signs_another_device_out_of_her_account() {
    let server = Server::start();
    // Someone else holds a session of hers (her password was known; a phone was lost).
    let elsewhere = server.login("survivor@kintara.test").await;
    let app = App::launch().await;
    app.sign_in_to(&server.url, "survivor@kintara.test", "Amani")
        .await;
    app.click("#nav-settings").await;
    app.find("#security[data-ready='true']").await;
    let other = "#sessions .session[data-current='false']";
    app.find(other).await;
    app.wait_text("#sessions .session[data-current='true']", "This device")
        .await;
    app.click(&format!("{other} .end-session")).await;
    app.wait_text("#security-status", "Signed out there").await;
    app.wait_gone(other).await;
    assert_eq!(
        status_of(
            &server,
            &elsewhere,
            reqwest::Method::GET,
            "/api/auth/me/",
            Value::Null
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "the other device is signed out"
    );
    // Her own session goes on.
    let sessions = app
        .client
        .find_all(Locator::Css("#sessions .session"))
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 1);
    app.click("#nav-home").await;
    app.wait_text("#home-title", "Amani").await;
    app.close().await;
}
