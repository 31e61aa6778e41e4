//! Firebase Cloud Messaging, HTTP v1.
//!
//! Authentication is a service account's OAuth2 JWT-bearer grant: an RS256 assertion signed
//! with the account's key (`kid` = its `private_key_id`, `iss` = its `client_email`, `aud` = its
//! `token_uri`, scope `firebase.messaging`, one hour) is exchanged at `token_uri` for an access
//! token, which is kept until five minutes before it expires; one request fetches it while the
//! others wait. Then `POST {endpoint}/v1/projects/{project_id}/messages:send`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::outbox::Job;
use super::text::Outgoing;
use super::{retry_after, ConfigError, Outcome};

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An access token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The fields of a service-account JSON that are used.
#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    private_key_id: String,
    private_key: String,
    client_email: String,
    token_uri: String,
}

struct Access {
    token: String,
    renew_at: Instant,
}

pub struct Fcm {
    http: reqwest::Client,
    client_email: String,
    key_id: String,
    token_uri: String,
    key: jsonwebtoken::EncodingKey,
    send_url: String,
    access: tokio::sync::Mutex<Option<Access>>,
}

impl Fcm {
    /// Reads the service account at `path`; messages go to `endpoint`.
    pub fn from_file(path: &Path, endpoint: &str) -> Result<Fcm, ConfigError> {
        let bad = |reason: String| ConfigError::FcmAccount {
            path: path.to_owned(),
            reason,
        };
        let json = std::fs::read(path).map_err(|source| ConfigError::FcmFile {
            path: path.to_owned(),
            source,
        })?;
        let account: ServiceAccount = serde_json::from_slice(&json)
            .map_err(|e| bad(format!("not a service account: {e}")))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|e| bad(format!("private_key is not an RSA key: {e}")))?;
        if !account.token_uri.starts_with("https://") && !is_loopback(&account.token_uri) {
            return Err(bad(
                "token_uri must be https (or loopback, for tests)".into()
            ));
        }
        Ok(Fcm {
            http: super::http_client()?,
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                endpoint.trim_end_matches('/'),
                account.project_id
            ),
            client_email: account.client_email,
            key_id: account.private_key_id,
            token_uri: account.token_uri,
            key,
            access: tokio::sync::Mutex::new(None),
        })
    }

    /// A live access token, fetched when there is none or it is about to expire.
    async fn access_token(&self) -> Result<String, Outcome> {
        let mut access = self.access.lock().await;
        if let Some(a) = access.as_ref().filter(|a| Instant::now() < a.renew_at) {
            return Ok(a.token.clone());
        }
        let now = chrono::Utc::now().timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let assertion =
            jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| Outcome::Failed {
                error: format!("oauth: cannot sign the assertion: {e}"),
            })?;
        let resp = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", JWT_BEARER), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| Outcome::Retry {
                error: format!("oauth: {}", transport(&e)),
                after: None,
            })?;
        let status = resp.status();
        let after = retry_after(resp.headers());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let token = body["access_token"]
            .as_str()
            .filter(|_| status.is_success());
        let Some(token) = token else {
            // A refused grant is a configuration problem; it is retried with backoff so that
            // fixing the credentials and restarting loses nothing.
            return Err(Outcome::Retry {
                error: format!(
                    "oauth: {} {} {}",
                    status.as_u16(),
                    body["error"].as_str().unwrap_or(""),
                    body["error_description"].as_str().unwrap_or("")
                )
                .trim_end()
                .to_owned(),
                after,
            });
        };
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        let keep = if lifetime > RENEW_BEFORE * 2 {
            lifetime - RENEW_BEFORE
        } else {
            lifetime / 2
        };
        *access = Some(Access {
            token: token.to_owned(),
            renew_at: Instant::now() + keep,
        });
        Ok(token.to_owned())
    }

    /// Forgets `token` if it is still the cached one (the service no longer accepts it).
    async fn forget(&self, token: &str) {
        let mut access = self.access.lock().await;
        if access.as_ref().is_some_and(|a| a.token == token) {
            *access = None;
        }
    }

    pub async fn send(&self, job: &Job, out: &Outgoing) -> Outcome {
        let Some(device_token) = job.token.as_deref() else {
            return Outcome::Failed {
                error: kintara_api::delivery_error::DEVICE_GONE.into(),
            };
        };
        let access = match self.access_token().await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let resp = match self
            .http
            .post(&self.send_url)
            .bearer_auth(&access)
            .json(&message(device_token, out))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    error: transport(&e),
                    after: None,
                }
            }
        };
        let status = resp.status();
        let after = retry_after(resp.headers());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return match body["name"].as_str() {
                Some(name) => Outcome::Sent {
                    message_id: name.to_owned(),
                },
                None => Outcome::Retry {
                    error: "200 without a message name".into(),
                    after,
                },
            };
        }
        let error = &body["error"];
        let code = error["details"]
            .as_array()
            .and_then(|d| d.iter().find_map(|x| x["errorCode"].as_str()))
            .or_else(|| error["status"].as_str())
            .unwrap_or("");
        let text = error["message"].as_str().unwrap_or("");
        let described = super::described(status.as_u16(), code, text);
        match (status.as_u16(), code) {
            (_, "UNREGISTERED") | (_, "SENDER_ID_MISMATCH") => {
                Outcome::DeadToken { error: described }
            }
            (400, "INVALID_ARGUMENT") if text.contains("registration token") => {
                Outcome::DeadToken { error: described }
            }
            (401, _) | (_, "THIRD_PARTY_AUTH_ERROR") => {
                self.forget(&access).await;
                Outcome::Retry {
                    error: described,
                    after,
                }
            }
            (429, _) | (500..=599, _) => Outcome::Retry {
                error: described,
                after,
            },
            _ => Outcome::Failed { error: described },
        }
    }
}

/// The `message` FCM gets. Data values are strings (FCM refuses anything else).
fn message(token: &str, out: &Outgoing) -> Value {
    let mut notification = json!({ "body": out.body });
    if let Some(t) = &out.title {
        notification["title"] = json!(t);
    }
    let data: serde_json::Map<String, Value> = out
        .data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let channel = if out.urgent { "urgent" } else { "updates" };
    let mut android = json!({
        "priority": if out.urgent { "high" } else { "normal" },
        "notification": { "channel_id": channel },
    });
    let mut apns_headers = json!({ "apns-priority": if out.urgent { "10" } else { "5" } });
    if out.urgent {
        // Help that comes late is no help: FCM drops it rather than deliver it after this.
        android["ttl"] = json!(format!("{}s", super::plan::URGENT_TTL.num_seconds()));
    }
    if let Some(key) = out.collapse_key {
        android["collapse_key"] = json!(key);
        android["notification"]["tag"] = json!(key);
        apns_headers["apns-collapse-id"] = json!(key);
    }
    json!({
        "message": {
            "token": token,
            "notification": notification,
            "data": data,
            "android": android,
            "apns": { "headers": apns_headers },
        }
    })
}

fn is_loopback(url: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p))
}

/// A transport error without its URL (which could carry nothing secret here, but stays short).
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "transport error".into()
    }
}
