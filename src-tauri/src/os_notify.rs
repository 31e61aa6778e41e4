//! OS notifications, raised through tauri-plugin-notification (on Linux over the desktop
//! notification protocol on D-Bus; on phones by the plugin). A click on one (`tap`) brings the
//! window forward and opens the notification's room or case: the UI hears `open-notification`
//! and does what a tap on the feed's entry does.

use std::collections::VecDeque;
use std::sync::Mutex;

use kintara_api::app::{event, AppEvent};
use kintara_api::Notification;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

/// Notifications a click can still open, newest last; older ones are forgotten (a click on one
/// then only brings the window forward).
const REMEMBERED: usize = 64;

/// The notifications shown, by the id the plugin was given.
#[derive(Default)]
pub struct Shown {
    recent: Mutex<(i32, VecDeque<(i32, Notification)>)>,
}

impl Shown {
    fn remember(&self, n: &Notification) -> i32 {
        let mut guard = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let (next, recent) = &mut *guard;
        *next = next.wrapping_add(1).max(1);
        recent.push_back((*next, n.clone()));
        if recent.len() > REMEMBERED {
            recent.pop_front();
        }
        *next
    }

    fn take(&self, id: i32) -> Option<Notification> {
        let mut guard = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let at = guard.1.iter().position(|(i, _)| *i == id)?;
        guard.1.remove(at).map(|(_, n)| n)
    }
}

/// Listens for clicks on the notifications this app raises.
pub fn init(app: &AppHandle) -> tauri::Result<()> {
    app.manage(Shown::default());
    let handle = app.clone();
    let listening = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        if let Some(w) = handle.get_webview_window("main") {
            let _ = w.unminimize();
            let _ = w.show();
            let _ = w.set_focus();
        }
        let Some(id) = performed.notification().map(|n| n.id()) else {
            return;
        };
        if let Some(n) = handle.state::<Shown>().take(id) {
            let _ = handle.emit(event::OpenNotification::NAME, &n);
        }
    });
    if let Err(e) = listening {
        tracing::debug!(error = %e, "clicks on OS notifications are not reported here");
    }
    Ok(())
}

/// Raises `title` and `body` for `n`; a click on it opens `n`'s room or case.
pub fn show(app: &AppHandle, title: String, body: String, n: &Notification) {
    let id = app.state::<Shown>().remember(n);
    let shown = app
        .notification()
        .builder()
        .id(id)
        .title(title)
        .body(body)
        .show();
    if let Err(e) = shown {
        tracing::debug!(error = %e, "no OS notification");
    }
}
