//! The Kintara server: an axum HTTP service over SQLite (default) or PostgreSQL.
//!
//! Layers: `routes` (the HTTP surface) → handlers in `auth` and `incidents` (protocol: parse,
//! authorise, call storage, shape the answer) → `*/repo`-style storage modules (SQL only) → `db`.

pub mod admin;
pub mod auth;
pub mod chat;
pub mod client_addr;
pub mod config;
pub mod data_dir;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod devices;
pub mod error;
pub mod events;
pub mod evidence;
pub mod extract;
pub mod incidents;
pub mod limits;
pub mod listener;
pub mod naming;
pub mod notifications;
pub mod openapi;
pub mod routes;
pub mod socket;
pub mod state;
pub mod testing;
pub mod workflow;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use config::Config;
use state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot make the data directory {path} private (0700, files 0600): {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Keys(#[from] auth::tokens::KeyError),
    #[error(transparent)]
    Evidence(#[from] evidence::store::OpenError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Broker(#[from] events::broker::BrokerError),
    #[error(transparent)]
    Delivery(#[from] delivery::ConfigError),
    #[error("creating the demo accounts failed: {0}")]
    Demo(#[from] error::ApiError),
}

/// A server accepting connections. Dropping it (or calling `stop`) shuts it down gracefully.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Background upkeep (retention; SQLite's checkpoints), stopped at shutdown.
    upkeep: Vec<tokio::task::JoinHandle<()>>,
    /// The delivery workers, told to stop at shutdown and waited for (they record what they
    /// have in flight first).
    workers: Vec<tokio::task::JoinHandle<()>>,
    stop_workers: tokio::sync::watch::Sender<bool>,
    /// Carries wakes to and from other instances, when configured.
    _broker: Option<events::broker::Broker>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        for w in std::mem::take(&mut self.workers) {
            // A send takes at most 10 s; a worker stuck past that is left to the lease.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), w).await;
        }
    }

    /// Waits until the server stops by itself (it only does on error).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Running {
    /// Long-polls answer now rather than holding graceful shutdown; retention stops.
    fn begin_shutdown(&self) {
        self.state.events.close();
        let _ = self.stop_workers.send(true);
        for task in &self.upkeep {
            task.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Opens storage, runs migrations, creates demo accounts if asked, and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let data_dir = config.data_dir();
    // Before anything is written there, and again for what an earlier version left wider.
    data_dir::narrow(&data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let db = db::Db::open(&data_dir, config.database_url.as_deref()).await?;
    let keys =
        auth::tokens::JwtKeys::load(config.jwt_secret.as_deref(), &data_dir, config.access_ttl())?;
    let evidence = evidence::EvidenceStore::open(&data_dir, config.evidence_key.as_deref())?;
    if config.demo {
        let created = demo::ensure_accounts(&db).await?;
        tracing::info!(
            created,
            "demo accounts ready (password: {})",
            demo::DEMO_PASSWORD
        );
    }
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let hub = Arc::new(events::Hub::default());
    // The send queue's tasks end by themselves once the last handle (in the state) is gone,
    // after storing what was queued: a graceful shutdown loses no accepted send.
    let sends = chat::SendQueue::start(db.clone(), hub.clone());
    let (handover, handover_task) = delivery::handover::Handover::start(db.clone());
    let state = AppState {
        db,
        keys: Arc::new(keys),
        evidence: Arc::new(evidence),
        events: hub,
        limits: Arc::new(limits::Limits::new(&config.rate_limits)),
        config: Arc::new(config),
        sends,
        handover,
    };
    let broker = match state.config.broker_url.as_deref() {
        Some(url) => Some(events::broker::start(url, state.events.clone())?),
        None => None,
    };
    let app = routes::router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let header_timeout = std::time::Duration::from_secs(state.config.header_timeout_secs.max(1));
    let task = tokio::spawn(async move {
        listener::serve(listener, app, header_timeout, rx).await;
        Ok(())
    });
    tracing::info!(%addr, database = state.db.backend.name(), "listening");
    let (stop_workers, stop) = tokio::sync::watch::channel(false);
    let workers = delivery::start(&state.db, &state.config, &state.events, stop).await?;
    let mut upkeep = vec![events::spawn_retention(state.db.clone()), handover_task];
    upkeep.extend(state.db.spawn_checkpoints());
    let limits = state.limits.clone();
    upkeep.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.forget_idle();
        }
    }));
    Ok(Running {
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
        upkeep,
        workers,
        stop_workers,
        _broker: broker,
    })
}
