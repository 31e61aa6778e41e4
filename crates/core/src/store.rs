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
