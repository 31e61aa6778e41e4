//! The notification feed. `notify` turns a workflow event into one stored row per recipient,
//! inside the caller's transaction, so a change and its notifications commit together or not
//! at all, with their outbox rows (`delivery::plan`); the delivery workers send them later.
//! Nothing is sent from here.

pub mod handlers;
pub mod repo;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kintara_api::{
    default_channels, Channel, DeliveryState, Event, IncidentStatus, Notification,
    NotificationParams, NotificationType, Priority, Role, UrgencyLevel,
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::get_uuid;
use crate::delivery::outbox;
use crate::delivery::plan::{NewDelivery, Reach};
use crate::events;
use crate::incidents::repo::IncidentRow;

/// What happened, with what the texts need.
pub enum Cause<'a> {
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
    /// message: notifications show on lock screens. Each recipient comes with the sender's name
    /// as that recipient may see it (the room's `Cast` decides: an anonymous survivor stays
    /// "Anonymous").
    NewMessage {
        conversation: Uuid,
        incident: Option<Uuid>,
        recipients: &'a [Recipient],
    },
}

/// One notification to store.
pub struct Draft {
    pub recipient: Uuid,
    pub kind: NotificationType,
    pub priority: Priority,
    pub subject: String,
    pub message: String,
    /// What `subject` and `message` are made from; empty for survivors, like their texts.
    pub params: NotificationParams,
    pub incident: Option<Uuid>,
    pub conversation: Option<Uuid>,
}

/// What survivors are told about any change. Notifications can be seen on a lock screen or by
/// someone holding the phone, so they never carry case details.
pub const SURVIVOR_SUBJECT: &str = "Kintara";
pub const SURVIVOR_MESSAGE: &str = "Your case has an update.";
pub const SURVIVOR_NEW_MESSAGE: &str = "You have a new message.";

/// Stores the notifications `cause` brings, each with its `notification` frame in the
/// recipient's event log (the same JSON as the feed, so feed and stream agree). Call it inside
/// the transaction of the change.
pub async fn notify(conn: &mut AnyConnection, cause: Cause<'_>) -> Result<(), sqlx::Error> {
    let mut drafts = drafts(conn, cause).await?;
    drafts.sort_by_key(|d| d.recipient);
    let mut recipients: Vec<Uuid> = drafts.iter().map(|d| d.recipient).collect();
    recipients.dedup();
    let mut chosen = HashMap::new();
    for kind in drafts.iter().map(|d| d.kind).collect::<BTreeSet<_>>() {
        chosen.insert(kind, repo::preferences(conn, &recipients, kind).await?);
    }
    let reach = Reach::load(conn, &recipients).await?;
    let mut stored = Stored::default();
    for d in &drafts {
        stored.add(to_store(
            d,
            chosen.get(&d.kind).and_then(|c| c.get(&d.recipient)),
            &reach,
        ));
    }
    store(conn, &stored).await
}

/// Notifications to store with their outbox rows.
#[derive(Debug, Default)]
pub struct Stored {
    pub notifications: Vec<Notification>,
    pub deliveries: Vec<NewDelivery>,
}

impl Stored {
    pub fn add(&mut self, (n, deliveries): (Notification, Vec<NewDelivery>)) {
        self.notifications.push(n);
        self.deliveries.extend(deliveries);
    }

    /// The `notification` frames for the recipients who receive them in the app: a recipient
    /// who switched that channel off for the type gets none (the feed still lists it).
    pub fn frames(&self) -> impl Iterator<Item = (Uuid, Event)> + '_ {
        self.notifications
            .iter()
            .filter(|n| in_app(n))
            .map(|n| (n.recipient, Event::Notification(Box::new(n.clone()))))
    }
}

/// Whether `n` goes to its recipient's open app (the websocket channel, which long-polls too).
pub fn in_app(n: &Notification) -> bool {
    n.channels
        .get(Channel::Websocket.as_str())
        .is_some_and(|c| c.state != DeliveryState::Skipped)
}

/// Stores notifications made by `to_store` and their outbox rows, each with its
/// `notification` frame in its recipient's log when it goes to the app, in the order given.
pub async fn store(conn: &mut AnyConnection, stored: &Stored) -> Result<(), sqlx::Error> {
    repo::insert_many(conn, &stored.notifications).await?;
    outbox::enqueue(conn, &stored.deliveries).await?;
    let frames: Vec<_> = stored.frames().collect();
    events::append_many(conn, &frames).await?;
    Ok(())
}

/// A draft as it will be stored, with the recipient's choice of channels for its type (`None`:
/// no choice made, the defaults), planned against where they can be reached: each channel
/// `pending` where it will go out, `skipped` (and why) elsewhere; and its outbox rows.
pub fn to_store(
    draft: &Draft,
    chosen: Option<&Vec<Channel>>,
    reach: &Reach,
) -> (Notification, Vec<NewDelivery>) {
    let defaults;
    let chosen = match chosen {
        Some(c) => c,
        None => {
            defaults = default_channels();
            &defaults
        }
    };
    let mut n = repo::stored(draft, &BTreeMap::new());
    let (channels, deliveries) = reach.plan(&n, chosen);
    n.channels = channels;
    (n, deliveries)
}

/// The `new_message` notifications for `recipients` (who are not reading the room). Texts
/// never carry the message: notifications show on lock screens.
/// Someone told of a new message, with the sender's name as they may see it.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: Uuid,
    pub role: Role,
    pub sender_name: String,
}

