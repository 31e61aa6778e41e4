//! The `user_events` table and the `users.event_seq` / `event_floor` counters.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kintara_api::{Cursor, Event, EventFrame};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::publish;
use crate::db::{get_uuid, json_ids, json_rows, json_strings, ts};

/// Appends one frame to `user`'s log and returns its seq. Call it only inside the transaction of
/// the change it describes (see `append_many`).
pub async fn append(
    conn: &mut AnyConnection,
    user: Uuid,
    event: &Event,
) -> Result<i64, sqlx::Error> {
    let seqs = append_many(conn, &[(user, event.clone())]).await?;
    Ok(seqs[0])
}

/// Appends the same frame to several users' logs.
pub async fn append_all(
    conn: &mut AnyConnection,
    users: impl IntoIterator<Item = Uuid>,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let mut users: Vec<Uuid> = users.into_iter().collect();
    users.sort();
    users.dedup();
    let frames: Vec<_> = users.into_iter().map(|u| (u, event.clone())).collect();
    append_many(conn, &frames).await?;
    Ok(())
}

/// Appends frames to users' logs, each user's in the order given, and returns their seqs in
/// that order. Two statements however many frames and users (three on PostgreSQL) (a batch of messages fans out in
/// one go). Call it only inside the transaction of the change the frames describe: bumping
/// `event_seq` locks the users' rows until commit, which is what keeps each user's seqs gap-free
/// and in commit order. On PostgreSQL the rows are locked in id order first, so transactions
/// appending to the same users cannot deadlock each other. `NO KEY UPDATE` is the lock the
/// counter's UPDATE takes anyway; `FOR UPDATE` would also block (and deadlock with) every
/// transaction inserting a row that refers to these users (a notification, a participant). The
/// users are woken, or the frames delivered, after the request finishes (see `publish`).
pub async fn append_many(
    conn: &mut AnyConnection,
    frames: &[(Uuid, Event)],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut counts: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (user, _) in frames {
        *counts.entry(*user).or_default() += 1;
    }
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    if counts.len() > 1 && conn.backend_name() == "PostgreSQL" {
        let sql = format!(
            "SELECT id FROM users WHERE id IN ({}) ORDER BY id FOR NO KEY UPDATE",
            json_strings(conn, 1)
        );
        sqlx::query(&sql)
            .bind(json_ids(counts.keys()))
            .fetch_all(&mut *conn)
            .await?;
    }
    let sql = format!(
        "UPDATE users SET event_seq = event_seq + CAST(j.value ->> 'n' AS BIGINT) \
         FROM {} j WHERE users.id = j.value ->> 'u' RETURNING users.id, users.event_seq",
        json_rows(conn, 1)
    );
    let json: Vec<_> = counts
        .iter()
        .map(|(u, n)| serde_json::json!({ "u": u.to_string(), "n": n }))
        .collect();
    let rows = sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .fetch_all(&mut *conn)
        .await?;
    // The next seq of each user: the first of the range just taken.
    let mut next: HashMap<Uuid, i64> = HashMap::with_capacity(counts.len());
    for row in rows {
        let user = get_uuid(&row, "id")?;
        let end: i64 = row.try_get("event_seq")?;
        next.insert(user, end - counts.get(&user).copied().unwrap_or(0) + 1);
    }
    let now = ts(Utc::now());
    let mut seqs = Vec::with_capacity(frames.len());
    let mut json = Vec::with_capacity(frames.len());
    for (user, event) in frames {
        let seq = next.get_mut(user).ok_or(sqlx::Error::RowNotFound)?;
        seqs.push(*seq);
        json.push(serde_json::json!({
            "u": user.to_string(),
            "s": *seq,
            "t": event.kind().as_str(),
            "d": event.data_string(),
        }));
        *seq += 1;
    }
    let sql = format!(
        "INSERT INTO user_events (user_id, seq, event_type, data, created_at) \
         SELECT j.value ->> 'u', CAST(j.value ->> 's' AS BIGINT), j.value ->> 't', \
         j.value ->> 'd', $2 FROM {} j",
        json_rows(conn, 1)
    );
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    for ((user, event), seq) in frames.iter().zip(&seqs) {
        publish::record_frame(
            *user,
            *seq,
            EventFrame {
                cursor: Cursor::after(*seq),
                event: event.clone(),
            },
        );
    }
    Ok(seqs)
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
    .bind(cursor.seq())
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
    if cursor.seq() < floor || cursor.seq() > end {
        let frame = EventFrame {
            cursor: Cursor::after(end),
            event: Event::ResyncRequired {},
        };
        return Ok((vec![frame], Cursor::after(end)));
    }
    let mut next = cursor;
    let mut frames = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq: i64 = row.try_get("seq")?;
        let kind: String = row.try_get("event_type")?;
        let data: String = row.try_get("data")?;
        // A frame this version cannot read (written by another version, say) is not skipped in
        // silence: the reader is told to refetch what it shows, and goes on after it.
        let event = Event::from_stored(&kind, &data).unwrap_or_else(|| {
            tracing::warn!(
                seq,
                kind,
                "an unreadable frame in the log, sent as resync_required"
            );
            Event::ResyncRequired {}
        });
        frames.push(EventFrame {
            cursor: Cursor::after(seq),
            event,
        });
        next = Cursor::after(seq);
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
    Ok(Cursor::after(seq.unwrap_or(0)))
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
