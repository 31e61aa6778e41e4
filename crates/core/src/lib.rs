//! The Kintara client core: everything the app does that is not drawing pixels. It talks to the
//! server, keeps the session (and refreshes it), and seals secrets before they touch the disk.
//! No Tauri or UI dependency, so all of it is tested headless against a real server.

pub mod account;
pub mod cache;
pub mod client;
pub mod error;
pub mod local;
pub mod outbox;
pub mod store;
pub mod sync;
pub mod vault;

pub use cache::{Cache, CacheError};
pub use client::Client;
pub use error::{CoreError, ErrorClass};
pub use local::{
    LocalError, LocalStore, MemoryLocal, NewOutboxItem, OutboxAction, OutboxItem, OutboxState,
    SqliteLocal,
};
pub use outbox::{Attachment, Outbox, OutboxEvent, QueueError, MAX_ATTACHMENTS};
pub use store::{MemoryStore, SealedFileStore, StoredSession, TokenStore};
