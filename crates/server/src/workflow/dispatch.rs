//! Dispatcher endpoints: dashboard, cases, assign and reassign, the provider directory and
//! suggestions. Dispatchers and admins only.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use kintara_api::endpoint;
use kintara_api::{
    AssignRequest, AssignmentStatus, CaseDecisionRequest, CasePage, CaseView, CasesByStatus,
    DashboardStats, DirectoryProvider, ErrorEnvelope, IncidentStatus, IncidentType,
    ProviderSuggestion, ProviderType, ReassignRequest, SupportService, UrgencyLevel,
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use serde::Deserialize;
use sqlx::{AnyConnection, Row};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{repo, transition, views};
use crate::auth::AuthUser;
use crate::db::ts;
use crate::error::{ApiError, ApiResult};
use crate::extract::query::{Param, QueryParam};
use crate::extract::{IdPath, ValidJson, ValidQuery};
use crate::incidents::repo::{self as incidents, IncidentRow, ListFilter};
use crate::notifications::{self, Cause};
use crate::openapi::MAX_PAGE;
use crate::state::AppState;
use kintara_api::{FieldError, Refusal, SuggestionReason};

/// Counts for the dispatcher's dashboard.
#[utoipa::path(get, path = endpoint::Dashboard::PATH, tag = "dispatch", security(("bearer" = [])),
    responses(
        (status = 200, description = "Live counts", body = DashboardStats),
        (status = 403, description = "Not a dispatcher", body = ErrorEnvelope),
    ))]
pub async fn dashboard(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DashboardStats>> {
    user.may::<endpoint::Dashboard>()?;
    let mut conn = state.db.read.acquire().await?;
    let mut stats = DashboardStats::default();
    let rows = sqlx::query(
        "SELECT status, urgency_level, COUNT(*) AS n FROM incidents WHERE deleted_at IS NULL \
         GROUP BY status, urgency_level",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let n: i64 = row.try_get("n")?;
        let status = IncidentStatus::parse(&row.try_get::<String, _>("status")?);
        let urgency = UrgencyLevel::parse(&row.try_get::<String, _>("urgency_level")?);
        stats.total_cases += n;
        let s = &mut stats.cases_by_status;
        match status {
            Some(IncidentStatus::New) => s.new += n,
            Some(IncidentStatus::PendingDispatcherReview) => s.pending_dispatcher_review += n,
            Some(IncidentStatus::Assigned) => s.assigned += n,
            Some(IncidentStatus::InProgress) => s.in_progress += n,
            Some(IncidentStatus::Completed) => s.completed += n,
            Some(IncidentStatus::Closed) => s.closed += n,
            None => {}
        }
        let u = &mut stats.cases_by_urgency;
        match urgency {
            Some(UrgencyLevel::Routine) => u.routine += n,
            Some(UrgencyLevel::Urgent) => u.urgent += n,
            Some(UrgencyLevel::Immediate) => u.immediate += n,
            None => {}
        }
        if status == Some(IncidentStatus::PendingDispatcherReview)
            && urgency.is_some_and(|u| u != UrgencyLevel::Routine)
        {
            stats.unassigned_urgent_cases += n;
        }
    }
    let CasesByStatus {
        pending_dispatcher_review,
        assigned,
        in_progress,
        ..
    } = stats.cases_by_status;
    stats.pending_dispatcher_review = pending_dispatcher_review;
    stats.active_cases = assigned + in_progress;

    let today = ts(Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc());
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM incidents WHERE deleted_at IS NULL AND created_at >= $1) AS created, \
           (SELECT COUNT(DISTINCT incident_id) FROM incident_status_history \
              WHERE to_status = 'completed' AND created_at >= $1) AS completed, \
           (SELECT COUNT(*) FROM provider_profiles p JOIN users u ON u.id = p.user_id \
              WHERE u.account_state = 'active') AS providers, \
           (SELECT COUNT(*) FROM provider_profiles p JOIN users u ON u.id = p.user_id \
              WHERE u.account_state = 'active' AND p.is_currently_available = 1 \
              AND p.current_case_load < p.max_case_load) AS available, \
           (SELECT COUNT(*) FROM provider_profiles p JOIN users u ON u.id = p.user_id \
              WHERE u.account_state = 'active' AND p.current_case_load >= p.max_case_load) AS at_capacity",
    )
    .bind(&today)
    .fetch_one(&mut *conn)
    .await?;
    stats.cases_created_today = row.try_get("created")?;
    stats.cases_completed_today = row.try_get("completed")?;
    stats.total_providers = row.try_get("providers")?;
    stats.available_providers = row.try_get("available")?;
    stats.providers_at_capacity = row.try_get("at_capacity")?;
    stats.average_response_time_minutes = average_response_minutes(&mut conn).await?;
    Ok(Json(stats))
}

