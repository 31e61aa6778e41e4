//! Accounts and sessions: `auth/*` bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{self, field, Rule, Rules};
use crate::validate::{FieldErrors, Validate};
use crate::wire_enum;
use crate::FieldError;

pub const MAX_EMAIL: usize = 254;
pub const MAX_NAME: usize = 100;
pub const MIN_PASSWORD: usize = 8;
/// Argon2 cost grows with input; an upper bound keeps a login from being a denial of service.
pub const MAX_PASSWORD: usize = 128;
/// Refresh tokens are 43 base64url characters; anything much longer is not ours.
pub const MAX_TOKEN: usize = 512;

wire_enum! {
    /// What a user is in the system.
    Role {
        Survivor = "survivor" / "Survivor",
        Provider = "provider" / "Service provider",
        Dispatcher = "dispatcher" / "Dispatcher",
        Admin = "admin" / "Administrator",
    }
}

wire_enum! {
    /// The kind of help a provider gives.
    ProviderType {
        Healthcare = "healthcare" / "Healthcare Provider",
        Legal = "legal" / "Legal Professional",
        Police = "police" / "Law Enforcement",
        Counseling = "counseling" / "Counselor/Therapist",
        Social = "social" / "Social Services",
        GbvRescue = "gbv_rescue" / "GBV Rescue Organization",
        Chw = "chw" / "Community Health Worker",
    }
}

wire_enum! {
    /// Where an account stands. Survivors, dispatchers and admins start `active`; a provider who
    /// registers themselves is `unverified` until an admin verifies them, and is never offered,
    /// assigned, listed or recommended before that. `suspended` and `disabled` accounts cannot
    /// sign in; an admin can reinstate either.
    AccountState {
        Unverified = "unverified" / "Awaiting verification",
        Active = "active" / "Active",
        Suspended = "suspended" / "Suspended",
        Disabled = "disabled" / "Disabled",
    }
}

impl AccountState {
    /// What a user stored before states existed was: an account that could sign in.
    fn stored_before_states() -> Self {
        AccountState::Active
    }

    /// Whether the account may sign in and keep its sessions.
    pub fn may_sign_in(self) -> bool {
        matches!(self, AccountState::Unverified | AccountState::Active)
    }
}

/// A user as the API shows it (never the password hash or lockout state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub role: Role,
    pub role_display: String,
    pub provider_type: Option<ProviderType>,
    pub provider_type_display: Option<String>,
    pub is_anonymous: bool,
    pub biometric_enabled: bool,
    /// Whether the account may sign in (`account_state` is `unverified` or `active`).
    pub is_active: bool,
    /// Absent in a session a device stored before account states existed.
    #[serde(default = "AccountState::stored_before_states")]
    pub account_state: AccountState,
    pub last_login: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The language of what leaves the app for this user (push, e-mail, WhatsApp).
    #[serde(default)]
    pub language: Language,
    /// Where WhatsApp notifications go (E.164), when chosen. Only its owner sees it.
    #[serde(default)]
    pub whatsapp_number: Option<String>,
}

wire_enum! {
    /// A language the server writes in (what leaves the app: push, e-mail, WhatsApp).
    #[derive(Default)]
    Language {
        #[default]
        En = "en" / "English",
        Sw = "sw" / "Kiswahili",
    }
}

/// `POST auth/register/`. Only survivors and providers register themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    pub role: Role,
    #[serde(default)]
    pub provider_type: Option<ProviderType>,
    #[serde(default)]
    pub is_anonymous: bool,
}

