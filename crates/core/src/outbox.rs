//! The outbox: every mutation the user makes is persisted with a client id before any network
//! call, then sent in order per lane (room, case, reports) until the server has it. The server's
//! idempotency on client ids turns "at least once" into exactly once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kintara_api::SendMessage;
use rand::Rng;
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::local::{now_ms, LocalError, LocalResult, LocalStore, NewOutboxItem};
use crate::local::{OutboxAction, OutboxItem, OutboxState};
use crate::{Client, CoreError, ErrorClass};

const BACKOFF_START_MS: i64 = 1_000;
const BACKOFF_CAP_MS: i64 = 30_000;

#[derive(Debug, Clone)]
pub enum OutboxEvent {
    /// The server has the action; `result_json` is its answer (`null` when a repeat was refused
    /// as already done, see `already_applied`).
    Delivered {
        client_id: String,
        result_json: String,
    },
}

pub struct Outbox<S: LocalStore> {
    store: Arc<S>,
    client: Arc<Client>,
    view: watch::Sender<Vec<OutboxItem>>,
    events: broadcast::Sender<OutboxEvent>,
    wake: Notify,
    /// Set by `wake`: the network is back, so waiting out a backoff is pointless.
    skip_backoff: AtomicBool,
}

enum Outcome {
    Settled,
    /// No usable session: sending anything else now would fail the same way.
    AuthHold,
}

impl<S: LocalStore> Outbox<S> {
    pub fn new(store: Arc<S>, client: Arc<Client>) -> Self {
        Outbox {
            store,
            client,
            view: watch::channel(Vec::new()).0,
            events: broadcast::channel(256).0,
            wake: Notify::new(),
            skip_backoff: AtomicBool::new(false),
        }
    }

    /// Persists `action` with a fresh client id; it is sent by `run`.
    pub async fn enqueue(&self, mut action: OutboxAction) -> LocalResult<OutboxItem> {
        let client_id = Uuid::new_v4().to_string();
        if let OutboxAction::FileReport(report) = &mut action {
            report.client_id = Some(client_id.clone());
        }
        let item = self
            .store
            .enqueue(NewOutboxItem::new(client_id, action))
            .await?;
        self.view.send_modify(|v| v.push(item.clone()));
        self.wake.notify_one();
        Ok(item)
    }

    /// Everything not yet delivered, in the order it was made.
    pub async fn items(&self) -> LocalResult<Vec<OutboxItem>> {
        self.store.outbox().await
    }

    /// The outbox as the UI shows it (queued / sending / failed); an item leaves it when
    /// delivered. Up to date once `run` has started.
    pub fn subscribe(&self) -> watch::Receiver<Vec<OutboxItem>> {
        self.view.subscribe()
    }

    pub fn events(&self) -> broadcast::Receiver<OutboxEvent> {
        self.events.subscribe()
    }

    /// Sends a failed (or backing-off) item again, now.
    pub async fn retry(&self, id: i64) -> LocalResult<()> {
        let mut item = self
            .store
            .outbox()
            .await?
            .into_iter()
            .find(|i| i.id == id)
            .ok_or(LocalError::NotFound(id))?;
        item.state = OutboxState::Queued;
        item.next_attempt_at = None;
        item.last_error = None;
        self.store.update(&item).await?;
        self.show(&item);
        self.wake.notify_one();
        Ok(())
    }

    /// Drops an item the user gave up on. One already in flight may still arrive.
    pub async fn discard(&self, id: i64) -> LocalResult<()> {
        self.store.remove(id).await?;
        self.view.send_modify(|v| v.retain(|i| i.id != id));
        self.wake.notify_one();
        Ok(())
    }

