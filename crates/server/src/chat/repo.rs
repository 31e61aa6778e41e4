//! Chat storage: SQL only. Every function takes the connection of the caller's transaction (or a
//! read connection), so what must agree commits together.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kintara_api::{ChatSettings, Event, EventType, MessageType, ProviderType, Role, RoomType};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{
    get_bool, get_enum, get_opt_ts, get_ts, get_uuid, json_ids, json_rows, json_strings, ts,
};

/// The effective setting of column `col` of `chat_settings` for the user in `u` (joined as `s`):
/// the stored choice, else the role's default (survivors off, everyone else on).
fn setting(col: &str) -> String {
    format!("COALESCE(s.{col}, CASE WHEN u.role = 'survivor' THEN 0 ELSE 1 END)")
}

/// Whether participant row `p` still belongs in conversation `c`. A case room holds its
/// survivor, the providers whose acceptance still stands, and the staff who joined it: a
/// provider taken off the case (reassigned) keeps a participant row but loses the room with the
/// case.
fn current(p: &str, c: &str) -> String {
    format!(
        "({c}.kind <> 'case' \
         OR EXISTS (SELECT 1 FROM incidents ci WHERE ci.id = {c}.incident_id \
                    AND ci.survivor_id = {p}.user_id) \
         OR EXISTS (SELECT 1 FROM case_assignments ca WHERE ca.incident_id = {c}.incident_id \
                    AND ca.provider_id = {p}.user_id AND ca.status = 'accepted') \
         OR EXISTS (SELECT 1 FROM users su WHERE su.id = {p}.user_id \
                    AND su.role IN ('dispatcher', 'admin')))"
    )
}

/// A room as one participant sees it.
#[derive(Debug, Clone)]
pub struct RoomRow {
    pub id: Uuid,
    pub kind: RoomType,
    pub incident: Option<Uuid>,
    pub case_number: Option<String>,
    pub incident_anonymous: bool,
    pub is_active: bool,
    pub last_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The viewer's read position.
    pub last_read_seq: i64,
}

const ROOM_COLUMNS: &str = "c.id, c.kind, c.incident_id, i.case_number, \
    COALESCE(i.is_anonymous, 0) AS incident_anonymous, c.is_active, c.last_seq, c.created_at, \
    c.updated_at, p.last_read_seq";

fn room_row(r: &AnyRow) -> Result<RoomRow, sqlx::Error> {
    let incident: Option<String> = r.try_get("incident_id")?;
    Ok(RoomRow {
        id: get_uuid(r, "id")?,
        kind: get_enum(r, "kind", RoomType::parse)?,
        incident: incident.and_then(|s| Uuid::parse_str(&s).ok()),
        case_number: r.try_get("case_number")?,
        incident_anonymous: get_bool(r, "incident_anonymous")?,
        is_active: get_bool(r, "is_active")?,
        last_seq: r.try_get("last_seq")?,
        created_at: get_ts(r, "created_at")?,
        updated_at: get_ts(r, "updated_at")?,
        last_read_seq: r.try_get("last_read_seq")?,
    })
}

/// The room if `user` takes part in it; `None` is "not found" to them.
pub async fn room_for(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
) -> Result<Option<RoomRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ROOM_COLUMNS} FROM conversations c \
         JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $2 \
         LEFT JOIN incidents i ON i.id = c.incident_id \
         WHERE c.id = $1 AND {}",
        current("p", "c"),
    ))
    .bind(room.to_string())
    .bind(user.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(room_row).transpose()
}

/// The user's rooms, most recently active first. A hidden direct room comes back once a message
/// arrives after it was hidden.
pub async fn rooms_of(conn: &mut AnyConnection, user: Uuid) -> Result<Vec<RoomRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {ROOM_COLUMNS} FROM conversations c \
         JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $1 \
         LEFT JOIN incidents i ON i.id = c.incident_id \
         WHERE (p.hidden_at IS NULL OR p.hidden_at < c.updated_at) AND {} \
         ORDER BY c.updated_at DESC, c.id",
        current("p", "c"),
    ))
    .bind(user.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(room_row).collect()
}

