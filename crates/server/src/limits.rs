//! Rate limits, per account and per client address, so that one account or one address cannot
//! crowd out everyone else: GCRA limiters from `governor`, one per (action, scope), each allowing
//! a burst of its whole quota and refilling evenly over its period. A request over a limit is
//! answered `429 rate_limited` with `Retry-After`, before anything is changed.
//!
//! The defaults are [`DEFAULTS`]; `--rate-limits` (`KINTARA_RATE_LIMITS`) overrides any of them
//! with `action.scope=N/period` (period `s`, `min` or `h`), comma-separated, or turns them all
//! `off`. README lists them.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kintara_api::Refusal;
use uuid::Uuid;

use crate::client_addr::network;
use crate::error::ApiError;

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Login,
    Register,
    Refresh,
    ChangePassword,
    Report,
    Message,
    Typing,
    MarkRead,
    Heartbeat,
    Upload,
    /// Opening a WebSocket.
    Socket,
    LongPoll,
    /// "Send me a test" notification.
    TestNotification,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::Login,
        Action::Register,
        Action::Refresh,
        Action::ChangePassword,
        Action::Report,
        Action::Message,
        Action::Typing,
        Action::MarkRead,
        Action::Heartbeat,
        Action::Upload,
        Action::Socket,
        Action::LongPoll,
        Action::TestNotification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Register => "register",
            Action::Refresh => "refresh",
            Action::ChangePassword => "change_password",
            Action::Report => "report",
            Action::Message => "message",
            Action::Typing => "typing",
            Action::MarkRead => "mark_read",
            Action::Heartbeat => "heartbeat",
            Action::Upload => "upload",
            Action::Socket => "socket",
            Action::LongPoll => "long_poll",
            Action::TestNotification => "test_notification",
        }
    }
}

/// Whose requests a limit counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// One account (for sign-in, one e-mail address, known or not).
    Account,
    /// One client address (an IPv6 /64 counts as one).
    Address,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }
}

/// The endpoints each limit applies to (by `kintara_api::endpoint` name), for the OpenAPI
/// document's 429s. Sockets are limited at their handshake.
pub const LIMITED: &[(&str, Action)] = &[
    ("Login", Action::Login),
    ("Register", Action::Register),
    ("Refresh", Action::Refresh),
    ("ChangePassword", Action::ChangePassword),
    ("CreateIncident", Action::Report),
    ("SendMessage", Action::Message),
    ("Typing", Action::Typing),
    ("MarkRoomRead", Action::MarkRead),
    ("MarkMessageRead", Action::MarkRead),
    ("Heartbeat", Action::Heartbeat),
    ("UploadEvidence", Action::Upload),
    ("Events", Action::LongPoll),
    ("SendTestNotification", Action::TestNotification),
];

/// `count` requests per `period`, all of them at once if need be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    const fn per_minute(count: u32) -> Rate {
        Rate {
            count,
            period: Duration::from_secs(60),
        }
    }

    const fn per_hour(count: u32) -> Rate {
        Rate {
            count,
            period: Duration::from_secs(3600),
        }
    }

    fn quota(self) -> Option<Quota> {
        let count = NonZeroU32::new(self.count)?;
        Quota::with_period(self.period / self.count).map(|q| q.allow_burst(count))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period.as_secs() {
            3600 => write!(f, "{}/h", self.count),
            60 => write!(f, "{}/min", self.count),
            s => write!(f, "{}/{s}s", self.count),
        }
    }
}

