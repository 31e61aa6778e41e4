//! Publish only after commit, structurally: each request runs inside a task-local collector;
//! `append` records the users it wrote for; when the handler has returned (its transaction
//! committed or rolled back) the middleware wakes them. A wake after a rollback is harmless:
//! waiters re-read the database and find nothing new.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use crate::state::AppState;

type Touched = Arc<Mutex<HashSet<Uuid>>>;

tokio::task_local! {
    static TOUCHED: Touched;
}

/// Records that `user` must be woken once the current request's transaction has finished (their
/// log was written, or their session ended). Outside a collector (a background job, a spawned
/// task) nothing is recorded, so nothing can be woken before commit; waiters find the frames at
/// their periodic re-check instead.
pub fn wake_after_commit(user: Uuid) {
    let recorded = TOUCHED.try_with(|t| {
        t.lock().unwrap_or_else(|e| e.into_inner()).insert(user);
    });
    if recorded.is_err() {
        tracing::debug!("event appended outside a request collector; waiters will poll for it");
    }
}

/// Runs `work` with a collector and returns its output and the users whose logs it wrote.
pub async fn collect<F: std::future::Future>(work: F) -> (F::Output, Vec<Uuid>) {
    let touched: Touched = Arc::default();
    let out = TOUCHED.scope(touched.clone(), work).await;
    let users = touched
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .collect();
    (out, users)
}

/// The middleware: the handler (and its transaction) finishes first, then its users are woken.
pub async fn publish_after_commit(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (response, users) = collect(next.run(req)).await;
    for user in users {
        state.events.wake(user);
    }
    response
}
