//! The wizard's inputs as typed, the report they make and the errors that stop it: no view and
//! no web API (the day is passed in; messages are text keys, worded where they are shown), so
//! its checks are tested natively.

use super::*;

pub(super) const STEPS: usize = 5;

/// What is wrong with a field: one of the wizard's own texts (by key), or an error of the shared
/// rules (by code). Worded where it is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Problem {
    Key(&'static str),
    Field(kintara_api::FieldError),
}

pub(super) type Problems = std::collections::BTreeMap<String, Vec<Problem>>;

/// The wizard's inputs, as typed.
#[derive(Clone, Debug)]
pub(super) struct Draft {
    pub(super) kind: Option<IncidentType>,
    pub(super) date: String,
    pub(super) time: String,
    pub(super) address: String,
    pub(super) place: String,
    pub(super) description: String,
    pub(super) services: Vec<SupportService>,
    pub(super) urgency: UrgencyLevel,
    pub(super) contact: CommunicationMethod,
    pub(super) anonymous: bool,
}

pub(super) fn today() -> NaiveDate {
    let d = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
        .unwrap_or_default()
}

impl Draft {
    /// An empty draft, dated `today`.
    pub(super) fn on(today: NaiveDate) -> Self {
        Draft {
            kind: None,
            date: today.format("%Y-%m-%d").to_string(),
            time: String::new(),
            address: String::new(),
            place: String::new(),
            description: String::new(),
            services: Vec::new(),
            urgency: UrgencyLevel::Routine,
            contact: CommunicationMethod::SecureMessage,
            anonymous: false,
        }
    }

    /// The request this draft makes, or the problems that stop it.
    /// (`today` decides what is "in the future"; the view passes the device's date.)
    pub(super) fn to_request(&self, today: NaiveDate) -> Result<IncidentCreate, Problems> {
        let mut errors = Problems::new();
        let mut add = |f: &str, key: &'static str| {
            errors
                .entry(f.to_owned())
                .or_default()
                .push(Problem::Key(key))
        };
        if self.kind.is_none() {
            add("type", "wizard.need_type");
        }
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d");
        if date.is_err() {
            add("incident_date", "wizard.need_date");
        }
        let time = match self.time.trim() {
            "" => None,
            typed => match NaiveTime::parse_from_str(typed, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(typed, "%H:%M:%S"))
            {
                Ok(time) => Some(time),
                Err(_) => {
                    add("incident_time", "wizard.need_time");
                    None
                }
            },
        };
        let request = IncidentCreate {
            kind: self.kind.unwrap_or(IncidentType::Physical),
            incident_date: date.unwrap_or(today),
            incident_time: time,
            description: self.description.clone(),
            location: Location {
                address: self.address.trim().to_owned(),
                coordinates: None,
                description: Some(self.place.trim().to_owned()).filter(|s| !s.is_empty()),
            },
            severity: Severity::Medium,
            urgency_level: self.urgency,
            support_services: self.services.clone(),
            provider_preferences: Some(ProviderPreferences {
                communication_method: Some(self.contact),
                ..Default::default()
            }),
            is_anonymous: self.anonymous,
            // The outbox gives the report its client id when it stores it; the server files
            // each client id once, however often the outbox has to try.
            client_id: None,
        };
        if let Err(e) = request.validate_at(today) {
            for (k, v) in e.0 {
                let v = v.into_iter().map(Problem::Field);
                errors.entry(k).or_default().extend(v);
            }
        }
        if errors.is_empty() {
            Ok(request)
        } else {
            Err(errors)
        }
    }
}

/// The fields each step owns, for showing its errors before moving on.
pub(super) fn step_fields(step: usize) -> &'static [&'static str] {
    match step {
        1 => &["type"],
        2 => &["incident_date", "incident_time", "description", "location"],
        3 => &["support_services"],
        _ => &[],
    }
}

