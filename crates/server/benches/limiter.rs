//! What the rate limiter costs on the send path: chat messages per second over HTTP with the
//! limits off and on (limits high enough that nothing is refused, so every send pays for the
//! checks and nothing else differs), in the same run, plus the cost of one check on its own.
//!
//! Run: `cargo bench -p kintara-server --bench limiter` (`-- --quick` for a short run). The
//! server runs in this process on a temporary SQLite directory; client and server share the
//! machine's cores.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kintara_server::limits::{Action, LimitSpec, Limits};
use serde_json::{json, Value};
use uuid::Uuid;

const SENDERS: usize = 16;
/// Limits that run every check of the send path but never refuse.
const NEVER_REFUSING: &str = "message.account=1000000/s,message.address=1000000/s";

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.expect("json")
}

/// Messages per second sent into one case room by `SENDERS` concurrent requests for `secs`.
async fn messages_per_second(spec: LimitSpec, secs: f64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut config = kintara_server::testing::config(dir.path()).await;
    config.demo = true;
    config.rate_limits = spec;
    let server = kintara_server::start(config).await.expect("server");
    let base = server.url();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let login = |who: &str| {
        let (http, base) = (http.clone(), base.clone());
        let email = format!("{who}@kintara.test");
        async move {
            let v = post(
                &http,
                format!("{base}/api/auth/login/"),
                None,
                json!({"email": email, "password": "kintara-demo"}),
            )
            .await;
            v["tokens"]["access"].as_str().unwrap().to_owned()
        }
    };
    let survivor = login("survivor").await;
    let dispatcher = login("dispatcher").await;
    let provider = login("healthcare").await;
    let provider_id = {
        let me: Value = http
            .get(format!("{base}/api/auth/me/"))
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        me["user"]["id"].as_str().unwrap().to_owned()
    };
    let report = json!({
        "type": "physical", "description": "bench", "incident_date": "2026-01-01",
        "location": {"address": "Nairobi"}, "support_services": ["medical"],
    });
    let incident = post(
        &http,
        format!("{base}/api/incidents/"),
        Some(&survivor),
        report,
    )
    .await;
    let id = incident["id"].as_str().unwrap();
    post(
        &http,
        format!("{base}/api/dispatch/cases/{id}/assign/"),
        Some(&dispatcher),
        json!({"provider_ids": [provider_id]}),
    )
    .await;
    let accepted = http
        .patch(format!("{base}/api/incidents/{id}/accept/"))
        .bearer_auth(&provider)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(accepted.status().is_success());
    let rooms: Value = http
        .get(format!("{base}/api/chat/rooms/"))
        .bearer_auth(&survivor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let room = rooms["results"][0]["id"].as_str().unwrap().to_owned();

    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (http, base, token, room, sent) = (
                http.clone(),
                base.clone(),
                survivor.clone(),
                room.clone(),
                sent.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    post(
                        &http,
                        format!("{base}/api/chat/messages/"),
                        Some(&token),
                        json!({"room": room, "content": "a message"}),
                    )
                    .await;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let began = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = sent.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64();
    server.stop().await;
    rate
}

/// Nanoseconds per check of one account and one address, over many accounts.
fn check_cost() -> f64 {
    let limits = Limits::new(&NEVER_REFUSING.parse().unwrap());
    let addr: IpAddr = "192.0.2.1".parse().unwrap();
    let users: Vec<Uuid> = (0..10_000).map(|_| Uuid::new_v4()).collect();
    let n = 1_000_000;
    let began = Instant::now();
    for i in 0..n {
        limits
            .account(Action::Message, users[i % users.len()], addr)
            .unwrap();
    }
    began.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let secs = if quick { 1.0 } else { 5.0 };
    let rounds = 3;
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Alternated, so a machine that warms up or gets busier mid-run weighs on both alike.
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        off.push(rt.block_on(messages_per_second(LimitSpec::off(), secs)));
        on.push(rt.block_on(messages_per_second(NEVER_REFUSING.parse().unwrap(), secs)));
    }
    let ns = check_cost();
    let show = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (off_m, on_m) = (median(off.clone()), median(on.clone()));
    println!();
    println!("==================== rate limiter on the send path ====================");
    println!(
        "  POST /api/chat/messages/, {SENDERS} concurrent senders, {rounds} alternating rounds \
         of {secs:.0} s, SQLite"
    );
    println!(
        "  limits off: {off_m:.0} messages/s (median of {})",
        show(&off)
    );
    println!(
        "  limits on:  {on_m:.0} messages/s (median of {}; {:+.1} %)",
        show(&on),
        (on_m / off_m - 1.0) * 100.0
    );
    println!("  one check (account + address, 10 000 accounts): {ns:.0} ns");
    println!("=======================================================================");
}
