//! The `case_assignments` and `provider_profiles` tables.

use chrono::Utc;
use kintara_api::{
    Assignment, AssignmentStatus, CaseHelper, DirectoryProvider, ProviderProfile, ProviderType,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{get_bool, get_enum, get_opt_ts, get_ts, get_uuid, ts};

const ASSIGNMENT_COLUMNS: &str = "a.id, a.incident_id, a.provider_id, a.status, a.assigned_by, \
    a.notes, a.rejection_reason, a.assigned_at, a.responded_at, u.first_name, u.last_name, \
    u.provider_type";

fn assignment_from_row(row: &AnyRow) -> Result<Assignment, sqlx::Error> {
    let by: Option<String> = row.try_get("assigned_by")?;
    let ptype: Option<String> = row.try_get("provider_type")?;
    let first: String = row.try_get("first_name")?;
    let last: String = row.try_get("last_name")?;
    Ok(Assignment {
        id: get_uuid(row, "id")?,
        incident_id: get_uuid(row, "incident_id")?,
        provider_id: get_uuid(row, "provider_id")?,
        provider_name: format!("{first} {last}").trim().to_owned(),
        provider_type: ptype.as_deref().and_then(ProviderType::parse),
        status: get_enum(row, "status", AssignmentStatus::parse)?,
        assigned_by: by.and_then(|b| Uuid::parse_str(&b).ok()),
        assigned_at: get_ts(row, "assigned_at")?,
        responded_at: get_opt_ts(row, "responded_at")?,
        notes: row.try_get("notes")?,
        rejection_reason: row.try_get("rejection_reason")?,
    })
}

pub async fn find_assignment(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<Assignment>, sqlx::Error> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM case_assignments a JOIN users u ON u.id = a.provider_id \
         WHERE a.id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(assignment_from_row).transpose()
}

/// The provider's live (pending or accepted) assignment on the incident.
pub async fn live_assignment(
    conn: &mut AnyConnection,
    incident: Uuid,
    provider: Uuid,
) -> Result<Option<Assignment>, sqlx::Error> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM case_assignments a JOIN users u ON u.id = a.provider_id \
         WHERE a.incident_id = $1 AND a.provider_id = $2 AND a.status IN ('pending', 'accepted')"
    );
    let row = sqlx::query(&sql)
        .bind(incident.to_string())
        .bind(provider.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(assignment_from_row).transpose()
}

/// Every assignment of the given incidents, oldest first. Ids go in chunks to stay under the
/// databases' parameter limits.
pub async fn assignments_of(
    conn: &mut AnyConnection,
    incidents: &[Uuid],
) -> Result<Vec<Assignment>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in incidents.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM case_assignments a \
             JOIN users u ON u.id = a.provider_id WHERE a.incident_id IN ({}) \
             ORDER BY a.assigned_at",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(assignment_from_row(&row)?);
        }
    }
    Ok(out)
}

/// The accepted providers of an assignment list, as a survivor may see them.
pub fn helpers(assignments: &[Assignment], incident: Uuid) -> Vec<CaseHelper> {
    assignments
        .iter()
        .filter(|a| a.incident_id == incident && a.status == AssignmentStatus::Accepted)
        .map(|a| CaseHelper {
            name: a.provider_name.clone(),
            provider_type: a.provider_type,
            provider_type_display: a.provider_type.map(|p| p.label().to_owned()),
        })
        .collect()
}

