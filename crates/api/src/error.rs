//! Why a request was refused: one error envelope for every failing endpoint, whose refusal and
//! field errors are stable codes with params (`{"code": "too_long", "params": {"max": 5000}}`).
//! Each code is one variant here; `kintara-i18n` words it in the user's language (the envelope's
//! `message` is its English wording, for plain clients and logs). Clients branch on codes, never
//! on messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AccountState, EvidenceKind, IncidentStatus, Role};

/// A refusal of the whole request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", content = "params", rename_all = "snake_case")]
pub enum Refusal {
    // ---- the request itself ----
    /// 400: the body is not JSON (`detail` is the parser's own words).
    InvalidJson { detail: String },
    /// 400: the body could not be read at all.
    UnreadableBody {},
    /// 400
    InvalidMultipart {},
    /// 415: send the body as `expected`.
    UnsupportedMediaType { expected: String },
    /// 413
    PayloadTooLarge { max_bytes: u64 },
    /// 413: a file larger than its kind allows.
    FileTooLarge { kind: EvidenceKind, max_bytes: u64 },
    /// 415: not a kind of file the server keeps.
    UnsupportedFileType {},
    /// 422: see the field errors.
    ValidationFailed {},
    /// 404: also what a user gets for what exists but is not theirs.
    NotFound {},
    /// 405
    MethodNotAllowed {},
    /// 426: this address takes a WebSocket.
    UpgradeRequired {},
    // ---- who is asking ----
    /// 401
    NotAuthenticated {},
    /// 401: the access token expired; refresh it.
    TokenExpired {},
    /// 401
    InvalidToken {},
    /// 401: a refresh token was used twice, so its session ended.
    TokenReused {},
    /// 401
    SessionRevoked {},
    /// 401: a delivery service's callback that does not prove it comes from the service.
    BadSignature {},
    /// 401
    InvalidCredentials {},
    /// 429: too many failed sign-ins from this address (for this e-mail, or for any).
    SignInPaused { minutes: u64 },
    /// 401
    AccountDisabled {},
    /// 409
    EmailTaken {},
    /// 403: the current password given to change it is wrong.
    WrongPassword {},
    /// 403: the caller may not write in this conversation (someone in it blocked them).
    CannotWriteHere {},
    /// 403: the case is closed; a provider keeps its record, not its content.
    ClosedCaseRecord {},
    /// 409: the current session ends by signing out, not from the session list.
    CurrentSession {},
    /// 409: the account is `state`, which this decision does not apply to.
    AccountInState { state: AccountState },

    // ---- may they ----
    /// 403: the endpoint is for these roles only.
    OnlyRoles { roles: Vec<Role> },
    /// 403
    NotYourReport {},
    /// 403
    NotYourEvidence {},
    /// 403: evidence is added by the survivor and the case's providers.
    CannotAddEvidence {},
    /// 403: a provider must accept the case first.
    AcceptFirst {},
    /// 403
    NotTheSender {},
    /// 403: a direct chat needs a shared case.
    NoSharedCase {},
    /// A direct chat is with someone else.
    NotWithYourself {},
    // ---- the state of things ----
    /// 409
    IllegalTransition {
        from: IncidentStatus,
        to: IncidentStatus,
    },
    /// 409
    CaseFinished {},
    /// 409
    CaseClosed {},
    /// 409: changed meanwhile; reload and try again.
    CaseChanged {},
    /// 409
    AlreadyAccepted {},
    /// 409
    AssignmentGone {},
    /// 409
    ProviderUnavailable {},
    /// 409
    AlreadyAssigned {},
    /// 409
    NotAssigned {},
    /// 409
    NotReassignable {},
    /// 409: the room is read-only (its case is closed).
    RoomReadOnly {},
    /// 409: a case's room cannot be left.
    CaseRoomStays {},
    /// 409: the case has no conversation yet (it opens when a provider accepts).
    NoCaseRoomYet {},
    // ---- the server ----
    /// 429: more uploads at once than allowed; `Retry-After` says when.
    TooManyUploads {},
    /// 429: too many requests of this kind from this account or address; `Retry-After` says
    /// when to try again. Nothing was changed.
    RateLimited {},
    /// 413: the case, or the account, holds as much evidence as it may (`max_bytes`).
    EvidenceQuotaFull { max_bytes: u64 },
    /// 503: overloaded for a moment; nothing was changed; `Retry-After` says when.
    ServiceUnavailable {},
    /// 500: nothing was changed.
    InternalError {},
}

impl Refusal {
    /// The HTTP status that carries it.
    pub fn status(&self) -> u16 {
        use Refusal::*;
        match self {
            InvalidJson { .. } | UnreadableBody {} | InvalidMultipart {} => 400,
            NotAuthenticated {}
            | TokenExpired {}
            | InvalidToken {}
            | TokenReused {}
            | SessionRevoked {}
            | BadSignature {}
            | InvalidCredentials {}
            | AccountDisabled {} => 401,
            OnlyRoles { .. }
            | NotYourReport {}
            | NotYourEvidence {}
            | CannotAddEvidence {}
            | AcceptFirst {}
            | NotTheSender {}
            | NoSharedCase {}
            | NotWithYourself {}
            | WrongPassword {}
            | ClosedCaseRecord {}
            | CannotWriteHere {} => 403,
            NotFound {} => 404,
            MethodNotAllowed {} => 405,
            EmailTaken {}
            | IllegalTransition { .. }
            | CaseFinished {}
            | CaseClosed {}
            | CaseChanged {}
            | AlreadyAccepted {}
            | AssignmentGone {}
            | ProviderUnavailable {}
            | AlreadyAssigned {}
            | NotAssigned {}
            | NotReassignable {}
            | RoomReadOnly {}
            | CaseRoomStays {}
            | NoCaseRoomYet {}
            | CurrentSession {}
            | AccountInState { .. } => 409,
            PayloadTooLarge { .. } | FileTooLarge { .. } | EvidenceQuotaFull { .. } => 413,
            UnsupportedMediaType { .. } | UnsupportedFileType {} => 415,
            ValidationFailed {} => 422,
            UpgradeRequired {} => 426,
            SignInPaused { .. } | TooManyUploads {} | RateLimited {} => 429,
            InternalError {} => 500,
            ServiceUnavailable {} => 503,
        }
    }

