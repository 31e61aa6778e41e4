//! The signed-in runtime: the core's sync service, outbox and cache running for this device,
//! and their news forwarded to the UI as Tauri events:
//! - `sync-state`: "connecting" | "online" | "polling" | "offline" | "logged_out";
//! - `kintara-event`: every frame of the event stream, after the cache has applied it;
//! - `outbox`: the outbox items (queued / sending / failed), for the outbox view and local echo.
//!
//! It also raises OS notifications for notification frames while the window is not focused.
//! A survivor's OS notification never shows content: it says only "You have a new update".

use std::path::Path;
use std::sync::Arc;

use kintara_api::{EventType, Role};
use kintara_core::sync::{SyncEvent, SyncService, SyncState};
use kintara_core::vault::Vault;
use kintara_core::{Cache, Client, LocalError, LocalStore, Outbox, SqliteLocal};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

pub struct Live {
    pub local: Arc<SqliteLocal>,
    pub outbox: Arc<Outbox<SqliteLocal>>,
    pub sync: Arc<SyncService<SqliteLocal>>,
    tasks: Vec<tauri::async_runtime::JoinHandle<()>>,
}

impl Live {
    /// Starts everything for the signed-in `client`. The local store lives in `dir`, sealed with
    /// the device key's `vault`.
    pub async fn start(
        app: AppHandle,
        client: Arc<Client>,
        dir: &Path,
        vault: Vault,
    ) -> Result<Live, String> {
        let path = dir.join("local.db");
        let local = match SqliteLocal::open(&path, vault.clone()).await {
            Ok(l) => l,
            // Sealed with a key that is gone (wiped at sign-out, cleared from the keystore):
            // nothing in it can ever be read again, so it makes way for a new store.
            Err(LocalError::WrongKey) => {
                tracing::warn!(
                    "the local store was sealed with a previous device key; starting a new one"
                );
                remove_local_store(dir);
                SqliteLocal::open(&path, vault)
                    .await
                    .map_err(|e| e.to_string())?
            }
            Err(e) => return Err(e.to_string()),
        };
        let local = Arc::new(local);
        let outbox = Arc::new(Outbox::new(local.clone(), client.clone()));
        let sync = SyncService::new(client.clone(), local.clone());
        let mut tasks = Vec::new();

        let mut states = sync.state();
        let emit_app = app.clone();
        let outbox_for_state = outbox.clone();
        tasks.push(tauri::async_runtime::spawn(async move {
            loop {
                let state = states.borrow_and_update().clone();
                // Back online: whatever waited in the outbox goes now.
                if state == SyncState::Online || state == SyncState::Polling {
                    outbox_for_state.wake();
                }
                let _ = emit_app.emit("sync-state", state_label(&state));
                if states.changed().await.is_err() {
                    return;
                }
            }
        }));

        let mut events = sync.events();
        let cache = Cache::new(local.clone());
        let emit_app = app.clone();
        let role = client.current_user().map(|u| u.role);
        let cache_client = client.clone();
        tasks.push(tauri::async_runtime::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        SyncEvent::ResyncRequired
                    }
                    Err(_) => return,
                };
                match cache.apply(&event).await {
                    Ok(true) => {
                        let _ = cache.refresh_all(&cache_client).await;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "the cache could not apply a frame"),
                }
                match &event {
                    SyncEvent::Frame(frame) => {
                        if frame.r#type == EventType::Notification {
                            notify_os(&emit_app, role, &frame.data);
                        }
                        let _ = emit_app.emit("kintara-event", frame);
                    }
                    SyncEvent::ResyncRequired => {
                        let _ = emit_app.emit(
                            "kintara-event",
                            serde_json::json!({"type": "resync_required"}),
                        );
                    }
                }
            }
        }));

        let mut items = outbox.subscribe();
        let emit_app = app.clone();
        tasks.push(tauri::async_runtime::spawn(async move {
            loop {
                let list = items.borrow_and_update().clone();
                let _ = emit_app.emit("outbox", &list);
                if items.changed().await.is_err() {
                    return;
                }
            }
        }));

        tasks.push(tauri::async_runtime::spawn(outbox.clone().run()));
        tasks.push(tauri::async_runtime::spawn(sync.clone().run()));
        Ok(Live {
            local,
            outbox,
            sync,
            tasks,
        })
    }

    /// Stops the tasks; with `wipe`, the local data goes too (sign-out, panic wipe).
    pub async fn stop(self, wipe: bool) {
        for t in &self.tasks {
            t.abort();
        }
        if wipe {
            if let Err(e) = self.local.wipe().await {
                tracing::warn!(error = %e, "wiping local data failed");
            }
        }
    }
}

/// Removes the local store's files (after a wipe, with the key that sealed it gone).
pub fn remove_local_store(dir: &Path) {
    for name in ["local.db", "local.db-wal", "local.db-shm"] {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "removing the local store failed"),
        }
    }
}

pub fn state_label(state: &SyncState) -> &'static str {
    match state {
        SyncState::Idle | SyncState::Connecting => "connecting",
        SyncState::Online => "online",
        SyncState::Polling => "polling",
        SyncState::Offline { .. } => "offline",
        SyncState::LoggedOut => "logged_out",
    }
}

/// An OS notification when nobody is looking at the app. Survivors' never carry content: their
/// phone's lock screen may be seen by the person they are hiding from.
fn notify_os(app: &AppHandle, role: Option<Role>, data: &serde_json::Value) {
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if focused {
        return;
    }
    let disguised = app.state::<crate::AppState>().store.disguised();
    let name = if disguised { "Notes" } else { "Kintara" };
    let (title, body) = if role == Some(Role::Survivor) || role.is_none() || disguised {
        (name.to_owned(), "You have a new update".to_owned())
    } else {
        (
            data["subject"].as_str().unwrap_or("Kintara").to_owned(),
            data["message"]
                .as_str()
                .unwrap_or("You have a new update")
                .to_owned(),
        )
    };
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %e, "no OS notification");
    }
}