impl Rules for RegisterRequest {
    const SCHEMA: &'static str = "RegisterRequest";
    const FIELDS: &'static [rules::Field] = &[
        field("email", Rule::Email { max: MAX_EMAIL }),
        field(
            "password",
            Rule::Secret {
                min: MIN_PASSWORD,
                max: MAX_PASSWORD,
            },
        ),
        field("first_name", Rule::Text { max: MAX_NAME }),
        field("last_name", Rule::Text { max: MAX_NAME }),
    ];

    fn across(&self, e: &mut FieldErrors) {
        // An anonymous survivor may leave the name empty; the server fills "Anonymous User".
        // Providers act in their own name.
        if self.is_anonymous && self.role != Role::Survivor {
            e.add("is_anonymous", FieldError::AnonymousOnlyForSurvivors {});
        }
        if !self.is_anonymous {
            for (key, name) in [
                ("first_name", &self.first_name),
                ("last_name", &self.last_name),
            ] {
                if name.trim().is_empty() {
                    e.add(key, FieldError::Required {});
                }
            }
        }
        match (self.role, self.provider_type) {
            (Role::Survivor, None) | (Role::Provider, Some(_)) => {}
            (Role::Survivor, Some(_)) => {
                e.add("provider_type", FieldError::ProviderTypeOnlyForProviders {})
            }
            (Role::Provider, None) => e.add("provider_type", FieldError::ProviderTypeNeeded {}),
            (Role::Dispatcher | Role::Admin, _) => e.add("role", FieldError::NotSelfService {}),
        }
    }

    fn across_schema() -> Vec<(&'static str, serde_json::Value)> {
        let named = serde_json::json!({"pattern": rules::non_blank_pattern()});
        let role = |role: Role| serde_json::json!({"const": role.as_str()});
        vec![(
            "",
            serde_json::json!({"anyOf": [
                {
                    "description": "An anonymous survivor: no name needed.",
                    "properties": {"role": role(Role::Survivor), "is_anonymous": {"const": true},
                                   "provider_type": {"type": "null"}},
                    "required": ["is_anonymous"],
                },
                {
                    "description": "A survivor in her own name.",
                    "properties": {"role": role(Role::Survivor), "is_anonymous": {"const": false},
                                   "provider_type": {"type": "null"},
                                   "first_name": named, "last_name": named},
                    "required": ["first_name", "last_name"],
                },
                {
                    "description": "A provider names a type of help and acts in their own name.",
                    "properties": {"role": role(Role::Provider), "is_anonymous": {"const": false},
                                   "provider_type": {"$ref": "#/components/schemas/ProviderType"},
                                   "first_name": named, "last_name": named},
                    "required": ["provider_type", "first_name", "last_name"],
                },
            ]}),
        )]
    }
}

impl Validate for RegisterRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `POST auth/login/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Rules for LoginRequest {
    const SCHEMA: &'static str = "LoginRequest";
    // Any text may be tried as a password: today's rules for new passwords are not asked of
    // old ones.
    const FIELDS: &'static [rules::Field] = &[
        field("email", Rule::RequiredText { max: MAX_EMAIL }),
        field(
            "password",
            Rule::Secret {
                min: 1,
                max: MAX_PASSWORD,
            },
        ),
    ];
}

impl Validate for LoginRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// An access JWT (30 minutes) and an opaque, single-use refresh token (7 days).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

// Tokens are secrets: keep them out of logs and panic messages.
impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair { .. }")
    }
}

/// Answer to register and login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthResponse {
    pub success: bool,
    pub message: String,
    pub user: User,
    pub tokens: TokenPair,
}

/// `POST auth/refresh/` and `POST auth/logout/`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { .. }")
    }
}

impl Rules for RefreshRequest {
    const SCHEMA: &'static str = "RefreshRequest";
    const FIELDS: &'static [rules::Field] =
        &[field("refresh", Rule::RequiredText { max: MAX_TOKEN })];
}

impl Validate for RefreshRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// The rotated pair: the presented refresh token is spent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshResponse {
    pub success: bool,
    pub access: String,
    pub refresh: String,
}

/// `GET auth/me/` and `PUT auth/me/update/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub success: bool,
    pub user: User,
}

