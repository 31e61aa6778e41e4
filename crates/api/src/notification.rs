//! The notification feed (`notifications/*`) and push devices (`devices/*`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validate::{FieldErrors, Validate};
use crate::wire_enum;

pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PUSH_TOKEN: usize = 4096;

wire_enum! {
    NotificationType {
        IncidentCreated = "incident_created" / "New report",
        CaseAssigned = "case_assigned" / "Case assigned",
        AssignmentAccepted = "assignment_accepted" / "Assignment accepted",
        AssignmentRejected = "assignment_rejected" / "Assignment declined",
        StatusChanged = "status_changed" / "Case status changed",
        NewMessage = "new_message" / "New message",
    }
}

wire_enum! {
    /// Where a notification goes besides the in-app feed, which always keeps it.
    Channel {
        Websocket = "websocket" / "In the app",
        Push = "push" / "Push notification",
        Email = "email" / "E-mail",
        Whatsapp = "whatsapp" / "WhatsApp",
    }
}

wire_enum! {
    DeliveryState {
        Pending = "pending" / "Pending",
        Sent = "sent" / "Sent",
        Failed = "failed" / "Failed",
        Skipped = "skipped" / "Skipped",
    }
}

wire_enum! {
    Priority {
        Normal = "normal" / "Normal",
        High = "high" / "High",
    }
}

/// One channel's delivery of one notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelDelivery {
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: Uuid,
    pub recipient: Uuid,
    pub notification_type: NotificationType,
    pub notification_type_display: String,
    pub priority: Priority,
    pub subject: String,
    pub message: String,
    /// The case it is about, to open on tap.
    pub incident: Option<Uuid>,
    pub conversation: Option<Uuid>,
    /// Delivery per channel (`websocket`, `push`, `email`, `whatsapp`).
    pub channels: BTreeMap<String, ChannelDelivery>,
    pub is_read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A page: `{count, next, previous, results}`; `next` and `previous` are relative URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<Notification>,
}

/// `GET notifications/unread_count/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnreadCount {
    pub count: i64,
    pub by_type: BTreeMap<String, i64>,
}

/// `POST notifications/{id}/mark_as_read/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkedOne {
    pub message: String,
    pub notification: Notification,
}

/// `POST notifications/mark_all_as_read/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkedAll {
    pub message: String,
    pub count: i64,
}

/// The channels one event type goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelPreference {
    pub notification_type: NotificationType,
    pub channels: Vec<Channel>,
}

/// `GET` and `PUT notifications/preferences/`. A `PUT` may name only the types it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationPreferences {
    pub preferences: Vec<ChannelPreference>,
}

impl Validate for NotificationPreferences {
    fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        let mut seen = std::collections::HashSet::new();
        for p in &self.preferences {
            if !seen.insert(p.notification_type) {
                e.add(
                    "preferences",
                    format!("{} is listed twice.", p.notification_type),
                );
            }
        }
        e.into_result()
    }
}

/// The default channels: in the app and by push. E-mail and WhatsApp only when chosen, since
/// they leave the device and can be seen by others.
pub fn default_channels() -> Vec<Channel> {
    vec![Channel::Websocket, Channel::Push]
}

wire_enum! {
    Platform {
        Android = "android" / "Android",
        Ios = "ios" / "iOS",
        Desktop = "desktop" / "Desktop",
        Web = "web" / "Web",
    }
}

wire_enum! {
    PushKind {
        Fcm = "fcm" / "Firebase Cloud Messaging",
        Apns = "apns" / "Apple Push Notification service",
        Expo = "expo" / "Expo push",
        Unifiedpush = "unifiedpush" / "UnifiedPush",
    }
}

/// `POST devices/`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceRegistration {
    pub token: String,
    pub platform: Platform,
    pub kind: PushKind,
}

impl std::fmt::Debug for DeviceRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRegistration")
            .field("platform", &self.platform)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Validate for DeviceRegistration {
    fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required_text("token", &self.token, MAX_PUSH_TOKEN);
        if self.token.chars().any(char::is_control) {
            e.add("token", "The token has control characters.");
        }
        e.into_result()
    }
}

/// A registered device (the token itself is never echoed back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: Uuid,
    pub platform: Platform,
    pub kind: PushKind,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}
