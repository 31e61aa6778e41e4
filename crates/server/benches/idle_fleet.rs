//! Idle WebSockets beyond one process's open-files limit: several server instances (one
//! PostgreSQL, one signing secret, as behind a load balancer) hold the sockets together, and the
//! bench reports how many they hold and what each socket costs each server in memory.
//!
//! Why: one process here may open at most 20 000 files (a hard limit this machine does not let
//! us raise), so `--bench realtime` tops out just under that with one server. This bench answers
//! "can this machine hold 50 000 idle sockets, and at what memory per socket".
//!
//! Run: `cargo bench -p kintara-server --bench idle_fleet` (options after `--`: `--sockets N`,
//! `--instances K`). It needs PostgreSQL: `KINTARA_BENCH_DATABASE_URL` names an empty database;
//! without it a fresh `kt_fleet_*` database is created (and dropped) through
//! `KINTARA_PG_ADMIN_URL` (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`) with
//! `psql`. The sockets are opened by child processes of this bench (`--hold`), each within its own
//! open-files limit, spread round-robin over the instances. Not part of the test suite.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

const DEMO_PASSWORD: &str = "kintara-demo";
/// Sessions whose tokens the sockets share.
const SESSIONS: usize = 20;
/// Sockets one holder process opens at most (its open-files limit is 20 000 here).
const PER_HOLDER: usize = 18_000;
/// Handshakes in flight at once, per holder.
const CONNECT_CONCURRENCY: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--hold") {
        return hold();
    }
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sockets = arg("--sockets", 50_000);
    let instances = arg("--instances", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(sockets, instances));
}

// ---------------------------------------------------------------------------------------------
// The database and the servers.

/// A database for the run: the caller's, or a fresh one dropped at the end.
struct Database {
    url: String,
    drop_with: Option<(String, String)>,
}

