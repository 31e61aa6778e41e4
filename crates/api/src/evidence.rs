//! Evidence files and voice recordings attached to an incident: `incidents/{id}/evidence/` and
//! `evidence/{id}/*`.
//!
//! The upload itself is `multipart/form-data` (field `file`, optional `description`), so only the
//! answer is a JSON body; the limits live here so the app can refuse an oversized file before it
//! spends a survivor's data plan on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::wire_enum;

/// Longest description of one piece of evidence, in characters.
pub const MAX_EVIDENCE_DESCRIPTION: usize = 1_000;
/// Longest stored file name, in characters.
pub const MAX_EVIDENCE_FILE_NAME: usize = 255;

const MIB: u64 = 1024 * 1024;
/// The largest file of any kind: what one upload may carry at most.
pub const MAX_EVIDENCE_BYTES: u64 = 50 * MIB;

wire_enum! {
    /// What a file is, decided by the server from its content (never from its name).
    EvidenceKind {
        Image = "image" / "Photo",
        Audio = "audio" / "Voice recording",
        Document = "document" / "Document",
    }
}

impl EvidenceKind {
    /// The largest file of this kind the server stores, in bytes.
    pub const fn max_bytes(self) -> u64 {
        match self {
            EvidenceKind::Image => 10 * MIB,
            EvidenceKind::Audio => 50 * MIB,
            EvidenceKind::Document => 20 * MIB,
        }
    }
}

/// One stored file, as listed and as answered to an upload. The bytes themselves are fetched
/// from `GET /api/evidence/{id}/download/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub kind: EvidenceKind,
    /// The media type detected from the content, e.g. `image/jpeg`, `audio/ogg`.
    pub content_type: String,
    /// The uploaded name, stripped of any path and control characters (at most 255 characters).
    pub file_name: String,
    pub size_bytes: u64,
    pub description: Option<String>,
    /// The user who uploaded it.
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// The description as it will be stored: trimmed, `None` when blank, or a message when too long.
/// The server and the app run the same check.
pub fn evidence_description(raw: &str) -> Result<Option<String>, crate::FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_EVIDENCE_DESCRIPTION {
        return Err(crate::FieldError::TooLong {
            max: MAX_EVIDENCE_DESCRIPTION,
        });
    }
    Ok(Some(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_kind() {
        assert_eq!(EvidenceKind::Image.max_bytes(), 10 * MIB);
        assert_eq!(EvidenceKind::Document.max_bytes(), 20 * MIB);
        let largest = EvidenceKind::ALL.iter().map(|k| k.max_bytes()).max();
        assert_eq!(largest, Some(MAX_EVIDENCE_BYTES));
    }

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        assert_eq!(evidence_description("  "), Ok(None));
        assert_eq!(evidence_description(" a "), Ok(Some("a".into())));
        // Characters, not bytes: 1000 Swahili or emoji characters fit.
        assert!(evidence_description(&"é".repeat(MAX_EVIDENCE_DESCRIPTION)).is_ok());
        assert!(evidence_description(&"a".repeat(MAX_EVIDENCE_DESCRIPTION + 1)).is_err());
    }

    #[test]
    fn wire_strings() {
        assert_eq!(
            serde_json::to_value(EvidenceKind::Audio).unwrap(),
            serde_json::json!("audio")
        );
        assert_eq!(
            EvidenceKind::parse("document"),
            Some(EvidenceKind::Document)
        );
    }
}