/// Mean minutes from assignment to answer over the last 30 days.
async fn average_response_minutes(conn: &mut AnyConnection) -> Result<Option<f64>, sqlx::Error> {
    let since = ts(Utc::now() - chrono::Duration::days(30));
    let row = sqlx::query(
        "SELECT CAST(AVG(response_seconds) AS DOUBLE PRECISION) AS avg_seconds \
         FROM case_assignments WHERE response_seconds IS NOT NULL AND assigned_at >= $1",
    )
    .bind(since)
    .fetch_one(conn)
    .await?;
    let seconds: Option<f64> = row.try_get("avg_seconds")?;
    Ok(seconds.map(|s| (s / 60.0 * 10.0).round() / 10.0))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CasesQuery {
    pub status: Option<String>,
    pub urgency: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// `true`: with a live assignment; `false`: without.
    pub assigned: Option<String>,
    /// From 1; when given, the answer is a page instead of a bare array.
    pub page: Option<String>,
    /// 1 to 100, default 20.
    pub page_size: Option<String>,
}

/// How `CasesQuery` is read.
pub const CASES_QUERY: [QueryParam; 6] = [
    QueryParam::optional("status", Param::Choice(IncidentStatus::WIRE)),
    QueryParam::optional("urgency", Param::Choice(UrgencyLevel::WIRE)),
    QueryParam::optional("type", Param::Choice(IncidentType::WIRE)),
    QueryParam::optional("assigned", Param::Flag),
    QueryParam::optional("page", Param::Number(MAX_PAGE)),
    QueryParam::optional("page_size", Param::Number(MAX_PAGE_SIZE)),
];

/// All cases with filters, newest first: a bare array, or a page when `page` is given.
#[utoipa::path(get, path = endpoint::Cases::PATH, tag = "dispatch", security(("bearer" = [])),
    params(CasesQuery),
    responses(
        (status = 200, description = "Cases (a `CasePage` when `page` is given)", body = [CaseView]),
        (status = 403, description = "Not a dispatcher", body = ErrorEnvelope),
        (status = 422, description = "Unknown filter value", body = ErrorEnvelope),
    ))]
pub async fn cases(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<CasesQuery>,
) -> ApiResult<Response> {
    user.may::<endpoint::Cases>()?;
    let [status, urgency, kind, assigned, page, page_size] = CASES_QUERY;
    let page = page.number(q.page.as_deref())?.map(|n| n as i64);
    let page_size = page_size
        .number(q.page_size.as_deref())?
        .map_or(DEFAULT_PAGE_SIZE as i64, |n| n as i64);
    let mut filter = ListFilter {
        survivor: None,
        status: status.choice(q.status.as_deref(), IncidentStatus::parse)?,
        urgency: urgency.choice(q.urgency.as_deref(), UrgencyLevel::parse)?,
        kind: kind.choice(q.kind.as_deref(), IncidentType::parse)?,
        assigned: assigned.flag(q.assigned.as_deref())?,
        window: None,
    };
    let mut conn = state.db.read.acquire().await?;
    let Some(page) = page else {
        let rows = incidents::list(&mut conn, &filter).await?;
        return Ok(Json(views::case_views(&mut conn, &rows, None).await?).into_response());
    };
    let count = incidents::count(&mut conn, &filter).await?;
    filter.window = Some((page_size, (page - 1) * page_size));
    let rows = incidents::list(&mut conn, &filter).await?;
    let link = |p: i64| {
        let mut query = vec![format!("page={p}"), format!("page_size={page_size}")];
        for (k, v) in [
            ("status", &q.status),
            ("urgency", &q.urgency),
            ("type", &q.kind),
            ("assigned", &q.assigned),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                query.push(format!("{k}={v}"));
            }
        }
        format!("{}?{}", endpoint::Cases::PATH, query.join("&"))
    };
    let last = ((count + page_size - 1) / page_size).max(1);
    Ok(Json(CasePage {
        count,
        next: (page < last).then(|| link(page + 1)),
        previous: (page > 1).then(|| link((page - 1).min(last))),
        results: views::case_views(&mut conn, &rows, None).await?,
    })
    .into_response())
}