impl Database {
    fn get() -> Database {
        if let Ok(url) = std::env::var("KINTARA_BENCH_DATABASE_URL") {
            return Database {
                url,
                drop_with: None,
            };
        }
        let admin = std::env::var("KINTARA_PG_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "kt_fleet_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').expect("a database URL").0;
        Database {
            url: format!("{base}/{name}"),
            drop_with: Some((admin, name)),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_with {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql")
        .arg(url)
        .arg("-qc")
        .arg(sql)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "psql {sql:?} failed (is PostgreSQL up?)");
}

/// One server instance as a child process; killed when dropped.
struct Server {
    child: Child,
    pid: u32,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

async fn start(http: &reqwest::Client, db: &str, secret: &str, demo: bool) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let log = dir.path().join("server.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kintara-server"));
    cmd.arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--database-url")
        .arg(db)
        .arg("--access-ttl-secs")
        .arg("3600")
        // Load from a few accounts at machine speed, tens of thousands of sockets on a few
        // sessions: the limits would refuse it (the limiter bench measures their cost).
        .arg("--rate-limits")
        .arg("off")
        .arg("--max-sockets-per-user")
        .arg("1000000")
        .env("KINTARA_JWT_SECRET", secret)
        .env("KINTARA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log")));
    if demo {
        cmd.arg("--demo");
    }
    let child = cmd.spawn().expect("the server binary starts");
    let server = Server {
        pid: child.id(),
        child,
        port,
        log,
        _dir: dir,
    };
    let started = Instant::now();
    while http
        .get(format!("http://127.0.0.1:{port}/api/auth/me/"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "an instance did not answer within 60 s; log: {}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn login(http: &reqwest::Client, port: u16) -> String {
    let resp = http
        .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
        .json(&json!({"email": "dispatcher@kintara.test", "password": DEMO_PASSWORD}))
        .send()
        .await
        .expect("the server answers");
    assert!(resp.status().is_success(), "login: {}", resp.status());
    let v: Value = resp.json().await.expect("JSON");
    v["tokens"]["access"].as_str().expect("a token").to_owned()
}

// ---------------------------------------------------------------------------------------------
// The run.

/// A holder process: told what to open on stdin, answers on stdout, holds until stdin closes.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

async fn run(sockets: usize, instances: usize) {
    println!("--- idle sockets over {instances} instances (PostgreSQL) ---");
    let db = Database::get();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let secret = format!("fleet-bench-secret-{}", uuid::Uuid::new_v4().simple());
    let mut servers = Vec::new();
    for i in 0..instances {
        // Sequentially: the first migrates and seeds the demo accounts.
        servers.push(start(&http, &db.url, &secret, i == 0).await);
    }
    let mut tokens = Vec::new();
    for _ in 0..SESSIONS {
        tokens.push(login(&http, servers[0].port).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before: Vec<(u64, usize)> = servers
        .iter()
        .map(|s| (rss_kb(s.pid), open_fds(s.pid)))
        .collect();

    let urls: Vec<String> = servers
        .iter()
        .map(|s| format!("ws://127.0.0.1:{}", s.port))
        .collect();
    let started = Instant::now();
    let mut holders = Vec::new();
    let mut left = sockets;
    while left > 0 {
        let n = left.min(PER_HOLDER);
        left -= n;
        let mut child = Command::new(std::env::current_exe().expect("this bench"))
            .arg("--hold")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a holder process");
        let mut stdin = child.stdin.take().expect("stdin");
        let order = json!({ "urls": urls, "tokens": tokens, "n": n, "offset": holders.len() });
        writeln!(stdin, "{order}").expect("the holder reads its order");
        holders.push(Holder {
            child,
            stdin: Some(stdin),
        });
    }
    let mut held = 0;
    let mut failed = 0;
    for h in &mut holders {
        let mut line = String::new();
        std::io::BufReader::new(h.child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("the holder reports");
        let v: Value = serde_json::from_str(line.trim()).unwrap_or(Value::Null);
        held += v["held"].as_u64().unwrap_or(0) as usize;
        failed += v["failed"].as_u64().unwrap_or(0) as usize;
        if let Some(e) = v["first_error"].as_str() {
            println!("a holder's first failure: {e}");
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    // Settled, idle state (not the handshake peak).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut total_delta = 0u64;
    let mut total_sockets = 0usize;
    for (i, (s, (rss0, fds0))) in servers.iter().zip(&before).enumerate() {
        let rss = rss_kb(s.pid);
        let count = open_fds(s.pid).saturating_sub(*fds0);
        let delta = rss.saturating_sub(*rss0);
        total_delta += delta;
        total_sockets += count;
        println!(
            "instance {}: {} sockets, RSS {} -> {} KB, {:.1} KB per socket",
            i + 1,
            count,
            rss0,
            rss,
            delta as f64 / count.max(1) as f64
        );
    }
    println!();
    println!("==================== idle fleet summary ====================");
    println!(
        "  {held} sockets held of {sockets} ({failed} failed) by {instances} instances, \
         opened in {open_secs:.1} s; server memory {:.1} KB per socket ({} sockets counted on \
         the servers' side)",
        total_delta as f64 / total_sockets.max(1) as f64,
        total_sockets
    );
    println!("reproduce: cargo bench -p kintara-server --bench idle_fleet");
    println!("==========================================================");
    for mut h in holders {
        drop(h.stdin.take());
        let _ = h.child.wait();
    }
    drop(servers);
}

// ---------------------------------------------------------------------------------------------
// A holder process.

fn hold() {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("an order");
    let order: Value = serde_json::from_str(&line).expect("a JSON order");
    let urls: Vec<String> = serde_json::from_value(order["urls"].clone()).expect("urls");
    let tokens: Vec<String> = serde_json::from_value(order["tokens"].clone()).expect("tokens");
    let n = order["n"].as_u64().expect("n") as usize;
    let offset = order["offset"].as_u64().unwrap_or(0) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let (held, first_error) = runtime.block_on(async {
        let results: Vec<Result<(), String>> = futures::stream::iter(0..n)
            .map(|i| {
                let url = format!(
                    "{}/ws/?token={}",
                    urls[(i + offset) % urls.len()],
                    tokens[i % tokens.len()]
                );
                async move { open(url).await }
            })
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect()
            .await;
        let mut first_error = None;
        let mut held = 0;
        for r in results {
            match r {
                Ok(()) => held += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        (held, first_error)
    });
    println!(
        "{}",
        json!({"held": held, "failed": n - held, "first_error": first_error})
    );
    let _ = std::io::stdout().flush();
    // Hold until the bench closes our stdin; the sockets live in the runtime's tasks.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(runtime);
}

/// Opens one socket, waits for `connection_established`, and leaves a task reading it (pongs go
/// out as pings come in).
async fn open(url: String) -> Result<(), String> {
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("connection_established") => {}
        other => return Err(format!("first frame: {other:?}")),
    }
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Ping(p) = msg {
                let _ = ws.send(Message::Pong(p)).await;
            }
        }
    });
    Ok(())
}
