//! The `evidence` table: metadata only; the bytes live in the encrypted store.

use chrono::{DateTime, Utc};
use kintara_api::{Evidence, EvidenceKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{get_enum, get_ts, get_uuid, ts};

#[derive(Debug, Clone)]
pub struct EvidenceRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub uploaded_by: Uuid,
    pub kind: EvidenceKind,
    pub content_type: String,
    pub file_name: String,
    pub size_bytes: u64,
    pub description: Option<String>,
    /// The uploader's idempotency key, when the upload carried one.
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, incident_id, uploaded_by, kind, content_type, file_name, size_bytes, \
    description, client_id, created_at";

fn from_row(row: &AnyRow) -> Result<EvidenceRow, sqlx::Error> {
    let size: i64 = row.try_get("size_bytes")?;
    Ok(EvidenceRow {
        id: get_uuid(row, "id")?,
        incident_id: get_uuid(row, "incident_id")?,
        uploaded_by: get_uuid(row, "uploaded_by")?,
        kind: get_enum(row, "kind", EvidenceKind::parse)?,
        content_type: row.try_get("content_type")?,
        file_name: row.try_get("file_name")?,
        size_bytes: u64::try_from(size).map_err(|e| sqlx::Error::ColumnDecode {
            index: "size_bytes".into(),
            source: Box::new(e),
        })?,
        description: row.try_get("description")?,
        client_id: row.try_get("client_id")?,
        created_at: get_ts(row, "created_at")?,
    })
}

impl EvidenceRow {
    pub fn to_api(&self) -> Evidence {
        Evidence {
            id: self.id,
            incident_id: self.incident_id,
            kind: self.kind,
            content_type: self.content_type.clone(),
            file_name: self.file_name.clone(),
            size_bytes: self.size_bytes,
            description: self.description.clone(),
            uploaded_by: self.uploaded_by,
            created_at: self.created_at,
        }
    }
}

pub async fn insert(conn: &mut AnyConnection, row: &EvidenceRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO evidence (id, incident_id, uploaded_by, kind, content_type, file_name, \
         size_bytes, description, client_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(row.id.to_string())
    .bind(row.incident_id.to_string())
    .bind(row.uploaded_by.to_string())
    .bind(row.kind.as_str())
    .bind(&row.content_type)
    .bind(&row.file_name)
    // Sizes are at most 50 MiB, far inside i64.
    .bind(row.size_bytes as i64)
    .bind(&row.description)
    .bind(&row.client_id)
    .bind(ts(row.created_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// What `uploader` stored on `incident_id` with `client_id`, if anything. Deleted files count:
/// a late retry must not bring back what was since deleted.
pub async fn by_client_id(
    conn: &mut AnyConnection,
    incident_id: Uuid,
    uploader: Uuid,
    client_id: &str,
) -> Result<Option<EvidenceRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM evidence \
         WHERE incident_id = $1 AND uploaded_by = $2 AND client_id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(incident_id.to_string())
        .bind(uploader.to_string())
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A piece of evidence that has not been deleted.
pub async fn find_live(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<EvidenceRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM evidence WHERE id = $1 AND deleted_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The live evidence of an incident, oldest first.
pub async fn list_live(
    conn: &mut AnyConnection,
    incident_id: Uuid,
) -> Result<Vec<EvidenceRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM evidence WHERE incident_id = $1 AND deleted_at IS NULL \
         ORDER BY created_at, id"
    );
    let rows = sqlx::query(&sql)
        .bind(incident_id.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Marks a piece of evidence deleted; `false` when it already was.
pub async fn soft_delete(
    conn: &mut AnyConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE evidence SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(ts(at))
            .bind(id.to_string())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
