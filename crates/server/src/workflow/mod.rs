//! The case workflow, enforced here and only here:
//!
//! ```text
//! incident:   new → pending_dispatcher_review → assigned → in_progress → completed ⇄ closed
//!                         ↑                         │  ↑          │
//!                         └── every provider ───────┘  └─ reassign┘
//!                             rejected or withdrawn
//! assignment: pending → accepted | rejected;  pending | accepted → withdrawn (reassign)
//! ```
//!
//! A provider's case load counts their pending and accepted assignments; taking a slot is a
//! conditional update, so two dispatchers racing for a provider's last slot cannot both win.

pub mod dispatch;
pub mod provider;
pub mod repo;
pub mod views;

use kintara_api::{
    CaseAssignedEvent, CaseUpdatedEvent, Event, IncidentStatus, IncidentUpdatedEvent, UrgencyLevel,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::incidents::repo::{record_status, IncidentRow};
use crate::notifications::{self, Cause};
use kintara_api::Refusal;

/// The legal moves of an incident's status.
pub fn allowed(from: IncidentStatus, to: IncidentStatus) -> bool {
    use IncidentStatus::*;
    matches!(
        (from, to),
        (New, PendingDispatcherReview)
            | (PendingDispatcherReview, Assigned)
            | (Assigned, InProgress)
            | (Assigned, PendingDispatcherReview)
            | (InProgress, Assigned)
            | (InProgress, Completed)
            | (Completed, Closed)
            | (Closed, Completed)
    )
}

/// Takes the case's providers out of its conversation (closed: they keep only the case's
/// record), or puts its accepted providers back (reopened).
pub async fn providers_in_room(
    conn: &mut AnyConnection,
    incident: Uuid,
    present: bool,
) -> Result<(), sqlx::Error> {
    let query = if present {
        sqlx::query(
            "INSERT INTO conversation_participants (conversation_id, user_id, joined_at) \
             SELECT c.id, a.provider_id, $2 FROM conversations c \
             JOIN case_assignments a ON a.incident_id = c.incident_id \
             WHERE c.incident_id = $1 AND a.status = 'accepted' \
             ON CONFLICT (conversation_id, user_id) DO NOTHING",
        )
        .bind(incident.to_string())
        .bind(crate::db::ts(chrono::Utc::now()))
    } else {
        sqlx::query(
            "DELETE FROM conversation_participants \
             WHERE conversation_id IN (SELECT id FROM conversations WHERE incident_id = $1) \
             AND user_id IN (SELECT provider_id FROM case_assignments WHERE incident_id = $1)",
        )
        .bind(incident.to_string())
    };
    query.execute(conn).await?;
    Ok(())
}

/// A closed case's conversation is read-only; reopening makes it writable again.
pub async fn set_rooms_writable(
    conn: &mut AnyConnection,
    incident: Uuid,
    writable: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE conversations SET is_active = $2, updated_at = $3 WHERE incident_id = $1")
        .bind(incident.to_string())
        .bind(writable as i64)
        .bind(crate::db::ts(chrono::Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves `incident` from `from` to `to`, recording who and why. Refused with 409 when the move is
/// not in the workflow or the incident is no longer in `from` (someone else moved it first).
pub async fn transition(
    conn: &mut AnyConnection,
    incident: Uuid,
    from: IncidentStatus,
    to: IncidentStatus,
    actor: Option<Uuid>,
    reason: Option<&str>,
) -> ApiResult<()> {
    if !allowed(from, to) {
        return Err(illegal(from, to));
    }
    let moved = sqlx::query(
        "UPDATE incidents SET status = $3, updated_at = $4 \
         WHERE id = $1 AND status = $2 AND deleted_at IS NULL",
    )
    .bind(incident.to_string())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(crate::db::ts(chrono::Utc::now()))
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(ApiError::from(Refusal::CaseChanged {}));
    }
    record_status(conn, incident, Some(from), to, actor, reason).await?;
    announce_status(conn, incident, to).await?;
    announce_incident(conn, incident, Audience::Staff).await?;
    Ok(())
}

/// Who hears of a change to a case with `incident_updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Dispatchers: their queue and dashboard follow every case.
    Staff,
    /// Staff, plus the survivor's other devices and the providers working on it (the report
    /// itself changed).
    Everyone,
}

/// `incident_updated` ("refetch this case") with the id, case number, status and urgency, never
/// the report's content. In the transaction of the change.
pub async fn announce_incident(
    conn: &mut AnyConnection,
    incident: Uuid,
    audience: Audience,
) -> ApiResult<()> {
    let row = crate::incidents::repo::find(conn, incident)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let event = Event::IncidentUpdated(IncidentUpdatedEvent {
        incident_id: incident,
        case_number: row.case_number,
        status: row.status,
        urgency_level: row.urgency_level,
    });
    let mut people = crate::notifications::dispatchers(conn).await?;
    if audience == Audience::Everyone {
        people.push(row.survivor_id);
        people.extend(live_providers(conn, incident).await?);
    }
    events::append_all(conn, people, &event).await?;
    Ok(())
}

/// `case_updated` for the survivor and every provider with a live assignment, in the same
/// transaction. The survivor's frame is shown on her device: it carries the id, the status and
/// the case number, never more (no description, no provider).
async fn announce_status(
    conn: &mut AnyConnection,
    incident: Uuid,
    to: IncidentStatus,
) -> ApiResult<()> {
    let row = crate::incidents::repo::find(conn, incident)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let event = Event::CaseUpdated(CaseUpdatedEvent {
        incident_id: incident,
        status: to,
        case_number: row.case_number,
    });
    let providers = live_providers(conn, incident).await?;
    let people = std::iter::once(row.survivor_id).chain(providers);
    events::append_all(conn, people, &event).await?;
    Ok(())
}

/// The providers whose assignment on `incident` is pending or accepted: who hears of its changes.
async fn live_providers(conn: &mut AnyConnection, incident: Uuid) -> ApiResult<Vec<Uuid>> {
    use kintara_api::AssignmentStatus::{Accepted, Pending};
    Ok(repo::assignments_of(conn, &[incident])
        .await?
        .into_iter()
        .filter(|a| matches!(a.status, Pending | Accepted))
        .map(|a| a.provider_id)
        .collect())
}

/// `case_assigned` for the provider who was just offered the case (before its notification, so
/// the frames arrive in that order).
pub async fn announce_assignment(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
    provider: Uuid,
) -> ApiResult<()> {
    let event = Event::CaseAssigned(CaseAssignedEvent {
        incident_id: incident.id,
        case_number: incident.case_number.clone(),
        urgency_level: incident.urgency_level,
    });
    events::append(conn, provider, &event).await?;
    Ok(())
}

pub fn illegal(from: IncidentStatus, to: IncidentStatus) -> ApiError {
    Refusal::IllegalTransition { from, to }.into()
}

/// How many of one survivor's urgent reports may hold rescue providers at once. Past this her
/// next urgent report is not lost or refused: a dispatcher sees it first. One account filing
/// report after report cannot take every rescue team from the next genuine emergency.
pub const MAX_ROUTED_URGENT_PER_SURVIVOR: i64 = 2;

/// The survivor's other urgent or immediate reports that a provider holds now.
async fn routed_urgent_open(conn: &mut AnyConnection, incident: &IncidentRow) -> ApiResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM incidents WHERE survivor_id = $1 AND id <> $2 \
         AND deleted_at IS NULL AND urgency_level IN ('urgent', 'immediate') \
         AND status IN ('assigned', 'in_progress')",
    )
    .bind(incident.survivor_id.to_string())
    .bind(incident.id.to_string())
    .fetch_one(conn)
    .await?)
}

