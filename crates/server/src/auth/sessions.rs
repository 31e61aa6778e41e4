//! Sessions and their rotating refresh tokens. A session is one sign-in; each refresh spends the
//! presented token and issues the next. Presenting a spent token means it was copied: the whole
//! session is revoked, so neither the thief nor the victim can keep using it.

use chrono::{DateTime, Duration, Utc};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::tokens::{hash_refresh_token, new_refresh_token};
use crate::db::{get_opt_ts, get_ts, get_uuid, ts};
use crate::error::ApiError;
use kintara_api::Refusal;

pub struct NewSession {
    pub id: Uuid,
    pub refresh: String,
}

pub async fn create(
    conn: &mut AnyConnection,
    user_id: Uuid,
    refresh_ttl: Duration,
) -> Result<NewSession, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    sqlx::query("INSERT INTO sessions (id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(ts(now))
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
