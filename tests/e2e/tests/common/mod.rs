//! The end-to-end harness: a real `kintara-server` process, and the real app window driven
//! through tauri-driver + WebKitWebDriver. Every child runs in its own process group and the
//! whole group is killed on drop, so no orphan keeps a port (toolchain pitfall P10).
//!
//! The binaries must be built first (`.ci/run` does it): `kintara-server`, and `kintara-app`
//! with `--features tauri/custom-protocol` so it embeds the UI. Run under an X server that does
//! not reset when its last client leaves (`xvfb-run -s "... -noreset"`, as `.ci/run` does):
//! one test's window closes and the next one's opens at once, and a client that connects while
//! Xvfb resets is refused ("Failed to initialize gtk backend").

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub const DEMO_PASSWORD: &str = "kintara-demo";
/// The PIN every test device chooses: the app runs with no OS keystore here (no session bus),
/// so it keeps its device key under a PIN.
pub const PIN: &str = "246810";
const WAIT: Duration = Duration::from_secs(30);
/// How long a new app window may take to answer WebDriver: its start under load is seconds; an
/// app that died before WebKit reached it leaves WebKitWebDriver waiting for ever.
const SESSION_WAIT: Duration = Duration::from_secs(120);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (see .ci/run)",
        path.display()
    );
    path
}

