//! One signed-in account on this device: the API client and everything the core keeps and runs
//! for it — the sealed local store, the outbox, the sync service and the cache — wired together
//! here, once, for every front end (the app's shell and the `kintara` CLI).
//!
//! `Account::open` builds the parts; `Account::run` starts them as one: the outbox delivers, the
//! sync service streams, the outbox is woken whenever the stream (re)connects, and every frame is
//! applied to the cache before it is handed on, so a front end that hears of a frame finds it in
//! the cache.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::sync::{SyncEvent, SyncService, SyncState};
use crate::vault::Vault;
use crate::{Cache, Client, LocalError, LocalStore, Outbox, SqliteLocal};

/// The local store's file in the account's directory (with SQLite's `-wal` and `-shm`).
const LOCAL_DB: &str = "local.db";

pub struct Account {
    pub client: Arc<Client>,
    pub local: Arc<SqliteLocal>,
    pub outbox: Arc<Outbox<SqliteLocal>>,
    pub sync: Arc<SyncService<SqliteLocal>>,
    pub cache: Arc<Cache<SqliteLocal>>,
}

impl Account {
    /// Opens (or creates) the local store in `dir`, sealed with the device key's `vault`, and
    /// wires the parts to `client`. A store sealed with a key that is gone (wiped at sign-out,
    /// cleared from the keystore) can never be read again, so it makes way for a new one.
    pub async fn open(
        client: Arc<Client>,
        dir: &Path,
        vault: Vault,
    ) -> Result<Account, LocalError> {
        let path = dir.join(LOCAL_DB);
        let local = match SqliteLocal::open(&path, vault.clone()).await {
            Ok(l) => l,
            Err(LocalError::WrongKey) => {
                tracing::warn!(
                    "the local store was sealed with a previous device key; starting a new one"
                );
                remove_local_store(dir);
                SqliteLocal::open(&path, vault).await?
            }
            Err(e) => return Err(e),
        };
        let local = Arc::new(local);
        Ok(Account {
            outbox: Arc::new(Outbox::new(local.clone(), client.clone())),
            sync: SyncService::new(client.clone(), local.clone()),
            cache: Arc::new(Cache::new(local.clone())),
            client,
            local,
        })
    }

    /// Starts the outbox and the sync service. The receiver gets every sync event after the
    /// cache has applied it (a `ResyncRequired` after the cache was refetched); it exists before
    /// anything runs, so nothing is missed.
    pub fn run(&self) -> (Running, broadcast::Receiver<SyncEvent>) {
        let (applied, rx) = broadcast::channel(256);
        let mut tasks = Vec::new();

        // Back online: whatever waited in the outbox goes now.
        let mut states = self.sync.state();
        let outbox = self.outbox.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if matches!(
                    *states.borrow_and_update(),
                    SyncState::Online | SyncState::Polling
                ) {
                    outbox.wake();
                }
                if states.changed().await.is_err() {
                    return;
                }
            }
        }));

        let mut events = self.sync.events();
        let (cache, client) = (self.cache.clone(), self.client.clone());
        let out = applied.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    // Fell behind the stream: what was missed is refetched like a resync.
                    Err(broadcast::error::RecvError::Lagged(_)) => SyncEvent::ResyncRequired,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                match cache.apply(&event).await {
                    Ok(true) => {
                        if let Err(e) = cache.refresh_all(&client).await {
                            tracing::warn!(error = %e, "refetching the cache failed");
                        }
                    }
                    Ok(false) => {}
                    // The cache is a convenience; the stream goes on without it.
                    Err(e) => tracing::warn!(error = %e, "the cache could not apply a frame"),
                }
                // No receiver is fine: nobody is looking.
                let _ = out.send(event);
            }
        }));

        tasks.push(tokio::spawn(self.outbox.clone().run()));
        tasks.push(tokio::spawn(self.sync.clone().run()));
        (Running { tasks }, rx)
    }
}

/// The account's running tasks; they stop when this is stopped or dropped.
pub struct Running {
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Removes the local store's files (after a wipe, with the key that sealed it gone).
pub fn remove_local_store(dir: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        match std::fs::remove_file(dir.join(format!("{LOCAL_DB}{suffix}"))) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "removing the local store failed"),
        }
    }
}

impl Account {
    /// Stops nothing by itself; wipes the local data (outbox, cursor, cache): sign-out and the
    /// panic wipe.
    pub async fn wipe(&self) -> Result<(), LocalError> {
        self.local.wipe().await
    }
}
