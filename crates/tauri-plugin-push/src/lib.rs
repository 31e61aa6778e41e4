//! Push token registration for the Kintara app, laid out like the plugins in
//! `tauri-apps/plugins-workspace`.
//!
//! - **Android**: the Kotlin `PushPlugin` (`android/`) asks Firebase Cloud Messaging for this
//!   device's registration token.
//! - **iOS**: the Swift `PushPlugin` (`ios/`) registers with APNs and returns the device token as
//!   lowercase hex.
//! - **Desktop**: [`Push::register`] answers [`Error::NotSupported`]; the app's live connection
//!   and OS notifications (tauri-plugin-notification) carry notifications there.
//!
//! The app sends the token to the server (`POST /api/devices/`) through the client core; this
//! plugin only obtains it. The webview can call `plugin:push|register` and
//! `plugin:push|unregister` when the capability grants `push:default`.

use tauri::{
    plugin::{Builder, TauriPlugin},
    Manager, Runtime,
};

mod commands;
#[cfg(desktop)]
mod desktop;
mod error;
#[cfg(mobile)]
mod mobile;
mod models;

pub use error::{Error, Result};
pub use models::{PushPlatform, PushToken};

#[cfg(desktop)]
pub use desktop::Push;
#[cfg(mobile)]
pub use mobile::Push;

/// Access to the push APIs from [`tauri::App`], [`tauri::AppHandle`], windows and webviews.
pub trait PushExt<R: Runtime> {
    /// The [`Push`] instance the plugin manages.
    fn push(&self) -> &Push<R>;
}

impl<R: Runtime, T: Manager<R>> PushExt<R> for T {
    fn push(&self) -> &Push<R> {
        self.state::<Push<R>>().inner()
    }
}

/// Initializes the plugin (`.plugin(tauri_plugin_push::init())`).
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("push")
        .invoke_handler(tauri::generate_handler![
            commands::register,
            commands::unregister
        ])
        .setup(|app, api| {
            #[cfg(mobile)]
            let push = mobile::init(app, api)?;
            #[cfg(desktop)]
            let push = desktop::init(app, api)?;
            app.manage(push);
            Ok(())
        })
        .build()
}
