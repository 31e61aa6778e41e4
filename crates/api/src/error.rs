//! The one error envelope every failing endpoint returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{"success": false, "message": "...", "code": "...", "errors": {"field": ["..."]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub success: bool,
    /// A sentence a person can read.
    pub message: String,
    /// A stable machine-readable code, e.g. `validation_failed`, `invalid_credentials`.
    pub code: String,
    /// Messages per field, for validation failures; empty otherwise.
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<String>>,
}

/// Stable error codes. Clients branch on these, never on messages.
pub mod codes {
    pub const INVALID_JSON: &str = "invalid_json";
    pub const INVALID_MULTIPART: &str = "invalid_multipart";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const NOT_AUTHENTICATED: &str = "not_authenticated";
    pub const TOKEN_EXPIRED: &str = "token_expired";
    pub const INVALID_TOKEN: &str = "invalid_token";
    pub const TOKEN_REUSED: &str = "token_reused";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const ACCOUNT_LOCKED: &str = "account_locked";
    pub const ACCOUNT_DISABLED: &str = "account_disabled";
    pub const EMAIL_TAKEN: &str = "email_taken";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const UPGRADE_REQUIRED: &str = "upgrade_required";
    pub const CONFLICT: &str = "conflict";
    /// 429: the caller already has as many uploads running as allowed; `Retry-After` says when.
    pub const TOO_MANY_UPLOADS: &str = "too_many_uploads";
    /// 503: the server is overloaded for a moment; `Retry-After` says when to try again.
    pub const SERVICE_UNAVAILABLE: &str = "service_unavailable";
    pub const INTERNAL: &str = "internal_error";
}
