//! When to try a delivery again.

use std::time::Duration;

/// After this many attempts a delivery has failed (about half an hour of retries).
pub const MAX_ATTEMPTS: i64 = 12;

const FIRST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(10 * 60);

/// The wait before attempt `attempts + 1`: doubling from a second up to ten minutes, jittered
/// (between half and all of it, so a crowd of failed deliveries does not come back at once),
/// and never shorter than the service's `Retry-After`.
pub fn delay(attempts: i64, retry_after: Option<Duration>) -> Duration {
    let exp = attempts.clamp(1, 32) as u32 - 1;
    let full = FIRST.saturating_mul(1u32 << exp.min(20)).min(LONGEST);
    let jittered = full.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    match retry_after {
        Some(at_least) => jittered.max(at_least.min(LONGEST * 6)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_jitter_up_to_the_cap_and_honours_retry_after() {
        for attempts in 1..=MAX_ATTEMPTS {
            let full = Duration::from_secs(1 << (attempts - 1)).min(LONGEST);
            for _ in 0..50 {
                let d = delay(attempts, None);
                assert!(d >= full / 2 && d <= full, "{attempts}: {d:?}");
            }
        }
        assert!(delay(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        assert!(delay(12, Some(Duration::from_secs(1))) >= LONGEST / 2);
    }
}
