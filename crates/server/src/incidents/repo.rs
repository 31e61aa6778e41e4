//! The `incidents`, `case_counters` and `incident_status_history` tables.

use chrono::{DateTime, NaiveDate, Utc};
use kintara_api::{
    Incident, IncidentCreate, IncidentPatch, IncidentStatus, IncidentType, Location,
    ProviderPreferences, Severity, SupportService, UrgencyLevel,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{get_bool, get_enum, get_json, get_opt_ts, get_ts, get_uuid, ts};

#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub id: Uuid,
    pub case_number: String,
    pub survivor_id: Uuid,
    pub kind: IncidentType,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub urgency_level: UrgencyLevel,
    pub incident_date: NaiveDate,
    pub incident_time: Option<chrono::NaiveTime>,
    pub description: String,
    pub location: Location,
    pub support_services: Vec<SupportService>,
    pub provider_preferences: Option<ProviderPreferences>,
    pub is_anonymous: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, case_number, survivor_id, kind, status, severity, urgency_level, \
    incident_date, incident_time, description, location, support_services, provider_preferences, \
    is_anonymous, created_at, updated_at, deleted_at";

fn decode_err(col: &str, e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: Box::new(e),
    }
}

fn from_row(row: &AnyRow) -> Result<IncidentRow, sqlx::Error> {
    let date: String = row.try_get("incident_date")?;
    let time: Option<String> = row.try_get("incident_time")?;
    let prefs: Option<String> = row.try_get("provider_preferences")?;
    Ok(IncidentRow {
        id: get_uuid(row, "id")?,
        case_number: row.try_get("case_number")?,
        survivor_id: get_uuid(row, "survivor_id")?,
        kind: get_enum(row, "kind", IncidentType::parse)?,
        status: get_enum(row, "status", IncidentStatus::parse)?,
        severity: get_enum(row, "severity", Severity::parse)?,
        urgency_level: get_enum(row, "urgency_level", UrgencyLevel::parse)?,
        incident_date: date.parse().map_err(|e| decode_err("incident_date", e))?,
        incident_time: time
            .map(|t| t.parse().map_err(|e| decode_err("incident_time", e)))
            .transpose()?,
        description: row.try_get("description")?,
        location: get_json(row, "location")?,
        support_services: get_json(row, "support_services")?,
        provider_preferences: prefs
            .map(|p| serde_json::from_str(&p).map_err(|e| decode_err("provider_preferences", e)))
            .transpose()?,
        is_anonymous: get_bool(row, "is_anonymous")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        deleted_at: get_opt_ts(row, "deleted_at")?,
    })
}

impl IncidentRow {
    pub fn to_api(&self) -> Incident {
        Incident {
            id: self.id,
            case_number: self.case_number.clone(),
            kind: self.kind,
            incident_type_display: self.kind.label().to_owned(),
            status: self.status,
            status_display: self.status.label().to_owned(),
            severity: self.severity,
            urgency_level: self.urgency_level,
            incident_date: self.incident_date,
            incident_time: self.incident_time,
            description: self.description.clone(),
            location: self.location.clone(),
            support_services: self.support_services.clone(),
            provider_preferences: self.provider_preferences.clone(),
            is_anonymous: self.is_anonymous,
            date_submitted: self.created_at,
            last_updated: self.updated_at,
            helpers: Vec::new(),
            disclosure: kintara_api::Disclosure::Full,
        }
    }
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("wire types always serialise")
}

/// Issues the next `KIN-YYYYMMDD-NNN` for `day`. Runs inside the creating transaction, so numbers
/// are unique and gap-free per day.
async fn next_case_number(conn: &mut AnyConnection, day: NaiveDate) -> Result<String, sqlx::Error> {
    let key = day.format("%Y%m%d").to_string();
    let n: i64 = sqlx::query(
        "INSERT INTO case_counters (day, last) VALUES ($1, 1) \
         ON CONFLICT (day) DO UPDATE SET last = case_counters.last + 1 RETURNING last",
    )
    .bind(&key)
    .fetch_one(&mut *conn)
    .await?
    .try_get("last")?;
    Ok(format!("KIN-{key}-{n:03}"))
}

/// Files a report. A new report goes straight to the dispatcher queue.
/// The caller's report filed with `client_id`, if any (withdrawn ones included: a retry must not
/// file again what the survivor has since withdrawn).
pub async fn by_client_id(
    conn: &mut AnyConnection,
    survivor_id: Uuid,
    client_id: &str,
) -> Result<Option<IncidentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM incidents WHERE survivor_id = $1 AND client_id = $2");
    let row = sqlx::query(&sql)
        .bind(survivor_id.to_string())
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn insert(
    conn: &mut AnyConnection,
    survivor_id: Uuid,
    new: &IncidentCreate,
) -> Result<IncidentRow, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    let case_number = next_case_number(conn, now.date_naive()).await?;
    let status = IncidentStatus::PendingDispatcherReview;
    sqlx::query(&format!(
        "INSERT INTO incidents ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, NULL)"
    ))
    .bind(id.to_string())
    .bind(&case_number)
    .bind(survivor_id.to_string())
    .bind(new.kind.as_str())
    .bind(status.as_str())
    .bind(new.severity.as_str())
    .bind(new.urgency_level.as_str())
    .bind(new.incident_date.to_string())
    .bind(new.incident_time.map(|t| t.format("%H:%M:%S").to_string()))
    .bind(new.description.trim())
    .bind(json(&new.location))
    .bind(json(&new.support_services))
    .bind(new.provider_preferences.as_ref().map(json))
    .bind(new.is_anonymous as i64)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    if let Some(c) = new.client_id.as_deref().map(str::trim) {
        sqlx::query("UPDATE incidents SET client_id = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(c)
            .execute(&mut *conn)
            .await?;
    }
    record_status(conn, id, None, status, Some(survivor_id), None).await?;
    Ok(find(conn, id).await?.expect("the row was just inserted"))
}