    /// The code alone, as on the wire.
    pub fn code(&self) -> String {
        match serde_json::to_value(self) {
            Ok(v) => v["code"].as_str().unwrap_or_default().to_owned(),
            Err(_) => String::new(),
        }
    }
}

/// One field's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", content = "params", rename_all = "snake_case")]
pub enum FieldError {
    Required {},
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// A number or a count outside `min..=max`.
    OutOfRange {
        min: i64,
        max: i64,
    },
    TooMany {
        max: usize,
    },
    NotAnEmail {},
    /// Not a phone number in international form (`+254712345678`).
    NotAPhoneNumber {},
    PasswordsDiffer {},
    PinsDiffer {},
    AnonymousOnlyForSurvivors {},
    ProviderTypeOnlyForProviders {},
    ProviderTypeNeeded {},
    /// Dispatcher and admin accounts are created by an administrator.
    NotSelfService {},
    /// Give an address or share the location.
    NeedAPlace {},
    NoneChosen {},
    ListedTwice {
        value: String,
    },
    ChooseAnother {},
    /// Leave it out or give a non-blank value.
    Blank {},
    InTheFuture {},
    NotARealDate {},
    NothingToChange {},
    ControlCharacters {},
    NotACursor {},
    NotAnId {},
    UnknownValue {},
    NotABoolean {},
    /// Give one of the two, not both.
    OneOrTheOther {},
    /// One per upload.
    OnlyOne {},
    FileEmpty {},
    /// Already in use (an e-mail with an account).
    Taken {},
    /// Not an active provider's id.
    NotAProvider {
        id: String,
    },
    /// Not what the field holds (`detail` is the parser's own words).
    Invalid {
        detail: String,
    },
}

/// A field error as the envelope carries it: the code, its params, and its English wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldMessage {
    #[serde(flatten)]
    pub error: FieldError,
    pub message: String,
}

/// `{"success": false, "message": "...", "code": "...", "params": {...}, "errors": {"field":
/// [{"code": "...", "params": {...}, "message": "..."}]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub success: bool,
    /// The refusal in English, for people and logs; clients word `code` and `params` instead.
    pub message: String,
    #[serde(flatten)]
    pub refusal: Refusal,
    /// Per field, for validation failures; empty otherwise.
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<FieldMessage>>,
}

impl ErrorEnvelope {
    pub fn code(&self) -> String {
        self.refusal.code()
    }
}

/// Stable error codes, as on the wire: for tests and clients that read raw JSON.
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
    pub const SIGN_IN_PAUSED: &str = "sign_in_paused";
    pub const ACCOUNT_DISABLED: &str = "account_disabled";
    pub const EMAIL_TAKEN: &str = "email_taken";
    pub const WRONG_PASSWORD: &str = "wrong_password";
    pub const CLOSED_CASE_RECORD: &str = "closed_case_record";
    pub const CANNOT_WRITE_HERE: &str = "cannot_write_here";
    pub const CURRENT_SESSION: &str = "current_session";
    pub const ACCOUNT_IN_STATE: &str = "account_in_state";
    pub const ONLY_ROLES: &str = "only_roles";
    pub const NOT_WITH_YOURSELF: &str = "not_with_yourself";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const EVIDENCE_QUOTA_FULL: &str = "evidence_quota_full";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const UPGRADE_REQUIRED: &str = "upgrade_required";
    pub const TOO_MANY_UPLOADS: &str = "too_many_uploads";
    pub const SERVICE_UNAVAILABLE: &str = "service_unavailable";
    pub const INTERNAL: &str = "internal_error";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_and_field_errors_are_codes_with_params() {
        let e = ErrorEnvelope {
            success: false,
            message: "Some fields need attention.".into(),
            refusal: Refusal::ValidationFailed {},
            errors: [(
                "description".to_owned(),
                vec![FieldMessage {
                    error: FieldError::TooLong { max: 5000 },
                    message: "Must be at most 5000 characters.".into(),
                }],
            )]
            .into(),
        };
        let wire = serde_json::to_value(&e).unwrap();
        assert_eq!(
            wire,
            json!({
                "success": false, "message": "Some fields need attention.",
                "code": "validation_failed", "params": {},
                "errors": {"description": [{"code": "too_long", "params": {"max": 5000},
                                            "message": "Must be at most 5000 characters."}]}
            })
        );
        assert_eq!(serde_json::from_value::<ErrorEnvelope>(wire).unwrap(), e);
        let moved = Refusal::IllegalTransition {
            from: IncidentStatus::Closed,
            to: IncidentStatus::InProgress,
        };
        assert_eq!(moved.code(), "illegal_transition");
        assert_eq!(moved.status(), 409);
        assert_eq!(
            serde_json::to_value(&moved).unwrap()["params"],
            json!({"from": "closed", "to": "in_progress"})
        );
    }
}
