//! The realtime part under load: idle sockets, message latency, message throughput.
//!
//! Run: `cargo bench -p kintara-server --bench realtime` (`-- --quick` for small numbers while
//! iterating). Starts the real `kintara-server` binary as a child process on a loopback port over
//! a temporary SQLite directory (and, when `KINTARA_BENCH_DATABASE_URL` is set, a second time over
//! that PostgreSQL database, which should be empty), sets up case rooms through the public API
//! (survivors register and report, the dispatcher assigns, providers accept), then measures over
//! real WebSockets:
//!
//! 1. idle sockets: as many as the open-files limits of the server and of this process allow, up
//!    to 50 000, each waiting for `connection_established`; the server's VmRSS before and after;
//! 2. latency with 1 000 connected clients: providers send `send_message` frames at a steady rate
//!    and the survivors' sockets time the `new_message` they receive (send → delivery), and the
//!    senders time the `ack` (send → persisted);
//! 3. throughput: every survivor sends over its socket with a window of frames in flight for a
//!    fixed time; messages acknowledged (persisted) and `new_message` frames delivered per second.
//!
//! Client and server share the machine's cores, so the client's own CPU use is printed too.
//! Not part of the test suite.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

const DEMO_PASSWORD: &str = "kintara-demo";
const PASSWORD: &str = "correct horse battery";
/// The demo providers; each takes at most 10 cases (the default maximum case load).
const PROVIDERS: [&str; 7] = [
    "gbv_rescue",
    "healthcare",
    "legal",
    "police",
    "counseling",
    "social",
    "chw",
];
/// Dispatcher sessions whose tokens the idle sockets share.
const IDLE_SESSIONS: usize = 20;
/// Handshakes in flight at once while opening sockets.
const CONNECT_CONCURRENCY: usize = 128;
/// A delivery slower than this counts towards a stall.
const STALL_US: u64 = 20_000;
/// File descriptors kept free in each process (database, listener, log, HTTP client...).
const FD_MARGIN: usize = 100;

struct Options {
    idle_target: usize,
    clients: usize,
    rooms: usize,
    messages: usize,
    rate: f64,
    seconds: f64,
    window: usize,
}

fn options() -> Options {
    let mut o = Options {
        idle_target: 50_000,
        clients: 1_000,
        rooms: 50,
        messages: 3_000,
        rate: 300.0,
        seconds: 10.0,
        window: 8,
    };
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--quick") {
        o = Options {
            idle_target: 2_000,
            clients: 200,
            rooms: 10,
            messages: 500,
            rate: 200.0,
            seconds: 3.0,
            window: 8,
        };
    }
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<f64>().ok());
        match (args[i].as_str(), value) {
            ("--idle", Some(n)) => o.idle_target = n as usize,
            ("--clients", Some(n)) => o.clients = n as usize,
            ("--rooms", Some(n)) => o.rooms = n as usize,
            ("--messages", Some(n)) => o.messages = n as usize,
            ("--rate", Some(n)) => o.rate = n,
            ("--seconds", Some(n)) => o.seconds = n,
            ("--window", Some(n)) => o.window = n as usize,
            // `cargo bench` passes `--bench`; anything else is ignored too.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    assert!(
        o.rooms <= PROVIDERS.len() * 10,
        "at most {} rooms (7 demo providers x 10 cases)",
        PROVIDERS.len() * 10
    );
    o.clients = o.clients.max(o.rooms + PROVIDERS.len());
    o
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let o = options();
    let mut results = vec![runtime.block_on(run(&o, "sqlite", None))];
    if let Ok(url) = std::env::var("KINTARA_BENCH_DATABASE_URL") {
        results.push(runtime.block_on(run(&o, "postgres", Some(url))));
    }
    println!();
    println!("==================== realtime summary ====================");
    for r in &results {
        r.print();
    }
    println!(
        "reproduce: cargo bench -p kintara-server --bench realtime{}",
        if std::env::args().any(|a| a == "--quick") {
            " -- --quick"
        } else {
            ""
        }
    );
    println!("           (KINTARA_BENCH_DATABASE_URL=postgres://... adds a PostgreSQL run)");
    println!("==========================================================");
}

// ---------------------------------------------------------------------------------------------
// The server process.

