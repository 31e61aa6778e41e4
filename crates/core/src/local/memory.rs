//! An in-memory `LocalStore`: for tests, and for a session that must leave nothing on the device.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{LocalError, LocalResult, LocalStore, NewOutboxItem, OutboxItem, OutboxState};

#[derive(Default)]
pub struct MemoryLocal {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    cursor: Option<String>,
    last_id: i64,
    outbox: BTreeMap<i64, OutboxItem>,
    /// By the owning item's client id.
    attachments: BTreeMap<String, Vec<u8>>,
    cache: BTreeMap<String, BTreeMap<String, String>>,
}

impl MemoryLocal {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing them, so a poisoned lock is used as is.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl LocalStore for MemoryLocal {
    async fn cursor(&self) -> LocalResult<Option<String>> {
        Ok(self.with(|i| i.cursor.clone()))
    }

    async fn set_cursor(&self, cursor: &str) -> LocalResult<()> {
        self.with(|i| i.cursor = Some(cursor.to_owned()));
        Ok(())
    }

    async fn enqueue(&self, new: NewOutboxItem) -> LocalResult<OutboxItem> {
        Ok(self.enqueue_all(vec![new]).await?.remove(0))
    }

    async fn enqueue_all(&self, items: Vec<NewOutboxItem>) -> LocalResult<Vec<OutboxItem>> {
        self.with(|i| {
            // Checked first, so a clash stores none of them (as the SQLite transaction would).
            let mut ids: Vec<&str> = i.outbox.values().map(|o| o.client_id.as_str()).collect();
            for new in &items {
                if ids.contains(&new.client_id.as_str()) {
                    return Err(LocalError::Database(format!(
                        "client id {} is already in the outbox",
                        new.client_id
                    )));
                }
                ids.push(&new.client_id);
            }
            Ok(items
                .into_iter()
                .map(|mut new| {
                    i.last_id += 1;
                    if let Some(bytes) = new.attachment.take() {
                        i.attachments.insert(new.client_id.clone(), bytes);
                    }
                    let item = new.queued(i.last_id);
                    i.outbox.insert(item.id, item.clone());
                    item
                })
                .collect())
        })
    }

    async fn attachment(&self, client_id: &str) -> LocalResult<Option<Vec<u8>>> {
        Ok(self.with(|i| i.attachments.get(client_id).cloned()))
    }

    async fn outbox(&self) -> LocalResult<Vec<OutboxItem>> {
        Ok(self.with(|i| i.outbox.values().cloned().collect()))
    }

    async fn update(&self, item: &OutboxItem) -> LocalResult<()> {
        self.with(|i| match i.outbox.get_mut(&item.id) {
            Some(stored) => {
                stored.state = item.state;
                stored.attempts = item.attempts;
                stored.next_attempt_at = item.next_attempt_at;
                stored.last_error = item.last_error.clone();
                Ok(())
            }
            None => Err(LocalError::NotFound(item.id)),
        })
    }

    async fn remove(&self, id: i64) -> LocalResult<()> {
        self.with(|i| {
            if let Some(item) = i.outbox.remove(&id) {
                i.attachments.remove(&item.client_id);
            }
        });
        Ok(())
    }

    async fn requeue_interrupted(&self) -> LocalResult<()> {
        self.with(|i| {
            for item in i.outbox.values_mut() {
                if item.state == OutboxState::Sending {
                    item.state = OutboxState::Queued;
                    item.attempts += 1;
                }
            }
        });
        Ok(())
    }

    async fn put_cached(&self, kind: &str, key: &str, json: &str) -> LocalResult<()> {
        self.with(|i| {
            i.cache
                .entry(kind.to_owned())
                .or_default()
                .insert(key.to_owned(), json.to_owned())
        });
        Ok(())
    }

    async fn cached(&self, kind: &str) -> LocalResult<Vec<(String, String)>> {
        Ok(self.with(|i| {
            i.cache
                .get(kind)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        }))
    }

    async fn remove_cached(&self, kind: &str, key: &str) -> LocalResult<()> {
        self.with(|i| i.cache.get_mut(kind).map(|m| m.remove(key)));
        Ok(())
    }

    async fn wipe(&self) -> LocalResult<()> {
        self.with(|i| {
            // Ids keep increasing across a wipe so an old id can never name a new item.
            let last_id = i.last_id;
            *i = Inner {
                last_id,
                ..Inner::default()
            };
        });
        Ok(())
    }
}
