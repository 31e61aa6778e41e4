//! Firebase Cloud Messaging HTTP v1, as far as Kintara uses it:
//!
//! - `POST /token`: Google's OAuth2 token endpoint for a service account (JWT-bearer grant). The
//!   assertion must be RS256, signed by the account's key, with the key's `kid`, `iss` = the
//!   account, `aud` = this `token_uri`, the FCM scope, and live at most an hour.
//! - `POST /v1/projects/{project}/messages:send`: needs a live access token from `/token`, the
//!   project of the account, one target, string data values, known fields, and a message of at
//!   most 4 KB; answers `{"name": "projects/{project}/messages/{n}"}` or FCM's error bodies.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

/// The test service account's key (a key made for these tests; it signs nothing real).
const PRIVATE_KEY: &str = include_str!("../keys/fcm-test-key.pem");
const PUBLIC_KEY: &str = include_str!("../keys/fcm-test-key.pub.pem");
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// FCM refuses a message larger than this (its documented 4 KB payload limit).
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// How the next send requests are answered, in order, before the fake goes back to accepting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 503 UNAVAILABLE, with `Retry-After: secs` when given.
    Unavailable { retry_after: Option<u64> },
    /// 429 QUOTA_EXCEEDED with `Retry-After`.
    QuotaExceeded { retry_after: u64 },
    /// 500 INTERNAL.
    Internal,
}

/// A message FCM accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub token: String,
    /// The whole `message` object as sent.
    pub message: Value,
    pub name: String,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, Instant>,
    grants: usize,
    attempts: usize,
    script: VecDeque<Reply>,
    unregistered: HashSet<String>,
    accepted: Vec<Accepted>,
    /// Every refusal for a malformed request, worded as FCM words it: a correct client makes none.
    refusals: Vec<String>,
    delay: Duration,
    expires_in: u64,
}

/// A running fake FCM. Dropping it stops the server.
pub struct FakeFcm {
    pub url: String,
    pub project_id: String,
    pub client_email: String,
    pub key_id: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeFcm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    project_id: String,
    client_email: String,
    key_id: String,
    token_uri: String,
    key: Arc<jsonwebtoken::DecodingKey>,
    inner: Arc<Mutex<Inner>>,
}

impl FakeFcm {
    /// Starts on an ephemeral loopback port.
    pub async fn start() -> FakeFcm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr: SocketAddr = listener.local_addr().expect("bound");
        let url = format!("http://{addr}");
        let inner = Arc::new(Mutex::new(Inner {
            expires_in: 3599,
            ..Inner::default()
        }));
        let shared = Shared {
            project_id: "kintara-test".into(),
            client_email: "push@kintara-test.iam.gserviceaccount.com".into(),
            key_id: "kintara-test-key-1".into(),
            token_uri: format!("{url}/token"),
            key: Arc::new(
                jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes())
                    .expect("the test public key"),
            ),
            inner: inner.clone(),
        };
        let fake = FakeFcm {
            url,
            project_id: shared.project_id.clone(),
            client_email: shared.client_email.clone(),
            key_id: shared.key_id.clone(),
            inner,
            task: tokio::spawn(async move {
                let app = Router::new()
                    .route("/token", post(token))
                    .route("/v1/projects/{project}/{method}", post(send))
                    .with_state(shared);
                let _ = axum::serve(listener, app).await;
            }),
        };
        fake
    }

    /// The service-account JSON a Firebase console hands out, pointing at this fake.
    pub fn service_account(&self) -> Value {
        json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": PRIVATE_KEY,
            "client_email": self.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": format!("{}/token", self.url),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The next send requests get these answers, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.with(|i| i.script.extend(replies));
    }

    /// This registration token answers UNREGISTERED from now on (the app was uninstalled).
    pub fn unregister(&self, token: &str) {
        self.with(|i| i.unregistered.insert(token.to_owned()));
    }

    /// Every answer waits this long first (a slow or hanging service).
    pub fn set_delay(&self, delay: Duration) {
        self.with(|i| i.delay = delay);
    }

    /// Access tokens issued from now on live this many seconds.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.with(|i| i.expires_in = secs);
    }

    /// Messages accepted so far, in order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.with(|i| i.accepted.clone())
    }

    /// How many messages were accepted so far (cheaper than `accepted` for polling).
    pub fn accepted_count(&self) -> usize {
        self.with(|i| i.accepted.len())
    }

    /// Send requests received so far, whatever their answer.
    pub fn attempts(&self) -> usize {
        self.with(|i| i.attempts)
    }

    /// Access tokens granted so far.
    pub fn grants(&self) -> usize {
        self.with(|i| i.grants)
    }

    /// Requests refused as malformed, as FCM words the refusal.
    pub fn refusals(&self) -> Vec<String> {
        self.with(|i| i.refusals.clone())
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Deserialize)]
struct Grant {
    grant_type: String,
    assertion: String,
}

