//! Cases as providers and dispatchers see them.

use std::collections::HashMap;

use kintara_api::{Assignment, CaseView};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::repo::{assignments_of, helpers};
use crate::db::get_uuid;
use crate::incidents::repo::IncidentRow;
use crate::incidents::Access;

/// Full names by user id, fetched in chunks.
async fn names(
    conn: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, first_name, last_name FROM users WHERE id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let first: String = row.try_get("first_name")?;
            let last: String = row.try_get("last_name")?;
            out.insert(
                get_uuid(&row, "id")?,
                format!("{first} {last}").trim().to_owned(),
            );
        }
    }
    Ok(out)
}

/// Incidents as survivors see them: with the names and kinds of the providers who accepted.
pub async fn with_helpers(
    conn: &mut AnyConnection,
    rows: &[IncidentRow],
) -> Result<Vec<kintara_api::Incident>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let assignments = assignments_of(conn, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut incident = r.to_api();
            incident.helpers = helpers(&assignments, r.id);
            incident
        })
        .collect())
}

/// Builds the views of `rows` for a viewer; `provider` is set when the viewer is that provider
/// (their own assignment is shown, the survivor's id is not).
pub async fn case_views(
    conn: &mut AnyConnection,
    rows: &[IncidentRow],
    provider: Option<Uuid>,
) -> Result<Vec<CaseView>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let assignments = assignments_of(conn, &ids).await?;
    let survivors: Vec<Uuid> = rows
        .iter()
        .filter(|r| !r.is_anonymous)
        .map(|r| r.survivor_id)
        .collect();
    let names = names(conn, &survivors).await?;
    let mut by_incident: HashMap<Uuid, Vec<Assignment>> = HashMap::new();
    for a in &assignments {
        by_incident
            .entry(a.incident_id)
            .or_default()
            .push(a.clone());
    }
    Ok(rows
        .iter()
        .map(|r| {
            let mut incident = r.to_api();
            incident.helpers = helpers(&assignments, r.id);
            let mine = provider.and_then(|p| {
                by_incident
                    .get(&r.id)?
                    .iter()
                    .rev()
                    .find(|a| a.provider_id == p)
                    .cloned()
            });
            // What this reader may see of it (`incidents::disclosed`): a provider's access
            // follows their own assignment, and a closed case leaves them its record.
            let access = match (provider, mine.as_ref().map(|a| a.status)) {
                (None, _) => Access::Staff,
                _ if r.status == kintara_api::IncidentStatus::Closed => Access::Record,
                (Some(_), Some(kintara_api::AssignmentStatus::Pending)) => {
                    Access::Provider { accepted: false }
                }
                (Some(_), _) => Access::Provider { accepted: true },
            };
            incident = crate::incidents::disclosed(incident, access);
            CaseView {
                incident,
                survivor_id: (provider.is_none() && !r.is_anonymous).then_some(r.survivor_id),
                // An offered provider learns her name when they take the case.
                survivor_name: if access == (Access::Provider { accepted: false }) {
                    String::new()
                } else {
                    crate::naming::shown_name(
                        names.get(&r.survivor_id).map_or("", String::as_str),
                        "",
                        r.is_anonymous,
                    )
                },
                assigned_providers: visible_assignments(
                    by_incident.remove(&r.id).unwrap_or_default(),
                    provider,
                ),
                assignment_status: mine.as_ref().map(|a| a.status),
                assigned_at: mine.map(|a| a.assigned_at),
            }
        })
        .collect())
}

/// Dispatchers see every assignment with its notes and reasons. A provider sees their own, and
/// of their colleagues only who is on the case now: why someone declined or was taken off is
/// between them and the dispatchers.
fn visible_assignments(all: Vec<Assignment>, provider: Option<Uuid>) -> Vec<Assignment> {
    let Some(me) = provider else {
        return all;
    };
    all.into_iter()
        .filter_map(|mut a| {
            if a.provider_id == me {
                return Some(a);
            }
            let live = matches!(
                a.status,
                kintara_api::AssignmentStatus::Pending | kintara_api::AssignmentStatus::Accepted
            );
            live.then(|| {
                a.notes = None;
                a.rejection_reason = None;
                a
            })
        })
        .collect()
}
