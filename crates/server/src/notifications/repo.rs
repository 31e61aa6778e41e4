//! The `notifications` and `notification_preferences` tables.

use std::collections::{BTreeMap, HashMap};

use chrono::{SubsecRound, Utc};
use kintara_api::{
    default_channels, Channel, ChannelDelivery, Notification, NotificationParams, NotificationType,
    Priority,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::Draft;
use crate::db::{
    get_bool, get_enum, get_json, get_opt_ts, get_ts, get_uuid, json_ids, json_rows, json_strings,
    ts,
};

const COLUMNS: &str = "id, recipient_id, notification_type, priority, subject, message, \
    params, incident_id, conversation_id, channels, is_read, read_at, created_at";

fn from_row(row: &AnyRow) -> Result<Notification, sqlx::Error> {
    let incident: Option<String> = row.try_get("incident_id")?;
    let conversation: Option<String> = row.try_get("conversation_id")?;
    let kind = get_enum(row, "notification_type", NotificationType::parse)?;
    Ok(Notification {
        id: get_uuid(row, "id")?,
        recipient: get_uuid(row, "recipient_id")?,
        notification_type: kind,
        notification_type_display: kind.label().to_owned(),
        priority: get_enum(row, "priority", Priority::parse)?,
        subject: row.try_get("subject")?,
        message: row.try_get("message")?,
        params: params(row)?,
        incident: incident.and_then(|s| Uuid::parse_str(&s).ok()),
        conversation: conversation.and_then(|s| Uuid::parse_str(&s).ok()),
        channels: get_json(row, "channels")?,
        is_read: get_bool(row, "is_read")?,
        read_at: get_opt_ts(row, "read_at")?,
        created_at: get_ts(row, "created_at")?,
    })
}

/// The `params` column: JSON, NULL when empty (a survivor's, or a row stored before it existed).
pub(crate) fn params(row: &AnyRow) -> Result<NotificationParams, sqlx::Error> {
    let json: Option<String> = row.try_get("params")?;
    match json {
        None => Ok(NotificationParams::default()),
        Some(_) => get_json(row, "params"),
    }
}

/// What `insert_many` stores in the `params` column: NULL for empty params, so a survivor's
/// row holds nothing about her case there either.
fn params_column(p: &NotificationParams) -> Option<String> {
    (!p.is_empty()).then(|| serde_json::to_string(p).expect("serialisable"))
}

/// A draft as it will be stored and shown in the feed (so the event log can carry exactly what
/// a later read returns).
pub fn stored(d: &Draft, channels: &BTreeMap<String, ChannelDelivery>) -> Notification {
    Notification {
        // Time-ordered, like message ids (see `chat::send`).
        id: Uuid::now_v7(),
        recipient: d.recipient,
        notification_type: d.kind,
        notification_type_display: d.kind.label().to_owned(),
        priority: d.priority,
        subject: d.subject.clone(),
        message: d.message.clone(),
        params: d.params.clone(),
        incident: d.incident,
        conversation: d.conversation,
        channels: channels.clone(),
        is_read: false,
        read_at: None,
        // Stored with microseconds; the value must equal what a later read gives.
        created_at: Utc::now().trunc_subsecs(6),
    }
}

/// Stores notifications made by `stored`, in one statement.
pub async fn insert_many(
    conn: &mut AnyConnection,
    rows: &[Notification],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO notifications ({COLUMNS}) \
         SELECT j.value ->> 'id', j.value ->> 'to', j.value ->> 'type', j.value ->> 'priority', \
         j.value ->> 'subject', j.value ->> 'message', j.value ->> 'params', j.value ->> 'incident', \
         j.value ->> 'conversation', j.value ->> 'channels', 0, NULL, j.value ->> 'at' \
         FROM {} j",
        json_rows(conn, 1)
    );
    let json: Vec<_> = rows
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id.to_string(),
                "to": n.recipient.to_string(),
                "type": n.notification_type.as_str(),
                "priority": n.priority.as_str(),
                "subject": n.subject,
                "message": n.message,
                "params": params_column(&n.params),
                "incident": n.incident.map(|i| i.to_string()),
                "conversation": n.conversation.map(|c| c.to_string()),
                "channels": serde_json::to_string(&n.channels).expect("serialisable"),
                "at": ts(n.created_at),
            })
        })
        .collect();
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Which of a user's notifications a query selects. Always one recipient.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub is_read: Option<bool>,
    pub kind: Option<NotificationType>,
    pub incident: Option<Uuid>,
}

