//! The WebSocket protocol of `/ws/`: what a client may send, the control frames the server
//! answers with, and the close codes. Event frames are the `EventFrame`s of the event log, the
//! same ones `GET events/` returns; control frames carry no cursor.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validate::{FieldErrors, Validate};
use crate::{Cursor, ErrorEnvelope, EventFrame, SendMessage, MAX_REASON};

/// The server pings this often; a client that is silent for three intervals is dropped.
pub const PING_INTERVAL_SECS: u64 = 25;
/// The largest client frame accepted (a chat message is at most a few KB).
pub const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;

/// Close codes beyond RFC 6455's, so a client knows what to do next.
pub mod close_code {
    /// The access token expired (at the handshake or while connected): refresh it and reconnect
    /// with the last cursor.
    pub const TOKEN_EXPIRED: u16 = 4001;
    /// The session was signed out or the account disabled: do not reconnect; sign in again.
    pub const SESSION_ENDED: u16 = 4003;
    /// The client did not read its frames fast enough; reconnect with the last cursor (nothing was
    /// skipped).
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The server is shutting down or restarting: reconnect (with backoff) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame was not valid JSON or too large: a client bug, reconnecting will not help.
    pub const POLICY: u16 = 1008;
}

/// What a client sends: `{"type": ..., "data": {...}, "ref": "..."}`. `ref` is optional and is
/// echoed in the `ack` or `error` that answers the frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Answered by a `pong` control frame.
    Ping,
    /// The same request as `POST chat/messages/`; a retried `client_id` never duplicates.
    SendMessage(SendMessage),
    Typing(SocketTyping),
    MarkRead(SocketMarkRead),
    AssignmentResponse(AssignmentResponse),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketTyping {
    pub room: Uuid,
    pub is_typing: bool,
}

/// Marks `room` read up to `message_id`, or entirely when it is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketMarkRead {
    pub room: Uuid,
    #[serde(default)]
    pub message_id: Option<Uuid>,
}

/// A provider's answer to an assignment; declining needs a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentResponse {
    pub incident_id: Uuid,
    pub accepted: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Validate for ClientFrame {
    fn validate(&self) -> Result<(), FieldErrors> {
        match self {
            ClientFrame::SendMessage(m) => m.validate(),
            ClientFrame::AssignmentResponse(a) => {
                let mut e = FieldErrors::default();
                let reason = a.reason.as_deref().unwrap_or("");
                if a.accepted {
                    e.max_len("reason", reason, MAX_REASON);
                } else {
                    e.required_text("reason", reason, MAX_REASON);
                }
                e.into_result()
            }
            ClientFrame::Ping | ClientFrame::Typing(_) | ClientFrame::MarkRead(_) => Ok(()),
        }
    }
}

/// A client frame with its `ref`, as read off the socket.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientEnvelope {
    pub frame: ClientFrame,
    pub reference: Option<String>,
}

/// Why a client frame could not be read; `reference` is kept when it could be read, so the
/// error can still be matched to the request.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{message}")]
pub struct BadFrame {
    pub reference: Option<String>,
    pub message: String,
}

/// The longest `ref` a client may attach.
pub const MAX_REF_LEN: usize = 64;

impl ClientEnvelope {
    pub fn new(frame: ClientFrame, reference: Option<String>) -> Self {
        ClientEnvelope { frame, reference }
    }

    pub fn parse(text: &str) -> Result<ClientEnvelope, BadFrame> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| BadFrame {
            reference: None,
            message: "A frame is one JSON object.".into(),
        })?;
        let reference = match value.get("ref") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.len() <= MAX_REF_LEN => Some(s.clone()),
            Some(_) => {
                return Err(BadFrame {
                    reference: None,
                    message: format!("`ref` is a string of at most {MAX_REF_LEN} characters."),
                })
            }
        };
        let frame = serde_json::from_value(value).map_err(|e| BadFrame {
            reference: reference.clone(),
            message: format!("Not a client frame: {e}."),
        })?;
        Ok(ClientEnvelope { frame, reference })
    }

    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(&self.frame).unwrap_or_default();
        if let (Some(r), Some(map)) = (&self.reference, v.as_object_mut()) {
            map.insert("ref".into(), serde_json::Value::String(r.clone()));
        }
        v.to_string()
    }
}

