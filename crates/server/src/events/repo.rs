//! The `user_events` table and the `users.event_seq` / `event_floor` counters.

use chrono::{DateTime, Utc};
use kintara_api::{EventFrame, EventType};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::publish;
use crate::db::ts;

/// A position in one user's log: the seq of the last frame seen ("0" = from the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor(pub i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventsError {
    #[error("a cursor is a non-negative integer")]
    BadCursor,
}

impl Cursor {
    pub fn parse(s: &str) -> Result<Cursor, EventsError> {
        // Digits only: no sign, no spaces, no exponent; and it must fit.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EventsError::BadCursor);
        }
        s.parse::<i64>()
            .map(Cursor)
            .map_err(|_| EventsError::BadCursor)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Appends one frame to `user`'s log and returns its seq. Call it only inside the transaction of
/// the change it describes: bumping `event_seq` locks the user's row until commit, which is what
/// keeps each user's seqs gap-free and in commit order. The user is woken, or the frame delivered,
/// after the request finishes (see `publish`).
pub async fn append(
    conn: &mut AnyConnection,
    user: Uuid,
    kind: EventType,
    data: &serde_json::Value,
) -> Result<i64, sqlx::Error> {
    let seq: i64 =
        sqlx::query("UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq")
            .bind(user.to_string())
            .fetch_one(&mut *conn)
            .await?
            .try_get("event_seq")?;
    sqlx::query(
        "INSERT INTO user_events (user_id, seq, event_type, data, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.to_string())
    .bind(seq)
    .bind(kind.as_str())
    .bind(data.to_string())
    .bind(ts(Utc::now()))
    .execute(&mut *conn)
    .await?;
    publish::record_frame(
        user,
        seq,
        EventFrame {
            r#type: kind,
            data: data.clone(),
            cursor: seq.to_string(),
        },
    );
    Ok(seq)
}

/// Appends the same frame to several users' logs, in id order: transactions that lock the same
/// users' rows in one order cannot deadlock each other on PostgreSQL.
pub async fn append_all(
    conn: &mut AnyConnection,
    users: impl IntoIterator<Item = Uuid>,
    kind: EventType,
    data: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let mut users: Vec<Uuid> = users.into_iter().collect();
    users.sort();
    users.dedup();
    for user in users {
        append(conn, user, kind, data).await?;
    }
    Ok(())
}

/// Up to `limit` frames of `user`'s log after `cursor`, in order, and the cursor to continue
/// from (the last frame's, or `cursor` when there is none). A cursor below what retention kept,
/// or beyond the log's end (a log this server never wrote), gets one `resync_required` frame
/// whose cursor is the log's current end. Only `user`'s own log is read.
pub async fn since(
    conn: &mut AnyConnection,
    user: Uuid,
    cursor: Cursor,
    limit: i64,
) -> Result<(Vec<EventFrame>, Cursor), sqlx::Error> {
    // Frames first, counters second: if retention ran in between, the counters show it and the
    // (possibly gapped) frames are discarded for a resync.
    let rows = sqlx::query(
        "SELECT seq, event_type, data FROM user_events \
         WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(user.to_string())
    .bind(cursor.0)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let counters = sqlx::query("SELECT event_seq, event_floor FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let (end, floor): (i64, i64) = match counters {
        Some(r) => (r.try_get("event_seq")?, r.try_get("event_floor")?),
        None => (0, 0),
    };
    if cursor.0 < floor || cursor.0 > end {
        let frame = EventFrame {
            r#type: EventType::ResyncRequired,
            data: serde_json::json!({}),
            cursor: end.to_string(),
        };
        return Ok((vec![frame], Cursor(end)));
    }
    let mut next = cursor;
    let mut frames = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq: i64 = row.try_get("seq")?;
        let kind: String = row.try_get("event_type")?;
        let data: String = row.try_get("data")?;
        let kind = EventType::parse(&kind).ok_or_else(|| decode("event_type", "unknown type"))?;
        let data = serde_json::from_str(&data).map_err(|_| decode("data", "not JSON"))?;
        frames.push(EventFrame {
            r#type: kind,
            data,
            cursor: seq.to_string(),
        });
        next = Cursor(seq);
    }
    Ok((frames, next))
}

/// The cursor of `user`'s newest frame ("0" for an empty log): where a client that wants only
/// what comes next starts.
pub async fn end(conn: &mut AnyConnection, user: Uuid) -> Result<Cursor, sqlx::Error> {
    let seq: Option<i64> = sqlx::query("SELECT event_seq FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("event_seq"))
        .transpose()?;
    Ok(Cursor(seq.unwrap_or(0)))
}

fn decode(col: &str, what: &'static str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: what.into(),
    }
}

/// Retention: removes frames created before `older_than`, one user at a time, raising each
/// user's `event_floor` to the highest seq removed. The floor moves before the rows go (separate
/// statements in autocommit): a reader in between resyncs, which is safe, and never sees a
/// silent gap. Each statement locks one user's row only, so retention never holds many users'
/// rows against requests that append to their logs. Returns the number of frames removed.
pub async fn prune(
    conn: &mut AnyConnection,
    older_than: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let cutoff = ts(older_than);
    let users = sqlx::query(
        "SELECT e.user_id, MAX(e.seq) AS floor FROM user_events e \
         WHERE e.created_at < $1 GROUP BY e.user_id",
    )
    .bind(&cutoff)
    .fetch_all(&mut *conn)
    .await?;
    let mut removed = 0;
    for row in &users {
        let user: String = row.try_get("user_id")?;
        let floor: i64 = row.try_get("floor")?;
        sqlx::query("UPDATE users SET event_floor = $2 WHERE id = $1 AND event_floor < $2")
            .bind(&user)
            .bind(floor)
            .execute(&mut *conn)
            .await?;
        // Everything up to the floor goes, so a user's log never has holes in its middle.
        removed += sqlx::query("DELETE FROM user_events WHERE user_id = $1 AND seq <= $2")
            .bind(&user)
            .bind(floor)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_plain_non_negative_integers() {
        assert_eq!(Cursor::parse("0"), Ok(Cursor(0)));
        assert_eq!(Cursor::parse("42"), Ok(Cursor(42)));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.0",
            "1e3",
            "abc",
            "99999999999999999999",
        ] {
            assert_eq!(Cursor::parse(bad), Err(EventsError::BadCursor), "{bad:?}");
        }
    }
}
