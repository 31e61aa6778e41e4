//! The session kept on the device through tauri-plugin-store. The session (which holds the
//! refresh token) is sealed with the device key (`crate::unlock::Keys`) before it is written;
//! only the server address and the disguise switch are stored in clear. Until the key is at hand
//! (unlock screen, PIN not chosen yet) no session is loaded and none can be saved.

use std::sync::Arc;

use kintara_core::store::StoreError;
use kintara_core::{StoredSession, TokenStore};
use tauri::AppHandle;
use tauri_plugin_store::{Store, StoreExt};

use crate::unlock::Keys;

const STORE_FILE: &str = "kintara.json";
const SESSION_KEY: &str = "session";
const SERVER_KEY: &str = "server_url";
const DISGUISE_KEY: &str = "notes_mode";

pub struct SecureStore {
    store: Arc<Store<tauri::Wry>>,
    keys: Arc<Keys>,
}

impl SecureStore {
    pub fn open(
        app: &AppHandle<tauri::Wry>,
        keys: Arc<Keys>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let store = app.store(STORE_FILE)?;
        Ok(SecureStore { store, keys })
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

impl TokenStore for SecureStore {
    fn load(&self) -> Result<Option<StoredSession>, StoreError> {
        let Some(sealed) = self.store.get(SESSION_KEY) else {
            return Ok(None);
        };
        let Some(sealed) = sealed.as_str() else {
            return Ok(None);
        };
        // Locked: no session yet (the app asks for the PIN, then loads it again).
        let Some(vault) = self.keys.vault() else {
            return Ok(None);
        };
        // A session that cannot be opened (new device key, damage) is simply no session.
        match vault.open(SESSION_KEY, sealed) {
            Ok(plain) => Ok(serde_json::from_slice(&plain).ok()),
            Err(_) => Ok(None),
        }
    }

    fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        let vault = self.keys.vault().ok_or_else(|| {
            StoreError("this device's data is locked: unlock it or choose a PIN first".into())
        })?;
        let plain = serde_json::to_vec(session).map_err(|e| StoreError(e.to_string()))?;
        self.store.set(SESSION_KEY, vault.seal(SESSION_KEY, &plain));
        self.store.save().map_err(|e| StoreError(e.to_string()))
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.store.delete(SESSION_KEY);
        self.store.save().map_err(|e| StoreError(e.to_string()))
    }
}
