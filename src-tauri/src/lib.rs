//! The Kintara app shell. Commands here are thin adapters: they hold no logic beyond turning
//! `kintara-core` results into what the UI shows. The UI never touches the network itself.

mod commands;
mod live;
mod open;
mod os_notify;
mod secure_store;
mod ui_error;
mod unlock;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use kintara_api::app::UiErrorKind;
use kintara_api::{DeviceRegistration, Platform, PushKind};
use kintara_core::{Cache, Client, OutboxAction, OutboxItem, SqliteLocal};
use tauri::{AppHandle, Manager};

use live::Live;
use secure_store::SecureStore;
use ui_error::UiError;
use unlock::Keys;

/// The server the app talks to unless the user picks another.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";

pub struct AppState {
    client: RwLock<Arc<Client>>,
    store: Arc<SecureStore>,
    /// The device key: from the OS keystore, or under the user's PIN.
    keys: Arc<Keys>,
    app: AppHandle,
    /// Where the local store lives (the app's local data directory).
    data_dir: PathBuf,
    /// The sync service, outbox and cache while someone is signed in.
    live: tokio::sync::Mutex<Option<Live>>,
}

impl AppState {
    fn client(&self) -> Arc<Client> {
        self.client.read().expect("not poisoned").clone()
    }

    /// Starts the signed-in runtime (after sign-in, or at start with a kept session).
    async fn go_live(&self) {
        let mut live = self.live.lock().await;
        if let Some(old) = live.take() {
            old.stop(false).await;
        }
        let Some(vault) = self.keys.vault() else {
            tracing::warn!("not going live: the device key is locked");
            return;
        };
        match Live::start(self.app.clone(), self.client(), &self.data_dir, vault).await {
            Ok(l) => *live = Some(l),
            Err(e) => tracing::error!(error = %e, "the local store could not be opened"),
        }
        drop(live);
        self.register_push().await;
    }

    /// Registers this device for push where the OS has it (Android FCM, iOS APNs). On desktop
    /// the plugin answers "not supported": the live connection and OS notifications carry the
    /// load, and nothing is shown to the user. The server drops the registration at sign-out.
    async fn register_push(&self) {
        use tauri_plugin_push::PushExt;
        let app = self.app.clone();
        // The mobile call blocks until the OS answers.
        let token = tauri::async_runtime::spawn_blocking(move || app.push().register()).await;
        let token = match token {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no push on this device");
                return;
            }
            Err(_) => return,
        };
        let (platform, kind) = match token.platform {
            tauri_plugin_push::PushPlatform::Fcm => (Platform::Android, PushKind::Fcm),
            tauri_plugin_push::PushPlatform::Apns => (Platform::Ios, PushKind::Apns),
        };
        let req = DeviceRegistration {
            token: token.token,
            platform,
            kind,
        };
        if let Err(e) = self.client().register_device(&req).await {
            tracing::warn!(error = %e, "registering the push token failed");
        }
    }

    /// Stops the signed-in runtime; with `wipe` (sign-out) the local data goes, then the device
    /// key with it (its keystore item too), so nothing sealed on this device opens again. The
    /// next sign-in starts with a new key (a new PIN where there is no keystore).
    async fn stop_live(&self, wipe: bool) {
        if let Some(l) = self.live.lock().await.take() {
            l.stop(wipe).await;
        }
        if wipe {
            kintara_core::account::remove_local_store(&self.data_dir);
            open::forget_viewed(&self.data_dir);
            let keys = self.keys.clone();
            let _ = tauri::async_runtime::spawn_blocking(move || keys.forget()).await;
        }
    }

    /// The key is at hand now (unlocked, PIN chosen, keystore back): the kept session is read
    /// again (it could not be while locked) and, if there is one, the runtime starts.
    async fn key_ready(&self) {
        if self.keys.vault().is_none() {
            return;
        }
        let url = self.client().base_url().to_string();
        match Client::new(&url, self.store.clone()) {
            Ok(client) => *self.client.write().expect("not poisoned") = Arc::new(client),
            Err(e) => tracing::warn!(error = %e, "reloading the session failed"),
        }
        if self.client().current_user().is_some() && self.live.lock().await.is_none() {
            self.go_live().await;
        }
    }

    async fn cache(&self) -> Result<Arc<Cache<SqliteLocal>>, UiError> {
        let live = self.live.lock().await;
        let l = live
            .as_ref()
            .ok_or_else(|| UiError::text(UiErrorKind::Other, "error.sign_in_see"))?;
        Ok(l.account.cache.clone())
    }

    async fn enqueue(&self, action: OutboxAction) -> Result<OutboxItem, UiError> {
        let live = self.live.lock().await;
        let l = live
            .as_ref()
            .ok_or_else(|| UiError::text(UiErrorKind::Other, "error.sign_in_do"))?;
        Ok(l.account.outbox.enqueue(action).await?)
    }
}

