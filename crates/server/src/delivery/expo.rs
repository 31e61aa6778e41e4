//! Expo's push service. Messages go in batches of at most 100 per request (sends made at the
//! same moment share one); Expo answers a ticket per message, in order: `ok` is `sent`,
//! `DeviceNotRegistered` a dead token. Whether Apple or Google then took it comes later as a
//! receipt: `receipts` fetches them once they are due and removes devices whose receipt says
//! `DeviceNotRegistered` (the delivery becomes `failed`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

use super::outbox::{self, Job};
use super::text::Outgoing;
use super::{retry_after, ConfigError, Outcome};
use crate::db::Db;

pub const MAX_BATCH: usize = 100;
/// Expo's service, when only an access token is configured.
pub const ENDPOINT: &str = "https://exp.host";
/// How long a batch waits for more sends after its first one.
const LINGER: Duration = Duration::from_millis(5);

type Waiting = (Value, oneshot::Sender<Outcome>);

pub struct Expo {
    queue: mpsc::Sender<Waiting>,
    http: reqwest::Client,
    endpoint: String,
    access_token: Option<String>,
    receipt_delay: Duration,
}

impl Expo {
    /// Starts the batcher (it ends when this is dropped).
    pub fn start(
        endpoint: &str,
        access_token: Option<&str>,
        receipt_delay: Duration,
    ) -> Result<Expo, ConfigError> {
        let http = super::http_client()?;
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        tokio::spawn(batcher(
            http.clone(),
            endpoint.clone(),
            access_token.map(str::to_owned),
            rx,
        ));
        Ok(Expo {
            queue,
            http,
            endpoint,
            access_token: access_token.map(str::to_owned),
            receipt_delay,
        })
    }

    pub async fn send(&self, job: &Job, out: &Outgoing) -> Outcome {
        let Some(token) = job.token.as_deref() else {
            return Outcome::Failed {
                error: kintara_api::delivery_error::DEVICE_GONE.into(),
            };
        };
        let (tx, rx) = oneshot::channel();
        if self.queue.send((message(token, out), tx)).await.is_err() {
            return Outcome::Retry {
                error: "the Expo batcher stopped".into(),
                after: None,
            };
        }
        rx.await.unwrap_or(Outcome::Retry {
            error: "the Expo batcher stopped".into(),
            after: None,
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        request(
            &self.http,
            &self.endpoint,
            self.access_token.as_deref(),
            path,
        )
    }
}

fn request(
    http: &reqwest::Client,
    endpoint: &str,
    token: Option<&str>,
    path: &str,
) -> reqwest::RequestBuilder {
    let r = http
        .post(format!("{endpoint}{path}"))
        .header("accept", "application/json");
    match token {
        Some(t) => r.bearer_auth(t),
        None => r,
    }
}

fn message(token: &str, out: &Outgoing) -> Value {
    let mut m = json!({
        "to": token,
        "body": out.body,
        "data": out.data,
        "sound": "default",
        "priority": if out.urgent { "high" } else { "default" },
        "channelId": if out.urgent { "urgent" } else { "updates" },
        "interruptionLevel": if out.urgent { "critical" } else { "active" },
    });
    if let Some(t) = &out.title {
        m["title"] = json!(t);
    }
    if out.urgent {
        m["ttl"] = json!(super::plan::URGENT_TTL.num_seconds());
    }
    m
}

async fn batcher(
    http: reqwest::Client,
    endpoint: String,
    token: Option<String>,
    mut rx: mpsc::Receiver<Waiting>,
) {
    let mut batch: Vec<Waiting> = Vec::with_capacity(MAX_BATCH);
    loop {
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let linger = tokio::time::sleep(LINGER);
        tokio::pin!(linger);
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            tokio::select! {
                n = rx.recv_many(&mut batch, room) => if n == 0 { break },
                _ = &mut linger => break,
            }
        }
        let (messages, replies): (Vec<Value>, Vec<oneshot::Sender<Outcome>>) =
            batch.drain(..).unzip();
        let outcomes = send_batch(&http, &endpoint, token.as_deref(), &messages).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }
}

/// One request; one outcome per message, in order.
async fn send_batch(
    http: &reqwest::Client,
    endpoint: &str,
    token: Option<&str>,
    messages: &[Value],
) -> Vec<Outcome> {
    let all = |o: Outcome| vec![o; messages.len()];
    let resp = match request(http, endpoint, token, "/--/api/v2/push/send")
        .json(messages)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return all(Outcome::Retry {
                error: if e.is_timeout() {
                    "timed out".into()
                } else {
                    "cannot reach Expo".into()
                },
                after: None,
            })
        }
    };
    let status = resp.status().as_u16();
    let after = retry_after(resp.headers());
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let tickets = body["data"]
        .as_array()
        .filter(|t| t.len() == messages.len());
    match (status, tickets) {
        (200, Some(tickets)) => tickets.iter().map(ticket).collect(),
        (200, None) => all(Outcome::Retry {
            error: "200 without a ticket per message".into(),
            after,
        }),
        _ => {
            let code = body["errors"][0]["code"].as_str().unwrap_or("");
            let text = body["errors"][0]["message"].as_str().unwrap_or("");
            let error = super::described(status, code, text);
            all(if status == 429 || status >= 500 {
                Outcome::Retry { error, after }
            } else {
                Outcome::Failed { error }
            })
        }
    }
}

