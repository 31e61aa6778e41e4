//! Sign-in throttling that an attacker cannot turn against the account's owner.
//!
//! Failures are counted per (e-mail, client address) and per client address, never per account
//! alone: an attacker's wrong passwords slow the attacker's address down, and the owner signing
//! in from anywhere else is not affected. Known and unknown e-mails are counted alike, so the
//! answers tell nothing about which e-mails have accounts. The counts live in the database, so a
//! restart or another instance does not reset them. README states the policy.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::client_addr::network;
use crate::db::{get_opt_ts, ts};

/// Failures of one e-mail from one address before each further one pauses that pair.
pub const FREE_PER_ACCOUNT: i64 = 4;
/// Failures from one address, whatever the e-mails, before each further one pauses the address.
pub const FREE_PER_ADDRESS: i64 = 20;
/// The first pause; each further failure doubles it, up to `LONGEST_PAUSE`.
pub const FIRST_PAUSE_SECS: i64 = 30;
pub const LONGEST_PAUSE_SECS: i64 = 15 * 60;
/// A count is forgotten this long after its last failure.
pub const FORGET_AFTER: Duration = Duration::hours(1);

/// The two counters one sign-in attempt meets.
pub struct Keys {
    pair: String,
    address: String,
}

impl Keys {
    pub fn new(email: &str, addr: IpAddr) -> Keys {
        let hash = |s: String| hex::encode(Sha256::digest(s.as_bytes()));
        let email = email.trim().to_lowercase();
        let addr = network(addr);
        Keys {
            pair: hash(format!("pair\n{email}\n{addr}")),
            address: hash(format!("addr\n{addr}")),
        }
    }
}

/// How long the pause after `failures` failures lasts, when `free` of them cost nothing.
pub fn pause(failures: i64, free: i64) -> Option<Duration> {
    let over = failures - free;
    (over > 0).then(|| {
        let secs = FIRST_PAUSE_SECS
            .saturating_mul(1_i64 << (over - 1).min(20))
            .min(LONGEST_PAUSE_SECS);
        Duration::seconds(secs)
    })
}

/// Until when either counter pauses sign-ins now, if it does.
pub async fn paused_until(
    conn: &mut AnyConnection,
    keys: &Keys,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT blocked_until FROM sign_in_failures WHERE counter_key IN ($1, $2)")
            .bind(&keys.pair)
            .bind(&keys.address)
            .fetch_all(&mut *conn)
            .await?;
    let mut until = None;
    for row in &rows {
        if let Some(t) = get_opt_ts(row, "blocked_until")?.filter(|t| *t > now) {
            until = until.max(Some(t));
        }
    }
    Ok(until)
}

/// Counts a failure on both counters; returns until when sign-ins are now paused, if they are.
pub async fn record_failure(
    conn: &mut AnyConnection,
    keys: &Keys,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    // Old counts first, so the table holds only the last hour.
    sqlx::query("DELETE FROM sign_in_failures WHERE last_failed_at < $1")
        .bind(ts(now - FORGET_AFTER))
        .execute(&mut *conn)
        .await?;
    let mut until = None;
    for (key, free) in [
        (&keys.pair, FREE_PER_ACCOUNT),
        (&keys.address, FREE_PER_ADDRESS),
    ] {
        let row = sqlx::query(
            "INSERT INTO sign_in_failures (counter_key, failures, last_failed_at) VALUES ($1, 1, $2) \
             ON CONFLICT (counter_key) DO UPDATE SET failures = sign_in_failures.failures + 1, \
             last_failed_at = $2 RETURNING failures",
        )
        .bind(key)
        .bind(ts(now))
        .fetch_one(&mut *conn)
        .await?;
        let failures: i64 = row.try_get("failures")?;
        if let Some(p) = pause(failures, free) {
            let blocked = now + p;
            sqlx::query("UPDATE sign_in_failures SET blocked_until = $2 WHERE counter_key = $1")
                .bind(key)
                .bind(ts(blocked))
                .execute(&mut *conn)
                .await?;
            until = until.max(Some(blocked));
        }
    }
    Ok(until)
}

/// A success clears the pair's count; the address's stays (an address that tries many e-mails
/// is still slowed down when one of them is right).
pub async fn record_success(conn: &mut AnyConnection, keys: &Keys) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE counter_key = $1")
        .bind(&keys.pair)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_from_the_first_paid_failure_and_stop_growing() {
        assert_eq!(pause(4, FREE_PER_ACCOUNT), None);
        assert_eq!(pause(5, FREE_PER_ACCOUNT), Some(Duration::seconds(30)));
        assert_eq!(pause(6, FREE_PER_ACCOUNT), Some(Duration::seconds(60)));
        assert_eq!(pause(9, FREE_PER_ACCOUNT), Some(Duration::seconds(480)));
        assert_eq!(pause(10, FREE_PER_ACCOUNT), Some(Duration::seconds(900)));
        assert_eq!(pause(1_000, FREE_PER_ACCOUNT), Some(Duration::seconds(900)));
    }

    #[test]
    fn keys_are_hashes_and_ignore_the_emails_case() {
        let a = Keys::new("Amina@Example.org ", "127.0.0.2".parse().unwrap());
        let b = Keys::new("amina@example.org", "127.0.0.2".parse().unwrap());
        assert_eq!(a.pair, b.pair);
        assert!(!a.pair.contains("amina") && !a.address.contains("127"));
        let c = Keys::new("amina@example.org", "127.0.0.1".parse().unwrap());
        assert_ne!(a.pair, c.pair);
        assert_ne!(a.address, c.address);
    }

    #[test]
    fn an_ipv6_prefix_is_one_client() {
        let a = Keys::new("x@example.org", "2001:db8:1:2::1".parse().unwrap());
        let b = Keys::new("x@example.org", "2001:db8:1:2:ffff::9".parse().unwrap());
        let c = Keys::new("x@example.org", "2001:db8:1:3::1".parse().unwrap());
        assert_eq!((a.pair.clone(), a.address.clone()), (b.pair, b.address));
        assert_ne!(a.address, c.address);
        let mapped = Keys::new("x@example.org", "::ffff:127.0.0.2".parse().unwrap());
        let v4 = Keys::new("x@example.org", "127.0.0.2".parse().unwrap());
        assert_eq!(mapped.address, v4.address);
    }
}
