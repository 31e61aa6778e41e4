//! Evidence files and voice recordings attached to incidents: who may add and see them, the
//! encrypted file store, content sniffing, and the `incidents/{id}/evidence/`, `evidence/{id}/*`
//! endpoints.

pub mod handlers;
pub mod repo;
pub mod sniff;
pub mod store;

use crate::error::{ApiError, ApiResult};
use crate::incidents::Access;

pub use store::EvidenceStore;

/// The largest upload request: the largest file plus room for the multipart framing and the
/// description. Only the upload route accepts bodies this big.
pub const MAX_UPLOAD_BODY: usize = kintara_api::MAX_EVIDENCE_BYTES as usize + 64 * 1024;

/// Who may list and download: the survivor, staff, and providers who accepted the case. A
/// provider who has only been asked sees that the case exists (it is offered to them), but not
/// its evidence.
pub fn may_see(access: Access) -> ApiResult<()> {
    match access {
        Access::Owner | Access::Staff | Access::Provider { accepted: true } => Ok(()),
        Access::Provider { accepted: false } => {
            Err(ApiError::forbidden("Accept the case to see its evidence."))
        }
    }
}

/// Who may add evidence: the survivor and providers working the case. Dispatchers triage; they
/// do not add to the record.
pub fn may_upload(access: Access) -> ApiResult<()> {
    match access {
        Access::Owner | Access::Provider { accepted: true } => Ok(()),
        Access::Provider { accepted: false } => {
            Err(ApiError::forbidden("Accept the case to add evidence."))
        }
        Access::Staff => Err(ApiError::forbidden(
            "Only the survivor and the providers on the case add evidence.",
        )),
    }
}
