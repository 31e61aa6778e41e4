//! One lane's worker: lease due deliveries, send them (up to the lane's concurrency at once),
//! record the outcomes; sleep until woken by a new delivery, the next due one, or a second
//! (deliveries enqueued by other instances).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kintara_api::Channel;
use tokio::sync::watch;

use super::outbox::{self, Job, Settled};
use super::{text, Sender};
use crate::db::Db;

/// Deliveries leased at once.
const BATCH: usize = 256;
/// Long enough for a whole batch at the slowest (each send times out after 10 s).
const LEASE: Duration = Duration::from_secs(120);
/// How often an idle worker looks for deliveries another instance enqueued.
const IDLE_POLL: Duration = Duration::from_secs(1);

pub fn spawn(
    db: Db,
    sender: Arc<Sender>,
    mut wake: watch::Receiver<()>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let lane = sender.lane();
        loop {
            if *stop.borrow() {
                return;
            }
            // Seen before leasing, so a delivery enqueued during the lease wakes the next wait.
            wake.borrow_and_update();
            let jobs = match outbox::claim(&db, lane, BATCH, LEASE).await {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(%lane, error = %e, "leasing deliveries failed");
                    tokio::time::sleep(IDLE_POLL).await;
                    continue;
                }
            };
            if jobs.is_empty() {
                let wait = match outbox::next_due(&db, lane).await {
                    Ok(Some(at)) => (at - chrono::Utc::now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .clamp(Duration::from_millis(10), IDLE_POLL),
                    _ => IDLE_POLL,
                };
                tokio::select! {
                    woken = wake.changed() => if woken.is_err() { return },
                    _ = stop.changed() => {},
                    _ = tokio::time::sleep(wait) => {},
                }
                continue;
            }
            let settled = deliver(&sender, &jobs).await;
            record(&db, &settled).await;
        }
    })
}

/// Sends a batch. Pushes that are not urgent and go to the same device are one push: the
/// newest, told as a count ("3 new updates"); they all share its outcome.
async fn deliver<'a>(sender: &Sender, jobs: &'a [Job]) -> Vec<(&'a Job, Settled)> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_device: std::collections::HashMap<uuid::Uuid, usize> = Default::default();
    for (i, job) in jobs.iter().enumerate() {
        let folds =
            job.lane.channel() == Channel::Push && !text::outgoing(job, job.language).urgent;
        match job.device.filter(|_| folds) {
            Some(device) => match by_device.get(&device) {
                Some(&g) => groups[g].push(i),
                None => {
                    by_device.insert(device, groups.len());
                    groups.push(vec![i]);
                }
            },
            None => groups.push(vec![i]),
        }
    }
    let now = chrono::Utc::now();
    let outcomes: Vec<(Vec<usize>, Settled)> = futures_util::stream::iter(groups)
        .map(|group| async move {
            let newest = &jobs[*group.last().expect("groups are never empty")];
            let how = if newest.expires_at.is_some_and(|e| e <= now) {
                Settled::Expired
            } else if newest.device.is_some() && newest.token.is_none() {
                Settled::DeviceGone
            } else {
                let mut job = newest.clone();
                job.unread = job.unread.max(group.len() as i64);
                let out = text::outgoing(&job, job.language);
                Settled::Answered(sender.send(&job, &out).await)
            };
            (group, how)
        })
        .buffer_unordered(sender.concurrency())
        .collect()
        .await;
    outcomes
        .into_iter()
        .flat_map(|(group, how)| group.into_iter().map(move |i| (&jobs[i], how.clone())))
        .collect()
}

/// Records the outcomes, trying again for a while if the database is unavailable. Should it
/// stay unavailable, the leases run out and the deliveries are sent again: at least once.
async fn record(db: &Db, settled: &[(&Job, Settled)]) {
    for attempt in 0..30 {
        match outbox::finish(db, settled).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(attempt, error = %e, "recording delivery outcomes failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
