//! `kintara-server`: serve the API, create staff accounts, or print the OpenAPI document.

use std::io::BufRead;

use clap::{Parser, Subcommand};
use kintara_api::{ProviderType, Role};
use kintara_server::auth::{password, users};
use kintara_server::config::{Config, LogFormat};
use kintara_server::db::Db;

#[derive(Parser)]
#[command(name = "kintara-server", version, about = "The Kintara API server")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create an account of any role, active at once (a provider made here needs no
    /// verification; the first admin is made this way).
    /// The password is read from the first line of standard input, never from the command line.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long, value_parser = parse_provider_type)]
        provider_type: Option<ProviderType>,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print how each delivery lane is doing: sent, pending, failed and skipped over the last
    /// hour and day, the oldest pending delivery and the latest errors.
    Deliveries,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}"))
}

fn parse_provider_type(s: &str) -> Result<ProviderType, String> {
    ProviderType::parse(s).ok_or_else(|| format!("unknown provider type {s:?}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Deliveries => {
            let db = Db::open(&cli.config.data_dir(), cli.config.database_url.as_deref()).await?;
            let health = kintara_server::delivery::health::load(&db).await?;
            print!("{}", kintara_server::delivery::health::table(&health));
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&kintara_server::routes::openapi())?
            );
            Ok(())
        }
        Command::CreateUser {
            email,
            role,
            provider_type,
            first_name,
            last_name,
        } => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            anyhow::ensure!(
                password.chars().count() >= kintara_api::auth::MIN_PASSWORD,
                "the password (first line of standard input) must be at least {} characters",
                kintara_api::auth::MIN_PASSWORD
            );
            anyhow::ensure!(
                (role == Role::Provider) == provider_type.is_some(),
                "--provider-type is required for providers and only for them"
            );
            let db = Db::open(&cli.config.data_dir(), cli.config.database_url.as_deref()).await?;
            let password_hash = password::hash(password).await?;
            let mut tx = db.begin_write().await?;
            let user = users::insert(
                &mut tx,
                users::NewUser {
                    email,
                    password_hash,
                    first_name,
                    last_name,
                    role,
                    provider_type,
                    is_anonymous: false,
                    // Whoever runs the server vouches for whom they create: providers too.
                    state: kintara_api::AccountState::Active,
                },
            )
            .await?;
            tx.commit().await?;
            println!("created {} {} ({})", user.role, user.email, user.id);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let running = kintara_server::start(config).await?;
    println!("kintara-server listening on {}", running.url());
    tokio::select! {
        r = async { tokio::signal::ctrl_c().await } => { r?; }
        _ = terminate() => {}
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINTARA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
