//! Three real app windows — a survivor, a dispatcher and a provider — against one real server,
//! each updating live from its own event stream: the survivor files an urgent report, the
//! dispatcher's queue shows it and the dispatcher assigns it, the provider sees the offer and
//! accepts, the survivor sees "In progress" and the case chat opens, messages and read states
//! flow both ways, and every bell has something in it.

mod common;

use common::{App, Server, DEMO_PASSWORD};
use serde_json::{json, Value};

async fn signed_in(server: &Server, email: &str, title: &str) -> App {
    let app = App::launch().await;
    app.find("#login-email").await;
    app.connect_to(&server.url).await;
    app.sign_in(email, DEMO_PASSWORD).await;
    app.wait_text("#home-title", title).await;
    app.wait_text("#conn-state", "Online").await;
    app
}

/// Waits until the directory says whether the provider is available.
async fn wait_available(server: &Server, token: &str, provider: &str, want: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = server
            .api(
                token,
                reqwest::Method::GET,
                "/api/dispatch/providers/",
                Value::Null,
            )
            .await;
        let now = list.as_array().and_then(|l| {
            l.iter()
                .find(|p| p["id"] == provider)
                .and_then(|p| p["profile"]["is_currently_available"].as_bool())
        });
        if now == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "availability never became {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Phone, tablet and desktop shots of one window.
async fn shots(app: &App, role: &str) {
    for (size, w, h) in [
        ("phone", 390, 844),
        ("tablet", 900, 1180),
        ("desktop", 1280, 860),
    ] {
        app.client
            .set_window_size(w, h)
            .await
            .unwrap_or_else(|e| panic!("resize to {size}: {e}"));
        app.screenshot(&format!("{role}-{size}.png")).await;
    }
    app.client
        .set_window_size(1280, 860)
        .await
        .expect("resize back");
}

#[tokio::test]
async fn a_report_travels_from_survivor_to_dispatcher_to_provider_live() {
    let server = Server::start();
    // The rescue team is off duty: the urgent report waits in the dispatcher's queue instead of
    // going to them automatically.
    let rescue = server.login("gbv_rescue@kintara.test").await;
    server
        .api(
            &rescue,
            reqwest::Method::PATCH,
            "/api/providers/availability/",
            json!({"is_currently_available": false}),
        )
        .await;
    let provider_token = server.login("healthcare@kintara.test").await;
    let provider_id = server
        .api(
            &provider_token,
            reqwest::Method::GET,
            "/api/auth/me/",
            Value::Null,
        )
        .await["user"]["id"]
        .as_str()
        .expect("provider id")
        .to_owned();

    let dispatcher = signed_in(&server, "dispatcher@kintara.test", "Hello").await;
    let provider = signed_in(&server, "healthcare@kintara.test", "Hello").await;
    let survivor = signed_in(&server, "survivor@kintara.test", "Amani").await;

    // The dispatcher's directory lists the provider as available; the provider can switch off
    // and on again from their home screen.
    let in_directory = format!("#directory .provider[data-provider='{provider_id}']");
    dispatcher.wait_text(&in_directory, "Available").await;
    let dispatcher_token = server.login("dispatcher@kintara.test").await;
    provider.wait_text("#home-title", "Hello").await;
    for want in [false, true] {
        provider.find("#availability:enabled").await;
        provider.click("#availability").await;
        wait_available(&server, &dispatcher_token, &provider_id, want).await;
    }

    // The survivor files an urgent report through the wizard.
    survivor.click("#new-report").await;
    survivor.wait_text("#wizard-step", "Step 1 of 5").await;
    survivor.click("#type-physical").await;
    survivor.click("#wizard-next").await;
    survivor.fill("#location-address", "Mathare, Nairobi").await;
    survivor
        .fill(
            "#description",
            "He threatened me tonight and I cannot go home.",
        )
        .await;
    survivor.click("#wizard-next").await;
    survivor.click("#service-medical").await;
    survivor.click("#wizard-next").await;
    survivor.click("#urgency-urgent").await;
    survivor.click("#wizard-next").await;
    survivor.wait_text("#wizard-step", "Step 5 of 5").await;
    survivor.click("#wizard-submit").await;
    let case_number = survivor
        .wait_text("#reports-list .case-number", "KIN-")
        .await;

    // The dispatcher's queue shows it without anyone reloading.
    dispatcher.wait_text("#queue", &case_number).await;
    let incident = dispatcher
        .find("#queue .case-card")
        .await
        .attr("data-incident")
        .await
        .expect("attribute")
        .expect("an incident id");
    shots(&dispatcher, "dispatcher").await;
    dispatcher
        .click(&format!(
            "#queue .case-card[data-incident='{incident}'] .assign"
        ))
        .await;
    dispatcher
        .click(&format!(
            "#assign-panel .suggestion[data-provider='{provider_id}'] .assign-to"
        ))
        .await;
    dispatcher
        .wait_gone(&format!("#queue .case-card[data-incident='{incident}']"))
        .await;

    // All cases, filtered: the case shows under "Assigned" and not under "Closed".
    let filter = dispatcher.find("#cases-filter").await;
    filter
        .select_by_value("closed")
        .await
        .expect("filter by closed");
    dispatcher
        .wait_gone(&format!(
            "#all-cases .case-card[data-incident='{incident}']"
        ))
        .await;
    let filter = dispatcher.find("#cases-filter").await;
    filter
        .select_by_value("assigned")
        .await
        .expect("filter by assigned");
    dispatcher
        .wait_text(
            &format!("#all-cases .case-card[data-incident='{incident}']"),
            &case_number,
        )
        .await;
    let filter = dispatcher.find("#cases-filter").await;
    filter.select_by_value("").await.expect("every status");
    // By urgency and type too: not among the routine cases, nor the sexual violence ones.
    let card = format!("#all-cases .case-card[data-incident='{incident}']");
    for (select, other, its) in [
        ("#cases-urgency", "routine", "urgent"),
        ("#cases-type", "sexual", "physical"),
    ] {
        let filter = dispatcher.find(select).await;
        filter.select_by_value(other).await.expect("filter");
        dispatcher.wait_gone(&card).await;
        let filter = dispatcher.find(select).await;
        filter.select_by_value(its).await.expect("filter");
        dispatcher.wait_text(&card, &case_number).await;
        let filter = dispatcher.find(select).await;
        filter.select_by_value("").await.expect("every one");
    }

    // The provider's app shows the offer live and accepts it.
    let offer = format!("#pending-list .case-card[data-incident='{incident}']");
    provider.wait_text(&offer, &case_number).await;
    shots(&provider, "provider").await;
    provider.click(&format!("{offer} .accept")).await;
    let active = format!("#active-list .case-card[data-incident='{incident}']");
    provider.wait_text(&active, &case_number).await;
    // The case's history on the provider's card.
    provider.click(&format!("{active} .show-timeline")).await;
    let history = provider
        .wait_text(&format!("{active} .timeline"), "In progress")
        .await;
    assert!(history.contains("Assigned"), "{history}");

    // The survivor sees it accepted and the case chat opens.
    survivor
        .wait_text("#reports-list .status", "In progress")
        .await;
    // Her case's history: each move with its time, and no reasons (they can name providers).
    survivor.click("#reports-list .show-timeline").await;
    let history = survivor
        .wait_text("#reports-list .timeline", "In progress")
        .await;
    assert!(history.contains("Waiting for review"), "{history}");
    assert!(history.contains("Assigned"), "{history}");
    shots(&survivor, "survivor").await;
    survivor.click("#reports-list .open-chat").await;
    survivor
        .fill("#composer", "Thank you. Can someone call me tomorrow?")
        .await;
    survivor.click("#send").await;
    survivor
        .wait_text("#room .message.mine", "Can someone call me")
        .await;

    // The provider reads it in the room and answers; the survivor sees the answer and the read
    // mark on her own message.
    provider
        .click(&format!(
            "#active-list .case-card[data-incident='{incident}'] .open-chat"
        ))
        .await;
    provider
        .wait_text("#room", "Can someone call me tomorrow?")
        .await;
    // The provider shares presence and typing (survivors share neither by default): the survivor
    // sees them online and typing.
    survivor.find("#room .participant .presence.online").await;
    provider
        .fill("#composer", "Yes, a nurse will call you at 9.")
        .await;
    survivor.wait_text("#typing", "is typing").await;
    provider.click("#send").await;
    survivor
        .wait_text("#room", "a nurse will call you at 9")
        .await;
    provider.wait_text("#room .message.mine", "nurse").await;

    // Every bell has news: the dispatcher's new report, the provider's assignment, the
    // survivor's update.
    for app in [&dispatcher, &provider, &survivor] {
        let count = app.wait_text("#bell-count", "").await;
        assert!(
            count.trim().parse::<u32>().unwrap_or(0) > 0,
            "a notification in the bell, got {count:?}"
        );
    }
    survivor.click("#bell").await;
    // A survivor's notifications never carry the case or the message.
    let feed = survivor.wait_text("#notifications", "update").await;
    assert!(
        !feed.contains("nurse") && !feed.contains("threatened"),
        "{feed}"
    );
    survivor.click("#filter-unread").await;
    survivor.wait_text("#notifications", "update").await;
    survivor.click("#filter-all").await;

    // The dispatcher moves the case to another provider, saying why.
    let card = format!("#all-cases .case-card[data-incident='{incident}']");
    dispatcher.click(&format!("{card} .reassign")).await;
    dispatcher
        .click(&format!("{card} .suggestion .choose-provider"))
        .await;
    dispatcher
        .fill(&format!("{card} .reassign-reason"), "Needs a lawyer too.")
        .await;
    dispatcher.click(&format!("{card} .confirm-reassign")).await;
    dispatcher
        .wait_text(&format!("{card} .helpers"), "Withdrawn")
        .await;

    for app in [dispatcher, provider, survivor] {
        let _ = app.close().await;
    }
}