pub fn new_message_drafts(
    conversation: Uuid,
    incident: Option<Uuid>,
    recipients: &[Recipient],
) -> Vec<Draft> {
    recipients
        .iter()
        .map(|r| {
            let (recipient, role, sender_name) = (r.id, r.role, r.sender_name.as_str());
            let (subject, message, params) = if role == Role::Survivor {
                (
                    SURVIVOR_SUBJECT.into(),
                    SURVIVOR_NEW_MESSAGE.into(),
                    NotificationParams::default(),
                )
            } else {
                (
                    "New message".into(),
                    format!("{sender_name} sent you a message."),
                    NotificationParams {
                        sender_name: Some(sender_name.to_owned()),
                        ..Default::default()
                    },
                )
            };
            Draft {
                recipient,
                kind: NotificationType::NewMessage,
                priority: Priority::Normal,
                subject,
                message,
                params,
                incident,
                conversation: Some(conversation),
            }
        })
        .collect()
}

async fn drafts(conn: &mut AnyConnection, cause: Cause<'_>) -> Result<Vec<Draft>, sqlx::Error> {
    let staff = |incident: Uuid, kind, priority, texts: Texts| {
        move |recipient| Draft {
            recipient,
            kind,
            priority,
            subject: texts.subject.clone(),
            message: texts.message.clone(),
            params: texts.params.clone(),
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
        params: NotificationParams::default(),
        incident: Some(incident.id),
        conversation: None,
    };
    Ok(match cause {
        Cause::IncidentCreated(i) => {
            let loud = i.urgency_level != UrgencyLevel::Routine;
            let priority = if loud {
                Priority::High
            } else {
                Priority::Normal
            };
            let make = staff(
                i.id,
                NotificationType::IncidentCreated,
                priority,
                Texts::incident_created(i),
            );
            dispatchers(conn).await?.into_iter().map(make).collect()
        }
        Cause::CaseAssigned {
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
                Texts::case_assigned(i),
            );
            vec![make(provider)]
        }
        Cause::AssignmentAccepted {
            incident: i,
            provider,
        } => {
            let name = provider_name(conn, provider).await?;
            let make = staff(
                i.id,
                NotificationType::AssignmentAccepted,
                Priority::Normal,
                Texts::answered(i, name, true),
            );
            let mut v: Vec<Draft> = dispatchers(conn).await?.into_iter().map(make).collect();
            v.push(survivor(i, NotificationType::AssignmentAccepted));
            v
        }
        Cause::AssignmentRejected {
            incident: i,
            provider,
        } => {
            let name = provider_name(conn, provider).await?;
            let make = staff(
                i.id,
                NotificationType::AssignmentRejected,
                Priority::High,
                Texts::answered(i, name, false),
            );
            dispatchers(conn).await?.into_iter().map(make).collect()
        }
        Cause::StatusChanged { incident: i, .. } => {
            vec![survivor(i, NotificationType::StatusChanged)]
        }
        Cause::NewMessage {
            conversation,
            incident,
            recipients,
        } => new_message_drafts(conversation, incident, recipients),
    })
}

/// A staff notification's English texts and the values they are made from, built together so
/// the two cannot disagree (the app words the values in its own language).
struct Texts {
    subject: String,
    message: String,
    params: NotificationParams,
}

impl Texts {
    fn incident_created(i: &IncidentRow) -> Texts {
        let subject = if i.urgency_level == UrgencyLevel::Routine {
            format!("New report {}", i.case_number)
        } else {
            format!("{} report {}", i.urgency_level.label(), i.case_number)
        };
        let next = if i.status == IncidentStatus::Assigned {
            "was sent to a GBV rescue provider automatically"
        } else {
            "is waiting for triage"
        };
        Texts {
            subject,
            message: format!("{} {next}.", what(i)),
            params: NotificationParams {
                status: Some(i.status),
                ..case_params(i)
            },
        }
    }

    fn case_assigned(i: &IncidentRow) -> Texts {
        Texts {
            subject: format!("Case {} assigned to you", i.case_number),
            message: format!("{}. Accept or decline it.", what(i)),
            params: case_params(i),
        }
    }

    /// A provider's answer to an assignment: accepted, or declined.
    fn answered(i: &IncidentRow, provider_name: String, accepted: bool) -> Texts {
        let (subject, message) = if accepted {
            (
                format!("Case {} accepted", i.case_number),
                format!("{provider_name} accepted the case."),
            )
        } else {
            (
                format!("Case {} declined", i.case_number),
                format!("{provider_name} declined the case; it needs another provider."),
            )
        };
        Texts {
            subject,
            message,
            params: NotificationParams {
                case_number: Some(i.case_number.clone()),
                provider_name: Some(provider_name),
                ..Default::default()
            },
        }
    }
}

/// "Physical Violence (urgent)".
fn what(i: &IncidentRow) -> String {
    format!(
        "{} ({})",
        i.kind.label(),
        i.urgency_level.label().to_lowercase()
    )
}

/// The case's number, type and urgency.
fn case_params(i: &IncidentRow) -> NotificationParams {
    NotificationParams {
        case_number: Some(i.case_number.clone()),
        incident_type: Some(i.kind),
        urgency: Some(i.urgency_level),
        ..Default::default()
    }
}

/// Every active dispatcher, in id order (the lock order of their event logs).
pub(crate) async fn dispatchers(conn: &mut AnyConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id FROM users WHERE role = $1 AND account_state = 'active' ORDER BY id",
    )
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