/// `PUT auth/me/update/`: her name, her language and her WhatsApp number. What is left out
/// stays as it is; an empty `whatsapp_number` removes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub language: Option<Language>,
    #[serde(default)]
    pub whatsapp_number: Option<String>,
}

impl Rules for UpdateMeRequest {
    const SCHEMA: &'static str = "UpdateMeRequest";
    const FIELDS: &'static [rules::Field] = &[
        field("first_name", Rule::RequiredText { max: MAX_NAME }),
        field("last_name", Rule::RequiredText { max: MAX_NAME }),
        field("whatsapp_number", Rule::PhoneOrEmpty),
    ];
}

impl Validate for UpdateMeRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `POST auth/change-password/`: the current password proves it is her, not someone holding
/// her unlocked phone. Every other session ends.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest { .. }")
    }
}

impl Rules for ChangePasswordRequest {
    const SCHEMA: &'static str = "ChangePasswordRequest";
    const FIELDS: &'static [rules::Field] = &[
        field(
            "current_password",
            Rule::Secret {
                min: 1,
                max: MAX_PASSWORD,
            },
        ),
        field(
            "new_password",
            Rule::Secret {
                min: MIN_PASSWORD,
                max: MAX_PASSWORD,
            },
        ),
    ];
}

impl Validate for ChangePasswordRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// At most this many characters of a device's own description are kept.
pub const MAX_DEVICE_LABEL: usize = 120;

/// One place the user is signed in (`GET auth/sessions/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub id: Uuid,
    /// How the device described itself when it signed in (its `User-Agent`), cut to
    /// [`MAX_DEVICE_LABEL`] characters; empty when it said nothing.
    pub device_label: String,
    pub created_at: DateTime<Utc>,
    /// The last sign-in or token refresh of this session.
    pub last_used_at: DateTime<Utc>,
    /// The session this request was made with.
    pub current: bool,
}

/// `GET auth/sessions/`: the caller's open sessions, newest use first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// How many sessions a request ended (`revoke-others`, `change-password`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsEnded {
    pub success: bool,
    pub ended: u64,
}

/// A plain acknowledgement.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OkResponse {
    pub success: bool,
    pub message: String,
}

/// `GET auth/health/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthResponse {
    pub success: bool,
    pub message: String,
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> RegisterRequest {
        RegisterRequest {
            email: "a@b.co".into(),
            password: "long enough".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            role: Role::Survivor,
            provider_type: None,
            is_anonymous: false,
        }
    }

    #[test]
    fn register_rules() {
        assert!(reg().validate().is_ok());
        let bad = RegisterRequest {
            email: "not-an-email".into(),
            role: Role::Dispatcher,
            ..reg()
        };
        let errs = bad.validate().unwrap_err().0;
        assert!(errs.contains_key("email"));
        assert!(errs.contains_key("role"));
        let provider = RegisterRequest {
            role: Role::Provider,
            ..reg()
        };
        assert!(provider
            .validate()
            .unwrap_err()
            .0
            .contains_key("provider_type"));
        let anon = RegisterRequest {
            first_name: String::new(),
            last_name: String::new(),
            is_anonymous: true,
            ..reg()
        };
        assert!(anon.validate().is_ok());
        let anon_provider = RegisterRequest {
            role: Role::Provider,
            provider_type: Some(ProviderType::Legal),
            is_anonymous: true,
            ..reg()
        };
        assert!(anon_provider
            .validate()
            .unwrap_err()
            .0
            .contains_key("is_anonymous"));
    }

    #[test]
    fn enums_round_trip() {
        for p in ProviderType::ALL {
            assert_eq!(ProviderType::parse(p.as_str()), Some(*p));
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
    }

    #[test]
    fn tokens_never_debug_print() {
        let t = TokenPair {
            access: "secret-a".into(),
            refresh: "secret-r".into(),
        };
        assert!(!format!("{t:?}").contains("secret"));
    }
}
