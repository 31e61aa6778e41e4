//! Swahili on the staff screens: a dispatcher switches in the frame and sees the dashboard, the
//! review queue, the directory and the notification feed (worded by the app from the values the
//! server sends with each notification) in Swahili, and still in Swahili after a restart; a provider switches on the sign-in screen,
//! before signing in, and sees the cases offered to them and their notifications in Swahili.
//! A survivor switches on the sign-in screen and sees the server's refusal of a wrong password,
//! the report wizard and "My reports" in Swahili.

mod common;

use common::{App, Server, DEMO_PASSWORD};
use serde_json::json;

#[tokio::test]
async fn dispatcher_and_provider_work_in_swahili() {
    let server = Server::start();
    // One case waits in the queue; another is offered to the healthcare provider.
    let survivor = server.login("survivor@kintara.test").await;
    let (_, queued) = server.file_routine_report(&survivor).await;
    let (offered_id, offered) = server.file_routine_report(&survivor).await;
    let provider_token = server.login("healthcare@kintara.test").await;
    let provider_id = server.user_id(&provider_token).await;
    let dispatcher_token = server.login("dispatcher@kintara.test").await;
    server
        .api(
            &dispatcher_token,
            reqwest::Method::POST,
            &format!("/api/dispatch/cases/{offered_id}/assign/"),
            json!({"provider_ids": [provider_id]}),
        )
        .await;

    // The dispatcher signs in in English (the default) and switches in the frame.
    let dispatcher = App::launch().await;
    dispatcher.find("#login-email").await;
    dispatcher.connect_to(&server.url).await;
    dispatcher
        .sign_in("dispatcher@kintara.test", DEMO_PASSWORD)
        .await;
    dispatcher.wait_text("#home-title", "Hello").await;
    dispatcher.wait_text("#queue", &queued).await;
    dispatcher.wait_text("#stats", "Cases in total").await;
    dispatcher.click("#lang").await;
    dispatcher.wait_text("#home-title", "Habari").await;
    dispatcher.wait_text("#stats", "Kesi zote").await;
    dispatcher.wait_text("#stats", "Zinasubiri ukaguzi").await;
    dispatcher
        .wait_text("#stats", "Watoa huduma wanaopatikana")
        .await;
    dispatcher
        .wait_text("#queue-title", "Zinasubiri ukaguzi")
        .await;
    // The case's labels come from the enums, in Swahili, not the server's English.
    let card = dispatcher
        .wait_text("#queue .case-card", "Ukatili wa kimwili")
        .await;
    for word in ["Kawaida", "Inasubiri ukaguzi", "Imesubiri", "Kabidhi"] {
        assert!(card.contains(word), "no {word:?} in the queue card: {card}");
    }
    assert!(
        !card.contains("Physical Violence"),
        "English left in the queue card: {card}"
    );
    dispatcher.wait_text("#all-title", "Kesi zote").await;
    dispatcher
        .wait_text("#directory-title", "Watoa huduma")
        .await;
    dispatcher
        .wait_text("#directory", "Mtoa huduma za afya")
        .await;
    dispatcher.wait_text("#conn-state", "Mtandaoni").await;
    dispatcher.wait_text("#nav-notifications", "Arifa").await;
    dispatcher.screenshot("dispatcher-sw.png").await;

    // Assigning: the server's reasons for each suggestion are read in Swahili too.
    dispatcher.click("#queue .case-card .assign").await;
    dispatcher
        .wait_text("#assign-title", &format!("Kabidhi {queued}"))
        .await;
    let panel = dispatcher
        .wait_text(
            "#assign-panel",
            "anatoa huduma iliyoombwa: huduma ya matibabu",
        )
        .await;
    for word in ["kati ya", "dakika", "Mkabidhi"] {
        assert!(
            panel.contains(word),
            "no {word:?} in the assign panel: {panel}"
        );
    }
    dispatcher.click("#assign-panel .close").await;
    dispatcher.wait_gone("#assign-panel").await;

    // The feed: "New report KIN-…" reads "Ripoti mpya KIN-…", its type and urgency in Swahili,
    // and none of the server's English is left.
    dispatcher.click("#nav-notifications").await;
    dispatcher.wait_text(".screen h1", "Arifa").await;
    dispatcher
        .wait_text("#notifications", &format!("Ripoti mpya {queued}"))
        .await;
    let feed = dispatcher
        .wait_text(
            "#notifications",
            "Ukatili wa kimwili (kawaida) inasubiri ukaguzi.",
        )
        .await;
    for english in ["New report", "Physical Violence", "waiting for triage"] {
        assert!(
            !feed.contains(english),
            "English left in the feed ({english:?}): {feed}"
        );
    }
    dispatcher.wait_text("#filter-unread", "Hazijasomwa").await;
    dispatcher
        .wait_text("#mark-all-read", "Zote zimesomwa")
        .await;

    // The choice is kept on the device: after a restart the app opens in Swahili.
    let xdg = dispatcher.close().await;
    let dispatcher = App::launch_in(xdg).await;
    dispatcher.wait_text("#home-title", "Habari").await;
    dispatcher.wait_text("#stats", "Kesi zote").await;
    let _ = dispatcher.close().await;

    // The provider switches before signing in.
    let provider = App::launch().await;
    provider.find("#login-email").await;
    provider.connect_to(&server.url).await;
    provider.wait_text("#login-submit", "Sign in").await;
    provider.click("#signin-lang").await;
    provider.wait_text("#login-submit", "Ingia").await;
    provider.wait_text("#goto-register", "Fungua akaunti").await;
    provider.screenshot("signin-sw.png").await;
    provider
        .sign_in("healthcare@kintara.test", DEMO_PASSWORD)
        .await;
    provider.wait_text("#home-title", "Habari").await;
    provider.wait_text("#pending-title", "Kesi ulizopewa").await;
    let card = provider
        .wait_text("#pending-list .case-card", &offered)
        .await;
    for word in ["Ukatili wa kimwili", "Imekabidhiwa", "Kubali", "Kataa"] {
        assert!(card.contains(word), "no {word:?} in the offer: {card}");
    }
    provider
        .wait_text("#active-title", "Kesi zako zinazoendelea")
        .await;
    provider
        .wait_text("#active-list + .empty", "Hakuna kesi zinazoendelea")
        .await;
    provider.screenshot("provider-sw.png").await;
    provider.click("#nav-notifications").await;
    provider
        .wait_text("#notifications", &format!("Umekabidhiwa kesi {offered}"))
        .await;
    let feed = provider
        .wait_text(
            "#notifications",
            "Ukatili wa kimwili (kawaida). Ikubali au uikatae.",
        )
        .await;
    assert!(
        !feed.contains("assigned to you") && !feed.contains("Accept or decline"),
        "English left in the feed: {feed}"
    );
    let _ = provider.close().await;
}

