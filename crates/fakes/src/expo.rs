//! Expo's push service: `POST /--/api/v2/push/send` takes an array of at most 100 messages and
//! answers one ticket per message, in order (`{"status":"ok","id":...}` or an error with
//! `details.error`); `POST /--/api/v2/push/getReceipts` answers later whether Apple or Google
//! took each. Checks, as Expo does: JSON, an `ExponentPushToken[...]` for `to`, `data` an
//! object, 4 KB per message, the access token when one is required.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const MAX_BATCH: usize = 100;
const MAX_MESSAGE_BYTES: usize = 4096;

/// A message Expo accepted (ticket `ok`).
#[derive(Debug, Clone)]
pub struct Ticketed {
    pub to: String,
    pub message: Value,
    pub ticket: String,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    requests: Vec<usize>,
    accepted: Vec<Ticketed>,
    refusals: Vec<String>,
    /// Tokens whose tickets are `ok` but whose receipts say DeviceNotRegistered (the app was
    /// removed after Expo accepted the push).
    gone_later: HashSet<String>,
    /// Tokens refused at once with DeviceNotRegistered.
    gone: HashSet<String>,
    receipts: HashMap<String, String>,
    receipt_requests: usize,
}

#[derive(Clone)]
struct Shared {
    access_token: Option<String>,
    inner: Arc<Mutex<Inner>>,
}

pub struct FakeExpo {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeExpo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeExpo {
    /// With `access_token`, every request must carry it (Expo's "enhanced security").
    pub async fn start(access_token: Option<&str>) -> FakeExpo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Shared {
            access_token: access_token.map(str::to_owned),
            inner: inner.clone(),
        };
        FakeExpo {
            url,
            inner,
            task: tokio::spawn(async move {
                let app = Router::new()
                    .route("/--/api/v2/push/send", post(send))
                    .route("/--/api/v2/push/getReceipts", post(receipts))
                    .with_state(shared);
                let _ = axum::serve(listener, app).await;
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Tickets for `token` are errors (DeviceNotRegistered) from now on.
    pub fn unregister(&self, token: &str) {
        self.with(|i| i.gone.insert(token.to_owned()));
    }

    /// Tickets for `token` are `ok`, but their receipts say DeviceNotRegistered.
    pub fn unregister_later(&self, token: &str) {
        self.with(|i| i.gone_later.insert(token.to_owned()));
    }

    pub fn accepted(&self) -> Vec<Ticketed> {
        self.with(|i| i.accepted.clone())
    }

    /// The number of messages in each send request so far.
    pub fn batches(&self) -> Vec<usize> {
        self.with(|i| i.requests.clone())
    }

    pub fn receipt_requests(&self) -> usize {
        self.with(|i| i.receipt_requests)
    }

    pub fn refusals(&self) -> Vec<String> {
        self.with(|i| i.refusals.clone())
    }
}

fn errors(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errors": [{ "code": code, "message": message }] })),
    )
        .into_response()
}

fn authorised(s: &Shared, headers: &HeaderMap) -> bool {
    match &s.access_token {
        None => true,
        Some(t) => headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {t}")),
    }
}

async fn send(State(s): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&s, &headers) {
        return errors(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The bearer token is invalid.",
        );
    }
    let refuse = |why: String| {
        s.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .refusals
            .push(why.clone());
        errors(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &why)
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return refuse("\"value\" must be valid JSON".into());
    };
    let messages = match body {
        Value::Array(a) => a,
        Value::Object(_) => vec![body],
        _ => return refuse("\"value\" must be an object or an array".into()),
    };
    if messages.len() > MAX_BATCH {
        return errors(
            StatusCode::BAD_REQUEST,
            "PUSH_TOO_MANY_NOTIFICATIONS",
            "You are trying to send more than 100 push notifications in one request.",
        );
    }
    for (i, m) in messages.iter().enumerate() {
        let to = m["to"].as_str().unwrap_or("");
        if !(to.starts_with("ExponentPushToken[") && to.ends_with(']')) {
            return refuse(format!("\"[{i}].to\" must be an Expo push token"));
        }
        if m.get("data").is_some_and(|d| !d.is_object()) {
            return refuse(format!("\"[{i}].data\" must be of type object"));
        }
        if serde_json::to_vec(m).map_or(0, |v| v.len()) > MAX_MESSAGE_BYTES {
            return refuse(format!("\"[{i}]\" is larger than 4096 bytes"));
        }
    }
    let mut inner = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.requests.push(messages.len());
    let tickets: Vec<Value> = messages
        .into_iter()
        .map(|m| {
            let to = m["to"].as_str().unwrap_or("").to_owned();
            if inner.gone.contains(&to) {
                return json!({
                    "status": "error",
                    "message": format!("\"{to}\" is not a registered push notification recipient"),
                    "details": { "error": "DeviceNotRegistered", "expoPushToken": to },
                });
            }
            let ticket = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                rand::random::<u32>(),
                rand::random::<u64>() >> 16
            );
            let receipt = if inner.gone_later.contains(&to) {
                "gone"
            } else {
                "ok"
            };
            inner.receipts.insert(ticket.clone(), receipt.to_owned());
            inner.accepted.push(Ticketed {
                to,
                message: m,
                ticket: ticket.clone(),
                at: Instant::now(),
            });
            json!({ "status": "ok", "id": ticket })
        })
        .collect();
    Json(json!({ "data": tickets })).into_response()
}

async fn receipts(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&s, &headers) {
        return errors(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The bearer token is invalid.",
        );
    }
    let mut inner = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.receipt_requests += 1;
    let mut data = serde_json::Map::new();
    for id in body["ids"].as_array().into_iter().flatten() {
        let Some(id) = id.as_str() else { continue };
        match inner.receipts.get(id).map(String::as_str) {
            Some("ok") => {
                data.insert(id.to_owned(), json!({ "status": "ok" }));
            }
            Some(_) => {
                data.insert(
                    id.to_owned(),
                    json!({
                        "status": "error",
                        "message": "The device cannot receive push notifications anymore.",
                        "details": { "error": "DeviceNotRegistered" },
                    }),
                );
            }
            None => {}
        }
    }
    Json(json!({ "data": data })).into_response()
}