/// The server binary as a child process; killed when dropped (also on a panic).
struct Server {
    child: Child,
    pid: u32,
    http_url: String,
    ws_url: String,
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

async fn start_server(http: &reqwest::Client, database_url: Option<&str>) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let log = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kintara-server"));
    cmd.arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--demo")
        .arg("--access-ttl-secs")
        .arg("3600")
        // Load from a few accounts at machine speed, tens of thousands of sockets on a few
        // sessions: the limits would refuse it (the limiter bench measures their cost).
        .arg("--rate-limits")
        .arg("off")
        .arg("--max-sockets-per-user")
        .arg("1000000")
        .env("KINTARA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file));
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    let child = cmd.spawn().expect("the server binary starts");
    let pid = child.id();
    let server = Server {
        child,
        pid,
        http_url: format!("http://127.0.0.1:{port}"),
        ws_url: format!("ws://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    let started = Instant::now();
    loop {
        let probe = http
            .get(format!("{}/api/auth/me/", server.http_url))
            .send()
            .await;
        if probe.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not answer within 60 s; log: {}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// `VmRSS` of a process in KB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `(soft, hard)` open-files limit of a process (`self` or a pid), from `/proc/<pid>/limits`.
fn open_files_limit(pid: &str) -> (usize, usize) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or("");
    let mut nums = line
        .split_whitespace()
        .skip(3)
        .map(|v| v.parse::<usize>().unwrap_or(usize::MAX));
    (
        nums.next().unwrap_or(1024),
        nums.next().unwrap_or(usize::MAX),
    )
}

fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// User + system CPU seconds of a process (clock ticks of 1/100 s, as on Linux).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of each thread of a process: `(thread name, seconds)` by thread id.
fn thread_cpu(pid: &str) -> std::collections::HashMap<String, (String, f64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let tid = t.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let secs = cpu_secs(&format!("{pid}/task/{tid}"));
        out.insert(tid, (comm, secs));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTTP setup.

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let resp = retrying(|| {
        let req = http.post(&url).json(&body);
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    })
    .await;
    let status = resp.status();
    let text = resp.text().await.expect("a body");
    assert!(status.is_success(), "POST {url}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Sends the request, and again after the server's Retry-After while it answers 503 (busy: on
/// PostgreSQL, a transaction that lost a lock race to a concurrent one), as the app's client does.
async fn retrying(req: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    for _ in 0..10 {
        let resp = req().send().await.expect("the server answers");
        if resp.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
            return resp;
        }
        let wait = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    req().send().await.expect("the server answers")
}

/// Signs in; returns the access token and the user id.
async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> (String, String) {
    let v = post(
        http,
        format!("{base}/api/auth/login/"),
        None,
        json!({"email": email, "password": password}),
    )
    .await;
    tokens_of(&v)
}

fn tokens_of(v: &Value) -> (String, String) {
    (
        v["tokens"]["access"]
            .as_str()
            .expect("an access token")
            .to_owned(),
        v["user"]["id"].as_str().expect("a user id").to_owned(),
    )
}

/// One case room: the survivor who reported, the provider who accepted.
struct Room {
    id: String,
    survivor_token: String,
    provider: usize,
}

async fn setup_room(
    http: &reqwest::Client,
    base: &str,
    run: &str,
    i: usize,
    dispatcher: &str,
    providers: &[(String, String)],
) -> Room {
    let email = format!("bench-{run}-{i}@bench.test");
    let reg = post(
        http,
        format!("{base}/api/auth/register/"),
        None,
        json!({
            "email": email, "password": PASSWORD, "confirm_password": PASSWORD,
            "first_name": "Amina", "last_name": "Otieno", "role": "survivor",
        }),
    )
    .await;
    let (survivor_token, _) = tokens_of(&reg);
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let incident = post(
        http,
        format!("{base}/api/incidents/"),
        Some(&survivor_token),
        json!({
            "type": "physical",
            "incident_date": yesterday.to_string(),
            "incident_time": "21:30:00",
            "description": format!("realtime bench case {i}"),
            "location": {"address": "Kibera, Nairobi", "description": "near the market"},
            "support_services": ["medical", "counseling"],
        }),
    )
    .await;
    let incident_id = incident["id"].as_str().expect("incident id").to_owned();
    let provider = i % providers.len();
    post(
        http,
        format!("{base}/api/dispatch/cases/{incident_id}/assign/"),
        Some(dispatcher),
        json!({"provider_ids": [providers[provider].1]}),
    )
    .await;
    let resp = retrying(|| {
        http.patch(format!("{base}/api/incidents/{incident_id}/accept/"))
            .bearer_auth(&providers[provider].0)
            .json(&json!({}))
    })
    .await;
    assert!(resp.status().is_success(), "accept: {}", resp.status());
    let rooms: Value = http
        .get(format!("{base}/api/chat/rooms/"))
        .bearer_auth(&survivor_token)
        .send()
        .await
        .expect("rooms")
        .json()
        .await
        .expect("rooms body");
    let id = rooms["results"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["incident"].as_str() == Some(&incident_id))
        .and_then(|r| r["id"].as_str())
        .expect("the case room")
        .to_owned();
    Room {
        id,
        survivor_token,
        provider,
    }
}

// ---------------------------------------------------------------------------------------------
// Sockets.

/// Counters shared by every socket of the client.
#[derive(Default)]
struct Stats {
    /// Acks of latency-phase sends, and their send→ack times (µs).
    l_acks: AtomicU64,
    l_ack_us: Mutex<Vec<u64>>,
    /// `new_message` of latency-phase sends received by the other member, and send→receipt (µs).
    l_delivered: AtomicU64,
    l_us: Mutex<Vec<(u64, u64)>>,
    /// Throughput phase: acks, frames to the other member, frames back to the sender's socket.
    t_acks: AtomicU64,
    t_delivered: AtomicU64,
    t_echoed: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
}

/// One open socket, served by its own task.
struct Conn {
    out: mpsc::UnboundedSender<String>,
    /// Frames the sender may still have in flight; each ack or error gives one back.
    window: Arc<Semaphore>,
    task: JoinHandle<()>,
}

async fn connect(
    ws_url: &str,
    token: &str,
    stats: Arc<Stats>,
    base: Instant,
    window: usize,
) -> Result<Conn, String> {
    let url = format!("{ws_url}/ws/?token={token}");
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| e.to_string())?;
    let first = tokio::time::timeout(Duration::from_secs(60), ws.next())
        .await
        .map_err(|_| "no first frame within 60 s".to_owned())?;
    let user = match first {
        Some(Ok(Message::Text(t))) => {
            let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
            if v["type"] != "connection_established" {
                return Err(format!("first frame: {t}"));
            }
            v["data"]["user_id"].as_str().unwrap_or("").to_owned()
        }
        other => return Err(format!("first frame: {other:?}")),
    };
    let (out, mut rx) = mpsc::unbounded_channel::<String>();
    let window = Arc::new(Semaphore::new(window));
    let permits = window.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(text) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            stats.closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                    None => {
                        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                        break;
                    }
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => on_frame(t.as_str(), &user, &stats, &permits, base),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        stats.closed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                },
            }
        }
    });
    Ok(Conn { out, window, task })
}

