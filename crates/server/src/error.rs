//! `ApiError`: every handler's error, rendered as the one envelope of `kintara_api::ErrorEnvelope`.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kintara_api::{codes, ErrorEnvelope, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's fault; the message is safe to show.
    #[error("{status}: {code}: {message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        errors: BTreeMap<String, Vec<String>>,
        retry_after_secs: Option<u64>,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What an overloaded server (no database connection free within the pool's wait) tells clients
/// to wait, in seconds: long enough for a burst to drain, short enough not to strand a report.
pub const OVERLOAD_RETRY_SECS: u64 = 5;

impl ApiError {
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            errors: BTreeMap::new(),
            retry_after_secs: None,
        }
    }

    pub fn validation(errors: FieldErrors) -> Self {
        ApiError::Client {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: codes::VALIDATION_FAILED,
            message: "Some fields need attention.".into(),
            errors: errors.0,
            retry_after_secs: None,
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::default();
        e.add(field, message);
        Self::validation(e)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, codes::FORBIDDEN, message)
    }

    /// Also what a user gets for something that exists but is not theirs: existence is private.
    pub fn not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, codes::NOT_FOUND, "Not found.")
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, codes::CONFLICT, message)
    }

    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after_secs: u64) -> Self {
        ApiError::Client {
            status: StatusCode::TOO_MANY_REQUESTS,
            code,
            message: message.into(),
            errors: BTreeMap::new(),
            retry_after_secs: Some(retry_after_secs),
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        ApiError::Internal(what.to_string())
    }
}

impl ApiError {
    /// The machine-readable code of a client error.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            ApiError::Client { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The status and envelope a client sees; server-side details go to the log (never request
    /// content) and the client gets a plain sentence. Also used for errors on the WebSocket.
    pub fn envelope(self) -> (StatusCode, ErrorEnvelope, Option<u64>) {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                errors,
                retry_after_secs,
            } => {
                let body = ErrorEnvelope {
                    success: false,
                    message,
                    code: code.into(),
                    errors,
                };
                (status, body, retry_after_secs)
            }
            // Every connection busy for the pool's whole wait: overload, not a fault. Nothing was
            // done, so the client may simply come back.
            ApiError::Db(sqlx::Error::PoolTimedOut) => {
                tracing::warn!("database pool exhausted; answering 503");
                busy(OVERLOAD_RETRY_SECS)
            }
            // Two transactions each waiting for rows the other holds (PostgreSQL breaks the tie
            // by failing one), or a lock SQLite would not wait for: rolled back whole, so the
            // client may simply try again.
            ApiError::Db(sqlx::Error::Database(d)) if lost_a_lock_race(d.as_ref()) => {
                tracing::warn!(code = ?d.code(), "a transaction lost a lock race; answering 503");
                busy(LOCK_RACE_RETRY_SECS)
            }
            ApiError::Db(e) => {
                tracing::error!(error = %e, "database error");
                internal_envelope()
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                internal_envelope()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body, retry_after_secs) = self.envelope();
        let mut resp = (status, Json(body)).into_response();
        if let Some(secs) = retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// What a client waits after losing a lock race: the winner is done by then.
const LOCK_RACE_RETRY_SECS: u64 = 1;

/// 503 with `Retry-After`: nothing of the request stands, so the client may simply come back.
fn busy(retry_after_secs: u64) -> (StatusCode, ErrorEnvelope, Option<u64>) {
    let body = ErrorEnvelope {
        success: false,
        message: "The server is busy. Nothing was changed; it will be tried again shortly.".into(),
        code: codes::SERVICE_UNAVAILABLE.into(),
        errors: BTreeMap::new(),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        body,
        Some(retry_after_secs),
    )
}

/// PostgreSQL's deadlock and serialization failures (SQLSTATE 40P01, 40001) and SQLite's
/// SQLITE_BUSY (5): the transaction was rolled back and nothing of it stands.
fn lost_a_lock_race(e: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(e.code().as_deref(), Some("40P01" | "40001" | "5"))
}

fn internal_envelope() -> (StatusCode, ErrorEnvelope, Option<u64>) {
    let body = ErrorEnvelope {
        success: false,
        message: "Something went wrong on our side. Nothing was changed; please try again.".into(),
        code: codes::INTERNAL.into(),
        errors: BTreeMap::new(),
    };
    (StatusCode::INTERNAL_SERVER_ERROR, body, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_pool_is_a_503_with_retry_after_in_the_one_envelope() {
        let resp = ApiError::Db(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            resp.headers()[header::RETRY_AFTER],
            OVERLOAD_RETRY_SECS.to_string()
        );
        let (_, body, _) = ApiError::Db(sqlx::Error::PoolTimedOut).envelope();
        assert_eq!(body.code, codes::SERVICE_UNAVAILABLE);
        assert!(!body.success);
    }

    #[test]
    fn other_failures_carry_no_retry_after() {
        let resp = ApiError::internal("boom").into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().get(header::RETRY_AFTER).is_none());
        let resp = ApiError::too_many(codes::ACCOUNT_LOCKED, "locked", 60).into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "60");
    }

    /// A real lost lock race: a second SQLite connection that will not wait for the write lock
    /// another holds. Nothing of its transaction stands, so the client is told to come back.
    #[tokio::test]
    async fn a_lost_lock_race_is_a_503_with_retry_after() {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("race.db").display());
        let mut holder = sqlx::AnyConnection::connect(&url).await.unwrap();
        let mut loser = sqlx::AnyConnection::connect(&url).await.unwrap();
        holder.execute("BEGIN IMMEDIATE").await.unwrap();
        loser.execute("PRAGMA busy_timeout = 0").await.unwrap();
        let lost = loser.execute("BEGIN IMMEDIATE").await.unwrap_err();
        assert!(matches!(lost, sqlx::Error::Database(_)), "{lost:?}");
        let resp = ApiError::Db(lost).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            resp.headers()[header::RETRY_AFTER],
            LOCK_RACE_RETRY_SECS.to_string()
        );
    }
}
