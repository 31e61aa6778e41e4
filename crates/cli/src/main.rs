//! `kintara`: the command-line client. Every command goes through the client core exactly as
//! the app does: the session sealed on disk, every change queued in the persisted outbox before
//! any network call, and the event stream through the sync service from the saved cursor.

mod device;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kintara_api::{IncidentCreate, IncidentType, Location, SupportService, UrgencyLevel};
use kintara_core::sync::{SyncEvent, SyncState};
use kintara_core::{Outbox, OutboxAction, OutboxState};

use device::Device;

#[derive(Parser)]
#[command(name = "kintara", version, about = "The Kintara command-line client")]
struct Cli {
    /// The server, e.g. http://127.0.0.1:8000 (remembered after `login`).
    #[arg(long, env = "KINTARA_SERVER", global = true)]
    server: Option<String>,
    /// Where this client keeps its sealed session, outbox, cursor and device key.
    #[arg(long, env = "KINTARA_CLI_DIR", global = true)]
    data_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in. The password is read from KINTARA_PASSWORD or the first line of standard input.
    Login {
        #[arg(long)]
        email: String,
    },
    /// Sign out and wipe everything this client keeps.
    Logout,
    /// Panic wipe: everything this client keeps is gone at once, device key included (also from
    /// the OS keystore), without
    /// waiting for the network; the server is told (ending the session and its push
    /// registrations) if it answers within two seconds.
    Wipe,
    /// Who is signed in.
    Whoami,
    /// Lock this device's data with a PIN of at least 6 digits (read from KINTARA_NEW_PIN or
    /// standard input), moving the key out of the OS keystore; or change the PIN (the current
    /// one in KINTARA_PIN). Every later command needs the PIN in KINTARA_PIN. Without a keystore
    /// the first command already needs one, chosen in KINTARA_PIN.
    Pin,
    /// Your chat rooms.
    Rooms,
    /// Queue messages to a room and deliver them: TEXT, or with `-` one message per input line.
    Send {
        room: uuid::Uuid,
        text: String,
        /// Seconds to keep delivering before leaving the rest queued.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// Queue a report (with its files) and deliver it.
    Report {
        #[arg(long)]
        description: String,
        #[arg(long, default_value = "Nairobi")]
        address: String,
        #[arg(long, default_value = "emotional")]
        r#type: String,
        #[arg(long, default_value = "routine")]
        urgency: String,
        #[arg(long, default_value = "counseling")]
        service: String,
        /// A photo, recording or document to add to the report (repeatable). It is copied into
        /// this client's sealed store when queued, so the original may be deleted.
        #[arg(long = "attach", value_name = "PATH")]
        attach: Vec<std::path::PathBuf>,
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// Accept a case offered to you (providers).
    Accept {
        incident: uuid::Uuid,
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// A room's messages from this device's cache (works offline).
    Cached { room: uuid::Uuid },
    /// What is waiting to be delivered, and what failed.
    Outbox,
    /// Deliver what is queued.
    Flush {
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// Print the event stream as JSON lines, from the saved cursor.
    Tail {
        /// Stop after this many new messages.
        #[arg(long)]
        messages: Option<usize>,
        /// Stop after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// Long-poll only (no WebSocket).
        #[arg(long)]
        poll: bool,
    },
}

/// Exit codes a script can act on.
const EXIT_QUEUED: i32 = 3;
const EXIT_FAILED: i32 = 4;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("kintara: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    let dir = cli.data_dir.clone().unwrap_or_else(|| {
        dirs::data_local_dir()
            .unwrap_or_else(|| ".".into())
            .join("kintara-cli")
    });
    // Setting the PIN must work before the device can be opened: with no keystore, opening is
    // what needs a PIN.
    if let Command::Pin = cli.command {
        let pin = match std::env::var("KINTARA_NEW_PIN") {
            Ok(p) => p,
            Err(_) => {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            }
        };
        println!("{}", device::set_pin(&dir, &pin)?);
        return Ok(0);
    }
    let device = Device::open(&dir, cli.server.as_deref()).await?;
    match cli.command {
        Command::Login { email } => {
            let password = match std::env::var("KINTARA_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let user = device.account.client.login(&email, &password).await?;
            println!("signed in as {} ({})", user.email, user.role);
            Ok(0)
        }
        Command::Logout => {
            // Local data goes even when the server cannot be told.
            let told = device.account.client.logout().await;
            device.wipe_all().await?;
            told.context("signed out here, but the server could not be told")?;
            println!("signed out; local data wiped");
            Ok(0)
        }
        Command::Wipe => {
            let told = tokio::spawn({
                let client = device.account.client.clone();
                async move { client.logout().await }
            });
            device.destroy().await?;
            let told = tokio::time::timeout(Duration::from_secs(2), told).await;
            match told {
                Ok(Ok(Ok(()))) => println!("wiped; the server ended the session"),
                _ => println!(
                    "wiped; the server could not be told (the session ends when it expires)"
                ),
            }
            Ok(0)
        }
        // Handled before the device is opened (see above).
        Command::Pin => unreachable!("handled before opening the device"),
        Command::Whoami => {
            let user = device.account.client.me().await?;
            println!("{} {} ({})", user.id, user.email, user.role);
            Ok(0)
        }
        Command::Rooms => {
            for room in device.account.client.rooms().await?.results {
                let last = room
                    .last_message
                    .as_ref()
                    .and_then(|m| m.content.as_deref())
                    .unwrap_or("");
                println!(
                    "{}\t{}\tunread {}\t{}",
                    room.id, room.name, room.unread_count, last
                );
            }
            Ok(0)
        }
        Command::Send { room, text, wait } => {
            let lines: Vec<String> = if text == "-" {
                std::io::stdin().lines().collect::<Result<_, _>>()?
            } else {
                vec![text]
            };
            let outbox = device.account.outbox.clone();
            for content in lines.into_iter().filter(|l| !l.trim().is_empty()) {
                outbox
                    .enqueue(OutboxAction::SendMessage { room, content })
                    .await?;
            }
            deliver(outbox, wait).await
        }
        Command::Report {
            description,
            address,
            r#type,
            urgency,
            service,
            attach,
            wait,
        } => {
            // Every file is read and checked before anything is queued: a refused one queues
            // nothing.
            let attachments = attach
                .iter()
                .map(|path| kintara_core::Attachment::from_path(path, None))
                .collect::<Result<Vec<_>, _>>()?;
            let report = IncidentCreate {
                kind: IncidentType::parse(&r#type).context("unknown --type")?,
                incident_date: chrono::Utc::now().date_naive(),
                incident_time: None,
                description,
                location: Location {
                    address,
                    ..Default::default()
                },
                severity: Default::default(),
                urgency_level: UrgencyLevel::parse(&urgency).context("unknown --urgency")?,
                support_services: vec![
                    SupportService::parse(&service).context("unknown --service")?
                ],
                provider_preferences: None,
                is_anonymous: false,
                client_id: None,
            };
            let outbox = device.account.outbox.clone();
            outbox.enqueue_report(report, attachments).await?;
            deliver(outbox, wait).await
        }
        Command::Accept { incident, wait } => {
            let outbox = device.account.outbox.clone();
            outbox
                .enqueue(OutboxAction::Accept {
                    incident,
                    notes: None,
                })
                .await?;
            deliver(outbox, wait).await
        }
        Command::Cached { room } => {
            for m in device.account.cache.messages(room).await? {
                let who = m.sender.map(|s| s.full_name).unwrap_or_default();
                println!("{}\t{}\t{}", m.seq, who, m.content.unwrap_or_default());
            }
            Ok(0)
        }
        Command::Outbox => {
            for item in device.account.outbox.clone().items().await? {
                println!(
                    "{}\t{}\t{:?}\tattempts {}\t{}",
                    item.id,
                    item.lane,
                    item.state,
                    item.attempts,
                    item.last_error.as_deref().unwrap_or("")
                );
            }
            Ok(0)
        }
        Command::Flush { wait } => deliver(device.account.outbox.clone(), wait).await,
        Command::Tail {
            messages,
            timeout,
            poll,
        } => tail(&device, messages, timeout, poll).await,
    }
}

/// Runs the outbox until nothing is left to try or `wait` seconds pass. Exit 0: all delivered;
/// 3: some still queued (offline); 4: some failed for good (see `kintara outbox`).
async fn deliver(outbox: Arc<Outbox<kintara_core::SqliteLocal>>, wait: u64) -> anyhow::Result<i32> {
    let mut items = outbox.subscribe();
    let runner = tokio::spawn(outbox.clone().run());
    let pending =
        |list: &[kintara_core::OutboxItem]| list.iter().any(|i| i.state != OutboxState::Failed);
    // The view starts empty and is only current once the runner has loaded it from the store:
    // judging the empty view would end a `flush` before it sent anything.
    let settled = async {
        if items.changed().await.is_ok() {
            let _ = items.wait_for(|list| !pending(list)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(wait), settled).await;
    runner.abort();
    let left = outbox.items().await?;
    let failed = left
        .iter()
        .filter(|i| i.state == OutboxState::Failed)
        .count();
    let queued = left.len() - failed;
    if failed > 0 {
        eprintln!("{failed} failed for good (kintara outbox shows why)");
        return Ok(EXIT_FAILED);
    }
    if queued > 0 {
        eprintln!("{queued} still queued; they go with the next send or flush");
        return Ok(EXIT_QUEUED);
    }
    Ok(0)
}

async fn tail(
    device: &Device,
    messages: Option<usize>,
    timeout: Option<u64>,
    poll: bool,
) -> anyhow::Result<i32> {
    if device.account.client.current_user().is_none() {
        bail!("not signed in");
    }
    let (cache, sync) = (&device.account.cache, device.account.sync.clone());
    sync.set_socket_allowed(!poll);
    let mut events = sync.events();
    let mut state = sync.state();
    let runner = tokio::spawn(sync.clone().run());
    let deadline = timeout.map(|t| tokio::time::Instant::now() + Duration::from_secs(t));
    let mut seen = 0usize;
    let mut last_state = state.borrow().clone();
    loop {
        let next = async {
            tokio::select! {
                ev = events.recv() => Some(ev),
                changed = state.changed() => { changed.ok(); None }
            }
        };
        let got = match deadline {
            Some(d) => match tokio::time::timeout_at(d, next).await {
                Ok(g) => g,
                Err(_) => break,
            },
            None => next.await,
        };
        match got {
            None => {
                let now = state.borrow().clone();
                if now != last_state {
                    eprintln!("[{now:?}]");
                    if now == SyncState::LoggedOut {
                        runner.abort();
                        bail!("the session ended; sign in again");
                    }
                    last_state = now;
                }
            }
            Some(Ok(SyncEvent::Frame(f))) => {
                // The cache is a convenience; the stream goes on even if it cannot be written.
                if let Err(e) = cache.apply(&SyncEvent::Frame(f.clone())).await {
                    eprintln!("[cache: {e}]");
                }
                println!("{}", serde_json::to_string(&f)?);
                if f.kind() == kintara_api::EventType::NewMessage {
                    seen += 1;
                    if messages.is_some_and(|n| seen >= n) {
                        break;
                    }
                }
            }
            Some(Ok(SyncEvent::ResyncRequired)) => {
                println!(r#"{{"type":"resync_required"}}"#);
                if let Err(e) = cache.refresh_all(&device.account.client).await {
                    eprintln!("[cache refetch failed: {e}]");
                }
            }
            Some(Err(e)) => bail!("the stream fell behind: {e}"),
        }
    }
    runner.abort();
    Ok(0)
}
