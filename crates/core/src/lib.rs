//! The Kintara client core: everything the app does that is not drawing pixels. It talks to the
//! server, keeps the session (and refreshes it), and seals secrets before they touch the disk.
//! No Tauri or UI dependency, so all of it is tested headless against a real server.

pub mod client;
pub mod error;
pub mod store;
pub mod vault;

pub use client::Client;
pub use error::{CoreError, ErrorClass};
pub use store::{MemoryStore, StoredSession, TokenStore};
