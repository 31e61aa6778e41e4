//! A provider's app against a real server, reading a room longer than one page: the room opens
//! on its newest messages; scrolling to the top and the "Load earlier messages" button bring the
//! earlier pages in above without moving what the reader looks at; a message arriving meanwhile
//! shows once at the bottom; and the conversation's first message eventually shows, exactly once,
//! under "Beginning of the conversation"; a message arriving after she has read in silence for
//! a while is still one she is looking at, so no feed entry. On the way, the availability switch shows what the
//! server holds (set from another device), not what this new device would assume.

mod common;

use common::{App, Server};
use serde_json::{json, Value};

/// More than the newest page (100) and the next page back (50): three pages in all.
const HISTORY: usize = 170;

async fn send(server: &Server, token: &str, room: &str, content: &str, client_id: &str) {
    server
        .api(
            token,
            reqwest::Method::POST,
            "/api/chat/messages/",
            json!({"room": room, "content": content, "client_id": client_id}),
        )
        .await;
}

fn history(n: usize) -> String {
    format!("History message {n:03}")
}

/// Where the message with `text` sits, in pixels from the top of the visible part of the list;
/// with `to_top`, after scrolling the list to its top (in the same turn, so before the app can
/// react to the scroll).
async fn offset_in_view(app: &App, text: &str, to_top: bool) -> f64 {
    let script = "const list = document.querySelector('#room .messages'); \
        if (arguments[1]) { list.scrollTop = 0; } \
        const m = [...list.querySelectorAll('.message .text')].find(e => e.textContent === arguments[0]); \
        return m ? m.getBoundingClientRect().top - list.getBoundingClientRect().top : null;";
    app.client
        .execute(script, vec![json!(text), json!(to_top)])
        .await
        .expect("measure")
        .as_f64()
        .unwrap_or_else(|| panic!("{text:?} is not shown"))
}

/// The texts of the room's messages, top to bottom.
async fn shown(app: &App) -> Vec<String> {
    let script = "return [...document.querySelectorAll('#room .messages .message .text')] \
        .map(e => e.textContent);";
    let list = app.client.execute(script, vec![]).await.expect("read list");
    serde_json::from_value(list).expect("a list of texts")
}

/// Waits until a step back in history has finished (the view is restored in the frame after
/// the messages go in, and only then is the button ready again).
async fn history_settled(app: &App) {
    app.first_of(&["#load-older:not([aria-disabled])", "#history-start"])
        .await;
}

#[tokio::test]
async fn a_long_room_opens_on_its_newest_page_and_pages_back_to_its_first_message() {
    // The history is seeded through the API at machine speed, past the default 60 messages a
    // minute per account.
    let server = Server::start_with_env(&[("KINTARA_RATE_LIMITS", "message.account=10000/min")]);
    let provider = server.login("healthcare@kintara.test").await;
    let dispatcher = server.login("dispatcher@kintara.test").await;
    let provider_id = server
        .api(
            &provider,
            reqwest::Method::GET,
            "/api/auth/me/",
            Value::Null,
        )
        .await["user"]["id"]
        .as_str()
        .expect("provider id")
        .to_owned();

    // Another device of the provider's switched them off: this new device must show that.
    server
        .api(
            &provider,
            reqwest::Method::PATCH,
            "/api/providers/availability/",
            json!({"is_currently_available": false}),
        )
        .await;

    // The dispatcher writes the provider a long conversation.
    let room = server
        .api(
            &dispatcher,
            reqwest::Method::POST,
            "/api/chat/rooms/create_direct_chat/",
            json!({"user_id": provider_id}),
        )
        .await["id"]
        .as_str()
        .expect("room id")
        .to_owned();
    for n in 1..=HISTORY {
        send(
            &server,
            &dispatcher,
            &room,
            &history(n),
            &format!("history-{n}"),
        )
        .await;
    }

    let app = App::launch().await;
    app.sign_in_to(&server.url, "healthcare@kintara.test", "Hello")
        .await;

    // The switch reads the server: off, although a new device would start "available".
    app.find("#availability:enabled:not(:checked)").await;
    app.wait_text(".availability-state", "not offered").await;
    app.click("#availability").await;
    app.find("#availability:enabled:checked").await;
    let now = server
        .api(
            &provider,
            reqwest::Method::GET,
            "/api/providers/availability/",
            Value::Null,
        )
        .await;
    assert_eq!(now["profile"]["is_currently_available"], json!(true));

    // The room opens on its newest page only, with the way back offered.
    app.click("#nav-chat").await;
    app.click(&format!(".room[data-room='{room}']")).await;
    app.wait_text("#room .messages", &history(HISTORY)).await;
    app.find("#load-older").await;
    let first_page = shown(&app).await;
    let newest: Vec<String> = (HISTORY - 99..=HISTORY).map(history).collect();
    assert_eq!(first_page, newest, "the newest 100, oldest first");

    // Scrolling to the top brings the page before in above, and the message that was at the top
    // stays where it was on screen.
    let top = history(HISTORY - 99);
    let before = offset_in_view(&app, &top, true).await;
    app.wait_text("#room .messages", &history(HISTORY - 100))
        .await;
    history_settled(&app).await;
    let after = offset_in_view(&app, &top, false).await;
    assert!(
        (after - before).abs() < 4.0,
        "the view jumped from {before}px to {after}px"
    );
    // Screen readers are told what came in (the note is visually hidden, so read its text).
    let note = app
        .client
        .execute(
            "return document.getElementById('history-note').textContent;",
            vec![],
        )
        .await
        .expect("read the note");
    assert_eq!(note, json!("50 earlier messages loaded."));
    assert_eq!(shown(&app).await.len(), 150);

    // A message arriving meanwhile shows once, at the bottom, and does not pull the reader
    // there.
    send(
        &server,
        &dispatcher,
        &room,
        "A live one while you read",
        "live-1",
    )
    .await;
    app.wait_text("#room .messages", "A live one while you read")
        .await;

    // The button (what keyboards and screen readers use) brings the rest, down to the first
    // message, and then says the conversation begins here.
    app.press("#load-older").await;
    app.wait_text("#room .messages", &history(1)).await;
    app.wait_text("#history-start", "Beginning of the conversation")
        .await;
    app.wait_gone("#load-older").await;

    let all = shown(&app).await;
    let mut want: Vec<String> = (1..=HISTORY).map(history).collect();
    want.push("A live one while you read".to_owned());
    assert_eq!(all, want, "every message once, in order");
    app.client
        .execute(
            "document.querySelector('#room .messages').scrollTop = 0;",
            vec![],
        )
        .await
        .expect("scroll to the top");
    app.screenshot("chat-history.png").await;

    // She keeps reading, silent, for longer than the server counts one beat as reading: a
    // message arriving then is still one she is looking at, so it adds nothing to her feed (and
    // so sends no push).
    let new_messages = || async {
        let page = server
            .api(
                &provider,
                reqwest::Method::GET,
                "/api/notifications/?notification_type=new_message",
                Value::Null,
            )
            .await;
        page["count"].as_i64().expect("count")
    };
    let before = new_messages().await;
    tokio::time::sleep(std::time::Duration::from_secs(
        kintara_api::READING_SECONDS as u64 + 10,
    ))
    .await;
    send(&server, &dispatcher, &room, "Still reading?", "live-2").await;
    app.wait_text("#room .messages", "Still reading?").await;
    assert_eq!(
        new_messages().await,
        before,
        "a message in the room she has open became a feed entry"
    );

    let _ = app.close().await;
}
