//! A survivor signs in on the real app, files a report through the wizard, and sees it in
//! "My reports"; the server has stored exactly what she entered.

mod common;

use common::{App, Server, DEMO_PASSWORD};
use serde_json::Value;

#[tokio::test]
async fn survivor_files_a_report_and_sees_it_in_my_reports() {
    let server = Server::start();
    let app = App::launch().await;
    app.find("#login-email").await;
    app.connect_to(&server.url).await;

    // Bad credentials get a clear message and no session.
    app.sign_in("survivor@kintara.test", "wrong password").await;
    app.wait_text("#login-error", "Wrong e-mail or password")
        .await;

    app.screenshot("sign-in.png").await;

    app.sign_in("survivor@kintara.test", DEMO_PASSWORD).await;
    app.wait_text("#home-title", "Amani").await;
    app.screenshot("survivor-home.png").await;
    app.click("#new-report").await;

    // Step 1 refuses to go on without a type.
    app.wait_text("#wizard-step", "Step 1 of 5").await;
    app.click("#wizard-next").await;
    app.wait_text(".field-error[data-field='type']", "Choose what happened")
        .await;
    app.click("#type-physical").await;
    app.click("#wizard-next").await;

    // Step 2: when, where, what.
    app.wait_text("#wizard-step", "Step 2 of 5").await;
    app.click("#wizard-next").await;
    app.wait_text(".field-error[data-field='description']", "required")
        .await;
    app.fill("#location-address", "Kibera, Nairobi").await;
    app.fill(
        "#description",
        "He pushed me against the wall at the market.",
    )
    .await;
    // Fixed fields stop being marked as soon as they are fixed.
    app.wait_gone(".field-error[data-field='description']")
        .await;
    app.wait_gone(".field-error[data-field='location']").await;
    app.screenshot("report-wizard.png").await;
    app.click("#wizard-next").await;

    // Step 3: the help wanted.
    app.wait_text("#wizard-step", "Step 3 of 5").await;
    app.click("#service-medical").await;
    app.click("#service-counseling").await;
    app.click("#wizard-next").await;

    // Step 4: urgency and contact.
    app.wait_text("#wizard-step", "Step 4 of 5").await;
    app.click("#urgency-urgent").await;
    app.click("#contact-sms").await;
    app.click("#wizard-next").await;

    // Step 5: review, anonymously, send.
    app.wait_text("#wizard-step", "Step 5 of 5").await;
    app.wait_text("#review", "Physical Violence").await;
    app.wait_text("#review", "Kibera, Nairobi").await;
    app.click("#anonymous").await;
    app.click("#wizard-submit").await;

    let case_number = app.wait_text("#reports-list .case-number", "KIN-").await;
    assert!(
        case_number.len() == "KIN-YYYYMMDD-NNN".len() && case_number.ends_with("-001"),
        "unexpected case number {case_number}"
    );
    app.wait_text("#notice", &case_number).await;
    // Urgent reports go straight to an available GBV rescue provider.
    app.wait_text("#reports-list .status", "Assigned").await;
    let shot = app.screenshot("survivor-my-reports.png").await;
    assert!(std::fs::metadata(shot).expect("screenshot").len() > 10_000);

    // The GBV rescue provider accepts; the survivor sees who is helping, and nothing more.
    let rescue = server.login("gbv_rescue@kintara.test").await;
    let id = app
        .find("#reports-list .report")
        .await
        .attr("data-id")
        .await
        .expect("data-id")
        .expect("an id");
    let accepted = reqwest::Client::new()
        .patch(format!("{}/api/incidents/{id}/accept/", server.url))
        .bearer_auth(rescue)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 200);
    app.click("#reports-refresh").await;
    app.wait_text("#reports-list .status", "In progress").await;
    app.wait_text("#reports-list .helpers", "GBV Rescue Organization")
        .await;
    app.screenshot("survivor-case-accepted.png").await;

    // The session is on disk (so the app reopens signed in) but sealed: no token, e-mail or
    // name in clear text anywhere the app writes.
    let files = app.stored_files();
    let store = files
        .iter()
        .find(|(p, _)| p.ends_with("kintara.json"))
        .unwrap_or_else(|| {
            panic!(
                "no kintara.json among {:?}",
                files.iter().map(|f| &f.0).collect::<Vec<_>>()
            )
        });
    assert!(
        String::from_utf8_lossy(&store.1).contains("\"session\""),
        "the session is kept"
    );
    // No OS keystore here: the device key is kept under the PIN, never in a plain file.
    assert!(
        files.iter().any(|(p, _)| p.ends_with("device.key.pin")),
        "the device key is kept under the PIN"
    );
    assert!(
        !files.iter().any(|(p, _)| p.ends_with("device.key")),
        "no plain device key"
    );
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        // Every token the server issues begins with the base64 of `{"typ":"JWT",`; a shorter
        // pattern (such as "eyJ") turns up by chance in the sealed files' base64.
        for secret in [
            "eyJ0eXAiOiJKV1Qi",
            "survivor@kintara.test",
            "Amani",
            "refresh",
        ] {
            assert!(
                !text.contains(secret),
                "{} holds {secret:?} in clear text",
                path.display()
            );
        }
    }
    let _ = app.close().await;

    // The server stored exactly what was entered.
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
    assert_eq!(list.len(), 1, "exactly one report stored: {list:?}");
    let r = &list[0];
    assert_eq!(r["case_number"], case_number.as_str());
    assert_eq!(r["type"], "physical");
    assert_eq!(r["urgency_level"], "urgent");
    assert_eq!(r["is_anonymous"], true);
    assert_eq!(
        r["description"],
        "He pushed me against the wall at the market."
    );
    assert_eq!(r["location"]["address"], "Kibera, Nairobi");
    assert_eq!(
        r["support_services"],
        serde_json::json!(["medical", "counseling"])
    );
    assert_eq!(r["provider_preferences"]["communication_method"], "sms");
    assert_eq!(r["status"], "in_progress");
    assert_eq!(r["helpers"][0]["provider_type"], "gbv_rescue");
    assert_eq!(
        r["helpers"][0].as_object().expect("helper").len(),
        3,
        "name and type only"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_reported_on_screen() {
    let app = App::launch().await;
    app.click("#goto-server").await;
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    app.fill("#server-url", &dead).await;
    app.click("#server-save").await;
    app.wait_text("#server-error", "Cannot reach the Kintara server")
        .await;

    // Signing in against the unreachable default says the same, not a crash or a hang.
    app.click(".screen button.link").await;
    app.sign_in("survivor@kintara.test", DEMO_PASSWORD).await;
    app.wait_text("#login-error", "Cannot reach the Kintara server")
        .await;
    let _ = app.close().await;
}
