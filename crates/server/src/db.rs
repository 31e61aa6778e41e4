//! The database handle. One SQL dialect runs on SQLite (default) and PostgreSQL through sqlx's
//! `Any` driver, so both backends share every query and every test.
//!
//! Conventions that keep the SQL portable: ids are UUID text, timestamps are fixed-width
//! RFC 3339 text in UTC (so text order is time order), booleans and counters are BIGINT (64-bit
//! on both), placeholders are `$1, $2, ...`; so one set of migrations serves both.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Reads go to `read`; every write transaction goes to `write`. On SQLite `write` holds a single
/// connection, so writers queue in the pool instead of failing with SQLITE_BUSY; on PostgreSQL
/// both are the same pool.
#[derive(Clone)]
pub struct Db {
    pub read: AnyPool,
    pub write: AnyPool,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path} or its database (mode 0700/0600): {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database connection failed: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens the embedded SQLite database in `data_dir`, or PostgreSQL when `database_url` is set,
    /// and brings its schema up to date.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let db = match database_url {
            Some(url) => Self::open_postgres(url).await?,
            None => Self::open_sqlite(data_dir).await?,
        };
        // One migration set serves both backends (see the conventions above).
        sqlx::migrate!("./migrations").run(&db.write).await?;
        Ok(db)
    }

    async fn open_sqlite(data_dir: &Path) -> Result<Db, DbError> {
        let file = data_dir.join("kintara.db");
        crate::data_dir::private_dir(data_dir)
            .and_then(|()| crate::data_dir::private_file(&file))
            .map_err(|source| DbError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?;
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let opts = sqlx::any::AnyConnectOptions::from_str(&url).map_err(DbError::Connect)?;
        let pool = |max: u32, pragmas: &'static str| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        conn.execute(pragmas).await.map(|_| ())
                    })
                })
        };
        const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                               PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";
        // The writer never checkpoints: a checkpoint inside a commit (SQLite's default, every
        // 1 000 pages) holds the single writer for milliseconds, which every message queued
        // behind it waits out. `spawn_checkpoints` does it from a reader connection instead.
        const WRITER_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                      PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                                      PRAGMA wal_autocheckpoint = 0;";
        let write = pool(1, WRITER_PRAGMAS)
            .connect_with(opts.clone())
            .await
            .map_err(DbError::Connect)?;
        let read = pool(8, PRAGMAS)
            .connect_with(opts)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db {
            read,
            write,
            backend: Backend::Sqlite,
        })
    }

    async fn open_postgres(url: &str) -> Result<Db, DbError> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db {
            read: pool.clone(),
            write: pool,
            backend: Backend::Postgres,
        })
    }
}

impl Db {
    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that read first and wrote later would have to upgrade its read
    /// lock, and SQLite refuses an upgrade at once, without waiting, when a checkpoint holds the
    /// write lock while it waits for that very reader ("database is locked").
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let frames_from = crate::events::mark();
        let tx = match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        };
        Ok(WriteTx { tx, frames_from })
    }
}

/// A write transaction that knows which event frames it appended: `commit` declares them
/// committed, so they are delivered straight to this instance's sockets after the request
/// (`events::publish`). Dropped without `commit` it rolls back, and its frames only wake their
/// readers, who find nothing: a rolled-back frame can never be delivered. No call site marks
/// frames by hand. Derefs to the connection every storage function takes.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    /// Where the request's collected frames stood when this transaction began.
    frames_from: usize,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        crate::events::committed_since(self.frames_from);
        Ok(())
    }

    /// Ends the transaction without storing anything (as dropping it does, but at once).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Past this many pages (128 MB) the log is restarted even if the writer must wait for it (tens
/// of milliseconds here, once every several seconds at 300 messages/s): readers come and go all
/// the time, so the moment without any, which a restart needs, rarely comes by itself.
const LOG_LIMIT_PAGES: i64 = 32_768;

impl Db {
    /// On SQLite: checkpoints the write-ahead log every second from a reader connection, so the
    /// writer (which never checkpoints, see `open_sqlite`) is not held by one. PASSIVE copies
    /// what it can and never waits; but under sustained writes the log is never caught up at
    /// the moment a write begins, so it would never be reset and would grow without end. Past
    /// `LOG_LIMIT_PAGES` a RESTART checkpoint waits for the current write and the readers,
    /// finishes the copy (mostly done already) and makes the next write reuse the log from its
    /// start, so the file stays within the limit. Nothing on PostgreSQL.
    /// The caller aborts the task at shutdown.
    pub fn spawn_checkpoints(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let read = self.read.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if let Err(e) = checkpoint(&read, LOG_LIMIT_PAGES).await {
                    // The next tick tries again; until then the log only grows.
                    tracing::warn!(error = %e, "checkpointing the SQLite log failed");
                }
            }
        }))
    }
}

