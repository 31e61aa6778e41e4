//! `auth/*` endpoints.

use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use kintara_api::endpoint;
use kintara_api::{
    AccountState, AuthResponse, ChangePasswordRequest, ErrorEnvelope, FieldError, FieldErrors,
    HealthResponse, LoginRequest, MeResponse, OkResponse, RefreshRequest, RefreshResponse,
    RegisterRequest, Role, SessionList, SessionsEnded, TokenPair, UpdateMeRequest, User,
};

use super::{password, sessions, throttle, users, AuthUser};
use crate::client_addr::ClientAddr;
use crate::db::is_unique_violation;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, ValidJson};
use crate::limits::Action;
use crate::state::AppState;
use kintara_api::Refusal;

/// How the device describes itself, for the user's list of sessions.
fn device_label(headers: &HeaderMap) -> &str {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Register a survivor or provider account. A provider's account awaits an admin's verification
/// (`account_state: unverified`) before any case reaches them.
#[utoipa::path(post, path = endpoint::Register::PATH, tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = AuthResponse),
        (status = 409, description = "The e-mail has an account", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
        (status = 429, description = "Too many registrations from this address; `Retry-After` says when", body = ErrorEnvelope),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ValidJson(req): ValidJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<AuthResponse>)> {
    state.limits.address(Action::Register, addr)?;
    let (first_name, last_name) = if req.is_anonymous && req.first_name.trim().is_empty() {
        ("Anonymous".to_owned(), "User".to_owned())
    } else {
        (
            req.first_name.trim().to_owned(),
            req.last_name.trim().to_owned(),
        )
    };
    let password_hash = password::hash(req.password).await?;
    let mut tx = state.db.begin_write().await?;
    let new = users::NewUser {
        email: req.email,
        password_hash,
        first_name,
        last_name,
        role: req.role,
        provider_type: req.provider_type,
        is_anonymous: req.is_anonymous,
        state: match req.role {
            Role::Provider => AccountState::Unverified,
            _ => AccountState::Active,
        },
    };
    let user = match users::insert(&mut tx, new).await {
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
    let session = sessions::create(
        &mut tx,
        user.id,
        device_label(&headers),
        refresh_ttl(&state),
    )
    .await?;
    tx.commit().await?;
    let access = state
        .keys
        .issue(user.id, session.id, user.role, user.provider_type)?;
    tracing::info!(user = %user.id, role = %user.role, "account registered");
    let message = match user.account_state {
        AccountState::Unverified => {
            "Account created. An administrator will verify it before any case reaches you."
        }
        _ => "Account created.",
    };
    Ok((
        StatusCode::CREATED,
        Json(AuthResponse {
            success: true,
            message: message.into(),
            user: user.to_api(),
            tokens: TokenPair {
                access,
                refresh: session.refresh,
            },
        }),
    ))
}

/// Sign in with e-mail and password.
#[utoipa::path(post, path = endpoint::Login::PATH, tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = AuthResponse),
        (status = 401, description = "Wrong e-mail or password", body = ErrorEnvelope),
        (status = 429, description = "Too many failed sign-ins from this address, for this e-mail or any: paused for `Retry-After` seconds", body = ErrorEnvelope),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ValidJson(req): ValidJson<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    state.limits.sign_in(&req.email, addr)?;
    let keys = throttle::Keys::new(&req.email, addr);
    let now = Utc::now();
    // While paused, the password is not even checked: guessing costs the guesser time, and us
    // no Argon2 work.
    if let Some(until) =
        throttle::paused_until(&mut *state.db.read.acquire().await?, &keys, now).await?
    {
        return Err(paused(until, now));
    }
    let user = users::find_by_email(&mut *state.db.read.acquire().await?, &req.email).await?;
    let ok = password::verify(req.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let mut tx = state.db.begin_write().await?;
    // A known e-mail with a wrong password and an unknown e-mail are counted and answered alike.
    let Some(user) = user.filter(|_| ok) else {
        let until = throttle::record_failure(&mut tx, &keys, now).await?;
        tx.commit().await?;
        tracing::info!(paused = until.is_some(), "failed sign-in");
        return Err(match until {
            Some(until) => paused(until, now),
            None => ApiError::from(Refusal::InvalidCredentials {}),
        });
    };
    if !user.account_state.may_sign_in() {
        return Err(ApiError::from(Refusal::AccountDisabled {}));
    }
    throttle::record_success(&mut tx, &keys).await?;
    users::record_login(&mut tx, user.id).await?;
    let session = sessions::create(
        &mut tx,
        user.id,
        device_label(&headers),
        refresh_ttl(&state),
    )
    .await?;
    let user = users::find_by_id(&mut tx, user.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    let access = state
        .keys
        .issue(user.id, session.id, user.role, user.provider_type)?;
    Ok(Json(AuthResponse {
        success: true,
        message: "Signed in.".into(),
        user: user.to_api(),
        tokens: TokenPair {
            access,
            refresh: session.refresh,
        },
    }))
}

fn paused(until: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> ApiError {
    let secs = (until - now).num_seconds().max(1) as u64;
    let minutes = secs.div_ceil(60);
    ApiError::retry_after(Refusal::SignInPaused { minutes }, secs)
}

fn refresh_ttl(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.config.refresh_ttl()).unwrap_or(chrono::Duration::days(7))
}

/// Exchange a refresh token for a new pair. The presented token is spent; presenting it again
/// ends the session.
#[utoipa::path(post, path = endpoint::Refresh::PATH, tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = RefreshResponse),
        (status = 401, description = "Invalid, expired, reused or revoked", body = ErrorEnvelope),
        (status = 429, description = "Too many refreshes from this address; `Retry-After` says when", body = ErrorEnvelope),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ValidJson(req): ValidJson<RefreshRequest>,
) -> ApiResult<Json<RefreshResponse>> {
    state.limits.address(Action::Refresh, addr)?;
    let mut tx = state.db.begin_write().await?;
    let rotated = sessions::rotate(&mut tx, &req.refresh, refresh_ttl(&state)).await;
    // A detected reuse revokes the session; that must be kept even though the request fails.
    tx.commit().await?;
    let rotated = rotated?;
    let user = users::find_by_id(&mut *state.db.read.acquire().await?, rotated.user_id)
        .await?
        .filter(|u| u.account_state.may_sign_in())
        .ok_or_else(|| ApiError::from(Refusal::AccountDisabled {}))?;
    let access = state
        .keys
        .issue(user.id, rotated.session_id, user.role, user.provider_type)?;
    Ok(Json(RefreshResponse {
        success: true,
        access,
        refresh: rotated.refresh,
    }))
}

/// End the session the refresh token belongs to. Works with an expired access token, since
/// holding the refresh token proves the session.
#[utoipa::path(post, path = endpoint::Logout::PATH, tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Signed out", body = OkResponse),
        (status = 401, description = "Unknown refresh token", body = ErrorEnvelope),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<RefreshRequest>,
) -> ApiResult<Json<OkResponse>> {
    let mut tx = state.db.begin_write().await?;
    let found = sessions::find(&mut tx, &req.refresh)
        .await?
        .ok_or_else(|| ApiError::from(Refusal::InvalidToken {}))?;
    sessions::revoke(&mut tx, found.session_id, "logout").await?;
    tx.commit().await?;
    Ok(Json(OkResponse {
        success: true,
        message: "Signed out.".into(),
    }))
}

/// Change the caller's password. The current password is required; every other session ends
/// (and its push tokens with it), so whoever else knew the old one is out. Wrong current
/// passwords count towards the same pause as failed sign-ins.
#[utoipa::path(post, path = endpoint::ChangePassword::PATH, tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; the other sessions ended", body = SessionsEnded),
        (status = 403, description = "The current password is wrong", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong passwords from this address: paused for `Retry-After` seconds", body = ErrorEnvelope),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ClientAddr(addr): ClientAddr,
    ValidJson(req): ValidJson<ChangePasswordRequest>,
) -> ApiResult<Json<SessionsEnded>> {
    state
        .limits
        .account(Action::ChangePassword, user.id, addr)?;
    let me = users::find_by_id(&mut *state.db.read.acquire().await?, user.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let keys = throttle::Keys::new(&me.email, addr);
    let now = Utc::now();
    if let Some(until) =
        throttle::paused_until(&mut *state.db.read.acquire().await?, &keys, now).await?
    {
        return Err(paused(until, now));
    }
    let ok = password::verify(req.current_password, Some(me.password_hash)).await?;
    if !ok {
        let mut tx = state.db.begin_write().await?;
        let until = throttle::record_failure(&mut tx, &keys, now).await?;
        tx.commit().await?;
        return Err(match until {
            Some(until) => paused(until, now),
            None => ApiError::from(Refusal::WrongPassword {}),
        });
    }
    let hash = password::hash(req.new_password).await?;
    let mut tx = state.db.begin_write().await?;
    throttle::record_success(&mut tx, &keys).await?;
    users::set_password(&mut tx, user.id, &hash).await?;
    let ended =
        sessions::revoke_all(&mut tx, user.id, Some(user.session_id), "password changed").await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, ended, "password changed");
    Ok(Json(SessionsEnded {
        success: true,
        ended,
    }))
}

/// Where the caller is signed in: each open session with its device, when it began and when it
/// was last used; the one making this request is marked `current`.
#[utoipa::path(get, path = endpoint::Sessions::PATH, tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller's open sessions", body = SessionList)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<SessionList>> {
    let mut conn = state.db.read.acquire().await?;
    Ok(Json(SessionList {
        sessions: sessions::list(&mut conn, user.id, user.session_id).await?,
    }))
}

