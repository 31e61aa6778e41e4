//! The session kept on the device through tauri-plugin-store. The session (which holds the
//! refresh token) is sealed with the device key from `kintara_core::vault` before it is written;
//! only the server address is stored in clear.

use std::sync::Arc;

use kintara_core::store::StoreError;
use kintara_core::vault::Vault;
use kintara_core::{StoredSession, TokenStore};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_store::{Store, StoreExt};

const STORE_FILE: &str = "kintara.json";
const SESSION_KEY: &str = "session";
const SERVER_KEY: &str = "server_url";
const DISGUISE_KEY: &str = "notes_mode";

pub struct SecureStore {
    store: Arc<Store<tauri::Wry>>,
    vault: Vault,
}

impl SecureStore {
    pub fn open(app: &AppHandle<tauri::Wry>) -> Result<Self, Box<dyn std::error::Error>> {
        let store = app.store(STORE_FILE)?;
        let key_path = key_dir(app)?.join("device.key");
        Ok(SecureStore {
            store,
            vault: Vault::open_or_create(&key_path)?,
        })
    }

    pub fn server_url(&self) -> Option<String> {
        self.store
            .get(SERVER_KEY)
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// Whether the app shows itself as "Notes".
    pub fn disguised(&self) -> bool {
        self.store
            .get(DISGUISE_KEY)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub fn set_disguised(&self, on: bool) -> Result<(), StoreError> {
        self.store.set(DISGUISE_KEY, on);
        self.store.save().map_err(|e| StoreError(e.to_string()))
    }

    pub fn set_server_url(&self, url: &str) -> Result<(), StoreError> {
        self.store.set(SERVER_KEY, url);
        self.store.save().map_err(|e| StoreError(e.to_string()))
    }
}

fn key_dir<R: Runtime>(app: &AppHandle<R>) -> Result<std::path::PathBuf, tauri::Error> {
    app.path().app_local_data_dir()
}

impl TokenStore for SecureStore {
    fn load(&self) -> Result<Option<StoredSession>, StoreError> {
        let Some(sealed) = self.store.get(SESSION_KEY) else {
            return Ok(None);
        };
        let Some(sealed) = sealed.as_str() else {
            return Ok(None);
        };
        // A session that cannot be opened (new device key, damage) is simply no session.
        match self.vault.open(SESSION_KEY, sealed) {
            Ok(plain) => Ok(serde_json::from_slice(&plain).ok()),
            Err(_) => Ok(None),
        }
    }

    fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(session).map_err(|e| StoreError(e.to_string()))?;
        self.store
            .set(SESSION_KEY, self.vault.seal(SESSION_KEY, &plain));
        self.store.save().map_err(|e| StoreError(e.to_string()))
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.store.delete(SESSION_KEY);
        self.store.save().map_err(|e| StoreError(e.to_string()))
    }
}
