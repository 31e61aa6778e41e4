//! The in-app channel's `sent`: a notification's `websocket` delivery is `sent` once a live
//! socket or a long-poll took its frame. Sockets report what they sent here without waiting; a
//! task records the notifications in batches (one write for many frames).

use std::collections::BTreeSet;

use kintara_api::{Channel, DeliveryState, Event, EventFrame};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::Db;

/// Reports waiting to be recorded; beyond this they are dropped (the state stays `pending`, the
/// frame was delivered all the same).
const QUEUE: usize = 8192;
const BATCH: usize = 512;

#[derive(Clone)]
pub struct Handover {
    tx: mpsc::Sender<Uuid>,
}

impl Handover {
    /// The reporter and its recording task, which ends once every reporter is gone.
    pub fn start(db: Db) -> (Handover, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(async move {
            let mut ids = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut ids, BATCH).await > 0 {
                let unique: BTreeSet<Uuid> = ids.drain(..).collect();
                if let Err(e) = super::outbox::websocket_sent(&db, &unique).await {
                    tracing::warn!(error = %e, "recording in-app deliveries failed");
                }
            }
        });
        (Handover { tx }, task)
    }

    /// `frame` reached its recipient's app.
    pub fn took(&self, frame: &EventFrame) {
        let Event::Notification(n) = &frame.event else {
            return;
        };
        let pending = n
            .channels
            .get(Channel::Websocket.as_str())
            .is_some_and(|c| c.state == DeliveryState::Pending);
        if pending && self.tx.try_send(n.id).is_err() {
            tracing::debug!("in-app delivery reports are backed up; one is dropped");
        }
    }
}
