//! The WhatsApp Cloud API: `POST /{version}/{phone-number-id}/messages` with a bearer token
//! sends a template message and answers its `wamid`. Checks, as the Graph API does: the token
//! (190), the phone number id (100), JSON, `messaging_product`, a number of digits only
//! (131009), `type: template` with an approved template in an approved language (132001), one
//! text parameter per body variable with no new lines, tabs or long runs of spaces (132018).
//! What became of a message later comes as a signed status report, which [`FakeWhatsapp::report`]
//! posts to the server's webhook as Meta does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The templates approved for the business, with their languages and body variables.
const TEMPLATES: &[(&str, &[&str], usize)] = &[("kintara_notification", &["en", "sw"], 1)];

/// A message Meta accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub to: String,
    pub template: String,
    pub language: String,
    /// The body parameters' texts, in order.
    pub parameters: Vec<String>,
    pub wamid: String,
    pub body: Value,
    pub at: Instant,
}

/// A scripted answer to the next send.
#[derive(Debug, Clone)]
pub enum WaReply {
    /// HTTP `status` with a Graph API error of `code`, and `Retry-After` when given.
    Error {
        status: u16,
        code: i64,
        message: String,
        retry_after: Option<u64>,
    },
}

impl WaReply {
    /// The business number's throughput was exceeded (retry later).
    pub fn rate_limited() -> WaReply {
        WaReply::Error {
            status: 400,
            code: 130429,
            message: "(#130429) Rate limit hit".into(),
            retry_after: Some(1),
        }
    }

    /// Meta's side is down.
    pub fn unavailable() -> WaReply {
        WaReply::Error {
            status: 503,
            code: 131016,
            message: "(#131016) Service unavailable".into(),
            retry_after: Some(1),
        }
    }
}

#[derive(Default)]
struct Inner {
    sent: Vec<Sent>,
    refusals: Vec<String>,
    script: VecDeque<WaReply>,
}

#[derive(Clone)]
struct Shared {
    token: String,
    phone_number_id: String,
    inner: Arc<Mutex<Inner>>,
}

pub struct FakeWhatsapp {
    pub url: String,
    pub token: String,
    pub phone_number_id: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWhatsapp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWhatsapp {
    pub async fn start(token: &str, phone_number_id: &str) -> FakeWhatsapp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Shared {
            token: token.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            inner: inner.clone(),
        };
        FakeWhatsapp {
            url,
            token: token.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            inner,
            task: tokio::spawn(async move {
                let app = Router::new()
                    .route("/{version}/{phone}/messages", post(send))
                    .with_state(shared);
                let _ = axum::serve(listener, app).await;
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The next sends are answered with these, in order, before any is accepted.
    pub fn script(&self, replies: impl IntoIterator<Item = WaReply>) {
        self.with(|i| i.script.extend(replies));
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.with(|i| i.sent.clone())
    }

    pub fn refusals(&self) -> Vec<String> {
        self.with(|i| i.refusals.clone())
    }

    /// Posts a status report for `statuses` (`(wamid, status, error code)`) to `webhook`,
    /// signed with `app_secret` as Meta signs it; answers the status code.
    pub async fn report(
        webhook: &str,
        app_secret: &str,
        statuses: &[(&str, &str, Option<i64>)],
    ) -> u16 {
        let statuses: Vec<Value> = statuses
            .iter()
            .map(|(id, status, code)| {
                let mut s = json!({
                    "id": id,
                    "status": status,
                    "timestamp": "1765000000",
                    "recipient_id": "254700000000",
                });
                if let Some(code) = code {
                    s["errors"] = json!([{
                        "code": code,
                        "title": "Message undeliverable.",
                        "message": "Message undeliverable.",
                        "error_data": { "details": "Message could not be delivered" },
                    }]);
                }
                s
            })
            .collect();
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "102290129340398",
                "changes": [{
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550783881",
                            "phone_number_id": "106540352242922",
                        },
                        "statuses": statuses,
                    },
                }],
            }],
        })
        .to_string();
        post_signed(webhook, &body, &signature(app_secret, body.as_bytes())).await
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` with `secret`: Meta's `X-Hub-Signature-256`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A minimal HTTP/1.1 POST over a plain socket (the fakes need no HTTP client of their own).
async fn post_signed(url: &str, body: &str, signature: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// webhook");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("the server's webhook");
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request written");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer read");
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv",
            }
        })),
    )
        .into_response()
}

async fn send(
    State(s): State<Shared>,
    Path((_version, phone)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", s.token));
    if !authorised {
        return graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let refuse = |status: u16, code: i64, why: String| {
        s.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .refusals
            .push(why.clone());
        graph_error(status, code, &why)
    };
    if phone != s.phone_number_id {
        return refuse(
            400,
            100,
            format!("Unsupported post request. Object with ID '{phone}' does not exist"),
        );
    }
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(m) = json_type
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    else {
        return refuse(400, 100, "(#100) Invalid JSON body".into());
    };
    if m["messaging_product"] != "whatsapp" {
        return refuse(
            400,
            100,
            "(#100) The parameter messaging_product is required.".into(),
        );
    }
    let to = m["to"].as_str().unwrap_or("").to_owned();
    if !(7..=15).contains(&to.len()) || !to.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(400, 131009, "(#131009) Parameter value is not valid".into());
    }
    if m["type"] != "template" {
        return refuse(
            400,
            131047,
            "(#131047) Re-engagement message: more than 24 hours have passed since the recipient last replied".into(),
        );
    }
    let name = m["template"]["name"].as_str().unwrap_or("").to_owned();
    let lang = m["template"]["language"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let Some((_, _, variables)) = TEMPLATES
        .iter()
        .find(|(n, langs, _)| *n == name && langs.contains(&lang.as_str()))
    else {
        return refuse(
            404,
            132001,
            format!("(#132001) Template name does not exist in the translation ({name}, {lang})"),
        );
    };
    let parameters: Vec<String> = m["template"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == "body")
        .flat_map(|c| c["parameters"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            if p["type"] == "text" {
                p["text"].as_str().unwrap_or("").to_owned()
            } else {
                String::new()
            }
        })
        .collect();
    let bad_parameter = |t: &String| {
        t.is_empty() || t.contains(['\n', '\t']) || t.contains("     ") || t.chars().count() > 1024
    };
    if parameters.len() != *variables || parameters.iter().any(bad_parameter) {
        return refuse(
            400,
            132018,
            "(#132018) There was an issue with the parameters in your template.".into(),
        );
    }
    let mut inner = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(WaReply::Error {
        status,
        code,
        message,
        retry_after,
    }) = inner.script.pop_front()
    {
        let mut resp = graph_error(status, code, &message);
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().expect("a number"));
        }
        return resp;
    }
    let wamid = format!(
        "wamid.HBgM{:016X}{:08X}",
        rand::random::<u64>(),
        rand::random::<u32>()
    );
    inner.sent.push(Sent {
        to: to.clone(),
        template: name,
        language: lang,
        parameters,
        wamid: wamid.clone(),
        body: m,
        at: Instant::now(),
    });
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to }],
        "messages": [{ "id": wamid, "message_status": "accepted" }],
    }))
    .into_response()
}
