//! Evidence files and voice recordings attached to incidents: who may add and see them, the
//! encrypted file store, content sniffing, and the `incidents/{id}/evidence/`, `evidence/{id}/*`
//! endpoints.

pub mod handlers;
pub mod repo;
pub mod sniff;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::incidents::Access;
use kintara_api::Refusal;

pub use store::EvidenceStore;

/// The largest upload request: the largest file plus room for the multipart framing and the
/// description. Only the upload route accepts bodies this big.
pub const MAX_UPLOAD_BODY: usize = kintara_api::MAX_EVIDENCE_BYTES as usize + 64 * 1024;

/// How many uploads one user may have running at once. Each holds a request body of up to 50 MB
/// and a part file; more in parallel from one account only crowds out everyone else.
pub const MAX_UPLOADS_PER_USER: usize = 2;
/// All the evidence of one case, at most: 40 files of the largest kind.
pub const MAX_CASE_EVIDENCE_BYTES: u64 = 40 * kintara_api::MAX_EVIDENCE_BYTES;
/// All the files one account uploaded, at most.
pub const MAX_ACCOUNT_EVIDENCE_BYTES: u64 = 100 * kintara_api::MAX_EVIDENCE_BYTES;
/// What a caller over that limit is told to wait, in seconds (`Retry-After`).
pub const UPLOAD_BUSY_RETRY_SECS: u64 = 5;

/// The uploads running now, per user.
#[derive(Debug, Default)]
pub struct UploadSlots(Arc<Mutex<HashMap<Uuid, usize>>>);

/// One running upload; the slot frees itself when dropped (also when the client hangs up and the
/// handler is dropped mid-upload).
pub struct UploadSlot {
    slots: Arc<Mutex<HashMap<Uuid, usize>>>,
    user: Uuid,
}

impl UploadSlots {
    /// A slot for `user`, or a 429 telling when to come back.
    pub fn take(&self, user: Uuid) -> ApiResult<UploadSlot> {
        // A panic while counting cannot leave the map worse than slightly off, so a poisoned
        // lock is used as is.
        let mut running = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = running.entry(user).or_default();
        if *count >= MAX_UPLOADS_PER_USER {
            return Err(ApiError::retry_after(
                kintara_api::Refusal::TooManyUploads {},
                UPLOAD_BUSY_RETRY_SECS,
            ));
        }
        *count += 1;
        Ok(UploadSlot {
            slots: self.0.clone(),
            user,
        })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut running = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = running.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.user);
            }
        }
    }
}

/// Who may list and download: the survivor, staff, and providers who accepted the case. A
/// provider who has only been asked sees that the case exists (it is offered to them), but not
/// its evidence.
pub fn may_see(access: Access) -> ApiResult<()> {
    match access {
        Access::Owner | Access::Staff | Access::Provider { accepted: true } => Ok(()),
        Access::Provider { accepted: false } => Err(ApiError::from(Refusal::AcceptFirst {})),
        Access::Record => Err(ApiError::from(Refusal::ClosedCaseRecord {})),
    }
}

/// Who may add evidence: the survivor and providers working the case. Dispatchers triage; they
/// do not add to the record.
pub fn may_upload(access: Access) -> ApiResult<()> {
    match access {
        Access::Owner | Access::Provider { accepted: true } => Ok(()),
        Access::Provider { accepted: false } => Err(ApiError::from(Refusal::AcceptFirst {})),
        Access::Staff => Err(ApiError::from(Refusal::CannotAddEvidence {})),
        Access::Record => Err(ApiError::from(Refusal::ClosedCaseRecord {})),
    }
}
