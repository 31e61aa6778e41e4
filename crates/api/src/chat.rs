//! Chat (`chat/*`): rooms, messages, read positions, typing, presence and chat privacy settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{ProviderType, Role};
use crate::rules::{self, field, Rule, Rules};
use crate::validate::{FieldErrors, Validate};
use crate::wire_enum;

/// Longest message, in characters.
pub const MAX_MESSAGE: usize = 5000;
/// Longest client-chosen idempotency key.
pub const MAX_CLIENT_ID: usize = 64;
/// A heartbeat's informational client clock (RFC 3339 fits with room to spare).
pub const MAX_TIMESTAMP: usize = 64;
pub const DEFAULT_MESSAGE_PAGE: u32 = 50;
pub const MAX_MESSAGE_PAGE: u32 = 200;
/// How long a typing report lasts without another one.
pub const TYPING_SECONDS: i64 = 6;
/// Active within this many seconds counts as online.
pub const ONLINE_SECONDS: i64 = 300;
/// A room marked read or heartbeated within this many seconds is being read: no notification.
pub const READING_SECONDS: i64 = 30;

wire_enum! {
    RoomType {
        Case = "case" / "Case conversation",
        Direct = "direct" / "Direct conversation",
    }
}

wire_enum! {
    MessageType {
        UserMessage = "user_message" / "Message",
        SystemEvent = "system_event" / "System event",
        StatusUpdate = "status_update" / "Status update",
    }
}

/// Someone in a room, as the caller may see them. The survivor of an anonymous case shows to
/// providers as "Anonymous".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatParticipant {
    pub id: Uuid,
    pub full_name: String,
    pub role: Role,
    pub provider_type: Option<ProviderType>,
}

/// One message. A deleted message keeps its place with `is_deleted` and no content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMessage {
    pub id: Uuid,
    pub room: Uuid,
    /// Position in the room: 1, 2, 3, ... (strict order; cursors are these numbers).
    pub seq: i64,
    /// None for system events.
    pub sender: Option<ChatParticipant>,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub client_id: Option<String>,
    pub is_deleted: bool,
    /// Someone else's message: the caller read it. The caller's own: someone who shares read
    /// receipts read it.
    pub is_read: bool,
    /// Who read it, among those who share read receipts (never the sender).
    pub read_by: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatRoom {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub room_type: RoomType,
    pub name: String,
    /// The case of a case room.
    pub incident: Option<Uuid>,
    pub participants: Vec<ChatParticipant>,
    pub last_message: Option<ChatMessage>,
    /// Others' messages after the caller's read position.
    pub unread_count: i64,
    pub is_active: bool,
    /// A closed case's room: history only.
    pub read_only: bool,
    /// Other participants typing now (only those who share typing).
    pub typing: Vec<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// `GET chat/rooms/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatRoomList {
    pub results: Vec<ChatRoom>,
}

/// `POST chat/rooms/create_direct_chat/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateDirectChat {
    pub user_id: Uuid,
}

impl Validate for CreateDirectChat {
    fn validate(&self) -> Result<(), FieldErrors> {
        Ok(())
    }
}

/// `POST chat/blocks/`: the survivor blocks `user_id`. Nothing of theirs reaches her after: no
/// new room, no message, no typing, no notification from a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockRequest {
    pub user_id: Uuid,
}

impl Validate for BlockRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        Ok(())
    }
}

/// Someone the survivor blocked, named as she saw them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedUser {
    pub user_id: Uuid,
    pub name: String,
    pub blocked_at: chrono::DateTime<chrono::Utc>,
}

/// `GET chat/blocks/`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockList {
    pub blocked: Vec<BlockedUser>,
}

/// `POST chat/messages/`. A retry with the same `client_id` returns the first message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessage {
    pub room: Uuid,
    pub content: String,
    #[serde(default)]
    pub client_id: Option<String>,
}

impl Rules for SendMessage {
    const SCHEMA: &'static str = "SendMessage";
    const FIELDS: &'static [rules::Field] = &[
        field("content", Rule::RequiredText { max: MAX_MESSAGE }),
        field("client_id", Rule::Key { max: MAX_CLIENT_ID }),
    ];
}

