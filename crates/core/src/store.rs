//! Where a session is kept between runs. The app implements `TokenStore` over an encrypted file;
//! tests and tools use `MemoryStore`.

use std::sync::Mutex;

use kintara_api::{TokenPair, User};
use serde::{Deserialize, Serialize};

/// Everything needed to resume a session after a restart.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSession {
    pub user: User,
    pub tokens: TokenPair,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Persistent storage for the session. Implementations must not keep the refresh token in
/// plain text on disk.
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Result<Option<StoredSession>, StoreError>;
    fn save(&self, session: &StoredSession) -> Result<(), StoreError>;
    fn clear(&self) -> Result<(), StoreError>;
}

/// A store that forgets everything when the process ends.
#[derive(Default)]
pub struct MemoryStore(Mutex<Option<StoredSession>>);

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredSession>, StoreError> {
        Ok(self.0.lock().expect("not poisoned").clone())
    }

    fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        *self.0.lock().expect("not poisoned") = Some(session.clone());
        Ok(())
    }

    fn clear(&self) -> Result<(), StoreError> {
        *self.0.lock().expect("not poisoned") = None;
        Ok(())
    }
}

/// The session in one file, sealed with the vault (tools like the `kintara` CLI; the app uses
/// tauri-plugin-store the same way). Written atomically: a crash leaves the old or the new file.
pub struct SealedFileStore {
    path: std::path::PathBuf,
    vault: crate::vault::Vault,
}

const SESSION_CONTEXT: &str = "kintara.session";

impl SealedFileStore {
    pub fn new(path: impl Into<std::path::PathBuf>, vault: crate::vault::Vault) -> Self {
        SealedFileStore {
            path: path.into(),
            vault,
        }
    }
}

impl TokenStore for SealedFileStore {
    fn load(&self) -> Result<Option<StoredSession>, StoreError> {
        let sealed = match std::fs::read_to_string(&self.path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError(e.to_string())),
        };
        let plain = self
            .vault
            .open(SESSION_CONTEXT, sealed.trim())
            .map_err(|e| StoreError(e.to_string()))?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|e| StoreError(e.to_string()))
    }

    fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(session).map_err(|e| StoreError(e.to_string()))?;
        let sealed = self.vault.seal(SESSION_CONTEXT, &plain);
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, sealed)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| StoreError(e.to_string()))
    }

    fn clear(&self) -> Result<(), StoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }
}