const FILTER_SQL: &str = "recipient_id = $1 AND ($2 IS NULL OR is_read = $2) \
    AND ($3 IS NULL OR notification_type = $3) AND ($4 IS NULL OR incident_id = $4)";

fn bind_filter<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    user: Uuid,
    f: &Filter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(user.to_string())
        .bind(f.is_read.map(|b| b as i64))
        .bind(f.kind.map(|k| k.as_str()))
        .bind(f.incident.map(|i| i.to_string()))
}

/// One page of a user's notifications, newest first, and the total count.
pub async fn page(
    conn: &mut AnyConnection,
    user: Uuid,
    f: &Filter,
    page: u32,
    page_size: u32,
) -> Result<(i64, Vec<Notification>), sqlx::Error> {
    let count_sql = format!("SELECT COUNT(*) AS n FROM notifications WHERE {FILTER_SQL}");
    let count: i64 = bind_filter(sqlx::query(&count_sql), user, f)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE {FILTER_SQL} \
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
    );
    let rows = bind_filter(sqlx::query(&sql), user, f)
        .bind(page_size as i64)
        .bind((page.saturating_sub(1) as i64) * page_size as i64)
        .fetch_all(conn)
        .await?;
    Ok((count, rows.iter().map(from_row).collect::<Result<_, _>>()?))
}

pub async fn unread_by_type(
    conn: &mut AnyConnection,
    user: Uuid,
) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT notification_type, COUNT(*) AS n FROM notifications \
         WHERE recipient_id = $1 AND is_read = 0 GROUP BY notification_type",
    )
    .bind(user.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("notification_type")?,
                r.try_get::<i64, _>("n")?,
            ))
        })
        .collect()
}

/// Marks one of the user's notifications read; `None` when it is not theirs.
pub async fn mark_read(
    conn: &mut AnyConnection,
    user: Uuid,
    id: Uuid,
) -> Result<Option<Notification>, sqlx::Error> {
    sqlx::query(
        "UPDATE notifications SET is_read = 1, read_at = COALESCE(read_at, $3) \
         WHERE id = $1 AND recipient_id = $2",
    )
    .bind(id.to_string())
    .bind(user.to_string())
    .bind(ts(Utc::now()))
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = $1 AND recipient_id = $2"
    ))
    .bind(id.to_string())
    .bind(user.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks the user's unread notifications matching `f` read; returns how many.
pub async fn mark_all_read(
    conn: &mut AnyConnection,
    user: Uuid,
    f: &Filter,
) -> Result<i64, sqlx::Error> {
    let f = Filter {
        is_read: Some(false),
        ..f.clone()
    };
    let sql = format!("UPDATE notifications SET is_read = 1, read_at = $5 WHERE {FILTER_SQL}");
    let done = bind_filter(sqlx::query(&sql), user, &f)
        .bind(ts(Utc::now()))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() as i64)
}

/// The channels a user chose for a type, or the defaults.
pub async fn preference(
    conn: &mut AnyConnection,
    user: Uuid,
    kind: NotificationType,
) -> Result<Vec<Channel>, sqlx::Error> {
    Ok(preferences(conn, &[user], kind)
        .await?
        .remove(&user)
        .unwrap_or_else(default_channels))
}

/// The channels each of `users` chose for `kind`; users without a choice are left out (they
/// get `default_channels`).
pub async fn preferences(
    conn: &mut AnyConnection,
    users: &[Uuid],
    kind: NotificationType,
) -> Result<HashMap<Uuid, Vec<Channel>>, sqlx::Error> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT user_id, channels FROM notification_preferences \
         WHERE notification_type = $1 AND user_id IN ({})",
        json_strings(conn, 2)
    );
    let rows = sqlx::query(&sql)
        .bind(kind.as_str())
        .bind(json_ids(users))
        .fetch_all(conn)
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        out.insert(get_uuid(&r, "user_id")?, get_json(&r, "channels")?);
    }
    Ok(out)
}

pub async fn set_preference(
    conn: &mut AnyConnection,
    user: Uuid,
    kind: NotificationType,
    channels: &[Channel],
) -> Result<(), sqlx::Error> {
    let mut channels = channels.to_vec();
    channels.sort();
    channels.dedup();
    sqlx::query(
        "INSERT INTO notification_preferences (user_id, notification_type, channels) \
         VALUES ($1, $2, $3) ON CONFLICT (user_id, notification_type) \
         DO UPDATE SET channels = excluded.channels",
    )
    .bind(user.to_string())
    .bind(kind.as_str())
    .bind(serde_json::to_string(&channels).expect("serialisable"))
    .execute(conn)
    .await?;
    Ok(())
}
