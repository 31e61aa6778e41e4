//! Provider endpoints: assigned cases, accept, reject, status updates, availability.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use kintara_api::endpoint;
use kintara_api::{
    AcceptRequest, AssignmentStatus, AvailabilityRequest, CaseView, DirectoryProvider,
    ErrorEnvelope, IncidentStatus, RejectRequest, StatusUpdateRequest,
};
use serde::Deserialize;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{repo, transition, views};
use crate::auth::AuthUser;
use crate::db::{get_uuid, ts};
use crate::error::{ApiError, ApiResult};
use crate::extract::query::{Param, QueryParam};
use crate::extract::{IdPath, ValidJson, ValidQuery};
use crate::incidents::{self, Access};
use crate::notifications::{self, Cause};
use crate::state::AppState;
use kintara_api::Refusal;

#[derive(Debug, Deserialize, IntoParams)]
pub struct AssignedQuery {
    /// `pending` or `accepted`; both without it.
    pub status: Option<String>,
}

/// How `AssignedQuery` is read: only live assignments can be asked for.
pub const ASSIGNED_QUERY: [QueryParam; 1] = [QueryParam::optional(
    "status",
    Param::Choice(&[
        AssignmentStatus::Pending.as_str(),
        AssignmentStatus::Accepted.as_str(),
    ]),
)];

/// The caller's cases (providers), newest assignment first, as a bare array.
#[utoipa::path(get, path = endpoint::AssignedCases::PATH, tag = "providers", security(("bearer" = [])),
    params(AssignedQuery),
    responses(
        (status = 200, description = "Cases assigned to the caller", body = [CaseView]),
        (status = 403, description = "Not a provider", body = ErrorEnvelope),
    ))]
