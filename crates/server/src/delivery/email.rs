//! E-mail over SMTP (`lettre`): STARTTLS (`smtp://...?tls=required`) or TLS from the first byte
//! (`smtps://`), with AUTH when the URL has credentials; plain SMTP only to a relay on loopback.
//! A plain-text and an HTML body, made by `text::email`. `sent` once the relay answered 250.

use std::path::Path;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::outbox::Job;
use super::text::EmailText;
use super::{ConfigError, Outcome};

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

fn bad(reason: impl Into<String>) -> ConfigError {
    ConfigError::Smtp(reason.into())
}

impl Email {
    /// From `KINTARA_SMTP_URL`, `KINTARA_SMTP_FROM` and `KINTARA_SMTP_CA`.
    pub fn from_config(
        url: &str,
        from: Option<&str>,
        ca: Option<&Path>,
    ) -> Result<Email, ConfigError> {
        let url = url::Url::parse(url).map_err(|e| bad(format!("KINTARA_SMTP_URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| bad("KINTARA_SMTP_URL has no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let tls_mode = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || -> Result<TlsParameters, ConfigError> {
            let mut b = TlsParameters::builder(host.clone());
            if let Some(path) = ca {
                let pem = std::fs::read(path)
                    .map_err(|e| bad(format!("KINTARA_SMTP_CA {}: {e}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| bad(format!("KINTARA_SMTP_CA {}: {e}", path.display())))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| bad(format!("TLS: {e}")))
        };
        let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
            ("smtps", _) => (Tls::Wrapper(params()?), 465),
            ("smtp", Some("required")) => (Tls::Required(params()?), 587),
            ("smtp", None | Some("none")) if loopback => (Tls::None, 25),
            ("smtp", None | Some("none")) => {
                return Err(bad(
                    "plain SMTP is allowed only to a relay on loopback; add ?tls=required or use smtps://",
                ))
            }
            (scheme, tls) => {
                return Err(bad(format!(
                    "unsupported KINTARA_SMTP_URL: scheme {scheme:?}, tls={tls:?}"
                )))
            }
        };
        let from: Mailbox = from
            .ok_or_else(|| bad("KINTARA_SMTP_FROM is required with KINTARA_SMTP_URL"))?
            .parse()
            .map_err(|e| bad(format!("KINTARA_SMTP_FROM: {e}")))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(10)));
        if !url.username().is_empty() {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            builder = builder.credentials(Credentials::new(
                decode(url.username()),
                decode(url.password().unwrap_or("")),
            ));
        }
        Ok(Email {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, job: &Job, mail: &EmailText) -> Outcome {
        let to: Mailbox = match job.email.parse() {
            Ok(m) => m,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("invalid address: {e}"),
                }
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.plain.clone(),
                mail.html.clone(),
            ));
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("cannot build the message: {e}"),
                }
            }
        };
        match self.transport.send(message).await {
            Ok(r) => Outcome::Sent {
                message_id: r.message().collect::<Vec<_>>().join(" "),
            },
            Err(e) => {
                let code = e.status().map(|c| c.to_string()).unwrap_or_default();
                let error = format!("SMTP {code}: {e}").chars().take(300).collect();
                if e.is_permanent() {
                    Outcome::Failed { error }
                } else {
                    Outcome::Retry { error, after: None }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, from: Option<&str>) -> String {
        match Email::from_config(url, from, None) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    // The pool's upkeep task needs a runtime.
    #[tokio::test]
    async fn mail_leaves_in_clear_only_to_a_relay_on_this_machine() {
        assert!(refused("smtp://relay.example.org:25", Some("a@b.org")).contains("loopback"));
        assert!(refused("smtp://u:p@relay.example.org:587", Some("a@b.org")).contains("loopback"));
        assert!(refused("http://relay.example.org", Some("a@b.org")).contains("unsupported"));
        assert!(refused("smtp://127.0.0.1:25", None).contains("KINTARA_SMTP_FROM"));
        assert!(
            refused("smtp://127.0.0.1:25", Some("not an address")).contains("KINTARA_SMTP_FROM")
        );
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://u:p@relay.example.org:587?tls=required",
            "smtps://u:p@relay.example.org",
        ] {
            assert!(
                Email::from_config(ok, Some("Kintara <n@k.org>"), None).is_ok(),
                "{ok}"
            );
        }
    }
}