/// Routes a new report: urgent and immediate ones go straight to the available GBV rescue
/// provider with the lowest load (then the fastest average response); everything else, and
/// urgent ones when nobody is free, waits in the dispatcher queue. Runs in the filing
/// transaction, and notifies in it too.
pub async fn route_new(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
) -> ApiResult<IncidentStatus> {
    let provider = if incident.urgency_level == UrgencyLevel::Routine
        || routed_urgent_open(conn, incident).await? >= MAX_ROUTED_URGENT_PER_SURVIVOR
    {
        None
    } else {
        repo::take_rescue_slot(conn).await?
    };
    let Some(provider) = provider else {
        announce_incident(conn, incident.id, Audience::Staff).await?;
        notifications::notify(conn, Cause::IncidentCreated(incident)).await?;
        return Ok(incident.status);
    };
    // The move first, then the offer: the provider's first frame is `case_assigned`, not a
    // `case_updated` about a case they have not seen yet.
    transition(
        conn,
        incident.id,
        IncidentStatus::PendingDispatcherReview,
        IncidentStatus::Assigned,
        None,
        Some("automatic assignment of an urgent case"),
    )
    .await?;
    repo::insert_assignment(conn, incident.id, provider, None, None).await?;
    let routed = crate::incidents::repo::find(conn, incident.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    announce_assignment(conn, &routed, provider).await?;
    notifications::notify(conn, Cause::IncidentCreated(&routed)).await?;
    notifications::notify(
        conn,
        Cause::CaseAssigned {
            incident: &routed,
            provider,
        },
    )
    .await?;
    Ok(IncidentStatus::Assigned)
}

/// Withdraws every live assignment of an incident and frees the providers' slots (the survivor
/// withdrew the report).
pub async fn withdraw_all(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
    reason: &str,
) -> ApiResult<()> {
    use kintara_api::AssignmentStatus::{Accepted, Pending, Withdrawn};
    // A finished case's assignments are its history; their slots were freed at completion.
    if matches!(
        incident.status,
        IncidentStatus::Completed | IncidentStatus::Closed
    ) {
        return Ok(());
    }
    let incident = incident.id;
    for a in repo::assignments_of(conn, &[incident]).await? {
        if matches!(a.status, Pending | Accepted)
            && repo::set_assignment_status(
                conn,
                a.id,
                &[Pending, Accepted],
                Withdrawn,
                Some(reason),
            )
            .await?
        {
            repo::release_slot(conn, a.provider_id).await?;
        }
    }
    Ok(())
}

/// Takes every live case from a provider whose account was suspended or disabled: each offer
/// and acceptance is withdrawn with `reason` and its slot freed; a case left with nobody goes
/// back to the dispatchers' queue, so no survivor's report waits on someone who cannot answer.
/// Returns the cases touched.
pub async fn withdraw_provider(
    conn: &mut AnyConnection,
    provider: Uuid,
    actor: Uuid,
    reason: &str,
) -> ApiResult<Vec<Uuid>> {
    use kintara_api::AssignmentStatus::{Accepted, Pending, Withdrawn};
    let live: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, incident_id FROM case_assignments \
         WHERE provider_id = $1 AND status IN ('pending', 'accepted')",
    )
    .bind(provider.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut touched = Vec::new();
    for (assignment, incident) in live {
        let (Ok(assignment), Ok(incident)) = (assignment.parse(), incident.parse::<Uuid>()) else {
            continue;
        };
        if !repo::set_assignment_status(
            conn,
            assignment,
            &[Pending, Accepted],
            Withdrawn,
            Some(reason),
        )
        .await?
        {
            continue;
        }
        repo::release_slot(conn, provider).await?;
        touched.push(incident);
        let Some(row) = crate::incidents::repo::find(conn, incident).await? else {
            continue;
        };
        let left = repo::assignments_of(conn, &[incident]).await?;
        let accepted_left = left.iter().any(|a| a.status == Accepted);
        if row.status == IncidentStatus::InProgress && !accepted_left {
            transition(
                conn,
                incident,
                IncidentStatus::InProgress,
                IncidentStatus::Assigned,
                Some(actor),
                Some(reason),
            )
            .await?;
        }
        let row = crate::incidents::repo::find(conn, incident)
            .await?
            .ok_or_else(ApiError::not_found)?;
        provider::back_to_queue_if_unassigned(conn, &row, Some(actor), reason).await?;
        announce_incident(conn, incident, Audience::Staff).await?;
    }
    Ok(touched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn only_the_workflow_moves_are_allowed() {
        let all = IncidentStatus::ALL;
        let legal: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| allowed(*a, *b))
            .collect();
        assert_eq!(legal.len(), 8);
        assert!(
            !allowed(Closed, InProgress),
            "a closed case is only ever reopened as completed"
        );
        assert!(!allowed(PendingDispatcherReview, Completed), "no skipping");
        assert!(!allowed(Completed, InProgress));
    }
}
