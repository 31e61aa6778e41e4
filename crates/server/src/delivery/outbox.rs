//! The `deliveries` table (SQL only).
//!
//! A row is `pending` until a worker records `sent`, `failed` or `skipped`. A worker leases due
//! rows (`leased_until`) in one short transaction, sends without holding anything, and records
//! every outcome in a second one; a worker that dies leaves its rows leased, and they are taken
//! again when the lease has run out. On PostgreSQL the lease skips rows another instance is
//! leasing at that moment (`FOR UPDATE SKIP LOCKED`); SQLite has one writer anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kintara_api::{
    delivery_error, Channel, ChannelDelivery, DeliveryLane, DeliveryState, NotificationParams,
    NotificationType, Priority, Role,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::backoff;
use super::plan::NewDelivery;
use super::Outcome;
use crate::db::{
    get_enum, get_json, get_opt_ts, get_uuid, json_ids, json_rows, json_strings, ts, Backend, Db,
};

/// Writes `rows` (in the notification's transaction) and has the workers woken after commit.
pub async fn enqueue(conn: &mut AnyConnection, rows: &[NewDelivery]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO deliveries (id, notification_id, recipient_id, channel, lane, device_id, \
         priority, state, attempts, due_at, leased_until, expires_at, last_error, provider_id, \
         created_at, updated_at) \
         SELECT j.value ->> 'id', j.value ->> 'n', j.value ->> 'to', j.value ->> 'channel', \
         j.value ->> 'lane', j.value ->> 'device', j.value ->> 'priority', 'pending', 0, \
         j.value ->> 'at', NULL, j.value ->> 'expires', NULL, NULL, j.value ->> 'at', \
         j.value ->> 'at' FROM {} j",
        json_rows(conn, 1)
    );
    let json: Vec<_> = rows
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id.to_string(),
                "n": d.notification.to_string(),
                "to": d.recipient.to_string(),
                "channel": d.lane.channel().as_str(),
                "lane": d.lane.as_str(),
                "device": d.device.map(|x| x.to_string()),
                "priority": d.priority.as_str(),
                "expires": d.expires_at.map(ts),
                "at": ts(d.created_at),
            })
        })
        .collect();
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(json).to_string())
        .execute(conn)
        .await?;
    crate::events::wake_outbox_after_commit();
    Ok(())
}

/// One leased delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub notification: Uuid,
    pub lane: DeliveryLane,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub priority: Priority,
    pub expires_at: Option<DateTime<Utc>>,
    pub recipient: Uuid,
    pub role: Role,
    /// The recipient's e-mail address as it is now.
    pub email: String,
    /// The recipient's WhatsApp number as it is now (E.164).
    pub whatsapp: Option<String>,
    /// The language the recipient reads.
    pub language: kintara_i18n::Lang,
    pub device: Option<Uuid>,
    /// The device's push token; `None` when the device is gone or now belongs to someone else.
    pub token: Option<String>,
    pub kind: NotificationType,
    pub subject: String,
    pub message: String,
    pub params: NotificationParams,
    pub incident: Option<Uuid>,
    pub conversation: Option<Uuid>,
    /// The recipient's unread notifications, this one included, up to 100 (a burst is told as
    /// a count); 1 for an urgent alert, which is never folded.
    pub unread: i64,
}