fn ticket(t: &Value) -> Outcome {
    if t["status"] == "ok" {
        return match t["id"].as_str() {
            Some(id) => Outcome::Sent {
                message_id: id.to_owned(),
            },
            None => Outcome::Retry {
                error: "a ticket without an id".into(),
                after: None,
            },
        };
    }
    let code = t["details"]["error"].as_str().unwrap_or("");
    let error = super::described(200, code, t["message"].as_str().unwrap_or(""));
    match code {
        "DeviceNotRegistered" => Outcome::DeadToken { error },
        "MessageRateExceeded" => Outcome::Retry { error, after: None },
        _ => Outcome::Failed { error },
    }
}

/// Fetches the receipts of Expo's `ok` tickets once they are `receipt_delay` old, until `stop`.
pub fn receipts(
    db: Db,
    sender: Arc<super::Sender>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let super::Sender::Expo(expo) = &*sender else {
            return;
        };
        let every = expo
            .receipt_delay
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = check_receipts(&db, expo).await {
                tracing::warn!(error = %e, "fetching Expo receipts failed");
            }
        }
    })
}

#[derive(Debug, thiserror::Error)]
enum ReceiptError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("Expo: {0}")]
    Expo(String),
}

async fn check_receipts(db: &Db, expo: &Expo) -> Result<(), ReceiptError> {
    let due = chrono::Utc::now()
        - chrono::Duration::from_std(expo.receipt_delay).unwrap_or(chrono::Duration::minutes(15));
    let awaiting = outbox::awaiting_receipts(db, due, 1000).await?;
    if awaiting.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = awaiting.iter().map(|a| a.ticket.as_str()).collect();
    let resp = expo
        .post("/--/api/v2/push/getReceipts")
        .json(&json!({ "ids": ids }))
        .send()
        .await
        .map_err(|e| ReceiptError::Expo(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(ReceiptError::Expo(resp.status().to_string()));
    }
    let body: Value = resp
        .json()
        .await
        .map_err(|e| ReceiptError::Expo(e.to_string()))?;
    let mut read = Vec::new();
    for a in awaiting {
        let r = &body["data"][&a.ticket];
        if r.is_null() {
            continue; // not ready yet
        }
        let dead = (r["status"] == "error" && r["details"]["error"] == "DeviceNotRegistered")
            .then(|| super::described(200, "DeviceNotRegistered", "(receipt)"));
        read.push((a, dead));
    }
    outbox::record_receipts(db, &read).await?;
    Ok(())
}