#[tokio::test]
async fn survivor_reports_in_swahili() {
    let server = Server::start();
    let survivor = server.login("survivor@kintara.test").await;
    let (_, case_number) = server.file_routine_report(&survivor).await;

    let app = App::launch().await;
    app.find("#login-email").await;
    app.connect_to(&server.url).await;
    app.click("#signin-lang").await;
    app.wait_text("#login-submit", "Ingia").await;
    // The server's refusal, in Swahili.
    app.sign_in("survivor@kintara.test", "not her password")
        .await;
    let refused = app
        .wait_text("#login-error", "Barua pepe au nenosiri si sahihi.")
        .await;
    assert!(!refused.contains("Wrong"), "English left: {refused}");
    app.sign_in("survivor@kintara.test", DEMO_PASSWORD).await;
    app.wait_text("#home-title", "Habari").await;

    // The wizard's first step, and its own check, in Swahili.
    app.click("#new-report").await;
    app.wait_text("#wizard-step", "Hatua 1 kati ya 5").await;
    app.wait_text(".screen h1", "Ripoti tukio").await;
    let step = app.wait_text("fieldset.choices", "Nini kilitokea?").await;
    assert!(
        step.contains("Ukatili wa kimwili") && !step.contains("Physical Violence"),
        "step 1 is not in Swahili: {step}"
    );
    app.wait_text("#wizard-next", "Endelea").await;
    app.click("#wizard-next").await;
    app.wait_text(".field-error[data-field='type']", "Chagua kilichotokea")
        .await;
    app.screenshot("wizard-sw.png").await;

    // "My reports": the case's labels come from the enums, in Swahili.
    app.click("#wizard-back").await;
    app.click("#my-reports").await;
    app.wait_text(".screen h1", "Ripoti zangu").await;
    let card = app.wait_text("#reports-list .report", &case_number).await;
    for word in [
        "Inasubiri ukaguzi",
        "Ukatili wa kimwili",
        "Iliripotiwa",
        "Kawaida",
        "Historia ya hali",
    ] {
        assert!(card.contains(word), "no {word:?} in the report: {card}");
    }
    app.wait_text("#reports-refresh", "Onyesha upya").await;
    app.screenshot("reports-sw.png").await;
    let _ = app.close().await;
}
