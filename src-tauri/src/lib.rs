//! The Kintara app shell. Commands here are thin adapters: they hold no logic beyond turning
//! `kintara-core` results into what the UI shows. The UI never touches the network itself.

mod commands;
mod secure_store;
mod ui_error;

use std::sync::{Arc, RwLock};

use kintara_core::Client;
use tauri::Manager;

use secure_store::SecureStore;

/// The server the app talks to unless the user picks another.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";

pub struct AppState {
    client: RwLock<Arc<Client>>,
    store: Arc<SecureStore>,
}

impl AppState {
    fn client(&self) -> Arc<Client> {
        self.client.read().expect("not poisoned").clone()
    }
}

pub fn run() {
    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_biometric::init())
        .setup(|app| {
            let store = Arc::new(SecureStore::open(app.handle())?);
            let url = store.server_url().unwrap_or_else(|| {
                std::env::var("KINTARA_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER.into())
            });
            // A stored address that no longer parses falls back to the default.
            let client = Client::new(&url, store.clone())
                .or_else(|_| Client::new(DEFAULT_SERVER, store.clone()))?;
            app.manage(AppState {
                client: RwLock::new(Arc::new(client)),
                store,
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::set_server,
            commands::register,
            commands::login,
            commands::logout,
            commands::create_incident,
            commands::list_incidents,
        ])
        .run(tauri::generate_context!())
        .expect("the Kintara app failed to start");
}
