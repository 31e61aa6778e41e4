//! Publish only after commit, structurally: each request runs inside a task-local collector;
//! `append` records the frames it wrote (and other changes record the users they touched); when
//! the handler has returned (its transaction committed or rolled back) the middleware publishes.
//!
//! Two kinds of publication:
//! - a **wake** ("look again"): waiters re-read the database. A wake after a rollback is harmless:
//!   they find nothing new.
//! - a **delivery**: the frames themselves, handed to this instance's waiters so that they need
//!   not read them back. Only frames whose `db::WriteTx` committed are delivered (its `commit`
//!   declares them); any other frame of the request turns its user's publication into a wake,
//!   so a rolled-back frame can never be delivered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use kintara_api::EventFrame;
use uuid::Uuid;

use super::Hub;
use crate::state::AppState;

type Shared = Arc<Mutex<Collected>>;

tokio::task_local! {
    static COLLECTED: Shared;
}

/// What one request wrote, in order.
#[derive(Default)]
struct Collected {
    frames: Vec<Appended>,
    /// Users to wake without frames (a sign-out, say).
    woken: Vec<Uuid>,
    /// Deliveries were enqueued: the delivery workers look again.
    outbox: bool,
}

/// A frame appended to `user`'s log as number `seq`, and whether its transaction committed.
struct Appended {
    user: Uuid,
    seq: i64,
    frame: EventFrame,
    committed: bool,
}

/// What to publish once the request has finished.
#[derive(Default)]
pub struct Published {
    deliveries: HashMap<Uuid, Vec<(i64, EventFrame)>>,
    wakes: Vec<Uuid>,
    outbox: bool,
}

impl Published {
    /// Hands the collected frames and wakes to the hub (and through it to other instances).
    pub fn publish(self, hub: &Hub) {
        for (user, frames) in self.deliveries {
            hub.deliver(user, frames);
        }
        for user in self.wakes {
            hub.wake(user);
        }
        if self.outbox {
            hub.wake_outbox();
        }
    }
}

fn with_collected(f: impl FnOnce(&mut Collected)) {
    let recorded = COLLECTED.try_with(|c| f(&mut c.lock().unwrap_or_else(|e| e.into_inner())));
    if recorded.is_err() {
        tracing::debug!("event appended outside a request collector; waiters will poll for it");
    }
}

/// Records that `user` must be woken once the current request's transaction has finished (their
/// log was written, or their session ended). Outside a collector (a background job, a spawned
/// task) nothing is recorded, so nothing can be woken before commit; waiters find the frames at
/// their periodic re-check instead.
pub fn wake_after_commit(user: Uuid) {
    with_collected(|c| c.woken.push(user));
}

/// Records that deliveries were enqueued, so the delivery workers look once the request has
/// finished. Outside a collector they find them at their next periodic look (within a second).
pub fn wake_outbox_after_commit() {
    with_collected(|c| c.outbox = true);
}

/// Records a frame `append` wrote for `user` (not yet committed).
pub(super) fn record_frame(user: Uuid, seq: i64, frame: EventFrame) {
    with_collected(|c| {
        c.frames.push(Appended {
            user,
            seq,
            frame,
            committed: false,
        })
    });
}

/// Where the current request's frames stand now. Only `db::WriteTx` calls it, at its begin, and
/// passes it to `committed_since` after its commit.
pub(crate) fn mark() -> usize {
    COLLECTED
        .try_with(|c| c.lock().unwrap_or_else(|e| e.into_inner()).frames.len())
        .unwrap_or(0)
}

/// Declares the frames appended since `mark` committed, so they are delivered rather than only
/// announced (`db::WriteTx::commit`, right after the commit returned Ok).
pub(crate) fn committed_since(mark: usize) {
    with_collected(|c| {
        for f in c.frames.iter_mut().skip(mark) {
            f.committed = true;
        }
    });
}

/// Runs `work` with a collector and returns its output and what to publish.
pub async fn collect<F: std::future::Future>(work: F) -> (F::Output, Published) {
    let shared: Shared = Arc::default();
    let out = COLLECTED.scope(shared.clone(), work).await;
    let collected = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
    (out, collected.into_published())
}

impl Collected {
    fn into_published(self) -> Published {
        let mut out = Published {
            outbox: self.outbox,
            ..Published::default()
        };
        let mut wake: Vec<Uuid> = self.woken;
        for f in self.frames {
            if f.committed {
                out.deliveries
                    .entry(f.user)
                    .or_default()
                    .push((f.seq, f.frame));
            } else {
                wake.push(f.user);
            }
        }
        wake.sort();
        wake.dedup();
        for user in &wake {
            // A wake makes waiters re-read everything; the frames would only be a shortcut.
            out.deliveries.remove(user);
        }
        out.wakes = wake;
        out
    }
}

/// The middleware: the handler (and its transaction) finishes first, then its users are woken.
pub async fn publish_after_commit(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (response, published) = collect(next.run(req)).await;
    published.publish(&state.events);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::{Cursor, Event};

    fn frame(seq: i64) -> EventFrame {
        EventFrame {
            cursor: Cursor::after(seq),
            event: Event::ResyncRequired {},
        }
    }

    #[tokio::test]
    async fn only_frames_declared_committed_are_delivered() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ((), published) = collect(async {
            // A first transaction rolled back: its frame must never be delivered.
            record_frame(a, 1, frame(1));
            let m = mark();
            record_frame(a, 1, frame(1));
            record_frame(b, 7, frame(7));
            committed_since(m);
        })
        .await;
        assert_eq!(
            published.wakes,
            vec![a],
            "a has an undeclared frame: wake, re-read"
        );
        assert!(!published.deliveries.contains_key(&a));
        assert_eq!(published.deliveries[&b].len(), 1);
    }
}
