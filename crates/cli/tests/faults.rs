//! Fault injection through the `kintara` command-line client: real server processes killed with
//! SIGKILL and restarted on the same port and data directory, real client processes that exit
//! with work still queued. What is asserted is what a user would notice: every message and
//! report arrives once, in order, and nothing is left stuck.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const DEMO_PASSWORD: &str = "kintara-demo";

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// `kintara-server`, built by the same `cargo test` next to this package's binaries.
fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/.. has a parent");
    let bin = dir.join("kintara-server");
    assert!(
        bin.exists(),
        "kintara-server not found at {}: run with -p kintara-server so cargo builds it",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// One server: its data directory and port survive kills and restarts; the process is killed
/// when this is dropped.
struct Server {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
    starts: usize,
}

impl Server {
    async fn start() -> Server {
        let mut s = Server {
            port: free_port(),
            dir: tempfile::tempdir().expect("server dir"),
            child: None,
            starts: 0,
        };
        s.restart().await;
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process (again) on the same port and data directory, and waits until it
    /// answers.
    async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        self.starts += 1;
        let log =
            std::fs::File::create(self.dir.path().join(format!("server-{}.log", self.starts)))
                .expect("server log");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let child = Command::new(server_bin())
                .arg("--bind")
                .arg(format!("127.0.0.1:{}", self.port))
                .arg("--data-dir")
                .arg(self.dir.path().join("data"))
                .arg("--demo")
                // Two clients exchanging thousands of messages at machine speed: the faults are
                // under test here, not the rate limits (crates/server/tests/limits.rs).
                .arg("--rate-limits")
                .arg("off")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log.try_clone().expect("log"))
                .kill_on_drop(true)
                .spawn()
                .expect("spawn kintara-server");
            self.child = Some(child);
            let http = http();
            loop {
                let up = http
                    .get(format!("{}/api/auth/me/", self.url()))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok();
                if up {
                    return;
                }
                let exited = self
                    .child
                    .as_mut()
                    .expect("child")
                    .try_wait()
                    .expect("try_wait");
                if let Some(status) = exited {
                    // The port may still be held for a moment after a kill: try again.
                    self.child = None;
                    assert!(
                        Instant::now() < deadline,
                        "kintara-server exited with {status} and did not come back:\n{}",
                        self.logs()
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "kintara-server did not answer on {} within 30 s:\n{}",
                    self.url(),
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// SIGKILL: no shutdown, no flush, exactly like a crash or a pulled plug.
    async fn kill9(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        child.kill().await.expect("SIGKILL the server");
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for i in 1..=self.starts {
            let p = self.dir.path().join(format!("server-{i}.log"));
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let tail: String = text
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            out.push_str(&format!("--- server run {i} ---\n{tail}\n"));
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

// ---------------------------------------------------------------------------------------------
// Setup and checks over plain HTTP
// ---------------------------------------------------------------------------------------------

struct Account {
    id: String,
    access: String,
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &Server) -> Api {
        Api {
            base: server.url(),
            http: http(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        want: u16,
    ) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path))
            .timeout(Duration::from_secs(30));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, want, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn login(&self, who: &str) -> Account {
        let v = self
            .call(
                reqwest::Method::POST,
                "/api/auth/login/",
                None,
                Some(&json!({"email": format!("{who}@kintara.test"), "password": DEMO_PASSWORD})),
                200,
            )
            .await;
        Account {
            id: v["user"]["id"].as_str().expect("user id").to_owned(),
            access: v["tokens"]["access"].as_str().expect("access").to_owned(),
        }
    }

    async fn report(&self, survivor: &Account, description: &str) -> String {
        let date = (chrono::Utc::now() - chrono::Duration::days(1))
            .date_naive()
            .to_string();
        let v = self
            .call(
                reqwest::Method::POST,
                "/api/incidents/",
                Some(&survivor.access),
                Some(&json!({
                    "type": "physical",
                    "incident_date": date,
                    "incident_time": "21:30:00",
                    "description": description,
                    "location": {"address": "Kibera, Nairobi", "description": "near the market"},
                    "support_services": ["medical", "counseling"],
                })),
                201,
            )
            .await;
        v["id"].as_str().expect("incident id").to_owned()
    }

    async fn assign(&self, dispatcher: &Account, incident: &str, provider: &Account) {
        self.call(
            reqwest::Method::POST,
            &format!("/api/dispatch/cases/{incident}/assign/"),
            Some(&dispatcher.access),
            Some(&json!({ "provider_ids": [provider.id] })),
            200,
        )
        .await;
    }

    async fn accept(&self, provider: &Account, incident: &str) {
        self.call(
            reqwest::Method::PATCH,
            &format!("/api/incidents/{incident}/accept/"),
            Some(&provider.access),
            Some(&json!({})),
            200,
        )
        .await;
    }

    async fn room_of(&self, who: &Account, incident: &str) -> String {
        let v = self
            .call(
                reqwest::Method::GET,
                "/api/chat/rooms/",
                Some(&who.access),
                None,
                200,
            )
            .await;
        v["results"]
            .as_array()
            .expect("rooms")
            .iter()
            .find(|r| r["incident"] == json!(incident))
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("no room for incident {incident}: {v}"))
            .to_owned()
    }

    /// Every message of the room, oldest first, following the pages.
    async fn messages(&self, who: &Account, room: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = "0".to_owned();
        loop {
            let v = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/chat/messages/?room_id={room}&limit=200&after={after}"),
                    Some(&who.access),
                    None,
                    200,
                )
                .await;
            let page = v["results"].as_array().expect("results").clone();
            out.extend(page);
            match v["next_cursor"].as_str() {
                Some(c) => after = c.to_owned(),
                None => return out,
            }
        }
    }

    async fn incident(&self, who: &Account, id: &str) -> Value {
        self.call(
            reqwest::Method::GET,
            &format!("/api/incidents/{id}/"),
            Some(&who.access),
            None,
            200,
        )
        .await
    }

    async fn incidents(&self, who: &Account) -> Vec<Value> {
        let v = self
            .call(
                reqwest::Method::GET,
                "/api/incidents/",
                Some(&who.access),
                None,
                200,
            )
            .await;
        match v {
            Value::Array(a) => a,
            other => other["results"].as_array().expect("incident list").clone(),
        }
    }
}

/// The demo cast and a case room between the survivor and the healthcare provider.
struct World {
    api: Api,
    survivor: Account,
    dispatcher: Account,
    provider: Account,
    room: String,
}

impl World {
    async fn new(server: &Server) -> World {
        let api = Api::new(server);
        let survivor = api.login("survivor").await;
        let dispatcher = api.login("dispatcher").await;
        let provider = api.login("healthcare").await;
        let incident = api.report(&survivor, "fault test case").await;
        api.assign(&dispatcher, &incident, &provider).await;
        api.accept(&provider, &incident).await;
        let room = api.room_of(&survivor, &incident).await;
        World {
            api,
            survivor,
            dispatcher,
            provider,
            room,
        }
    }

    /// The user messages of the room by sender id, in the room's order.
    async fn user_messages(&self) -> Vec<(String, String)> {
        self.api
            .messages(&self.survivor, &self.room)
            .await
            .into_iter()
            .filter(|m| m["message_type"] == json!("user_message"))
            .map(|m| {
                (
                    m["sender"]["id"].as_str().unwrap_or("").to_owned(),
                    m["content"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The CLI process
// ---------------------------------------------------------------------------------------------

/// One person's `kintara` client: its own data directory.
struct Kintara {
    dir: TempDir,
    server: String,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Kintara {
    async fn login(server: &Server, who: &str) -> Kintara {
        let k = Kintara {
            dir: tempfile::tempdir().expect("cli dir"),
            server: server.url(),
        };
        let out = k
            .run(
                &["login", "--email", &format!("{who}@kintara.test")],
                None,
                30,
            )
            .await;
        assert_eq!(out.code, 0, "kintara login {who}: {}", out.stderr);
        k
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kintara"));
        c.arg("--server")
            .arg(&self.server)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env("KINTARA_PASSWORD", DEMO_PASSWORD)
            // No OS keystore here: the device key goes under this PIN (tests/keystore.rs has one).
            .env("KINTARA_PIN", "135790")
            .env_remove("KINTARA_SERVER")
            .env_remove("KINTARA_CLI_DIR")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .kill_on_drop(true);
        c
    }

    /// Starts one command with its output captured (and a pipe for its input, if it gets any).
    fn start(&self, args: &[&str], with_stdin: bool) -> tokio::process::Child {
        self.command(args)
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kintara")
    }

    /// Runs one command to the end (killed and failed after `secs`).
    async fn run(&self, args: &[&str], stdin: Option<String>, secs: u64) -> Out {
        let child = self.start(args, stdin.is_some());
        wait_out(child, stdin, args, secs).await
    }

    fn spawn(&self, args: &[&str], stdin: Option<String>) -> tokio::task::JoinHandle<Out> {
        let child = self.start(args, stdin.is_some());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::spawn(async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            wait_out(child, stdin, &args, 1000).await
        })
    }

    /// `kintara flush` until everything is delivered.
    async fn flush_until_empty(&self, who: &str) {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let out = self.run(&["flush", "--wait", "60"], None, 90).await;
            if out.code == 0 {
                return;
            }
            assert_eq!(out.code, 3, "kintara flush ({who}): {}", out.stderr);
            assert!(
                Instant::now() < deadline,
                "{who}'s outbox still not empty after 600 s: {}\n{}",
                out.stderr,
                self.run(&["outbox"], None, 30).await.stdout
            );
        }
    }

    async fn outbox(&self) -> Vec<String> {
        let out = self.run(&["outbox"], None, 30).await;
        assert_eq!(out.code, 0, "kintara outbox: {}", out.stderr);
        out.stdout.lines().map(str::to_owned).collect()
    }

    /// `kintara tail` in the background; its `new_message` contents land in the returned list
    /// as they come.
    fn tail(&self, args: &[&str]) -> Tail {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kintara tail");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let err = Arc::new(Mutex::new(String::new()));
        let (s, c) = (seen.clone(), count.clone());
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("tail printed a non-JSON line {line:?}: {e}"));
                if v["type"] == json!("new_message") {
                    s.lock()
                        .unwrap()
                        .push(v["data"]["content"].as_str().unwrap_or("").to_owned());
                    c.fetch_add(1, Ordering::SeqCst);
                } else if v["type"] == json!("resync_required") {
                    s.lock().unwrap().push("<resync_required>".into());
                }
            }
        });
        let e = err.clone();
        let err_reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut e = e.lock().unwrap();
                e.push_str(&line);
                e.push('\n');
            }
        });
        Tail {
            child,
            seen,
            count,
            err,
            readers: vec![reader, err_reader],
        }
    }
}

async fn wait_out(mut child: Child, stdin: Option<String>, args: &[&str], secs: u64) -> Out {
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        tokio::spawn(async move {
            let _ = pipe.write_all(input.as_bytes()).await;
            drop(pipe);
        });
    }
    match tokio::time::timeout(Duration::from_secs(secs), child.wait_with_output()).await {
        Ok(Ok(o)) => Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("kintara {args:?}: {e}"),
        // kill_on_drop ends the process.
        Err(_) => panic!("kintara {args:?} did not finish within {secs} s"),
    }
}

struct Tail {
    child: Child,
    seen: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
    err: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Tail {
    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits for the tail to stop by itself and returns what it printed.
    async fn finish(mut self, who: &str, secs: u64) -> Vec<String> {
        let status = match tokio::time::timeout(Duration::from_secs(secs), self.child.wait()).await
        {
            Ok(s) => s.expect("wait for tail"),
            Err(_) => {
                let _ = self.child.kill().await;
                panic!(
                    "{who}'s tail did not stop within {secs} s; it saw {} messages; stderr:\n{}",
                    self.count(),
                    self.err.lock().unwrap()
                );
            }
        };
        for r in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
        }
        assert!(
            status.success(),
            "{who}'s tail exited with {status}: {}",
            self.err.lock().unwrap()
        );
        self.seen.lock().unwrap().clone()
    }
}

fn lines(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i:04}")).collect()
}

