//! Realtime frames (`events/`, `/ws/`): one per-user ordered log, read by cursor, so a client can
//! switch between socket and polling without gaps or repeats.
//!
//! Every frame is an [`Event`], one variant per frame type with its own typed payload; on the wire
//! it is `{"type": "<snake_case>", "data": {...}, "cursor": "<digits>"}`. The server appends
//! `&Event`s; the core, the shell and the UI match on them. No frame is built or read by key.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::{wire_enum, ChatMessage, IncidentStatus, Notification, UrgencyLevel};

/// Longest long-poll a client may ask for, in seconds.
pub const MAX_EVENTS_TIMEOUT: u64 = 60;
/// The long-poll wait when the client does not say.
pub const DEFAULT_EVENTS_TIMEOUT: u64 = 0;

/// A position in one user's log: the seq of the last frame seen (`0` = from the start). On the
/// wire a string of digits (no sign, no spaces, no exponent), so clients treat it as opaque.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(i64);

/// A cursor that is not a non-negative integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a cursor is a non-negative integer")]
pub struct BadCursor;

impl Cursor {
    /// The start of every log.
    pub const START: Cursor = Cursor(0);

    /// The cursor right after the frame numbered `seq` (frames are numbered from 1; a log's
    /// numbers are never negative, and a negative one would mean the start).
    pub fn after(seq: i64) -> Cursor {
        Cursor(seq.max(0))
    }

    /// The frame number this cursor stands after.
    pub fn seq(self) -> i64 {
        self.0
    }

    pub fn parse(s: &str) -> Result<Cursor, BadCursor> {
        // Digits only, and it must fit.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadCursor);
        }
        s.parse::<i64>().map(Cursor).map_err(|_| BadCursor)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Cursor {
    type Err = BadCursor;
    fn from_str(s: &str) -> Result<Cursor, BadCursor> {
        Cursor::parse(s)
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cursor, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Cursor::parse(&s).map_err(serde::de::Error::custom)
    }
}

wire_enum! {
    /// What a frame is about: the `type` of an [`Event`] (also how the server files it).
    EventType {
        Notification = "notification" / "Notification",
        NewMessage = "new_message" / "New message",
        MessageRead = "message_read" / "Message read",
        MessageDeleted = "message_deleted" / "Message deleted",
        Typing = "typing" / "Typing",
        Presence = "presence" / "Presence",
        CaseAssigned = "case_assigned" / "Case assigned",
        CaseUpdated = "case_updated" / "Case updated",
        IncidentUpdated = "incident_updated" / "Incident updated",
        ResyncRequired = "resync_required" / "Resync required",
    }
}

/// One frame of a user's log, with its typed payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Event {
    // The two large payloads are boxed: unboxed, every frame (and every socket holding one)
    // would be as large as they are.
    /// A notification was stored for the reader: the same body as the feed's entry.
    Notification(Box<Notification>),
    /// A message in one of the reader's rooms, as the reader may see it (anonymity kept).
    NewMessage(Box<ChatMessage>),
    /// Someone who shares read receipts read a room up to `last_read_seq`.
    MessageRead(MessageReadEvent),
    /// A message was deleted: drop its text. Its `new_message` frames in the log were replaced
    /// by this one, so replaying the log does not bring the text back either.
    MessageDeleted(MessageDeletedEvent),
    Typing(TypingEvent),
    /// A room mate came online or went offline.
    Presence(PresenceEvent),
    /// The reader (a provider) was offered a case.
    CaseAssigned(CaseAssignedEvent),
    /// A case the reader is part of changed status (the survivor and its providers).
    CaseUpdated(CaseUpdatedEvent),
    /// A case changed (dispatchers; and everyone on it when the report was edited).
    IncidentUpdated(IncidentUpdatedEvent),
    /// The cursor is older than retention (or beyond the log): refetch state, then continue
    /// from this frame's cursor.
    ResyncRequired {},
}

impl Event {
    pub fn kind(&self) -> EventType {
        match self {
            Event::Notification(_) => EventType::Notification,
            Event::NewMessage(_) => EventType::NewMessage,
            Event::MessageRead(_) => EventType::MessageRead,
            Event::MessageDeleted(_) => EventType::MessageDeleted,
            Event::Typing(_) => EventType::Typing,
            Event::Presence(_) => EventType::Presence,
            Event::CaseAssigned(_) => EventType::CaseAssigned,
            Event::CaseUpdated(_) => EventType::CaseUpdated,
            Event::IncidentUpdated(_) => EventType::IncidentUpdated,
            Event::ResyncRequired {} => EventType::ResyncRequired,
        }
    }

