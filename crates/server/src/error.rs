//! `ApiError`: every handler's error, rendered as the one envelope of `kintara_api::ErrorEnvelope`
//! (a `Refusal` code with its params, worded in English by `kintara-i18n`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kintara_api::{ErrorEnvelope, FieldError, FieldErrors, FieldMessage, Refusal};
use kintara_i18n::Lang;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's request is refused; nothing was changed. Worded from its code.
    #[error("refused: {refusal:?}")]
    Refused {
        refusal: Refusal,
        errors: FieldErrors,
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

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        ApiError::Refused {
            refusal,
            errors: FieldErrors::default(),
            retry_after_secs: None,
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Refused {
            refusal: Refusal::ValidationFailed {},
            errors,
            retry_after_secs: None,
        }
    }
}

impl ApiError {
    pub fn validation(errors: FieldErrors) -> Self {
        errors.into()
    }

    /// One field's error.
    pub fn field(field: &str, error: FieldError) -> Self {
        FieldErrors::one(field, error).into()
    }

    /// Also what a user gets for something that exists but is not theirs: existence is private.
    pub fn not_found() -> Self {
        Refusal::NotFound {}.into()
    }

    /// A refusal that says when to come back (`Retry-After`).
    pub fn retry_after(refusal: Refusal, secs: u64) -> Self {
        ApiError::Refused {
            refusal,
            errors: FieldErrors::default(),
            retry_after_secs: Some(secs),
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        ApiError::Internal(what.to_string())
    }

    /// The status and envelope a client sees; server-side details go to the log (never request
    /// content) and the client gets the refusal's code, params and English wording. Also used
    /// for errors on the WebSocket.
    pub fn envelope(self) -> (StatusCode, ErrorEnvelope, Option<u64>) {
        match self {
            ApiError::Refused {
                refusal,
                errors,
                retry_after_secs,
            } => (
                status_of(&refusal),
                envelope(refusal, errors),
                retry_after_secs,
            ),
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

/// The one place a refusal becomes an envelope: worded in English by `kintara-i18n`.
fn envelope(refusal: Refusal, errors: FieldErrors) -> ErrorEnvelope {
    let errors = errors
        .0
        .into_iter()
        .map(|(field, list)| {
            let list = list
                .into_iter()
                .map(|error| FieldMessage {
                    message: kintara_i18n::refusal::field_error(Lang::En, &error),
                    error,
                })
                .collect();
            (field, list)
        })
        .collect();
    ErrorEnvelope {
        success: false,
        message: kintara_i18n::refusal::refusal(Lang::En, &refusal),
        refusal,
        errors,
    }
}

fn status_of(refusal: &Refusal) -> StatusCode {
    StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST)
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
    let refusal = Refusal::ServiceUnavailable {};
    (
        status_of(&refusal),
        envelope(refusal, FieldErrors::default()),
        Some(retry_after_secs),
    )
}

/// PostgreSQL's deadlock and serialization failures (SQLSTATE 40P01, 40001) and SQLite's
/// SQLITE_BUSY (5): the transaction was rolled back and nothing of it stands.
fn lost_a_lock_race(e: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(e.code().as_deref(), Some("40P01" | "40001" | "5"))
}

fn internal_envelope() -> (StatusCode, ErrorEnvelope, Option<u64>) {
    let refusal = Refusal::InternalError {};
    (
        status_of(&refusal),
        envelope(refusal, FieldErrors::default()),
        None,
    )
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
        assert_eq!(body.code(), kintara_api::codes::SERVICE_UNAVAILABLE);
        assert!(!body.success);
    }

    #[test]
    fn other_failures_carry_no_retry_after() {
        let resp = ApiError::internal("boom").into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().get(header::RETRY_AFTER).is_none());
        let resp = ApiError::retry_after(Refusal::SignInPaused { minutes: 1 }, 60).into_response();
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
