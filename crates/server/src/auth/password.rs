//! Argon2id password hashing, run off the async executor (a hash takes tens of milliseconds).
//! At most one hash per CPU runs at a time: a burst of sign-ins queues instead of starting a
//! blocking thread (and 19 MiB of Argon2 memory, which the allocator keeps) per request.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::ApiError;

/// Argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane): OWASP's recommended minimum.
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs one Argon2 computation on the blocking pool, waiting for a permit first.
async fn argon2_work<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = permits().acquire().await.map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    argon2_work(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(ApiError::internal)
}

/// Verifies `password` against `stored`. With no stored hash (unknown account) it still does the
/// work of a verification, so response time does not tell which e-mails have accounts.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    argon2_work(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"not a real password", &salt)
            .expect("hashing a constant cannot fail")
            .to_string()
    })
}