async fn checkpoint(read: &AnyPool, limit_pages: i64) -> Result<(), sqlx::Error> {
    let mut conn = read.acquire().await?;
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    // (busy, pages in the log, pages copied)
    let log: i64 = row.try_get(1)?;
    if log <= limit_pages {
        return Ok(());
    }
    // RESTART takes the write lock, then waits for the readers. With a busy handler it would
    // hold the writer through SQLite's sleeps (1, 2, 5, 10... ms) between looks at the readers;
    // without one it finishes at once or gives up at once, and is tried again a moment later.
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let restarted = restart(&mut conn).await;
    let restored = sqlx::query("PRAGMA busy_timeout = 5000")
        .execute(&mut *conn)
        .await;
    if restored.is_err() {
        // Not back in the pool without its busy timeout.
        drop(conn.detach());
    }
    restarted.and(restored.map(|_| ()))
}

/// Up to a second of RESTART attempts a millisecond apart; `Ok` also when every one found a
/// reader in the way (the next tick tries again).
async fn restart(conn: &mut sqlx::pool::PoolConnection<sqlx::Any>) -> Result<(), sqlx::Error> {
    for _ in 0..1_000 {
        let row = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .fetch_one(&mut **conn)
            .await?;
        let busy: i64 = row.try_get(0)?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tracing::debug!("the SQLite log could not be restarted: readers in the way");
    Ok(())
}

/// Many rows in one statement, passed as one JSON array parameter: a table of the array's
/// elements, each an object read with `j.value ->> 'key'` (text; `CAST(... AS BIGINT)` for
/// numbers). The statement's text does not change with the number of rows, so it is prepared
/// once and stays in the connection's statement cache, and each row is one index lookup (a
/// row-value `IN (VALUES ...)` would scan, and one `IN` list per column would probe their
/// product). Use as `FROM {json_rows} j`.
pub fn json_rows(conn: &AnyConnection, param: usize) -> String {
    if conn.backend_name() == "PostgreSQL" {
        format!("json_array_elements(${param}::json)")
    } else {
        format!("json_each(${param})")
    }
}

/// A JSON array of strings as a one-column subquery: `x IN ({json_strings})`.
pub fn json_strings(conn: &AnyConnection, param: usize) -> String {
    if conn.backend_name() == "PostgreSQL" {
        format!("SELECT value FROM json_array_elements_text(${param}::json)")
    } else {
        format!("SELECT value FROM json_each(${param})")
    }
}

/// The JSON array parameter of `json_strings` for ids.
pub fn json_ids<'a>(ids: impl IntoIterator<Item = &'a uuid::Uuid>) -> String {
    serde_json::Value::Array(
        ids.into_iter()
            .map(|id| serde_json::Value::String(id.to_string()))
            .collect(),
    )
    .to_string()
}

/// A timestamp as stored: `2026-11-22T08:00:00.123456Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Reads a stored timestamp column.
pub fn get_ts(row: &AnyRow, col: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    let s: String = row.try_get(col)?;
    parse_ts(col, &s)
}

pub fn get_opt_ts(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| parse_ts(col, &s)).transpose()
}

fn parse_ts(col: &str, s: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| sqlx::Error::ColumnDecode {
            index: col.to_owned(),
            source: Box::new(e),
        })
}

pub fn get_bool(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

pub fn get_uuid(row: &AnyRow, col: &str) -> Result<uuid::Uuid, sqlx::Error> {
    let s: String = row.try_get(col)?;
    uuid::Uuid::parse_str(&s).map_err(|e| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: Box::new(e),
    })
}

/// Decodes a column holding a wire enum's string.
pub fn get_enum<T>(
    row: &AnyRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    let s: String = row.try_get(col)?;
    parse(&s).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: format!("unknown value {s:?}").into(),
    })
}

/// Decodes a JSON text column.
pub fn get_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T, sqlx::Error> {
    let s: String = row.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: Box::new(e),
    })
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer never checkpoints (its log would grow with every burst); the checkpoint lets
    /// the next burst reuse the log from its start.
    #[tokio::test]
    async fn the_sqlite_log_is_reused_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), None).await.unwrap();
        sqlx::query("CREATE TABLE scratch (b TEXT NOT NULL)")
            .execute(&db.write)
            .await
            .unwrap();
        let wal = dir.path().join("kintara.db-wal");
        let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        let page = "x".repeat(4096);
        let burst = || async {
            for _ in 0..1_000 {
                sqlx::query("INSERT INTO scratch (b) VALUES ($1)")
                    .bind(&page)
                    .execute(&db.write)
                    .await
                    .unwrap();
            }
        };
        burst().await;
        let one = size();
        // SQLite's own checkpoint (every 1 000 pages) would have kept it near 4 MB.
        assert!(
            one > 6 * 1024 * 1024,
            "the writer left its log alone: {one} bytes"
        );
        burst().await;
        assert!(
            size() > one * 3 / 2,
            "without a checkpoint the log only grows"
        );
        let two = size();
        checkpoint(&db.read, 1_024).await.unwrap();
        burst().await;
        assert_eq!(
            size(),
            two,
            "after the checkpoint the log was reused, not extended"
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scratch")
            .fetch_one(&db.read)
            .await
            .unwrap();
        assert_eq!(count, 3_000, "nothing written was lost");
    }
}
