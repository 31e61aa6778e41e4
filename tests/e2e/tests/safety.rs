//! A survivor's safety tools: quick exit to a neutral page (button and Escape three times),
//! emergency contacts kept on the device across a restart, sealed (in no file in clear), Swahili, and what she shares in chat
//! saved on the server.

mod common;

use common::{App, Server};
use fantoccini::Locator;
use serde_json::Value;

async fn body_text(app: &App) -> String {
    app.client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("body text")
}

#[tokio::test]
async fn survivor_safety_screen_quick_exit_contacts_language_and_privacy() {
    let server = Server::start();
    let app = App::launch().await;
    app.sign_in_to(&server.url, "survivor@kintara.test", "Amani")
        .await;

    // Quick exit: a neutral page with nothing about Kintara, until she taps "Back".
    app.click("#quick-exit").await;
    app.find("#decoy").await;
    let text = body_text(&app).await;
    assert!(
        !text.to_lowercase().contains("kintara"),
        "decoy mentions Kintara: {text}"
    );
    let home = app.find("#home-title").await;
    assert!(
        !home.is_displayed().await.expect("displayed"),
        "the app still shows behind the decoy"
    );
    app.click("#decoy-back").await;
    app.wait_text("#home-title", "Amani").await;
    app.wait_gone("#decoy").await;

    // Escape three times does the same.
    app.client
        .execute(
            "for (let i = 0; i < 3; i++) window.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));",
            vec![],
        )
        .await
        .expect("escape keys");
    app.find("#decoy").await;
    app.click("#decoy-back").await;
    app.wait_text("#home-title", "Amani").await;

    // The safety screen: who to call, and contacts kept on this device.
    app.click("#nav-safety").await;
    app.wait_text("#safety", "1195").await;
    app.fill("#contact-name", "Wanjiru").await;
    app.fill("#contact-phone", "+254 700 111222").await;
    app.click("#contact-add").await;
    app.wait_text("#contacts .contact", "Wanjiru").await;
    // Sealed in the local store, not in the web view's storage: no file holds it in clear.
    let stored: Vec<String> = app
        .client
        .execute("return Object.keys(window.localStorage);", vec![])
        .await
        .expect("local storage keys")
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    assert!(stored.iter().all(|k| k == "lang"), "{stored:?}");
    for (path, bytes) in app.stored_files() {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("Wanjiru") && !text.contains("700 111222"),
            "a contact in clear in {}",
            path.display()
        );
    }

    // Sharing typing: off by default for survivors, saved on the server when turned on.
    app.find("#privacy[data-ready='true']").await;
    let typing = app.find("#share-typing").await;
    assert_eq!(
        typing.prop("checked").await.expect("checked").as_deref(),
        Some("false")
    );
    // Centred first, so the bottom navigation does not cover it.
    app.client
        .execute(
            "document.getElementById('share-typing').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .expect("scroll");
    typing.click().await.expect("click #share-typing");
    app.wait_text("#privacy-status", "Saved").await;
    let token = server.login("survivor@kintara.test").await;
    let settings: Value = reqwest::Client::new()
        .get(format!("{}/api/chat/settings/", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("settings request")
        .json()
        .await
        .expect("settings body");
    assert_eq!(
        settings["typing_indicators"],
        Value::Bool(true),
        "{settings}"
    );
    assert_eq!(settings["presence"], Value::Bool(false), "{settings}");
    assert_eq!(settings["read_receipts"], Value::Bool(false), "{settings}");

    // Swahili.
    app.click("#lang").await;
    app.wait_text("#nav-safety", "Usalama").await;
    app.wait_text("#nav-home", "Nyumbani").await;
    app.screenshot("safety-sw.png").await;

    // After a restart the contact and the language are still there.
    let xdg = app.close().await;
    let app = App::launch_in(xdg).await;
    app.wait_text("#nav-home", "Nyumbani").await;
    app.click("#nav-safety").await;
    app.wait_text("#contacts .contact", "Wanjiru").await;
    app.click(".contact-remove").await;
    app.wait_gone("#contacts .contact").await;
    app.click("#lang").await;
    app.wait_text("#nav-home", "Home").await;

    // Disguise: the window, the header (and OS notifications) say "Notes", across a restart.
    app.click("#nav-settings").await;
    app.click("#disguise").await;
    app.wait_text(".frame-brand", "Notes").await;
    assert_eq!(app.client.title().await.expect("title"), "Notes");
    let xdg = app.close().await;
    let app = App::launch_in(xdg).await;
    app.wait_text(".frame-brand", "Notes").await;
    assert_eq!(app.client.title().await.expect("title"), "Notes");
    app.click("#nav-settings").await;
    app.click("#disguise").await;
    app.wait_text(".frame-brand", "Kintara").await;

    // Quick exit that also wipes: behind the decoy she is signed out and the device forgets
    // everything, key and contacts included; coming back shows only the sign-in screen.
    app.click("#nav-safety").await;
    app.fill("#contact-name", "Achieng").await;
    app.fill("#contact-phone", "0711 000111").await;
    app.click("#contact-add").await;
    app.wait_text("#contacts .contact", "Achieng").await;
    app.client
        .execute(
            "document.getElementById('wipe-on-exit').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .expect("scroll");
    app.click("#wipe-on-exit").await;
    app.click("#quick-exit").await;
    app.find("#decoy").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app
        .stored_files()
        .iter()
        .any(|(p, _)| p.ends_with("device.key.pin"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the device key is still there after a wiping exit"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.click("#decoy-back").await;
    // A new device key first (no keystore here), then sign-in: nothing of hers is left.
    app.first_of(&["#choose-pin", "#login-email"]).await;
    assert!(app.client.find(Locator::Css(".frame")).await.is_err());
    let text = body_text(&app).await;
    assert!(
        !text.contains("Achieng") && !text.contains("Amani"),
        "{text}"
    );
    let _ = app.close().await;
}
