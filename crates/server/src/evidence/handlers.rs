//! `incidents/{id}/evidence/` and `evidence/{id}/*` endpoints.
//!
//! Uploads are streamed: each multipart chunk is sealed and written as it arrives, so a 50 MB
//! recording never sits in memory. The type is decided from the first bytes, the size limit of
//! that type is enforced while streaming, and the row is written only once the sealed file is
//! complete. A refused upload leaves nothing: no row, no file, no part file.

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use futures_util::{stream, StreamExt, TryStreamExt};
use kintara_api::endpoint;
use kintara_api::{
    evidence_description, ErrorEnvelope, Evidence, EvidenceKind, FieldErrors, IncidentStatus,
    MAX_CLIENT_ID, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_DESCRIPTION, MAX_EVIDENCE_FILE_NAME,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo::{self, EvidenceRow};
use super::sniff::{sniff, Sniffed, SNIFF_LEN};
use super::store::{EvidenceStore, StoreError, Upload};
use super::{may_see, may_upload};
use crate::auth::AuthUser;
use crate::client_addr::ClientAddr;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::extract::IdPath;
use crate::incidents::repo::IncidentRow;
use crate::incidents::{readable, Access};
use crate::limits::Action;
use crate::state::AppState;
use kintara_api::FieldError;
use kintara_api::Refusal;

/// The multipart form of an upload. Documentation only: the handler reads the parts as a stream.
#[derive(ToSchema)]
pub struct EvidenceUploadForm {
    /// A photo (JPEG, PNG, WebP, HEIC/HEIF, GIF; at most 10 MB), a recording (MP3, M4A/MP4,
    /// AAC, Ogg/Opus, WAV, WebM, AMR, 3GP; at most 50 MB) or a document (PDF, DOCX, ODT; at
    /// most 20 MB). The type is read from the content; the name and declared type are ignored.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// What this is, at most 1000 characters.
    pub description: Option<String>,
    /// The uploader's id for this file (at most 64 characters; the app's outbox gives every
    /// attachment one): a retry with the same id on the same case returns the first stored file
    /// (200) instead of storing a copy. Send it before `file`.
    pub client_id: Option<String>,
}

/// The raw bytes of a file (documentation only).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// Add a photo, voice recording or document to a case (the survivor who filed it, or a provider
/// who accepted it). Stored encrypted.
#[utoipa::path(post, path = endpoint::UploadEvidence::PATH, tag = "evidence",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    request_body(content = inline(EvidenceUploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = Evidence),
        (status = 200, description = "Already stored with this client_id: the first file (nothing new is stored)", body = Evidence),
        (status = 400, description = "The body is not readable multipart", body = ErrorEnvelope),
        (status = 403, description = "Dispatchers, and providers who have not accepted the case, do not add evidence", body = ErrorEnvelope),
        (status = 404, description = "No such incident, or not yours", body = ErrorEnvelope),
        (status = 409, description = "The case is closed", body = ErrorEnvelope),
        (status = 413, description = "Larger than the limit of its kind", body = ErrorEnvelope),
        (status = 415, description = "Not an accepted photo, recording or document (judged by content), or not multipart", body = ErrorEnvelope),
        (status = 422, description = "No file, an empty file, a description too long, or a blank or too long client_id", body = ErrorEnvelope),
        (status = 429, description = "The caller has as many uploads running as allowed; `Retry-After` says when to try again", body = ErrorEnvelope),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    ClientAddr(addr): ClientAddr,
    IdPath(incident_id): IdPath,
    request: Request,
) -> ApiResult<(StatusCode, Json<Evidence>)> {
    state.limits.account(Action::Upload, user.id, addr)?;
    // Refused before a byte of the body is read; the connection goes back to the pool before a
    // possibly long upload.
    {
        let mut conn = state.db.read.acquire().await?;
        let (incident, access) = readable(&mut conn, &user, incident_id).await?;
        check_upload(&incident, access)?;
    }
    // Held until the answer: a client hanging up frees it with the dropped handler.
    let _slot = state.evidence.uploads().take(user.id)?;
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|_| {
            ApiError::from(Refusal::UnsupportedMediaType {
                expected: "multipart/form-data with a `file` field".into(),
            })
        })?;
    let form = read_form(&state.evidence, &mut multipart).await?;
    // The body has been read in full. Finishing runs in its own task so that a client hanging up
    // now cannot stop it halfway, between the file and its row.
    let task = tokio::spawn(commit(state.clone(), user, incident_id, form));
    let (status, evidence) = task.await.map_err(ApiError::internal)??;
    Ok((status, Json(evidence)))
}

