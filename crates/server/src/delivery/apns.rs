//! Apple Push Notification service, token-based, over HTTP/2 only.
//!
//! The provider token is an ES256 JWT (`kid` = the key's id, `iss` = the team, `iat`) signed with
//! the .p8 key; APNs refuses one older than an hour and one renewed more often than every 20
//! minutes, so it is kept for 40. `POST {endpoint}/3/device/{token}` with `apns-topic`,
//! `apns-push-type`, `apns-priority`, `apns-id` (the delivery's id), `apns-collapse-id` and
//! `apns-expiration`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::outbox::Job;
use super::text::Outgoing;
use super::{retry_after, ConfigError, Outcome};

/// A provider token is used this long, between APNs' 20-minute floor and one-hour ceiling.
const TOKEN_REUSE: Duration = Duration::from_secs(40 * 60);

pub struct Apns {
    http: reqwest::Client,
    endpoint: String,
    topic: String,
    team_id: String,
    key_id: String,
    key: jsonwebtoken::EncodingKey,
    token: std::sync::Mutex<Option<(String, Instant)>>,
}

/// What `from_config` needs.
pub struct ApnsConfig<'a> {
    pub key: &'a Path,
    pub key_id: &'a str,
    pub team_id: &'a str,
    pub topic: &'a str,
    pub endpoint: &'a str,
}

impl Apns {
    pub fn from_config(c: ApnsConfig<'_>) -> Result<Apns, ConfigError> {
        let bad = |reason: String| ConfigError::Apns(reason);
        let pem = std::fs::read(c.key).map_err(|e| {
            bad(format!(
                "cannot read KINTARA_APNS_KEY {}: {e}",
                c.key.display()
            ))
        })?;
        let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem)
            .map_err(|e| bad(format!("KINTARA_APNS_KEY is not a P-256 key: {e}")))?;
        for (name, v) in [
            ("KINTARA_APNS_KEY_ID", c.key_id),
            ("KINTARA_APNS_TEAM_ID", c.team_id),
            ("KINTARA_APNS_TOPIC", c.topic),
        ] {
            if v.trim().is_empty() {
                return Err(bad(format!("{name} is required with KINTARA_APNS_KEY")));
            }
        }
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("kintara-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Apns {
            http,
            endpoint: c.endpoint.trim_end_matches('/').to_owned(),
            topic: c.topic.to_owned(),
            team_id: c.team_id.to_owned(),
            key_id: c.key_id.to_owned(),
            key,
            token: std::sync::Mutex::new(None),
        })
    }

    fn provider_token(&self) -> Result<String, Outcome> {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, _)) = cached.as_ref().filter(|(_, at)| at.elapsed() < TOKEN_REUSE) {
            return Ok(t.clone());
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({ "iss": self.team_id, "iat": chrono::Utc::now().timestamp() });
        let t = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| Outcome::Failed {
            error: format!("cannot sign the provider token: {e}"),
        })?;
        *cached = Some((t.clone(), Instant::now()));
        Ok(t)
    }

    fn forget(&self, token: &str) {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if cached.as_ref().is_some_and(|(t, _)| t == token) {
            *cached = None;
        }
    }

    pub async fn send(&self, job: &Job, out: &Outgoing) -> Outcome {
        let Some(device) = job.token.as_deref() else {
            return Outcome::Failed {
                error: kintara_api::delivery_error::DEVICE_GONE.into(),
            };
        };
        let provider = match self.provider_token() {
            Ok(t) => t,
            Err(o) => return o,
        };
        let expiration = if out.urgent {
            chrono::Utc::now() + super::plan::URGENT_TTL
        } else {
            chrono::Utc::now() + chrono::Duration::days(1)
        };
        let mut req = self
            .http
            .post(format!("{}/3/device/{device}", self.endpoint))
            .header("authorization", format!("bearer {provider}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", if out.urgent { "10" } else { "5" })
            .header("apns-id", job.id.hyphenated().to_string())
            .header("apns-expiration", expiration.timestamp().to_string())
            .json(&payload(out));
        if let Some(key) = out.collapse_key {
            req = req.header("apns-collapse-id", key);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    error: if e.is_timeout() {
                        "timed out".into()
                    } else {
                        "cannot reach APNs".into()
                    },
                    after: None,
                }
            }
        };
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let apns_id = resp
            .headers()
            .get("apns-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 200 {
            return Outcome::Sent {
                message_id: apns_id.unwrap_or_else(|| job.id.hyphenated().to_string()),
            };
        }
        let reason = body["reason"].as_str().unwrap_or("");
        let error = super::described(status, reason, "");
        match (status, reason) {
            (410, _) | (400, "BadDeviceToken") | (400, "DeviceTokenNotForTopic") => {
                Outcome::DeadToken { error }
            }
            (403, "ExpiredProviderToken") | (403, "InvalidProviderToken") => {
                self.forget(&provider);
                Outcome::Retry { error, after }
            }
            (429, _) | (500..=599, _) => Outcome::Retry { error, after },
            _ => Outcome::Failed { error },
        }
    }
}

/// The APNs payload: the alert, and the ids as custom keys. Urgent alerts for staff are
/// critical (they sound through Do Not Disturb where the app is entitled to).
fn payload(out: &Outgoing) -> Value {
    let mut alert = json!({ "body": out.body });
    if let Some(t) = &out.title {
        alert["title"] = json!(t);
    }
    let mut aps = json!({ "alert": alert });
    if out.urgent {
        aps["interruption-level"] = json!("critical");
        aps["sound"] = json!({ "critical": 1, "name": "default", "volume": 1.0 });
    } else {
        aps["interruption-level"] = json!("active");
        aps["sound"] = json!("default");
    }
    if let Some(key) = out.collapse_key {
        aps["thread-id"] = json!(key);
    }
    let mut p = json!({ "aps": aps });
    for (k, v) in &out.data {
        p[*k] = json!(v);
    }
    p
}
