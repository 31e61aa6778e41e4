//! The outbox: every mutation the user makes is persisted with a client id before any network
//! call, then sent in order per lane (room, case, reports) until the server has it. The server's
//! idempotency on client ids turns "at least once" into exactly once.
//!
//! A report's files are queued with it, in one store transaction, as `AttachEvidence` items that
//! follow it in its lane. Their bytes are copied into the (sealed) store at that moment, so the
//! original file may be deleted and the app killed; they are removed once delivered.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kintara_api::{
    evidence_description, IncidentCreate, SendMessage, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_DESCRIPTION,
};
use rand::Rng;
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::error::at_least;
use crate::local::{now_ms, LocalError, LocalResult, LocalStore, NewOutboxItem};
use crate::local::{OutboxAction, OutboxItem, OutboxState};
use crate::{Client, CoreError, ErrorClass};

/// The most files one report may carry.
pub const MAX_ATTACHMENTS: usize = 10;
/// Where a delivered report's case id waits for its files (cache kind, keyed by the report's
/// client id); removed with the report's last file.
const REPORT_CASES: &str = "outbox.report_case";

/// A file to send with a report, already read into memory and checked.
pub struct Attachment {
    file_name: String,
    description: Option<String>,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    // Neither the name, the description nor the bytes: all may say who the survivor is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("size", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Why a report or a file cannot be queued. Nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("\"{name}\" is {size_mb} MB; a file can be at most {max_mb} MB")]
    TooLarge {
        name: String,
        size_mb: u64,
        max_mb: u64,
    },
    #[error("\"{0}\" is empty")]
    Empty(String),
    #[error("a report can carry at most {MAX_ATTACHMENTS} files")]
    TooMany,
    #[error("the description of \"{name}\": {message}")]
    Description { name: String, message: String },
    #[error("cannot read \"{name}\": {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Local(#[from] LocalError),
}

const MIB: u64 = 1024 * 1024;