/// What is wrong with `got` as a copy of `want` (each once, in order), if anything.
fn exactly_once_in_order(got: &[String], want: &[String]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let mut counts = std::collections::HashMap::<&str, usize>::new();
    for g in got {
        *counts.entry(g.as_str()).or_default() += 1;
    }
    let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(10).collect();
    let missing: Vec<_> = want
        .iter()
        .filter(|w| !counts.contains_key(w.as_str()))
        .take(10)
        .collect();
    let first_diff = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Err(format!(
        "got {} want {}; duplicates (first 10) {dups:?}; missing (first 10) {missing:?}; \
         first difference at index {first_diff}: got {:?} want {:?}",
        got.len(),
        want.len(),
        got.get(first_diff),
        want.get(first_diff)
    ))
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// Messages per side in the kill -9 test: 2 x 1 000 = 2 000, about 50 s in a debug build (it
/// took 8 minutes before the outbox stopped re-reading its whole queue per delivery).
const N: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_while_two_clients_exchange_2000_messages_loses_and_repeats_nothing() {
    // KINTARA_FAULT_MESSAGES overrides the number per side (for measuring).
    let n_per_side: usize = std::env::var("KINTARA_FAULT_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(N);
    // Every wait scales with the run (the outbox costs grow with its length, see the report).
    let budget: u64 = if n_per_side <= 500 { 300 } else { 900 };
    let budget_s = budget.to_string();
    let started = Instant::now();
    let mut server = Server::start().await;
    let w = World::new(&server).await;
    let survivor = Kintara::login(&server, "survivor").await;
    let provider = Kintara::login(&server, "healthcare").await;

    let n = n_per_side.to_string();
    let tail_args = ["tail", "--messages", &n, "--timeout", &budget_s];
    let s_tail = survivor.tail(&tail_args);
    let p_tail = provider.tail(&tail_args);

    let s_lines = lines("s", n_per_side);
    let p_lines = lines("p", n_per_side);
    let s_send = survivor.spawn(
        &["send", &w.room, "-", "--wait", &budget_s],
        Some(s_lines.join("\n") + "\n"),
    );
    let p_send = provider.spawn(
        &["send", &w.room, "-", "--wait", &budget_s],
        Some(p_lines.join("\n") + "\n"),
    );

    // Crash the server once about a fifth of the messages have gone through.
    let wait_for = 2 * n_per_side / 5;
    let deadline = Instant::now() + Duration::from_secs(budget);
    while s_tail.count() + p_tail.count() < wait_for {
        assert!(
            Instant::now() < deadline,
            "only {} + {} messages seen before the kill; tails' stderr:\n{}\n{}",
            s_tail.count(),
            p_tail.count(),
            s_tail.err.lock().unwrap(),
            p_tail.err.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_kill = (s_tail.count(), p_tail.count());
    server.kill9().await;
    let killed_at = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.restart().await;

    // The senders either finish or leave the rest queued for `flush`.
    for (who, send, k) in [
        ("survivor", s_send, &survivor),
        ("provider", p_send, &provider),
    ] {
        let out = send.await.expect("sender task");
        assert!(
            out.code == 0 || out.code == 3,
            "{who}'s send exited with {}: {}",
            out.code,
            out.stderr
        );
        if out.code == 3 {
            k.flush_until_empty(who).await;
        }
    }
    let sent_at = started.elapsed();

    let s_seen = s_tail.finish("survivor", budget + 20).await;
    let p_seen = p_tail.finish("provider", budget + 20).await;
    let done_at = started.elapsed();
    let timing = format!(
        "killed at {killed_at:?} after {at_kill:?} seen; all sent by {sent_at:?}; tails ended by \
         {done_at:?}; tail timeout {budget} s"
    );
    if let Err(e) = exactly_once_in_order(&s_seen, &p_lines) {
        panic!("the survivor's tail: {e} ({timing})");
    }
    if let Err(e) = exactly_once_in_order(&p_seen, &s_lines) {
        panic!("the provider's tail: {e} ({timing})");
    }

    // The server kept each message once, each sender's in the order typed.
    let stored = w.user_messages().await;
    assert_eq!(
        stored.len(),
        2 * n_per_side,
        "user messages stored in the room"
    );
    let of = |id: &str| -> Vec<String> {
        stored
            .iter()
            .filter(|(s, _)| s == id)
            .map(|(_, c)| c.clone())
            .collect()
    };
    if let Err(e) = exactly_once_in_order(&of(&w.survivor.id), &s_lines) {
        panic!("the survivor's messages on the server: {e}");
    }
    if let Err(e) = exactly_once_in_order(&of(&w.provider.id), &p_lines) {
        panic!("the provider's messages on the server: {e}");
    }
    assert!(survivor.outbox().await.is_empty());
    assert!(provider.outbox().await.is_empty());
    eprintln!("2x{n_per_side} messages: {timing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_actions_queued_offline_are_applied_once_after_a_client_restart() {
    let mut server = Server::start().await;
    let w = World::new(&server).await;
    let second = w.api.report(&w.survivor, "second case, offered").await;
    w.api.assign(&w.dispatcher, &second, &w.provider).await;
    let survivor = Kintara::login(&server, "survivor").await;
    let provider = Kintara::login(&server, "healthcare").await;
    let reports_before = w.api.incidents(&w.survivor).await.len();
    server.kill9().await;

    // Offline: 98 messages, one report, one accept. Each client exits with them queued.
    let texts = lines("offline", 98);
    let out = survivor
        .run(
            &["send", &w.room, "-", "--wait", "2"],
            Some(texts.join("\n") + "\n"),
            30,
        )
        .await;
    assert_eq!(out.code, 3, "send while offline: {}", out.stderr);
    let description = format!("offline report {}", uuid::Uuid::new_v4());
    let out = survivor
        .run(
            &["report", "--description", &description, "--wait", "1"],
            None,
            30,
        )
        .await;
    assert_eq!(out.code, 3, "report while offline: {}", out.stderr);
    let out = provider
        .run(&["accept", &second, "--wait", "1"], None, 30)
        .await;
    assert_eq!(out.code, 3, "accept while offline: {}", out.stderr);
    let s_queued = survivor.outbox().await;
    let p_queued = provider.outbox().await;
    assert_eq!(s_queued.len(), 99, "the survivor's outbox: {s_queued:#?}");
    assert_eq!(p_queued.len(), 1, "the provider's outbox: {p_queued:#?}");
    assert!(
        s_queued
            .iter()
            .chain(&p_queued)
            .all(|l| !l.contains("Failed")),
        "nothing failed while offline: {s_queued:#?} {p_queued:#?}"
    );

    // Back online: new client processes deliver everything.
    server.restart().await;
    for (who, k) in [("survivor", &survivor), ("provider", &provider)] {
        let out = k.run(&["flush", "--wait", "60"], None, 90).await;
        assert_eq!(out.code, 0, "{who}'s flush: {}", out.stderr);
        assert!(k.outbox().await.is_empty(), "{who}'s outbox after flush");
    }
    // A second flush has nothing left to send again.
    let out = survivor.run(&["flush", "--wait", "5"], None, 30).await;
    assert_eq!(out.code, 0, "second flush: {}", out.stderr);

    let stored: Vec<String> = w
        .user_messages()
        .await
        .into_iter()
        .filter(|(s, _)| *s == w.survivor.id)
        .map(|(_, c)| c)
        .collect();
    if let Err(e) = exactly_once_in_order(&stored, &texts) {
        panic!("the offline messages on the server: {e}");
    }
    let incidents = w.api.incidents(&w.survivor).await;
    let filed: Vec<_> = incidents
        .iter()
        .filter(|i| i["description"] == json!(description))
        .collect();
    assert_eq!(filed.len(), 1, "the offline report, once: {filed:#?}");
    assert_eq!(incidents.len(), reports_before + 1, "one new report");
    let case = w.api.incident(&w.provider, &second).await;
    assert_eq!(
        case["status"],
        json!("in_progress"),
        "the accepted case: {case}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_server_refuses_fails_with_a_reason_and_does_not_block_the_rest() {
    let server = Server::start().await;
    let w = World::new(&server).await;
    let survivor = Kintara::login(&server, "survivor").await;
    let nowhere = uuid::Uuid::new_v4().to_string();

    let out = survivor
        .run(
            &["send", &nowhere, "into the void", "--wait", "20"],
            None,
            60,
        )
        .await;
    assert_eq!(
        out.code, 4,
        "a send to a room that does not exist: {}",
        out.stderr
    );
    let items = survivor.outbox().await;
    assert_eq!(items.len(), 1, "{items:#?}");
    let cols: Vec<&str> = items[0].split('\t').collect();
    assert_eq!(cols.get(2), Some(&"Failed"), "{items:#?}");
    assert!(
        cols.get(4).is_some_and(|r| !r.trim().is_empty()),
        "a failed item says why: {items:#?}"
    );

    let out = survivor
        .run(
            &["send", &w.room, "after the failure", "--wait", "20"],
            None,
            60,
        )
        .await;
    assert_eq!(
        out.code, 4,
        "the failed item is still reported: {}",
        out.stderr
    );
    let items = survivor.outbox().await;
    assert_eq!(items.len(), 1, "only the failed item remains: {items:#?}");
    let stored = w.user_messages().await;
    assert_eq!(
        stored,
        vec![(w.survivor.id.clone(), "after the failure".to_owned())],
        "the good message was delivered, once"
    );

    // In the same room: a message the server refuses (too long) between two good ones does not
    // hold up the one behind it.
    let too_long = "x".repeat(kintara_api::chat::MAX_MESSAGE + 1);
    let out = survivor
        .run(
            &["send", &w.room, "-", "--wait", "20"],
            Some(format!(
                "before the long one\n{too_long}\nafter the long one\n"
            )),
            60,
        )
        .await;
    assert_eq!(out.code, 4, "a refused message in the room: {}", out.stderr);
    let items = survivor.outbox().await;
    assert_eq!(items.len(), 2, "the two refused items remain: {items:#?}");
    assert!(
        items.iter().all(|l| l.split('\t').nth(2) == Some("Failed")),
        "{items:#?}"
    );
    let stored: Vec<String> = w
        .user_messages()
        .await
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        stored,
        [
            "after the failure",
            "before the long one",
            "after the long one"
        ],
        "the good messages were delivered, once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_falls_back_to_polling_with_no_loss() {
    const N: usize = 100;
    let server = Server::start().await;
    let w = World::new(&server).await;
    let survivor = Kintara::login(&server, "survivor").await;
    let provider = Kintara::login(&server, "healthcare").await;
    let n = N.to_string();
    let tail = survivor.tail(&["tail", "--poll", "--messages", &n, "--timeout", "90"]);
    let texts = lines("poll", N);
    let out = provider
        .run(
            &["send", &w.room, "-", "--wait", "60"],
            Some(texts.join("\n") + "\n"),
            90,
        )
        .await;
    assert_eq!(out.code, 0, "send: {}", out.stderr);
    let seen = tail.finish("survivor (polling)", 100).await;
    if let Err(e) = exactly_once_in_order(&seen, &texts) {
        panic!("the polling tail: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_wipe_leaves_nothing_on_the_device_and_ends_the_session() {
    let server = Server::start().await;
    let w = World::new(&server).await;
    let survivor = Kintara::login(&server, "survivor").await;
    let sent = survivor
        .run(&["send", &w.room, "before the wipe"], None, 30)
        .await;
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let tail = survivor.run(&["tail", "--timeout", "1"], None, 30).await;
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    assert!(
        std::fs::read_dir(survivor.dir.path()).unwrap().count() > 2,
        "the device holds a session, a key and local data before the wipe"
    );

    let out = survivor.run(&["wipe"], None, 30).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("the server ended the session"),
        "{}",
        out.stdout
    );
    let left: Vec<String> = std::fs::read_dir(survivor.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // Nothing to resume from: the next command has no session.
    let who = survivor.run(&["whoami"], None, 30).await;
    assert_ne!(who.code, 0, "{}", who.stdout);
    // The message sent before the wipe is still on the server, once.
    assert_eq!(
        w.user_messages()
            .await
            .iter()
            .filter(|(_, c)| c == "before the wipe")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_locked_with_a_pin_opens_only_with_it() {
    let server = Server::start().await;
    let survivor = Kintara::login(&server, "survivor").await;
    let mut lock = survivor.command(&["pin"]);
    let out = lock
        .env("KINTARA_NEW_PIN", "258025")
        .output()
        .await
        .expect("kintara pin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !survivor.dir.path().join("device.key").exists(),
        "no plain key left"
    );

    let run = |pin: Option<&str>| {
        let mut c = survivor.command(&["whoami"]);
        if let Some(p) = pin {
            c.env("KINTARA_PIN", p);
        } else {
            c.env_remove("KINTARA_PIN");
        }
        async move { c.output().await.expect("kintara whoami") }
    };
    let locked = run(None).await;
    assert!(!locked.status.success());
    assert!(String::from_utf8_lossy(&locked.stderr).contains("locked with a PIN"));
    let wrong = run(Some("000000")).await;
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("PIN is not right"));
    let right = run(Some("258025")).await;
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    assert!(String::from_utf8_lossy(&right.stdout).contains("survivor@kintara.test"));
}

/// A PNG the server's content check accepts, with `extra` varied bytes inside.
fn png(extra: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend_from_slice(b"\0\0\0\0tEXt");
    b.extend((0..extra).map(|i| ((i * 131) % 251) as u8));
    b.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_files_made_offline_arrives_with_exactly_its_files() {
    let mut server = Server::start().await;
    let api = Api::new(&server);
    let account = api.login("survivor").await;
    let survivor = Kintara::login(&server, "survivor").await;
    let reports_before = api.incidents(&account).await.len();
    server.kill9().await;

    let originals = tempfile::tempdir().expect("files dir");
    let photo = originals.path().join("photo.png");
    let statement = originals.path().join("statement.pdf");
    let photo_bytes = png(2 * 1024 * 1024 + 77);
    let statement_bytes =
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% what happened\n%%EOF\n".to_vec();
    std::fs::write(&photo, &photo_bytes).unwrap();
    std::fs::write(&statement, &statement_bytes).unwrap();
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_owned();

    // A file over the limit is refused before anything is queued, with a reason.
    let huge = originals.path().join("video.mp4");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(50 * 1024 * 1024 + 1)
        .unwrap();
    let out = survivor
        .run(
            &[
                "report",
                "--description",
                "refused",
                "--attach",
                &path(&photo),
                "--attach",
                &path(&huge),
                "--wait",
                "1",
            ],
            None,
            30,
        )
        .await;
    assert_eq!(out.code, 1, "an over-limit file: {}", out.stderr);
    assert!(out.stderr.contains("at most 50 MB"), "{}", out.stderr);
    assert!(survivor.outbox().await.is_empty(), "nothing was queued");

    // Queued offline, and the process killed while it keeps trying.
    let description = format!("report with files {}", uuid::Uuid::new_v4());
    let mut child = survivor
        .command(&[
            "report",
            "--description",
            &description,
            "--attach",
            &path(&photo),
            "--attach",
            &path(&statement),
            "--wait",
            "120",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kintara");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let queued = survivor.outbox().await;
        // Tried at least once (each listing is a process of its own, so it may see a later
        // try than the first).
        let tried = queued.first().is_some_and(|q| {
            q.split('\t')
                .find_map(|f| f.strip_prefix("attempts "))
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 1)
        });
        if queued.len() == 3 && tried {
            break;
        }
        assert!(Instant::now() < deadline, "never queued: {queued:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().await.expect("SIGKILL kintara");
    // The originals may go: the outbox keeps sealed copies.
    std::fs::remove_file(&photo).unwrap();
    std::fs::remove_file(&statement).unwrap();

    server.restart().await;
    let out = survivor.run(&["flush", "--wait", "60"], None, 90).await;
    assert_eq!(out.code, 0, "flush: {}\n{}", out.stderr, server.logs());
    assert!(survivor.outbox().await.is_empty());

    let account = api.login("survivor").await;
    let incidents = api.incidents(&account).await;
    let filed: Vec<_> = incidents
        .iter()
        .filter(|i| i["description"] == json!(description))
        .collect();
    assert_eq!(filed.len(), 1, "the report, once: {filed:#?}");
    assert_eq!(incidents.len(), reports_before + 1, "one new report");
    let id = filed[0]["id"].as_str().unwrap();
    let files = api
        .call(
            reqwest::Method::GET,
            &format!("/api/incidents/{id}/evidence/"),
            Some(&account.access),
            None,
            200,
        )
        .await;
    let files = files.as_array().expect("evidence list");
    assert_eq!(files.len(), 2, "exactly its two files: {files:#?}");
    for (file, (name, bytes)) in files.iter().zip([
        ("photo.png", &photo_bytes),
        ("statement.pdf", &statement_bytes),
    ]) {
        assert_eq!(file["file_name"], json!(name));
        let got = api
            .http
            .get(format!(
                "{}/api/evidence/{}/download/",
                api.base,
                file["id"].as_str().unwrap()
            ))
            .bearer_auth(&account.access)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&got[..], &bytes[..], "{name} byte for byte");
    }
}