impl Validate for SendMessage {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `GET chat/messages/`: oldest first. `previous` pages to older messages, `next` to newer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMessagePage {
    pub results: Vec<ChatMessage>,
    /// Relative URL of the newer page, if any.
    pub next: Option<String>,
    /// Relative URL of the older page, if any.
    pub previous: Option<String>,
    /// The `after` cursor of the newer page.
    pub next_cursor: Option<String>,
    /// The `before` cursor of the older page.
    pub previous_cursor: Option<String>,
}

/// `POST chat/rooms/{id}/mark_read/` and `chat/messages/{id}/mark_read/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkReadResult {
    pub message: String,
    pub room: Uuid,
    /// How many of others' messages this call newly marked read.
    pub updated_count: i64,
    /// The caller's read position after the call (never moves back).
    pub last_read_seq: i64,
}

/// `POST chat/rooms/{id}/typing/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingRequest {
    pub is_typing: bool,
}

impl Validate for TypingRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingResult {
    /// What others see: false when the caller does not share typing.
    pub is_typing: bool,
    pub until: Option<DateTime<Utc>>,
}

/// `POST chat/heartbeat/`. `room_id`: the room on screen now.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    #[serde(default)]
    pub room_id: Option<Uuid>,
    /// The client's clock; informational only.
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl Rules for Heartbeat {
    const SCHEMA: &'static str = "Heartbeat";
    const FIELDS: &'static [rules::Field] =
        &[field("timestamp", Rule::Text { max: MAX_TIMESTAMP })];
}

impl Validate for Heartbeat {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResult {
    pub status: String,
    pub last_activity: DateTime<Utc>,
}

/// `GET chat/online-users/`: people who share a room with the caller and are online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnlineUsers {
    pub online_users: Vec<Uuid>,
}

/// `POST chat/mark-offline/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineResult {
    pub status: String,
}

/// `GET/PUT chat/settings/`: what the caller lets others see. Survivors start with all off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    pub read_receipts: bool,
    pub typing_indicators: bool,
    pub presence: bool,
}

impl ChatSettings {
    /// Survivors share nothing until they choose to: being seen online or typing can put them
    /// at risk. Everyone else shares all three.
    pub fn defaults_for(role: Role) -> Self {
        let on = role != Role::Survivor;
        ChatSettings {
            read_receipts: on,
            typing_indicators: on,
            presence: on,
        }
    }
}

impl Validate for ChatSettings {
    fn validate(&self) -> Result<(), FieldErrors> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server finds a message's frames in the event log by this prefix, to purge its text
    /// when it is deleted (`chat::repo::purge_message_frames`).
    #[test]
    fn a_message_serialises_its_id_first() {
        let m = ChatMessage {
            id: Uuid::from_u128(7),
            room: Uuid::nil(),
            seq: 1,
            sender: None,
            message_type: MessageType::UserMessage,
            content: Some("x".into()),
            client_id: None,
            is_deleted: false,
            is_read: false,
            read_by: Vec::new(),
            created_at: chrono::Utc::now(),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            json.starts_with(&format!("{{\"id\":\"{}\",", m.id)),
            "{json}"
        );
    }

    #[test]
    fn content_limits() {
        let msg = |content: &str, client_id: Option<&str>| SendMessage {
            room: Uuid::nil(),
            content: content.into(),
            client_id: client_id.map(Into::into),
        };
        assert!(msg("hi", Some("a")).validate().is_ok());
        assert!(msg(&"é".repeat(MAX_MESSAGE), None).validate().is_ok());
        assert!(msg(&"a".repeat(MAX_MESSAGE + 1), None).validate().is_err());
        assert!(msg("  \n", None).validate().is_err());
        assert!(msg("hi", Some(&"x".repeat(MAX_CLIENT_ID + 1)))
            .validate()
            .is_err());
        assert!(msg("hi", Some(" ")).validate().is_err());
    }

    #[test]
    fn survivors_share_nothing_by_default() {
        let s = ChatSettings::defaults_for(Role::Survivor);
        assert!(!s.read_receipts && !s.typing_indicators && !s.presence);
        assert!(ChatSettings::defaults_for(Role::Provider).presence);
    }
}
