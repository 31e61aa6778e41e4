//! Sessions and their rotating refresh tokens. A session is one sign-in; each refresh spends the
//! presented token and issues the next. Presenting a spent token means it was copied: the whole
//! session is revoked, so neither the thief nor the victim can keep using it.

use chrono::{DateTime, Duration, Utc};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::tokens::{hash_refresh_token, new_refresh_token};
use crate::db::{get_opt_ts, get_ts, get_uuid, ts};
use crate::error::ApiError;
use kintara_api::{Refusal, SessionInfo, MAX_DEVICE_LABEL};

fn clean_label(label: &str) -> String {
    label
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DEVICE_LABEL)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The user's open sessions, most recently used first; `current` is marked.
pub async fn list(
    conn: &mut AnyConnection,
    user_id: Uuid,
    current: Uuid,
) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, device_label, created_at, last_used_at FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY last_used_at DESC, id",
    )
    .bind(user_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let id = get_uuid(r, "id")?;
            let created_at = get_ts(r, "created_at")?;
            Ok(SessionInfo {
                id,
                device_label: r.try_get("device_label")?,
                created_at,
                last_used_at: get_opt_ts(r, "last_used_at")?.unwrap_or(created_at),
                current: id == current,
            })
        })
        .collect()
}

/// Whether `id` is an open session of `user_id`.
pub async fn is_open_of(
    conn: &mut AnyConnection,
    id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// Ends every open session of `user_id` but `keep`; returns how many ended.
pub async fn revoke_all(
    conn: &mut AnyConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut ended = 0;
    for row in rows {
        let id = get_uuid(&row, "id")?;
        if Some(id) != keep {
            revoke(conn, id, reason).await?;
            ended += 1;
        }
    }
    Ok(ended)
}

pub struct NewSession {
    pub id: Uuid,
    pub refresh: String,
}

/// Opens a session for `user_id` on the device that describes itself as `device_label` (cut to
/// [`MAX_DEVICE_LABEL`] characters, control characters dropped).
pub async fn create(
    conn: &mut AnyConnection,
    user_id: Uuid,
    device_label: &str,
    refresh_ttl: Duration,
) -> Result<NewSession, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, device_label, last_used_at) \
         VALUES ($1, $2, $3, $4, $3)",
    )
    .bind(id.to_string())
    .bind(user_id.to_string())
    .bind(ts(now))
    .bind(clean_label(device_label))
    .execute(&mut *conn)
    .await?;
    let refresh = insert_refresh(conn, id, now + refresh_ttl).await?;
    Ok(NewSession { id, refresh })
}

async fn insert_refresh(
    conn: &mut AnyConnection,
    session: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = new_refresh_token();
    sqlx::query(
        "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(session.to_string())
    .bind(hash_refresh_token(&token))
    .bind(ts(Utc::now()))
    .bind(ts(expires_at))
    .execute(conn)
    .await?;
    Ok(token)
}

pub struct Rotated {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub refresh: String,
}

/// What a presented refresh token turned out to be.
pub struct Found {
    pub token_id: String,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub session_revoked: bool,
}

pub async fn find(conn: &mut AnyConnection, presented: &str) -> Result<Option<Found>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.id, t.session_id, t.expires_at, t.rotated_at, s.user_id, s.revoked_at \
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1",
    )
    .bind(hash_refresh_token(presented))
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Found {
            token_id: r.try_get("id")?,
            session_id: get_uuid(&r, "session_id")?,
            user_id: get_uuid(&r, "user_id")?,
            expires_at: get_ts(&r, "expires_at")?,
            rotated_at: get_opt_ts(&r, "rotated_at")?,
            session_revoked: get_opt_ts(&r, "revoked_at")?.is_some(),
        })
    })
    .transpose()
}

/// Spends `presented` and returns the next token of its session. Must run in a write transaction.
pub async fn rotate(
    conn: &mut AnyConnection,
    presented: &str,
    refresh_ttl: Duration,
) -> Result<Rotated, ApiError> {
    let invalid = || ApiError::from(Refusal::InvalidToken {});
    let found = find(conn, presented).await?.ok_or_else(invalid)?;
    if found.session_revoked {
        return Err(ApiError::from(Refusal::SessionRevoked {}));
    }
    if found.rotated_at.is_some() {
        revoke(conn, found.session_id, "refresh token reused").await?;
        return Err(reused());
    }
    if found.expires_at <= Utc::now() {
        return Err(ApiError::from(Refusal::TokenExpired {}));
    }
    // Conditional on still being unspent: of two concurrent refreshes with one token, one wins
    // and the other is treated as reuse.
    let spent = sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1 AND rotated_at IS NULL",
    )
    .bind(&found.token_id)
    .bind(ts(Utc::now()))
    .execute(&mut *conn)
    .await?;
    if spent.rows_affected() != 1 {
        revoke(conn, found.session_id, "refresh token reused").await?;
        return Err(reused());
    }
    sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE id = $1")
        .bind(found.session_id.to_string())
        .bind(ts(Utc::now()))
        .execute(&mut *conn)
        .await?;
    let refresh = insert_refresh(conn, found.session_id, Utc::now() + refresh_ttl).await?;
    Ok(Rotated {
        session_id: found.session_id,
        user_id: found.user_id,
        refresh,
    })
}

fn reused() -> ApiError {
    ApiError::from(Refusal::TokenReused {})
}

/// Ends a session and unregisters the push tokens it registered: a signed-out phone must not
/// keep receiving notifications.
pub async fn revoke(
    conn: &mut AnyConnection,
    session_id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM devices WHERE session_id = $1")
        .bind(session_id.to_string())
        .execute(&mut *conn)
        .await?;
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoke_reason = $3 \
         WHERE id = $1 AND revoked_at IS NULL RETURNING user_id",
    )
    .bind(session_id.to_string())
    .bind(ts(Utc::now()))
    .bind(reason)
    .fetch_optional(conn)
    .await?;
    if let Some(row) = ended {
        // The user's open sockets re-check their session when woken, so they close now rather
        // than at their next periodic check.
        let user: String = row.try_get("user_id")?;
        if let Ok(user) = Uuid::parse_str(&user) {
            crate::events::wake_after_commit(user);
        }
    }
    Ok(())
}
