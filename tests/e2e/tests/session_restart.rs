//! A new survivor registers on the real app; the sealed session survives a restart of the app
//! behind the unlock screen (no OS keystore here, so the device key is under the PIN chosen
//! before sign-in), and signing out leaves no session and no key behind.

mod common;

use std::time::{Duration, Instant};

use common::{App, Server, PIN};

#[tokio::test]
async fn a_registered_survivor_stays_signed_in_across_a_restart_until_signing_out() {
    let server = Server::start();
    let app = App::launch().await;
    app.find("#login-email").await;
    app.connect_to(&server.url).await;

    // Register: the form checks the rules before sending, then the server creates the account.
    app.click("#goto-register").await;
    app.click("#reg-anonymous").await;
    app.fill("#reg-email", "new.survivor@example.org").await;
    app.fill("#reg-password", "short").await;
    app.fill("#reg-confirm", "different").await;
    app.click("#reg-submit").await;
    app.wait_text(".field-error[data-field='password']", "at least 8")
        .await;
    app.wait_text(
        ".field-error[data-field='confirm_password']",
        "do not match",
    )
    .await;
    app.fill("#reg-password", "a long enough secret").await;
    app.fill("#reg-confirm", "a long enough secret").await;
    app.click("#reg-submit").await;
    app.wait_text("#home-title", "Anonymous").await;

    // The same e-mail, in any case, cannot register twice (checked through the API, so this
    // window stays signed in).
    let again = reqwest::Client::new()
        .post(format!("{}/api/auth/register/", server.url))
        .json(&serde_json::json!({
            "email": "NEW.survivor@example.org", "password": "another secret!",
            "confirm_password": "another secret!", "role": "survivor", "is_anonymous": true
        }))
        .send()
        .await
        .expect("register again");
    assert_eq!(again.status(), 409);

    // Restart: the app opens on the unlock screen; the session stays sealed until the PIN is
    // right.
    let xdg = app.close().await;
    let app = App::launch_locked(xdg).await;
    app.find("#unlock-pin").await;
    assert!(
        app.client
            .find(fantoccini::Locator::Css("#home-title"))
            .await
            .is_err(),
        "nothing of the session shows before the PIN"
    );
    app.screenshot("unlock.png").await;
    app.enter_pin("000000").await;
    app.wait_text("#unlock-error", "That PIN is not right")
        .await;
    app.enter_pin(PIN).await;
    app.wait_text("#home-title", "Anonymous").await;

    // What the app wrote holds no token, e-mail, name or refresh token in clear, and no plain
    // key: the key is sealed under the PIN.
    let files = app.stored_files();
    assert!(files.iter().any(|(p, _)| p.ends_with("device.key.pin")));
    assert!(!files.iter().any(|(p, _)| p.ends_with("device.key")));
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        // Every token the server issues begins with the base64 of `{"typ":"JWT",`; a shorter
        // pattern (such as "eyJ") turns up by chance in the sealed files' base64.
        for secret in [
            "eyJ0eXAiOiJKV1Qi",
            "new.survivor@example.org",
            "Anonymous",
            "refresh",
        ] {
            assert!(
                !text.contains(secret),
                "{} holds {secret:?} in clear text",
                path.display()
            );
        }
    }
    app.click("#my-reports").await;
    app.find("#reports-empty").await;
    app.click("#back-home").await;

    // Settings → Change PIN: the current PIN is checked, then the same key is sealed anew.
    app.click("#nav-settings").await;
    app.fill("#pin-old", "000000").await;
    app.fill("#pin-change-new", "135791").await;
    app.fill("#pin-change-confirm", "135791").await;
    app.click("#pin-change-save").await;
    app.wait_text("#pin-change-status", "That PIN is not right")
        .await;
    app.fill("#pin-old", PIN).await;
    app.fill("#pin-change-new", "135791").await;
    app.fill("#pin-change-confirm", "135791").await;
    app.click("#pin-change-save").await;
    app.wait_text("#pin-change-status", "PIN changed").await;
    app.click("#nav-home").await;

    // Sign out: back to sign-in, and nothing of the session is left on the device...
    app.click("#logout").await;
    app.wait_text("#notice", "signed out").await;
    let files = app.stored_files();
    let store = files
        .iter()
        .find(|(p, _)| p.ends_with("kintara.json"))
        .expect("the store");
    assert!(
        !String::from_utf8_lossy(&store.1).contains("\"session\""),
        "the sealed session is gone after sign-out"
    );
    assert!(
        !files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("device.key")),
        "the device key went with the session"
    );

    // ...so a restart asks for a new PIN, then to sign in again.
    let xdg = app.close().await;
    let app = App::launch_locked(xdg).await;
    app.find("#choose-pin").await;
    app.choose_pin().await;
    app.find("#login-email").await;
    app.wait_text("#server-current", &server.url).await;
    let _ = app.close().await;
}

#[tokio::test]
async fn the_window_comes_back_signed_in_when_its_web_process_crashes() {
    let server = Server::start();
    let app = App::launch().await;
    app.sign_in_to(&server.url, "survivor@kintara.test", "Amani")
        .await;
    let beats = || server.log_count("route=\"/api/chat/heartbeat/\"");
    let before = beats();
    assert!(before >= 1, "the signed-in page beats at once");
    assert_eq!(app.crash_web_process(), 1, "one web process for the window");
    // WebKitWebDriver loses a page whose process died, so what follows is seen from outside:
    // the app says why in its log, and the page it loads again (signed in: the core, the
    // session and the key live in the app's own process) beats at once, long before the
    // 2-minute heartbeat of the page that died would.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(app.output().contains("the web view's process ended") && beats() > before) {
        assert!(
            Instant::now() < deadline,
            "the page never came back after its web process crashed\nthe app's output:\n{}",
            app.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(app.output().contains("reason=Crashed"), "{}", app.output());
    let _ = app.close().await;
}