/// Refuses a file that would take a case's evidence past [`super::MAX_CASE_EVIDENCE_BYTES`], or
/// one account's uploads past [`super::MAX_ACCOUNT_EVIDENCE_BYTES`]: nobody fills the disk.
async fn check_quota(
    conn: &mut sqlx::AnyConnection,
    incident: Uuid,
    user: Uuid,
    size: u64,
) -> ApiResult<()> {
    let (case, mine): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN incident_id = $1 THEN size_bytes ELSE 0 END), 0) \
         AS BIGINT), CAST(COALESCE(SUM(CASE WHEN uploaded_by = $2 THEN size_bytes ELSE 0 END), \
         0) AS BIGINT) FROM evidence \
         WHERE (incident_id = $1 OR uploaded_by = $2) AND deleted_at IS NULL",
    )
    .bind(incident.to_string())
    .bind(user.to_string())
    .fetch_one(&mut *conn)
    .await?;
    for (used, max) in [
        (case, super::MAX_CASE_EVIDENCE_BYTES),
        (mine, super::MAX_ACCOUNT_EVIDENCE_BYTES),
    ] {
        if (used.max(0) as u64).saturating_add(size) > max {
            return Err(ApiError::from(Refusal::EvidenceQuotaFull {
                max_bytes: max,
            }));
        }
    }
    Ok(())
}

fn check_upload(incident: &IncidentRow, access: Access) -> ApiResult<()> {
    may_upload(access)?;
    if incident.status == IncidentStatus::Closed {
        return Err(ApiError::from(Refusal::CaseClosed {}));
    }
    Ok(())
}

/// A complete, valid upload whose sealed file is still a part file.
struct Form {
    upload: Upload,
    sniffed: Sniffed,
    file_name: String,
    description: Option<String>,
    client_id: Option<String>,
}

/// Reads every part. After the first refusal the rest of the body is still read (and dropped),
/// so the client reads our answer instead of a connection reset mid-send; the route's body limit
/// bounds how much that can be.
async fn read_form(store: &EvidenceStore, multipart: &mut Multipart) -> ApiResult<Form> {
    let mut file: Option<(Upload, Sniffed, String)> = None;
    let mut description: Option<Option<String>> = None;
    let mut client_id: Option<String> = None;
    let mut errors = FieldErrors::default();
    let mut refusal: Option<ApiError> = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(refusal.unwrap_or_else(|| multipart_error(e))),
        };
        if refusal.is_none() {
            let name = field.name().map(str::to_owned);
            let outcome = match name.as_deref() {
                Some("file") if file.is_some() => {
                    errors.add("file", FieldError::OnlyOne {});
                    Ok(())
                }
                Some("file") => receive_file(store, &mut field)
                    .await
                    .map(|received| file = Some(received)),
                Some("description") if description.is_some() => {
                    errors.add("description", FieldError::OnlyOne {});
                    Ok(())
                }
                Some("description") => read_description(&mut field).await.map(|d| match d {
                    Ok(d) => description = Some(d),
                    Err(e) => errors.add("description", e),
                }),
                Some("client_id") if client_id.is_some() => {
                    errors.add("client_id", FieldError::OnlyOne {});
                    Ok(())
                }
                Some("client_id") => read_client_id(&mut field).await.map(|c| match c {
                    Ok(c) => client_id = Some(c),
                    Err(e) => errors.add("client_id", e),
                }),
                // Only the documented parts: a misspelt `client_id` must not quietly store a
                // second copy on a retry.
                other => {
                    let detail = "not a part of this form".to_owned();
                    errors.add(
                        other.unwrap_or("non_field_errors"),
                        FieldError::Invalid { detail },
                    );
                    Ok(())
                }
            };
            if let Err(e) = outcome {
                refusal = Some(e);
                // Nothing of a refused file is kept.
                file = None;
            }
        }
        if let Err(e) = drain(&mut field).await {
            return Err(refusal.unwrap_or_else(|| multipart_error(e)));
        }
    }
    if let Some(e) = refusal {
        return Err(e);
    }
    if file.is_none() && !errors.0.contains_key("file") {
        errors.add("file", FieldError::Required {});
    }
    errors.into_result().map_err(ApiError::validation)?;
    let (upload, sniffed, file_name) =
        file.ok_or_else(|| ApiError::field("file", FieldError::Required {}))?;
    Ok(Form {
        upload,
        sniffed,
        file_name,
        description: description.flatten(),
        client_id,
    })
}

