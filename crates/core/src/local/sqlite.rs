//! The device's `LocalStore`: one SQLite file whose sensitive columns are sealed with the vault.
//!
//! Sealed: outbox actions (message text, report descriptions), their last errors (a server message
//! may quote the input), the attachments queued with them (evidence files) and cached JSON. Plain: ids, lanes, states, timestamps, cache keys and the
//! sync cursor, which the engine must sort and filter on and which say nothing of the content.
//! Each sealed value is bound to its row (the context names the column and the row's identity), so
//! rows cannot be swapped around in the file unnoticed.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use super::{LocalError, LocalResult, LocalStore, NewOutboxItem, OutboxItem, OutboxState};
use crate::vault::Vault;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id TEXT NOT NULL UNIQUE,
        lane TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL
    )",
    // An item's attachment in sealed chunks, so no single value is huge and a chunk cannot be
    // moved, dropped or replayed unnoticed (each is bound to its item, position and count).
    "CREATE TABLE IF NOT EXISTS attachments (
        client_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        chunks INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (client_id, seq)
    )",
    "CREATE TABLE IF NOT EXISTS cache (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    )",
];

/// A known plaintext sealed at creation: opening it proves the key before anything is read.
const KEY_CHECK: &str = "key_check";
const KEY_CHECK_PLAIN: &[u8] = b"kintara-local-v1";
const CURSOR: &str = "cursor";
/// Attachment chunk size: large enough to keep the row count low, small enough that sealing one
/// is cheap.
const CHUNK: usize = 1024 * 1024;

pub struct SqliteLocal {
    pool: SqlitePool,
    vault: Vault,
}

impl SqliteLocal {
    /// Opens (creating if missing) the store at `path`. Fails with `LocalError::WrongKey`, without
    /// changing anything, when the file was sealed with another key.
    pub async fn open(path: &Path, vault: Vault) -> LocalResult<Self> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Deleted rows are overwritten, so a wipe leaves no sealed leftovers in free pages.
            .pragma("secure_delete", "ON");
        // One connection: the outbox and sync loops are light, and it serialises writes.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        let store = SqliteLocal { pool, vault };
        store.check_key().await?;
        Ok(store)
    }

    async fn check_key(&self) -> LocalResult<()> {
        match self.meta(KEY_CHECK).await? {
            Some(sealed) => match self.vault.open(KEY_CHECK, &sealed) {
                Ok(plain) if plain == KEY_CHECK_PLAIN => Ok(()),
                _ => {
                    self.pool.close().await;
                    Err(LocalError::WrongKey)
                }
            },
            None => {
                let sealed = self.vault.seal(KEY_CHECK, KEY_CHECK_PLAIN);
                self.set_meta(KEY_CHECK, &sealed).await
            }
        }
    }

    async fn meta(&self, name: &str) -> LocalResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, name: &str, value: &str) -> LocalResult<()> {
        sqlx::query(
            "INSERT INTO meta (name, value) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn seal(&self, context: &str, plain: &str) -> String {
        self.vault.seal(context, plain.as_bytes())
    }

    fn unseal(&self, context: &str, sealed: &str) -> LocalResult<String> {
        let bytes = self
            .vault
            .open(context, sealed)
            .map_err(|e| LocalError::Corrupt(format!("{context}: {e}")))?;
        String::from_utf8(bytes).map_err(|e| LocalError::Corrupt(format!("{context}: {e}")))
    }

    fn item_from_row(&self, row: &sqlx::sqlite::SqliteRow) -> LocalResult<OutboxItem> {
        let client_id: String = row.try_get("client_id")?;
        let action_json = self.unseal(&action_context(&client_id), row.try_get("action")?)?;
        let action = serde_json::from_str(&action_json)
            .map_err(|e| LocalError::Corrupt(format!("outbox action: {e}")))?;
        let state: String = row.try_get("state")?;
        let last_error: Option<String> = row.try_get("last_error")?;
        let attempts: i64 = row.try_get("attempts")?;
        Ok(OutboxItem {
            id: row.try_get("id")?,
            lane: row.try_get("lane")?,
            action,
            state: OutboxState::parse(&state)
                .ok_or_else(|| LocalError::Corrupt(format!("outbox state {state:?}")))?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            next_attempt_at: row.try_get("next_attempt_at")?,
            last_error: last_error
                .map(|e| self.unseal(&error_context(&client_id), &e))
                .transpose()?,
            created_at: row.try_get("created_at")?,
            client_id,
        })
    }
}

fn action_context(client_id: &str) -> String {
    format!("outbox.action/{client_id}")
}

fn error_context(client_id: &str) -> String {
    format!("outbox.last_error/{client_id}")
}

fn attachment_context(client_id: &str, seq: usize, chunks: usize) -> String {
    format!("outbox.attachment/{client_id}/{seq}/{chunks}")
}

fn cache_context(kind: &str, key: &str) -> String {
    format!("cache.json/{kind}/{key}")
}

impl LocalStore for SqliteLocal {
    async fn cursor(&self) -> LocalResult<Option<String>> {
        self.meta(CURSOR).await
    }