/// A participant with what the views need: their sharing settings, read position and whether
/// they are typing now.
#[derive(Debug, Clone)]
pub struct ParticipantRow {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub provider_type: Option<ProviderType>,
    pub account_anonymous: bool,
    pub last_read_seq: i64,
    pub settings: ChatSettings,
    pub typing_until: Option<DateTime<Utc>>,
    /// When the participant last had the room open (see `mark_reading`).
    pub reading_at: Option<DateTime<Utc>>,
    pub account_active: bool,
}

pub async fn participants(
    conn: &mut AnyConnection,
    room: Uuid,
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    Ok(participants_of(conn, &[room])
        .await?
        .remove(&room)
        .unwrap_or_default())
}

/// The participants of each of `rooms` (a batch of messages reads them once), each room's in
/// the order they joined.
pub async fn participants_of(
    conn: &mut AnyConnection,
    rooms: &[Uuid],
) -> Result<HashMap<Uuid, Vec<ParticipantRow>>, sqlx::Error> {
    if rooms.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT p.conversation_id, u.id, u.first_name, u.last_name, u.role, u.provider_type, \
         u.is_anonymous, p.last_read_seq, {} AS read_receipts, {} AS typing_indicators, \
         {} AS presence, t.until, p.reading_at, \
         CAST(CASE WHEN u.account_state = 'active' THEN 1 ELSE 0 END AS BIGINT) AS account_active \
         FROM conversation_participants p \
         JOIN conversations c ON c.id = p.conversation_id \
         JOIN users u ON u.id = p.user_id \
         LEFT JOIN chat_settings s ON s.user_id = u.id \
         LEFT JOIN typing t ON t.conversation_id = p.conversation_id AND t.user_id = u.id \
         WHERE p.conversation_id IN ({}) AND {} ORDER BY p.conversation_id, p.joined_at, u.id",
        setting("read_receipts"),
        setting("typing_indicators"),
        setting("presence"),
        json_strings(conn, 1),
        current("p", "c"),
    );
    let rows = sqlx::query(&sql)
        .bind(json_ids(rooms))
        .fetch_all(conn)
        .await?;
    let mut out: HashMap<Uuid, Vec<ParticipantRow>> = HashMap::new();
    for r in rows {
        let provider_type: Option<String> = r.try_get("provider_type")?;
        let row = ParticipantRow {
            id: get_uuid(&r, "id")?,
            first_name: r.try_get("first_name")?,
            last_name: r.try_get("last_name")?,
            role: get_enum(&r, "role", Role::parse)?,
            provider_type: provider_type.as_deref().and_then(ProviderType::parse),
            account_anonymous: get_bool(&r, "is_anonymous")?,
            last_read_seq: r.try_get("last_read_seq")?,
            settings: ChatSettings {
                read_receipts: get_bool(&r, "read_receipts")?,
                typing_indicators: get_bool(&r, "typing_indicators")?,
                presence: get_bool(&r, "presence")?,
            },
            typing_until: get_opt_ts(&r, "until")?,
            reading_at: get_opt_ts(&r, "reading_at")?,
            account_active: get_bool(&r, "account_active")?,
        };
        out.entry(get_uuid(&r, "conversation_id")?)
            .or_default()
            .push(row);
    }
    Ok(out)
}

