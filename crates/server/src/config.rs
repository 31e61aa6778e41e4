//! Configuration: every flag also reads an environment variable, with defaults for a laptop.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::limits::LimitSpec;

#[derive(Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "KINTARA_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Directory for the SQLite database, the signing key and stored files.
    /// Defaults to the per-user data directory (e.g. ~/.local/share/kintara).
    #[arg(long, env = "KINTARA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// PostgreSQL URL (postgres://...) to use instead of the embedded SQLite database.
    #[arg(long, env = "KINTARA_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Redis URL (redis://host:port) of the broker that carries events between instances. Needed
    /// only when several instances serve one PostgreSQL database.
    #[arg(long, env = "KINTARA_BROKER_URL", hide_env_values = true)]
    pub broker_url: Option<String>,

    /// Create the demo accounts (password `kintara-demo`) if they are missing.
    #[arg(long, env = "KINTARA_DEMO", default_value_t = false)]
    pub demo: bool,

    /// HS256 signing secret for access tokens (at least 32 bytes). Instances behind one load
    /// balancer must share it. Without it, a random secret is kept in the data directory.
    #[arg(long, env = "KINTARA_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Key that encrypts stored evidence files: 64 hex characters (32 bytes). Without it, a
    /// random key is kept in the data directory (`evidence.key`, mode 0600). Losing the key
    /// loses every stored file.
    #[arg(long, env = "KINTARA_EVIDENCE_KEY", hide_env_values = true)]
    pub evidence_key: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "KINTARA_ACCESS_TTL_SECS", default_value_t = 30 * 60)]
    pub access_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "KINTARA_REFRESH_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub refresh_ttl_secs: u64,

    /// Log format.
    #[arg(long, env = "KINTARA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Addresses of reverse proxies in front of this server (comma-separated). Only from them
    /// is `X-Forwarded-For` believed for the client's address; without any, the client is the
    /// socket's peer.
    #[arg(
        long = "trusted-proxy",
        env = "KINTARA_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Rate limits: `off`, or overrides of the defaults as `action.scope=N/period`,
    /// comma-separated (e.g. `message.account=30/min,report.address=20/h`). README lists the
    /// defaults.
    #[arg(long, env = "KINTARA_RATE_LIMITS", default_value = "")]
    pub rate_limits: LimitSpec,

    /// How long a client may take to send a request's headers, and how long an idle
    /// connection is kept, in seconds (clients should drop idle connections sooner).
    #[arg(long, env = "KINTARA_HEADER_TIMEOUT_SECS", default_value_t = 30)]
    pub header_timeout_secs: u64,

    /// At most this many open WebSockets per account (a phone, a tablet and a desktop, with
    /// room to reconnect).
    #[arg(long, env = "KINTARA_MAX_SOCKETS_PER_USER", default_value_t = 8)]
    pub max_sockets_per_user: usize,

    /// Path to a Firebase service-account JSON (from the Firebase console): push to devices
    /// registered as `fcm`. Its `project_id` and `token_uri` are used. Without it, pushes to
    /// those devices are `skipped`.
    #[arg(long, env = "KINTARA_FCM_CREDENTIALS")]
    pub fcm_credentials: Option<PathBuf>,

    /// Where FCM is reached.
    #[arg(
        long,
        env = "KINTARA_FCM_ENDPOINT",
        default_value = "https://fcm.googleapis.com"
    )]
    pub fcm_endpoint: String,

    /// Path to the APNs signing key (the .p8 file from Apple): push to devices registered as
    /// `apns`. Needs the key id, team id and topic below. Without it, pushes to those devices
    /// are `skipped`.
    #[arg(long, env = "KINTARA_APNS_KEY")]
    pub apns_key: Option<PathBuf>,

    /// The APNs key's id (10 characters, from Apple).
    #[arg(long, env = "KINTARA_APNS_KEY_ID")]
    pub apns_key_id: Option<String>,

    /// The Apple developer team id.
    #[arg(long, env = "KINTARA_APNS_TEAM_ID")]
    pub apns_team_id: Option<String>,

    /// The app's bundle id (`apns-topic`).
    #[arg(long, env = "KINTARA_APNS_TOPIC")]
    pub apns_topic: Option<String>,

    /// Where APNs is reached (`https://api.sandbox.push.apple.com` for development builds).
    #[arg(
        long,
        env = "KINTARA_APNS_ENDPOINT",
        default_value = "https://api.push.apple.com"
    )]
    pub apns_endpoint: String,

    /// Expo's push service, for devices registered as `expo`. Off unless this or the access
    /// token is set (nothing goes to a third party unasked); with only the token,
    /// `https://exp.host`.
    #[arg(long, env = "KINTARA_EXPO_ENDPOINT")]
    pub expo_endpoint: Option<String>,

    /// Expo's access token ("enhanced security for push notifications").
    #[arg(long, env = "KINTARA_EXPO_ACCESS_TOKEN", hide_env_values = true)]
    pub expo_access_token: Option<String>,

    /// How long after Expo's ticket its receipt is fetched, in seconds (Expo suggests 15
    /// minutes).
    #[arg(long, env = "KINTARA_EXPO_RECEIPT_DELAY_SECS", default_value_t = 15 * 60)]
    pub expo_receipt_delay_secs: u64,

    /// SMTP relay for e-mail notifications: `smtp://user:pass@host:port?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:port` (TLS), or plain `smtp://host:port` only to a
    /// relay on loopback. Without it, e-mail is `skipped`.
    #[arg(long, env = "KINTARA_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of e-mail notifications (`Kintara <notify@example.org>`).
    #[arg(long, env = "KINTARA_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// An extra CA certificate (PEM) to trust for the SMTP relay, besides the public ones.
    #[arg(long, env = "KINTARA_SMTP_CA")]
    pub smtp_ca: Option<PathBuf>,

    /// Where the WhatsApp Cloud API is reached.
    #[arg(
        long,
        env = "KINTARA_WHATSAPP_ENDPOINT",
        default_value = "https://graph.facebook.com"
    )]
    pub whatsapp_endpoint: String,

    /// The WhatsApp Cloud API access token (a system user's). With the phone number id, turns
    /// WhatsApp notifications on; without, they are `skipped`.
    #[arg(long, env = "KINTARA_WHATSAPP_TOKEN", hide_env_values = true)]
    pub whatsapp_token: Option<String>,

    /// The id of the business phone number messages are sent from (digits, from Meta).
    #[arg(long, env = "KINTARA_WHATSAPP_PHONE_NUMBER_ID")]
    pub whatsapp_phone_number_id: Option<String>,

    /// The app secret Meta signs status reports with (`X-Hub-Signature-256`). Without it, and
    /// the verify token, the webhook answers 404.
    #[arg(long, env = "KINTARA_WHATSAPP_APP_SECRET", hide_env_values = true)]
    pub whatsapp_app_secret: Option<String>,

    /// The verify token entered in Meta's webhook settings (checked on its subscription GET).
    #[arg(long, env = "KINTARA_WHATSAPP_VERIFY_TOKEN", hide_env_values = true)]
    pub whatsapp_verify_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// A configuration for tests and tools: an ephemeral port and the given data directory.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: "127.0.0.1:0".parse().expect("valid address"),
            data_dir: Some(data_dir.into()),
            database_url: None,
            broker_url: None,
            demo: false,
            jwt_secret: None,
            evidence_key: None,
            access_ttl_secs: 30 * 60,
            refresh_ttl_secs: 7 * 24 * 3600,
            log_format: LogFormat::Text,
            trusted_proxies: Vec::new(),
            rate_limits: LimitSpec::default(),
            header_timeout_secs: 30,
            max_sockets_per_user: 8,
            fcm_credentials: None,
            fcm_endpoint: "https://fcm.googleapis.com".into(),
            apns_key: None,
            apns_key_id: None,
            apns_team_id: None,
            apns_topic: None,
            apns_endpoint: "https://api.push.apple.com".into(),
            expo_endpoint: None,
            expo_access_token: None,
            expo_receipt_delay_secs: 15 * 60,
            smtp_url: None,
            smtp_from: None,
            smtp_ca: None,
            whatsapp_endpoint: "https://graph.facebook.com".into(),
            whatsapp_token: None,
            whatsapp_phone_number_id: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            dirs::data_local_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("kintara")
        })
    }

    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_ttl_secs)
    }

    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_ttl_secs)
    }
}

