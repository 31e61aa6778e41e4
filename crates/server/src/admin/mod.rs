//! `admin/*` endpoints: accounts and their states, staff creation, and the audit log.
//!
//! ```text
//! unverified ──verify──▶ active ──suspend──▶ suspended ──reinstate──▶ active (or unverified,
//!     │                    │                     │                    if never verified)
//!     └──────suspend───────┼──────disable────────┴──▶ disabled ──reinstate──▶ (the same)
//! ```
//!
//! Suspending or disabling ends the account's sessions at once (its sockets close with 4003) and
//! takes its live cases back to the dispatchers. Admins cannot suspend or disable themselves.

pub mod audit;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kintara_api::endpoint;
use kintara_api::{
    AccountActionRequest, AccountState, AdminUserPage, AuditAction, AuditPage, CreateStaffRequest,
    ErrorEnvelope, FieldError, FieldErrors, Refusal, Role, User, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
    MAX_SEARCH,
};
use serde::Deserialize;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::users::{self, UserRow};
use crate::auth::{password, sessions, AuthUser};
use crate::db::is_unique_violation;
use crate::error::{ApiError, ApiResult};
use crate::extract::query::{Param, QueryParam};
use crate::extract::{IdPath, ValidJson, ValidQuery};
use crate::naming::shown_name;
use crate::openapi::MAX_PAGE;
use crate::state::AppState;

/// A user as an admin sees them: an anonymous survivor's name stays hidden here too, and no
/// one's WhatsApp number is shown.
fn admin_view(row: &UserRow) -> User {
    let mut user = row.to_api();
    // Where she gets messages is hers alone.
    user.whatsapp_number = None;
    if row.is_anonymous {
        user.first_name = shown_name("", "", true);
        user.last_name = String::new();
        user.full_name = user.first_name.clone();
    }
    user
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UsersQuery {
    pub role: Option<String>,
    pub state: Option<String>,
    /// Part of an e-mail address or a name (an anonymous survivor is found by e-mail only).
    pub q: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// How `UsersQuery` is read.
pub const USERS_QUERY: [QueryParam; 5] = [
    QueryParam::optional("role", Param::Choice(Role::WIRE)),
    QueryParam::optional("state", Param::Choice(AccountState::WIRE)),
    QueryParam::optional("q", Param::Text(MAX_SEARCH)),
    QueryParam::optional("page", Param::Number(MAX_PAGE)),
    QueryParam::optional("page_size", Param::Number(MAX_PAGE_SIZE)),
];

/// `LIKE` pattern matching `text` anywhere, with its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Accounts, newest first, filtered by role, state and a search.
#[utoipa::path(get, path = endpoint::AdminUsers::PATH, tag = "admin", security(("bearer" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "Matching accounts", body = AdminUserPage),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<UsersQuery>,
) -> ApiResult<Json<AdminUserPage>> {
    user.may::<endpoint::AdminUsers>()?;
    let [role, account_state, search, page, page_size] = USERS_QUERY;
    let role = role.choice(q.role.as_deref(), Role::parse)?;
    let account_state = account_state.choice(q.state.as_deref(), AccountState::parse)?;
    let search = search.text(q.q.as_deref())?.map(contains_pattern);
    let page = page.number(q.page.as_deref())?.unwrap_or(1) as i64;
    let size = page_size
        .number(q.page_size.as_deref())?
        .map_or(DEFAULT_PAGE_SIZE as i64, |n| n as i64);
    let filter = "($1 IS NULL OR role = $1) AND ($2 IS NULL OR account_state = $2) \
        AND ($3 IS NULL OR LOWER(email) LIKE $3 ESCAPE '\\' \
             OR (is_anonymous = 0 AND LOWER(first_name || ' ' || last_name) LIKE $3 ESCAPE '\\'))";
    let mut conn = state.db.read.acquire().await?;
    let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users WHERE {filter}"))
        .bind(role.map(Role::as_str))
        .bind(account_state.map(AccountState::as_str))
        .bind(search.clone())
        .fetch_one(&mut *conn)
        .await?;
    let sql = format!(
        "SELECT {} FROM users WHERE {filter} ORDER BY created_at DESC, id LIMIT $4 OFFSET $5",
        users::COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(role.map(Role::as_str))
        .bind(account_state.map(AccountState::as_str))
        .bind(search)
        .bind(size)
        .bind((page - 1).saturating_mul(size))
        .fetch_all(&mut *conn)
        .await?;
    let results = rows
        .iter()
        .map(|r| users::from_row(r).map(|u| admin_view(&u)))
        .collect::<Result<_, _>>()?;
    Ok(Json(AdminUserPage { count, results }))
}

/// Create a dispatcher's or admin's account, active at once.
#[utoipa::path(post, path = endpoint::CreateStaff::PATH, tag = "admin", security(("bearer" = [])),
    request_body = CreateStaffRequest,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 409, description = "The e-mail has an account", body = ErrorEnvelope),
    ))]