async fn staff_case(conn: &mut AnyConnection, id: Uuid) -> ApiResult<IncidentRow> {
    incidents::find(conn, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Close a case its providers completed: the decision is the dispatcher's. The conversation
/// becomes read-only; providers keep only their record of the case (see README).
#[utoipa::path(post, path = endpoint::CloseCase::PATH, tag = "dispatch", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = CaseDecisionRequest,
    responses(
        (status = 200, description = "Closed", body = CaseView),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "The case is not completed", body = ErrorEnvelope),
    ))]
pub async fn close(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<CaseDecisionRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::CloseCase>()?;
    decide_case(&state, &user, id, IncidentStatus::Closed, &req.reason).await
}

/// Reopen a case closed by mistake: it is completed again, its conversation writable and its
/// providers' access back as it was.
#[utoipa::path(post, path = endpoint::ReopenCase::PATH, tag = "dispatch", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = CaseDecisionRequest,
    responses(
        (status = 200, description = "Reopened: completed again", body = CaseView),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "The case is not closed", body = ErrorEnvelope),
    ))]
pub async fn reopen(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<CaseDecisionRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::ReopenCase>()?;
    decide_case(&state, &user, id, IncidentStatus::Completed, &req.reason).await
}

/// Closes (`to` closed) or reopens (`to` completed) a case, with the dispatcher's reason in its
/// timeline.
async fn decide_case(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    to: IncidentStatus,
    reason: &str,
) -> ApiResult<Json<CaseView>> {
    let mut tx = state.db.begin_write().await?;
    let incident = staff_case(&mut tx, id).await?;
    let from = match to {
        IncidentStatus::Closed => IncidentStatus::Completed,
        _ => IncidentStatus::Closed,
    };
    if incident.status != from {
        return Err(super::illegal(incident.status, to));
    }
    transition(&mut tx, id, from, to, Some(user.id), Some(reason.trim())).await?;
    super::set_rooms_writable(&mut tx, id, to != IncidentStatus::Closed).await?;
    super::providers_in_room(&mut tx, id, to != IncidentStatus::Closed).await?;
    let updated = staff_case(&mut tx, id).await?;
    notifications::notify(
        &mut tx,
        Cause::StatusChanged {
            incident: &updated,
            to,
        },
    )
    .await?;
    let view = views::case_views(&mut tx, &[updated], None)
        .await?
        .remove(0);
    tx.commit().await?;
    Ok(Json(view))
}

/// One case with its assignments.
#[utoipa::path(get, path = endpoint::Case::PATH, tag = "dispatch", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 404, description = "No such case", body = ErrorEnvelope),
    ))]
pub async fn case(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::Case>()?;
    let mut conn = state.db.read.acquire().await?;
    let row = staff_case(&mut conn, id).await?;
    Ok(Json(
        views::case_views(&mut conn, &[row], None).await?.remove(0),
    ))
}

/// Gives the case to `provider`: a pending assignment and a slot of their case load.
async fn offer(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
    provider: Uuid,
    by: Uuid,
    notes: Option<&str>,
) -> ApiResult<()> {
    let is_provider = sqlx::query(
        "SELECT 1 AS one FROM users WHERE id = $1 AND role = 'provider' AND account_state = 'active'",
    )
    .bind(provider.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if !is_provider {
        let id = provider.to_string();
        return Err(ApiError::field(
            "provider_ids",
            FieldError::NotAProvider { id },
        ));
    }
    if repo::live_assignment(conn, incident.id, provider)
        .await?
        .is_some()
    {
        return Err(ApiError::from(Refusal::AlreadyAssigned {}));
    }
    if !repo::take_slot(conn, provider).await? {
        return Err(ApiError::from(Refusal::ProviderUnavailable {}));
    }
    repo::insert_assignment(conn, incident.id, provider, Some(by), notes).await?;
    super::announce_assignment(conn, incident, provider).await?;
    notifications::notify(conn, Cause::CaseAssigned { incident, provider }).await?;
    Ok(())
}

/// Assign one or more providers. All or nothing: if one cannot take it, nobody is assigned.
#[utoipa::path(post, path = endpoint::Assign::PATH, tag = "dispatch", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = CaseView),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "A provider cannot take it, or the case is finished", body = ErrorEnvelope),
        (status = 422, description = "Not a provider", body = ErrorEnvelope),
    ))]