// Written by hand so the secrets never reach a log or a panic message.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("broker_url", &self.broker_url.as_ref().map(|_| "<set>"))
            .field("demo", &self.demo)
            .field("jwt_secret", &redacted(&self.jwt_secret))
            .field("evidence_key", &redacted(&self.evidence_key))
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .field("log_format", &self.log_format)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limits", &self.rate_limits)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("max_sockets_per_user", &self.max_sockets_per_user)
            .field("fcm_credentials", &self.fcm_credentials)
            .field("fcm_endpoint", &self.fcm_endpoint)
            .field("apns_key", &self.apns_key)
            .field("apns_key_id", &self.apns_key_id)
            .field("apns_team_id", &self.apns_team_id)
            .field("apns_topic", &self.apns_topic)
            .field("apns_endpoint", &self.apns_endpoint)
            .field("expo_endpoint", &self.expo_endpoint)
            .field("expo_access_token", &redacted(&self.expo_access_token))
            .field("expo_receipt_delay_secs", &self.expo_receipt_delay_secs)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("smtp_from", &self.smtp_from)
            .field("smtp_ca", &self.smtp_ca)
            .field("whatsapp_endpoint", &self.whatsapp_endpoint)
            .field("whatsapp_token", &redacted(&self.whatsapp_token))
            .field("whatsapp_phone_number_id", &self.whatsapp_phone_number_id)
            .field("whatsapp_app_secret", &redacted(&self.whatsapp_app_secret))
            .field(
                "whatsapp_verify_token",
                &redacted(&self.whatsapp_verify_token),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut c = Config::for_data_dir("/tmp/x");
        c.jwt_secret = Some("jwt-secret-value-0123456789abcdef".into());
        c.evidence_key = Some("ab".repeat(32));
        c.database_url = Some("postgres://user:password@db/kintara".into());
        c.broker_url = Some("redis://:password@broker:6379".into());
        c.smtp_url = Some("smtp://mailer:password@relay:587?tls=required".into());
        c.whatsapp_token = Some("EAAG-whatsapp-token".into());
        c.whatsapp_app_secret = Some("meta-app-secret".into());
        c.whatsapp_verify_token = Some("verify-me".into());
        let printed = format!("{c:?}");
        for secret in [
            "jwt-secret-value",
            &"ab".repeat(32),
            "password",
            "EAAG-whatsapp-token",
            "meta-app-secret",
            "verify-me",
        ] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
