//! WhatsApp's webhook: Meta reports what became of each message it accepted (`sent`,
//! `delivered`, `read`, `failed`). A `failed` one turns its delivery `failed` with Meta's reason,
//! so the channel states stay honest after `sent`.
//!
//! Anyone can call this address, so nothing is believed unless it is signed: the POST must carry
//! `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`, and the
//! subscription check (the GET with `hub.challenge`) must name the verify token. Both are off
//! (404) until WhatsApp is configured with its app secret and verify token. A report names only
//! message ids this server made; an unknown id changes nothing.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use kintara_api::{endpoint, DeliveryLane, ErrorEnvelope, OkResponse, Refusal};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Meta's reports are small; this bounds what an unsigned flood can make us hash.
pub const MAX_BODY: usize = 256 * 1024;
/// Where Meta puts its signature of the body.
const SIGNATURE: &str = "x-hub-signature-256";
/// The longest `hub.challenge` echoed (Meta sends a number).
const MAX_CHALLENGE: usize = 128;

/// The subscription check's query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Subscription {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// The secrets both directions need; `None` (404) while WhatsApp is not fully configured.
fn secrets(state: &AppState) -> ApiResult<(&str, &str)> {
    match (
        state.config.whatsapp_app_secret.as_deref(),
        state.config.whatsapp_verify_token.as_deref(),
    ) {
        (Some(secret), Some(verify)) if !secret.is_empty() && !verify.is_empty() => {
            Ok((secret, verify))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Meta's subscription check: answers `hub.challenge` when the verify token is ours.
#[utoipa::path(get, path = endpoint::WhatsappWebhookCheck::PATH, tag = "webhooks",
    params(Subscription),
    responses(
        (status = 200, description = "The challenge, echoed", content_type = "text/plain", body = String),
        (status = 401, description = "Not our verify token", body = ErrorEnvelope),
        (status = 404, description = "WhatsApp is not configured", body = ErrorEnvelope),
    ))]
pub async fn check(
    State(state): State<AppState>,
    Query(q): Query<Subscription>,
) -> ApiResult<Response> {
    let (_, verify) = secrets(&state)?;
    let token_ok = q
        .verify_token
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), verify.as_bytes()));
    let challenge = q.challenge.unwrap_or_default();
    let plausible = !challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric());
    if q.mode.as_deref() != Some("subscribe") || !token_ok || !plausible {
        return Err(Refusal::BadSignature {}.into());
    }
    let mut resp = challenge.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(resp)
}

/// Status reports. Answered 200 once read, whatever they name, so Meta does not send them
/// again; refused, changing nothing, when the signature is not the app secret's.
#[utoipa::path(post, path = endpoint::WhatsappWebhook::PATH, tag = "webhooks",
    params(("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the body with the app secret")),
    request_body(content = inline(Object), content_type = "application/json"),
    responses(
        (status = 200, description = "Read", body = OkResponse),
        (status = 400, description = "Signed, but not JSON", body = ErrorEnvelope),
        (status = 401, description = "Unsigned, or not signed with the app secret", body = ErrorEnvelope),
        (status = 404, description = "Signed, but WhatsApp is not configured", body = ErrorEnvelope),
        (status = 413, description = "Larger than a report can be", body = ErrorEnvelope),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<OkResponse>> {
    // An unsigned request is refused before anything else, configured or not.
    if !headers.contains_key(SIGNATURE) {
        return Err(Refusal::BadSignature {}.into());
    }
    let (secret, _) = secrets(&state)?;
    if !signed(secret, &headers, &body) {
        return Err(Refusal::BadSignature {}.into());
    }
    let report: Value = serde_json::from_slice(&body).map_err(|e| Refusal::InvalidJson {
        detail: e.to_string(),
    })?;
    let failed = failures(&report);
    let changed =
        super::outbox::record_failures(&state.db, DeliveryLane::Whatsapp, &failed).await?;
    if changed > 0 {
        tracing::info!(changed, "WhatsApp reported messages undelivered");
    }
    Ok(Json(OkResponse {
        success: true,
        message: "received".into(),
    }))
}

/// Whether `X-Hub-Signature-256` is the app secret's HMAC of exactly these bytes.
fn signed(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(given) = headers
        .get(SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex| decode_hex(hex.trim()))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    // Compared in constant time: nothing about the right signature leaks through timing.
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `failed` statuses of a report: (wamid, reason). Everything else in it (deliveries and
/// reads, incoming messages) changes nothing here.
fn failures(report: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries = report["entry"].as_array().into_iter().flatten();
    let changes = entries.flat_map(|e| e["changes"].as_array().into_iter().flatten());
    for change in changes {
        for status in change["value"]["statuses"].as_array().into_iter().flatten() {
            let (Some(id), Some("failed")) = (status["id"].as_str(), status["status"].as_str())
            else {
                continue;
            };
            let e = &status["errors"][0];
            let reason = format!(
                "WhatsApp {}: {}",
                e["code"].as_i64().unwrap_or(0),
                e["title"].as_str().unwrap_or("failed")
            );
            out.push((
                id.chars().take(256).collect(),
                reason.chars().take(300).collect(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HMAC a report must carry, as Meta makes it. (The loopback WhatsApp in kintara-fakes
    /// signs with its own, so a mistake here is not mirrored there.)
    fn signature(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        format!(
            "sha256={}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    #[test]
    fn only_the_app_secrets_signature_of_these_bytes_passes() {
        let body = br#"{"entry":[]}"#;
        let mut h = HeaderMap::new();
        h.insert(
            "x-hub-signature-256",
            signature("s3cret", body).parse().unwrap(),
        );
        assert!(signed("s3cret", &h, body));
        assert!(!signed("other", &h, body));
        assert!(!signed("s3cret", &h, br#"{"entry":[1]}"#));
        assert!(!signed("s3cret", &HeaderMap::new(), body));
    }

    #[test]
    fn only_failed_statuses_are_read() {
        let report = serde_json::json!({"entry": [{"changes": [{"value": {"statuses": [
            {"id": "wamid.A", "status": "delivered"},
            {"id": "wamid.B", "status": "failed",
             "errors": [{"code": 131026, "title": "Message undeliverable"}]},
        ]}}]}]});
        assert_eq!(
            failures(&report),
            [(
                "wamid.B".to_owned(),
                "WhatsApp 131026: Message undeliverable".to_owned()
            )]
        );
    }
}