/// Streams the `file` part into a new sealed part file, enforcing the limit of its kind.
async fn receive_file(
    store: &EvidenceStore,
    field: &mut Field<'_>,
) -> ApiResult<(Upload, Sniffed, String)> {
    let raw_name = field.file_name().map(str::to_owned);
    // The first bytes are held back until there are enough to tell the type.
    let mut head = Vec::new();
    let mut open: Option<(Upload, Sniffed)> = None;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        match open.as_mut() {
            Some((upload, sniffed)) => {
                within_limit(sniffed.kind, upload.size() + chunk.len() as u64)?;
                upload.write(&chunk).await.map_err(ApiError::internal)?;
            }
            None => {
                head.extend_from_slice(&chunk);
                if head.len() >= SNIFF_LEN {
                    open = Some(begin(store, &head).await?);
                    head = Vec::new();
                }
            }
        }
    }
    let (upload, sniffed) = match open {
        Some(open) => open,
        None if head.is_empty() => return Err(ApiError::field("file", FieldError::FileEmpty {})),
        None => begin(store, &head).await?,
    };
    let name = clean_file_name(raw_name.as_deref().unwrap_or_default(), sniffed.extension);
    Ok((upload, sniffed, name))
}

async fn begin(store: &EvidenceStore, head: &[u8]) -> ApiResult<(Upload, Sniffed)> {
    let sniffed = sniff(head).ok_or_else(|| ApiError::from(Refusal::UnsupportedFileType {}))?;
    within_limit(sniffed.kind, head.len() as u64)?;
    let mut upload = store
        .create(Uuid::new_v4())
        .await
        .map_err(ApiError::internal)?;
    upload.write(head).await.map_err(ApiError::internal)?;
    Ok((upload, sniffed))
}

fn within_limit(kind: EvidenceKind, size: u64) -> ApiResult<()> {
    if size <= kind.max_bytes() {
        return Ok(());
    }
    Err(ApiError::from(Refusal::FileTooLarge {
        kind,
        max_bytes: kind.max_bytes(),
    }))
}

/// The description part, read with a bound (a part can be any size). The outer error is the
/// stream's; the inner one the field's error.
async fn read_description(field: &mut Field<'_>) -> ApiResult<Result<Option<String>, FieldError>> {
    // Enough bytes for the longest allowed text in any script, plus surrounding whitespace.
    let max_bytes = MAX_EVIDENCE_DESCRIPTION * 4 + 256;
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Ok(Err(FieldError::TooLong {
                max: MAX_EVIDENCE_DESCRIPTION,
            }));
        }
        bytes.extend_from_slice(&chunk);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(evidence_description(&text)),
        Err(_) => Ok(Err(not_text())),
    }
}

/// The `client_id` part: non-blank, at most `MAX_CLIENT_ID` characters, read with a bound.
async fn read_client_id(field: &mut Field<'_>) -> ApiResult<Result<String, FieldError>> {
    let max_bytes = MAX_CLIENT_ID * 4 + 256;
    let too_long = || FieldError::TooLong { max: MAX_CLIENT_ID };
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Ok(Err(too_long()));
        }
        bytes.extend_from_slice(&chunk);
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Err(not_text()));
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Err(FieldError::Blank {}));
    }
    if trimmed.chars().count() > MAX_CLIENT_ID {
        return Ok(Err(too_long()));
    }
    Ok(Ok(trimmed.to_owned()))
}

fn not_text() -> FieldError {
    FieldError::Invalid {
        detail: "not UTF-8 text".into(),
    }
}

async fn drain(field: &mut Field<'_>) -> Result<(), MultipartError> {
    while field.chunk().await?.is_some() {}
    Ok(())
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::from(Refusal::PayloadTooLarge {
            max_bytes: MAX_EVIDENCE_BYTES,
        })
    } else {
        // Also a client that hung up mid-send: its fault, never a 500.
        ApiError::from(Refusal::InvalidMultipart {})
    }
}