/// Whether `provider` works on an anonymous case of `survivor` (then she stays anonymous to
/// them in direct rooms too).
pub async fn anonymous_to(
    conn: &mut AnyConnection,
    survivor: Uuid,
    provider: Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM incidents i JOIN case_assignments a ON a.incident_id = i.id \
         WHERE i.survivor_id = $1 AND a.provider_id = $2 AND i.is_anonymous = 1 LIMIT 1",
    )
    .bind(survivor.to_string())
    .bind(provider.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: Uuid,
    pub room: Uuid,
    pub seq: i64,
    pub sender: Option<Uuid>,
    pub client_id: Option<String>,
    pub message_type: MessageType,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, seq, sender_id, client_id, message_type, content, created_at, deleted_at";

fn message_row(r: &AnyRow) -> Result<MessageRow, sqlx::Error> {
    let sender: Option<String> = r.try_get("sender_id")?;
    Ok(MessageRow {
        id: get_uuid(r, "id")?,
        room: get_uuid(r, "conversation_id")?,
        seq: r.try_get("seq")?,
        sender: sender.and_then(|s| Uuid::parse_str(&s).ok()),
        client_id: r.try_get("client_id")?,
        message_type: get_enum(r, "message_type", MessageType::parse)?,
        content: r.try_get("content")?,
        created_at: get_ts(r, "created_at")?,
        deleted_at: get_opt_ts(r, "deleted_at")?,
    })
}

pub async fn message(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(message_row).transpose()
}

pub async fn last_message(
    conn: &mut AnyConnection,
    room: Uuid,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 \
         ORDER BY seq DESC LIMIT 1"
    ))
    .bind(room.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(message_row).transpose()
}

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
pub enum Cursor {
    Latest,
    Before(i64),
    After(i64),
    /// After the first, before the second: oldest first.
    Between(i64, i64),
}

/// Up to `limit` messages, oldest first, plus whether there are older and newer ones.
pub async fn page(
    conn: &mut AnyConnection,
    room: Uuid,
    cursor: Cursor,
    limit: u32,
) -> Result<(Vec<MessageRow>, bool, bool), sqlx::Error> {
    let (filter, order, bound, upper) = match cursor {
        Cursor::Latest => ("", "DESC", None, None),
        Cursor::Before(s) => ("AND seq < $3", "DESC", Some(s), None),
        Cursor::After(s) => ("AND seq > $3", "ASC", Some(s), None),
        Cursor::Between(a, b) => ("AND seq > $3 AND seq < $4", "ASC", Some(a), Some(b)),
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 {filter} \
         ORDER BY seq {order} LIMIT $2"
    );
    let mut q = sqlx::query(&sql)
        .bind(room.to_string())
        .bind(i64::from(limit) + 1);
    for b in [bound, upper].into_iter().flatten() {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut msgs = rows
        .iter()
        .map(message_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = msgs.len() > limit as usize;
    msgs.truncate(limit as usize);
    if order == "DESC" {
        msgs.reverse();
    }
    let (first, last) = match (msgs.first(), msgs.last()) {
        (Some(f), Some(l)) => (f.seq, l.seq),
        _ => return Ok((msgs, false, false)),
    };
    let (older, newer) = match cursor {
        Cursor::Latest | Cursor::Before(_) => (more, any_beyond(conn, room, ">", last).await?),
        Cursor::After(_) | Cursor::Between(..) => (any_beyond(conn, room, "<", first).await?, more),
    };
    Ok((msgs, older, newer))
}

/// Whether the room has a message with `seq <op> bound`.
async fn any_beyond(
    conn: &mut AnyConnection,
    room: Uuid,
    op: &str,
    bound: i64,
) -> Result<bool, sqlx::Error> {
    let sql =
        format!("SELECT 1 AS one FROM messages WHERE conversation_id = $1 AND seq {op} $2 LIMIT 1");
    let row = sqlx::query(&sql)
        .bind(room.to_string())
        .bind(bound)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Others' live messages after `after_seq` (up to `upto_seq` when given).
pub async fn count_unread(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
    after_seq: i64,
    upto_seq: Option<i64>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND seq > $3 \
         AND ($4 IS NULL OR seq <= $4) AND COALESCE(sender_id, '') <> $2 AND deleted_at IS NULL",
    )
    .bind(room.to_string())
    .bind(user.to_string())
    .bind(after_seq)
    .bind(upto_seq)
    .fetch_one(conn)
    .await
}

/// For a batch of sends: the room of each (room, user) pair in which the user takes part, as
/// that user sees it; a pair missing is "not found" to that user. With `lock` (on PostgreSQL)
/// the rooms' rows stay locked until the transaction ends, taken in id order so that two
/// batches cannot deadlock: concurrent sends to a room queue, and each sees the number the
/// previous one took. SQLite's single writer needs no lock.
pub async fn member_rooms(
    conn: &mut AnyConnection,
    pairs: &[(Uuid, Uuid)],
    lock: bool,
) -> Result<HashMap<(Uuid, Uuid), RoomRow>, sqlx::Error> {
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT {ROOM_COLUMNS}, p.user_id AS member FROM {} j \
         JOIN conversation_participants p \
           ON p.conversation_id = j.value ->> 'r' AND p.user_id = j.value ->> 'u' \
         JOIN conversations c ON c.id = p.conversation_id \
         LEFT JOIN incidents i ON i.id = c.incident_id \
         WHERE {} ORDER BY c.id{}",
        json_rows(conn, 1),
        current("p", "c"),
        if lock { " FOR UPDATE OF c" } else { "" },
    );
    let json: Vec<_> = pairs
        .iter()
        .map(|(r, u)| serde_json::json!({ "r": r.to_string(), "u": u.to_string() }))
        .collect();
    let rows = sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .fetch_all(conn)
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        let room = room_row(&r)?;
        out.insert((room.id, get_uuid(&r, "member")?), room);
    }
    Ok(out)
}

