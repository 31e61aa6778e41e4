//! Survivors' reports: storage, who may see them, and the `incidents/*` endpoints.

pub mod handlers;
pub mod repo;

use kintara_api::{IncidentStatus, Role};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use repo::IncidentRow;

/// How the caller stands to an incident. Whoever has none gets "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The survivor who filed it.
    Owner,
    /// A dispatcher or admin.
    Staff,
    /// A provider with a live assignment; `accepted` once they took the case.
    Provider { accepted: bool },
    /// A provider who worked a case that is now closed: they keep its record (number, type,
    /// urgency, dates, status and timeline, their own assignment), not its content (what
    /// happened, where, how to reach her, its evidence and conversation).
    Record,
}

/// What a provider keeps of a closed case: `incident` without its content.
pub fn as_record(mut incident: kintara_api::Incident) -> kintara_api::Incident {
    incident.description = String::new();
    incident.location = kintara_api::Location::default();
    incident.incident_time = None;
    incident.provider_preferences = None;
    incident.disclosure = kintara_api::Disclosure::Record;
    incident
}

/// What a provider offered the case sees before answering: enough to decide (the kind of case,
/// its severity and urgency, the help asked for, the area within about 11 km, whom she would
/// rather see) and nothing that finds or reaches her (what she wrote, the address, the place,
/// the time, how to contact her). Her name is withheld in the case views.
pub fn as_offer(mut incident: kintara_api::Incident) -> kintara_api::Incident {
    let step = kintara_api::OFFER_COORDINATE_STEP;
    let rough = |v: f64| (v / step).round() * step;
    incident.description = String::new();
    incident.location = kintara_api::Location {
        address: String::new(),
        coordinates: incident
            .location
            .coordinates
            .map(|c| kintara_api::Coordinates {
                latitude: rough(c.latitude),
                longitude: rough(c.longitude),
            }),
        description: None,
    };
    incident.incident_time = None;
    if let Some(p) = incident.provider_preferences.as_mut() {
        p.communication_method = None;
    }
    incident.disclosure = kintara_api::Disclosure::Offer;
    incident
}

/// `incident` as a reader with `access` may see it.
pub fn disclosed(incident: kintara_api::Incident, access: Access) -> kintara_api::Incident {
    match access {
        Access::Owner | Access::Staff | Access::Provider { accepted: true } => incident,
        Access::Provider { accepted: false } => as_offer(incident),
        Access::Record => as_record(incident),
    }
}

/// The caller's access to `incident`, if any.
pub async fn access(
    conn: &mut AnyConnection,
    user: &AuthUser,
    incident: &IncidentRow,
) -> Result<Option<Access>, sqlx::Error> {
    Ok(match user.role {
        Role::Dispatcher | Role::Admin => Some(Access::Staff),
        Role::Survivor => (incident.survivor_id == user.id).then_some(Access::Owner),
        Role::Provider => {
            let row = sqlx::query(
                "SELECT status FROM case_assignments WHERE incident_id = $1 AND provider_id = $2 \
                 AND status IN ('pending', 'accepted')",
            )
            .bind(incident.id.to_string())
            .bind(user.id.to_string())
            .fetch_optional(conn)
            .await?;
            match row {
                Some(r) => {
                    let status: String = r.try_get("status")?;
                    let accepted = status == "accepted";
                    Some(if accepted && incident.status == IncidentStatus::Closed {
                        Access::Record
                    } else {
                        Access::Provider { accepted }
                    })
                }
                None => None,
            }
        }
    })
}

/// Loads a live incident the caller may read, with how they stand to it; "not found" otherwise.
pub async fn readable(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<(IncidentRow, Access)> {
    let row = repo::find(conn, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = access(conn, user, &row)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((row, access))
}
