//! Which channels a notification goes to, decided in its own transaction: the recipient's
//! choice, what this deployment can carry (`delivery_lanes`) and the recipient's devices.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use kintara_api::{
    delivery_error, Channel, ChannelDelivery, DeliveryLane, DeliveryState, Notification, Priority,
    PushKind,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::db::{get_enum, get_uuid, json_ids, json_strings};

/// An urgent alert still undelivered this long after it was raised is dropped: help that comes
/// hours late is no help, and a late alarm misleads.
pub const URGENT_TTL: Duration = Duration::minutes(15);

/// Where each recipient can be reached.
#[derive(Debug, Default)]
pub struct Reach {
    lanes: BTreeSet<DeliveryLane>,
    devices: HashMap<Uuid, Vec<(Uuid, PushKind)>>,
    /// Recipients with a WhatsApp number (looked up only when WhatsApp is carried).
    numbers: HashSet<Uuid>,
}

/// An outbox row to write with its notification.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub notification: Uuid,
    pub recipient: Uuid,
    pub lane: DeliveryLane,
    pub device: Option<Uuid>,
    pub priority: Priority,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Reach {
    /// The carried lanes and the devices of `recipients`.
    pub async fn load(conn: &mut AnyConnection, recipients: &[Uuid]) -> Result<Reach, sqlx::Error> {
        let mut reach = Reach::default();
        for row in sqlx::query("SELECT lane FROM delivery_lanes")
            .fetch_all(&mut *conn)
            .await?
        {
            reach
                .lanes
                .insert(get_enum(&row, "lane", DeliveryLane::parse)?);
        }
        if recipients.is_empty() {
            return Ok(reach);
        }
        let sql = format!(
            "SELECT id, user_id, kind FROM devices WHERE user_id IN ({}) ORDER BY id",
            json_strings(conn, 1)
        );
        for row in sqlx::query(&sql)
            .bind(json_ids(recipients))
            .fetch_all(&mut *conn)
            .await?
        {
            let kind = get_enum(&row, "kind", PushKind::parse)?;
            reach
                .devices
                .entry(get_uuid(&row, "user_id")?)
                .or_default()
                .push((get_uuid(&row, "id")?, kind));
        }
        if reach.lanes.contains(&DeliveryLane::Whatsapp) {
            let sql = format!(
                "SELECT id FROM users WHERE id IN ({}) AND whatsapp_number IS NOT NULL",
                json_strings(conn, 1)
            );
            for row in sqlx::query(&sql)
                .bind(json_ids(recipients))
                .fetch_all(&mut *conn)
                .await?
            {
                reach.numbers.insert(get_uuid(&row, "id")?);
            }
        }
        Ok(reach)
    }

    /// The channel states of `n` (to `n.recipient`, who chose `chosen`) and its outbox rows.
    /// Only what can actually go out is `pending`.
    pub fn plan(
        &self,
        n: &Notification,
        chosen: &[Channel],
    ) -> (BTreeMap<String, ChannelDelivery>, Vec<NewDelivery>) {
        let mut deliveries = Vec::new();
        let mut channels = BTreeMap::new();
        let row = |lane, device| NewDelivery {
            id: Uuid::now_v7(),
            notification: n.id,
            recipient: n.recipient,
            lane,
            device,
            priority: n.priority,
            expires_at: (n.priority == Priority::High).then(|| n.created_at + URGENT_TTL),
            created_at: n.created_at,
        };
        for &channel in Channel::ALL {
            let (state, why) = if !chosen.contains(&channel) {
                (DeliveryState::Skipped, None)
            } else {
                match channel {
                    // Handed to a socket or long-poll through the recipient's event log.
                    Channel::Websocket => (DeliveryState::Pending, None),
                    Channel::Push => {
                        let devices = self.devices.get(&n.recipient).map_or(&[][..], |d| d);
                        let carried: Vec<_> = devices
                            .iter()
                            .filter_map(|(id, kind)| {
                                let lane = DeliveryLane::for_push(*kind)?;
                                self.lanes.contains(&lane).then_some((*id, lane))
                            })
                            .collect();
                        for (device, lane) in &carried {
                            deliveries.push(row(*lane, Some(*device)));
                        }
                        if !carried.is_empty() {
                            (DeliveryState::Pending, None)
                        } else if devices.is_empty() {
                            (DeliveryState::Skipped, Some(delivery_error::NO_DEVICE))
                        } else {
                            (DeliveryState::Skipped, Some(delivery_error::NOT_CONFIGURED))
                        }
                    }
                    Channel::Email | Channel::Whatsapp => {
                        let lane = if channel == Channel::Email {
                            DeliveryLane::Email
                        } else {
                            DeliveryLane::Whatsapp
                        };
                        if !self.lanes.contains(&lane) {
                            (DeliveryState::Skipped, Some(delivery_error::NOT_CONFIGURED))
                        } else if lane == DeliveryLane::Whatsapp
                            && !self.numbers.contains(&n.recipient)
                        {
                            (DeliveryState::Skipped, Some(delivery_error::NO_NUMBER))
                        } else {
                            deliveries.push(row(lane, None));
                            (DeliveryState::Pending, None)
                        }
                    }
                }
            };
            channels.insert(
                channel.as_str().to_owned(),
                ChannelDelivery {
                    state,
                    attempts: 0,
                    last_error: why.map(str::to_owned),
                    message_id: None,
                },
            );
        }
        (channels, deliveries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(priority: Priority) -> Notification {
        let d = crate::notifications::Draft {
            recipient: Uuid::new_v4(),
            kind: kintara_api::NotificationType::CaseAssigned,
            priority,
            subject: "s".into(),
            message: "m".into(),
            params: Default::default(),
            incident: None,
            conversation: None,
        };
        crate::notifications::repo::stored(&d, &BTreeMap::new())
    }

    #[test]
    fn only_what_can_go_out_is_pending() {
        let n = notification(Priority::High);
        let fcm_phone = Uuid::new_v4();
        let reach = Reach {
            lanes: [DeliveryLane::Fcm].into(),
            devices: [(
                n.recipient,
                vec![(fcm_phone, PushKind::Fcm), (Uuid::new_v4(), PushKind::Apns)],
            )]
            .into(),
            numbers: HashSet::new(),
        };
        let all = Channel::ALL.to_vec();
        let (channels, rows) = reach.plan(&n, &all);
        assert_eq!(channels["websocket"].state, DeliveryState::Pending);
        assert_eq!(channels["push"].state, DeliveryState::Pending);
        assert_eq!(channels["email"].state, DeliveryState::Skipped);
        assert_eq!(
            channels["email"].last_error.as_deref(),
            Some(delivery_error::NOT_CONFIGURED)
        );
        assert_eq!(rows.len(), 1, "only the FCM phone: no APNs lane here");
        assert_eq!(rows[0].device, Some(fcm_phone));
        assert_eq!(rows[0].expires_at, Some(n.created_at + URGENT_TTL));

        let (channels, rows) = Reach::default().plan(&n, &[Channel::Push]);
        assert!(rows.is_empty());
        assert_eq!(channels["websocket"].state, DeliveryState::Skipped);
        assert_eq!(
            channels["push"].last_error.as_deref(),
            Some(delivery_error::NO_DEVICE)
        );
    }
}