/// Seals the last segment, moves the file into place and records it. Access is checked again
/// in the write transaction: an assignment may have ended, or the case closed, during a long
/// upload. A repeated client id answers with the first file (200); this copy is dropped.
async fn commit(
    state: AppState,
    user: AuthUser,
    incident_id: Uuid,
    form: Form,
) -> ApiResult<(StatusCode, Evidence)> {
    if let Some(c) = form.client_id.as_deref() {
        // Stored before (the answer was lost): the first file again, and nothing new. Dropping
        // the form removes this copy's part file.
        let mut conn = state.db.read.acquire().await?;
        readable(&mut conn, &user, incident_id).await?;
        if let Some(first) = repo::by_client_id(&mut conn, incident_id, user.id, c).await? {
            return Ok((StatusCode::OK, first.to_api()));
        }
    }
    let id = form.upload.id();
    let stored = form.upload.finish().await.map_err(ApiError::internal)?;
    let row = EvidenceRow {
        id,
        incident_id,
        uploaded_by: user.id,
        kind: form.sniffed.kind,
        content_type: form.sniffed.content_type.to_owned(),
        file_name: form.file_name,
        size_bytes: stored.size(),
        description: form.description,
        client_id: form.client_id,
        created_at: now(),
    };
    let mut tx = state.db.begin_write().await?;
    let (incident, access) = readable(&mut tx, &user, incident_id).await?;
    check_upload(&incident, access)?;
    check_quota(&mut tx, incident_id, user.id, row.size_bytes).await?;
    match repo::insert(&mut tx, &row).await {
        Ok(()) => {}
        // The same file sent twice at once: the other one won; answer with it (dropping
        // `stored` removes this copy).
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() && row.client_id.is_some() => {
            tx.rollback().await?;
            let mut conn = state.db.write.acquire().await?;
            let c = row.client_id.as_deref().unwrap_or_default();
            let first = repo::by_client_id(&mut conn, incident_id, user.id, c)
                .await?
                .ok_or_else(|| ApiError::internal("a duplicate upload without its first"))?;
            return Ok((StatusCode::OK, first.to_api()));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    stored.keep();
    // Never the name or the description: they may say who the survivor is.
    tracing::info!(evidence = %id, incident = %incident_id, kind = %row.kind,
        size = row.size_bytes, "evidence stored");
    Ok((StatusCode::CREATED, row.to_api()))
}

/// The live evidence of a case, oldest first, as a bare array.
#[utoipa::path(get, path = endpoint::ListEvidence::PATH, tag = "evidence",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Evidence, oldest first", body = [Evidence]),
        (status = 403, description = "A provider who has not accepted the case", body = ErrorEnvelope),
        (status = 404, description = "No such incident, or not yours", body = ErrorEnvelope),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(incident_id): IdPath,
) -> ApiResult<Json<Vec<Evidence>>> {
    let mut conn = state.db.read.acquire().await?;
    let (_, access) = readable(&mut conn, &user, incident_id).await?;
    may_see(access)?;
    let rows = repo::list_live(&mut conn, incident_id).await?;
    Ok(Json(rows.iter().map(EvidenceRow::to_api).collect()))
}

/// The file itself, decrypted as it streams, as an attachment. A file that fails its integrity
/// check part-way ends the response early, so a client never takes damaged bytes for the file.
#[utoipa::path(get, path = endpoint::DownloadEvidence::PATH, tag = "evidence",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Evidence id")),
    responses(
        (status = 200, description = "The bytes, with the detected content type, `Content-Length`, \
            `Content-Disposition: attachment` and `Cache-Control: no-store`",
            content_type = "application/octet-stream", body = inline(FileBytes)),
        (status = 403, description = "A provider who has not accepted the case", body = ErrorEnvelope),
        (status = 404, description = "No such evidence, deleted, or not yours", body = ErrorEnvelope),
    ))]
pub async fn download(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    let row = {
        let mut conn = state.db.read.acquire().await?;
        let row = repo::find_live(&mut conn, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let (_, access) = readable(&mut conn, &user, row.incident_id).await?;
        may_see(access)?;
        row
    };
    let unreadable = |e: StoreError| ApiError::internal(format!("evidence {id}: {e}"));
    let mut reader = state
        .evidence
        .open_reader(id, row.size_bytes)
        .await
        .map_err(unreadable)?;
    // The first segment is opened before the status goes out, so a file that cannot be read at
    // all (another key, a damaged header) is a plain error instead of a cut-off download.
    let first = reader
        .next_chunk()
        .await
        .map_err(unreadable)?
        .unwrap_or_default();
    let rest = stream::try_unfold(reader, |mut reader| async move {
        Ok(reader
            .next_chunk()
            .await?
            .map(|chunk| (Bytes::from(chunk), reader)))
    });
    let body = stream::once(async move { Ok::<_, StoreError>(Bytes::from(first)) })
        .chain(rest)
        .inspect_err(move |e| {
            tracing::error!(evidence = %id, error = %e, "evidence download aborted");
        });
    let mut resp = Response::new(Body::from_stream(body));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&row.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // Declared up front: a stream that stops early is then visibly incomplete to the client.
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(row.size_bytes));
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&row.file_name),
    );
    // Evidence must not linger in shared or browser caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