pub async fn assigned_cases(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<AssignedQuery>,
) -> ApiResult<Json<Vec<CaseView>>> {
    user.may::<endpoint::AssignedCases>()?;
    // Only live assignments show a case: a provider who declined it or was taken off it no
    // longer reads what the survivor wrote.
    let [status] = ASSIGNED_QUERY;
    // Only the declared choices: a provider taken off a case must not ask for it back.
    let live = |s: &str| {
        AssignmentStatus::parse(s)
            .filter(|s| matches!(s, AssignmentStatus::Pending | AssignmentStatus::Accepted))
    };
    let statuses = match status.choice(q.status.as_deref(), live)? {
        None => vec![AssignmentStatus::Pending, AssignmentStatus::Accepted],
        Some(s) => vec![s],
    };
    let mut conn = state.db.read.acquire().await?;
    let marks: Vec<String> = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT incident_id, MAX(assigned_at) AS latest FROM case_assignments \
         WHERE provider_id = $1 AND status IN ({}) GROUP BY incident_id ORDER BY latest DESC",
        marks.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(user.id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let ids = rows
        .iter()
        .map(|r| get_uuid(r, "incident_id"))
        .collect::<Result<Vec<_>, _>>()?;
    let incidents = incidents::repo::find_many(&mut conn, &ids).await?;
    Ok(Json(
        views::case_views(&mut conn, &incidents, Some(user.id)).await?,
    ))
}

/// The caller's pending assignment on the incident, or why there is none.
async fn pending_assignment(
    conn: &mut AnyConnection,
    user: &AuthUser,
    incident: Uuid,
) -> ApiResult<kintara_api::Assignment> {
    let (_, access) = incidents::readable(conn, user, incident).await?;
    match access {
        Access::Provider { accepted: false } => {}
        Access::Provider { accepted: true } | Access::Record => {
            return Err(ApiError::from(Refusal::AlreadyAccepted {}))
        }
        _ => return Err(ApiError::not_found()),
    }
    repo::live_assignment(conn, incident, user.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn view_of(conn: &mut AnyConnection, user: &AuthUser, id: Uuid) -> ApiResult<CaseView> {
    let row = incidents::repo::find(conn, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(views::case_views(conn, &[row], Some(user.id))
        .await?
        .remove(0))
}

/// Accept a case assigned to the caller. The case goes in progress and its conversation opens.
#[utoipa::path(patch, path = endpoint::Accept::PATH, tag = "providers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = AcceptRequest,
    responses(
        (status = 200, description = "Accepted", body = CaseView),
        (status = 404, description = "Not assigned to you", body = ErrorEnvelope),
        (status = 409, description = "Already answered, or the case moved on", body = ErrorEnvelope),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<AcceptRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::Accept>()?;
    let mut tx = state.db.begin_write().await?;
    let assignment = pending_assignment(&mut tx, &user, id).await?;
    let accepted = repo::set_assignment_status(
        &mut tx,
        assignment.id,
        &[AssignmentStatus::Pending],
        AssignmentStatus::Accepted,
        None,
    )
    .await?;
    if !accepted {
        return Err(ApiError::from(Refusal::AssignmentGone {}));
    }
    if let Some(notes) = req.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        sqlx::query("UPDATE case_assignments SET notes = $2 WHERE id = $1")
            .bind(assignment.id.to_string())
            .bind(notes.trim())
            .execute(&mut *tx)
            .await?;
    }
    repo::record_answer(&mut tx, &assignment).await?;
    let incident = incidents::repo::find(&mut tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if incident.status == IncidentStatus::Assigned {
        transition(
            &mut tx,
            id,
            IncidentStatus::Assigned,
            IncidentStatus::InProgress,
            Some(user.id),
            None,
        )
        .await?;
    }
    open_conversation(&mut tx, &incident, user.id).await?;
    notifications::notify(
        &mut tx,
        Cause::AssignmentAccepted {
            incident: &incident,
            provider: user.id,
        },
    )
    .await?;
    let view = view_of(&mut tx, &user, id).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Opens the case conversation (once) with the survivor and the accepting provider in it.
async fn open_conversation(
    conn: &mut AnyConnection,
    incident: &incidents::repo::IncidentRow,
    provider: Uuid,
) -> Result<(), sqlx::Error> {
    let now = ts(Utc::now());
    sqlx::query(
        "INSERT INTO conversations (id, kind, incident_id, is_active, created_at, updated_at) \
         VALUES ($1, 'case', $2, 1, $3, $3) ON CONFLICT (incident_id) DO NOTHING",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(incident.id.to_string())
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    for member in [incident.survivor_id, provider] {
        sqlx::query(
            "INSERT INTO conversation_participants (conversation_id, user_id, joined_at) \
             SELECT id, $2, $3 FROM conversations WHERE incident_id = $1 \
             ON CONFLICT (conversation_id, user_id) DO NOTHING",
        )
        .bind(incident.id.to_string())
        .bind(member.to_string())
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Decline a case assigned to the caller. Without other live assignments the case returns to
/// the dispatcher queue.
#[utoipa::path(patch, path = endpoint::Reject::PATH, tag = "providers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Declined", body = CaseView),
        (status = 404, description = "Not assigned to you", body = ErrorEnvelope),
        (status = 409, description = "Already answered", body = ErrorEnvelope),
        (status = 422, description = "A reason is required", body = ErrorEnvelope),
    ))]
pub async fn reject(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<RejectRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::Reject>()?;
    let mut tx = state.db.begin_write().await?;
    let assignment = pending_assignment(&mut tx, &user, id).await?;
    let rejected = repo::set_assignment_status(
        &mut tx,
        assignment.id,
        &[AssignmentStatus::Pending],
        AssignmentStatus::Rejected,
        Some(req.reason.trim()),
    )
    .await?;
    if !rejected {
        return Err(ApiError::from(Refusal::AssignmentGone {}));
    }
    repo::release_slot(&mut tx, user.id).await?;
    repo::record_answer(&mut tx, &assignment).await?;
    let incident = incidents::repo::find(&mut tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    back_to_queue_if_unassigned(
        &mut tx,
        &incident,
        Some(user.id),
        "declined by the provider",
    )
    .await?;
    notifications::notify(
        &mut tx,
        Cause::AssignmentRejected {
            incident: &incident,
            provider: user.id,
        },
    )
    .await?;
    let view = view_of(&mut tx, &user, id).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// An assigned case with nobody left on it goes back to the queue.
pub async fn back_to_queue_if_unassigned(
    conn: &mut AnyConnection,
    incident: &incidents::repo::IncidentRow,
    actor: Option<Uuid>,
    reason: &str,
) -> ApiResult<()> {
    let live = repo::assignments_of(conn, &[incident.id])
        .await?
        .into_iter()
        .any(|a| {
            matches!(
                a.status,
                AssignmentStatus::Pending | AssignmentStatus::Accepted
            )
        });
    if !live && incident.status == IncidentStatus::Assigned {
        transition(
            conn,
            incident.id,
            IncidentStatus::Assigned,
            IncidentStatus::PendingDispatcherReview,
            actor,
            Some(reason),
        )
        .await?;
    }
    Ok(())
}

/// Move a case the caller accepted forward: `in_progress`, `completed`, then `closed`.
#[utoipa::path(patch, path = endpoint::UpdateStatus::PATH, tag = "providers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = StatusUpdateRequest,
    responses(
        (status = 200, description = "Updated", body = CaseView),
        (status = 403, description = "Accept the case first", body = ErrorEnvelope),
        (status = 404, description = "Not assigned to you", body = ErrorEnvelope),
        (status = 409, description = "Not a legal move from the current status", body = ErrorEnvelope),
    ))]
pub async fn update_status(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<StatusUpdateRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::UpdateStatus>()?;
    let mut tx = state.db.begin_write().await?;
    let (incident, access) = incidents::readable(&mut tx, &user, id).await?;
    // Closing, and undoing a close, are the dispatcher's decisions.
    if req.status == IncidentStatus::Closed && access != (Access::Provider { accepted: false }) {
        return Err(ApiError::from(Refusal::OnlyRoles {
            roles: endpoint::STAFF.to_vec(),
        }));
    }
    match access {
        Access::Provider { accepted: true } => {}
        Access::Record => return Err(ApiError::from(Refusal::CaseFinished {})),
        _ => return Err(ApiError::from(Refusal::AcceptFirst {})),
    }
    if !matches!(
        req.status,
        IncidentStatus::InProgress | IncidentStatus::Completed
    ) {
        return Err(super::illegal(incident.status, req.status));
    }
    let notes = req
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    transition(
        &mut tx,
        id,
        incident.status,
        req.status,
        Some(user.id),
        notes,
    )
    .await?;
    if req.status == IncidentStatus::Completed {
        finish_assignments(&mut tx, id).await?;
    }
    let updated = incidents::repo::find(&mut tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    notifications::notify(
        &mut tx,
        Cause::StatusChanged {
            incident: &updated,
            to: req.status,
        },
    )
    .await?;
    let view = view_of(&mut tx, &user, id).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// A completed case frees its providers' slots; pending offers on it are withdrawn.
async fn finish_assignments(conn: &mut AnyConnection, incident: Uuid) -> ApiResult<()> {
    for a in repo::assignments_of(conn, &[incident]).await? {
        let frees_slot = match a.status {
            AssignmentStatus::Accepted => true,
            AssignmentStatus::Pending => {
                repo::set_assignment_status(
                    conn,
                    a.id,
                    &[AssignmentStatus::Pending],
                    AssignmentStatus::Withdrawn,
                    Some("case completed"),
                )
                .await?
            }
            _ => false,
        };
        if frees_slot {
            repo::release_slot(conn, a.provider_id).await?;
        }
    }
    Ok(())
}

/// The caller's own directory entry: what the directory shows dispatchers, availability included.
async fn own_entry(state: &AppState, user: &AuthUser) -> ApiResult<DirectoryProvider> {
    let mut conn = state.db.read.acquire().await?;
    repo::entry(&mut conn, user.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The caller's availability as the server has it, so every device of theirs shows the same
/// switch (the same body as setting it).
#[utoipa::path(get, path = endpoint::GetAvailability::PATH, tag = "providers", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's directory entry", body = DirectoryProvider),
        (status = 403, description = "Not a provider", body = ErrorEnvelope),
    ))]
pub async fn get_availability(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DirectoryProvider>> {
    user.may::<endpoint::GetAvailability>()?;
    own_entry(&state, &user).await.map(Json)
}

/// Turn the caller's availability on or off.
#[utoipa::path(patch, path = endpoint::SetAvailability::PATH, tag = "providers", security(("bearer" = [])),
    request_body = AvailabilityRequest,
    responses(
        (status = 200, description = "The caller's directory entry", body = DirectoryProvider),
        (status = 403, description = "Not a provider", body = ErrorEnvelope),
    ))]
pub async fn set_availability(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<AvailabilityRequest>,
) -> ApiResult<Json<DirectoryProvider>> {
    user.may::<endpoint::SetAvailability>()?;
    let mut tx = state.db.begin_write().await?;
    repo::set_availability(&mut tx, user.id, req.is_currently_available).await?;
    tx.commit().await?;
    own_entry(&state, &user).await.map(Json)
}