pub async fn assign(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<AssignRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::Assign>()?;
    let mut tx = state.db.begin_write().await?;
    let incident = staff_case(&mut tx, id).await?;
    if !matches!(
        incident.status,
        IncidentStatus::PendingDispatcherReview
            | IncidentStatus::Assigned
            | IncidentStatus::InProgress
    ) {
        return Err(super::illegal(incident.status, IncidentStatus::Assigned));
    }
    let notes = req
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    for provider in req.providers() {
        offer(&mut tx, &incident, provider, user.id, notes).await?;
    }
    if incident.status == IncidentStatus::PendingDispatcherReview {
        transition(
            &mut tx,
            id,
            incident.status,
            IncidentStatus::Assigned,
            Some(user.id),
            notes,
        )
        .await?;
    } else {
        // More help on a case already assigned: no status change, but the queue shows helpers.
        super::announce_incident(&mut tx, id, super::Audience::Staff).await?;
    }
    let row = staff_case(&mut tx, id).await?;
    let view = views::case_views(&mut tx, &[row], None).await?.remove(0);
    tx.commit().await?;
    Ok(Json(view))
}

/// Move a case to another provider: the old assignment (or all live ones) is withdrawn with the
/// reason, the new provider gets it. All or nothing.
#[utoipa::path(post, path = endpoint::Reassign::PATH, tag = "dispatch", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body = ReassignRequest,
    responses(
        (status = 200, description = "Reassigned", body = CaseView),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "The new provider cannot take it, or the case is finished", body = ErrorEnvelope),
    ))]
pub async fn reassign(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<ReassignRequest>,
) -> ApiResult<Json<CaseView>> {
    user.may::<endpoint::Reassign>()?;
    let mut tx = state.db.begin_write().await?;
    let incident = staff_case(&mut tx, id).await?;
    if !matches!(
        incident.status,
        IncidentStatus::Assigned | IncidentStatus::InProgress
    ) {
        return Err(ApiError::from(Refusal::NotReassignable {}));
    }
    // Moving a case from a provider to the same provider: they already have it.
    if req.from_provider_id == Some(req.new_provider_id) {
        return Err(ApiError::from(Refusal::AlreadyAssigned {}));
    }
    let reason = req.reason.trim();
    let mut withdrew = 0;
    for a in repo::assignments_of(&mut tx, &[id]).await? {
        let live = matches!(
            a.status,
            AssignmentStatus::Pending | AssignmentStatus::Accepted
        );
        if !live || req.from_provider_id.is_some_and(|p| p != a.provider_id) {
            continue;
        }
        if repo::set_assignment_status(
            &mut tx,
            a.id,
            &[AssignmentStatus::Pending, AssignmentStatus::Accepted],
            AssignmentStatus::Withdrawn,
            Some(reason),
        )
        .await?
        {
            repo::release_slot(&mut tx, a.provider_id).await?;
            withdrew += 1;
        }
    }
    if withdrew == 0 {
        return Err(ApiError::from(Refusal::NotAssigned {}));
    }
    // With no accepted provider left, an in-progress case is back to waiting for an answer.
    let accepted_left = repo::assignments_of(&mut tx, &[id])
        .await?
        .iter()
        .any(|a| a.status == AssignmentStatus::Accepted);
    let back_to_assigned = incident.status == IncidentStatus::InProgress && !accepted_left;
    if back_to_assigned {
        transition(
            &mut tx,
            id,
            IncidentStatus::InProgress,
            IncidentStatus::Assigned,
            Some(user.id),
            Some(reason),
        )
        .await?;
    }
    let current = staff_case(&mut tx, id).await?;
    offer(
        &mut tx,
        &current,
        req.new_provider_id,
        user.id,
        Some(reason),
    )
    .await?;
    if !back_to_assigned {
        super::announce_incident(&mut tx, id, super::Audience::Staff).await?;
    }
    let row = staff_case(&mut tx, id).await?;
    let view = views::case_views(&mut tx, &[row], None).await?.remove(0);
    tx.commit().await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProvidersQuery {
    pub provider_type: Option<String>,
    /// `true`: only providers who can take a case now.
    pub available_only: Option<String>,
}

/// How `ProvidersQuery` is read.
pub const PROVIDERS_QUERY: [QueryParam; 2] = [
    QueryParam::optional("provider_type", Param::Choice(ProviderType::WIRE)),
    QueryParam::optional("available_only", Param::Flag),
];

/// The provider directory with availability and load.
#[utoipa::path(get, path = endpoint::Providers::PATH, tag = "dispatch", security(("bearer" = [])),
    params(ProvidersQuery),
    responses(
        (status = 200, description = "Providers", body = [DirectoryProvider]),
        (status = 403, description = "Not a dispatcher", body = ErrorEnvelope),
    ))]