/// Leases up to `limit` due deliveries of `lane` for `lease`.
pub async fn claim(
    db: &Db,
    lane: DeliveryLane,
    limit: usize,
    lease: Duration,
) -> Result<Vec<Job>, sqlx::Error> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let lock = if db.backend == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let mut tx = db.begin_write().await?;
    let ids: Vec<Uuid> = sqlx::query(&format!(
        "UPDATE deliveries SET leased_until = $3, attempts = attempts + 1, updated_at = $2 \
         WHERE id IN (SELECT id FROM deliveries WHERE lane = $1 AND state = 'pending' \
           AND due_at <= $2 AND (leased_until IS NULL OR leased_until <= $2) \
           ORDER BY due_at LIMIT $4{lock}) \
         RETURNING id"
    ))
    .bind(lane.as_str())
    .bind(ts(now))
    .bind(ts(until))
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| get_uuid(r, "id"))
    .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.id, d.notification_id, d.lane, d.attempts, d.priority, d.expires_at, \
           d.recipient_id, d.device_id, n.notification_type, n.subject, n.message, n.params, \
           n.incident_id, n.conversation_id, u.role, u.email, u.whatsapp_number, u.language, \
           CASE WHEN dev.user_id = d.recipient_id THEN dev.token END AS token \
         FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
         JOIN users u ON u.id = d.recipient_id LEFT JOIN devices dev ON dev.id = d.device_id \
         WHERE d.id IN ({}) ORDER BY d.due_at, d.id",
        json_strings(&tx, 1)
    );
    let rows = sqlx::query(&sql)
        .bind(json_ids(&ids))
        .fetch_all(&mut *tx)
        .await?;
    let mut jobs: Vec<Job> = rows.iter().map(job).collect::<Result<_, _>>()?;
    // A burst is told as a count: the unread notifications of each recipient of a push that
    // may be folded (never an urgent alert for staff), counted once per recipient, up to 100.
    let mut unread: std::collections::HashMap<Uuid, i64> = Default::default();
    for j in &jobs {
        let urgent = j.priority.is_urgent_alert(j.role);
        if urgent || unread.contains_key(&j.recipient) {
            continue;
        }
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM notifications \
             WHERE recipient_id = $1 AND is_read = 0 LIMIT 100) t",
        )
        .bind(j.recipient.to_string())
        .fetch_one(&mut *tx)
        .await?;
        unread.insert(j.recipient, n);
    }
    tx.commit().await?;
    for j in &mut jobs {
        j.unread = unread.get(&j.recipient).copied().unwrap_or(1);
    }
    Ok(jobs)
}

fn opt_uuid(row: &AnyRow, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let s: Option<String> = row.try_get(col)?;
    Ok(s.and_then(|s| Uuid::parse_str(&s).ok()))
}

fn job(row: &AnyRow) -> Result<Job, sqlx::Error> {
    Ok(Job {
        id: get_uuid(row, "id")?,
        notification: get_uuid(row, "notification_id")?,
        lane: get_enum(row, "lane", DeliveryLane::parse)?,
        attempts: row.try_get("attempts")?,
        priority: get_enum(row, "priority", Priority::parse)?,
        expires_at: get_opt_ts(row, "expires_at")?,
        recipient: get_uuid(row, "recipient_id")?,
        role: get_enum(row, "role", Role::parse)?,
        email: row.try_get("email")?,
        whatsapp: row.try_get("whatsapp_number")?,
        language: kintara_api::Language::parse(&row.try_get::<String, _>("language")?)
            .unwrap_or_default()
            .into(),
        device: opt_uuid(row, "device_id")?,
        token: row.try_get("token")?,
        kind: get_enum(row, "notification_type", NotificationType::parse)?,
        subject: row.try_get("subject")?,
        message: row.try_get("message")?,
        params: crate::notifications::repo::params(row)?,
        incident: opt_uuid(row, "incident_id")?,
        conversation: opt_uuid(row, "conversation_id")?,
        unread: 1,
    })
}

/// How one leased delivery ended this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The service's answer.
    Answered(Outcome),
    /// Its device was removed or given to another account before it could be sent.
    DeviceGone,
    /// An urgent alert past its time: dropped, not delivered late.
    Expired,
}