/// `content` of a bench message: a phase letter and the send time in µs since `base`.
fn sent_at(content: Option<&str>) -> Option<(char, u64)> {
    let c = content?;
    let (phase, rest) = c.split_once(' ')?;
    let us = rest.split(' ').next()?.parse().ok()?;
    Some((phase.chars().next()?, us))
}

fn on_frame(text: &str, user: &str, stats: &Stats, window: &Semaphore, base: Instant) {
    let now = base.elapsed().as_micros() as u64;
    // Only acks, errors and new messages matter; skip parsing the rest.
    let kind = if text.starts_with(r#"{"type":"new_message""#) {
        1
    } else if text.starts_with(r#"{"type":"ack""#) {
        2
    } else if text.starts_with(r#"{"type":"error""#) {
        3
    } else {
        0
    };
    if kind == 0 {
        return;
    }
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return,
    };
    match kind {
        1 => {
            let mine = v["data"]["sender"]["id"].as_str() == Some(user);
            match sent_at(v["data"]["content"].as_str()) {
                Some(('L', at)) if !mine => {
                    stats.l_delivered.fetch_add(1, Ordering::Relaxed);
                    stats
                        .l_us
                        .lock()
                        .expect("lock")
                        .push((at, now.saturating_sub(at)));
                }
                Some(('T', _)) if !mine => {
                    stats.t_delivered.fetch_add(1, Ordering::Relaxed);
                }
                Some(('T', _)) => {
                    stats.t_echoed.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        2 => {
            window.add_permits(1);
            match sent_at(v["data"]["result"]["content"].as_str()) {
                Some(('L', at)) => {
                    stats.l_acks.fetch_add(1, Ordering::Relaxed);
                    stats
                        .l_ack_us
                        .lock()
                        .expect("lock")
                        .push(now.saturating_sub(at));
                }
                Some(('T', _)) => {
                    stats.t_acks.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        _ => {
            window.add_permits(1);
            let n = stats.errors.fetch_add(1, Ordering::Relaxed);
            if n < 5 {
                eprintln!("error frame: {text}");
            }
        }
    }
}

fn send_frame(room: &str, phase: char, n: u64, base: Instant) -> String {
    let us = base.elapsed().as_micros() as u64;
    json!({
        "type": "send_message",
        "data": {"room": room, "content": format!("{phase} {us} bench message"), "client_id": format!("{phase}{n}")},
        "ref": n.to_string(),
    })
    .to_string()
}

/// Opens `n` sockets with the given tokens in turn, `CONNECT_CONCURRENCY` handshakes at once.
/// Returns the open ones, the failures (with the first error) and the time it took.
async fn open_many(
    ws_url: &str,
    tokens: &[String],
    n: usize,
    stats: &Arc<Stats>,
    base: Instant,
) -> (Vec<Conn>, usize, Option<String>, Duration) {
    let started = Instant::now();
    let results: Vec<Result<Conn, String>> = futures::stream::iter(0..n)
        .map(|i| connect(ws_url, &tokens[i % tokens.len()], stats.clone(), base, 1))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let mut conns = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first_error = None;
    for r in results {
        match r {
            Ok(c) => conns.push(c),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    (conns, failed, first_error, started.elapsed())
}

/// Closes the sockets and waits for their tasks.
async fn close_all(conns: Vec<Conn>) {
    let mut tasks = Vec::with_capacity(conns.len());
    for c in conns {
        drop(c.out);
        tasks.push(c.task);
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
}

/// Waits until the server holds at most `fds` descriptors (closed sockets released).
async fn wait_fds(pid: &str, fds: usize) {
    let started = Instant::now();
    while open_fds(pid) > fds && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

#[derive(Default)]
struct Results {
    backend: &'static str,
    server_fd_limit: (usize, usize),
    client_fd_limit: (usize, usize),
    idle_target: usize,
    idle_attempted: usize,
    idle_held: usize,
    idle_failed: usize,
    idle_first_error: Option<String>,
    idle_open_secs: f64,
    rss_start_kb: u64,
    rss_before_kb: u64,
    rss_after_kb: u64,
    client_rss_delta_kb: u64,
    clients: usize,
    rooms: usize,
    rss_clients_kb: u64,
    sent_l: usize,
    rate: f64,
    lat: Vec<u64>,
    /// Stalls in the latency phase: (start µs after the phase began, longest latency µs,
    /// messages delayed past `STALL_US`).
    stalls: Vec<(u64, u64, usize)>,
    /// The busiest server thread during the throughput phase: name and cores used.
    busiest_thread: (String, f64),
    ack_lat: Vec<u64>,
    l_delivered: u64,
    tput_secs: f64,
    t_sent: u64,
    t_acks: u64,
    t_delivered: u64,
    t_echoed: u64,
    window: usize,
    server_cpu: f64,
    client_cpu: f64,
    errors: u64,
    closed: u64,
    log_problems: Vec<String>,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

impl Results {
    fn print(&self) {
        let r = self;
        println!("[{}]", r.backend);
        println!(
            "  open-files limit: server {} soft / {} hard, client {} soft / {} hard",
            r.server_fd_limit.0, r.server_fd_limit.1, r.client_fd_limit.0, r.client_fd_limit.1
        );
        let per = if r.idle_held > 0 {
            r.rss_after_kb.saturating_sub(r.rss_before_kb) as f64 / r.idle_held as f64
        } else {
            f64::NAN
        };
        println!(
            "  idle sockets: {} held of {} target ({} attempted, capped by the open-files limit{}), \
             opened in {:.1} s ({:.0}/s)",
            r.idle_held,
            r.idle_target,
            r.idle_attempted,
            if r.idle_failed > 0 {
                format!(
                    "; {} failed: {}",
                    r.idle_failed,
                    r.idle_first_error.as_deref().unwrap_or("")
                )
            } else {
                String::new()
            },
            r.idle_open_secs,
            r.idle_held as f64 / r.idle_open_secs.max(1e-9)
        );
        println!(
            "  server RSS: {:.1} MB at start, {:.1} MB after setup (before the sockets), \
             {:.1} MB with them: {:.1} KB per socket \
             (client side {:.1} KB per socket)",
            r.rss_start_kb as f64 / 1024.0,
            r.rss_before_kb as f64 / 1024.0,
            r.rss_after_kb as f64 / 1024.0,
            per,
            r.client_rss_delta_kb as f64 / r.idle_held.max(1) as f64
        );
        let mut lat = r.lat.clone();
        lat.sort_unstable();
        let mut ack = r.ack_lat.clone();
        ack.sort_unstable();
        println!(
            "  latency, {} clients ({} rooms), {} messages at {:.0}/s: send->new_message \
             p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} delivered); send->ack p50 {:.2} ms, \
             p99 {:.2} ms, max {:.2} ms; server RSS {:.1} MB",
            r.clients,
            r.rooms,
            r.sent_l,
            r.rate,
            pct(&lat, 50.0),
            pct(&lat, 99.0),
            pct(&lat, 100.0),
            r.l_delivered,
            pct(&ack, 50.0),
            pct(&ack, 99.0),
            pct(&ack, 100.0),
            r.rss_clients_kb as f64 / 1024.0,
        );
        let secs = r.tput_secs.max(1e-9);
        println!(
            "  throughput, {} sender sockets x {} in flight, {:.1} s: {:.0} messages/s persisted \
             (acked), {:.0}/s new_message delivered to the other member (+{:.0}/s echoed to \
             the sender's socket); {} sent, {} acked, {} delivered",
            r.rooms,
            r.window,
            secs,
            r.t_acks as f64 / secs,
            r.t_delivered as f64 / secs,
            r.t_echoed as f64 / secs,
            r.t_sent,
            r.t_acks,
            r.t_delivered,
        );
        println!(
            "  CPU during throughput: server {:.2} cores, bench client {:.2} cores (same machine, {} cores)",
            r.server_cpu / secs,
            r.client_cpu / secs,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        println!(
            "  busiest server thread during throughput: {} at {:.2} cores",
            r.busiest_thread.0, r.busiest_thread.1
        );
        let stalled: usize = r.stalls.iter().map(|s| s.2).sum();
        let at: Vec<String> = r
            .stalls
            .iter()
            .take(12)
            .map(|s| {
                format!(
                    "{:.2} s (for {:.0} ms)",
                    s.0 as f64 / 1e6,
                    s.1 as f64 / 1000.0
                )
            })
            .collect();
        println!(
            "  latency stalls (deliveries over {} ms; time into the phase and how long until the \
             last delayed message arrived): {} stall(s) delaying {} message(s){}{}",
            STALL_US / 1000,
            r.stalls.len(),
            stalled,
            if at.is_empty() { "" } else { "; at " },
            at.join(", ")
        );
        println!(
            "  error frames {}, sockets closed by the server {}, server log warnings/errors {}",
            r.errors,
            r.closed,
            r.log_problems.len()
        );
        for l in r.log_problems.iter().take(5) {
            println!("    log: {l}");
        }
    }
}

async fn run(o: &Options, backend: &'static str, database_url: Option<String>) -> Results {
    println!("--- {backend} ---");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let server = start_server(&http, database_url.as_deref()).await;
    let pid = server.pid.to_string();
    let base_url = server.http_url.clone();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut r = Results {
        backend,
        idle_target: o.idle_target,
        clients: o.clients,
        rooms: o.rooms,
        rate: o.rate,
        window: o.window,
        server_fd_limit: open_files_limit(&pid),
        client_fd_limit: open_files_limit("self"),
        ..Default::default()
    };

    r.rss_start_kb = rss_kb(server.pid);
    // Setup: sessions and case rooms, over the API.
    let t = Instant::now();
    let (dispatcher, _) = login(&http, &base_url, "dispatcher@kintara.test", DEMO_PASSWORD).await;
    let mut providers = Vec::new();
    for p in PROVIDERS {
        providers.push(
            login(
                &http,
                &base_url,
                &format!("{p}@kintara.test"),
                DEMO_PASSWORD,
            )
            .await,
        );
    }
    let idle_tokens: Vec<String> = futures::stream::iter(0..IDLE_SESSIONS)
        .map(|_| async {
            login(&http, &base_url, "dispatcher@kintara.test", DEMO_PASSWORD)
                .await
                .0
        })
        .buffer_unordered(4)
        .collect()
        .await;
    // Sequential: the dispatcher's assignments and the providers' case loads stay simple.
    let rooms: Vec<Room> = futures::stream::iter(0..o.rooms)
        .map(|i| setup_room(&http, &base_url, &run_id, i, &dispatcher, &providers))
        .buffer_unordered(4)
        .collect()
        .await;
    println!(
        "setup: {} case rooms, {} provider and {} idle sessions in {:.1} s",
        rooms.len(),
        providers.len(),
        idle_tokens.len(),
        t.elapsed().as_secs_f64()
    );

    let base = Instant::now();
    let stats = Arc::new(Stats::default());

    // 1. Idle sockets.
    let server_fds = open_fds(&pid);
    let client_fds = open_fds("self");
    let by_server = r.server_fd_limit.0.saturating_sub(server_fds + FD_MARGIN);
    let by_client = r.client_fd_limit.0.saturating_sub(client_fds + FD_MARGIN);
    let n = o.idle_target.min(by_server).min(by_client);
    r.idle_attempted = n;
    println!(
        "idle: target {}, the open-files limits allow {} (server {} soft, {} open; client {} soft, \
         {} open)",
        o.idle_target, n, r.server_fd_limit.0, server_fds, r.client_fd_limit.0, client_fds
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    r.rss_before_kb = rss_kb(server.pid);
    let client_before = rss_kb(std::process::id());
    let (conns, failed, first_error, took) =
        open_many(&server.ws_url, &idle_tokens, n, &stats, base).await;
    r.idle_held = conns.len();
    r.idle_failed = failed;
    r.idle_first_error = first_error;
    r.idle_open_secs = took.as_secs_f64();
    // Let the connections settle (first rechecks are spread over a minute; this is their idle
    // state, not a peak).
    tokio::time::sleep(Duration::from_secs(3)).await;
    r.rss_after_kb = rss_kb(server.pid);
    r.client_rss_delta_kb = rss_kb(std::process::id()).saturating_sub(client_before);
    let still_open = conns.iter().filter(|c| !c.task.is_finished()).count();
    println!(
        "idle: {} held ({} still open after 3 s), {} failed, {:.1} s; server RSS {} -> {} KB",
        r.idle_held, still_open, failed, r.idle_open_secs, r.rss_before_kb, r.rss_after_kb
    );
    close_all(conns).await;
    wait_fds(&pid, server_fds + 10).await;

    // 2. Latency with `clients` sockets: one per survivor (receiving), one per provider
    //    (sending), the rest idle dispatcher sessions.
    let mut survivor_conns = Vec::new();
    for room in &rooms {
        survivor_conns.push(
            connect(
                &server.ws_url,
                &room.survivor_token,
                stats.clone(),
                base,
                o.window,
            )
            .await
            .expect("survivor socket"),
        );
    }
    let mut provider_conns = Vec::new();
    for (token, _) in &providers {
        provider_conns.push(
            connect(&server.ws_url, token, stats.clone(), base, o.window)
                .await
                .expect("provider socket"),
        );
    }
    let idle_n = o.clients - survivor_conns.len() - provider_conns.len();
    let (idle, idle_failed, idle_err, _) =
        open_many(&server.ws_url, &idle_tokens, idle_n, &stats, base).await;
    assert_eq!(idle_failed, 0, "idle sockets failed: {idle_err:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    r.rss_clients_kb = rss_kb(server.pid);
    println!(
        "latency: {} sockets open; sending {} messages at {:.0}/s",
        survivor_conns.len() + provider_conns.len() + idle.len(),
        o.messages,
        o.rate
    );
    let started = Instant::now();
    for i in 0..o.messages {
        let due = started + Duration::from_secs_f64(i as f64 / o.rate);
        tokio::time::sleep_until(due.into()).await;
        let room = &rooms[i % rooms.len()];
        let frame = send_frame(&room.id, 'L', i as u64, base);
        let _ = provider_conns[room.provider].out.send(frame);
    }
    r.sent_l = o.messages;
    let deadline = Instant::now() + Duration::from_secs(30);
    while (stats.l_delivered.load(Ordering::Relaxed) < o.messages as u64
        || stats.l_acks.load(Ordering::Relaxed) < o.messages as u64)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    r.l_delivered = stats.l_delivered.load(Ordering::Relaxed);
    let mut samples = std::mem::take(&mut *stats.l_us.lock().expect("lock"));
    samples.sort_unstable();
    let phase_start = samples.first().map(|s| s.0).unwrap_or(0);
    for &(at, us) in &samples {
        if us < STALL_US {
            continue;
        }
        match r.stalls.last_mut() {
            // Part of the same stall if sent while the previous one was still waiting.
            Some(last) if at <= phase_start + last.0 + last.1 => {
                last.1 = last.1.max(at - phase_start - last.0 + us);
                last.2 += 1;
            }
            _ => r.stalls.push((at - phase_start, us, 1)),
        }
    }
    r.lat = samples.into_iter().map(|s| s.1).collect();
    r.ack_lat = std::mem::take(&mut *stats.l_ack_us.lock().expect("lock"));

    // 3. Throughput: every survivor sends in its room, `window` frames in flight each.
    println!(
        "throughput: {} senders x {} in flight for {:.0} s",
        rooms.len(),
        o.window,
        o.seconds
    );
    let sent = Arc::new(AtomicU64::new(0));
    let server_cpu0 = cpu_secs(&pid);
    let threads0 = thread_cpu(&pid);
    let client_cpu0 = cpu_secs("self");
    let started = Instant::now();
    let stop = started + Duration::from_secs_f64(o.seconds);
    let mut senders = Vec::new();
    for (room, conn) in rooms.iter().zip(&survivor_conns) {
        let window = conn.window.clone();
        let out = conn.out.clone();
        let room = room.id.clone();
        let sent = sent.clone();
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < stop {
                let Ok(permit) =
                    tokio::time::timeout_at(stop.into(), window.clone().acquire_owned()).await
                else {
                    break;
                };
                permit.expect("semaphore open").forget();
                n += 1;
                if out.send(send_frame(&room, 'T', n, base)).is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for s in senders {
        let _ = s.await;
    }
    let t_sent = sent.load(Ordering::Relaxed);
    // Drain what is in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while (stats.t_acks.load(Ordering::Relaxed) < t_sent
        || stats.t_delivered.load(Ordering::Relaxed) < stats.t_acks.load(Ordering::Relaxed))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    r.tput_secs = started.elapsed().as_secs_f64();
    r.server_cpu = cpu_secs(&pid) - server_cpu0;
    for (tid, (name, secs)) in thread_cpu(&pid) {
        let used = (secs - threads0.get(&tid).map(|t| t.1).unwrap_or(0.0)) / r.tput_secs;
        if used > r.busiest_thread.1 {
            r.busiest_thread = (format!("{name} ({tid})"), used);
        }
    }
    r.client_cpu = cpu_secs("self") - client_cpu0;
    r.t_sent = t_sent;
    r.t_acks = stats.t_acks.load(Ordering::Relaxed);
    r.t_delivered = stats.t_delivered.load(Ordering::Relaxed);
    r.t_echoed = stats.t_echoed.load(Ordering::Relaxed);
    r.errors = stats.errors.load(Ordering::Relaxed);
    r.closed = stats.closed.load(Ordering::Relaxed);

    close_all(survivor_conns).await;
    close_all(provider_conns).await;
    close_all(idle).await;
    r.log_problems = std::fs::read_to_string(&server.log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .map(str::to_owned)
        .collect();
    drop(server);
    r.print();
    r
}