/// End another of the caller's sessions: that device is signed out at once (its socket closes,
/// its push tokens are removed).
#[utoipa::path(delete, path = endpoint::EndSession::PATH, tag = "auth", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such open session of yours", body = ErrorEnvelope),
        (status = 409, description = "That is the current session: sign out instead", body = ErrorEnvelope),
    ))]
pub async fn end_session(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    if id == user.session_id {
        return Err(ApiError::from(Refusal::CurrentSession {}));
    }
    let mut tx = state.db.begin_write().await?;
    if !sessions::is_open_of(&mut tx, id, user.id).await? {
        return Err(ApiError::not_found());
    }
    sessions::revoke(&mut tx, id, "ended by the user").await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the caller's but this one.
#[utoipa::path(post, path = endpoint::RevokeOtherSessions::PATH, tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The other sessions ended", body = SessionsEnded)))]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<SessionsEnded>> {
    let mut tx = state.db.begin_write().await?;
    let ended =
        sessions::revoke_all(&mut tx, user.id, Some(user.session_id), "ended by the user").await?;
    tx.commit().await?;
    Ok(Json(SessionsEnded {
        success: true,
        ended,
    }))
}

/// The signed-in user.
#[utoipa::path(get, path = endpoint::Me::PATH, tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = MeResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
    ))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    Ok(Json(MeResponse {
        success: true,
        user: load_user(&state, &user).await?,
    }))
}

/// Change the signed-in user's name, language or WhatsApp number.
#[utoipa::path(put, path = endpoint::UpdateMe::PATH, tag = "auth", security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "Updated", body = MeResponse),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<UpdateMeRequest>,
) -> ApiResult<Json<MeResponse>> {
    let mut tx = state.db.begin_write().await?;
    users::update_profile(&mut tx, user.id, &req).await?;
    tx.commit().await?;
    Ok(Json(MeResponse {
        success: true,
        user: load_user(&state, &user).await?,
    }))
}

async fn load_user(state: &AppState, user: &AuthUser) -> ApiResult<User> {
    let row = users::find_by_id(&mut *state.db.read.acquire().await?, user.id).await?;
    Ok(row.ok_or_else(ApiError::not_found)?.to_api())
}

/// Liveness and the database backend in use.
#[utoipa::path(get, path = endpoint::Health::PATH, tag = "auth",
    responses((status = 200, description = "The service is up", body = HealthResponse)))]
pub async fn health(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    sqlx::query("SELECT 1").execute(&state.db.read).await?;
    Ok(Json(HealthResponse {
        success: true,
        message: "Kintara API is running".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: state.db.backend.name().into(),
    }))
}