/// Records each leased delivery's outcome, removes dead devices (and fails what else waited
/// for them), and brings the notifications' `channels` up to date, in one transaction.
pub async fn finish(db: &Db, settled: &[(&Job, Settled)]) -> Result<(), sqlx::Error> {
    if settled.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let mut updates = Vec::with_capacity(settled.len());
    let mut dead: BTreeSet<Uuid> = BTreeSet::new();
    let mut touched: BTreeSet<Uuid> = BTreeSet::new();
    for (job, how) in settled {
        touched.insert(job.notification);
        let (state, due, error, message_id) = match how {
            Settled::Answered(Outcome::Sent { message_id }) => {
                (DeliveryState::Sent, None, None, Some(message_id.clone()))
            }
            Settled::Answered(Outcome::Retry { error, after }) => {
                let due = now
                    + chrono::Duration::from_std(backoff::delay(job.attempts, *after))
                        .unwrap_or(chrono::Duration::minutes(10));
                if job.attempts >= backoff::MAX_ATTEMPTS {
                    (DeliveryState::Failed, None, Some(error.clone()), None)
                } else if job.expires_at.is_some_and(|e| due > e) {
                    (
                        DeliveryState::Skipped,
                        None,
                        Some(delivery_error::EXPIRED.to_owned()),
                        None,
                    )
                } else {
                    (DeliveryState::Pending, Some(due), Some(error.clone()), None)
                }
            }
            Settled::Answered(Outcome::Failed { error }) => {
                (DeliveryState::Failed, None, Some(error.clone()), None)
            }
            Settled::Answered(Outcome::DeadToken { error }) => {
                if let Some(d) = job.device {
                    dead.insert(d);
                }
                (DeliveryState::Failed, None, Some(error.clone()), None)
            }
            Settled::DeviceGone => (
                DeliveryState::Skipped,
                None,
                Some(delivery_error::DEVICE_GONE.to_owned()),
                None,
            ),
            Settled::Expired => (
                DeliveryState::Skipped,
                None,
                Some(delivery_error::EXPIRED.to_owned()),
                None,
            ),
        };
        updates.push(serde_json::json!({
            "id": job.id.to_string(),
            "state": state.as_str(),
            "due": due.map(ts),
            "error": error,
            "mid": message_id,
        }));
    }
    let mut tx = db.begin_write().await?;
    let sql = format!(
        "UPDATE deliveries SET state = j.value ->> 'state', \
           due_at = COALESCE(j.value ->> 'due', deliveries.due_at), leased_until = NULL, \
           last_error = j.value ->> 'error', \
           provider_id = COALESCE(j.value ->> 'mid', deliveries.provider_id), updated_at = $2 \
         FROM {} j WHERE deliveries.id = j.value ->> 'id'",
        json_rows(&tx, 1)
    );
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(updates).to_string())
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
    if !dead.is_empty() {
        let ids = json_ids(&dead);
        let sql = format!(
            "UPDATE deliveries SET state = 'failed', last_error = $2, leased_until = NULL, \
             updated_at = $3 WHERE state = 'pending' AND device_id IN ({}) \
             RETURNING notification_id",
            json_strings(&tx, 1)
        );
        for row in sqlx::query(&sql)
            .bind(&ids)
            .bind(delivery_error::UNREGISTERED)
            .bind(ts(now))
            .fetch_all(&mut *tx)
            .await?
        {
            touched.insert(get_uuid(&row, "notification_id")?);
        }
        let sql = format!("DELETE FROM devices WHERE id IN ({})", json_strings(&tx, 1));
        sqlx::query(&sql).bind(&ids).execute(&mut *tx).await?;
    }
    refresh_channels(&mut tx, &touched).await?;
    tx.commit().await
}

