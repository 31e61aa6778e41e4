//! Wakes across instances over Redis pub/sub. A message says only "user X has news"; the
//! receiving instance wakes its own waiters, who re-read the log from the shared database. So the
//! broker is never a source of truth: a lost message costs latency (until the waiters' periodic
//! re-check), never an event. After a lost connection every local waiter is woken once, for
//! whatever was published while this instance could not hear it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::Hub;

/// The one channel all instances share.
const CHANNEL: &str = "kintara:wake";
/// Wakes waiting to be published; beyond this they are dropped (see `Hub::wake`).
const QUEUE: usize = 65_536;
/// Most wakes sent in one pipeline.
const BATCH: usize = 512;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
#[error("the broker URL is not usable: {0}")]
pub struct BrokerError(#[from] redis::RedisError);

/// The broker's two tasks; dropping this stops them.
pub struct Broker {
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Broker {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts publishing `hub`'s wakes to the broker at `url` and waking `hub` with other instances'.
/// Connecting happens in the background and is retried for ever, so a broker that is down at
/// start delays cross-instance wakes but not the server.
pub fn start(url: &str, hub: Arc<Hub>) -> Result<Broker, BrokerError> {
    let client = redis::Client::open(url)?;
    // Messages carry the sender's id so an instance ignores its own (it woke locally already).
    let me = Uuid::new_v4().simple().to_string();
    let (tx, rx) = mpsc::channel(QUEUE);
    hub.set_remote(tx);
    let publisher = tokio::spawn(publish(client.clone(), me.clone(), rx));
    let subscriber = tokio::spawn(subscribe(client, me, hub));
    Ok(Broker {
        tasks: [publisher, subscriber],
    })
}

async fn publish(client: redis::Client, me: String, mut rx: mpsc::Receiver<Uuid>) {
    let mut retry = RETRY_MIN;
    // Wakes not yet published; kept across a reconnect, so an outage delays them instead of
    // losing them (the queue bounds how many wait).
    let mut batch: Vec<Uuid> = Vec::with_capacity(BATCH);
    loop {
        let mut conn = match client.get_multiplexed_async_connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "broker unreachable (publishing); retrying");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        retry = RETRY_MIN;
        loop {
            if batch.is_empty() && rx.recv_many(&mut batch, BATCH).await == 0 {
                return; // the hub is gone: the server stopped
            }
            batch.sort_unstable();
            batch.dedup();
            let mut pipe = redis::pipe();
            for user in &batch {
                pipe.publish(CHANNEL, format!("{me}:{user}")).ignore();
            }
            if let Err(e) = pipe.query_async::<()>(&mut conn).await {
                tracing::warn!(error = %e, "publishing to the broker failed; reconnecting");
                break;
            }
            batch.clear();
        }
    }
}

async fn subscribe(client: redis::Client, me: String, hub: Arc<Hub>) {
    let mut retry = RETRY_MIN;
    loop {
        let pubsub = match client.get_async_pubsub().await {
            Ok(mut p) => match p.subscribe(CHANNEL).await {
                Ok(()) => Some(p),
                Err(e) => {
                    tracing::warn!(error = %e, "subscribing to the broker failed");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "broker unreachable (subscribing); retrying");
                None
            }
        };
        let Some(mut pubsub) = pubsub else {
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(RETRY_MAX);
            continue;
        };
        retry = RETRY_MIN;
        tracing::info!("listening to the broker");
        // Anything published while we were not subscribed was missed: everyone re-reads.
        hub.wake_all_local();
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            match parse(&payload) {
                Some((from, user)) if from != me => hub.wake_local(user),
                Some(_) => {}
                None => tracing::debug!("ignoring a malformed broker message"),
            }
        }
        tracing::warn!("lost the broker connection; resubscribing");
    }
}

/// `"<instance>:<user uuid>"`.
fn parse(payload: &str) -> Option<(&str, Uuid)> {
    let (from, user) = payload.split_once(':')?;
    Some((from, Uuid::parse_str(user).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_sender_and_the_user() {
        let user = Uuid::new_v4();
        assert_eq!(parse(&format!("abc:{user}")), Some(("abc", user)));
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("abc:not-a-uuid"), None);
    }
}
