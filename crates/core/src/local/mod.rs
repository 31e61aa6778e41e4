//! The device's local store: the sync cursor, the outbox of user actions not yet delivered, and a
//! cache for reading offline. One trait, two backends (memory for tests and ephemeral sessions,
//! SQLite on the device), both held to the same conformance suite (`tests/local_store.rs`).

mod memory;
mod sqlite;

use std::future::Future;

pub use kintara_api::app::{OutboxAction, OutboxItem, OutboxState};
pub use memory::MemoryLocal;
pub use sqlite::SqliteLocal;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The database could not be opened, read or written.
    #[error("local database error: {0}")]
    Database(String),
    /// The data was sealed with another key (a wrong PIN, or another device's key). Nothing was
    /// changed; opening again with the right key finds everything.
    #[error("the local data is locked with another key")]
    WrongKey,
    /// A row could not be unsealed or decoded although the key is right: damaged data.
    #[error("local data is damaged: {0}")]
    Corrupt(String),
    /// The outbox item is gone (delivered or discarded meanwhile).
    #[error("no outbox item {0}")]
    NotFound(i64),
}

impl From<sqlx::Error> for LocalError {
    fn from(e: sqlx::Error) -> Self {
        LocalError::Database(e.to_string())
    }
}

/// What `enqueue` stores; the store assigns the id and the initial state.
#[derive(Clone)]
pub struct NewOutboxItem {
    pub client_id: String,
    pub lane: String,
    pub action: OutboxAction,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Bytes kept with the item until it is removed (an evidence file's content).
    pub attachment: Option<Vec<u8>>,
}

impl std::fmt::Debug for NewOutboxItem {
    // Not the bytes: a file may be 50 MB, and it is case content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOutboxItem")
            .field("client_id", &self.client_id)
            .field("lane", &self.lane)
            .field("action", &self.action)
            .field("created_at", &self.created_at)
            .field("attachment_len", &self.attachment.as_ref().map(Vec::len))
            .finish()
    }
}

impl NewOutboxItem {
    /// An item for `action` with its derived lane, created now.
    pub fn new(client_id: String, action: OutboxAction) -> Self {
        NewOutboxItem {
            client_id,
            lane: action.lane(),
            action,
            created_at: now_ms(),
            attachment: None,
        }
    }

    /// The same item carrying `bytes`, stored (sealed) with it and removed with it.
    pub fn with_attachment(mut self, bytes: Vec<u8>) -> Self {
        self.attachment = Some(bytes);
        self
    }

    /// The stored item, once the store has given it `id`: queued, never tried.
    pub fn queued(self, id: i64) -> OutboxItem {
        OutboxItem {
            id,
            client_id: self.client_id,
            lane: self.lane,
            action: self.action,
            state: OutboxState::Queued,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            created_at: self.created_at,
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub type LocalResult<T> = Result<T, LocalError>;

/// The local store. Methods are `Send` futures so the outbox and sync loops can be spawned.
pub trait LocalStore: Send + Sync + 'static {
    fn cursor(&self) -> impl Future<Output = LocalResult<Option<String>>> + Send;
    fn set_cursor(&self, cursor: &str) -> impl Future<Output = LocalResult<()>> + Send;

    /// Stores a new item (and its attachment): a fresh increasing id, state `Queued`, no
    /// attempts.
    fn enqueue(&self, item: NewOutboxItem) -> impl Future<Output = LocalResult<OutboxItem>> + Send;
    /// Stores several items, in order, all or none (a report with its files: a process killed
    /// halfway must not leave a report without some of them).
    fn enqueue_all(
        &self,
        items: Vec<NewOutboxItem>,
    ) -> impl Future<Output = LocalResult<Vec<OutboxItem>>> + Send;
    /// The bytes stored with the item of `client_id`; `None` when it had none or is gone.
    fn attachment(
        &self,
        client_id: &str,
    ) -> impl Future<Output = LocalResult<Option<Vec<u8>>>> + Send;
    /// Every item not yet delivered (or discarded), in id order.
    fn outbox(&self) -> impl Future<Output = LocalResult<Vec<OutboxItem>>> + Send;
    /// Saves the item's state, attempts, next_attempt_at and last_error.
    fn update(&self, item: &OutboxItem) -> impl Future<Output = LocalResult<()>> + Send;
    /// Removes the item and its attachment.
    fn remove(&self, id: i64) -> impl Future<Output = LocalResult<()>> + Send;
    /// Items a killed process left in `Sending` go back to `Queued`, counting the interrupted try
    /// as an attempt (it may have reached the server). Call once at start.
    fn requeue_interrupted(&self) -> impl Future<Output = LocalResult<()>> + Send;

    fn put_cached(
        &self,
        kind: &str,
        key: &str,
        json: &str,
    ) -> impl Future<Output = LocalResult<()>> + Send;
    /// `(key, json)` pairs of `kind`, in key order.
    fn cached(&self, kind: &str)
        -> impl Future<Output = LocalResult<Vec<(String, String)>>> + Send;
    fn remove_cached(&self, kind: &str, key: &str) -> impl Future<Output = LocalResult<()>> + Send;

    /// Logout or panic wipe: the cursor, the outbox (with its attachments) and the cache are all
    /// gone.
    fn wipe(&self) -> impl Future<Output = LocalResult<()>> + Send;
}