/// Sets each notification's `channels` from its deliveries (the channels without deliveries
/// keep what they were planned as).
async fn refresh_channels(
    conn: &mut AnyConnection,
    notifications: &BTreeSet<Uuid>,
) -> Result<(), sqlx::Error> {
    if notifications.is_empty() {
        return Ok(());
    }
    let ids = json_ids(notifications);
    let sql = format!(
        "SELECT notification_id, channel, state, attempts, last_error, provider_id \
         FROM deliveries WHERE notification_id IN ({}) ORDER BY updated_at, id",
        json_strings(conn, 1)
    );
    let mut by: BTreeMap<(Uuid, Channel), Vec<Target>> = BTreeMap::new();
    for row in sqlx::query(&sql).bind(&ids).fetch_all(&mut *conn).await? {
        by.entry((
            get_uuid(&row, "notification_id")?,
            get_enum(&row, "channel", Channel::parse)?,
        ))
        .or_default()
        .push(Target {
            state: get_enum(&row, "state", DeliveryState::parse)?,
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            message_id: row.try_get("provider_id")?,
        });
    }
    let sql = format!(
        "SELECT id, channels FROM notifications WHERE id IN ({})",
        json_strings(conn, 1)
    );
    let mut updates = Vec::new();
    for row in sqlx::query(&sql).bind(&ids).fetch_all(&mut *conn).await? {
        let id = get_uuid(&row, "id")?;
        let mut channels: BTreeMap<String, ChannelDelivery> = get_json(&row, "channels")?;
        for ((n, channel), targets) in by.range((id, Channel::ALL[0])..) {
            if *n != id {
                break;
            }
            channels.insert(channel.as_str().to_owned(), aggregate(targets));
        }
        updates.push(serde_json::json!({
            "id": id.to_string(),
            "channels": serde_json::to_string(&channels).expect("serialisable"),
        }));
    }
    let sql = format!(
        "UPDATE notifications SET channels = j.value ->> 'channels' \
         FROM {} j WHERE notifications.id = j.value ->> 'id'",
        json_rows(conn, 1)
    );
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(updates).to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// One target's delivery of a channel.
#[derive(Debug, Clone)]
struct Target {
    state: DeliveryState,
    attempts: i64,
    last_error: Option<String>,
    message_id: Option<String>,
}

/// A channel's state over its targets (in the order they last changed): `sent` once any took
/// it, `pending` while any still may, `skipped` when every one was, `failed` otherwise.
fn aggregate(targets: &[Target]) -> ChannelDelivery {
    let attempts = targets.iter().map(|t| t.attempts).sum();
    let any = |s| targets.iter().rev().find(|t| t.state == s);
    let (state, from) = if let Some(t) = any(DeliveryState::Sent) {
        (DeliveryState::Sent, Some(t))
    } else if let Some(t) = any(DeliveryState::Pending) {
        (DeliveryState::Pending, Some(t))
    } else if targets.iter().all(|t| t.state == DeliveryState::Skipped) {
        (DeliveryState::Skipped, targets.last())
    } else {
        (DeliveryState::Failed, any(DeliveryState::Failed))
    };
    ChannelDelivery {
        state,
        attempts,
        last_error: if state == DeliveryState::Sent {
            None
        } else {
            from.and_then(|t| t.last_error.clone())
        },
        message_id: from.and_then(|t| t.message_id.clone()),
    }
}

/// Marks the `websocket` channel of `notifications` sent (their frames reached the app).
pub async fn websocket_sent(db: &Db, notifications: &BTreeSet<Uuid>) -> Result<(), sqlx::Error> {
    if notifications.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let sql = format!(
        "SELECT id, channels FROM notifications WHERE id IN ({})",
        json_strings(&tx, 1)
    );
    let mut updates = Vec::new();
    for row in sqlx::query(&sql)
        .bind(json_ids(notifications))
        .fetch_all(&mut *tx)
        .await?
    {
        let mut channels: BTreeMap<String, ChannelDelivery> = get_json(&row, "channels")?;
        let Some(ws) = channels.get_mut(Channel::Websocket.as_str()) else {
            continue;
        };
        if ws.state != DeliveryState::Pending {
            continue;
        }
        ws.state = DeliveryState::Sent;
        ws.attempts = 1;
        updates.push(serde_json::json!({
            "id": get_uuid(&row, "id")?.to_string(),
            "channels": serde_json::to_string(&channels).expect("serialisable"),
        }));
    }
    if !updates.is_empty() {
        let sql = format!(
            "UPDATE notifications SET channels = j.value ->> 'channels' \
             FROM {} j WHERE notifications.id = j.value ->> 'id'",
            json_rows(&tx, 1)
        );
        sqlx::query(&sql)
            .bind(serde_json::Value::Array(updates).to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// An Expo delivery whose ticket was `ok` and whose receipt is still to be read.
#[derive(Debug, Clone)]
pub struct AwaitingReceipt {
    pub delivery: Uuid,
    pub notification: Uuid,
    pub device: Option<Uuid>,
    pub ticket: String,
}

/// Expo deliveries sent before `before` whose receipts are still to be read, oldest first.
pub async fn awaiting_receipts(
    db: &Db,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AwaitingReceipt>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, notification_id, device_id, provider_id FROM deliveries \
         WHERE lane = $1 AND state = 'sent' AND receipt_checked_at IS NULL \
           AND provider_id IS NOT NULL AND updated_at <= $2 \
         ORDER BY updated_at LIMIT $3",
    )
    .bind(DeliveryLane::Expo.as_str())
    .bind(ts(before))
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AwaitingReceipt {
                delivery: get_uuid(r, "id")?,
                notification: get_uuid(r, "notification_id")?,
                device: opt_uuid(r, "device_id")?,
                ticket: r.try_get("provider_id")?,
            })
        })
        .collect()
}

