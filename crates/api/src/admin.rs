//! Administration: `admin/*` bodies. Admins verify the providers who registered themselves,
//! suspend, disable and reinstate accounts, create staff accounts, and read the audit log of all
//! of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{self, field, Rule, Rules};
use crate::validate::{FieldErrors, Validate};
use crate::wire_enum;
use crate::{Role, User, MAX_EMAIL, MAX_NAME, MAX_PASSWORD, MAX_REASON, MIN_PASSWORD};

/// At most this many characters of a search in the account list.
pub const MAX_SEARCH: usize = 100;

/// `POST admin/users/{id}/verify|suspend|disable|reinstate/`: every decision about an account
/// says why, for the audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountActionRequest {
    pub reason: String,
}

impl Rules for AccountActionRequest {
    const SCHEMA: &'static str = "AccountActionRequest";
    const FIELDS: &'static [rules::Field] =
        &[field("reason", Rule::RequiredText { max: MAX_REASON })];
}

impl Validate for AccountActionRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

wire_enum! {
    /// What an admin may decide about an account (`admin/users/{id}/<decision>/`).
    AdminDecision {
        Verify = "verify" / "Verify",
        Suspend = "suspend" / "Suspend",
        Disable = "disable" / "Disable",
        Reinstate = "reinstate" / "Reinstate",
    }
}

impl AdminDecision {
    /// The decisions that apply to an account in `state`.
    pub fn open_to(state: crate::AccountState) -> &'static [AdminDecision] {
        use crate::AccountState::*;
        match state {
            Unverified => &[
                AdminDecision::Verify,
                AdminDecision::Suspend,
                AdminDecision::Disable,
            ],
            Active => &[AdminDecision::Suspend, AdminDecision::Disable],
            Suspended => &[AdminDecision::Reinstate, AdminDecision::Disable],
            Disabled => &[AdminDecision::Reinstate],
        }
    }
}

wire_enum! {
    /// The roles an admin creates; survivors and providers register themselves.
    StaffRole {
        Dispatcher = "dispatcher" / "Dispatcher",
        Admin = "admin" / "Administrator",
    }
}

impl StaffRole {
    pub fn role(self) -> Role {
        match self {
            StaffRole::Dispatcher => Role::Dispatcher,
            StaffRole::Admin => Role::Admin,
        }
    }
}

/// `POST admin/users/`: a dispatcher's or admin's account, active at once.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateStaffRequest {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub role: StaffRole,
}

impl std::fmt::Debug for CreateStaffRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateStaffRequest")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Rules for CreateStaffRequest {
    const SCHEMA: &'static str = "CreateStaffRequest";
    const FIELDS: &'static [rules::Field] = &[
        field("email", Rule::Email { max: MAX_EMAIL }),
        field(
            "password",
            Rule::Secret {
                min: MIN_PASSWORD,
                max: MAX_PASSWORD,
            },
        ),
        field("first_name", Rule::RequiredText { max: MAX_NAME }),
        field("last_name", Rule::RequiredText { max: MAX_NAME }),
    ];
}

impl Validate for CreateStaffRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `GET admin/users/`: accounts matching the filters, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserPage {
    /// All accounts matching the filters (the page shows at most `page_size` of them).
    pub count: i64,
    pub results: Vec<User>,
}

wire_enum! {
    /// What an admin did to an account.
    AuditAction {
        Created = "created" / "Created",
        Verified = "verified" / "Verified",
        Suspended = "suspended" / "Suspended",
        Disabled = "disabled" / "Disabled",
        Reinstated = "reinstated" / "Reinstated",
    }
}

/// Someone named in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditParty {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub role: Role,
}

/// One decision: who did what to whom, when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: AuditParty,
    pub action: AuditAction,
    pub target: AuditParty,
    pub reason: String,
}

/// `GET admin/audit/`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub count: i64,
    pub results: Vec<AuditEntry>,
}
