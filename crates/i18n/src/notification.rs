//! A notification's subject and text in a language: the same words in the app's feed and in the
//! OS notifications the shell raises.

use kintara_api::{IncidentStatus, NotificationParams, NotificationType, UrgencyLevel};

use crate::{fill, incident_type, text, urgency, Lang};

/// A survivor's notification: `app` (the app's name, or its disguise's) and a fixed sentence by
/// kind, never anything the server sent, so nothing of her case can show to whoever holds her
/// phone (the server sends her none anyway).
pub fn for_survivor(lang: Lang, kind: NotificationType, app: &str) -> (String, String) {
    let message = if kind == NotificationType::NewMessage {
        text(lang, "notif.you_have_message")
    } else if kind == NotificationType::Test {
        text(lang, "notif.test_body")
    } else {
        text(lang, "notif.case_update")
    };
    (app.to_owned(), message.to_owned())
}

/// A staff notification worded from its values, or `None` when a value its type needs is
/// missing (a row stored before the server sent values; a type this app does not word), so the
/// server's English shows instead.
pub fn from_params(
    lang: Lang,
    kind: NotificationType,
    p: &NotificationParams,
) -> Option<(String, String)> {
    let num = || p.case_number.as_deref();
    Some(match kind {
        NotificationType::IncidentCreated => {
            let next = if p.status? == IncidentStatus::Assigned {
                "notif.sent_to_rescue"
            } else {
                "notif.waiting_triage"
            };
            (
                new_report(lang, num()?, p.urgency?),
                fill(lang, next, &[("what", &what(lang, p)?)]),
            )
        }
        NotificationType::CaseAssigned => (
            fill(lang, "notif.assigned", &[("num", num()?)]),
            fill(lang, "notif.answer_it", &[("what", &what(lang, p)?)]),
        ),
        NotificationType::AssignmentAccepted => (
            fill(lang, "notif.accepted", &[("num", num()?)]),
            fill(
                lang,
                "notif.accepted_by",
                &[("name", p.provider_name.as_deref()?)],
            ),
        ),
        NotificationType::AssignmentRejected => (
            fill(lang, "notif.declined", &[("num", num()?)]),
            fill(
                lang,
                "notif.declined_by",
                &[("name", p.provider_name.as_deref()?)],
            ),
        ),
        NotificationType::NewMessage => (
            text(lang, "notif.new_message").to_owned(),
            fill(
                lang,
                "notif.message_from",
                &[("name", p.sender_name.as_deref()?)],
            ),
        ),
        NotificationType::Test => (
            text(lang, "notif.test_title").to_owned(),
            text(lang, "notif.test_body").to_owned(),
        ),
        // Only survivors are told of status changes.
        NotificationType::StatusChanged => return None,
    })
}

/// "New report KIN-…", or "Urgent report KIN-…" for the loud ones.
fn new_report(lang: Lang, num: &str, level: UrgencyLevel) -> String {
    if level == UrgencyLevel::Routine {
        return fill(lang, "notif.new_report", &[("num", num)]);
    }
    // The urgency is mid-sentence in Swahili ("Ripoti ya haraka") and first in English, so it
    // goes in lower case and the subject's first letter is raised.
    let level = urgency(lang, level).to_lowercase();
    capitalised(&fill(
        lang,
        "notif.loud_report",
        &[("urgency", &level), ("num", num)],
    ))
}

/// "Physical Violence (urgent)".
fn what(lang: Lang, p: &NotificationParams) -> Option<String> {
    Some(format!(
        "{} ({})",
        incident_type(lang, p.incident_type?),
        urgency(lang, p.urgency?).to_lowercase()
    ))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::IncidentType;

    fn params() -> NotificationParams {
        NotificationParams {
            case_number: Some("KIN-20261122-007".into()),
            incident_type: Some(IncidentType::Physical),
            urgency: Some(UrgencyLevel::Urgent),
            status: Some(IncidentStatus::PendingDispatcherReview),
            provider_name: Some("Dr. Achieng Otieno".into()),
            sender_name: Some("Amani Wanjiru".into()),
        }
    }

    #[test]
    fn staff_notifications_are_worded_in_either_language() {
        let p = params();
        let (subject, body) =
            from_params(Lang::En, NotificationType::IncidentCreated, &p).expect("worded");
        assert_eq!(subject, "Urgent report KIN-20261122-007");
        assert_eq!(body, "Physical Violence (urgent) is waiting for triage.");
        let (subject, body) =
            from_params(Lang::Sw, NotificationType::IncidentCreated, &p).expect("worded");
        assert_eq!(subject, "Ripoti ya haraka KIN-20261122-007");
        assert_eq!(body, "Ukatili wa kimwili (haraka) inasubiri ukaguzi.");
        let (subject, body) =
            from_params(Lang::Sw, NotificationType::NewMessage, &p).expect("worded");
        assert_eq!(subject, "Ujumbe mpya");
        assert_eq!(body, "Amani Wanjiru amekutumia ujumbe.");
        // Every staff kind is worded in Swahili with no English sentence left.
        for kind in [
            NotificationType::CaseAssigned,
            NotificationType::AssignmentAccepted,
            NotificationType::AssignmentRejected,
        ] {
            let (en, _) = from_params(Lang::En, kind, &p).expect("worded");
            let (sw, _) = from_params(Lang::Sw, kind, &p).expect("worded");
            assert_ne!(en, sw, "{kind:?}");
            assert!(sw.contains("KIN-20261122-007"), "{sw}");
        }
    }

    #[test]
    fn a_missing_value_leaves_the_servers_words() {
        let mut p = params();
        p.case_number = None;
        assert_eq!(
            from_params(Lang::Sw, NotificationType::CaseAssigned, &p),
            None
        );
        assert_eq!(
            from_params(Lang::Sw, NotificationType::StatusChanged, &params()),
            None
        );
    }

    #[test]
    fn a_survivors_notification_says_nothing_of_her_case() {
        for lang in [Lang::En, Lang::Sw] {
            let (title, body) = for_survivor(lang, NotificationType::StatusChanged, "Notes");
            assert_eq!(title, "Notes");
            assert_eq!(body, text(lang, "notif.case_update"));
            let (_, body) = for_survivor(lang, NotificationType::NewMessage, "Kintara");
            assert_eq!(body, text(lang, "notif.you_have_message"));
        }
    }
}
