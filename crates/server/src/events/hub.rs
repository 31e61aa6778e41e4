//! In-process wake-ups per user. An entry exists only while someone waits for that user, so an
//! idle user costs nothing. A wake says "re-read the log"; a delivery carries the committed frames
//! themselves, so the user's waiters here send them without a database read (the hot path of a
//! chat message). A waiter takes delivered frames only when they continue its cursor without a
//! gap; anything else sends it to the log, which stays the source of truth. With a broker, both
//! are also sent to the other instances as "user X has news", and their waiters read the log.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kintara_api::EventFrame;
use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

use super::Cursor;

/// Frames kept per waited-for user for waiters to take without reading the log. A waiter that
/// fell further behind reads the log, so this bounds memory, not correctness.
const RECENT: usize = 32;

#[derive(Default)]
pub struct Hub {
    waiting: Mutex<HashMap<Uuid, Arc<Slot>>>,
    /// Marked when deliveries were enqueued: wakes this instance's delivery workers.
    outbox: OutboxWake,
    /// Set at shutdown: waiters answer now instead of holding graceful shutdown for a minute.
    closing: AtomicBool,
    /// The broker's outgoing queue, when there is a broker (see `broker`).
    remote: OnceLock<mpsc::Sender<Uuid>>,
}

/// One waited-for user: the wake-up, and what came with the wakes.
#[derive(Default)]
pub struct Slot {
    pub notify: Notify,
    /// Bumped by every wake that carries no frames: waiters must re-read the log (and re-check
    /// the session, which a sign-out's wake is about).
    rereads: AtomicU64,
    /// Committed frames delivered here, by seq, at most `RECENT`.
    recent: Mutex<VecDeque<Delivered>>,
}

/// A committed frame as delivered, with its seq.
#[derive(Clone)]
pub struct Delivered {
    pub seq: i64,
    pub frame: Arc<EventFrame>,
}

/// What a waiter at some cursor finds in its slot.
pub enum Found {
    /// Nothing after the cursor.
    Nothing,
    /// The frames right after the cursor, in order, with no gap.
    Next(Vec<Delivered>),
    /// Frames exist after the cursor but not the one right after it: read the log.
    Gap,
}

/// One waiter's registration; dropping it removes the user's entry when nobody else waits.
pub struct Subscription<'a> {
    hub: &'a Hub,
    user: Uuid,
    slot: Arc<Slot>,
    /// The slot's `rereads` when this waiter last read the log (atomic only so that a waiter can
    /// check it while its `notified()` borrows the subscription).
    seen_rereads: AtomicU64,
}

impl Subscription<'_> {
    pub fn notify(&self) -> &Notify {
        &self.slot.notify
    }

    /// Whether a wake since the last call asks this waiter to re-read the log.
    pub fn must_reread(&self) -> bool {
        let now = self.slot.rereads.load(Ordering::SeqCst);
        self.seen_rereads.swap(now, Ordering::SeqCst) != now
    }

    /// The delivered frames right after `cursor`.
    pub fn after(&self, cursor: Cursor) -> Found {
        let recent = self.slot.recent.lock().unwrap_or_else(|e| e.into_inner());
        // Kept in seq order: take the run that starts right after the cursor.
        let next: Vec<Delivered> = recent
            .iter()
            .filter(|d| d.seq > cursor.seq())
            .zip(cursor.seq() + 1..)
            .take_while(|(d, want)| d.seq == *want)
            .map(|(d, _)| d.clone())
            .collect();
        match (next.is_empty(), recent.iter().any(|d| d.seq > cursor.seq())) {
            (true, false) => Found::Nothing,
            (true, true) => Found::Gap,
            (false, _) => Found::Next(next),
        }
    }
}

/// The delivery workers' wake-up: each worker holds a receiver and sees every mark.
pub struct OutboxWake(tokio::sync::watch::Sender<()>);

impl Default for OutboxWake {
    fn default() -> Self {
        OutboxWake(tokio::sync::watch::Sender::new(()))
    }
}

impl Hub {
    /// A delivery worker's wake-up.
    pub fn outbox_waiter(&self) -> tokio::sync::watch::Receiver<()> {
        self.outbox.0.subscribe()
    }

    /// Wakes the delivery workers (deliveries were committed).
    pub fn wake_outbox(&self) {
        self.outbox.0.send_replace(());
    }

