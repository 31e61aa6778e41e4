//! Configuration for tests and benchmarks, so one suite runs on every database backend.
//!
//! With `KINTARA_TEST_DATABASE_URL=postgres://user:pass@host:port/db` set, every call creates a
//! fresh PostgreSQL database on that server (named `kt_<random>`); without it, SQLite in the
//! given directory. Either way the data directory holds the keys and evidence files.

use std::path::Path;

use sqlx::{Connection, Executor};

use crate::Config;

pub const DATABASE_ENV: &str = "KINTARA_TEST_DATABASE_URL";

/// Test databases are named with this prefix, so a test run can drop the old ones.
pub const DATABASE_PREFIX: &str = "kt_";

#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    #[error("{DATABASE_ENV} is not a usable URL: {0}")]
    Url(String),
    #[error("cannot create a test database: {0}")]
    Create(#[from] sqlx::Error),
}

/// A configuration on an ephemeral port for `data_dir`, on the backend the environment names.
pub async fn config(data_dir: &Path) -> Config {
    let mut config = Config::for_data_dir(data_dir);
    // Suites make hundreds of requests from one account and one address; the rate-limit tests
    // set their own limits.
    config.rate_limits = crate::limits::LimitSpec::off();
    if let Ok(admin_url) = std::env::var(DATABASE_ENV) {
        let url = fresh_postgres_database(&admin_url)
            .await
            .expect("a fresh test database");
        config.database_url = Some(url);
    }
    config
}

/// Creates an empty database on the server of `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, TestDbError> {
    sqlx::any::install_default_drivers();
    let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    admin.close().await?;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base
        .find("://")
        .ok_or_else(|| TestDbError::Url("no scheme".into()))?
        + 3;
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}
