//! `incidents/*` endpoints.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kintara_api::endpoint;
use kintara_api::{
    ErrorEnvelope, Incident, IncidentCreate, IncidentPatch, IncidentStatus, IncidentType, Role,
    StatusChange,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::repo::{self, ListFilter};
use super::{readable, Access};
use crate::auth::AuthUser;
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::extract::query::{Param, QueryParam};
use crate::extract::{IdPath, ValidJson, ValidQuery};
use crate::limits::Action;
use crate::state::AppState;
use crate::workflow::views::with_helpers;
use kintara_api::Refusal;

/// File a report (survivors).
#[utoipa::path(post, path = endpoint::CreateIncident::PATH, tag = "incidents", security(("bearer" = [])),
    request_body = IncidentCreate,
    responses(
        (status = 201, description = "Filed; it waits for a dispatcher", body = Incident),
        (status = 200, description = "Already filed with this client_id: the first report", body = Incident),
        (status = 403, description = "Only survivors file reports", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ClientAddr(addr): ClientAddr,
    ValidJson(new): ValidJson<IncidentCreate>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    user.may::<endpoint::CreateIncident>()?;
    let mut tx = state.db.begin_write().await?;
    let client_id = new.client_id.as_deref().map(str::trim);
    if let Some(c) = client_id {
        // Filed before (the answer was lost): the same report again, and nothing new.
        if let Some(row) = repo::by_client_id(&mut tx, user.id, c).await? {
            let filed = with_helpers(&mut tx, &[row]).await?.remove(0);
            tx.rollback().await?;
            return Ok((StatusCode::OK, Json(filed)));
        }
    }
    // Counted only for new reports: a resend of one already filed (above) is never refused.
    state.limits.account(Action::Report, user.id, addr)?;
    let row = match repo::insert(&mut tx, user.id, &new).await {
        Ok(row) => row,
        // The same report filed concurrently (PostgreSQL; SQLite serialises writers): the other
        // one won, answer with it.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() && client_id.is_some() => {
            tx.rollback().await?;
            let mut conn = state.db.write.acquire().await?;
            let row = repo::by_client_id(&mut conn, user.id, client_id.unwrap_or_default())
                .await?
                .ok_or_else(|| ApiError::internal("a duplicate report without its first"))?;
            let filed = with_helpers(&mut conn, &[row]).await?.remove(0);
            return Ok((StatusCode::OK, Json(filed)));
        }
        Err(e) => return Err(e.into()),
    };
    // Routing and its notifications commit with the report, or none of it does.
    crate::workflow::route_new(&mut tx, &row).await?;
    let row = repo::find(&mut tx, row.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let filed = with_helpers(&mut tx, &[row]).await?.remove(0);
    tx.commit().await?;
    tracing::info!(incident = %filed.id, urgency = %filed.urgency_level, status = %filed.status, "incident filed");
    Ok((StatusCode::CREATED, Json(filed)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only incidents in this status.
    pub status: Option<String>,
    /// Only incidents of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// How `ListQuery` is read.
pub const LIST_QUERY: [QueryParam; 2] = [
    QueryParam::optional("status", Param::Choice(IncidentStatus::WIRE)),
    QueryParam::optional("type", Param::Choice(IncidentType::WIRE)),
];

/// The caller's incidents (survivors: their own; dispatchers and admins: all), newest first,
/// as a bare array.
#[utoipa::path(get, path = endpoint::ListIncidents::PATH, tag = "incidents", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Incidents, newest first", body = [Incident]),
        (status = 422, description = "Unknown filter value", body = ErrorEnvelope),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<ListQuery>,
) -> ApiResult<Json<Vec<Incident>>> {
    let [status, kind] = LIST_QUERY;
    let status = status.choice(q.status.as_deref(), IncidentStatus::parse)?;
    let kind = kind.choice(q.kind.as_deref(), IncidentType::parse)?;
    let survivor = match user.role {
        Role::Survivor => Some(user.id),
        Role::Dispatcher | Role::Admin => None,
        // Providers see cases through their assignments, not this list.
        Role::Provider => return Ok(Json(Vec::new())),
    };
    let mut conn = state.db.read.acquire().await?;
    let filter = ListFilter {
        survivor,
        status,
        kind,
        ..Default::default()
    };
    let rows = repo::list(&mut conn, &filter).await?;
    Ok(Json(with_helpers(&mut conn, &rows).await?))
}

/// One incident.
#[utoipa::path(get, path = endpoint::GetIncident::PATH, tag = "incidents", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident", body = Incident),
        (status = 404, description = "No such incident, or not yours", body = ErrorEnvelope),
    ))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<Incident>> {
    let mut conn = state.db.read.acquire().await?;
    let (row, access) = readable(&mut conn, &user, id).await?;
    let incident = with_helpers(&mut conn, &[row]).await?.remove(0);
    Ok(Json(super::disclosed(incident, access)))
}

/// Change the description, requested services or contact preferences of one's own report while
/// the case is open.
#[utoipa::path(patch, path = endpoint::PatchIncident::PATH, tag = "incidents", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = IncidentPatch,
    responses(
        (status = 200, description = "Updated", body = Incident),
        (status = 403, description = "Only the survivor who filed it may change it", body = ErrorEnvelope),
        (status = 404, description = "No such incident, or not yours", body = ErrorEnvelope),
        (status = 409, description = "The case is completed or closed", body = ErrorEnvelope),
        (status = 422, description = "Invalid or unchangeable fields", body = ErrorEnvelope),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(patch): ValidJson<IncidentPatch>,
) -> ApiResult<Json<Incident>> {
    // Checked inside the write transaction, so a status change cannot slip in between.
    let mut tx = state.db.begin_write().await?;
    let (current, access) = readable(&mut tx, &user, id).await?;
    if access != Access::Owner {
        return Err(ApiError::from(Refusal::NotYourReport {}));
    }
    if matches!(
        current.status,
        IncidentStatus::Completed | IncidentStatus::Closed
    ) {
        return Err(ApiError::from(Refusal::CaseFinished {}));
    }
    repo::update(&mut tx, id, &patch).await?;
    crate::workflow::announce_incident(&mut tx, id, crate::workflow::Audience::Everyone).await?;
    let row = repo::find(&mut tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let updated = with_helpers(&mut tx, &[row]).await?.remove(0);
    tx.commit().await?;
    Ok(Json(updated))
}

/// The case's status changes, oldest first. Its survivor sees when it moved and where to, never
/// the reasons (they can name providers or quote why one declined).
#[utoipa::path(get, path = endpoint::Timeline::PATH, tag = "incidents", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Status changes, oldest first", body = [StatusChange]),
        (status = 404, description = "No such incident, or not yours", body = ErrorEnvelope),
    ))]
pub async fn timeline(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<Vec<StatusChange>>> {
    let mut conn = state.db.read.acquire().await?;
    let (_, access) = readable(&mut conn, &user, id).await?;
    let mut changes = repo::timeline(&mut conn, id).await?;
    if access == Access::Owner {
        for c in &mut changes {
            c.reason = None;
        }
    }
    Ok(Json(changes))
}

/// Withdraw one's own report (soft delete: it disappears from every list).
#[utoipa::path(delete, path = endpoint::DeleteIncident::PATH, tag = "incidents", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "Only the survivor who filed it may withdraw it", body = ErrorEnvelope),
        (status = 404, description = "No such incident, or not yours", body = ErrorEnvelope),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let (current, access) = readable(&mut tx, &user, id).await?;
    if access != Access::Owner {
        return Err(ApiError::from(Refusal::NotYourReport {}));
    }
    crate::workflow::withdraw_all(&mut tx, &current, "the survivor withdrew the report").await?;
    repo::soft_delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
