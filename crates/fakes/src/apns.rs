//! Apple Push Notification service, token-based, as far as Kintara uses it:
//! `POST /3/device/{token}` over HTTP/2 only (cleartext HTTP/2 here, TLS at Apple). Checks, as
//! APNs does: a 64-hex device token; the provider token (ES256 JWT with the key's `kid`, `iss` =
//! the team, `iat` less than an hour old, not renewed more often than every 20 minutes);
//! `apns-topic`; `apns-push-type`; `apns-priority` 5 or 10; `apns-collapse-id` at most 64 bytes;
//! `apns-id` a UUID; a JSON payload with `aps` of at most 4 KB. Answers 200 with `apns-id`, or
//! APNs' status and `{"reason": ...}`.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

const PRIVATE_KEY: &str = include_str!("../keys/apns-test-key.p8");
const PUBLIC_KEY: &str = include_str!("../keys/apns-test-key.pub.pem");
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// APNs refuses a provider token renewed sooner than this after the previous one.
const MIN_TOKEN_AGE: Duration = Duration::from_secs(20 * 60);

/// How the next requests are answered, in order, before the fake goes back to accepting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApnsReply {
    /// 503 ServiceUnavailable.
    Unavailable,
    /// 429 TooManyRequests.
    TooManyRequests,
}

/// A notification APNs accepted.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub device_token: String,
    pub headers: Vec<(String, String)>,
    pub payload: Value,
    pub apns_id: String,
    pub at: Instant,
}

impl Pushed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    attempts: usize,
    script: VecDeque<ApnsReply>,
    unregistered: HashSet<String>,
    accepted: Vec<Pushed>,
    refusals: Vec<String>,
    /// The provider tokens seen, with when each was first seen.
    tokens: Vec<(String, Instant)>,
}

#[derive(Clone)]
struct Shared {
    team_id: String,
    key_id: String,
    topic: String,
    key: Arc<jsonwebtoken::DecodingKey>,
    inner: Arc<Mutex<Inner>>,
}