pub async fn create_staff(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<CreateStaffRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    user.may::<endpoint::CreateStaff>()?;
    let password_hash = password::hash(req.password).await?;
    let mut tx = state.db.begin_write().await?;
    let new = users::NewUser {
        email: req.email,
        password_hash,
        first_name: req.first_name.trim().to_owned(),
        last_name: req.last_name.trim().to_owned(),
        role: req.role.role(),
        provider_type: None,
        is_anonymous: false,
        state: AccountState::Active,
    };
    let created = match users::insert(&mut tx, new).await {
        Ok(u) => u,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Refused {
                refusal: Refusal::EmailTaken {},
                errors: FieldErrors::one("email", FieldError::Taken {}),
                retry_after_secs: None,
            })
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, user.id, AuditAction::Created, created.id, "").await?;
    tx.commit().await?;
    tracing::info!(admin = %user.id, user = %created.id, role = %created.role, "staff account created");
    Ok((StatusCode::CREATED, Json(admin_view(&created))))
}

/// What a decision does to an account.
struct Decision {
    action: AuditAction,
    from: &'static [AccountState],
    /// Ends the account's sessions and takes its cases back.
    stops: bool,
}

const VERIFY: Decision = Decision {
    action: AuditAction::Verified,
    from: &[AccountState::Unverified],
    stops: false,
};
const SUSPEND: Decision = Decision {
    action: AuditAction::Suspended,
    from: &[AccountState::Unverified, AccountState::Active],
    stops: true,
};
const DISABLE: Decision = Decision {
    action: AuditAction::Disabled,
    from: &[
        AccountState::Unverified,
        AccountState::Active,
        AccountState::Suspended,
    ],
    stops: true,
};
const REINSTATE: Decision = Decision {
    action: AuditAction::Reinstated,
    from: &[AccountState::Suspended, AccountState::Disabled],
    stops: false,
};

async fn decide(
    state: &AppState,
    admin: &AuthUser,
    target: Uuid,
    decision: Decision,
    reason: &str,
) -> ApiResult<Json<User>> {
    if decision.stops && target == admin.id {
        return Err(ApiError::from(Refusal::NotWithYourself {}));
    }
    let mut tx = state.db.begin_write().await?;
    let row = users::find_by_id(&mut tx, target)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let to = match decision.action {
        AuditAction::Verified => AccountState::Active,
        AuditAction::Suspended => AccountState::Suspended,
        AuditAction::Disabled => AccountState::Disabled,
        // Back to where they were: a provider nobody verified is still unverified.
        _ if row.role == Role::Provider && !users::was_verified(&mut tx, target).await? => {
            AccountState::Unverified
        }
        _ => AccountState::Active,
    };
    let verifying = decision.action == AuditAction::Verified;
    if !users::set_state(&mut tx, target, decision.from, to, verifying).await? {
        return Err(ApiError::from(Refusal::AccountInState {
            state: row.account_state,
        }));
    }
    if decision.stops {
        stop(&mut tx, admin.id, &row, reason).await?;
    }
    audit::record(&mut tx, admin.id, decision.action, target, reason).await?;
    let updated = users::find_by_id(&mut tx, target)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    tracing::info!(admin = %admin.id, user = %target, action = %decision.action, "account decision");
    Ok(Json(admin_view(&updated)))
}

