//! How fast the dispatcher's dashboard answers over a realistic database.
//!
//! Run: `cargo bench -p kintara-server --bench dashboard` (optionally `-- --incidents 20000
//! --requests 500`). Starts a server on a temporary SQLite directory, writes 10 000 incidents
//! straight into its database in batched transactions (a realistic mix of statuses and urgency
//! over 90 days, with assignments, refusals and the status history), then times
//! `GET /api/dispatch/dashboard/` over real HTTP after a warm-up and prints p50 / p90 / p99 / max.
//! Not part of the test suite.

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, SecondsFormat, Utc};
use kintara_server::Running;
use serde_json::{json, Value};
use uuid::Uuid;

const WARM_UP: usize = 20;
const BATCH: usize = 500;
const EXTRA_PROVIDERS: usize = 60;
const SURVIVORS: usize = 400;

struct Options {
    incidents: usize,
    requests: usize,
}

fn options() -> Options {
    let mut o = Options {
        incidents: 10_000,
        requests: 200,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse().ok());
        match (args[i].as_str(), value) {
            ("--incidents", Some(n)) => o.incidents = n,
            ("--requests", Some(n)) => o.requests = n,
            // `cargo bench` passes `--bench`; anything else is ignored too.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// SplitMix64: deterministic data without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Picks by integer weights.
    fn weighted<T: Copy>(&mut self, choices: &[(T, u64)]) -> T {
        let total: u64 = choices.iter().map(|(_, w)| w).sum();
        let mut at = self.below(total);
        for (c, w) in choices {
            if at < *w {
                return *c;
            }
            at -= w;
        }
        choices[choices.len() - 1].0
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(options()));
}

async fn run(o: Options) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = kintara_server::testing::config(dir.path()).await;
    config.demo = true;
    let running = kintara_server::start(config).await.expect("server starts");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = running.url();

    let started = Instant::now();
    let (assignments, history) = seed(&running, o.incidents).await;
    let insert_time = started.elapsed();
    println!(
        "inserted {} incidents, {assignments} assignments, {history} status changes, \
         {} providers in {:.2} s ({:.0} incidents/s)",
        o.incidents,
        EXTRA_PROVIDERS + 7,
        insert_time.as_secs_f64(),
        o.incidents as f64 / insert_time.as_secs_f64()
    );

    let login: Value = http
        .post(format!("{url}/api/auth/login/"))
        .json(&json!({"email": "dispatcher@kintara.test", "password": "kintara-demo"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["tokens"]["access"]
        .as_str()
        .expect("an access token")
        .to_owned();

    let dashboard = || async {
        let t = Instant::now();
        let resp = http
            .get(format!("{url}/api/dispatch/dashboard/"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("dashboard");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("dashboard body");
        (t.elapsed(), body)
    };
    let mut last = Value::Null;
    for _ in 0..WARM_UP {
        last = dashboard().await.1;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(o.requests);
    for _ in 0..o.requests {
        times.push(dashboard().await.0);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |p: f64| {
        let rank = ((p / 100.0) * times.len() as f64).ceil() as usize;
        ms(times[rank.clamp(1, times.len()) - 1])
    };
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    println!(
        "GET /api/dispatch/dashboard/ x{} (after {WARM_UP} warm-up): \
         p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
        times.len(),
        at(50.0),
        at(90.0),
        at(99.0),
        ms(*times.last().expect("timed requests")),
        mean,
    );
    println!(
        "dashboard: total {} | by status {} | by urgency {} | unassigned urgent {} | \
         created today {} | completed today {} | at capacity {} | avg response {:.1} min",
        last["total_cases"],
        last["cases_by_status"],
        last["cases_by_urgency"],
        last["unassigned_urgent_cases"],
        last["cases_created_today"],
        last["cases_completed_today"],
        last["providers_at_capacity"],
        last["average_response_time_minutes"]
            .as_f64()
            .unwrap_or(0.0),
    );
    // Where the time goes: each of the dashboard's queries alone on the read pool, and a
    // request that does little besides authentication, for the HTTP and auth overhead.
    let mut me = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let resp = http
            .get(format!("{url}/api/auth/me/"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("me");
        assert_eq!(resp.status(), 200);
        resp.bytes().await.expect("me body");
        me.push(t.elapsed());
    }
    me.sort();
    println!(
        "baseline GET /api/auth/me/: p50 {:.2} ms",
        ms(me[me.len() / 2])
    );
    let today = ts(Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc());
    let month_ago = ts(Utc::now() - chrono::Duration::days(30));
    let queries: [(&str, &str, Option<&str>); 5] = [
        (
            "counts by status and urgency",
            "SELECT status, urgency_level, COUNT(*) AS n FROM incidents WHERE deleted_at IS NULL \
             GROUP BY status, urgency_level",
            None,
        ),
        (
            "created today",
            "SELECT COUNT(*) AS n FROM incidents WHERE deleted_at IS NULL AND created_at >= $1",
            Some(&today),
        ),
        (
            "completed today (status history)",
            "SELECT COUNT(DISTINCT incident_id) AS n FROM incident_status_history \
             WHERE to_status = 'completed' AND created_at >= $1",
            Some(&today),
        ),
        (
            "providers, available, at capacity",
            "SELECT COUNT(*) AS n FROM provider_profiles p JOIN users u ON u.id = p.user_id \
             WHERE u.is_active = 1 AND p.current_case_load >= p.max_case_load",
            None,
        ),
        (
            "average answer time of 30 days (as the server does)",
            "SELECT CAST(AVG(response_seconds) AS DOUBLE PRECISION) AS avg_seconds \
             FROM case_assignments WHERE response_seconds IS NOT NULL AND assigned_at >= $1",
            Some(&month_ago),
        ),
    ];
    for (what, sql, bind) in queries {
        let mut runs = Vec::new();
        let mut rows = 0;
        for _ in 0..21 {
            let t = Instant::now();
            let mut q = sqlx::query(sql);
            if let Some(b) = bind {
                q = q.bind(b);
            }
            let fetched = q.fetch_all(&running.state.db.read).await.expect(sql);
            // Decode the timestamps like the handler does, so the cost is comparable.
            for r in &fetched {
                use sqlx::Row;
                if let Ok(a) = r.try_get::<String, _>("assigned_at") {
                    let _ = DateTime::parse_from_rfc3339(&a);
                }
            }
            rows = fetched.len();
            runs.push(t.elapsed());
        }
        runs.sort();
        println!(
            "  {what}: {:.2} ms ({rows} row(s))",
            ms(runs[runs.len() / 2])
        );
    }
    running.stop().await;
}

/// Writes survivors, providers, incidents, assignments and status history. Returns the number
/// of assignments and history rows.
async fn seed(running: &Running, incidents: usize) -> (usize, usize) {
    let db = &running.state.db;
    let mut rng = Rng(0x5eed);
    let now = Utc::now();

    let mut tx = db.write.begin().await.expect("begin");
    let mut survivors = Vec::with_capacity(SURVIVORS);
    for i in 0..SURVIVORS {
        let id = Uuid::new_v4();
        insert_user(
            &mut tx,
            id,
            &format!("survivor{i}@bench.test"),
            "survivor",
            None,
            now,
        )
        .await;
        survivors.push(id);
    }
    let kinds = [
        "healthcare",
        "legal",
        "police",
        "counseling",
        "social",
        "gbv_rescue",
        "chw",
    ];
    for i in 0..EXTRA_PROVIDERS {
        let id = Uuid::new_v4();
        let kind = kinds[i % kinds.len()];
        insert_user(
            &mut tx,
            id,
            &format!("provider{i}@bench.test"),
            "provider",
            Some(kind),
            now,
        )
        .await;
        sqlx::query(
            "INSERT INTO provider_profiles (user_id, is_currently_available, max_case_load, \
             avg_response_minutes) VALUES ($1, $2, 60, $3)",
        )
        .bind(id.to_string())
        .bind((rng.below(10) < 8) as i64)
        .bind(5 + rng.below(90) as i64)
        .execute(&mut *tx)
        .await
        .expect("profile");
    }
    tx.commit().await.expect("commit");
    let providers: Vec<String> = sqlx::query_scalar("SELECT user_id FROM provider_profiles")
        .fetch_all(&db.read)
        .await
        .expect("providers");

    let mut per_day: std::collections::HashMap<String, u32> = Default::default();
    let (mut assignments, mut history) = (0, 0);
    let mut done = 0;
    while done < incidents {
        let mut tx = db.write.begin().await.expect("begin");
        for _ in 0..BATCH.min(incidents - done) {
            let (a, h) =
                insert_incident(&mut tx, &mut rng, &mut per_day, now, &survivors, &providers).await;
            assignments += a;
            history += h;
        }
        tx.commit().await.expect("commit");
        done += BATCH.min(incidents - done);
    }
    // Case loads as the workflow keeps them: live assignments on open cases.
    sqlx::query(
        "UPDATE provider_profiles SET current_case_load = (SELECT COUNT(*) FROM case_assignments a \
         JOIN incidents i ON i.id = a.incident_id WHERE a.provider_id = provider_profiles.user_id \
         AND a.status IN ('pending', 'accepted') AND i.status IN ('assigned', 'in_progress') \
         AND i.deleted_at IS NULL)",
    )
    .execute(&db.write)
    .await
    .expect("loads");
    (assignments, history)
}

async fn insert_user(
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
    email: &str,
    role: &str,
    provider_type: Option<&str>,
    now: DateTime<Utc>,
) {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, \
         provider_type, created_at, updated_at) VALUES ($1, $2, 'x', 'Bench', 'User', $3, $4, \
         $5, $5)",
    )
    .bind(id.to_string())
    .bind(email)
    .bind(role)
    .bind(provider_type)
    .bind(ts(now))
    .execute(conn)
    .await
    .expect("user");
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Pending,
    Assigned,
    InProgress,
    Completed,
    Closed,
}

/// `(provider, status, assigned_at, responded_at, rejection_reason)`.
type AssignmentRow = (
    String,
    &'static str,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<&'static str>,
);

const STATUS: [&str; 5] = [
    "pending_dispatcher_review",
    "assigned",
    "in_progress",
    "completed",
    "closed",
];

async fn insert_incident(
    tx: &mut sqlx::AnyConnection,
    rng: &mut Rng,
    per_day: &mut std::collections::HashMap<String, u32>,
    now: DateTime<Utc>,
    survivors: &[Uuid],
    providers: &[String],
) -> (usize, usize) {
    // 2% today, the rest over the last 90 days; older cases are further along.
    let age_days = if rng.below(50) == 0 {
        0
    } else {
        1 + rng.below(90)
    };
    let created = (now - Days::new(age_days)) - chrono::Duration::seconds(rng.below(3600) as i64);
    let stage = if age_days < 3 {
        rng.weighted(&[
            (Stage::Pending, 30),
            (Stage::Assigned, 30),
            (Stage::InProgress, 30),
            (Stage::Completed, 10),
        ])
    } else {
        rng.weighted(&[
            (Stage::Pending, 5),
            (Stage::Assigned, 5),
            (Stage::InProgress, 15),
            (Stage::Completed, 25),
            (Stage::Closed, 50),
        ])
    };
    let urgency = rng.weighted(&[("routine", 70), ("urgent", 20), ("immediate", 10)]);
    let kind = *rng.pick(&[
        "physical",
        "sexual",
        "emotional",
        "economic",
        "online",
        "femicide",
    ]);
    let day = created.format("%Y%m%d").to_string();
    let n = per_day.entry(day.clone()).or_default();
    *n += 1;
    let case_number = format!("KIN-{day}-{n:03}");
    let id = Uuid::new_v4();
    let deleted = (rng.below(100) < 3).then(|| ts(created + chrono::Duration::hours(2)));

    // The timeline: each step a little after the one before.
    let mut t = created;
    let mut step = |rng: &mut Rng| {
        t += chrono::Duration::minutes(1 + rng.below(240) as i64);
        t
    };
    let mut steps: Vec<(Option<&str>, &str, DateTime<Utc>)> = vec![(None, STATUS[0], created)];
    let mut rows: Vec<AssignmentRow> = Vec::new();
    let refused_first = rng.below(100) < 15;
    if refused_first {
        let at = step(rng);
        let answered = step(rng);
        rows.push((
            rng.pick(providers).clone(),
            "rejected",
            at,
            Some(answered),
            Some("Outside my area"),
        ));
        steps.push((Some(STATUS[0]), STATUS[1], at));
        steps.push((Some(STATUS[1]), STATUS[0], answered));
    }
    if stage >= Stage::Assigned {
        let at = step(rng);
        steps.push((Some(STATUS[0]), STATUS[1], at));
        let provider = rng.pick(providers).clone();
        if stage == Stage::Assigned {
            rows.push((provider, "pending", at, None, None));
        } else {
            let answered = step(rng);
            rows.push((provider, "accepted", at, Some(answered), None));
            steps.push((Some(STATUS[1]), STATUS[2], answered));
        }
    }
    if stage >= Stage::Completed {
        steps.push((Some(STATUS[2]), STATUS[3], step(rng)));
    }
    if stage >= Stage::Closed {
        steps.push((Some(STATUS[3]), STATUS[4], step(rng)));
    }
    let status = steps.last().expect("a first step").1;
    let updated = steps.last().expect("a first step").2;

    sqlx::query(
        "INSERT INTO incidents (id, case_number, survivor_id, kind, status, severity, \
         urgency_level, incident_date, incident_time, description, location, support_services, \
         provider_preferences, is_anonymous, created_at, updated_at, deleted_at) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, NULL, $12, $13, $14, $15)",
    )
    .bind(id.to_string())
    .bind(&case_number)
    .bind(rng.pick(survivors).to_string())
    .bind(kind)
    .bind(status)
    .bind(*rng.pick(&["low", "medium", "high"]))
    .bind(urgency)
    .bind(created.date_naive().to_string())
    .bind("A report written for the benchmark, about as long as a real one tends to be.")
    .bind(r#"{"address":"Kibera, Nairobi","coordinates":null,"description":null}"#)
    .bind(r#"["medical","counseling"]"#)
    .bind((rng.below(10) == 0) as i64)
    .bind(ts(created))
    .bind(ts(updated))
    .bind(deleted)
    .execute(&mut *tx)
    .await
    .expect("incident");
    for (from, to, at) in &steps {
        sqlx::query(
            "INSERT INTO incident_status_history (id, incident_id, from_status, to_status, \
             actor_id, reason, created_at) VALUES ($1, $2, $3, $4, NULL, NULL, $5)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(id.to_string())
        .bind(*from)
        .bind(*to)
        .bind(ts(*at))
        .execute(&mut *tx)
        .await
        .expect("history");
    }
    for (provider, state, at, answered, reason) in &rows {
        sqlx::query(
            "INSERT INTO case_assignments (id, incident_id, provider_id, status, assigned_by, \
             notes, rejection_reason, assigned_at, responded_at, response_seconds) \
             VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6, $7, $8)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(id.to_string())
        .bind(provider)
        .bind(*state)
        .bind(*reason)
        .bind(ts(*at))
        .bind(answered.map(ts))
        // Only answers (accepted or declined) carry an answer time, as in the server.
        .bind(
            answered
                .filter(|_| matches!(*state, "accepted" | "rejected"))
                .map(|t| (t - *at).num_seconds().max(0)),
        )
        .execute(&mut *tx)
        .await
        .expect("assignment");
    }
    (rows.len(), steps.len())
}