/// The messages each (room, sender, client id) triple names, if stored: one index lookup each.
pub async fn by_client_ids(
    conn: &mut AnyConnection,
    keys: &[(Uuid, Uuid, &str)],
) -> Result<Vec<MessageRow>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} FROM {} j JOIN messages m ON m.conversation_id = j.value ->> 'r' \
         AND m.sender_id = j.value ->> 's' AND m.client_id = j.value ->> 'c'",
        MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        json_rows(conn, 1),
    );
    let json: Vec<_> = keys
        .iter()
        .map(|(r, s, c)| serde_json::json!({ "r": r.to_string(), "s": s.to_string(), "c": c }))
        .collect();
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .fetch_all(conn)
        .await?
        .iter()
        .map(message_row)
        .collect()
}

/// Stores users' messages in one statement; returns how many were stored (a message whose
/// client id its sender used before in the room is not).
pub async fn insert_messages(
    conn: &mut AnyConnection,
    rows: &[MessageRow],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    // `WHERE true`: SQLite's grammar needs it between a SELECT and ON CONFLICT.
    let sql = format!(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, message_type, \
         content, created_at) \
         SELECT j.value ->> 'id', j.value ->> 'r', CAST(j.value ->> 'seq' AS BIGINT), \
         j.value ->> 's', j.value ->> 'c', j.value ->> 't', j.value ->> 'body', j.value ->> 'at' \
         FROM {} j WHERE true \
         ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING",
        json_rows(conn, 1),
    );
    let json: Vec<_> = rows
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id.to_string(),
                "r": m.room.to_string(),
                "seq": m.seq,
                "s": m.sender.map(|s| s.to_string()),
                "c": m.client_id,
                "t": m.message_type.as_str(),
                "body": m.content,
                "at": ts(m.created_at),
            })
        })
        .collect();
    Ok(sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .execute(conn)
        .await?
        .rows_affected())
}