pub async fn insert_assignment(
    conn: &mut AnyConnection,
    incident: Uuid,
    provider: Uuid,
    by: Option<Uuid>,
    notes: Option<&str>,
) -> Result<Assignment, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO case_assignments (id, incident_id, provider_id, status, assigned_by, notes, \
         assigned_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(incident.to_string())
    .bind(provider.to_string())
    .bind(by.map(|b| b.to_string()))
    .bind(notes)
    .bind(ts(Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(find_assignment(conn, id)
        .await?
        .expect("the row was just inserted"))
}

/// Moves an assignment from `from` to `to` if it is still in `from`; false if someone else moved
/// it first.
pub async fn set_assignment_status(
    conn: &mut AnyConnection,
    id: Uuid,
    from: &[AssignmentStatus],
    to: AssignmentStatus,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "UPDATE case_assignments SET status = $2, responded_at = $3, \
         rejection_reason = COALESCE($4, rejection_reason) \
         WHERE id = $1 AND status IN ({})",
        allowed.join(", ")
    );
    let done = sqlx::query(&sql)
        .bind(id.to_string())
        .bind(to.as_str())
        .bind(ts(Utc::now()))
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes one slot of the provider's case load, if they are available and below their maximum.
pub async fn take_slot(conn: &mut AnyConnection, provider: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE provider_profiles SET current_case_load = current_case_load + 1 \
         WHERE user_id = $1 AND is_currently_available = 1 \
         AND current_case_load < max_case_load",
    )
    .bind(provider.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release_slot(conn: &mut AnyConnection, provider: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE provider_profiles SET current_case_load = current_case_load - 1 \
         WHERE user_id = $1 AND current_case_load > 0",
    )
    .bind(provider.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a slot of the best available GBV rescue provider: lowest load, then fastest average
/// response. Tries the next one if another transaction took the slot first.
pub async fn take_rescue_slot(conn: &mut AnyConnection) -> Result<Option<Uuid>, sqlx::Error> {
    let candidates = sqlx::query(
        "SELECT p.user_id FROM provider_profiles p JOIN users u ON u.id = p.user_id \
         WHERE u.provider_type = 'gbv_rescue' AND u.account_state = 'active' \
         AND p.is_currently_available = 1 AND p.current_case_load < p.max_case_load \
         ORDER BY p.current_case_load, p.avg_response_minutes, u.created_at LIMIT 5",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in candidates {
        let id = get_uuid(&row, "user_id")?;
        if take_slot(conn, id).await? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

const DIRECTORY_COLUMNS: &str = "u.id, u.email, u.first_name, u.last_name, u.provider_type, \
    p.is_currently_available, p.current_case_load, p.max_case_load, p.avg_response_minutes, \
    (SELECT COUNT(*) FROM case_assignments a WHERE a.provider_id = u.id \
        AND a.status = 'accepted') AS accepted_count, \
    (SELECT COUNT(*) FROM case_assignments a WHERE a.provider_id = u.id \
        AND a.status IN ('accepted', 'rejected')) AS answered_count";

fn directory_from_row(row: &AnyRow) -> Result<DirectoryProvider, sqlx::Error> {
    let first: String = row.try_get("first_name")?;
    let last: String = row.try_get("last_name")?;
    let ptype = get_enum(row, "provider_type", ProviderType::parse)?;
    let accepted: i64 = row.try_get("accepted_count")?;
    let answered: i64 = row.try_get("answered_count")?;
    Ok(DirectoryProvider {
        id: get_uuid(row, "id")?,
        email: row.try_get("email")?,
        full_name: format!("{first} {last}").trim().to_owned(),
        first_name: first,
        last_name: last,
        provider_type: ptype,
        provider_type_display: ptype.label().to_owned(),
        profile: ProviderProfile {
            is_currently_available: get_bool(row, "is_currently_available")?,
            current_case_load: row.try_get("current_case_load")?,
            max_case_load: row.try_get("max_case_load")?,
            average_response_time_minutes: row.try_get("avg_response_minutes")?,
            acceptance_rate: (answered > 0).then(|| accepted as f64 / answered as f64),
        },
    })
}

/// One provider's own entry, whatever their account's state (they see their availability while
/// awaiting verification too).
pub async fn entry(
    conn: &mut AnyConnection,
    provider: Uuid,
) -> Result<Option<DirectoryProvider>, sqlx::Error> {
    let sql = format!(
        "SELECT {DIRECTORY_COLUMNS} FROM users u JOIN provider_profiles p ON p.user_id = u.id \
         WHERE u.id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(provider.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(directory_from_row).transpose()
}

/// Verified, active providers, optionally of one type or only those who can take a case now.
pub async fn directory(
    conn: &mut AnyConnection,
    provider_type: Option<ProviderType>,
    available_only: bool,
) -> Result<Vec<DirectoryProvider>, sqlx::Error> {
    let sql = format!(
        "SELECT {DIRECTORY_COLUMNS} FROM users u JOIN provider_profiles p ON p.user_id = u.id \
         WHERE u.role = 'provider' AND u.account_state = 'active' AND ($1 IS NULL OR u.provider_type = $1) \
         AND ($2 = 0 OR (p.is_currently_available = 1 AND p.current_case_load < p.max_case_load)) \
         ORDER BY u.provider_type, u.last_name, u.first_name"
    );
    let rows = sqlx::query(&sql)
        .bind(provider_type.map(|p| p.as_str()))
        .bind(available_only as i64)
        .fetch_all(conn)
        .await?;
    rows.iter().map(directory_from_row).collect()
}

pub async fn set_availability(
    conn: &mut AnyConnection,
    provider: Uuid,
    available: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE provider_profiles SET is_currently_available = $2 WHERE user_id = $1")
        .bind(provider.to_string())
        .bind(available as i64)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records how long the provider took to answer, on the assignment (for the dashboard's
/// average) and in their running average (an exponential moving average, so recent behaviour
/// counts most; it orders automatic assignment).
pub async fn record_answer(
    conn: &mut AnyConnection,
    assignment: &Assignment,
) -> Result<(), sqlx::Error> {
    let seconds = (Utc::now() - assignment.assigned_at).num_seconds().max(0);
    sqlx::query("UPDATE case_assignments SET response_seconds = $2 WHERE id = $1")
        .bind(assignment.id.to_string())
        .bind(seconds)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE provider_profiles SET avg_response_minutes = (avg_response_minutes * 4 + $2) / 5 \
         WHERE user_id = $1",
    )
    .bind(assignment.provider_id.to_string())
    .bind(seconds / 60)
    .execute(conn)
    .await?;
    Ok(())
}