/// The UI's first render is done. With `KINTARA_MEASURE` set, prints the time since the process
/// started (the cold start), once.
#[tauri::command]
fn ui_ready() {
    static SAID: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("KINTARA_MEASURE").is_some() {
        SAID.call_once(|| {
            let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
            println!("kintara-app: ui ready after {ms} ms");
        });
    }
}

/// The window's title: the app's name, or "Notes" when disguised.
fn apply_disguise(app: &AppHandle, on: bool) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.set_title(if on { "Notes" } else { "Kintara" });
    }
}

/// Voice notes (the report wizard's recorder): WebKitGTK offers `navigator.mediaDevices` only
/// with its media-stream setting on. With `KINTARA_MOCK_CAPTURE=1` (end-to-end tests only) it
/// captures from WebKit's own test devices instead of a microphone. Idempotent; it runs when the
/// window is set up and again as each page starts loading, before the page's script exists.
///
/// Recording itself needs WebKitGTK's MediaRecorder to support a type: Debian 12's WebKitGTK
/// 2.50 supports none (`isTypeSupported` is false for WebM, Ogg and MP4; `start()` throws
/// "The MediaRecorder is unsupported on this platform"), so there the wizard hides its record
/// button and offers files only.
#[cfg(target_os = "linux")]
fn enable_media(webview: &webkit2gtk::WebView) {
    use webkit2gtk::{SettingsExt, WebViewExt};
    let Some(settings) = WebViewExt::settings(webview) else {
        return;
    };
    if !settings.enables_media_stream() {
        settings.set_enable_media_stream(true);
    }
    if !settings.enables_mediasource() {
        settings.set_enable_mediasource(true);
    }
    let mock = std::env::var("KINTARA_MOCK_CAPTURE").is_ok_and(|v| v == "1");
    if mock && !settings.enables_mock_capture_devices() {
        settings.set_enable_mock_capture_devices(true);
    }
}