pub fn artifacts_dir() -> PathBuf {
    let dir = target_dir().join("e2e-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// The last 60 lines of a log file.
fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// The X display the apps are given and whether its server's socket is there: an app that
/// cannot open it dies at start ("Failed to initialize GTK"), seen once in a local loop of
/// runs, its cause not yet known.
fn x_display() -> String {
    let display = std::env::var("DISPLAY").unwrap_or_default();
    let number = display
        .trim_start_matches(':')
        .split('.')
        .next()
        .unwrap_or("");
    let socket = format!("/tmp/.X11-unix/X{number}");
    format!(
        "DISPLAY={display:?}; {socket} {}",
        if Path::new(&socket).exists() {
            "exists"
        } else {
            "is missing"
        }
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child process group that dies with this value.
pub struct Group(Child);

impl Group {
    pub fn spawn(cmd: &mut Command) -> Group {
        Group(
            cmd.process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}")),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.0.id());
        for signal in ["-TERM", "-KILL"] {
            let _ = Command::new("kill")
                .args([signal, "--", &pgid])
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real server on a free port with its own data directory and the demo accounts.
pub struct Server {
    pub url: String,
    pub data: tempfile::TempDir,
    /// Its log: every request's route and status (never an id, a body or a token).
    log: PathBuf,
    _group: Group,
}

impl Drop for Server {
    /// A failing test prints the end of the server's log, so CI's output says what the server
    /// answered.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("started processing request"))
                .collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            eprintln!("--- the end of the server's log ---\n{tail}\n---");
        }
    }
}

impl Server {
    /// The server as it ships: SQLite, the demo accounts, the default rate limits.
    pub fn start() -> Server {
        Server::start_with_env(&[])
    }

    /// The same with extra environment (e.g. `KINTARA_RATE_LIMITS` for a test that seeds a
    /// room through the API faster than anyone types).
    pub fn start_with_env(env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let data = tempfile::tempdir().expect("tempdir");
        let log_path = artifacts_dir().join(format!("server-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let group = Group::spawn(
            Command::new(binary("kintara-server"))
                .args([
                    "--bind",
                    &format!("127.0.0.1:{port}"),
                    "--demo",
                    "--data-dir",
                ])
                .arg(data.path())
                // Each request's route pattern, status and time; plain text.
                .env("KINTARA_LOG", "info,sqlx=warn,tower_http=debug")
                .env("NO_COLOR", "1")
                .envs(env.iter().copied())
                .stdout(log.try_clone().expect("log"))
                .stderr(log),
        );
        wait_for_port(port, "kintara-server");
        Server {
            url: format!("http://127.0.0.1:{port}"),
            data,
            log: log_path,
            _group: group,
        }
    }

    /// How many lines of the server's log contain `needle` (a route, a status).
    pub fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle) && l.contains("finished processing"))
            .count()
    }

    /// One authorised API call; asserts that it succeeded and returns its JSON body (or null).
    pub async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Value {
        let resp = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    /// One authorised GET of raw bytes (a file download); asserts that it succeeded.
    pub async fn download(&self, token: &str, path: &str) -> Vec<u8> {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.bytes().await.expect("body").to_vec()
    }

    /// Files a routine report (which waits for a dispatcher; urgent ones may be assigned on
    /// their own) as the survivor with `token`; returns its id and case number.
    pub async fn file_routine_report(&self, token: &str) -> (String, String) {
        let incident = self
            .api(
                token,
                reqwest::Method::POST,
                "/api/incidents/",
                json!({
                    "type": "physical",
                    "incident_date": "2026-11-20",
                    "description": "He hit me and took my phone.",
                    "location": {"address": "Kibera, Nairobi"},
                    "support_services": ["medical"],
                    "urgency_level": "routine"
                }),
            )
            .await;
        let field = |k: &str| incident[k].as_str().expect(k).to_owned();
        (field("id"), field("case_number"))
    }

    /// The id of the user signed in with `token`.
    pub async fn user_id(&self, token: &str) -> String {
        self.api(token, reqwest::Method::GET, "/api/auth/me/", Value::Null)
            .await["user"]["id"]
            .as_str()
            .expect("user id")
            .to_owned()
    }

    /// Signs in over HTTP and returns the access token.
    pub async fn login(&self, email: &str) -> String {
        let resp: Value = reqwest::Client::new()
            .post(format!("{}/api/auth/login/", self.url))
            .json(&json!({"email": email, "password": DEMO_PASSWORD}))
            .send()
            .await
            .expect("login request")
            .json()
            .await
            .expect("login body");
        resp["tokens"]["access"]
            .as_str()
            .expect("access token")
            .to_owned()
    }
}

/// The app window under WebDriver, with a fresh data directory (so a fresh store).
pub struct App {
    pub client: Client,
    /// The app's XDG data directory: its store and device key live under it.
    pub xdg: tempfile::TempDir,
    /// The app's own output (stderr), shown when a test fails.
    log: PathBuf,
    _driver: Group,
}

impl App {
    /// A new device: the app asks for a PIN before anything else; this chooses `PIN`.
    pub async fn launch() -> App {
        let app = Self::launch_locked(tempfile::tempdir().expect("tempdir")).await;
        app.pass_key_gate().await;
        app
    }

    /// Launches the app on an existing data directory, as a restart of the same device, and
    /// gets past the unlock screen with `PIN` (or chooses it, after a sign-out took the key).
    pub async fn launch_in(xdg: tempfile::TempDir) -> App {
        let app = Self::launch_locked(xdg).await;
        app.pass_key_gate().await;
        app
    }

    /// A new device, as `launch`, with extra environment variables for the app (such as
    /// `KINTARA_MOCK_CAPTURE=1`: WebKit's test microphone instead of a real one).
    pub async fn launch_with_env(env: &[(&str, &str)]) -> App {
        let app = Self::launch_locked_with_env(tempfile::tempdir().expect("tempdir"), env).await;
        app.pass_key_gate().await;
        app
    }

    /// Launches the app on `xdg` and leaves whatever it shows first (the unlock screen, the PIN
    /// choice, sign-in or home) to the test.
    pub async fn launch_locked(xdg: tempfile::TempDir) -> App {
        Self::launch_locked_with_env(xdg, &[]).await
    }

    /// `launch_locked`, with extra environment variables; they reach the app through
    /// tauri-driver and WebKitWebDriver.
    pub async fn launch_locked_with_env(xdg: tempfile::TempDir, env: &[(&str, &str)]) -> App {
        // Ports of its own, so several app windows (one per role) can run side by side.
        let driver_port = free_port();
        let native_port = free_port();
        // The app's own output (it inherits tauri-driver's), so a window that never comes up
        // says why.
        let app_log = artifacts_dir().join(format!("app-{driver_port}.log"));
        let log_file = std::fs::File::create(&app_log).expect("the app's log file");
        let driver = Group::spawn(
            Command::new("tauri-driver")
                .args([
                    "--port",
                    &driver_port.to_string(),
                    "--native-port",
                    &native_port.to_string(),
                ])
                .env("XDG_DATA_HOME", xdg.path())
                .env("XDG_CONFIG_HOME", xdg.path())
                // No session bus, so no Secret Service: the device key goes under the PIN, as on
                // a machine without an OS keystore (crates/cli/tests/keystore.rs tests one).
                .env(
                    "DBUS_SESSION_BUS_ADDRESS",
                    format!("unix:path={}/no-session-bus", xdg.path().display()),
                )
                // The app must not find a developer's server by accident.
                .env("KINTARA_SERVER_URL", "http://127.0.0.1:9")
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file)),
        );
        wait_for_port(driver_port, "tauri-driver");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({ "application": binary("kintara-app").to_string_lossy() }),
        );
        let mut builder = ClientBuilder::native();
        builder.capabilities(caps);
        let driver_url = format!("http://127.0.0.1:{driver_port}");
        let client = match tokio::time::timeout(SESSION_WAIT, builder.connect(&driver_url)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => panic!(
                "WebDriver session: {e}\n{}\nthe app's output:\n{}",
                x_display(),
                tail(&app_log)
            ),
            Err(_) => panic!(
                "the app window never answered WebDriver within {SESSION_WAIT:?}\n{}\nthe app's output:\n{}",
                x_display(),
                tail(&app_log)
            ),
        };
        App {
            client,
            xdg,
            log: app_log,
            _driver: driver,
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("{css} never appeared")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails the test with `what` and what the window shows (its text, and a screenshot in the
    /// artifacts), so a failure on CI can be understood from its output alone.
    pub async fn fail(&self, what: &str) -> ! {
        let shown = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no page: {e})"),
        };
        let shown: String = shown.chars().take(3000).collect();
        let shot = artifacts_dir().join("failure.png");
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(&shot, png);
        }
        panic!(
            "{what}\n--- the window shows ---\n{shown}\n--- (screenshot: {}) ---\n--- the app's output ---\n{}\n---",
            shot.display(),
            tail(&self.log)
        );
    }

    /// Clicks `css` after scrolling it to the middle of the window. WebDriver scrolls a target
    /// only until it is inside the viewport, which on a phone-sized window can leave it under
    /// the fixed bottom navigation: the click then lands on the bar and WebKitWebDriver answers
    /// `ElementClickIntercepted` with an empty message (the "webdriver returned error:" seen on
    /// CI).
    pub async fn click(&self, css: &str) {
        let element = self.reveal(css).await;
        if let Err(e) = element.click().await {
            // With what the window shows: WebKitWebDriver's errors can come without a message.
            self.fail(&format!("click {css}: {e} ({e:?})")).await;
        }
    }

    /// Chooses `value` in the select `css`, brought to the middle of the window and still first
    /// (see `reveal`): WebKitWebDriver picks an option by clicking it, which fails as not
    /// interactable while the select is out of view or moving.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.reveal(css).await;
        if let Err(e) = element.select_by_value(value).await {
            self.fail(&format!("choose {value:?} in {css}: {e} ({e:?})"))
                .await;
        }
    }

    /// Activates `css` as a keyboard user does: focus (without scrolling) and Enter. For a
    /// control whose surroundings react to scrolling: the chat's "Load older" button sits
    /// where scrolling to it loads the older page by itself, which re-renders the button
    /// between `click`'s scroll and its click (`StaleElementReference` on CI).
    pub async fn press(&self, css: &str) {
        let element = self.find(css).await;
        let arg = serde_json::to_value(&element).expect("an element reference");
        if let Err(e) = self
            .client
            .execute("arguments[0].focus({preventScroll: true});", vec![arg])
            .await
        {
            self.fail(&format!("focus {css}: {e} ({e:?})")).await;
        }
        // Key actions go to the focused element and, unlike Element Send Keys, scroll nothing.
        let enter = fantoccini::key::Key::Enter.into();
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: enter })
            .then(KeyAction::Up { value: enter });
        if let Err(e) = self.client.perform_actions(keys).await {
            self.fail(&format!("press Enter on {css}: {e} ({e:?})"))
                .await;
        }
    }

    /// `css`, found, scrolled to the middle of the window (see `click`), and still: a click
    /// goes to where the target is when it lands, so a target that content loading above it is
    /// still pushing down would be missed (a dispatcher's home fills its three lists one after
    /// the other). Waits until its place holds for two looks 50 ms apart (at most 5 s).
    async fn reveal(&self, css: &str) -> Element {
        let element = self.find(css).await;
        let arg = serde_json::to_value(&element).expect("an element reference");
        if let Err(e) = self
            .client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'center'});",
                vec![arg.clone()],
            )
            .await
        {
            self.fail(&format!("scroll to {css}: {e} ({e:?})")).await;
        }
        let place =
            "const r = arguments[0].getBoundingClientRect(); return [r.x, r.y, r.width, r.height];";
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = None;
        loop {
            let now = self.client.execute(place, vec![arg.clone()]).await.ok();
            if now.is_some() && now == last {
                break;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("{css} kept moving")).await;
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        element
    }

    /// Replaces an input's text.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.reveal(css).await;
        if let Err(err) = e.clear().await {
            self.fail(&format!("clear {css}: {err} ({err:?})")).await;
        }
        if let Err(err) = e.send_keys(text).await {
            self.fail(&format!("type into {css}: {err} ({err:?})"))
                .await;
        }
    }

    /// Waits until the element's text contains `needle`, and returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        self.wait_text_within(css, needle, WAIT).await
    }

    /// `wait_text` with its own limit (after a fault, backoffs of several seconds may come
    /// first).
    pub async fn wait_text_within(&self, css: &str, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = e.text().await {
                    if t.contains(needle) {
                        return t;
                    }
                }
            }
            if Instant::now() >= deadline {
                self.fail(&format!("{css} never contained {needle:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until one of `selectors` matches, and returns it.
    pub async fn first_of<'s>(&self, selectors: &[&'s str]) -> &'s str {
        let deadline = Instant::now() + WAIT;
        loop {
            for css in selectors {
                if self.client.find(Locator::Css(css)).await.is_ok() {
                    return css;
                }
            }
            if Instant::now() >= deadline {
                self.fail(&format!("none of {selectors:?} appeared")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Chooses `PIN` on the choose-a-PIN screen (typed twice).
    pub async fn choose_pin(&self) {
        self.fill("#pin-new", PIN).await;
        self.fill("#pin-confirm", PIN).await;
        self.click("#pin-save").await;
        self.wait_gone("#choose-pin").await;
    }

    /// Types `pin` on the unlock screen and presses "Unlock".
    pub async fn enter_pin(&self, pin: &str) {
        self.fill("#unlock-pin", pin).await;
        self.click("#unlock-submit").await;
    }

    /// Gets past the device key's screens, whichever shows: chooses `PIN` on a new device,
    /// enters it on a locked one; nothing when the app opens on sign-in or home.
    pub async fn pass_key_gate(&self) {
        match self
            .first_of(&["#choose-pin", "#unlock", "#login-email", ".frame"])
            .await
        {
            "#choose-pin" => self.choose_pin().await,
            "#unlock" => {
                self.enter_pin(PIN).await;
                self.wait_gone("#unlock").await;
            }
            _ => {}
        }
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.client.find(Locator::Css(css)).await.is_ok() {
            if Instant::now() >= deadline {
                self.fail(&format!("{css} never went away")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot after the screen has painted (pitfall P12).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = artifacts_dir().join(name);
        std::fs::write(&path, &png).expect("write screenshot");
        if std::env::var_os("KINTARA_UPDATE_SCREENSHOTS").is_some() {
            let keep = workspace_root().join("assets/screenshots").join(name);
            std::fs::create_dir_all(keep.parent().expect("parent")).expect("screenshots dir");
            std::fs::write(keep, &png).expect("write kept screenshot");
        }
        path
    }

    /// From the sign-in screen: points the app at `server`, signs in with the demo password and
    /// waits for the home screen's title to contain `home`.
    pub async fn sign_in_to(&self, server: &str, email: &str, home: &str) {
        self.find("#login-email").await;
        self.connect_to(server).await;
        self.sign_in(email, DEMO_PASSWORD).await;
        self.wait_text("#home-title", home).await;
    }

    /// Points the app at `server` through the server-address screen.
    pub async fn connect_to(&self, server: &str) {
        self.click("#goto-server").await;
        self.fill("#server-url", server).await;
        self.click("#server-save").await;
        self.wait_text("#server-current", server).await;
    }

    pub async fn sign_in(&self, email: &str, password: &str) {
        self.fill("#login-email", email).await;
        self.fill("#login-password", password).await;
        self.click("#login-submit").await;
    }

    /// Every file the app wrote, with its bytes.
    pub fn stored_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.xdg.path(), &mut out);
        out
    }

    /// The app's own output so far (its log on stderr).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the web view's own process (WebKit's `WebKitWebProcess`, a child of the app) with
    /// SIGKILL, as a crash in WebKit would end it (its own SIGSEGV handler, for WebAssembly
    /// memory, survives a SIGSEGV sent from outside). Returns how many it killed.
    pub fn crash_web_process(&self) -> usize {
        // Parent of each process, from /proc/<pid>/stat: "pid (comm) state ppid ...".
        let mut procs = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
            let ppid = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0);
            procs.push((pid, ppid, comm));
        }
        // This app's processes: the descendants of its tauri-driver.
        let mut ours = vec![self._driver.0.id()];
        let mut i = 0;
        while i < ours.len() {
            let parent = ours[i];
            ours.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
            i += 1;
        }
        let mut killed = 0;
        for (pid, _, comm) in &procs {
            if ours.contains(pid) && comm.starts_with("WebKitWebProc") {
                let status = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .expect("kill");
                assert!(status.success(), "kill -KILL {pid}");
                killed += 1;
            }
        }
        killed
    }

    /// Quits the app and hands back its data directory, for a restart with `launch_in`.
    pub async fn close(self) -> tempfile::TempDir {
        let _ = self.client.close().await;
        drop(self._driver);
        self.xdg
    }
}
