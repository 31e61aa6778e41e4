//! WhatsApp Cloud API: a template message (`POST /{version}/{phone-number-id}/messages`, bearer
//! token) to the number on the recipient's profile. Businesses may only start a conversation
//! with a template Meta approved, so every notification is the one template [`TEMPLATE`], its
//! single body parameter the text `text::outgoing` made (for a survivor only "You have a new
//! update"), in the recipient's language. `sent` once Meta answered a `wamid`; whether it then
//! reached the phone comes later through the status webhook (`webhook`).

use serde_json::{json, Value};

use super::outbox::Job;
use super::text::Outgoing;
use super::{retry_after, ConfigError, Outcome};

/// The Graph API version the requests name.
pub const API_VERSION: &str = "v21.0";
/// The template every notification uses. Its body, approved in English (`en`) and Swahili
/// (`sw`), is `{{1}}`: the text is ours, the template only carries it.
pub const TEMPLATE: &str = "kintara_notification";
/// Meta refuses a body parameter longer than this.
const MAX_PARAMETER: usize = 1024;

pub struct Whatsapp {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Whatsapp {
    pub fn new(
        endpoint: &str,
        token: &str,
        phone_number_id: &str,
    ) -> Result<Whatsapp, ConfigError> {
        if phone_number_id.is_empty() || !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Whatsapp(
                "KINTARA_WHATSAPP_PHONE_NUMBER_ID must be the number's id (digits)".into(),
            ));
        }
        if token.trim().is_empty() {
            return Err(ConfigError::Whatsapp(
                "KINTARA_WHATSAPP_TOKEN is empty".into(),
            ));
        }
        Ok(Whatsapp {
            http: super::http_client()?,
            url: format!(
                "{}/{API_VERSION}/{phone_number_id}/messages",
                endpoint.trim_end_matches('/')
            ),
            token: token.to_owned(),
        })
    }

    pub async fn send(&self, job: &Job, out: &Outgoing) -> Outcome {
        let Some(number) = job.whatsapp.as_deref() else {
            // Removed from her profile after the notification was made.
            return Outcome::Failed {
                error: kintara_api::delivery_error::NO_NUMBER.into(),
            };
        };
        let resp = match self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&message(number, job.language.code(), out))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    error: if e.is_timeout() {
                        "timed out".into()
                    } else {
                        "cannot reach WhatsApp".into()
                    },
                    after: None,
                }
            }
        };
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 200 {
            return match body["messages"][0]["id"].as_str() {
                Some(id) => Outcome::Sent {
                    message_id: id.to_owned(),
                },
                None => Outcome::Retry {
                    error: "200 without a message id".into(),
                    after,
                },
            };
        }
        let code = body["error"]["code"].as_i64().unwrap_or(0);
        let error = super::described(
            status,
            &code.to_string(),
            body["error"]["message"].as_str().unwrap_or(""),
        );
        if status == 429 || status >= 500 || transient(code) {
            Outcome::Retry { error, after }
        } else {
            Outcome::Failed { error }
        }
    }
}

/// Graph API error codes that mean "later": rate limits (the app's, the account's, the number's,
/// one recipient's) and Meta's own outages. Anything else (a bad token, a number not on
/// WhatsApp, a template not approved) will not get better by trying again.
fn transient(code: i64) -> bool {
    matches!(code, 1 | 2 | 4 | 80007 | 130429 | 131000 | 131016 | 131056)
}

/// The request body. The number goes without its `+`, as Meta's examples write it.
fn message(number: &str, lang: &str, out: &Outgoing) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": number.trim_start_matches('+'),
        "type": "template",
        "template": {
            "name": TEMPLATE,
            "language": { "code": lang },
            "components": [{
                "type": "body",
                "parameters": [{ "type": "text", "text": parameter(out) }],
            }],
        },
    })
}

/// The one line a template parameter may be: Meta refuses new lines, tabs and runs of more than
/// four spaces in one.
fn parameter(out: &Outgoing) -> String {
    let text = match &out.title {
        Some(t) => format!("{t}: {}", out.body),
        None => out.body.clone(),
    };
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_PARAMETER)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_parameter_is_one_line_and_the_number_has_no_plus() {
        let out = Outgoing {
            title: Some("New report".into()),
            body: "Line one\n\tline   two".into(),
            data: BTreeMap::new(),
            urgent: false,
            collapse_key: None,
        };
        let m = message("+254712345678", "sw", &out);
        assert_eq!(m["to"], "254712345678");
        assert_eq!(m["template"]["language"]["code"], "sw");
        assert_eq!(
            m["template"]["components"][0]["parameters"][0]["text"],
            "New report: Line one line two"
        );
    }

    #[test]
    fn the_phone_number_id_is_checked_at_start() {
        assert!(Whatsapp::new("http://127.0.0.1:1", "t", "12a").is_err());
        assert!(Whatsapp::new("http://127.0.0.1:1", " ", "123").is_err());
        assert!(Whatsapp::new("http://127.0.0.1:1", "t", "123").is_ok());
    }
}
