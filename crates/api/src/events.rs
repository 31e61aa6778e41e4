//! Realtime frames (`events/`): the same frames the socket will carry, read from one per-user
//! ordered log, so a client can switch between socket and polling without gaps or repeats.

use serde::{Deserialize, Serialize};

use crate::wire_enum;

/// Longest long-poll a client may ask for, in seconds.
pub const MAX_EVENTS_TIMEOUT: u64 = 60;
/// The long-poll wait when the client does not say.
pub const DEFAULT_EVENTS_TIMEOUT: u64 = 25;

wire_enum! {
    /// What a frame is about.
    EventType {
        Notification = "notification" / "Notification",
        NewMessage = "new_message" / "New message",
        MessageRead = "message_read" / "Message read",
        Typing = "typing" / "Typing",
        Presence = "presence" / "Presence",
        CaseAssigned = "case_assigned" / "Case assigned",
        CaseUpdated = "case_updated" / "Case updated",
        IncidentUpdated = "incident_updated" / "Incident updated",
        /// The cursor is older than retention: refetch state, then continue from this frame's
        /// cursor.
        ResyncRequired = "resync_required" / "Resync required",
    }
}

/// One event as delivered: `cursor` is where to continue from to get what follows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventFrame {
    #[serde(rename = "type")]
    pub r#type: EventType,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    pub cursor: String,
}

/// The answer of `GET events/`: frames in order, and the cursor for the next call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    pub events: Vec<EventFrame>,
    pub cursor: String,
}