/// Delete a piece of evidence (the survivor who filed the case, or whoever added it). The file
/// is removed from disk; the row is kept, marked deleted, for the case history.
#[utoipa::path(delete, path = endpoint::DeleteEvidence::PATH, tag = "evidence",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Evidence id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither the survivor nor whoever added it", body = ErrorEnvelope),
        (status = 404, description = "No such evidence, already deleted, or not yours", body = ErrorEnvelope),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let row = repo::find_live(&mut tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (_, access) = readable(&mut tx, &user, row.incident_id).await?;
    if access != Access::Owner && row.uploaded_by != user.id {
        // A provider who has not accepted the case hears the same as when listing.
        may_see(access)?;
        return Err(ApiError::from(Refusal::NotYourEvidence {}));
    }
    repo::soft_delete(&mut tx, id, now()).await?;
    tx.commit().await?;
    // The row is already gone for everyone; a file that cannot be removed stays sealed and is
    // only worth a warning.
    if let Err(e) = state.evidence.remove(id).await {
        tracing::warn!(evidence = %id, error = %e, "could not remove a deleted evidence file");
    }
    tracing::info!(evidence = %id, "evidence deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The uploaded name, made safe to store and show: the last path component, without control
/// or bidirectional-override characters (which can disguise `exe.jpg` as `gpj.exe`), at most 255
/// characters with its extension kept. A name that ends up empty becomes `evidence.<ext>`.
pub fn clean_file_name(raw: &str, extension: &str) -> String {
    // Some clients send a whole path (`C:\Users\...\photo.jpg`); only the last part is a name.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        return format!("evidence.{extension}");
    }
    if cleaned.chars().count() <= MAX_EVIDENCE_FILE_NAME {
        return cleaned.to_owned();
    }
    if let Some((stem, ext)) = cleaned.rsplit_once('.') {
        let ext_len = ext.chars().count();
        if (1..=16).contains(&ext_len) && !stem.is_empty() {
            let stem: String = stem
                .chars()
                .take(MAX_EVIDENCE_FILE_NAME - ext_len - 1)
                .collect();
            return format!("{}.{ext}", stem.trim_end());
        }
    }
    cleaned.chars().take(MAX_EVIDENCE_FILE_NAME).collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `attachment` with an ASCII fallback name (quoted, with `"` and `\` replaced) and the exact
/// name in RFC 5987 form for clients that read it.
fn content_disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_file_name("photo.jpg", "jpg"), "photo.jpg");
        assert_eq!(
            clean_file_name("C:\\Users\\amina\\photo.jpg", "jpg"),
            "photo.jpg"
        );
        assert_eq!(clean_file_name("../../etc/passwd", "pdf"), "passwd");
        assert_eq!(clean_file_name("a\r\nb\0.png", "png"), "ab.png");
        assert_eq!(
            clean_file_name("invoice\u{202e}gpj.exe", "pdf"),
            "invoicegpj.exe"
        );
        assert_eq!(clean_file_name("", "m4a"), "evidence.m4a");
        assert_eq!(clean_file_name("..", "m4a"), "evidence.m4a");
        assert_eq!(clean_file_name("dir/", "pdf"), "evidence.pdf");
        let long = format!("{}.jpeg", "ü".repeat(400));
        let cleaned = clean_file_name(&long, "jpg");
        assert_eq!(cleaned.chars().count(), MAX_EVIDENCE_FILE_NAME);
        assert!(cleaned.ends_with(".jpeg"));
        let no_ext = "x".repeat(300);
        assert_eq!(clean_file_name(&no_ext, "pdf").chars().count(), 255);
    }

    #[test]
    fn content_disposition_is_safely_quoted() {
        let v = content_disposition("say \"hi\"\\ ripoti ya Amina ü.pdf");
        let s = v.to_str().unwrap();
        assert_eq!(
            s,
            "attachment; filename=\"say _hi__ ripoti ya Amina _.pdf\"; \
             filename*=UTF-8''say%20%22hi%22%5C%20ripoti%20ya%20Amina%20%C3%BC.pdf"
        );
    }
}