impl Attachment {
    /// A file's content with the name it will have on the case. The server's largest limit (any
    /// kind) is checked here; the per-kind limits need the content's type, which the server
    /// decides, so a photo over its own limit is refused at delivery, as a failed item.
    pub fn new(
        file_name: &str,
        description: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Self, QueueError> {
        let name = file_name.trim().to_owned();
        check_size(&name, bytes.len() as u64)?;
        let description = match description {
            Some(d) => evidence_description(d).map_err(|_| QueueError::Description {
                name: name.clone(),
                message: format!("at most {MAX_EVIDENCE_DESCRIPTION} characters"),
            })?,
            None => None,
        };
        Ok(Attachment {
            file_name: name,
            description,
            bytes,
        })
    }

    /// Reads the file at `path`; a file over the limit is refused before it is read.
    pub fn from_path(path: &Path, description: Option<&str>) -> Result<Self, QueueError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let read_err = |source| QueueError::Read {
            name: name.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_err)?.len();
        check_size(&name, size)?;
        let bytes = std::fs::read(path).map_err(read_err)?;
        Self::new(&name, description, bytes)
    }

    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

fn check_size(name: &str, size: u64) -> Result<(), QueueError> {
    if size == 0 {
        return Err(QueueError::Empty(name.to_owned()));
    }
    if size > MAX_EVIDENCE_BYTES {
        return Err(QueueError::TooLarge {
            name: name.to_owned(),
            size_mb: size.div_ceil(MIB),
            max_mb: MAX_EVIDENCE_BYTES / MIB,
        });
    }
    Ok(())
}

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
    /// Permanent refusals with the server's whole answer (`last_error` keeps only its sentence),
    /// for a caller waiting on its item: the report wizard shows the field errors on its form.
    refusals: broadcast::Sender<(String, Arc<CoreError>)>,
    wake: Notify,
    /// Set by `wake`: the network is back, so waiting out a backoff is pointless.
    skip_backoff: AtomicBool,
    /// Item id → unix ms before which the server asked not to be tried again (`Retry-After`).
    /// Unlike the backoff, a wake does not skip it. In memory: after a restart one early try
    /// only earns the same answer again.
    not_before: Mutex<HashMap<i64, i64>>,
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
            refusals: broadcast::channel(16).0,
            wake: Notify::new(),
            skip_backoff: AtomicBool::new(false),
            not_before: Mutex::new(HashMap::new()),
        }
    }

    /// Queues a report with its files, all in one step: the report first, then each file, in the
    /// lane of reports. The files' bytes are copied into the store now. Checked before anything
    /// is stored; on an error nothing is queued.
    pub async fn enqueue_report(
        &self,
        mut report: IncidentCreate,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<OutboxItem>, QueueError> {
        if attachments.len() > MAX_ATTACHMENTS {
            return Err(QueueError::TooMany);
        }
        let report_id = Uuid::new_v4().to_string();
        report.client_id = Some(report_id.clone());
        let mut items = vec![NewOutboxItem::new(
            report_id.clone(),
            OutboxAction::FileReport(report),
        )];
        for a in attachments {
            let action = OutboxAction::AttachEvidence {
                report: report_id.clone(),
                size_bytes: a.bytes.len() as u64,
                file_name: a.file_name,
                description: a.description,
            };
            items.push(
                NewOutboxItem::new(Uuid::new_v4().to_string(), action).with_attachment(a.bytes),
            );
        }
        let stored = self.store.enqueue_all(items).await?;
        self.view.send_modify(|v| v.extend(stored.iter().cloned()));
        self.wake.notify_one();
        Ok(stored)
    }

    /// Persists `action` with a fresh client id; it is sent by `run`. A report's files go with
    /// it through `enqueue_report`, which also stores their bytes.
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

    /// Permanent refusals as they happen: the item's client id and the server's answer. Each is
    /// sent before its item shows as failed in `subscribe`.
    pub fn refusals(&self) -> broadcast::Receiver<(String, Arc<CoreError>)> {
        self.refusals.subscribe()
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
        // The user asked for it: that overrides an earlier `Retry-After` too.
        self.hold(item.id, None);
        self.store.update(&item).await?;
        self.show(&item);
        self.wake.notify_one();
        Ok(())
    }

    /// Drops an item the user gave up on (a report with its files). One already in flight may
    /// still arrive.
    pub async fn discard(&self, id: i64) -> LocalResult<()> {
        let mut ids = vec![id];
        let items = self.view.borrow().clone();
        if let Some(OutboxItem {
            action: OutboxAction::FileReport(_),
            client_id,
            ..
        }) = items.iter().find(|i| i.id == id)
        {
            ids.extend(
                items
                    .iter()
                    .filter(|i| belongs_to(i, client_id))
                    .map(|i| i.id),
            );
        }
        for id in ids {
            self.store.remove(id).await?;
            self.hold(id, None);
            self.view.send_modify(|v| v.retain(|i| i.id != id));
        }
        self.wake.notify_one();
        Ok(())
    }

    fn hold(&self, id: i64, until: Option<i64>) {
        let mut holds = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
        match until {
            Some(at) => holds.insert(id, at),
            None => holds.remove(&id),
        };
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
            let holds = self
                .not_before
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let (ready, next_due) = due_heads(items, now_ms(), ignore_backoff, &holds);
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
                let now = now_ms();
                let backoff = Duration::from_millis(backoff_ms(item.attempts) as u64);
                let retry_after = error.retry_after();
                let wait = at_least(backoff, retry_after);
                item.next_attempt_at = Some(now + wait.as_millis() as i64);
                self.hold(item.id, retry_after.map(|r| now + r.as_millis() as i64));
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
                let _ = self
                    .refusals
                    .send((item.client_id.clone(), Arc::new(error)));
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
                let incident = c.create_incident(&report).await?;
                // Saved before the report leaves the outbox: a process killed in between sends
                // the report again, and the server answers with this same case.
                let has_files = self
                    .view
                    .borrow()
                    .iter()
                    .any(|i| belongs_to(i, &item.client_id));
                if has_files {
                    self.store
                        .put_cached(REPORT_CASES, &item.client_id, &incident.id.to_string())
                        .await
                        .map_err(|e| CoreError::Storage(e.to_string()))?;
                }
                Ok(to_json(incident))
            }
            OutboxAction::AttachEvidence {
                report,
                file_name,
                description,
                ..
            } => {
                let incident = self.report_case(report).await?;
                let bytes = self
                    .store
                    .attachment(&item.client_id)
                    .await
                    .map_err(|e| CoreError::Storage(e.to_string()))?
                    .ok_or_else(|| {
                        CoreError::Storage("the file's copy on this device is gone".into())
                    })?;
                c.upload_evidence(
                    incident,
                    &item.client_id,
                    file_name,
                    description.as_deref(),
                    bytes,
                )
                .await
                .map(to_json)
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
            OutboxAction::Assign {
                incident,
                provider_ids,
            } => {
                let req = kintara_api::AssignRequest {
                    provider_ids: provider_ids.clone(),
                    provider_id: None,
                    notes: None,
                };
                c.assign(*incident, &req).await.map(to_json)
            }
            OutboxAction::Reassign {
                incident,
                new_provider_id,
                reason,
            } => {
                let req = kintara_api::ReassignRequest {
                    new_provider_id: *new_provider_id,
                    from_provider_id: None,
                    reason: reason.clone(),
                };
                c.reassign(*incident, &req).await.map(to_json)
            }
            OutboxAction::Decide {
                incident,
                decision,
                reason,
            } => {
                let req = kintara_api::CaseDecisionRequest {
                    reason: reason.clone(),
                };
                c.decide_case(*incident, *decision, &req).await.map(to_json)
            }
            OutboxAction::EditReport { incident, patch } => {
                c.update_incident(*incident, patch).await.map(to_json)
            }
            OutboxAction::WithdrawReport { incident } => {
                c.delete_incident(*incident).await.map(to_json)
            }
            OutboxAction::MarkRead { room } => c.mark_room_read(*room).await.map(to_json),
        }
    }

    /// The case of the report with `report_client_id`, saved when the report was delivered.
    async fn report_case(&self, report_client_id: &str) -> Result<Uuid, CoreError> {
        let cases = self
            .store
            .cached(REPORT_CASES)
            .await
            .map_err(|e| CoreError::Storage(e.to_string()))?;
        cases
            .iter()
            .find(|(key, _)| key == report_client_id)
            .and_then(|(_, id)| id.parse().ok())
            .ok_or_else(|| {
                // The lane order and `due_heads` send a file only after its report; without a
                // saved case the report was discarded (or the data is damaged).
                CoreError::Storage("the report this file belongs to was not sent".into())
            })
    }

    async fn delivered(&self, item: OutboxItem, result_json: String) {
        self.hold(item.id, None);
        if let OutboxAction::AttachEvidence { report, .. } = &item.action {
            let others = self
                .view
                .borrow()
                .iter()
                .any(|i| i.id != item.id && belongs_to(i, report));
            // The report's last file is through: its case id has no more use on the device.
            if !others {
                if let Err(e) = self.store.remove_cached(REPORT_CASES, report).await {
                    tracing::warn!(error = %e, "outbox: cannot forget a delivered report's case");
                }
            }
        }
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

/// Whether `item` is a file of the report with client id `report`.
fn belongs_to(item: &OutboxItem, report: &str) -> bool {
    matches!(&item.action, OutboxAction::AttachEvidence { report: r, .. } if r == report)
}

/// The first not-failed item of each lane that is due now, and when the next one falls due.
/// `holds` are the servers' `Retry-After`s, which `ignore_backoff` does not skip.
fn due_heads(
    items: Vec<OutboxItem>,
    now: i64,
    ignore_backoff: bool,
    holds: &HashMap<i64, i64>,
) -> (Vec<OutboxItem>, Option<i64>) {
    // Reports not delivered yet (a failed one stays until the user retries or discards it).
    let pending_reports: HashSet<String> = items
        .iter()
        .filter(|i| matches!(i.action, OutboxAction::FileReport(_)))
        .map(|i| i.client_id.clone())
        .collect();
    let mut lanes = HashSet::new();
    let mut ready = Vec::new();
    let mut next_due: Option<i64> = None;
    for item in items {
        // A failed item waits for the user without holding up the rest of its lane; so do the
        // files of a report that has failed (they go once it is delivered).
        let report_pending = matches!(&item.action,
            OutboxAction::AttachEvidence { report, .. } if pending_reports.contains(report));
        if item.state == OutboxState::Failed || report_pending || !lanes.insert(item.lane.clone()) {
            continue;
        }
        let due = if ignore_backoff {
            holds.get(&item.id).copied()
        } else {
            item.next_attempt_at
        };
        match due {
            Some(at) if at > now => {
                next_due = Some(next_due.map_or(at, |d| d.min(at)));
            }
            _ => ready.push(item),
        }
    }
    (ready, next_due)
}

/// Case actions are not idempotent on a client id: after a try that may have reached the server,
/// a 409 ("already accepted", "not pending any more", "already closed") means the earlier try
/// took effect; so does a 404 for a withdrawal (the report is gone).
fn already_applied(item: &OutboxItem, error: &CoreError) -> bool {
    if item.attempts == 0 {
        return false;
    }
    match item.action {
        OutboxAction::Accept { .. }
        | OutboxAction::Reject { .. }
        | OutboxAction::UpdateStatus { .. }
        | OutboxAction::Assign { .. }
        | OutboxAction::Reassign { .. }
        | OutboxAction::Decide { .. } => error.status() == Some(409),
        OutboxAction::WithdrawReport { .. } => error.status() == Some(404),
        _ => false,
    }
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