    async fn set_cursor(&self, cursor: &str) -> LocalResult<()> {
        self.set_meta(CURSOR, cursor).await
    }

    async fn enqueue(&self, new: NewOutboxItem) -> LocalResult<OutboxItem> {
        Ok(self.enqueue_all(vec![new]).await?.remove(0))
    }

    async fn enqueue_all(&self, items: Vec<NewOutboxItem>) -> LocalResult<Vec<OutboxItem>> {
        let mut tx = self.pool.begin().await?;
        let mut stored = Vec::with_capacity(items.len());
        for mut new in items {
            let json = serde_json::to_string(&new.action)
                .map_err(|e| LocalError::Corrupt(format!("outbox action: {e}")))?;
            let sealed = self.seal(&action_context(&new.client_id), &json);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO outbox (client_id, lane, action, state, attempts, created_at)
                 VALUES (?, ?, ?, ?, 0, ?) RETURNING id",
            )
            .bind(&new.client_id)
            .bind(&new.lane)
            .bind(sealed)
            .bind(OutboxState::Queued.as_str())
            .bind(new.created_at)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(bytes) = new.attachment.take() {
                // An empty attachment is still one (empty) chunk, so "had none" stays distinct.
                let chunks: Vec<&[u8]> = if bytes.is_empty() {
                    vec![&[]]
                } else {
                    bytes.chunks(CHUNK).collect()
                };
                for (seq, chunk) in chunks.iter().enumerate() {
                    let context = attachment_context(&new.client_id, seq, chunks.len());
                    sqlx::query(
                        "INSERT INTO attachments (client_id, seq, chunks, data)
                         VALUES (?, ?, ?, ?)",
                    )
                    .bind(&new.client_id)
                    .bind(seq as i64)
                    .bind(chunks.len() as i64)
                    .bind(self.vault.seal(&context, chunk))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            stored.push(new.queued(id));
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn attachment(&self, client_id: &str) -> LocalResult<Option<Vec<u8>>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT seq, chunks, data FROM attachments WHERE client_id = ? ORDER BY seq",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let damaged = || LocalError::Corrupt(format!("attachment of {client_id}: chunks missing"));
        let count = usize::try_from(rows[0].1).map_err(|_| damaged())?;
        if rows.len() != count {
            return Err(damaged());
        }
        let mut bytes = Vec::new();
        for (expected, (seq, _, sealed)) in rows.iter().enumerate() {
            // The context names the position and the count, so a reordered, missing or foreign
            // chunk fails to open rather than yield a different file.
            let seq = usize::try_from(*seq).map_err(|_| damaged())?;
            if seq != expected {
                return Err(damaged());
            }
            let context = attachment_context(client_id, seq, count);
            let chunk = self
                .vault
                .open(&context, sealed)
                .map_err(|e| LocalError::Corrupt(format!("{context}: {e}")))?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    async fn outbox(&self) -> LocalResult<Vec<OutboxItem>> {
        let rows = sqlx::query("SELECT * FROM outbox ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| self.item_from_row(r)).collect()
    }

    async fn update(&self, item: &OutboxItem) -> LocalResult<()> {
        let last_error = item
            .last_error
            .as_deref()
            .map(|e| self.seal(&error_context(&item.client_id), e));
        let done = sqlx::query(
            "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?
             WHERE id = ?",
        )
        .bind(item.state.as_str())
        .bind(i64::from(item.attempts))
        .bind(item.next_attempt_at)
        .bind(last_error)
        .bind(item.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(LocalError::NotFound(item.id));
        }
        Ok(())
    }

    async fn remove(&self, id: i64) -> LocalResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM attachments WHERE client_id IN (SELECT client_id FROM outbox WHERE id = ?)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM outbox WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn requeue_interrupted(&self) -> LocalResult<()> {
        sqlx::query("UPDATE outbox SET state = ?, attempts = attempts + 1 WHERE state = ?")
            .bind(OutboxState::Queued.as_str())
            .bind(OutboxState::Sending.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_cached(&self, kind: &str, key: &str, json: &str) -> LocalResult<()> {
        let sealed = self.seal(&cache_context(kind, key), json);
        sqlx::query(
            "INSERT INTO cache (kind, key, json) VALUES (?, ?, ?)
             ON CONFLICT (kind, key) DO UPDATE SET json = excluded.json",
        )
        .bind(kind)
        .bind(key)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cached(&self, kind: &str) -> LocalResult<Vec<(String, String)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, json FROM cache WHERE kind = ? ORDER BY key")
                .bind(kind)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(key, sealed)| {
                let json = self.unseal(&cache_context(kind, &key), &sealed)?;
                Ok((key, json))
            })
            .collect()
    }

    async fn remove_cached(&self, kind: &str, key: &str) -> LocalResult<()> {
        sqlx::query("DELETE FROM cache WHERE kind = ? AND key = ?")
            .bind(kind)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn wipe(&self) -> LocalResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM outbox").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM attachments")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM cache").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM meta WHERE name = ?")
            .bind(CURSOR)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Fold the WAL back into the (secure-deleted) main file so no old page survives there.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
