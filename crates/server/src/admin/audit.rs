//! The `admin_audit` table: every admin decision about an account, kept for good.

use chrono::Utc;
use kintara_api::{AuditAction, AuditEntry, AuditParty, Role};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{get_bool, get_enum, get_ts, get_uuid, ts};
use crate::naming::shown_name;

pub async fn record(
    conn: &mut AnyConnection,
    actor: Uuid,
    action: AuditAction,
    target: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_audit (id, at, actor_id, action, target_id, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(ts(Utc::now()))
    .bind(actor.to_string())
    .bind(action.as_str())
    .bind(target.to_string())
    .bind(reason.trim())
    .execute(conn)
    .await?;
    Ok(())
}

const COLUMNS: &str = "x.id, x.at, x.action, x.reason, \
    a.id AS a_id, a.email AS a_email, a.first_name AS a_first, a.last_name AS a_last, \
    a.role AS a_role, a.is_anonymous AS a_anon, \
    t.id AS t_id, t.email AS t_email, t.first_name AS t_first, t.last_name AS t_last, \
    t.role AS t_role, t.is_anonymous AS t_anon";

fn party(row: &AnyRow, p: &str) -> Result<AuditParty, sqlx::Error> {
    let col = |c: &str| format!("{p}_{c}");
    let first: String = row.try_get(col("first").as_str())?;
    let last: String = row.try_get(col("last").as_str())?;
    Ok(AuditParty {
        id: get_uuid(row, &col("id"))?,
        full_name: shown_name(&first, &last, get_bool(row, &col("anon"))?),
        email: row.try_get(col("email").as_str())?,
        role: get_enum(row, &col("role"), Role::parse)?,
    })
}

/// Newest first; only decisions about `target` when given.
pub async fn page(
    conn: &mut AnyConnection,
    target: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<AuditEntry>), sqlx::Error> {
    let target = target.map(|t| t.to_string());
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM admin_audit WHERE ($1 IS NULL OR target_id = $1)")
            .bind(target.clone())
            .fetch_one(&mut *conn)
            .await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM admin_audit x JOIN users a ON a.id = x.actor_id \
         JOIN users t ON t.id = x.target_id WHERE ($1 IS NULL OR x.target_id = $1) \
         ORDER BY x.at DESC, x.id LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(target)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    let entries = rows
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: get_uuid(r, "id")?,
                at: get_ts(r, "at")?,
                actor: party(r, "a")?,
                action: get_enum(r, "action", AuditAction::parse)?,
                target: party(r, "t")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((count, entries))
}