#[derive(Deserialize)]
struct Assertion {
    scope: String,
    iat: i64,
    exp: i64,
}

fn oauth_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_grant", "error_description": description })),
    )
        .into_response()
}

async fn token(State(s): State<Shared>, Form(grant): Form<Grant>) -> Response {
    if grant.grant_type != JWT_BEARER {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "unsupported_grant_type", "error_description": "Invalid grant_type: " })),
        )
            .into_response();
    }
    let header = match jsonwebtoken::decode_header(&grant.assertion) {
        Ok(h) => h,
        Err(_) => return oauth_error("Invalid JWT: Token must be a short-lived token"),
    };
    if header.alg != jsonwebtoken::Algorithm::RS256 || header.kid.as_deref() != Some(&s.key_id) {
        return oauth_error("Invalid JWT Signature.");
    }
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[&s.token_uri]);
    v.set_issuer(&[&s.client_email]);
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    v.leeway = 0;
    let claims = match jsonwebtoken::decode::<Assertion>(&grant.assertion, &s.key, &v) {
        Ok(d) => d.claims,
        Err(e) => {
            return match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    oauth_error("Invalid JWT Signature.")
                }
                _ => oauth_error(&format!("Invalid JWT: {e}")),
            }
        }
    };
    let now = now_secs();
    if claims.exp - claims.iat > 3600 || claims.iat > now + 60 || claims.exp < now {
        return oauth_error(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    if !claims.scope.split(' ').any(|sc| sc == SCOPE) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token audience provided." })),
        )
            .into_response();
    }
    let access: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::thread_rng().gen();
        format!(
            "ya29.{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    };
    let expires_in = {
        let mut i = s.inner.lock().unwrap_or_else(|e| e.into_inner());
        i.grants += 1;
        let expires_in = i.expires_in;
        i.tokens.insert(
            access.clone(),
            Instant::now() + Duration::from_secs(expires_in),
        );
        expires_in
    };
    Json(json!({ "access_token": access, "expires_in": expires_in, "token_type": "Bearer" }))
        .into_response()
}

/// FCM's error body: `{"error": {code, message, status, details: [FcmError]}}`.
fn fcm_error(code: StatusCode, status: &str, message: &str, error_code: Option<&str>) -> Response {
    let mut error = json!({ "code": code.as_u16(), "message": message, "status": status });
    if let Some(ec) = error_code {
        error["details"] = json!([{
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": ec,
        }]);
    }
    (code, Json(json!({ "error": error }))).into_response()
}

fn invalid(message: &str) -> Response {
    fcm_error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        message,
        Some("INVALID_ARGUMENT"),
    )
}

async fn send(
    State(s): State<Shared>,
    Path((project, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let delay = s.inner.lock().unwrap_or_else(|e| e.into_inner()).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = answer(&s, &project, &method, &headers, &body);
    let mut i = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    i.attempts += 1;
    match answer {
        Ok((token, message)) => {
            if i.unregistered.contains(&token) {
                return fcm_error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "Requested entity was not found.",
                    Some("UNREGISTERED"),
                );
            }
            if let Some(reply) = i.script.pop_front() {
                return scripted(reply);
            }
            let name = format!(
                "projects/{}/messages/0:{}",
                s.project_id,
                i.accepted.len() + 1
            );
            i.accepted.push(Accepted {
                token,
                message,
                name: name.clone(),
                at: Instant::now(),
            });
            Json(json!({ "name": name })).into_response()
        }
        Err(refused) => {
            let (refusal, response) = *refused;
            if let Some(r) = refusal {
                i.refusals.push(r);
            }
            response
        }
    }
}

fn scripted(reply: Reply) -> Response {
    match reply {
        Reply::Unavailable { retry_after } => {
            let mut r = fcm_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                Some("UNAVAILABLE"),
            );
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert("retry-after", secs.to_string().parse().expect("a number"));
            }
            r
        }
        Reply::QuotaExceeded { retry_after } => {
            let mut r = fcm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Send messages'.",
                Some("QUOTA_EXCEEDED"),
            );
            r.headers_mut().insert(
                "retry-after",
                retry_after.to_string().parse().expect("a number"),
            );
            r
        }
        Reply::Internal => fcm_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
            Some("INTERNAL"),
        ),
    }
}

