//! What every handler shares.

use std::sync::Arc;

use crate::auth::tokens::JwtKeys;
use crate::chat::SendQueue;
use crate::config::Config;
use crate::db::Db;
use crate::events::Hub;
use crate::evidence::EvidenceStore;
use crate::limits::Limits;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<JwtKeys>,
    /// The encrypted files of evidence uploads.
    pub evidence: Arc<EvidenceStore>,
    /// Wakes long-polls (and later sockets) after a request's events committed.
    pub events: Arc<Hub>,
    pub config: Arc<Config>,
    /// Where every chat message goes to be stored (see `chat::send`).
    pub sends: SendQueue,
    /// Per-account and per-address rate limits.
    pub limits: Arc<Limits>,
    /// Where sockets and long-polls report the notification frames they handed over.
    pub handover: crate::delivery::handover::Handover,
}