/// Records receipts read: `Some(error)` for a device Apple or Google no longer knows (the
/// delivery is `failed`, the device removed), `None` for one that took it.
pub async fn record_receipts(
    db: &Db,
    read: &[(AwaitingReceipt, Option<String>)],
) -> Result<(), sqlx::Error> {
    if read.is_empty() {
        return Ok(());
    }
    let now = ts(Utc::now());
    let mut tx = db.begin_write().await?;
    let mut touched = BTreeSet::new();
    for (a, dead) in read {
        match dead {
            None => {
                sqlx::query("UPDATE deliveries SET receipt_checked_at = $2 WHERE id = $1")
                    .bind(a.delivery.to_string())
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(error) => {
                sqlx::query(
                    "UPDATE deliveries SET state = 'failed', last_error = $2, \
                     receipt_checked_at = $3, updated_at = $3 WHERE id = $1",
                )
                .bind(a.delivery.to_string())
                .bind(error)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                if let Some(d) = a.device {
                    sqlx::query("DELETE FROM devices WHERE id = $1")
                        .bind(d.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                touched.insert(a.notification);
            }
        }
    }
    refresh_channels(&mut tx, &touched).await?;
    tx.commit().await
}

/// Records that messages `lane` had accepted (`sent`, by their provider ids) were not delivered
/// after all, each with its reason; returns how many notifications changed. Ids of no delivery (a
/// late or forged report) change nothing.
pub async fn record_failures(
    db: &Db,
    lane: DeliveryLane,
    failed: &[(String, String)],
) -> Result<usize, sqlx::Error> {
    if failed.is_empty() {
        return Ok(0);
    }
    let now = ts(Utc::now());
    let mut tx = db.begin_write().await?;
    let mut touched = BTreeSet::new();
    for (provider_id, error) in failed {
        for row in sqlx::query(
            "UPDATE deliveries SET state = 'failed', last_error = $3, updated_at = $4 \
             WHERE lane = $1 AND provider_id = $2 AND state = 'sent' RETURNING notification_id",
        )
        .bind(lane.as_str())
        .bind(provider_id)
        .bind(error)
        .bind(&now)
        .fetch_all(&mut *tx)
        .await?
        {
            touched.insert(get_uuid(&row, "notification_id")?);
        }
    }
    refresh_channels(&mut tx, &touched).await?;
    tx.commit().await?;
    Ok(touched.len())
}

/// When the next delivery of `lane` may be taken (pending and due, or its lease run out).
pub async fn next_due(db: &Db, lane: DeliveryLane) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT MIN(COALESCE(leased_until, due_at)) AS next FROM deliveries \
         WHERE lane = $1 AND state = 'pending'",
    )
    .bind(lane.as_str())
    .fetch_one(&db.read)
    .await?;
    get_opt_ts(&row, "next")
}

/// The lanes this deployment carries.
pub async fn lanes(conn: &mut AnyConnection) -> Result<Vec<DeliveryLane>, sqlx::Error> {
    sqlx::query("SELECT lane FROM delivery_lanes ORDER BY lane")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| get_enum(r, "lane", DeliveryLane::parse))
        .collect()
}

/// Records the lanes this deployment carries. What is still pending on a lane that no longer
/// is carried will never go out: it is skipped now.
pub async fn set_lanes(db: &Db, lanes: &[DeliveryLane]) -> Result<(), sqlx::Error> {
    let now = ts(Utc::now());
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM delivery_lanes")
        .execute(&mut *tx)
        .await?;
    for lane in lanes {
        sqlx::query("INSERT INTO delivery_lanes (lane, configured_at) VALUES ($1, $2)")
            .bind(lane.as_str())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
    }
    let carried: Vec<&str> = lanes.iter().map(|l| l.as_str()).collect();
    let sql = format!(
        "UPDATE deliveries SET state = 'skipped', last_error = $2, leased_until = NULL, \
         updated_at = $3 WHERE state = 'pending' AND lane NOT IN ({}) \
         RETURNING notification_id",
        json_strings(&tx, 1)
    );
    let mut touched = BTreeSet::new();
    for row in sqlx::query(&sql)
        .bind(serde_json::to_string(&carried).expect("serialisable"))
        .bind(delivery_error::NOT_CONFIGURED)
        .bind(&now)
        .fetch_all(&mut *tx)
        .await?
    {
        touched.insert(get_uuid(&row, "notification_id")?);
    }
    refresh_channels(&mut tx, &touched).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(state: DeliveryState, error: Option<&str>) -> Target {
        Target {
            state,
            attempts: 1,
            last_error: error.map(str::to_owned),
            message_id: (state == DeliveryState::Sent).then(|| "m1".to_owned()),
        }
    }

    #[test]
    fn a_channel_is_sent_once_any_target_took_it_and_failed_only_when_all_did() {
        use DeliveryState::*;
        let sent = aggregate(&[t(Failed, Some("x")), t(Sent, None)]);
        assert_eq!(sent.state, Sent);
        assert_eq!(sent.last_error, None);
        assert_eq!(sent.message_id.as_deref(), Some("m1"));
        assert_eq!(sent.attempts, 2);
        assert_eq!(
            aggregate(&[t(Failed, Some("x")), t(Pending, Some("503"))]).state,
            Pending
        );
        let failed = aggregate(&[t(Skipped, Some("device_gone")), t(Failed, Some("boom"))]);
        assert_eq!(failed.state, Failed);
        assert_eq!(failed.last_error.as_deref(), Some("boom"));
        assert_eq!(aggregate(&[t(Skipped, Some("expired"))]).state, Skipped);
    }
}