/// A suspended or disabled account is signed out everywhere, and its cases go back to the
/// dispatchers.
async fn stop(conn: &mut AnyConnection, admin: Uuid, row: &UserRow, reason: &str) -> ApiResult<()> {
    sessions::revoke_all(conn, row.id, None, "account stopped by an administrator").await?;
    if row.role == Role::Provider {
        crate::workflow::withdraw_provider(conn, row.id, admin, reason.trim()).await?;
    }
    Ok(())
}

/// Verify a provider who registered themselves: from now on they can be offered cases.
#[utoipa::path(post, path = endpoint::VerifyUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = AccountActionRequest,
    responses(
        (status = 200, description = "Verified", body = User),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 409, description = "The account is not awaiting verification", body = ErrorEnvelope),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<AccountActionRequest>,
) -> ApiResult<Json<User>> {
    user.may::<endpoint::VerifyUser>()?;
    decide(&state, &user, id, VERIFY, &req.reason).await
}

/// Suspend an account while something is looked into: signed out everywhere at once.
#[utoipa::path(post, path = endpoint::SuspendUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = AccountActionRequest,
    responses(
        (status = 200, description = "Suspended", body = User),
        (status = 403, description = "Not an admin, or your own account", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 409, description = "Already suspended or disabled", body = ErrorEnvelope),
    ))]
pub async fn suspend(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<AccountActionRequest>,
) -> ApiResult<Json<User>> {
    user.may::<endpoint::SuspendUser>()?;
    decide(&state, &user, id, SUSPEND, &req.reason).await
}

/// Disable an account (someone who left, an abuser's account): signed out everywhere at once.
#[utoipa::path(post, path = endpoint::DisableUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = AccountActionRequest,
    responses(
        (status = 200, description = "Disabled", body = User),
        (status = 403, description = "Not an admin, or your own account", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 409, description = "Already disabled", body = ErrorEnvelope),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<AccountActionRequest>,
) -> ApiResult<Json<User>> {
    user.may::<endpoint::DisableUser>()?;
    decide(&state, &user, id, DISABLE, &req.reason).await
}

/// Reinstate a suspended or disabled account: back to active (a provider never verified is back
/// to awaiting verification).
#[utoipa::path(post, path = endpoint::ReinstateUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = AccountActionRequest,
    responses(
        (status = 200, description = "Reinstated", body = User),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 409, description = "Neither suspended nor disabled", body = ErrorEnvelope),
    ))]
pub async fn reinstate(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<AccountActionRequest>,
) -> ApiResult<Json<User>> {
    user.may::<endpoint::ReinstateUser>()?;
    decide(&state, &user, id, REINSTATE, &req.reason).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only decisions about this account.
    pub user: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// How `AuditQuery` is read.
pub const AUDIT_QUERY: [QueryParam; 3] = [
    QueryParam::optional("user", Param::Id),
    QueryParam::optional("page", Param::Number(MAX_PAGE)),
    QueryParam::optional("page_size", Param::Number(MAX_PAGE_SIZE)),
];

/// The audit log: who did what to whom, when and why, newest first.
#[utoipa::path(get, path = endpoint::Audit::PATH, tag = "admin", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Decisions", body = AuditPage),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
    ))]
pub async fn audit_log(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    user.may::<endpoint::Audit>()?;
    let [target, page, page_size] = AUDIT_QUERY;
    let target = target.id(q.user.as_deref())?;
    let page = page.number(q.page.as_deref())?.unwrap_or(1) as i64;
    let size = page_size
        .number(q.page_size.as_deref())?
        .map_or(DEFAULT_PAGE_SIZE as i64, |n| n as i64);
    let mut conn = state.db.read.acquire().await?;
    let (count, results) =
        audit::page(&mut conn, target, size, (page - 1).saturating_mul(size)).await?;
    Ok(Json(AuditPage { count, results }))
}