/// A running fake APNs. Dropping it stops the server.
pub struct FakeApns {
    pub url: String,
    pub team_id: String,
    pub key_id: String,
    pub topic: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApns {
    pub async fn start() -> FakeApns {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Shared {
            team_id: "KTEAM12345".into(),
            key_id: "KKEY123456".into(),
            topic: "org.kintara.app".into(),
            key: Arc::new(
                jsonwebtoken::DecodingKey::from_ec_pem(PUBLIC_KEY.as_bytes())
                    .expect("the test public key"),
            ),
            inner: inner.clone(),
        };
        FakeApns {
            url,
            team_id: shared.team_id.clone(),
            key_id: shared.key_id.clone(),
            topic: shared.topic.clone(),
            inner,
            task: tokio::spawn(async move {
                let app = Router::new()
                    .route("/3/device/{token}", post(push))
                    .with_state(shared);
                let _ = axum::serve(listener, app).await;
            }),
        }
    }

    /// The signing key Apple hands out (a .p8 file's contents).
    pub fn private_key(&self) -> &'static str {
        PRIVATE_KEY
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn script(&self, replies: impl IntoIterator<Item = ApnsReply>) {
        self.with(|i| i.script.extend(replies));
    }

    /// This device token answers 410 Unregistered from now on.
    pub fn unregister(&self, token: &str) {
        self.with(|i| i.unregistered.insert(token.to_owned()));
    }

    pub fn accepted(&self) -> Vec<Pushed> {
        self.with(|i| i.accepted.clone())
    }

    pub fn attempts(&self) -> usize {
        self.with(|i| i.attempts)
    }

    pub fn refusals(&self) -> Vec<String> {
        self.with(|i| i.refusals.clone())
    }

    /// Distinct provider tokens presented so far.
    pub fn provider_tokens(&self) -> usize {
        self.with(|i| i.tokens.len())
    }
}

fn reason(status: StatusCode, reason: &str) -> Response {
    let mut body = json!({ "reason": reason });
    if status == StatusCode::GONE {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        body["timestamp"] = json!(now);
    }
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

async fn push(State(s): State<Shared>, Path(token): Path<String>, req: Request) -> Response {
    let version = req.version();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return reason(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
    };
    let verdict = check(&s, version, &token, &headers, &body);
    let mut i = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    i.attempts += 1;
    match verdict {
        Err(refused) => {
            let (refusal, response) = *refused;
            if let Some(r) = refusal {
                i.refusals.push(r);
            }
            response
        }
        Ok(payload) => {
            if i.unregistered.contains(&token) {
                return reason(StatusCode::GONE, "Unregistered");
            }
            match i.script.pop_front() {
                Some(ApnsReply::Unavailable) => {
                    return reason(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
                }
                Some(ApnsReply::TooManyRequests) => {
                    return reason(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
                }
                None => {}
            }
            let apns_id = headers
                .get("apns-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
            i.accepted.push(Pushed {
                device_token: token,
                headers: headers
                    .iter()
                    .filter(|(k, _)| k.as_str().starts_with("apns-"))
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                    .collect(),
                payload,
                apns_id: apns_id.clone(),
                at: Instant::now(),
            });
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert("apns-id", apns_id.parse().expect("a header value"));
            r
        }
    }
}

type Refused = (Option<String>, Response);

fn refuse(status: StatusCode, why: &str) -> Result<Value, Box<Refused>> {
    Err(Box::new((Some(why.to_owned()), reason(status, why))))
}

fn check(
    s: &Shared,
    version: Version,
    token: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, Box<Refused>> {
    if version != Version::HTTP_2 {
        // Apple's servers speak nothing else.
        return refuse(StatusCode::HTTP_VERSION_NOT_SUPPORTED, "HTTP/2 required");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(jwt) = header("authorization").and_then(|v| v.strip_prefix("bearer ")) else {
        return refuse(StatusCode::FORBIDDEN, "MissingProviderToken");
    };
    let Ok(h) = jsonwebtoken::decode_header(jwt) else {
        return refuse(StatusCode::FORBIDDEN, "InvalidProviderToken");
    };
    if h.alg != jsonwebtoken::Algorithm::ES256 || h.kid.as_deref() != Some(&s.key_id) {
        return refuse(StatusCode::FORBIDDEN, "InvalidProviderToken");
    }
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_required_spec_claims(&["iss"]);
    v.validate_exp = false;
    let Ok(claims) = jsonwebtoken::decode::<Claims>(jwt, &s.key, &v).map(|d| d.claims) else {
        return refuse(StatusCode::FORBIDDEN, "InvalidProviderToken");
    };
    if claims.iss != s.team_id {
        return refuse(StatusCode::FORBIDDEN, "InvalidProviderToken");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if claims.iat > now + 60 {
        return refuse(StatusCode::FORBIDDEN, "InvalidProviderToken");
    }
    if now - claims.iat > 3600 {
        return refuse(StatusCode::FORBIDDEN, "ExpiredProviderToken");
    }
    {
        let mut i = s.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !i.tokens.iter().any(|(t, _)| t == jwt) {
            if i.tokens
                .last()
                .is_some_and(|(_, at)| at.elapsed() < MIN_TOKEN_AGE)
            {
                drop(i);
                return refuse(StatusCode::TOO_MANY_REQUESTS, "TooManyProviderTokenUpdates");
            }
            i.tokens.push((jwt.to_owned(), Instant::now()));
        }
    }
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return refuse(StatusCode::BAD_REQUEST, "BadDeviceToken");
    }
    match header("apns-topic") {
        None => return refuse(StatusCode::BAD_REQUEST, "MissingTopic"),
        Some(t) if t != s.topic => {
            return refuse(StatusCode::BAD_REQUEST, "DeviceTokenNotForTopic")
        }
        _ => {}
    }
    if !matches!(header("apns-push-type"), Some("alert" | "background")) {
        return refuse(StatusCode::BAD_REQUEST, "InvalidPushType");
    }
    if !matches!(header("apns-priority"), None | Some("5" | "10")) {
        return refuse(StatusCode::BAD_REQUEST, "BadPriority");
    }
    if header("apns-collapse-id").is_some_and(|c| c.len() > 64) {
        return refuse(StatusCode::BAD_REQUEST, "BadCollapseId");
    }
    if let Some(id) = header("apns-id") {
        let hex: String = id.chars().filter(|c| *c != '-').collect();
        if id.len() != 36 || hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return refuse(StatusCode::BAD_REQUEST, "BadMessageId");
        }
    }
    if body.len() > MAX_PAYLOAD_BYTES {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
    }
    let payload: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "BadPayload"),
    };
    if !payload.get("aps").is_some_and(Value::is_object) {
        return refuse(StatusCode::BAD_REQUEST, "PayloadEmpty");
    }
    Ok(payload)
}
