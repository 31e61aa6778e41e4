//! A new survivor registers on the real app; the sealed session survives a restart of the app,
//! and signing out leaves no session behind, on the device or on the server.

mod common;

use common::{App, Server};

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

    // Restart: the app opens straight on the survivor's home, from the sealed session.
    let xdg = app.close().await;
    let app = App::launch_in(xdg).await;
    app.wait_text("#home-title", "Anonymous").await;
    app.click("#my-reports").await;
    app.find("#reports-empty").await;
    app.click("#back-home").await;

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

    // ...so a restart asks to sign in again.
    let xdg = app.close().await;
    let app = App::launch_in(xdg).await;
    app.find("#login-email").await;
    app.wait_text("#server-current", &server.url).await;
    let _ = app.close().await;
}
