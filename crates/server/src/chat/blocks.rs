//! A survivor's blocks: whom she blocked reaches her no more. They cannot open a direct room
//! with her, their direct room with her is read-only for both (and hidden from her list), and
//! they cannot write or type in any room she is in, so no message of theirs, and no
//! notification of one, reaches her. Only survivors block; the refusal the blocked user gets
//! says they cannot write there, not who blocked them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use kintara_api::endpoint;
use kintara_api::{BlockList, BlockRequest, BlockedUser, ErrorEnvelope};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{repo, ChatError};
use crate::auth::AuthUser;
use crate::db::{get_bool, get_ts, get_uuid, ts};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, ValidJson};
use crate::naming::shown_name;
use crate::state::AppState;

/// Whether someone in `room` blocked `sender`.
pub async fn sender_blocked_in(
    conn: &mut AnyConnection,
    room: Uuid,
    sender: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM blocks b JOIN conversation_participants p \
         ON p.user_id = b.blocker_id AND p.conversation_id = $1 \
         WHERE b.blocked_id = $2 LIMIT 1",
    )
    .bind(room.to_string())
    .bind(sender.to_string())
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// Whether either of `a` and `b` blocked the other.
pub async fn between(conn: &mut AnyConnection, a: Uuid, b: Uuid) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
         OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1",
    )
    .bind(a.to_string())
    .bind(b.to_string())
    .fetch_optional(conn)
    .await?
    .is_some())
}

async fn list_of(conn: &mut AnyConnection, blocker: Uuid) -> Result<BlockList, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT b.blocked_id, b.created_at, u.first_name, u.last_name, \
         CAST(CASE WHEN u.role = 'survivor' THEN u.is_anonymous ELSE 0 END AS BIGINT) AS hidden \
         FROM blocks b JOIN users u ON u.id = b.blocked_id \
         WHERE b.blocker_id = $1 ORDER BY b.created_at DESC, b.blocked_id",
    )
    .bind(blocker.to_string())
    .fetch_all(conn)
    .await?;
    let blocked = rows
        .iter()
        .map(|r| {
            let first: String = r.try_get("first_name")?;
            let last: String = r.try_get("last_name")?;
            Ok(BlockedUser {
                user_id: get_uuid(r, "blocked_id")?,
                name: shown_name(&first, &last, get_bool(r, "hidden")?),
                blocked_at: get_ts(r, "created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(BlockList { blocked })
}

/// Whom the caller blocked, newest first.
#[utoipa::path(get, path = endpoint::Blocks::PATH, tag = "chat", security(("bearer" = [])),
    responses(
        (status = 200, description = "Blocked users", body = BlockList),
        (status = 403, description = "Not a survivor", body = ErrorEnvelope),
    ))]
pub async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<BlockList>> {
    user.may::<endpoint::Blocks>()?;
    let mut conn = state.db.read.acquire().await?;
    Ok(Json(list_of(&mut conn, user.id).await?))
}

/// Block a user: nothing of theirs reaches the caller any more. Blocking again changes nothing.
#[utoipa::path(post, path = endpoint::BlockUser::PATH, tag = "chat", security(("bearer" = [])),
    request_body = BlockRequest,
    responses(
        (status = 201, description = "Blocked", body = BlockedUser),
        (status = 200, description = "Already blocked", body = BlockedUser),
        (status = 403, description = "Not a survivor, or oneself", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
    ))]
pub async fn block(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<BlockRequest>,
) -> ApiResult<(StatusCode, Json<BlockedUser>)> {
    user.may::<endpoint::BlockUser>()?;
    if req.user_id == user.id {
        return Err(ChatError::WithSelf.into());
    }
    let mut tx = state.db.begin_write().await?;
    if crate::auth::users::find_by_id(&mut tx, req.user_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found());
    }
    let now = Utc::now();
    let added = sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    )
    .bind(user.id.to_string())
    .bind(req.user_id.to_string())
    .bind(ts(now))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    // Their direct room leaves her list (and, read-only now, no message brings it back).
    if let Some(room) = repo::direct_between(&mut tx, user.id, req.user_id).await? {
        repo::set_hidden(&mut tx, room, user.id, Some(now)).await?;
    }
    let entry = list_of(&mut tx, user.id)
        .await?
        .blocked
        .into_iter()
        .find(|b| b.user_id == req.user_id)
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(entry)))
}

/// Unblock a user.
#[utoipa::path(delete, path = endpoint::UnblockUser::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The blocked user's id")),
    responses(
        (status = 204, description = "Unblocked"),
        (status = 403, description = "Not a survivor", body = ErrorEnvelope),
        (status = 404, description = "Not blocked", body = ErrorEnvelope),
    ))]
pub async fn unblock(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    user.may::<endpoint::UnblockUser>()?;
    let mut tx = state.db.begin_write().await?;
    let done = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(user.id.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