    /// The chat room the frame is about, if it is about one (what `/ws/chat/{room}/` keeps).
    pub fn room(&self) -> Option<Uuid> {
        match self {
            Event::NewMessage(m) => Some(m.room),
            Event::MessageRead(r) => Some(r.room),
            Event::MessageDeleted(d) => Some(d.room),
            Event::Typing(t) => Some(t.room),
            _ => None,
        }
    }

    /// The case the frame is about, if it is about one.
    pub fn incident(&self) -> Option<Uuid> {
        match self {
            Event::CaseAssigned(c) => Some(c.incident_id),
            Event::CaseUpdated(c) => Some(c.incident_id),
            Event::IncidentUpdated(c) => Some(c.incident_id),
            _ => None,
        }
    }

    /// The payload as stored in the log: `data` without the `type`, as JSON text (serialised
    /// straight from the payload: this runs for every frame of every message).
    pub fn data_string(&self) -> String {
        let text = match self {
            Event::Notification(p) => serde_json::to_string(p),
            Event::NewMessage(p) => serde_json::to_string(p),
            Event::MessageRead(p) => serde_json::to_string(p),
            Event::MessageDeleted(p) => serde_json::to_string(p),
            Event::Typing(p) => serde_json::to_string(p),
            Event::Presence(p) => serde_json::to_string(p),
            Event::CaseAssigned(p) => serde_json::to_string(p),
            Event::CaseUpdated(p) => serde_json::to_string(p),
            Event::IncidentUpdated(p) => serde_json::to_string(p),
            Event::ResyncRequired {} => Ok("{}".to_owned()),
        };
        // Plain structs of strings, numbers and ids: serialising them cannot fail.
        text.unwrap_or_else(|_| "{}".to_owned())
    }