/// The limits a server starts with. Generous for a person, tight for a script: a survivor in
/// crisis can file several reports in a row and write as fast as anyone types. Sign-in has no
/// per-account limit by default: anyone can send requests for her e-mail, so such a limit would
/// lock her out from everywhere (failed sign-ins are throttled per e-mail and address instead,
/// `auth::throttle`); `login.account=N/min` turns one on.
pub const DEFAULTS: &[(Action, Scope, Rate)] = &[
    (Action::Login, Scope::Address, Rate::per_minute(30)),
    (Action::Register, Scope::Address, Rate::per_hour(10)),
    (Action::Refresh, Scope::Address, Rate::per_minute(120)),
    (Action::ChangePassword, Scope::Account, Rate::per_hour(10)),
    (Action::Report, Scope::Account, Rate::per_hour(10)),
    (Action::Report, Scope::Address, Rate::per_hour(30)),
    (Action::Message, Scope::Account, Rate::per_minute(60)),
    (Action::Message, Scope::Address, Rate::per_minute(600)),
    (Action::Typing, Scope::Account, Rate::per_minute(60)),
    (Action::MarkRead, Scope::Account, Rate::per_minute(240)),
    (Action::Heartbeat, Scope::Account, Rate::per_minute(12)),
    (Action::Upload, Scope::Account, Rate::per_hour(60)),
    (Action::Upload, Scope::Address, Rate::per_hour(200)),
    (Action::Socket, Scope::Account, Rate::per_minute(30)),
    (Action::Socket, Scope::Address, Rate::per_minute(120)),
    (Action::LongPoll, Scope::Account, Rate::per_minute(120)),
    (Action::LongPoll, Scope::Address, Rate::per_minute(600)),
    (Action::TestNotification, Scope::Account, Rate::per_hour(5)),
];

/// `--rate-limits`: overrides of [`DEFAULTS`], or `off`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LimitSpec {
    pub off: bool,
    pub overrides: Vec<(Action, Scope, Rate)>,
}

impl LimitSpec {
    pub fn off() -> LimitSpec {
        LimitSpec {
            off: true,
            overrides: Vec::new(),
        }
    }

    /// The limits in force: the defaults with the overrides applied (none when off).
    pub fn effective(&self) -> Vec<(Action, Scope, Rate)> {
        if self.off {
            return Vec::new();
        }
        let mut all: Vec<(Action, Scope, Rate)> = DEFAULTS.to_vec();
        for (action, scope, rate) in &self.overrides {
            match all.iter_mut().find(|(a, s, _)| a == action && s == scope) {
                Some(slot) => slot.2 = *rate,
                None => all.push((*action, *scope, *rate)),
            }
        }
        all
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0} (expected `off` or `action.scope=N/period`, e.g. `message.account=60/min`)")]
pub struct SpecError(String);

impl FromStr for LimitSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(LimitSpec::off());
        }
        let mut spec = LimitSpec::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, rate) = item
                .split_once('=')
                .ok_or_else(|| SpecError(format!("{item:?} has no `=`")))?;
            let (action, scope) = key
                .trim()
                .split_once('.')
                .ok_or_else(|| SpecError(format!("{key:?} is not action.scope")))?;
            let action = Action::ALL
                .into_iter()
                .find(|a| a.name() == action)
                .ok_or_else(|| SpecError(format!("unknown action {action:?}")))?;
            let scope = [Scope::Account, Scope::Address]
                .into_iter()
                .find(|sc| sc.name() == scope)
                .ok_or_else(|| SpecError(format!("unknown scope {scope:?}")))?;
            let (count, period) = rate
                .trim()
                .split_once('/')
                .ok_or_else(|| SpecError(format!("{rate:?} is not N/period")))?;
            let count: u32 = count
                .parse()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| SpecError(format!("{count:?} is not a positive count")))?;
            let period = match period {
                "s" => Duration::from_secs(1),
                "min" => Duration::from_secs(60),
                "h" => Duration::from_secs(3600),
                other => return Err(SpecError(format!("unknown period {other:?}"))),
            };
            spec.overrides.push((action, scope, Rate { count, period }));
        }
        Ok(spec)
    }
}

/// Whom a limiter counts: an account, an e-mail address being signed in to (hashed: nobody's
/// address is kept), or a client network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(Uuid),
    Email(u64),
    Address(IpAddr),
}

/// The limiters of a running server.
pub struct Limits {
    limiters: HashMap<(Action, Scope), DefaultKeyedRateLimiter<Key>>,
    clock: DefaultClock,
    /// Open WebSockets per account.
    sockets: Arc<Mutex<HashMap<Uuid, usize>>>,
}

/// One open WebSocket of an account; dropping it frees the place.
pub struct SocketPlace {
    sockets: Arc<Mutex<HashMap<Uuid, usize>>>,
    user: Uuid,
}

