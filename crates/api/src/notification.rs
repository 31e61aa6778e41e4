//! The notification feed (`notifications/*`) and push devices (`devices/*`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{self, field, Rule, Rules};
use crate::validate::{FieldErrors, Validate};
use crate::wire_enum;
use crate::{IncidentStatus, IncidentType, UrgencyLevel};

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
        /// "Send me a test" (Settings → Notifications): goes to every channel the user chose
        /// for any type, so each can be seen to work.
        Test = "test" / "Test notification",
    }
}

impl NotificationType {
    /// Whether users of `role` are ever sent this type (what Settings → Notifications lists).
    pub fn received_by(self, role: crate::Role) -> bool {
        use crate::Role::*;
        match self {
            NotificationType::IncidentCreated | NotificationType::AssignmentRejected => {
                role == Dispatcher
            }
            NotificationType::CaseAssigned => role == Provider,
            NotificationType::AssignmentAccepted => matches!(role, Dispatcher | Survivor),
            NotificationType::StatusChanged => role == Survivor,
            NotificationType::NewMessage => true,
            // Asked for, never chosen.
            NotificationType::Test => false,
        }
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

impl Priority {
    /// Whether a notification of this priority to `recipient` is an urgent alert: a high one to
    /// staff (a new urgent case, an urgent case offered, a declined case). It interrupts (a
    /// critical OS notification, APNs' critical level, FCM's high priority), is never folded
    /// into a burst, and is dropped rather than delivered late. Nothing sent to a survivor is
    /// urgent: nothing should draw eyes to her phone.
    pub fn is_urgent_alert(self, recipient: crate::Role) -> bool {
        self == Priority::High && recipient != crate::Role::Survivor
    }
}

wire_enum! {
    /// Who carries a channel's deliveries. Each has its own worker on the server, so one
    /// failing service never delays another.
    DeliveryLane {
        Fcm = "fcm" / "Firebase Cloud Messaging",
        Apns = "apns" / "Apple Push Notification service",
        Expo = "expo" / "Expo push",
        Email = "email" / "E-mail",
        Whatsapp = "whatsapp" / "WhatsApp",
    }
}

impl DeliveryLane {
    /// The channel this lane carries.
    pub fn channel(self) -> Channel {
        match self {
            DeliveryLane::Fcm | DeliveryLane::Apns | DeliveryLane::Expo => Channel::Push,
            DeliveryLane::Email => Channel::Email,
            DeliveryLane::Whatsapp => Channel::Whatsapp,
        }
    }

    /// The lane that carries pushes to a device registered as `kind`; `None`: no lane does.
    pub fn for_push(kind: PushKind) -> Option<DeliveryLane> {
        match kind {
            PushKind::Fcm => Some(DeliveryLane::Fcm),
            PushKind::Apns => Some(DeliveryLane::Apns),
            PushKind::Expo => Some(DeliveryLane::Expo),
            PushKind::Unifiedpush => None,
        }
    }
}

/// `GET /api/admin/deliveries/`: how each lane is doing, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryHealth {
    pub lanes: Vec<LaneHealth>,
    pub generated_at: DateTime<Utc>,
}

/// One lane: what this deployment carries on it over the last hour and day (by when the
/// delivery was made), the oldest still waiting, and the latest errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LaneHealth {
    pub lane: DeliveryLane,
    /// Whether the server has credentials for it; a lane that is not configured carries nothing.
    pub configured: bool,
    pub last_hour: DeliveryCounts,
    pub last_day: DeliveryCounts,
    pub oldest_pending: Option<DateTime<Utc>>,
    /// At most five, newest first.
    pub recent_errors: Vec<DeliveryErrorEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryCounts {
    pub sent: i64,
    pub pending: i64,
    pub failed: i64,
    pub skipped: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryErrorEntry {
    pub at: DateTime<Utc>,
    pub error: String,
}

/// Why a channel was `skipped` or `failed` without an answer from the service (`last_error`);
/// otherwise `last_error` is the service's own answer.
pub mod delivery_error {
    /// The server has no credentials for the service that would carry it.
    pub const NOT_CONFIGURED: &str = "not_configured";
    /// The recipient has no device registered for push.
    pub const NO_DEVICE: &str = "no_device";
    /// An urgent alert not delivered in time is dropped rather than delivered late.
    pub const EXPIRED: &str = "expired";
    /// The service said the device token is dead; the device was removed.
    pub const UNREGISTERED: &str = "unregistered";
    /// The device was removed (signed out) before it could be sent to.
    pub const DEVICE_GONE: &str = "device_gone";
    /// WhatsApp was chosen but no WhatsApp number is on the profile (or it was removed).
    pub const NO_NUMBER: &str = "no_number";
}

/// One channel's delivery of one notification. With several targets (a user's devices), `sent`
/// once any took it, `pending` while one may still, `failed` when every one failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelDelivery {
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// The service's id for what it accepted (FCM's message name, APNs' `apns-id`, Expo's
    /// ticket, WhatsApp's `wamid`, the SMTP queue id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: Uuid,
    pub recipient: Uuid,
    pub notification_type: NotificationType,
    pub notification_type_display: String,
    pub priority: Priority,
    /// The server's English wording, for e-mail and SMS and for clients that do not read
    /// `params`.
    pub subject: String,
    pub message: String,
    /// The values `subject` and `message` are made from, so a client can word them in its own
    /// language. Empty (`{}`) for survivors, whose texts say nothing of the case; absent from
    /// rows stored before it existed.
    #[serde(default)]
    pub params: NotificationParams,
    /// The case it is about, to open on tap.
    pub incident: Option<Uuid>,
    pub conversation: Option<Uuid>,
    /// Delivery per channel (`websocket`, `push`, `email`, `whatsapp`).
    pub channels: BTreeMap<String, ChannelDelivery>,
    pub is_read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What a staff notification's texts are made from; which fields are set depends on the
/// notification's type. A field that is not set is left out of the JSON.
///
/// | type | fields |
/// |---|---|
/// | `incident_created` | `case_number`, `incident_type`, `urgency`, `status` |
/// | `case_assigned` | `case_number`, `incident_type`, `urgency` |
/// | `assignment_accepted`, `assignment_rejected` | `case_number`, `provider_name` |
/// | `new_message` | `sender_name` |
///
/// A survivor's are always empty: her notifications can be seen on a lock screen or by someone
/// holding her phone, so they carry no case details, in the texts or here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct NotificationParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_type: Option<IncidentType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<UrgencyLevel>,
    /// The status the event left the case in. For `incident_created`: `assigned` when the
    /// report went to a GBV rescue provider automatically, `pending_dispatcher_review` when it
    /// waits for triage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<IncidentStatus>,
    /// The provider who accepted or declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    /// The sender as the recipient may see them (an anonymous survivor stays "Anonymous").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
}

impl NotificationParams {
    /// True when nothing is set: a survivor's notification, or one stored before params existed.
    pub fn is_empty(&self) -> bool {
        self == &NotificationParams::default()
    }
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

/// `GET` and `PUT notifications/preferences/`. A `PUT` may name only the types it changes; a type
/// named twice takes the later entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationPreferences {
    #[serde(deserialize_with = "rules::strict::objects")]
    pub preferences: Vec<ChannelPreference>,
    /// In answers: the channels this server can carry now (the app offers only these; a
    /// chosen channel it cannot carry is `skipped`). Ignored in a `PUT`.
    #[serde(default)]
    pub offered: Vec<Channel>,
}

impl Rules for NotificationPreferences {
    const SCHEMA: &'static str = "NotificationPreferences";
    const FIELDS: &'static [rules::Field] = &[field(
        "preferences",
        Rule::Items {
            min: 0,
            max: NotificationType::ALL.len(),
            unique: false,
        },
    )];
}

