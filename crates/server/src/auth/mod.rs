//! Accounts, sessions and the authenticated-user extractor.

pub mod handlers;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use kintara_api::endpoint::{Access, Endpoint};
use kintara_api::{AccountState, ProviderType, Role};
use sqlx::Row;
use uuid::Uuid;

use crate::db::get_enum;
use crate::error::ApiError;
use crate::state::AppState;
use kintara_api::Refusal;
use tokens::Claims;

/// The caller, proven by a valid access token whose session is still open. Role and type come
/// from the database, not the token, so a changed or disabled account takes effect at once.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
    pub provider_type: Option<ProviderType>,
    /// `Unverified` or `Active`: no other state gets past [`session_user`].
    pub account_state: AccountState,
}

impl AuthUser {
    /// Dispatchers and admins see every case.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Dispatcher | Role::Admin)
    }

    /// The role gate of endpoint `E` (its declared `ACCESS`): 403, and nothing done, for a role
    /// it does not admit. Every handler of a role-gated endpoint calls it first.
    pub fn may<E: Endpoint>(&self) -> Result<(), ApiError> {
        if E::ACCESS.allows(Some(self.role)) {
            return Ok(());
        }
        let roles = match E::ACCESS {
            Access::Roles(roles) => roles.to_vec(),
            Access::Public | Access::SignedIn => Vec::new(),
        };
        Err(Refusal::OnlyRoles { roles }.into())
    }
}

pub fn bearer_token(parts: &Parts) -> Option<&str> {
    bearer_token_of(&parts.headers)
}

pub fn bearer_token_of(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token =
            bearer_token(parts).ok_or_else(|| ApiError::from(Refusal::NotAuthenticated {}))?;
        authenticate(state, token).await
    }
}

/// Verifies an access token and that its session and account are live.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let claims = state.keys.verify(token)?;
    session_user(state, &claims).await
}

/// The user of verified `claims`, if their session is still open and the account active. A
/// socket calls this again while connected, so a sign-out ends it too.
pub async fn session_user(state: &AppState, claims: &Claims) -> Result<AuthUser, ApiError> {
    let row = sqlx::query(
        "SELECT u.role, u.provider_type, u.account_state FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL",
    )
    .bind(claims.sid.to_string())
    .bind(claims.sub.to_string())
    .fetch_optional(&state.db.read)
    .await?
    .ok_or_else(|| ApiError::from(Refusal::SessionRevoked {}))?;
    let account_state = get_enum(&row, "account_state", AccountState::parse)?;
    if !account_state.may_sign_in() {
        return Err(ApiError::from(Refusal::AccountDisabled {}));
    }
    let ptype: Option<String> = row.try_get("provider_type")?;
    Ok(AuthUser {
        id: claims.sub,
        session_id: claims.sid,
        role: get_enum(&row, "role", Role::parse)?,
        provider_type: ptype.as_deref().and_then(ProviderType::parse),
        account_state,
    })
}