/// Applies `enable_media` to a web view of this app (no-op elsewhere than Linux).
fn setup_media<R: tauri::Runtime>(webview: &tauri::Webview<R>) {
    #[cfg(target_os = "linux")]
    if let Err(e) = webview.with_webview(|w| enable_media(&w.inner())) {
        tracing::warn!(error = %e, "the web view's media settings could not be set");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = webview;
}

/// When WebKit's web process ends under the window (a crash, its memory limit), WebKitGTK
/// leaves the window blank for good: she would see an empty app at the worst moment. The page
/// is loaded again instead (the core, her session and the outbox live in this process and are
/// untouched), and the reason goes to the log. (`keep_web_process_from_aborting` removes the
/// one cause seen so far.)
#[cfg(target_os = "linux")]
fn recover_from_web_process_end(webview: &webkit2gtk::WebView) {
    use webkit2gtk::WebViewExt;
    webview.connect_web_process_terminated(|view, reason| {
        tracing::error!(
            ?reason,
            "the web view's process ended; loading the page again"
        );
        view.reload();
    });
}

/// When the process started, for the cold-start figure (`.ci/measure-app`).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Keeps WebKitGTK's web process from aborting at random under the UI's WebAssembly.
///
/// JavaScriptCore's baseline WebAssembly compiler (BBQ) suspends the page's main thread with
/// SIGUSR1 hundreds of times a second while it compiles (about 13,000 signals in a 20-second
/// run, counted with strace). The handler (WTF's suspend/resume) returns with `errno` set to
/// EINTR by its `sigsuspend`. GLib's `g_check_setuid` sets `errno` to 0, reads the auxiliary
/// vector, and aborts the process if `errno` is no longer 0; several GLib singletons run it the
/// first time they are used, some late (the power-profile monitor, GResources). A signal in
/// between killed the web process with "GLib-ERROR: getauxval () failed: Interrupted system
/// call" about once in 30 openings of a chat room on a busy machine, and the window went
/// blank. Without BBQ the UI's WebAssembly starts in JavaScriptCore's interpreter and hot
/// functions go to its optimising tier; no main-thread suspensions were counted in the same
/// run, and the end-to-end case-work suite took as long (47.2 s against 47.7 s). A value
/// already in the environment wins, for anyone investigating WebKit itself.
#[cfg(target_os = "linux")]
fn keep_web_process_from_aborting() {
    const BBQ: &str = "JSC_useBBQJIT";
    if std::env::var_os(BBQ).is_none() {
        // Before any thread exists: the web process is started later, with this environment.
        std::env::set_var(BBQ, "0");
    }
}

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    #[cfg(target_os = "linux")]
    keep_web_process_from_aborting();
    // Warnings and errors on stderr (what went wrong, never what she wrote).
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINTARA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_biometric::init())
        .plugin(tauri_plugin_push::init())
        .setup(|app| {
            let data_dir = app.path().app_local_data_dir()?;
            // Documents opened in an earlier run are not left in clear.
            open::forget_viewed(&data_dir);
            // Where the key is decides the first screen: the app, the unlock screen, or the
            // choice of a PIN (see `unlock`). Blocks at most the keystore's time limit.
            let keys = Arc::new(Keys::open(data_dir.clone()));
            let store = Arc::new(SecureStore::open(app.handle(), keys.clone())?);
            let url = store.server_url().unwrap_or_else(|| {
                std::env::var("KINTARA_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER.into())
            });
            // A stored address that no longer parses falls back to the default.
            let client = Client::new(&url, store.clone())
                .or_else(|_| Client::new(DEFAULT_SERVER, store.clone()))?;
            let signed_in = client.current_user().is_some();
            apply_disguise(app.handle(), store.disguised());
            os_notify::init(app.handle())?;
            if let Some(w) = app.get_webview_window("main") {
                setup_media(w.as_ref());
                #[cfg(target_os = "linux")]
                if let Err(e) = w.with_webview(|w| recover_from_web_process_end(&w.inner())) {
                    tracing::warn!(error = %e, "the web view's crash recovery could not be set");
                }
            }
            app.manage(AppState {
                client: RwLock::new(Arc::new(client)),
                store,
                keys,
                app: app.handle().clone(),
                data_dir,
                live: tokio::sync::Mutex::new(None),
            });
            if signed_in {
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    handle.state::<AppState>().go_live().await;
                });
            }
            Ok(())
        })
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Started {
                setup_media(webview);
            }
        })
        // The microphone, for voice notes, and only when the survivor presses "Record": the page
        // asks for audio alone. Nothing else (camera, screen, location) is ever granted.
        .on_permission_request(|_, kind| match kind {
            tauri::webview::PermissionKind::Microphone => tauri::webview::PermissionResponse::Allow,
            _ => tauri::webview::PermissionResponse::Deny,
        })
        // Back in the foreground: reconnect and send what waits now, not after the backoff.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(true) = event {
                let app = window.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    if let Some(live) = app.state::<AppState>().live.lock().await.as_ref() {
                        live.account.sync.wake();
                        live.account.outbox.wake();
                    }
                });
            }
        })
        .invoke_handler(tauri::generate_handler![
            ui_ready,
            unlock::key_status,
            unlock::key_retry,
            unlock::unlock,
            unlock::choose_pin,
            unlock::change_pin,
            unlock::unlock_biometric,
            unlock::enable_biometric,
            commands::app_info,
            commands::set_server,
            commands::register,
            commands::login,
            commands::logout,
            commands::file_report,
            commands::set_language,
            commands::evidence_limits,
            commands::list_incidents,
            commands::timeline,
            commands::edit_report,
            commands::withdraw_report,
            commands::case_evidence,
            commands::evidence_file,
            commands::open_evidence,
            commands::open_map,
            commands::decide,
            commands::join_case_room,
            commands::leave_room,
            commands::direct_chat,
            commands::disguise,
            commands::set_disguise,
            commands::sync_state,
            commands::rooms,
            commands::messages,
            commands::older_messages,
            commands::send_message,
            commands::mark_room_read,
            commands::notifications,
            commands::unread_count,
            commands::mark_notification_read,
            commands::mark_all_notifications_read,
            commands::notification_settings,
            commands::set_notification_channels,
            commands::send_test_notification,
            commands::update_profile,
            commands::assigned_cases,
            commands::answer_assignment,
            commands::update_case_status,
            commands::dashboard,
            commands::dispatch_cases,
            commands::recommendations,
            commands::assign,
            commands::outbox_items,
            commands::outbox_retry,
            commands::outbox_discard,
            commands::typing,
            commands::heartbeat,
            commands::online_users,
            commands::availability,
            commands::set_availability,
            commands::dispatch_providers,
            commands::reassign,
            commands::chat_settings,
            commands::set_chat_settings,
            commands::block_user,
            commands::contacts,
            commands::set_contacts,
            commands::sessions,
            commands::end_session,
            commands::revoke_other_sessions,
            commands::change_password,
            commands::admin_users,
            commands::admin_decide,
            commands::create_staff,
            commands::audit_log,
            commands::delivery_health,
        ])
        .run(tauri::generate_context!())
        .expect("the Kintara app failed to start");
}

