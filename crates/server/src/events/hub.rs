//! In-process wake-ups per user. An entry exists only while someone waits for that user, so an
//! idle user costs nothing. A wake carries no data: waiters re-read the log. With a broker, each
//! wake is also sent to the other instances, which wake their own waiters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

#[derive(Default)]
pub struct Hub {
    waiting: Mutex<HashMap<Uuid, Arc<Notify>>>,
    /// Set at shutdown: waiters answer now instead of holding graceful shutdown for a minute.
    closing: AtomicBool,
    /// The broker's outgoing queue, when there is a broker (see `broker`).
    remote: OnceLock<mpsc::Sender<Uuid>>,
}

/// One waiter's registration; dropping it removes the user's entry when nobody else waits.
pub struct Subscription<'a> {
    hub: &'a Hub,
    user: Uuid,
    pub notify: Arc<Notify>,
}

impl Hub {
    pub fn subscribe(&self, user: Uuid) -> Subscription<'_> {
        let notify = self
            .lock()
            .entry(user)
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone();
        Subscription {
            hub: self,
            user,
            notify,
        }
    }

    /// Wakes everyone waiting for `user`, here and (through the broker) on other instances.
    /// Call it only after the transaction that wrote the user's log has committed.
    pub fn wake(&self, user: Uuid) {
        self.wake_local(user);
        if let Some(remote) = self.remote.get() {
            // A full queue means the broker is far behind or down; the other instances' periodic
            // re-check delivers instead. Never block a request on it.
            if remote.try_send(user).is_err() {
                tracing::debug!("broker queue full; a remote wake was dropped");
            }
        }
    }

    /// Wakes this instance's waiters for `user` (waiters must have enabled their `notified()`
    /// before re-reading the log, or a wake between the read and the wait would be lost).
    pub fn wake_local(&self, user: Uuid) {
        let notify = self.lock().get(&user).cloned();
        if let Some(n) = notify {
            n.notify_waiters();
        }
    }

    /// Wakes every local waiter: after the broker was unreachable, wakes may have been missed.
    pub fn wake_all_local(&self) {
        let all: Vec<Arc<Notify>> = self.lock().values().cloned().collect();
        for n in all {
            n.notify_waiters();
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Notify>>> {
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
            .is_some_and(|n| Arc::ptr_eq(n, &self.notify) && Arc::strong_count(n) == 2)
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
            let notified = sub.notify.notified();
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
}
