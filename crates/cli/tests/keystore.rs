//! The device key in a real OS keystore: a session bus and an unlocked gnome-keyring of this
//! test's own (headless Secret Service), a real server, and the `kintara` CLI as separate
//! processes talking to both. The test never changes its own environment: the bus address and
//! the keyring's home are passed to the children only.
//!
//! Needs `dbus-daemon`, `gnome-keyring-daemon` and `secret-tool` (installed by `.ci/setup`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEMO_PASSWORD: &str = "kintara-demo";

/// A child process killed (and reaped) when this is dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kintara-server`, built by the same `cargo test` next to this package's binaries.
fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/.. has a parent")
        .join("kintara-server");
    assert!(
        bin.exists(),
        "kintara-server not found at {}: run with -p kintara-server so cargo builds it",
        bin.display()
    );
    bin
}

fn need(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "{tool} is missing: run .ci/setup");
}

/// A private session bus with an unlocked gnome-keyring on it: what a desktop session gives.
struct Keyring {
    // Dropped first: the daemons stop before their home goes.
    _daemons: Vec<Kill>,
    home: tempfile::TempDir,
    bus: String,
}

impl Keyring {
    fn start() -> Keyring {
        for tool in [
            "dbus-daemon",
            "dbus-send",
            "gnome-keyring-daemon",
            "secret-tool",
        ] {
            need(tool);
        }
        let home = tempfile::tempdir().expect("keyring home");
        for dir in ["data", "config", "cache", "run"] {
            std::fs::create_dir_all(home.path().join(dir)).expect("xdg dir");
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            home.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .expect("runtime dir mode");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("bus stdout"))
            .read_line(&mut address)
            .expect("the bus address");
        let bus_guard = Kill(bus);
        let mut k = Keyring {
            home,
            bus: address.trim().to_owned(),
            _daemons: vec![bus_guard],
        };
        assert!(!k.bus.is_empty(), "dbus-daemon printed no address");
        // `--unlock` reads the login keyring's password from standard input: an empty line
        // creates an unlocked "login" collection (the default alias), so nothing ever prompts.
        let mut daemon = k
            .env(&mut Command::new("gnome-keyring-daemon"))
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gnome-keyring-daemon");
        daemon
            .stdin
            .take()
            .expect("daemon stdin")
            .write_all(b"\n")
            .expect("the keyring password");
        k._daemons.push(Kill(daemon));
        k.wait_for_default_collection();
        k
    }

    /// The environment of a process in this session.
    fn env<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        let h = self.home.path();
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("HOME", h)
            .env("XDG_DATA_HOME", h.join("data"))
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("XDG_CACHE_HOME", h.join("cache"))
            .env("XDG_RUNTIME_DIR", h.join("run"))
    }

    /// Polls without D-Bus activation (which would start a second, locked daemon) until our
    /// daemon owns the Secret Service name and the default collection exists.
    fn wait_for_default_collection(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let owned = self
                .dbus_send(&[
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .contains("boolean true");
            if owned
                && self
                    .dbus_send(&[
                        "--dest=org.freedesktop.secrets",
                        "/org/freedesktop/secrets",
                        "org.freedesktop.Secret.Service.ReadAlias",
                        "string:default",
                    ])
                    .contains("/collection/")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring did not come up unlocked on {}",
                self.bus
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn dbus_send(&self, args: &[&str]) -> String {
        let out = self
            .env(&mut Command::new("dbus-send"))
            .args(["--session", "--print-reply"])
            .args(args)
            .output()
            .expect("dbus-send");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `secret-tool search` for the device key items of `account`: what a user's keyring shows.
    fn items_of(&self, account: &str) -> String {
        let out = self
            .env(&mut Command::new("secret-tool"))
            .args(["search", "--all", "service", "kintara", "username", account])
            .output()
            .expect("secret-tool search");
        // The attributes go to stderr, the (binary) secret to stdout.
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn lookup(&self, account: &str) -> Vec<u8> {
        self.env(&mut Command::new("secret-tool"))
            .args(["lookup", "service", "kintara", "username", account])
            .output()
            .expect("secret-tool lookup")
            .stdout
    }

    fn clear(&self, account: &str) {
        let ok = self
            .env(&mut Command::new("secret-tool"))
            .args(["clear", "service", "kintara", "username", account])
            .status()
            .expect("secret-tool clear")
            .success();
        assert!(ok, "secret-tool clear");
    }
}

struct Server {
    url: String,
    _data: tempfile::TempDir,
    _child: Kill,
}

impl Server {
    fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data = tempfile::tempdir().expect("server dir");
        let child = Command::new(server_bin())
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data.path())
            .arg("--demo")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn kintara-server");
        let child = Kill(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "kintara-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
            _child: child,
        }
    }
}

/// Runs `kintara` in the keyring's session, with no PIN: the keystore is the only key source.
fn kintara(keyring: &Keyring, server: &Server, dir: &Path, args: &[&str]) -> Output {
    let out = keyring
        .env(&mut Command::new(env!("CARGO_BIN_EXE_kintara")))
        .arg("--server")
        .arg(&server.url)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("KINTARA_PASSWORD", DEMO_PASSWORD)
        .env_remove("KINTARA_PIN")
        .env_remove("KINTARA_NEW_PIN")
        .env_remove("KINTARA_SERVER")
        .env_remove("KINTARA_CLI_DIR")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .expect("run kintara");
    assert!(
        out.status.success(),
        "kintara {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read file"),
            )
        })
        .collect();
    files.sort();
    files
}

