//! The notification feed. `notify` turns a workflow event into one stored row per recipient,
//! inside the caller's transaction, so a change and its notifications commit together or not
//! at all. Delivery channels read these rows later; nothing is sent from here.

pub mod handlers;
pub mod repo;

use std::collections::BTreeMap;

use kintara_api::{
    Channel, ChannelDelivery, DeliveryState, EventType, IncidentStatus, NotificationType, Priority,
    Role, UrgencyLevel,
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::get_uuid;
use crate::events;
use crate::incidents::repo::IncidentRow;

/// What happened, with what the texts need.
pub enum Event<'a> {
    IncidentCreated(&'a IncidentRow),
    CaseAssigned {
        incident: &'a IncidentRow,
        provider: Uuid,
    },
    AssignmentAccepted {
        incident: &'a IncidentRow,
        provider: Uuid,
    },
    AssignmentRejected {
        incident: &'a IncidentRow,
        provider: Uuid,
    },
    StatusChanged {
        incident: &'a IncidentRow,
        to: IncidentStatus,
    },
    /// A chat message for `recipients` (who are not reading the room). Texts never carry the
    /// message: notifications show on lock screens. `sender_name` is as the recipients may see
    /// it (an anonymous survivor stays "Anonymous").
    NewMessage {
        conversation: Uuid,
        incident: Option<Uuid>,
        sender_name: &'a str,
        recipients: &'a [(Uuid, Role)],
    },
}

/// One notification to store.
pub struct Draft {
    pub recipient: Uuid,
    pub kind: NotificationType,
    pub priority: Priority,
    pub subject: String,
    pub message: String,
    pub incident: Option<Uuid>,
    pub conversation: Option<Uuid>,
}

/// What survivors are told about any change. Notifications can be seen on a lock screen or by
/// someone holding the phone, so they never carry case details.
pub const SURVIVOR_SUBJECT: &str = "Kintara";
pub const SURVIVOR_MESSAGE: &str = "Your case has an update.";
pub const SURVIVOR_NEW_MESSAGE: &str = "You have a new message.";

/// Stores the notifications `event` causes, each with its `notification` frame in the
/// recipient's event log (the same JSON as the feed, so feed and stream agree). Call it inside
/// the transaction of the change.
pub async fn notify(conn: &mut AnyConnection, event: Event<'_>) -> Result<(), sqlx::Error> {
    let mut drafts = drafts(conn, event).await?;
    // One lock order for users' event counters across transactions (see `events::append_all`).
    drafts.sort_by_key(|d| d.recipient);
    for draft in drafts {
        let channels = channels_for(conn, draft.recipient, draft.kind).await?;
        let stored = repo::insert(conn, &draft, &channels).await?;
        let data = serde_json::to_value(&stored).expect("a notification serialises");
        events::append(conn, draft.recipient, EventType::Notification, &data).await?;
    }
    Ok(())
}

async fn drafts(conn: &mut AnyConnection, event: Event<'_>) -> Result<Vec<Draft>, sqlx::Error> {
    let staff = |incident: Uuid, kind, priority, subject: String, message: String| {
        move |recipient| Draft {
            recipient,
            kind,
            priority,
            subject: subject.clone(),
            message: message.clone(),
            incident: Some(incident),
            conversation: None,
        }
    };
    let survivor = |incident: &IncidentRow, kind| Draft {
        recipient: incident.survivor_id,
        kind,
        priority: Priority::Normal,
        subject: SURVIVOR_SUBJECT.into(),
        message: SURVIVOR_MESSAGE.into(),
        incident: Some(incident.id),
        conversation: None,
    };
    Ok(match event {
        Event::IncidentCreated(i) => {
            let loud = i.urgency_level != UrgencyLevel::Routine;
            let priority = if loud {
                Priority::High
            } else {
                Priority::Normal
            };
            let subject = if loud {
                format!("{} report {}", i.urgency_level.label(), i.case_number)
            } else {
                format!("New report {}", i.case_number)
            };
            let next = if i.status == IncidentStatus::Assigned {
                "was sent to a GBV rescue provider automatically"
            } else {
                "is waiting for triage"
            };
            let message = format!(
                "{} ({}) {next}.",
                i.kind.label(),
                i.urgency_level.label().to_lowercase()
            );
            let make = staff(
                i.id,
                NotificationType::IncidentCreated,
                priority,
                subject,
                message,
            );
            dispatchers(conn).await?.into_iter().map(make).collect()
        }
        Event::CaseAssigned {
            incident: i,
            provider,
        } => {
            let priority = if i.urgency_level == UrgencyLevel::Routine {
                Priority::Normal
            } else {
                Priority::High
            };
            let make = staff(
                i.id,
                NotificationType::CaseAssigned,
                priority,
                format!("Case {} assigned to you", i.case_number),
                format!(
                    "{} ({}). Accept or decline it.",
                    i.kind.label(),
                    i.urgency_level.label().to_lowercase()
                ),
            );
            vec![make(provider)]
        }
        Event::AssignmentAccepted {
            incident: i,
            provider,
        } => {
            let name = provider_name(conn, provider).await?;
            let make = staff(
                i.id,
                NotificationType::AssignmentAccepted,
                Priority::Normal,
                format!("Case {} accepted", i.case_number),
                format!("{name} accepted the case."),
            );
            let mut v: Vec<Draft> = dispatchers(conn).await?.into_iter().map(make).collect();
            v.push(survivor(i, NotificationType::AssignmentAccepted));
            v
        }
        Event::AssignmentRejected {
            incident: i,
            provider,
        } => {
            let name = provider_name(conn, provider).await?;
            let make = staff(
                i.id,
                NotificationType::AssignmentRejected,
                Priority::High,
                format!("Case {} declined", i.case_number),
                format!("{name} declined the case; it needs another provider."),
            );
            dispatchers(conn).await?.into_iter().map(make).collect()
        }
        Event::StatusChanged { incident: i, .. } => {
            vec![survivor(i, NotificationType::StatusChanged)]
        }
        Event::NewMessage {
            conversation,
            incident,
            sender_name,
            recipients,
        } => recipients
            .iter()
            .map(|&(recipient, role)| {
                let (subject, message) = if role == Role::Survivor {
                    (SURVIVOR_SUBJECT.into(), SURVIVOR_NEW_MESSAGE.into())
                } else {
                    (
                        "New message".into(),
                        format!("{sender_name} sent you a message."),
                    )
                };
                Draft {
                    recipient,
                    kind: NotificationType::NewMessage,
                    priority: Priority::Normal,
                    subject,
                    message,
                    incident,
                    conversation: Some(conversation),
                }
            })
            .collect(),
    })
}

/// Every active dispatcher, in id order (the lock order of their event logs).
pub(crate) async fn dispatchers(conn: &mut AnyConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM users WHERE role = $1 AND is_active = 1 ORDER BY id")
        .bind(Role::Dispatcher.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| get_uuid(r, "id")).collect()
}

async fn provider_name(conn: &mut AnyConnection, id: Uuid) -> Result<String, sqlx::Error> {
    let row = sqlx::query("SELECT first_name, last_name FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(conn)
        .await?;
    let first: String = row.try_get("first_name")?;
    let last: String = row.try_get("last_name")?;
    Ok(format!("{first} {last}").trim().to_owned())
}

/// The recipient's choice for this type (or the defaults), as the initial delivery state of
/// every channel: pending where chosen, skipped elsewhere.
async fn channels_for(
    conn: &mut AnyConnection,
    user: Uuid,
    kind: NotificationType,
) -> Result<BTreeMap<String, ChannelDelivery>, sqlx::Error> {
    let chosen = repo::preference(conn, user, kind).await?;
    Ok(Channel::ALL
        .iter()
        .map(|c| {
            let state = if chosen.contains(c) {
                DeliveryState::Pending
            } else {
                DeliveryState::Skipped
            };
            (
                c.as_str().to_owned(),
                ChannelDelivery {
                    state,
                    attempts: 0,
                    last_error: None,
                },
            )
        })
        .collect())
}