/// The draft's errors that belong to `step` (every error on the review step).
pub(super) fn errors_for_step(draft: &Draft, step: usize, today: NaiveDate) -> Problems {
    let Err(all) = draft.to_request(today) else {
        return Problems::new();
    };
    if step >= STEPS {
        return all;
    }
    all.into_iter()
        .filter(|(k, _)| {
            step_fields(step)
                .iter()
                .any(|f| k == f || k.starts_with(&format!("{f}.")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    fn filled() -> Draft {
        Draft {
            kind: Some(IncidentType::Physical),
            time: "14:05".into(),
            address: "  Kibera, Nairobi  ".into(),
            place: "   ".into(),
            description: "He hit me again last night.".into(),
            services: vec![SupportService::Medical],
            urgency: UrgencyLevel::Urgent,
            contact: CommunicationMethod::Call,
            ..Draft::on(day())
        }
    }

    #[test]
    fn a_complete_draft_makes_the_report_as_typed() {
        let r = filled().to_request(day()).expect("a valid report");
        assert_eq!(r.kind, IncidentType::Physical);
        assert_eq!(r.incident_date, day());
        assert_eq!(r.incident_time, NaiveTime::from_hms_opt(14, 5, 0));
        assert_eq!(r.location.address, "Kibera, Nairobi", "trimmed");
        assert_eq!(r.location.description, None, "a blank place is no place");
        assert_eq!(r.urgency_level, UrgencyLevel::Urgent);
        let contact = r.provider_preferences.and_then(|p| p.communication_method);
        assert_eq!(contact, Some(CommunicationMethod::Call));
        assert_eq!(r.client_id, None, "the outbox gives it one");
        // Seconds are allowed too.
        let d = Draft {
            time: "14:05:30".into(),
            ..filled()
        };
        assert!(d.to_request(day()).is_ok());
    }

    #[test]
    fn an_empty_draft_says_what_each_step_needs() {
        let empty = Draft::on(day());
        let step1 = errors_for_step(&empty, 1, day());
        assert_eq!(
            step1.get("type"),
            Some(&vec![Problem::Key("wizard.need_type")])
        );
        assert_eq!(step1.len(), 1, "only the first step's fields: {step1:?}");
        let step2 = errors_for_step(&empty, 2, day());
        assert!(step2.contains_key("description"), "{step2:?}");
        assert!(step2.keys().any(|k| k.starts_with("location")), "{step2:?}");
        assert!(!step2.contains_key("type"));
        let step3 = errors_for_step(&empty, 3, day());
        assert!(step3.contains_key("support_services"), "{step3:?}");
        // Urgency and contact always have a value.
        assert!(errors_for_step(&empty, 4, day()).is_empty());
        // The review shows everything still wrong.
        let all = errors_for_step(&empty, STEPS, day());
        assert!(all.len() >= step1.len() + step2.len() + step3.len());
        assert!(errors_for_step(&filled(), STEPS, day()).is_empty());
    }

    #[test]
    fn dates_and_times_are_checked_before_anything_is_sent() {
        // A day of slack (her local date may be ahead of UTC's), no more.
        let on = |date: &str| Draft {
            date: date.into(),
            ..filled()
        };
        assert!(on("2026-12-06").to_request(day()).is_ok());
        let e = on("2026-12-07").to_request(day()).unwrap_err();
        assert!(e.contains_key("incident_date"), "{e:?}");
        let next_day = day().succ_opt().unwrap();
        assert!(on("2026-12-07").to_request(next_day).is_ok());
        for (date, time, field) in [
            ("5/12/2026", "14:05", "incident_date"),
            ("", "14:05", "incident_date"),
            ("2026-12-05", "25:00", "incident_time"),
            ("2026-12-05", "2pm", "incident_time"),
        ] {
            let d = Draft {
                date: date.into(),
                time: time.into(),
                ..filled()
            };
            let e = d.to_request(day()).unwrap_err();
            assert!(e.contains_key(field), "{date} {time}: {e:?}");
        }
    }
}