fn account_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("device.keystore"))
        .expect("the keystore marker")
        .trim()
        .to_owned()
}

#[test]
fn the_device_key_lives_in_the_os_keystore_and_wipe_removes_it() {
    let keyring = Keyring::start();
    let server = Server::start();
    let cli = tempfile::tempdir().expect("cli dir");
    let dir = cli.path();

    let out = kintara(
        &keyring,
        &server,
        dir,
        &["login", "--email", "survivor@kintara.test"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed in"));

    // No key on disk, in plain or under a PIN: the keystore holds it.
    let names: Vec<String> = files_in(dir).into_iter().map(|(n, _)| n).collect();
    assert!(!names.contains(&"device.key".to_owned()), "{names:?}");
    assert!(!names.contains(&"device.key.pin".to_owned()), "{names:?}");
    let account = account_of(dir);
    assert!(account.starts_with("device-key-"), "{account}");
    let items = keyring.items_of(&account);
    assert!(items.contains(&account), "not in the keystore: {items}");
    assert_eq!(keyring.lookup(&account).len(), 32, "a 256-bit key");
    // Nothing the CLI wrote holds the session in clear.
    for (name, bytes) in files_in(dir) {
        let text = String::from_utf8_lossy(&bytes);
        // Every token the server issues begins with the base64 of `{"typ":"JWT",`; a shorter
        // pattern (such as "eyJ") turns up by chance in the sealed files' base64.
        for secret in ["survivor@kintara.test", "refresh", "eyJ0eXAiOiJKV1Qi"] {
            assert!(!text.contains(secret), "{name} holds {secret:?}");
        }
    }

    // A second process reads the session back with the key from the keystore.
    let who = kintara(&keyring, &server, dir, &["whoami"]);
    assert!(
        String::from_utf8_lossy(&who.stdout).contains("survivor@kintara.test"),
        "{}",
        String::from_utf8_lossy(&who.stdout)
    );

    // Panic wipe: the files and the keystore item go.
    kintara(&keyring, &server, dir, &["wipe"]);
    assert!(files_in(dir).is_empty(), "left behind: {:?}", files_in(dir));
    let items = keyring.items_of(&account);
    assert!(!items.contains(&account), "still in the keystore: {items}");
}

#[test]
fn a_plain_key_file_of_an_older_build_moves_into_the_keystore() {
    let keyring = Keyring::start();
    let server = Server::start();
    let cli = tempfile::tempdir().expect("cli dir");
    let dir = cli.path();
    kintara(
        &keyring,
        &server,
        dir,
        &["login", "--email", "dispatcher@kintara.test"],
    );

    // Make this device look like an older build's: the same key, in a plain file.
    let account = account_of(dir);
    let key = keyring.lookup(&account);
    assert_eq!(key.len(), 32);
    keyring.clear(&account);
    std::fs::remove_file(dir.join("device.keystore")).expect("remove the marker");
    std::fs::write(dir.join("device.key"), &key).expect("write the plain key");

    // The next command finds the plain key, moves it into the keystore and removes the file;
    // the session sealed with it still opens.
    let who = kintara(&keyring, &server, dir, &["whoami"]);
    assert!(String::from_utf8_lossy(&who.stdout).contains("dispatcher@kintara.test"));
    assert!(!dir.join("device.key").exists(), "the plain key is gone");
    let moved = account_of(dir);
    assert_ne!(moved, account, "a new item");
    assert_eq!(
        keyring.lookup(&moved),
        key,
        "the same key, now in the keystore"
    );

    // Logout wipes too, the keystore item included.
    kintara(&keyring, &server, dir, &["logout"]);
    assert!(!keyring.items_of(&moved).contains(&moved));
    assert!(!dir.join("device.keystore").exists());
}
