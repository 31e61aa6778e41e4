//! The one builder of every text that leaves the app (push today; e-mail and WhatsApp use the
//! same). A survivor's say only that there is an update, in her language: pushes show on lock
//! screens and e-mail and WhatsApp can be read by whoever holds her phone or her inbox, so
//! nothing of her case, her messages or the people in it goes out; push data carries ids only.

use std::collections::BTreeMap;

use kintara_api::Role;
use kintara_i18n::{fill, notification, text, Lang};

use super::outbox::Job;

/// A push (or the subject and body of a mail or a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `None`: the device shows the app's name (or its disguise's).
    pub title: Option<String>,
    pub body: String,
    /// Ids only, for the app to open the right screen: `notification_id`, and `incident_id`
    /// and `conversation_id` when there are (FCM reserves `notification` as a data key).
    pub data: BTreeMap<&'static str, String>,
    /// An urgent alert for staff: sent at once with high priority, shown as critical, never
    /// folded into a count.
    pub urgent: bool,
    /// Pushes with the same key replace each other on the device, so a burst shows as one
    /// entry ("3 new updates").
    pub collapse_key: Option<&'static str>,
}

/// An e-mail: subject, plain text and HTML, in the recipient's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailText {
    pub subject: String,
    pub plain: String,
    pub html: String,
}

/// `out` as an e-mail. A survivor's says what her push says and nothing more.
pub fn email(out: &Outgoing, lang: Lang) -> EmailText {
    let subject = out.title.clone().unwrap_or_else(|| out.body.clone());
    let open = text(lang, "email.open_app");
    EmailText {
        plain: format!("{}\n\n{open}\n", out.body),
        html: format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><body><p>{}</p><p>{}</p></body></html>\n",
            lang.code(),
            escape(&out.body),
            escape(open)
        ),
        subject,
    }
}

/// Text as HTML character data (names are typed by people).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Pushes that are not urgent replace each other on the device under this key.
pub const UPDATES: &str = "kintara-updates";

/// The texts for `job` in `lang`.
pub fn outgoing(job: &Job, lang: Lang) -> Outgoing {
    let private = job.role == Role::Survivor;
    let urgent = job.priority.is_urgent_alert(job.role);
    let mut data = BTreeMap::from([("notification_id", job.notification.to_string())]);
    if let Some(i) = job.incident {
        data.insert("incident_id", i.to_string());
    }
    if let Some(c) = job.conversation {
        data.insert("conversation_id", c.to_string());
    }
    // Only pushes are folded (the phone shows one entry); an e-mail or a WhatsApp message is
    // one per notification, so it says what it is.
    let burst = !urgent && job.unread > 1 && job.lane.channel() == kintara_api::Channel::Push;
    let (title, body) = if burst {
        let n = job.unread.min(99).to_string();
        (None, fill(lang, "notif.new_updates", &[("n", &n)]))
    } else if private {
        (None, text(lang, "notif.new_update").to_owned())
    } else {
        let (subject, message) = notification::from_params(lang, job.kind, &job.params)
            .unwrap_or_else(|| (job.subject.clone(), job.message.clone()));
        (Some(subject), message)
    };
    Outgoing {
        title,
        body,
        data,
        urgent,
        collapse_key: (!urgent).then_some(UPDATES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::{DeliveryLane, NotificationParams, NotificationType, Priority};
    use uuid::Uuid;

    fn job(role: Role, priority: Priority, unread: i64) -> Job {
        Job {
            id: Uuid::new_v4(),
            notification: Uuid::new_v4(),
            lane: DeliveryLane::Fcm,
            attempts: 1,
            priority,
            expires_at: None,
            recipient: Uuid::new_v4(),
            role,
            email: "someone@example.org".into(),
            whatsapp: None,
            language: Lang::En,
            device: None,
            token: Some("t".into()),
            kind: NotificationType::NewMessage,
            subject: "New message".into(),
            message: "Amina Planted sent you a message.".into(),
            params: NotificationParams {
                sender_name: Some("Amina Planted".into()),
                ..Default::default()
            },
            incident: Some(Uuid::new_v4()),
            conversation: Some(Uuid::new_v4()),
            unread,
        }
    }

    #[test]
    fn a_survivor_is_told_only_that_there_is_an_update() {
        for lang in [Lang::En, Lang::Sw] {
            let out = outgoing(&job(Role::Survivor, Priority::High, 1), lang);
            assert_eq!(out.title, None);
            assert_eq!(out.body, text(lang, "notif.new_update"));
            assert!(!out.urgent);
            let all = format!("{out:?}");
            assert!(
                !all.contains("Planted") && !all.contains("message."),
                "{all}"
            );
            assert_eq!(
                out.data.keys().copied().collect::<Vec<_>>(),
                ["conversation_id", "incident_id", "notification_id"]
            );
        }
    }

    #[test]
    fn staff_get_the_words_and_bursts_become_a_count_but_urgent_alerts_never_do() {
        let one = outgoing(&job(Role::Provider, Priority::Normal, 1), Lang::En);
        assert_eq!(one.title.as_deref(), Some("New message"));
        assert!(one.body.contains("Amina Planted"));
        let burst = outgoing(&job(Role::Provider, Priority::Normal, 3), Lang::En);
        assert_eq!(burst.body, "You have 3 new updates");
        assert_eq!(burst.collapse_key, Some(UPDATES));
        let urgent = outgoing(&job(Role::Dispatcher, Priority::High, 3), Lang::En);
        assert!(urgent.urgent);
        assert_eq!(urgent.collapse_key, None);
        assert!(urgent.title.is_some());
        // An e-mail or a WhatsApp message is one per notification: it says what it is.
        let mut mail = job(Role::Provider, Priority::Normal, 3);
        mail.lane = DeliveryLane::Email;
        assert!(outgoing(&mail, Lang::En).body.contains("Amina Planted"));
    }
}