#[cfg(test)]
mod tests {
    /// The page may call the app's own commands and listen to its events, nothing more: no
    /// plugin command (store, notification, biometric, push) and no window, path or app API is
    /// reachable from the web view.
    #[test]
    fn the_page_gets_only_what_the_ui_calls() {
        let caps: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).expect("json");
        assert_eq!(
            caps["permissions"],
            serde_json::json!(["core:event:allow-listen", "core:event:allow-unlisten"])
        );
        let ui = [
            include_str!("../../src/ipc.rs"),
            include_str!("../../src/live.rs"),
        ];
        for source in ui {
            assert!(
                !source.contains("plugin:"),
                "the UI calls a plugin directly"
            );
        }
    }

    /// The handler list registers exactly the commands `kintara_api::app::cmd` declares, under
    /// the declared names (a command's name is its function's), so the UI's typed calls always
    /// reach a handler and nothing else is reachable.
    #[test]
    fn the_registered_commands_are_the_declared_ones() {
        let source = include_str!("lib.rs");
        let start = source.find("generate_handler![").expect("a handler list") + 18;
        let list = &source[start..start + source[start..].find(']').expect("its end")];
        let mut registered: Vec<&str> = list
            .split(',')
            .map(|p| p.trim().rsplit("::").next().unwrap_or_default())
            .filter(|n| !n.is_empty())
            .collect();
        registered.sort_unstable();
        let mut declared = kintara_api::app::cmd::ALL.to_vec();
        declared.sort_unstable();
        assert_eq!(registered, declared);
    }
}