pub async fn providers(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<ProvidersQuery>,
) -> ApiResult<Json<Vec<DirectoryProvider>>> {
    user.may::<endpoint::Providers>()?;
    let [ptype, available_only] = PROVIDERS_QUERY;
    let ptype = ptype.choice(q.provider_type.as_deref(), ProviderType::parse)?;
    let available_only = available_only
        .flag(q.available_only.as_deref())?
        .unwrap_or(false);
    let mut conn = state.db.read.acquire().await?;
    Ok(Json(
        repo::directory(&mut conn, ptype, available_only).await?,
    ))
}

/// The provider types that fit an incident type (GBV rescue fits every case).
fn types_for_incident(kind: IncidentType) -> &'static [ProviderType] {
    use ProviderType::*;
    match kind {
        IncidentType::Physical => &[Healthcare, Police, Counseling],
        IncidentType::Sexual => &[Healthcare, Police, Counseling, Legal],
        IncidentType::Emotional => &[Counseling, Social],
        IncidentType::Economic => &[Social, Legal],
        IncidentType::Online => &[Police, Legal, Counseling],
        IncidentType::Femicide => &[Police, Healthcare, Legal, Counseling],
    }
}

/// The provider types that give a requested service.
fn types_for_service(s: SupportService) -> &'static [ProviderType] {
    use ProviderType::*;
    match s {
        SupportService::Medical => &[Healthcare, Chw],
        SupportService::Legal => &[Legal],
        SupportService::Counseling => &[Counseling],
        SupportService::Police => &[Police],
        SupportService::Shelter => &[Social, GbvRescue],
        SupportService::Financial => &[Social],
        SupportService::Emergency => &[GbvRescue, Healthcare],
    }
}

/// Ranks providers who can take `incident` now: a requested service weighs most, then the
/// incident type, then spare capacity and a quick average response.
pub fn rank(incident: &IncidentRow, providers: Vec<DirectoryProvider>) -> Vec<ProviderSuggestion> {
    let mut out: Vec<ProviderSuggestion> = providers
        .into_iter()
        .filter(|p| {
            p.profile.is_currently_available
                && p.profile.current_case_load < p.profile.max_case_load
        })
        .filter_map(|p| {
            let mut score = 0.0;
            let mut reasons = Vec::new();
            let services: Vec<SupportService> = incident
                .support_services
                .iter()
                .filter(|s| types_for_service(**s).contains(&p.provider_type))
                .copied()
                .collect();
            if !services.is_empty() {
                score += 10.0 * services.len() as f64;
                reasons.push(SuggestionReason::GivesServices { services });
            }
            if types_for_incident(incident.kind).contains(&p.provider_type) {
                score += 5.0;
                reasons.push(SuggestionReason::Handles {
                    kind: incident.kind,
                });
            }
            if p.provider_type == ProviderType::GbvRescue {
                score += if incident.urgency_level == UrgencyLevel::Routine {
                    2.0
                } else {
                    8.0
                };
                reasons.push(SuggestionReason::GbvRescue {});
            }
            if score == 0.0 {
                return None;
            }
            let load = p.profile.current_case_load as f64 / p.profile.max_case_load.max(1) as f64;
            score += 3.0 * (1.0 - load) - p.profile.average_response_time_minutes as f64 / 60.0;
            reasons.push(SuggestionReason::Load {
                cases: p.profile.current_case_load,
                max_cases: p.profile.max_case_load,
                answer_minutes: p.profile.average_response_time_minutes,
            });
            Some(ProviderSuggestion {
                provider: p,
                score: (score * 100.0).round() / 100.0,
                reasons,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.provider.full_name.cmp(&b.provider.full_name))
    });
    out
}

/// Providers suggested for a case, best first, with the reasons.
#[utoipa::path(get, path = endpoint::Recommendations::PATH, tag = "dispatch", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Suggestions, best first", body = [ProviderSuggestion]),
        (status = 404, description = "No such case", body = ErrorEnvelope),
    ))]
pub async fn recommendations(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<Vec<ProviderSuggestion>>> {
    user.may::<endpoint::Recommendations>()?;
    let mut conn = state.db.read.acquire().await?;
    let incident = staff_case(&mut conn, id).await?;
    let already: Vec<Uuid> = repo::assignments_of(&mut conn, &[id])
        .await?
        .into_iter()
        .filter(|a| {
            matches!(
                a.status,
                AssignmentStatus::Pending | AssignmentStatus::Accepted
            )
        })
        .map(|a| a.provider_id)
        .collect();
    let providers = repo::directory(&mut conn, None, true)
        .await?
        .into_iter()
        .filter(|p| !already.contains(&p.id))
        .collect();
    Ok(Json(rank(&incident, providers)))
}