/// The case's status changes, oldest first (the filing row first within one instant).
pub async fn timeline(
    conn: &mut AnyConnection,
    incident: Uuid,
) -> Result<Vec<kintara_api::StatusChange>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT from_status, to_status, reason, created_at FROM incident_status_history \
         WHERE incident_id = $1 \
         ORDER BY created_at, CASE WHEN from_status IS NULL THEN 0 ELSE 1 END",
    )
    .bind(incident.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let from: Option<String> = r.try_get("from_status")?;
            Ok(kintara_api::StatusChange {
                from: from.as_deref().and_then(IncidentStatus::parse),
                to: get_enum(r, "to_status", IncidentStatus::parse)?,
                at: get_ts(r, "created_at")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}

pub async fn record_status(
    conn: &mut AnyConnection,
    incident: Uuid,
    from: Option<IncidentStatus>,
    to: IncidentStatus,
    actor: Option<Uuid>,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO incident_status_history \
         (id, incident_id, from_status, to_status, actor_id, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(incident.to_string())
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(actor.map(|a| a.to_string()))
    .bind(reason)
    .bind(ts(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

/// A live (not deleted) incident by id.
pub async fn find(conn: &mut AnyConnection, id: Uuid) -> Result<Option<IncidentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = $1 AND deleted_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Which incidents a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this survivor's; `None` for all.
    pub survivor: Option<Uuid>,
    pub status: Option<IncidentStatus>,
    pub kind: Option<IncidentType>,
    pub urgency: Option<UrgencyLevel>,
    /// Only those with (`true`) or without (`false`) a live assignment.
    pub assigned: Option<bool>,
    /// `(limit, offset)` for one page; everything when `None`.
    pub window: Option<(i64, i64)>,
}

const LIST_WHERE: &str = "deleted_at IS NULL \
    AND ($1 IS NULL OR survivor_id = $1) AND ($2 IS NULL OR status = $2) \
    AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR urgency_level = $4) \
    AND ($5 IS NULL OR $5 = (CASE WHEN EXISTS (SELECT 1 FROM case_assignments a \
         WHERE a.incident_id = i.id AND a.status IN ('pending', 'accepted')) \
         THEN 1 ELSE 0 END))";

fn bind_list<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    filter: &ListFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(filter.survivor.map(|s| s.to_string()))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.kind.map(|k| k.as_str()))
        .bind(filter.urgency.map(|u| u.as_str()))
        .bind(filter.assigned.map(|a| a as i64))
}

/// How many live incidents match (ignoring the window).
pub async fn count(conn: &mut AnyConnection, filter: &ListFilter) -> Result<i64, sqlx::Error> {
    let sql = format!("SELECT COUNT(*) AS n FROM incidents i WHERE {LIST_WHERE}");
    bind_list(sqlx::query(&sql), filter)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

/// Live incidents, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &ListFilter,
) -> Result<Vec<IncidentRow>, sqlx::Error> {
    // Without a window there is no LIMIT clause at all: SQLite and PostgreSQL spell "no
    // limit" differently.
    let window = if filter.window.is_some() {
        " LIMIT $6 OFFSET $7"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents i WHERE {LIST_WHERE} \
         ORDER BY created_at DESC, case_number DESC{window}"
    );
    let mut q = bind_list(sqlx::query(&sql), filter);
    if let Some((limit, offset)) = filter.window {
        q = q.bind(limit).bind(offset);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Live incidents by id, in the order given (missing ones are skipped).
pub async fn find_many(
    conn: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<Vec<IncidentRow>, sqlx::Error> {
    let mut found = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM incidents WHERE deleted_at IS NULL AND id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let r = from_row(&row)?;
            found.insert(r.id, r);
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

pub async fn update(
    conn: &mut AnyConnection,
    id: Uuid,
    patch: &IncidentPatch,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE incidents SET description = COALESCE($2, description), \
         support_services = COALESCE($3, support_services), \
         provider_preferences = COALESCE($4, provider_preferences), updated_at = $5 \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id.to_string())
    .bind(patch.description.as_deref().map(str::trim))
    .bind(patch.support_services.as_ref().map(json))
    .bind(patch.provider_preferences.as_ref().map(json))
    .bind(ts(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn soft_delete(conn: &mut AnyConnection, id: Uuid) -> Result<(), sqlx::Error> {
    let now = ts(Utc::now());
    sqlx::query("UPDATE incidents SET deleted_at = $2, updated_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
