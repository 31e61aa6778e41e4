//! The signed-in runtime: the core's sync service, outbox and cache running for this device,
//! and their news forwarded to the UI as Tauri events:
//! - `sync-state`: "connecting" | "online" | "polling" | "offline" | "logged_out";
//! - `kintara-event`: every frame's `Event` (a resync too), after the cache has applied it;
//! - `outbox`: the outbox items (queued / sending / failed), for the outbox view and local echo.
//!
//! It also raises OS notifications for notification frames while the window is not focused.
//! A survivor's OS notification never shows content: it says only "You have a new update".

use std::path::Path;
use std::sync::Arc;

use kintara_api::app::{event, AppEvent, SyncStatus};
use kintara_api::{Event, Notification, Role};
use kintara_core::account::{Account, Running};
use kintara_core::sync::{SyncEvent, SyncState};
use kintara_core::vault::Vault;
use kintara_core::Client;
use kintara_i18n::{notification, Lang};
use tauri::{AppHandle, Emitter, Manager};

/// The signed-in runtime: the core's `Account` running, and its news forwarded to the UI.
pub struct Live {
    pub account: Account,
    running: Running,
    forwarders: Vec<tauri::async_runtime::JoinHandle<()>>,
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
        let account = Account::open(client.clone(), dir, vault)
            .await
            .map_err(|e| e.to_string())?;
        let (running, mut events) = account.run();
        let mut forwarders = Vec::new();

        let mut states = account.sync.state();
        let emit_app = app.clone();
        forwarders.push(tauri::async_runtime::spawn(async move {
            loop {
                let state = states.borrow_and_update().clone();
                let _ = emit_app.emit(event::SyncStateChanged::NAME, state_label(&state));
                if states.changed().await.is_err() {
                    return;
                }
            }
        }));

        let emit_app = app.clone();
        let role = client.current_user().map(|u| u.role);
        forwarders.push(tauri::async_runtime::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    // Fell behind: the screens refetch as after a resync.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        SyncEvent::ResyncRequired
                    }
                    Err(_) => return,
                };
                match &event {
                    SyncEvent::Frame(frame) => {
                        if let Event::Notification(n) = &frame.event {
                            notify_os(&emit_app, role, n);
                        }
                        let _ = emit_app.emit(event::Received::NAME, &frame.event);
                    }
                    SyncEvent::ResyncRequired => {
                        let _ = emit_app.emit(event::Received::NAME, Event::ResyncRequired {});
                    }
                }
            }
        }));

        let mut items = account.outbox.subscribe();
        let emit_app = app.clone();
        forwarders.push(tauri::async_runtime::spawn(async move {
            loop {
                let list = items.borrow_and_update().clone();
                let _ = emit_app.emit(event::OutboxChanged::NAME, &list);
                if items.changed().await.is_err() {
                    return;
                }
            }
        }));

        Ok(Live {
            account,
            running,
            forwarders,
        })
    }

    /// Stops the tasks; with `wipe`, the local data goes too (sign-out, panic wipe).
    pub async fn stop(self, wipe: bool) {
        self.running.stop();
        for t in &self.forwarders {
            t.abort();
        }
        if wipe {
            if let Err(e) = self.account.wipe().await {
                tracing::warn!(error = %e, "wiping local data failed");
            }
        }
    }
}

/// The core's sync state as the frame shows it.
pub fn state_label(state: &SyncState) -> SyncStatus {
    match state {
        SyncState::Idle | SyncState::Connecting => SyncStatus::Connecting,
        SyncState::Online => SyncStatus::Online,
        SyncState::Polling => SyncStatus::Polling,
        SyncState::Offline { .. } => SyncStatus::Offline,
        SyncState::LoggedOut => SyncStatus::LoggedOut,
    }
}