    /// The payload as JSON (`data` without the `type`).
    pub fn data_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data_string()).unwrap_or_default()
    }

    /// An event from its `type` and `data` as JSON.
    pub fn from_parts(kind: &str, data: serde_json::Value) -> Result<Event, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "type": kind, "data": data }))
    }

    /// An event from its stored `type` and `data` text (the log keeps them in two columns);
    /// `None` for a type or payload this version does not know.
    pub fn from_stored(kind: &str, data: &str) -> Option<Event> {
        use serde_json::from_str as read;
        Some(match EventType::parse(kind)? {
            EventType::Notification => Event::Notification(Box::new(read(data).ok()?)),
            EventType::NewMessage => Event::NewMessage(Box::new(read(data).ok()?)),
            EventType::MessageRead => Event::MessageRead(read(data).ok()?),
            EventType::MessageDeleted => Event::MessageDeleted(read(data).ok()?),
            EventType::Typing => Event::Typing(read(data).ok()?),
            EventType::Presence => Event::Presence(read(data).ok()?),
            EventType::CaseAssigned => Event::CaseAssigned(read(data).ok()?),
            EventType::CaseUpdated => Event::CaseUpdated(read(data).ok()?),
            EventType::IncidentUpdated => Event::IncidentUpdated(read(data).ok()?),
            EventType::ResyncRequired => Event::ResyncRequired {},
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageDeletedEvent {
    pub room: Uuid,
    pub message_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageReadEvent {
    pub room: Uuid,
    pub user_id: Uuid,
    pub last_read_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingEvent {
    pub room: Uuid,
    pub user_id: Uuid,
    pub is_typing: bool,
    /// When the "typing" lapses by the server's clock (none when it stopped).
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceEvent {
    pub user_id: Uuid,
    pub online: bool,
    pub last_seen_at: DateTime<Utc>,
}

/// Carries no report content: a survivor's case is read through the API, by who may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseAssignedEvent {
    pub incident_id: Uuid,
    pub case_number: String,
    pub urgency_level: UrgencyLevel,
}

/// The survivor's device shows this: the id, the status and the case number, never more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseUpdatedEvent {
    pub incident_id: Uuid,
    pub status: IncidentStatus,
    pub case_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentUpdatedEvent {
    pub incident_id: Uuid,
    pub case_number: String,
    pub status: IncidentStatus,
    pub urgency_level: UrgencyLevel,
}

/// One event as delivered: `cursor` is where to continue from to get what follows it. On the
/// wire `{"type", "data", "cursor"}`, in that order, as before it was typed (a client may read
/// the type from the front of the text without parsing the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventFrame {
    #[serde(flatten)]
    pub event: Event,
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9]+$"))]
    pub cursor: Cursor,
}

impl EventFrame {
    pub fn kind(&self) -> EventType {
        self.event.kind()
    }
}

/// The answer of `GET events/`: frames in order, and the cursor for the next call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    pub events: Vec<EventFrame>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9]+$"))]
    pub cursor: Cursor,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_are_plain_non_negative_integers_written_as_strings() {
        assert_eq!(Cursor::parse("0"), Ok(Cursor::START));
        assert_eq!(Cursor::parse("42").map(Cursor::seq), Ok(42));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.0",
            "1e3",
            "abc",
            "99999999999999999999",
        ] {
            assert_eq!(Cursor::parse(bad), Err(BadCursor), "{bad:?}");
        }
        assert_eq!(Cursor::after(-1), Cursor::START);
        assert_eq!(serde_json::to_string(&Cursor(7)).unwrap(), r#""7""#);
        assert!(
            serde_json::from_str::<Cursor>("7").is_err(),
            "a number is not a cursor"
        );
        assert!(serde_json::from_str::<Cursor>(r#""-7""#).is_err());
    }

    #[test]
    fn frames_keep_the_wire_shape_type_data_cursor() {
        let room = Uuid::from_u128(1);
        let user = Uuid::from_u128(2);
        let frame = EventFrame {
            cursor: Cursor(3),
            event: Event::Typing(TypingEvent {
                room,
                user_id: user,
                is_typing: false,
                until: None,
            }),
        };
        // The text keeps the order it had before frames were typed.
        let text = serde_json::to_string(&frame).unwrap();
        assert!(text.starts_with(r#"{"type":"typing","data":{"#), "{text}");
        assert!(text.ends_with(r#""cursor":"3"}"#), "{text}");
        let wire = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            wire,
            json!({"type": "typing", "cursor": "3",
                   "data": {"room": room, "user_id": user, "is_typing": false, "until": null}})
        );
        assert_eq!(serde_json::from_value::<EventFrame>(wire).unwrap(), frame);
        assert_eq!(frame.kind(), EventType::Typing);
        assert_eq!(frame.event.room(), Some(room));

        let resync = EventFrame {
            cursor: Cursor(9),
            event: Event::ResyncRequired {},
        };
        let wire = serde_json::to_value(&resync).unwrap();
        assert_eq!(
            wire,
            json!({"type": "resync_required", "data": {}, "cursor": "9"})
        );
        assert_eq!(serde_json::from_value::<EventFrame>(wire).unwrap(), resync);
    }

    #[test]
    fn stored_parts_make_the_same_event() {
        let e = Event::CaseUpdated(CaseUpdatedEvent {
            incident_id: Uuid::from_u128(3),
            status: IncidentStatus::InProgress,
            case_number: "KIN-1".into(),
        });
        let back = Event::from_parts(e.kind().as_str(), e.data_json()).unwrap();
        assert_eq!(back, e);
        // The stored text is the wire's `data`.
        let wire = serde_json::to_value(&e).unwrap();
        assert_eq!(wire["data"], e.data_json());
        assert_eq!(
            Event::from_stored("case_updated", &e.data_string()),
            Some(e.clone())
        );
        assert_eq!(Event::from_stored("case_updated", "{}"), None);
        assert_eq!(Event::from_stored("shout", "{}"), None);
        let resync: serde_json::Value =
            serde_json::from_str(&Event::ResyncRequired {}.data_string()).unwrap();
        assert_eq!(resync, serde_json::json!({}));
        assert!(Event::from_parts("case_updated", json!({"status": "bogus"})).is_err());
        assert!(Event::from_parts("shout", json!({})).is_err());
    }

    #[test]
    fn every_event_type_names_a_variant() {
        // The wire strings of `EventType` and of `Event`'s tags are one list.
        for kind in EventType::ALL {
            let err = Event::from_parts(kind.as_str(), json!({}));
            // Only the payload may be wrong, never the type.
            if let Err(e) = err {
                assert!(!e.to_string().contains("unknown variant"), "{kind}: {e}");
            }
        }
    }
}
