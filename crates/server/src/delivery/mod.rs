//! Notifications leaving the server: push (FCM today), e-mail, WhatsApp.
//!
//! - `plan`: in the notification's own transaction, which channels it goes to and one outbox
//!   row per (notification, channel, target); a channel nobody can carry is `skipped` at once.
//! - `outbox`: the `deliveries` table: enqueue, lease, record outcomes, keep the notification's
//!   `channels` honest.
//! - `worker`: one per lane (FCM, APNs, ...), each with its own concurrency, so one failing
//!   service never delays another.
//! - `text`: the one builder of every text that leaves the app (nothing of a case for a
//!   survivor).
//! - `fcm`: the FCM HTTP v1 sender; `apns`: APNs over HTTP/2; `expo`: Expo's push service
//!   (batches, tickets, receipts); `email`: SMTP; `whatsapp`: the WhatsApp Cloud API, whose
//!   status reports come back through `webhook`.
//! - `handover`: the in-app channel's `sent`, reported by sockets and long-polls.
//! - `health`: per lane counts, oldest pending and latest errors, for operators.

pub mod apns;
pub mod backoff;
pub mod email;
pub mod expo;
pub mod fcm;
pub mod handover;
pub mod health;
pub mod outbox;
pub mod plan;
pub mod text;
pub mod webhook;
pub mod whatsapp;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kintara_api::DeliveryLane;

use crate::config::Config;
use crate::db::Db;
use crate::events::Hub;

/// What a service answered for one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the service's id for it.
    Sent { message_id: String },
    /// Try again later (the service is down, busy, or could not be reached); not before
    /// `after` when the service said so.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// The service refused it for good.
    Failed { error: String },
    /// The device token is dead: the device goes and is never used again.
    DeadToken { error: String },
}

/// Carries one lane's deliveries.
pub enum Sender {
    Fcm(fcm::Fcm),
    Apns(apns::Apns),
    Expo(expo::Expo),
    Email(email::Email),
    Whatsapp(whatsapp::Whatsapp),
}

impl Sender {
    pub fn lane(&self) -> DeliveryLane {
        match self {
            Sender::Fcm(_) => DeliveryLane::Fcm,
            Sender::Apns(_) => DeliveryLane::Apns,
            Sender::Expo(_) => DeliveryLane::Expo,
            Sender::Email(_) => DeliveryLane::Email,
            Sender::Whatsapp(_) => DeliveryLane::Whatsapp,
        }
    }

    /// How many deliveries of this lane may be in flight at once.
    fn concurrency(&self) -> usize {
        match self {
            Sender::Fcm(_) => 64,
            // One HTTP/2 connection carries them all.
            Sender::Apns(_) => 64,
            // Sends at the same moment share a request of up to 100.
            Sender::Expo(_) => 2 * expo::MAX_BATCH,
            // Relays limit connections per client.
            Sender::Email(_) => 4,
            // Meta allows a business number about 80 messages a second.
            Sender::Whatsapp(_) => 16,
        }
    }

    async fn send(&self, job: &outbox::Job, out: &text::Outgoing) -> Outcome {
        match self {
            Sender::Fcm(f) => f.send(job, out).await,
            Sender::Apns(a) => a.send(job, out).await,
            Sender::Expo(e) => e.send(job, out).await,
            Sender::Email(e) => e.send(job, &text::email(out, job.language)).await,
            Sender::Whatsapp(w) => w.send(job, out).await,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the FCM service account {path}: {source}")]
    FcmFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the FCM service account {path} is not usable: {reason}")]
    FcmAccount { path: PathBuf, reason: String },
    #[error("APNs is not usable: {0}")]
    Apns(String),
    #[error("the SMTP relay is not usable: {0}")]
    Smtp(String),
    #[error("WhatsApp is not usable: {0}")]
    Whatsapp(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("cannot record the configured delivery lanes: {0}")]
    Db(#[from] sqlx::Error),
}

/// The senders this configuration allows.
pub fn senders(config: &Config) -> Result<Vec<Arc<Sender>>, ConfigError> {
    let mut out = Vec::new();
    if let Some(path) = &config.fcm_credentials {
        out.push(Arc::new(Sender::Fcm(fcm::Fcm::from_file(
            path,
            &config.fcm_endpoint,
        )?)));
    }
    if let Some(key) = &config.apns_key {
        let need = |v: &Option<String>| v.clone().unwrap_or_default();
        out.push(Arc::new(Sender::Apns(apns::Apns::from_config(
            apns::ApnsConfig {
                key,
                key_id: &need(&config.apns_key_id),
                team_id: &need(&config.apns_team_id),
                topic: &need(&config.apns_topic),
                endpoint: &config.apns_endpoint,
            },
        )?)));
    }
    if config.expo_endpoint.is_some() || config.expo_access_token.is_some() {
        out.push(Arc::new(Sender::Expo(expo::Expo::start(
            config.expo_endpoint.as_deref().unwrap_or(expo::ENDPOINT),
            config.expo_access_token.as_deref(),
            Duration::from_secs(config.expo_receipt_delay_secs),
        )?)));
    }
    if let Some(url) = &config.smtp_url {
        out.push(Arc::new(Sender::Email(email::Email::from_config(
            url,
            config.smtp_from.as_deref(),
            config.smtp_ca.as_deref(),
        )?)));
    }
    match (&config.whatsapp_token, &config.whatsapp_phone_number_id) {
        (Some(token), Some(number)) => out.push(Arc::new(Sender::Whatsapp(
            whatsapp::Whatsapp::new(&config.whatsapp_endpoint, token, number)?,
        ))),
        (None, None) => {}
        _ => {
            return Err(ConfigError::Whatsapp(
                "KINTARA_WHATSAPP_TOKEN and KINTARA_WHATSAPP_PHONE_NUMBER_ID go together".into(),
            ))
        }
    }
    Ok(out)
}

/// Records the lanes this instance carries and starts a worker for each. The workers stop when
/// `stop` turns true, after recording what they have in flight.
pub async fn start(
    db: &Db,
    config: &Config,
    hub: &Arc<Hub>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, ConfigError> {
    let senders = senders(config)?;
    let lanes: Vec<DeliveryLane> = senders.iter().map(|s| s.lane()).collect();
    outbox::set_lanes(db, &lanes).await?;
    let mut tasks = Vec::new();
    for s in senders {
        if matches!(*s, Sender::Expo(_)) {
            tasks.push(expo::receipts(db.clone(), s.clone(), stop.clone()));
        }
        tasks.push(worker::spawn(
            db.clone(),
            s,
            hub.outbox_waiter(),
            stop.clone(),
        ));
    }
    Ok(tasks)
}

/// One HTTP client per sender: connections are kept and reused; nothing waits for ever.
fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("kintara-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A `Retry-After` in seconds (the services send seconds; a date is ignored, and backoff
/// applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A service's refusal as kept in `last_error`: status, code and its words, at most 300
/// characters.
fn described(status: u16, code: &str, text: &str) -> String {
    let mut s = format!("{status} {code}: {text}");
    if s.chars().count() > 300 {
        s = s.chars().take(300).collect();
    }
    s.trim_end_matches([' ', ':']).to_owned()
}
