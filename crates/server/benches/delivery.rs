//! The delivery outbox against the loopback FCM (`kintara-fakes`), SQLite:
//!
//! 1. throughput: N urgent notifications (each its own push, never folded) stored in one
//!    transaction, then the time until FCM accepted every one: deliveries per second;
//! 2. latency at a steady rate: one notification per transaction at `--rate` per second for
//!    `--secs`, each timed from the start of its transaction to FCM accepting it: p50, p99, max.
//!
//! Run: `cargo bench -p kintara-server --bench delivery` (`-- --n 20000 --rate 500 --secs 10`).
//! The server, its workers and the fake FCM share this process and the machine's cores.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kintara_api::{Channel, NotificationType, Priority};
use kintara_fakes::FakeFcm;
use kintara_server::delivery::plan::Reach;
use kintara_server::notifications::{self, Draft, Stored};
use kintara_server::Running;
use uuid::Uuid;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Stores `n` urgent notifications for `to` (push only) in one transaction; their ids.
async fn notify(server: &Running, to: Uuid, n: usize) -> Vec<Uuid> {
    let mut tx = server.state.db.begin_write().await.unwrap();
    let reach = Reach::load(&mut tx, &[to]).await.unwrap();
    let push = vec![Channel::Push];
    let mut stored = Stored::default();
    for i in 0..n {
        let draft = Draft {
            recipient: to,
            kind: NotificationType::IncidentCreated,
            priority: Priority::High,
            subject: format!("Immediate report KT-{i}"),
            message: "Physical Violence (immediate) is waiting for triage.".into(),
            params: Default::default(),
            incident: None,
            conversation: None,
        };
        stored.add(notifications::to_store(&draft, Some(&push), &reach));
    }
    notifications::store(&mut tx, &stored).await.unwrap();
    tx.commit().await.unwrap();
    // Outside a request nothing wakes the workers after commit; a request would.
    server.state.events.wake_outbox();
    stored.notifications.iter().map(|n| n.id).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let (n, rate, secs) = (arg("--n", 20_000), arg("--rate", 500), arg("--secs", 10));
    let fake = FakeFcm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("fcm.json");
    std::fs::write(&creds, fake.service_account().to_string()).unwrap();
    let mut config = kintara_server::Config::for_data_dir(dir.path().join("data"));
    config.demo = true;
    config.fcm_credentials = Some(creds);
    config.fcm_endpoint = fake.url.clone();
    let server = kintara_server::start(config).await.expect("server");
    let db = &server.state.db;
    let dispatcher: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind("dispatcher@kintara.test")
        .fetch_one(&db.read)
        .await
        .unwrap();
    let dispatcher = Uuid::parse_str(&dispatcher).unwrap();
    sqlx::query(
        "INSERT INTO devices (id, user_id, session_id, token, platform, kind, created_at, last_seen_at) \
         VALUES ($1, $2, NULL, 'bench-desk', 'android', 'fcm', '2026-01-01T00:00:00.000000Z', \
         '2026-01-01T00:00:00.000000Z')",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(dispatcher.to_string())
    .execute(&db.write)
    .await
    .unwrap();

    // 1. Throughput.
    let ids = notify(&server, dispatcher, n as usize).await;
    let start = Instant::now();
    while fake.accepted_count() < ids.len() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = start.elapsed();
    println!(
        "throughput: {} deliveries accepted by FCM in {:.2} s: {:.0} deliveries/s ({} token grant)",
        ids.len(),
        took.as_secs_f64(),
        ids.len() as f64 / took.as_secs_f64(),
        fake.grants()
    );

    // 2. Latency at a steady rate.
    let before = fake.accepted_count();
    let mut committed: HashMap<String, Instant> = HashMap::new();
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (rate * secs) as usize;
    for _ in 0..total {
        tick.tick().await;
        let made = Instant::now();
        let id = notify(&server, dispatcher, 1).await[0];
        committed.insert(id.to_string(), made);
    }
    while fake.accepted_count() < before + total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut latencies: Vec<Duration> = fake.accepted()[before..]
        .iter()
        .map(|a| {
            let id = a.message["data"]["notification_id"].as_str().unwrap();
            a.at.saturating_duration_since(committed[id])
        })
        .collect();
    latencies.sort();
    println!(
        "latency at {rate}/s for {secs} s ({total} notifications), notification → FCM accepted: \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    server.stop().await;
}
