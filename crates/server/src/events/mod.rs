//! The per-user event log: every user-visible change appends frames here inside its own
//! transaction (`append`), readers page through it by cursor (`since`), retention trims it
//! (`prune`), and the `Hub` wakes waiting readers only after the writing request's transaction
//! has finished (`publish` and the `collect` middleware). The database is the source of truth;
//! a wake-up only says "look again".

pub mod broker;
pub mod handlers;
pub mod hub;
mod publish;
mod repo;

pub use hub::{Found, Hub};
pub use kintara_api::Cursor;
pub use publish::{
    collect, publish_after_commit, wake_after_commit, wake_outbox_after_commit, Published,
};
pub(crate) use publish::{committed_since, mark};
pub use repo::{append, append_all, append_many, end, prune, since};

/// How long frames are kept before `prune` removes them (a client away longer must resync).
pub const RETENTION_DAYS: i64 = 7;
/// Most frames one read returns; the client continues from the returned cursor.
pub const PAGE_LIMIT: i64 = 500;

/// How often retention runs.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs `prune` now and then every hour for frames older than `RETENTION_DAYS`. The caller
/// aborts the task at shutdown.
pub fn spawn_retention(db: crate::db::Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            let cutoff = chrono::Utc::now() - chrono::Duration::days(RETENTION_DAYS);
            let result = match db.write.acquire().await {
                Ok(mut conn) => prune(&mut conn, cutoff).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(removed) => tracing::debug!(removed, "event log pruned"),
                // The next run retries; readers are unaffected (they only see a longer log).
                Err(e) => tracing::warn!(error = %e, "pruning the event log failed"),
            }
        }
    })
}