    /// The network came back, the app returned to the foreground, or the user signed in: try
    /// everything now.
    pub fn wake(&self) {
        self.skip_backoff.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// The sending loop; spawn it once. Each round sends the head of every lane that is due,
    /// lanes in parallel, then looks again.
    pub async fn run(self: Arc<Self>) {
        if let Err(e) = self.store.requeue_interrupted().await {
            tracing::error!(error = %e, "outbox: cannot requeue interrupted sends");
        }
        self.refresh().await;
        let mut held_for_auth = false;
        loop {
            if held_for_auth {
                self.wake.notified().await;
                held_for_auth = false;
            }
            let ignore_backoff = self.skip_backoff.swap(false, Ordering::SeqCst);
            // The view mirrors the store (loaded once, then changed item by item as the store
            // is), so a long queue is not re-read and unsealed for every delivery.
            let items = self.view.borrow().clone();
            let (ready, next_due) = due_heads(items, now_ms(), ignore_backoff);
            if ready.is_empty() {
                self.sleep_or_wake(next_due).await;
                continue;
            }
            let mut sends = JoinSet::new();
            for item in ready {
                let me = self.clone();
                sends.spawn(async move { me.deliver(item).await });
            }
            while let Some(outcome) = sends.join_next().await {
                if matches!(outcome, Ok(Outcome::AuthHold)) {
                    held_for_auth = true;
                }
            }
        }
    }

    async fn sleep_or_wake(&self, until: Option<i64>) {
        match until {
            Some(at) => {
                let wait = Duration::from_millis((at - now_ms()).max(0) as u64);
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            None => self.wake.notified().await,
        }
    }

    async fn deliver(&self, mut item: OutboxItem) -> Outcome {
        item.state = OutboxState::Sending;
        if !self.save(&item).await {
            return Outcome::Settled;
        }
        let error = match self.send(&item).await {
            Ok(result_json) => {
                self.delivered(item, result_json).await;
                return Outcome::Settled;
            }
            Err(e) => e,
        };
        let mut outcome = Outcome::Settled;
        match error.class() {
            ErrorClass::Network | ErrorClass::Transient => {
                item.state = OutboxState::Queued;
                item.attempts = item.attempts.saturating_add(1);
                item.next_attempt_at = Some(now_ms() + backoff_ms(item.attempts));
                item.last_error = Some(error.to_string());
            }
            ErrorClass::Auth => {
                // Not the item's fault: it waits, untouched, for the session to come back.
                item.state = OutboxState::Queued;
                outcome = Outcome::AuthHold;
            }
            ErrorClass::Permanent if already_applied(&item, &error) => {
                self.delivered(item, "null".into()).await;
                return Outcome::Settled;
            }
            ErrorClass::Permanent => {
                item.state = OutboxState::Failed;
                item.next_attempt_at = None;
                item.last_error = Some(error.to_string());
            }
        }
        self.save(&item).await;
        outcome
    }

    async fn send(&self, item: &OutboxItem) -> Result<String, CoreError> {
        let c = &self.client;
        match &item.action {
            OutboxAction::SendMessage { room, content } => {
                let req = SendMessage {
                    room: *room,
                    content: content.clone(),
                    client_id: Some(item.client_id.clone()),
                };
                c.send_message(&req).await.map(to_json)
            }
            OutboxAction::FileReport(report) => {
                let mut report = report.clone();
                report.client_id = Some(item.client_id.clone());
                c.create_incident(&report).await.map(to_json)
            }
            OutboxAction::Accept { incident, notes } => c
                .accept_assignment(*incident, notes.clone())
                .await
                .map(to_json),
            OutboxAction::Reject { incident, reason } => c
                .reject_assignment(*incident, reason.clone())
                .await
                .map(to_json),
            OutboxAction::UpdateStatus { incident, request } => {
                c.update_case_status(*incident, request).await.map(to_json)
            }
            OutboxAction::MarkRead { room } => c.mark_room_read(*room).await.map(to_json),
        }
    }

    async fn delivered(&self, item: OutboxItem, result_json: String) {
        match self.store.remove(item.id).await {
            Ok(()) | Err(LocalError::NotFound(_)) => {
                self.view.send_modify(|v| v.retain(|i| i.id != item.id));
            }
            Err(e) => {
                // It will be sent again; the server answers a repeated client id with the
                // original.
                tracing::error!(error = %e, "outbox: cannot remove a delivered item");
                self.refresh().await;
            }
        }
        let _ = self.events.send(OutboxEvent::Delivered {
            client_id: item.client_id,
            result_json,
        });
    }

    /// Saves the item's progress; false when it is gone (discarded meanwhile) or unsavable.
    async fn save(&self, item: &OutboxItem) -> bool {
        match self.store.update(item).await {
            Ok(()) => {
                self.show(item);
                true
            }
            Err(LocalError::NotFound(_)) => {
                self.view.send_modify(|v| v.retain(|i| i.id != item.id));
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot save an item's progress");
                self.refresh().await;
                false
            }
        }
    }

    /// Puts the item's new state into the view.
    fn show(&self, item: &OutboxItem) {
        self.view.send_modify(|v| {
            if let Some(slot) = v.iter_mut().find(|i| i.id == item.id) {
                *slot = item.clone();
            }
        });
    }

    /// Reloads the view from the store (at start, and after a storage error).
    async fn refresh(&self) {
        match self.store.outbox().await {
            Ok(items) => {
                self.view.send_replace(items);
            }
            Err(e) => tracing::error!(error = %e, "outbox: cannot read the local store"),
        }
    }
}

/// The first not-failed item of each lane that is due now, and when the next one falls due.
fn due_heads(
    items: Vec<OutboxItem>,
    now: i64,
    ignore_backoff: bool,
) -> (Vec<OutboxItem>, Option<i64>) {
    let mut lanes = HashSet::new();
    let mut ready = Vec::new();
    let mut next_due: Option<i64> = None;
    for item in items {
        // A failed item waits for the user without holding up the rest of its lane.
        if item.state == OutboxState::Failed || !lanes.insert(item.lane.clone()) {
            continue;
        }
        match item.next_attempt_at {
            Some(at) if at > now && !ignore_backoff => {
                next_due = Some(next_due.map_or(at, |d| d.min(at)));
            }
            _ => ready.push(item),
        }
    }
    (ready, next_due)
}

/// Case actions are not idempotent on a client id: after a try that may have reached the server,
/// a 409 ("already accepted", "not pending any more") means the earlier try took effect.
fn already_applied(item: &OutboxItem, error: &CoreError) -> bool {
    item.attempts > 0
        && error.status() == Some(409)
        && matches!(
            item.action,
            OutboxAction::Accept { .. }
                | OutboxAction::Reject { .. }
                | OutboxAction::UpdateStatus { .. }
        )
}

/// 1 s doubling per attempt, capped at 30 s, with "equal jitter" (half fixed, half random) so
/// many devices coming back at once do not retry in lockstep.
fn backoff_ms(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(6);
    let base = (BACKOFF_START_MS << doublings).min(BACKOFF_CAP_MS);
    base / 2 + rand::thread_rng().gen_range(0..=base / 2)
}

fn to_json<T: Serialize>(value: T) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_stays_under_thirty() {
        for (attempts, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (5, 16_000), (6, 30_000)] {
            for _ in 0..50 {
                let b = backoff_ms(attempts);
                assert!(b >= base / 2 && b <= base, "attempt {attempts}: {b}");
            }
        }
        assert!(backoff_ms(u32::MAX) <= BACKOFF_CAP_MS);
    }
}
