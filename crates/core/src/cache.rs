//! The local cache: rooms, recent messages, cases and notifications kept in the local store, so
//! the app opens and reads offline. Filled by a full fetch (`refresh_all`: at start, after sign-in
//! and when the server says `resync_required`) and kept current by the event stream (`apply`).
//! Applying a frame twice is harmless: everything is keyed by what it is about.

use kintara_api::{ChatMessage, ChatRoom, Event, Incident, Notification};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::client::Client;
use crate::error::CoreError;
use crate::local::{LocalError, LocalStore};
use crate::sync::SyncEvent;

/// Messages kept per room (older ones are read from the server when online).
pub const RECENT_MESSAGES: usize = 200;

const ROOMS: &str = "rooms";
const CASES: &str = "cases";
const NOTIFICATIONS: &str = "notifications";

fn messages_kind(room: Uuid) -> String {
    format!("messages:{room}")
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("a cached value is unreadable: {0}")]
    Decode(#[from] serde_json::Error),
}

pub struct Cache<S: LocalStore> {
    store: std::sync::Arc<S>,
}

impl<S: LocalStore> Cache<S> {
    pub fn new(store: std::sync::Arc<S>) -> Self {
        Cache { store }
    }

    /// Replaces the cache with the server's current state (rooms with their recent messages,
    /// the caller's cases, notifications).
    pub async fn refresh_all(&self, client: &Client) -> Result<(), CacheError> {
        let rooms = client.rooms().await?.results;
        for room in &rooms {
            self.put(ROOMS, &room.id.to_string(), room).await?;
            let page = client
                .messages(room.id, None, RECENT_MESSAGES as u32)
                .await?;
            for m in &page.results {
                self.put_message(m).await?;
            }
        }
        // Providers and dispatchers see cases through their own lists; the survivor's own
        // reports are the incidents list. Only what the caller may list is cached.
        if let Ok(cases) = client.list_incidents().await {
            for case in &cases {
                self.put(CASES, &case.id.to_string(), case).await?;
            }
        }
        for n in client.notifications(1).await?.results {
            self.put(NOTIFICATIONS, &n.id.to_string(), &n).await?;
        }
        Ok(())
    }

    /// Keeps the cache current from one event; `resync_required` needs `refresh_all` instead
    /// (returned as `true`).
    pub async fn apply(&self, event: &SyncEvent) -> Result<bool, CacheError> {
        let frame = match event {
            SyncEvent::ResyncRequired => return Ok(true),
            SyncEvent::Frame(f) => f,
        };
        let (incident, status) = match &frame.event {
            Event::NewMessage(m) => {
                self.put_message(m).await?;
                return Ok(false);
            }
            Event::MessageDeleted(d) => {
                self.forget_message_text(d.room, d.message_id).await?;
                return Ok(false);
            }
            Event::Notification(n) => {
                self.put(NOTIFICATIONS, &n.id.to_string(), n).await?;
                return Ok(false);
            }
            Event::CaseUpdated(c) => (c.incident_id, c.status),
            Event::IncidentUpdated(c) => (c.incident_id, c.status),
            Event::MessageRead(_)
            | Event::Typing(_)
            | Event::Presence(_)
            | Event::CaseAssigned(_)
            | Event::ResyncRequired {} => return Ok(false),
        };
        // The frame carries the status (never the report's content): update what is cached,
        // the rest is refetched when the case is opened.
        let id = incident.to_string();
        if let Some(mut case) = self.get::<Incident>(CASES, &id).await? {
            case.status = status;
            self.put(CASES, &id, &case).await?;
        }
        Ok(false)
    }

    pub async fn rooms(&self) -> Result<Vec<ChatRoom>, CacheError> {
        self.all(ROOMS).await
    }

    /// The room's cached messages, oldest first.
    pub async fn messages(&self, room: Uuid) -> Result<Vec<ChatMessage>, CacheError> {
        self.all(&messages_kind(room)).await
    }

    pub async fn cases(&self) -> Result<Vec<Incident>, CacheError> {
        self.all(CASES).await
    }

    /// Newest first.
    pub async fn notifications(&self) -> Result<Vec<Notification>, CacheError> {
        let mut all: Vec<Notification> = self.all(NOTIFICATIONS).await?;
        all.sort_by_key(|n| std::cmp::Reverse(n.created_at));
        Ok(all)
    }

    async fn put_message(&self, m: &ChatMessage) -> Result<(), CacheError> {
        let kind = messages_kind(m.room);
        // Keys sort like the room's order, so `cached` returns oldest first.
        self.put(&kind, &format!("{:012}", m.seq), m).await?;
        let kept = self.store.cached(&kind).await?;
        for (key, _) in kept.iter().take(kept.len().saturating_sub(RECENT_MESSAGES)) {
            self.store.remove_cached(&kind, key).await?;
        }
        Ok(())
    }

    /// A deleted message keeps its place, without its text, on the device too.
    async fn forget_message_text(&self, room: Uuid, id: Uuid) -> Result<(), CacheError> {
        let kind = messages_kind(room);
        for (key, json) in self.store.cached(&kind).await? {
            let mut m: ChatMessage = serde_json::from_str(&json)?;
            if m.id == id {
                m.content = None;
                m.is_deleted = true;
                self.put(&kind, &key, &m).await?;
            }
        }
        Ok(())
    }

    async fn put<T: Serialize>(&self, kind: &str, key: &str, v: &T) -> Result<(), CacheError> {
        let json = serde_json::to_string(v)?;
        Ok(self.store.put_cached(kind, key, &json).await?)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
    ) -> Result<Option<T>, CacheError> {
        let all = self.store.cached(kind).await?;
        match all.into_iter().find(|(k, _)| k == key) {
            Some((_, json)) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    async fn all<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>, CacheError> {
        self.store
            .cached(kind)
            .await?
            .into_iter()
            .map(|(_, json)| serde_json::from_str(&json).map_err(CacheError::from))
            .collect()
    }
}
