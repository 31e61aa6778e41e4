//! A report and its files in one binary body: how the app's UI hands them to its shell (Tauri's
//! raw IPC body). A JSON argument would carry each byte as a number (8 MB took about 8 s).
//!
//! Layout: the metadata's length (4 bytes, little-endian), the metadata (JSON: the report, then
//! each file's name and size, in order), then every file's bytes, one after another.

use serde::{Deserialize, Serialize};

use crate::IncidentCreate;

/// Longest metadata accepted: a report is a few KB of text.
pub const MAX_UPLOAD_METADATA: usize = 256 * 1024;
/// Most files in one body (the client core allows fewer; this only bounds the work).
pub const MAX_UPLOAD_FILES: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    report: IncidentCreate,
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    file_name: String,
    size: u64,
}

/// One file of a report, as the survivor chose it. Its name and bytes may both say who she is:
/// its `Debug` shows neither.
pub struct UploadFile {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for UploadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadFile")
            .field("size", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Why a body could not be read. Only a bug on one side or the other makes one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadError {
    #[error("the report's body is cut short")]
    Truncated,
    #[error("the report's details are too long")]
    MetadataTooLong,
    #[error("the report's details are not readable: {0}")]
    Metadata(String),
    #[error("a report carries at most {MAX_UPLOAD_FILES} files")]
    TooManyFiles,
    #[error("the files' sizes do not match the bytes sent")]
    SizeMismatch,
}

/// Lays out `report` and `files` (name, bytes) as one body.
pub fn encode(report: &IncidentCreate, files: &[(&str, &[u8])]) -> Result<Vec<u8>, UploadError> {
    if files.len() > MAX_UPLOAD_FILES {
        return Err(UploadError::TooManyFiles);
    }
    let metadata = Metadata {
        report: report.clone(),
        files: files
            .iter()
            .map(|(name, bytes)| FileEntry {
                file_name: (*name).to_owned(),
                size: bytes.len() as u64,
            })
            .collect(),
    };
    let json = serde_json::to_vec(&metadata).map_err(|e| UploadError::Metadata(e.to_string()))?;
    if json.len() > MAX_UPLOAD_METADATA {
        return Err(UploadError::MetadataTooLong);
    }
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let mut body = Vec::with_capacity(4 + json.len() + total);
    body.extend_from_slice(&(json.len() as u32).to_le_bytes());
    body.extend_from_slice(&json);
    for (_, bytes) in files {
        body.extend_from_slice(bytes);
    }
    Ok(body)
}

/// Reads a body laid out by `encode`. Every byte must be accounted for.
pub fn decode(body: &[u8]) -> Result<(IncidentCreate, Vec<UploadFile>), UploadError> {
    let (len, rest) = body
        .split_first_chunk::<4>()
        .ok_or(UploadError::Truncated)?;
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_UPLOAD_METADATA {
        return Err(UploadError::MetadataTooLong);
    }
    if rest.len() < len {
        return Err(UploadError::Truncated);
    }
    let (json, mut bytes) = rest.split_at(len);
    let metadata: Metadata =
        serde_json::from_slice(json).map_err(|e| UploadError::Metadata(e.to_string()))?;
    if metadata.files.len() > MAX_UPLOAD_FILES {
        return Err(UploadError::TooManyFiles);
    }
    let total = metadata
        .files
        .iter()
        .try_fold(0u64, |sum, f| sum.checked_add(f.size))
        .ok_or(UploadError::SizeMismatch)?;
    if total != bytes.len() as u64 {
        return Err(UploadError::SizeMismatch);
    }
    let mut files = Vec::with_capacity(metadata.files.len());
    for f in metadata.files {
        let (file, after) = bytes.split_at(f.size as usize);
        files.push(UploadFile {
            file_name: f.file_name,
            bytes: file.to_vec(),
        });
        bytes = after;
    }
    Ok((metadata.report, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IncidentType, UrgencyLevel};

    fn report() -> IncidentCreate {
        serde_json::from_value(serde_json::json!({
            "type": IncidentType::Physical,
            "incident_date": "2026-11-20",
            "description": "Alinisukuma ukutani sokoni — he pushed me",
            "location": {"address": "Kibera, Nairobi"},
            "urgency_level": UrgencyLevel::Urgent,
            "support_services": ["medical"],
        }))
        .expect("a report")
    }

    #[test]
    fn a_report_and_its_files_come_back_byte_for_byte() {
        let photo: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let note = b"%PDF-1.4 ...".to_vec();
        let body = encode(
            &report(),
            &[
                ("picha ya jeraha.jpg", &photo),
                ("", &[]),
                ("ripoti.pdf", &note),
            ],
        )
        .expect("encoded");
        let (back, files) = decode(&body).expect("decoded");
        assert_eq!(back.description, report().description);
        let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(names, ["picha ya jeraha.jpg", "", "ripoti.pdf"]);
        assert_eq!(files[0].bytes, photo);
        assert!(files[1].bytes.is_empty());
        assert_eq!(files[2].bytes, note);
        // No file at all is a report alone.
        let (_, none) = decode(&encode(&report(), &[]).expect("encoded")).expect("decoded");
        assert!(none.is_empty());
    }

    #[test]
    fn a_body_that_does_not_add_up_is_refused() {
        let body = encode(&report(), &[("a.jpg", b"12345")]).expect("encoded");
        assert_eq!(decode(&body[..2]).unwrap_err(), UploadError::Truncated);
        assert_eq!(
            decode(&body[..body.len() - 1]).unwrap_err(),
            UploadError::SizeMismatch
        );
        let mut longer = body.clone();
        longer.push(0);
        assert_eq!(decode(&longer).unwrap_err(), UploadError::SizeMismatch);
        assert_eq!(decode(&body[..10]).unwrap_err(), UploadError::Truncated);
        let mut huge = body.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge).unwrap_err(), UploadError::MetadataTooLong);
        let mut garbled = body;
        garbled[4] = b'!';
        assert!(matches!(decode(&garbled), Err(UploadError::Metadata(_))));
    }

    #[test]
    fn sizes_that_overflow_are_refused() {
        let json = serde_json::json!({
            "report": report(),
            "files": [{"file_name": "a", "size": u64::MAX}, {"file_name": "b", "size": 2}],
        })
        .to_string();
        let mut body = (json.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(json.as_bytes());
        body.push(1);
        assert_eq!(decode(&body).unwrap_err(), UploadError::SizeMismatch);
    }
}