/// Frames the server sends that are not events of the log (they have no cursor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ControlFrame {
    /// The first frame: who is connected, and the cursor the stream continues from.
    ConnectionEstablished(Established),
    Pong {},
    /// A client frame succeeded; `result` is what the matching REST call answers.
    Ack {
        #[serde(rename = "ref")]
        reference: Option<String>,
        result: serde_json::Value,
    },
    /// A client frame failed; `error` is the REST error envelope. The connection stays open.
    Error {
        #[serde(rename = "ref")]
        reference: Option<String>,
        error: ErrorEnvelope,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Established {
    pub user_id: Uuid,
    /// Where the stream starts: the `since` given, or the log's end when none was.
    pub cursor: Cursor,
    pub ping_interval_secs: u64,
}

/// Anything the server sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
    Event(EventFrame),
    Control(ControlFrame),
}

impl ServerFrame {
    /// Event frames carry a top-level `cursor`; control frames do not.
    pub fn parse(text: &str) -> Result<ServerFrame, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        if value.get("cursor").is_some() {
            serde_json::from_value(value).map(ServerFrame::Event)
        } else {
            serde_json::from_value(value).map(ServerFrame::Control)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_read_with_their_ref() {
        let room = Uuid::from_u128(7);
        let text = json!({"type": "typing", "data": {"room": room, "is_typing": true}, "ref": "7"})
            .to_string();
        let env = ClientEnvelope::parse(&text).unwrap();
        assert_eq!(env.reference.as_deref(), Some("7"));
        assert_eq!(
            env.frame,
            ClientFrame::Typing(SocketTyping {
                room,
                is_typing: true
            })
        );
        assert_eq!(ClientEnvelope::parse(&env.to_json()).unwrap(), env);
        let ping = ClientEnvelope::parse(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(ping.frame, ClientFrame::Ping);
    }

    #[test]
    fn bad_client_frames_say_why_and_keep_the_ref() {
        assert!(ClientEnvelope::parse("[1]").is_err());
        assert!(ClientEnvelope::parse("not json").is_err());
        let e = ClientEnvelope::parse(r#"{"type":"shout","ref":"a"}"#).unwrap_err();
        assert_eq!(e.reference.as_deref(), Some("a"));
        let long = "x".repeat(MAX_REF_LEN + 1);
        assert!(ClientEnvelope::parse(&json!({"type": "ping", "ref": long}).to_string()).is_err());
    }

    #[test]
    fn declining_needs_a_reason() {
        let frame = |accepted, reason: Option<&str>| {
            ClientFrame::AssignmentResponse(AssignmentResponse {
                incident_id: Uuid::nil(),
                accepted,
                reason: reason.map(str::to_owned),
            })
        };
        assert!(frame(true, None).validate().is_ok());
        assert!(frame(false, None).validate().is_err());
        assert!(frame(false, Some("  ")).validate().is_err());
        assert!(frame(false, Some("Out of area")).validate().is_ok());
    }

    #[test]
    fn server_frames_tell_events_from_control() {
        let event = r#"{"type":"resync_required","data":{},"cursor":"3"}"#;
        assert!(matches!(
            ServerFrame::parse(event),
            Ok(ServerFrame::Event(_))
        ));
        let pong = serde_json::to_string(&ControlFrame::Pong {}).unwrap();
        assert_eq!(pong, r#"{"type":"pong","data":{}}"#);
        assert_eq!(
            ServerFrame::parse(&pong).unwrap(),
            ServerFrame::Control(ControlFrame::Pong {})
        );
    }
}