type Refused = Box<(Option<String>, Response)>;

fn refused(recorded: Option<String>, response: Response) -> Refused {
    Box::new((recorded, response))
}

/// The message's target token and the message, or the refusal FCM would give.
fn answer(
    s: &Shared,
    project: &str,
    method: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, Value), Refused> {
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| {
            let i = s.inner.lock().unwrap_or_else(|e| e.into_inner());
            i.tokens.get(t).is_some_and(|exp| *exp > Instant::now())
        });
    if !authorised {
        return Err(refused(
            None,
            fcm_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                None,
            ),
        ));
    }
    if project != s.project_id || method != "messages:send" {
        return Err(refused(
            Some(format!("wrong project or method: {project}/{method}")),
            fcm_error(
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                "Permission 'cloudmessaging.messages.create' denied on resource (or it may not exist).",
                None,
            ),
        ));
    }
    let refuse = |m: String| Err(refused(Some(m.clone()), invalid(&m)));
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return refuse("Invalid JSON payload received. Expected application/json.".into());
    }
    let body: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return refuse(format!("Invalid JSON payload received. {e}")),
    };
    let Some(top) = body.as_object() else {
        return refuse("Invalid JSON payload received. Expected an object.".into());
    };
    for k in top.keys() {
        if k != "message" && k != "validate_only" {
            return refuse(format!(
                "Invalid JSON payload received. Unknown name \"{k}\": Cannot find field."
            ));
        }
    }
    let Some(message) = top.get("message").and_then(Value::as_object) else {
        return refuse("Request contains an invalid argument.".into());
    };
    const FIELDS: &[&str] = &[
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "token",
        "topic",
        "condition",
    ];
    for k in message.keys() {
        if !FIELDS.contains(&k.as_str()) {
            return refuse(format!(
                "Invalid JSON payload received. Unknown name \"{k}\" at 'message': Cannot find field."
            ));
        }
    }
    let targets = ["token", "topic", "condition"]
        .iter()
        .filter(|t| message.contains_key(**t))
        .count();
    let Some(token) = message.get("token").and_then(Value::as_str) else {
        return refuse("Request contains an invalid argument.".into());
    };
    if targets != 1 {
        return refuse("Request contains an invalid argument.".into());
    }
    if let Some(data) = message.get("data") {
        let Some(data) = data.as_object() else {
            return refuse("Invalid value at 'message.data' (type.googleapis.com/google.firebase.fcm.v1.Message.DataEntry)".into());
        };
        for (i, (k, v)) in data.iter().enumerate() {
            if !v.is_string() {
                return refuse(format!(
                    "Invalid value at 'message.data[{i}].value' (TYPE_STRING), {v}"
                ));
            }
            if k == "from"
                || k == "notification"
                || k == "message_type"
                || k.starts_with("google.")
                || k.starts_with("gcm.")
            {
                return refuse(format!("Invalid data payload key: {k}"));
            }
        }
    }
    if let Some(n) = message.get("notification") {
        let ok = n.as_object().is_some_and(|n| {
            n.iter()
                .all(|(k, v)| ["title", "body", "image"].contains(&k.as_str()) && v.is_string())
        });
        if !ok {
            return refuse(
                "Invalid JSON payload received. Unknown name at 'message.notification'.".into(),
            );
        }
    }
    if let Some(a) = message.get("android") {
        let Some(a) = a.as_object() else {
            return refuse("Invalid value at 'message.android'".into());
        };
        if let Some(p) = a.get("priority") {
            if !["normal", "high", "NORMAL", "HIGH"].contains(&p.as_str().unwrap_or("")) {
                return refuse(format!(
                    "Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), {p}"
                ));
            }
        }
        if let Some(ttl) = a.get("ttl") {
            let ok = ttl.as_str().is_some_and(|t| {
                t.strip_suffix('s')
                    .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok_and(|x| x >= 0.0))
            });
            if !ok {
                return refuse(format!("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), {ttl}"));
            }
        }
    }
    let size = serde_json::to_vec(message).map(|v| v.len()).unwrap_or(0);
    if size > MAX_MESSAGE_BYTES {
        return Err(refused(
            Some(format!("message too big: {size} bytes")),
            fcm_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                Some("INVALID_ARGUMENT"),
            ),
        ));
    }
    Ok((token.to_owned(), Value::Object(message.clone())))
}
