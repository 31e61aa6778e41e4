//! Push tokens (`devices/*`). A token belongs to one device, so registering a token that is
//! already known moves it to the caller's session. Tokens go when their session ends
//! (`auth::sessions::revoke`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use kintara_api::endpoint;
use kintara_api::{Device, DeviceRegistration, ErrorEnvelope, Platform, PushKind};
use sqlx::Row;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::{get_enum, get_ts, get_uuid, ts};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, ValidJson};
use crate::state::AppState;

/// Register this device's push token for the signed-in session.
#[utoipa::path(post, path = endpoint::RegisterDevice::PATH, tag = "devices", security(("bearer" = [])),
    request_body = DeviceRegistration,
    responses(
        (status = 201, description = "Registered", body = Device),
        (status = 422, description = "Invalid", body = ErrorEnvelope),
    ))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<DeviceRegistration>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    let now = ts(Utc::now());
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO devices (id, user_id, session_id, token, platform, kind, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, \
           session_id = excluded.session_id, platform = excluded.platform, kind = excluded.kind, \
           last_seen_at = excluded.last_seen_at \
         RETURNING id, platform, kind, created_at, last_seen_at",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(user.id.to_string())
    .bind(user.session_id.to_string())
    .bind(req.token.trim())
    .bind(req.platform.as_str())
    .bind(req.kind.as_str())
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Device {
            id: get_uuid(&row, "id")?,
            platform: get_enum(&row, "platform", Platform::parse)?,
            kind: get_enum(&row, "kind", PushKind::parse)?,
            created_at: get_ts(&row, "created_at")?,
            last_seen_at: get_ts(&row, "last_seen_at")?,
        }),
    ))
}

/// Remove one of the caller's devices.
#[utoipa::path(delete, path = endpoint::RemoveDevice::PATH, tag = "devices", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Device id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such device of yours", body = ErrorEnvelope),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let done = sqlx::query("DELETE FROM devices WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// How many push tokens a user has (for tests and the admin view).
pub async fn count_for(db: &crate::db::Db, user: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM devices WHERE user_id = $1")
        .bind(user.to_string())
        .fetch_one(&db.read)
        .await?
        .try_get("n")
}