    pub fn subscribe(&self, user: Uuid) -> Subscription<'_> {
        let slot = self.lock().entry(user).or_default().clone();
        let seen_rereads = AtomicU64::new(slot.rereads.load(Ordering::SeqCst));
        Subscription {
            hub: self,
            user,
            slot,
            seen_rereads,
        }
    }

    /// Wakes everyone waiting for `user`, here and (through the broker) on other instances, to
    /// re-read the log. Call it only after the transaction that wrote the user's log finished.
    pub fn wake(&self, user: Uuid) {
        self.wake_local(user);
        self.wake_remote(user);
    }

    /// Hands `frames` (committed, of `user`'s log) to this instance's waiters, and wakes the
    /// other instances' waiters, which read them from the database.
    pub fn deliver(&self, user: Uuid, frames: Vec<(i64, EventFrame)>) {
        let slot = self.lock().get(&user).cloned();
        if let Some(slot) = slot {
            {
                let mut recent = slot.recent.lock().unwrap_or_else(|e| e.into_inner());
                for (seq, frame) in frames {
                    // Requests commit in seq order but may publish out of it: keep seq order.
                    let at = recent.partition_point(|d| d.seq < seq);
                    if recent.get(at).is_some_and(|d| d.seq == seq) {
                        continue;
                    }
                    let frame = Arc::new(frame);
                    recent.insert(at, Delivered { seq, frame });
                }
                while recent.len() > RECENT {
                    recent.pop_front();
                }
            }
            slot.notify.notify_waiters();
        }
        self.wake_remote(user);
    }

    fn wake_remote(&self, user: Uuid) {
        if let Some(remote) = self.remote.get() {
            // A full queue means the broker is far behind or down; the other instances' periodic
            // re-check delivers instead. Never block a request on it.
            if remote.try_send(user).is_err() {
                tracing::debug!("broker queue full; a remote wake was dropped");
            }
        }
    }

    /// Wakes this instance's waiters for `user` to re-read the log (waiters must have enabled
    /// their `notified()` before reading, or a wake between the read and the wait would be lost).
    pub fn wake_local(&self, user: Uuid) {
        let slot = self.lock().get(&user).cloned();
        if let Some(slot) = slot {
            slot.rereads.fetch_add(1, Ordering::SeqCst);
            slot.notify.notify_waiters();
        }
    }

    /// Wakes every local waiter: after the broker was unreachable, wakes may have been missed.
    pub fn wake_all_local(&self) {
        let all: Vec<Arc<Slot>> = self.lock().values().cloned().collect();
        for slot in all {
            slot.rereads.fetch_add(1, Ordering::SeqCst);
            slot.notify.notify_waiters();
        }
    }

    /// Connects the broker's outgoing queue (once, at start).
    pub(super) fn set_remote(&self, remote: mpsc::Sender<Uuid>) {
        let _ = self.remote.set(remote);
    }

    /// Shutdown: every waiter is woken and answers with what it has; later waits do not wait.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.wake_all_local();
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// How many users have waiters now (for tests of the cleanup).
    pub fn waiting_users(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Slot>>> {
        // A panic while holding this lock cannot leave the map inconsistent; keep serving.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut map = self.hub.lock();
        // Subscribing needs this lock, so the count cannot grow under us: 2 = the map and us.
        if map
            .get(&self.user)
            .is_some_and(|s| Arc::ptr_eq(s, &self.slot) && Arc::strong_count(s) == 2)
        {
            map.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_a_subscribed_waiter_and_forgets_idle_users() {
        let hub = Hub::default();
        let user = Uuid::new_v4();
        {
            let sub = hub.subscribe(user);
            let other = hub.subscribe(user);
            let notified = sub.notify().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            hub.wake(user);
            tokio::time::timeout(std::time::Duration::from_secs(1), notified)
                .await
                .expect("woken");
            drop(other);
            assert_eq!(hub.waiting_users(), 1);
        }
        assert_eq!(hub.waiting_users(), 0);
        hub.wake(user); // nobody waits: nothing happens
    }

    fn frame(seq: i64) -> (i64, EventFrame) {
        (
            seq,
            EventFrame {
                cursor: Cursor::after(seq),
                event: kintara_api::Event::ResyncRequired {},
            },
        )
    }

    fn seqs(found: Found) -> Result<Vec<i64>, &'static str> {
        match found {
            Found::Nothing => Err("nothing"),
            Found::Gap => Err("gap"),
            Found::Next(d) => Ok(d.iter().map(|d| d.seq).collect()),
        }
    }

    #[test]
    fn delivered_frames_are_taken_only_without_a_gap() {
        let hub = Hub::default();
        let user = Uuid::new_v4();
        let sub = hub.subscribe(user);
        // Published out of order (6 before 5): kept in seq order.
        hub.deliver(user, vec![frame(6)]);
        assert_eq!(
            seqs(sub.after(Cursor::after(4))),
            Err("gap"),
            "5 is missing: read the log"
        );
        hub.deliver(user, vec![frame(5), frame(5)]);
        assert_eq!(seqs(sub.after(Cursor::after(4))), Ok(vec![5, 6]));
        assert_eq!(seqs(sub.after(Cursor::after(6))), Err("nothing"));
        assert_eq!(
            seqs(sub.after(Cursor::after(3))),
            Err("gap"),
            "4 was never delivered"
        );
        assert!(!sub.must_reread(), "deliveries are not re-reads");
        hub.wake(user);
        assert!(sub.must_reread());
        assert!(!sub.must_reread(), "seen once");
        // Bounded: the oldest go first.
        hub.deliver(user, (7..7 + RECENT as i64).map(frame).collect());
        assert_eq!(seqs(sub.after(Cursor::after(5))), Err("gap"));
        assert_eq!(seqs(sub.after(Cursor::after(6))).unwrap().len(), RECENT);
        // Nobody waits: nothing is kept.
        drop(sub);
        hub.deliver(Uuid::new_v4(), vec![frame(1)]);
        assert_eq!(hub.waiting_users(), 0);
    }
}