/// Sets each room's last message number and dates its activity `now`.
pub async fn set_last_seqs(
    conn: &mut AnyConnection,
    last: &[(Uuid, i64)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if last.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE conversations SET last_seq = CAST(j.value ->> 's' AS BIGINT), updated_at = $2 \
         FROM {} j WHERE conversations.id = j.value ->> 'r'",
        json_rows(conn, 1),
    );
    let json: Vec<_> = last
        .iter()
        .map(|(r, s)| serde_json::json!({ "r": r.to_string(), "s": s }))
        .collect();
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves read positions forward (never back): each (room, user, seq) at most once per (room,
/// user). Records that those users are looking at those rooms `now`.
pub async fn advance_reads(
    conn: &mut AnyConnection,
    reads: &[(Uuid, Uuid, i64)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if reads.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE conversation_participants SET \
         last_read_seq = CASE WHEN last_read_seq < CAST(j.value ->> 's' AS BIGINT) \
           THEN CAST(j.value ->> 's' AS BIGINT) ELSE last_read_seq END, \
         last_read_at = $2, reading_at = $2 \
         FROM {} j WHERE conversation_participants.conversation_id = j.value ->> 'r' \
         AND conversation_participants.user_id = j.value ->> 'u'",
        json_rows(conn, 1),
    );
    let json: Vec<_> = reads
        .iter()
        .map(|(r, u, s)| serde_json::json!({ "r": r.to_string(), "u": u.to_string(), "s": s }))
        .collect();
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves one read position forward to `seq` (never back).
pub async fn advance_read(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    advance_reads(conn, &[(room, user, seq)], now).await
}

/// Soft delete: the message keeps its place; its content is erased, not just hidden.
pub async fn soft_delete(
    conn: &mut AnyConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET content = '', deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id.to_string())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a deleted message's text out of the event logs of `people`: each of its `new_message`
/// frames becomes the `message_deleted` frame `deleted` (same place in the log, no text). Frames
/// are found by their payload's first field, the message's id (`ChatMessage` serialises `id`
/// first; a test in `kintara-api` holds it there).
pub async fn purge_message_frames(
    conn: &mut AnyConnection,
    people: &[Uuid],
    deleted: &Event,
    message: Uuid,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "UPDATE user_events SET event_type = $1, data = $2 \
         WHERE user_id IN ({}) AND event_type = $4 AND data LIKE $5",
        crate::db::json_strings(conn, 3)
    );
    let done = sqlx::query(&sql)
        .bind(deleted.kind().as_str())
        .bind(deleted.data_string())
        .bind(crate::db::json_ids(people))
        .bind(EventType::NewMessage.as_str())
        .bind(format!("{{\"id\":\"{message}\",%"))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The conversation of case `incident`, once it is open.
pub async fn case_room_of(
    conn: &mut AnyConnection,
    incident: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query("SELECT id FROM conversations WHERE incident_id = $1")
        .bind(incident.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| get_uuid(&r, "id")).transpose()
}

/// Adds `user` to `room`; false when they were in it already.
pub async fn join(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO conversation_participants (conversation_id, user_id, joined_at) \
         VALUES ($1, $2, $3) ON CONFLICT (conversation_id, user_id) DO NOTHING",
    )
    .bind(room.to_string())
    .bind(user.to_string())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes `user` out of `room`: no more of its messages, frames or notifications.
pub async fn leave(conn: &mut AnyConnection, room: Uuid, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(room.to_string())
    .bind(user.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_hidden(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conversation_participants SET hidden_at = $3, reading_at = NULL \
         WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(room.to_string())
    .bind(user.to_string())
    .bind(at.map(ts))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_typing(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    match until {
        Some(until) => sqlx::query(
            "INSERT INTO typing (conversation_id, user_id, until) VALUES ($1, $2, $3) \
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET until = excluded.until",
        )
        .bind(room.to_string())
        .bind(user.to_string())
        .bind(ts(until)),
        None => sqlx::query("DELETE FROM typing WHERE conversation_id = $1 AND user_id = $2")
            .bind(room.to_string())
            .bind(user.to_string()),
    }
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn settings(
    conn: &mut AnyConnection,
    user: Uuid,
) -> Result<Option<ChatSettings>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {} AS read_receipts, {} AS typing_indicators, {} AS presence \
         FROM users u LEFT JOIN chat_settings s ON s.user_id = u.id WHERE u.id = $1",
        setting("read_receipts"),
        setting("typing_indicators"),
        setting("presence"),
    ))
    .bind(user.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(ChatSettings {
            read_receipts: get_bool(&r, "read_receipts")?,
            typing_indicators: get_bool(&r, "typing_indicators")?,
            presence: get_bool(&r, "presence")?,
        })
    })
    .transpose()
}

pub async fn put_settings(
    conn: &mut AnyConnection,
    user: Uuid,
    s: ChatSettings,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chat_settings (user_id, read_receipts, typing_indicators, presence, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
         read_receipts = excluded.read_receipts, typing_indicators = excluded.typing_indicators, \
         presence = excluded.presence, updated_at = excluded.updated_at",
    )
    .bind(user.to_string())
    .bind(i64::from(s.read_receipts))
    .bind(i64::from(s.typing_indicators))
    .bind(i64::from(s.presence))
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    if !s.typing_indicators {
        // Turning typing off takes effect at once, not when the last report expires.
        sqlx::query("DELETE FROM typing WHERE user_id = $1")
            .bind(user.to_string())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Records activity; `online = false` is an explicit sign-off (and ends "reading" everywhere).
/// Returns whether the user counted as online before: seen since `online_since` and not signed
/// off.
pub async fn touch_presence(
    conn: &mut AnyConnection,
    user: Uuid,
    now: DateTime<Utc>,
    online: bool,
    online_since: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let was_online = sqlx::query(
        "SELECT 1 FROM presence WHERE user_id = $1 AND is_online_explicit = 1 \
         AND last_seen_at >= $2",
    )
    .bind(user.to_string())
    .bind(ts(online_since))
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    sqlx::query(
        "INSERT INTO presence (user_id, last_seen_at, is_online_explicit) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, \
         is_online_explicit = excluded.is_online_explicit",
    )
    .bind(user.to_string())
    .bind(ts(now))
    .bind(i64::from(online))
    .execute(&mut *conn)
    .await?;
    if !online {
        sqlx::query("UPDATE conversation_participants SET reading_at = NULL WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM typing WHERE user_id = $1")
            .bind(user.to_string())
            .execute(conn)
            .await?;
    }
    Ok(was_online)
}

pub async fn mark_reading(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conversation_participants SET reading_at = $3 \
         WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(room.to_string())
    .bind(user.to_string())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Everyone who currently shares a room with `user` (who would see `user`'s presence).
pub async fn room_mates(conn: &mut AnyConnection, user: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT DISTINCT b.user_id FROM conversation_participants a \
         JOIN conversation_participants b ON b.conversation_id = a.conversation_id \
         JOIN conversations c ON c.id = a.conversation_id \
         JOIN users u ON u.id = b.user_id \
         WHERE a.user_id = $1 AND b.user_id <> $1 AND u.account_state = 'active' AND {} AND {} \
         ORDER BY b.user_id",
        current("a", "c"),
        current("b", "c"),
    ))
    .bind(user.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| get_uuid(r, "user_id")).collect()
}

/// Users seen since `since`, not signed off, sharing presence, and in a room with `user`.
pub async fn online_with(
    conn: &mut AnyConnection,
    user: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT pr.user_id FROM presence pr JOIN users u ON u.id = pr.user_id \
         LEFT JOIN chat_settings s ON s.user_id = u.id \
         WHERE pr.last_seen_at >= $2 AND pr.is_online_explicit = 1 AND u.account_state = 'active' \
         AND pr.user_id <> $1 AND {} = 1 \
         AND EXISTS (SELECT 1 FROM conversation_participants a \
                     JOIN conversation_participants b ON b.conversation_id = a.conversation_id \
                     JOIN conversations c ON c.id = a.conversation_id \
                     WHERE a.user_id = $1 AND b.user_id = pr.user_id AND {} AND {}) \
         ORDER BY pr.user_id",
        setting("presence"),
        current("a", "c"),
        current("b", "c"),
    ))
    .bind(user.to_string())
    .bind(ts(since))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| get_uuid(r, "user_id")).collect()
}

/// An active user's role, or `None`.
pub async fn active_role(
    conn: &mut AnyConnection,
    user: Uuid,
) -> Result<Option<Role>, sqlx::Error> {
    let row = sqlx::query("SELECT role FROM users WHERE id = $1 AND account_state = 'active'")
        .bind(user.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| get_enum(&r, "role", Role::parse)).transpose()
}

/// Whether a survivor and a provider share a case (the provider's assignment on one of her
/// incidents is pending or accepted).
pub async fn survivor_and_provider_share(
    conn: &mut AnyConnection,
    survivor: Uuid,
    provider: Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM incidents i JOIN case_assignments a ON a.incident_id = i.id \
         WHERE i.survivor_id = $1 AND a.provider_id = $2 AND i.deleted_at IS NULL \
         AND a.status IN ('pending', 'accepted') LIMIT 1",
    )
    .bind(survivor.to_string())
    .bind(provider.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Whether `room` takes new messages (and typing). A closed case's room does not. A direct room
/// between a survivor and a provider does only while they share a live case: once the provider
/// declined, was taken off or the case ended, it is read-only for both, so nobody keeps
/// reaching her through it.
pub async fn writable(
    conn: &mut AnyConnection,
    room: &RoomRow,
    people: &[ParticipantRow],
) -> Result<bool, sqlx::Error> {
    if !room.is_active {
        return Ok(false);
    }
    if room.kind != RoomType::Direct {
        return Ok(true);
    }
    // A block between the two ends it for both.
    if let [a, b] = people {
        if super::blocks::between(conn, a.id, b.id).await? {
            return Ok(false);
        }
    }
    let survivor = people.iter().find(|p| p.role == Role::Survivor);
    let provider = people.iter().find(|p| p.role == Role::Provider);
    match (survivor, provider) {
        (Some(s), Some(p)) => survivor_and_provider_share(conn, s.id, p.id).await,
        _ => Ok(true),
    }
}

/// The direct room of `a` and `b`, if they have one.
pub async fn direct_between(
    conn: &mut AnyConnection,
    a: Uuid,
    b: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
            .bind(format!("{lo}:{hi}"))
            .fetch_optional(conn)
            .await?;
    Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
}

/// Whether two providers are both on one case (pending or accepted).
pub async fn providers_share(
    conn: &mut AnyConnection,
    a: Uuid,
    b: Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM case_assignments x JOIN case_assignments y \
         ON y.incident_id = x.incident_id \
         WHERE x.provider_id = $1 AND y.provider_id = $2 \
         AND x.status IN ('pending', 'accepted') AND y.status IN ('pending', 'accepted') LIMIT 1",
    )
    .bind(a.to_string())
    .bind(b.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// The direct room of two users, created if missing. Returns its id and whether it is new.
pub async fn open_direct(
    conn: &mut AnyConnection,
    a: Uuid,
    b: Uuid,
    now: DateTime<Utc>,
) -> Result<(Uuid, bool), sqlx::Error> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let key = format!("{lo}:{hi}");
    let created = sqlx::query(
        "INSERT INTO conversations (id, kind, incident_id, is_active, created_at, updated_at, \
         direct_key) VALUES ($1, 'direct', NULL, 1, $2, $2, $3) \
         ON CONFLICT (direct_key) DO NOTHING",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(ts(now))
    .bind(&key)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let id: String = sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
        .bind(&key)
        .fetch_one(&mut *conn)
        .await?;
    for member in [lo, hi] {
        sqlx::query(
            "INSERT INTO conversation_participants (conversation_id, user_id, joined_at) \
             VALUES ($1, $2, $3) ON CONFLICT (conversation_id, user_id) DO NOTHING",
        )
        .bind(&id)
        .bind(member.to_string())
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
    }
    let id = Uuid::parse_str(&id).map_err(|e| sqlx::Error::ColumnDecode {
        index: "id".into(),
        source: Box::new(e),
    })?;
    Ok((id, created))
}