impl Validate for NotificationPreferences {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
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

impl Rules for DeviceRegistration {
    const SCHEMA: &'static str = "DeviceRegistration";
    const FIELDS: &'static [rules::Field] = &[field(
        "token",
        Rule::Token {
            max: MAX_PUSH_TOKEN,
        },
    )];
}

impl Validate for DeviceRegistration {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_leave_out_what_is_not_set() {
        let empty = serde_json::to_value(NotificationParams::default()).unwrap();
        assert_eq!(empty, serde_json::json!({}));
        let p = NotificationParams {
            case_number: Some("KIN-20261122-0001".into()),
            urgency: Some(UrgencyLevel::Urgent),
            ..Default::default()
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"case_number": "KIN-20261122-0001", "urgency": "urgent"})
        );
        assert_eq!(
            serde_json::from_value::<NotificationParams>(json).unwrap(),
            p
        );
    }

    #[test]
    fn a_notification_without_params_reads_as_empty_params() {
        // As older servers send it and older caches hold it.
        let old = serde_json::json!({
            "id": Uuid::nil(),
            "recipient": Uuid::nil(),
            "notification_type": "new_message",
            "notification_type_display": "New message",
            "priority": "normal",
            "subject": "Kintara",
            "message": "You have a new message.",
            "incident": null,
            "conversation": null,
            "channels": {},
            "is_read": false,
            "read_at": null,
            "created_at": "2026-11-22T10:00:00Z",
        });
        let n: Notification = serde_json::from_value(old).unwrap();
        assert!(n.params.is_empty());
    }
}