impl Drop for SocketPlace {
    fn drop(&mut self) {
        let mut open = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// How long a client refused a socket place waits before trying again.
pub const SOCKET_FULL_RETRY_SECS: u64 = 30;

impl Limits {
    pub fn new(spec: &LimitSpec) -> Limits {
        let limiters = spec
            .effective()
            .into_iter()
            .filter_map(|(a, s, rate)| Some(((a, s), RateLimiter::keyed(rate.quota()?))))
            .collect();
        Limits {
            limiters,
            clock: DefaultClock::default(),
            sockets: Arc::default(),
        }
    }

    /// A place for one more WebSocket of `user`, if they have fewer than `max` open.
    pub fn socket_place(&self, user: Uuid, max: usize) -> Result<SocketPlace, ApiError> {
        let mut open = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(user).or_default();
        if *n >= max {
            tracing::info!("too many sockets for one account");
            return Err(ApiError::retry_after(
                Refusal::RateLimited {},
                SOCKET_FULL_RETRY_SECS,
            ));
        }
        *n += 1;
        Ok(SocketPlace {
            sockets: self.sockets.clone(),
            user,
        })
    }

    /// One request of `action` by `account`, wherever it comes from (frames on an open socket,
    /// typing and read markers).
    pub fn per_account(&self, action: Action, account: Uuid) -> Result<(), ApiError> {
        self.check(action, Scope::Account, &Key::Account(account))
    }

    fn check(&self, action: Action, scope: Scope, key: &Key) -> Result<(), ApiError> {
        let Some(limiter) = self.limiters.get(&(action, scope)) else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            tracing::info!(action = action.name(), scope = scope.name(), "rate limited");
            ApiError::retry_after(Refusal::RateLimited {}, wait.as_secs().max(1))
        })
    }

    /// One request of `action` by `account` from `addr`: refused if either is over its limit.
    pub fn account(&self, action: Action, account: Uuid, addr: IpAddr) -> Result<(), ApiError> {
        self.per_account(action, account)?;
        self.address(action, addr)
    }

    /// One request of `action` from `addr`, before anyone is signed in.
    pub fn address(&self, action: Action, addr: IpAddr) -> Result<(), ApiError> {
        self.check(action, Scope::Address, &Key::Address(network(addr)))
    }

    /// One sign-in to `email` from `addr`.
    pub fn sign_in(&self, email: &str, addr: IpAddr) -> Result<(), ApiError> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        crate::auth::users::normalize_email(email).hash(&mut h);
        self.check(Action::Login, Scope::Account, &Key::Email(h.finish()))?;
        self.address(Action::Login, addr)
    }

    /// Forgets keys whose limiters are full again, so memory follows recent clients only.
    pub fn forget_idle(&self) {
        for limiter in self.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_overrides_defaults_or_turns_them_off() {
        let spec: LimitSpec = "message.account=5/s, report.address=2/h".parse().unwrap();
        let all = spec.effective();
        assert!(all.contains(&(
            Action::Message,
            Scope::Account,
            Rate {
                count: 5,
                period: Duration::from_secs(1)
            }
        )));
        assert!(all.contains(&(Action::Report, Scope::Address, Rate::per_hour(2))));
        assert_eq!(all.len(), DEFAULTS.len());
        assert!("off".parse::<LimitSpec>().unwrap().effective().is_empty());
        assert_eq!("".parse::<LimitSpec>().unwrap().effective(), DEFAULTS);
        for bad in [
            "message=5/s",
            "mail.account=5/s",
            "message.account=0/s",
            "message.account=5/day",
        ] {
            assert!(bad.parse::<LimitSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_whole_quota_may_come_at_once_then_waits() {
        let spec: LimitSpec = "typing.account=3/min".parse().unwrap();
        let limits = Limits::new(&spec);
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            limits.account(Action::Typing, me, addr).unwrap();
        }
        match limits.account(Action::Typing, me, addr) {
            Err(ApiError::Refused {
                refusal: Refusal::RateLimited {},
                retry_after_secs: Some(s),
                ..
            }) => assert!((1..=20).contains(&s), "{s}"),
            other => panic!("{other:?}"),
        }
        limits.account(Action::Typing, other, addr).unwrap();
    }
}
