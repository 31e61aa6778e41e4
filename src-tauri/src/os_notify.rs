//! OS notifications, raised through tauri-plugin-notification (on Linux over the desktop
//! notification protocol on D-Bus; on phones by the plugin). A click on one (`tap`) brings the
//! window forward and opens the notification's room or case: the UI hears `open-notification`
//! and does what a tap on the feed's entry does.
//!
//! An urgent alert to staff (`Priority::is_urgent_alert`) is marked critical on the Linux
//! desktop (the `urgency` hint 2: it stays until dismissed and passes "do not disturb"). The
//! plugin sets no urgency, so those go through notify-rust (the crate the plugin itself uses)
//! and a thread of their own waits for the click.

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

/// A click on an OS notification: the window comes forward and opens `n`, if still known.
fn clicked(handle: &AppHandle, n: Option<Notification>) {
    if let Some(w) = handle.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
    if let Some(n) = n {
        let _ = handle.emit(event::OpenNotification::NAME, &n);
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
        let n = performed
            .notification()
            .and_then(|n| handle.state::<Shown>().take(n.id()));
        clicked(&handle, n);
    });
    if let Err(e) = listening {
        tracing::debug!(error = %e, "clicks on OS notifications are not reported here");
    }
    Ok(())
}

/// Raises `title` and `body` for `n`; a click on it opens `n`'s room or case. `urgent`: an
/// urgent alert to staff, marked critical where the desktop knows the mark.
pub fn show(app: &AppHandle, title: String, body: String, n: &Notification, urgent: bool) {
    #[cfg(desktop_bus)]
    if urgent {
        critical::show(app, title, body, n);
        return;
    }
    #[cfg(not(desktop_bus))]
    let _ = urgent;
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

/// Critical notifications on the desktop notification protocol (Linux and the BSDs).
#[cfg(desktop_bus)]
mod critical {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use kintara_api::Notification;
    use notify_rust::Urgency;
    use tauri::AppHandle;

    /// Critical notifications stay until dismissed, each with a thread and a bus connection
    /// waiting for its click. Past this many waiting, a new one is still raised critical but
    /// its click is not followed (the window is not opened by it).
    const WAITING_AT_MOST: usize = 16;
    static WAITING: AtomicUsize = AtomicUsize::new(0);

    pub fn show(app: &AppHandle, title: String, body: String, n: &Notification) {
        let app = app.clone();
        let n = n.clone();
        // Connecting to the bus and the `Notify` call block.
        tauri::async_runtime::spawn_blocking(move || {
            let mut note = notify_rust::Notification::new();
            note.summary(&title)
                .body(&body)
                .urgency(Urgency::Critical)
                .auto_icon()
                // The protocol reports a click on the notification itself as the action
                // `default`, and only for one that offers it.
                .action("default", "");
            let shown = match note.show() {
                Ok(shown) => shown,
                Err(e) => {
                    tracing::debug!(error = %e, "no OS notification");
                    return;
                }
            };
            if WAITING.fetch_add(1, Ordering::SeqCst) >= WAITING_AT_MOST {
                WAITING.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            shown.wait_for_action(|action| {
                if action == "default" {
                    super::clicked(&app, Some(n));
                }
            });
            WAITING.fetch_sub(1, Ordering::SeqCst);
        });
    }
}