/// An OS notification when nobody is looking at the app, in the language the UI shows.
fn notify_os(app: &AppHandle, role: Option<Role>, n: &Notification) {
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if focused {
        return;
    }
    let state = app.state::<crate::AppState>();
    let lang = crate::ui_error::language();
    let (title, body) = os_text(lang, role, state.store.disguised(), n);
    let urgent = role.is_some_and(|r| n.priority.is_urgent_alert(r));
    crate::os_notify::show(app, title, body, n, urgent);
}

/// An OS notification's title and text, worded as the app's feed words it. A survivor's (and
/// anyone's while the app is disguised) never carry content: her phone's lock screen may be seen
/// by the person she is hiding from.
pub fn os_text(
    lang: Lang,
    role: Option<Role>,
    disguised: bool,
    n: &Notification,
) -> (String, String) {
    let name = if disguised { "Notes" } else { "Kintara" };
    if role == Some(Role::Survivor) || role.is_none() || disguised {
        return notification::for_survivor(lang, n.notification_type, name);
    }
    if let Some(worded) = notification::from_params(lang, n.notification_type, &n.params) {
        return worded;
    }
    // Without the values to word it (an older server), the server's own English.
    (n.subject.clone(), n.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::NotificationParams;
    use serde_json::json;

    /// A notification as the server sends it, from the fields that matter here.
    fn note(fields: serde_json::Value) -> Notification {
        let mut n = json!({
            "id": uuid::Uuid::nil(), "recipient": uuid::Uuid::nil(),
            "notification_type_display": "", "priority": "normal", "incident": null,
            "conversation": null, "channels": {}, "is_read": false, "read_at": null,
            "created_at": "2026-11-22T10:00:00Z",
        });
        for (k, v) in fields.as_object().expect("fields") {
            n[k] = v.clone();
        }
        serde_json::from_value(n).expect("a notification")
    }

    /// A `notification` frame's data as the server sends it to a provider.
    fn assigned() -> Notification {
        note(json!({
            "notification_type": "case_assigned",
            "subject": "Case KIN-20261122-007 assigned to you",
            "message": "Physical Violence (urgent). Accept or decline it.",
            "params": {
                "case_number": "KIN-20261122-007",
                "incident_type": "physical",
                "urgency": "urgent",
            },
        }))
    }

    #[test]
    fn staff_see_the_case_in_the_language_the_ui_shows() {
        let provider = Some(Role::Provider);
        let (title, body) = os_text(Lang::Sw, provider, false, &assigned());
        assert_eq!(title, "Umekabidhiwa kesi KIN-20261122-007");
        assert_eq!(body, "Ukatili wa kimwili (haraka). Ikubali au uikatae.");
        let (title, _) = os_text(Lang::En, provider, false, &assigned());
        assert_eq!(title, "Case KIN-20261122-007 assigned to you");
        // Without values (an older server): its English, as sent.
        let mut old = assigned();
        old.params = NotificationParams::default();
        let (title, body) = os_text(Lang::Sw, provider, false, &old);
        assert_eq!(title, "Case KIN-20261122-007 assigned to you");
        assert_eq!(body, "Physical Violence (urgent). Accept or decline it.");
    }

    #[test]
    fn survivors_and_a_disguised_app_show_no_content() {
        let message = note(json!({
            "notification_type": "new_message",
            "subject": "New message",
            "message": "Dr. Achieng sent you a message.",
            "params": {"sender_name": "Dr. Achieng"},
        }));
        for (role, disguised) in [
            (Some(Role::Survivor), false),
            (None, false),
            (Some(Role::Provider), true),
        ] {
            for data in [&message, &assigned()] {
                for lang in [Lang::En, Lang::Sw] {
                    let (title, body) = os_text(lang, role, disguised, data);
                    assert_eq!(title, if disguised { "Notes" } else { "Kintara" });
                    assert!(
                        !body.contains("Achieng") && !body.contains("KIN-"),
                        "{body}"
                    );
                    assert!(!body.contains("Physical"), "{body}");
                }
            }
        }
        let (_, body) = os_text(Lang::Sw, Some(Role::Survivor), false, &message);
        assert_eq!(body, "Una ujumbe mpya.");
    }
}
