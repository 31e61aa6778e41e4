//! A survivor's report: `incidents/*` bodies.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{self, field, Rule, Rules};
use crate::validate::{FieldErrors, Validate};
use crate::wire_enum;
use crate::FieldError;

pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_LOCATION_DESCRIPTION: usize = 1_000;

wire_enum! {
    IncidentType {
        Physical = "physical" / "Physical Violence",
        Sexual = "sexual" / "Sexual Violence",
        Emotional = "emotional" / "Emotional/Psychological Abuse",
        Economic = "economic" / "Economic Abuse",
        Online = "online" / "Online Gender-Based Violence",
        Femicide = "femicide" / "Femicide/Attempted Femicide",
    }
}

wire_enum! {
    #[derive(Default)]
    Severity {
        Low = "low" / "Low",
        #[default]
        Medium = "medium" / "Medium",
        High = "high" / "High",
    }
}

wire_enum! {
    #[derive(Default)]
    UrgencyLevel {
        #[default]
        Routine = "routine" / "Routine",
        Urgent = "urgent" / "Urgent",
        Immediate = "immediate" / "Immediate",
    }
}

wire_enum! {
    /// The help a survivor asks for; each maps to the provider type that gives it.
    SupportService {
        Medical = "medical" / "Medical care",
        Legal = "legal" / "Legal aid",
        Counseling = "counseling" / "Counseling",
        Police = "police" / "Police",
        Shelter = "shelter" / "Safe shelter",
        Financial = "financial" / "Financial support",
        Emergency = "emergency" / "Emergency rescue",
    }
}

wire_enum! {
    /// The case workflow: `new → pending_dispatcher_review → assigned → in_progress → completed → closed`.
    IncidentStatus {
        New = "new" / "New",
        PendingDispatcherReview = "pending_dispatcher_review" / "Waiting for review",
        Assigned = "assigned" / "Assigned",
        InProgress = "in_progress" / "In progress",
        Completed = "completed" / "Completed",
        Closed = "closed" / "Closed",
    }
}

wire_enum! {
    CommunicationMethod {
        Sms = "sms" / "Text message (SMS)",
        Call = "call" / "Phone call",
        SecureMessage = "secure_message" / "Secure app message",
    }
}

wire_enum! {
    PreferredGender {
        Male = "male" / "Male",
        Female = "female" / "Female",
        NoPreference = "no_preference" / "No preference",
    }
}

wire_enum! {
    ProximityPreference {
        Nearest = "nearest" / "Nearest",
        SpecificFacility = "specific_facility" / "A specific facility",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Where it happened: an address, optional coordinates, optional free text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    #[serde(default)]
    pub address: String,
    #[serde(default, deserialize_with = "rules::strict::optional_object")]
    pub coordinates: Option<Coordinates>,
    #[serde(default)]
    pub description: Option<String>,
}

/// How the survivor wants to be contacted. The existing app sends camelCase keys here; both
/// spellings are accepted, snake_case is returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderPreferences {
    #[serde(default, alias = "communicationMethod")]
    pub communication_method: Option<CommunicationMethod>,
    #[serde(default, alias = "preferredGender")]
    pub preferred_gender: Option<PreferredGender>,
    #[serde(default, alias = "proximityPreference")]
    pub proximity_preference: Option<ProximityPreference>,
}

/// `POST incidents/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentCreate {
    #[serde(rename = "type")]
    pub kind: IncidentType,
    pub incident_date: NaiveDate,
    #[serde(default, deserialize_with = "time_of_day")]
    pub incident_time: Option<NaiveTime>,
    pub description: String,
    #[serde(deserialize_with = "rules::strict::object")]
    pub location: Location,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub urgency_level: UrgencyLevel,
    pub support_services: Vec<SupportService>,
    #[serde(default, deserialize_with = "rules::strict::optional_object")]
    pub provider_preferences: Option<ProviderPreferences>,
    #[serde(default)]
    pub is_anonymous: bool,
    /// Chosen by the client once per report: filing again with the same id returns the first
    /// report instead of a copy (a retry after a lost answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Where a report happened, the same for filing and for the UI's check.
const LOCATION: [rules::Field; 4] = [
    field("location.address", Rule::Text { max: MAX_ADDRESS }),
    field(
        "location.description",
        Rule::Text {
            max: MAX_LOCATION_DESCRIPTION,
        },
    ),
    field(
        "location.coordinates.latitude",
        Rule::Range { min: -90, max: 90 },
    ),
    field(
        "location.coordinates.longitude",
        Rule::Range {
            min: -180,
            max: 180,
        },
    ),
];

/// Each requested service at most once; there are only so many.
const SERVICES: Rule = Rule::Items {
    min: 1,
    max: SupportService::ALL.len(),
    unique: true,
};

/// `HH:MM:SS` exactly, as the document's pattern says (chrono alone would also take `1:2:3`).
fn time_of_day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
    use serde::de::Error;
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let b = s.as_bytes();
    let shaped = b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
        && b[3] <= b'5'
        && b[6] <= b'5';
    shaped
        .then(|| NaiveTime::parse_from_str(&s, "%H:%M:%S").ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| D::Error::custom("expected a time of day as HH:MM:SS"))
}

/// The oldest incident date a report may give.
pub fn earliest_incident_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date")
}

impl IncidentCreate {
    /// Validation against a clock, so tests and the UI can pass their own "today".
    pub fn validate_at(&self, today: NaiveDate) -> Result<(), FieldErrors> {
        let mut e = match rules::check(self) {
            Ok(()) => FieldErrors::default(),
            Err(e) => e,
        };
        // A day of slack: the survivor's local date may be ahead of UTC.
        if self.incident_date > today + chrono::Days::new(1) {
            e.add("incident_date", FieldError::InTheFuture {});
        }
        e.into_result()
    }
}

impl Rules for IncidentCreate {
    const SCHEMA: &'static str = "IncidentCreate";
    const FIELDS: &'static [rules::Field] = &[
        field(
            "description",
            Rule::RequiredText {
                max: MAX_DESCRIPTION,
            },
        ),
        LOCATION[0],
        LOCATION[1],
        LOCATION[2],
        LOCATION[3],
        field("support_services", SERVICES),
        field(
            "client_id",
            Rule::Key {
                max: crate::MAX_CLIENT_ID,
            },
        ),
    ];
    const UNSTATED: &'static str = "an `incident_date` after tomorrow (UTC).";

    fn across(&self, e: &mut FieldErrors) {
        if self.incident_date < earliest_incident_date() {
            e.add("incident_date", FieldError::NotARealDate {});
        }
        if self.location.address.trim().is_empty() && self.location.coordinates.is_none() {
            e.add("location.address", FieldError::NeedAPlace {});
        }
    }

    fn across_schema() -> Vec<(&'static str, serde_json::Value)> {
        let place = serde_json::json!({"anyOf": [
            {"description": "An address,", "required": ["address"],
             "properties": {"address": {"pattern": rules::non_blank_pattern()}}},
            {"description": "or coordinates.", "required": ["coordinates"],
             "properties": {"coordinates": {"type": "object"}}},
        ]});
        // From 1900: four digits starting 19 or higher.
        // A time of day is `HH:MM:SS`, as the server answers it.
        let date = serde_json::json!({"properties": {
            "incident_date": {"pattern": "^(19|[2-9][0-9])[0-9][0-9]-"},
            "incident_time": {"pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]",
                              "minLength": 8, "maxLength": 8},
        }});
        vec![("location", place), ("", date)]
    }
}

impl Validate for IncidentCreate {
    fn validate(&self) -> Result<(), FieldErrors> {
        self.validate_at(Utc::now().date_naive())
    }
}

/// `PATCH incidents/{id}/`: what a survivor may still change after filing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub support_services: Option<Vec<SupportService>>,
    #[serde(default, deserialize_with = "rules::strict::optional_object")]
    pub provider_preferences: Option<ProviderPreferences>,
}

impl Rules for IncidentPatch {
    const SCHEMA: &'static str = "IncidentPatch";
    const FIELDS: &'static [rules::Field] = &[
        field(
            "description",
            Rule::RequiredText {
                max: MAX_DESCRIPTION,
            },
        ),
        field("support_services", SERVICES),
    ];

    fn across(&self, e: &mut FieldErrors) {
        if self.description.is_none()
            && self.support_services.is_none()
            && self.provider_preferences.is_none()
        {
            e.add("non_field_errors", FieldError::NothingToChange {});
        }
    }

    fn across_schema() -> Vec<(&'static str, serde_json::Value)> {
        let given = |key: &str| serde_json::json!({"required": [key], "properties": {key: {"not": {"type": "null"}}}});
        vec![(
            "",
            serde_json::json!({"anyOf": [given("description"), given("support_services"), given("provider_preferences")]}),
        )]
    }
}

impl Validate for IncidentPatch {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

wire_enum! {
    /// How much of a case its reader was given (README, "Who sees what of a case").
    #[derive(Default)]
    Disclosure {
        /// Everything: the survivor, dispatchers and providers who accepted the case.
        #[default]
        Full = "full" / "Full",
        /// A provider offered the case: what kind of case, roughly where, which help, how
        /// urgent. Not what she wrote, the exact place, the time, how to reach her, her name.
        Offer = "offer" / "Offer",
        /// A provider who worked a case that is now closed: its record, none of its content.
        Record = "record" / "Record",
    }
}

/// How far an offered provider's coordinates are rounded: 0.1° is about 11 km, enough to know
/// whether the case is theirs to reach, not enough to find a house.
pub const OFFER_COORDINATE_STEP: f64 = 0.1;

/// An incident as its reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: Uuid,
    pub case_number: String,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    pub incident_type_display: String,
    pub status: IncidentStatus,
    pub status_display: String,
    pub severity: Severity,
    pub urgency_level: UrgencyLevel,
    pub incident_date: NaiveDate,
    pub incident_time: Option<NaiveTime>,
    pub description: String,
    pub location: Location,
    pub support_services: Vec<SupportService>,
    pub provider_preferences: Option<ProviderPreferences>,
    pub is_anonymous: bool,
    pub date_submitted: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    /// The providers who accepted the case: a name and a kind of help only.
    #[serde(default)]
    pub helpers: Vec<crate::CaseHelper>,
    /// What of the case this reader was given; withheld fields are empty.
    #[serde(default)]
    pub disclosure: Disclosure,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> IncidentCreate {
        serde_json::from_value(serde_json::json!({
            "type": "physical",
            "incident_date": "2026-11-20",
            "description": "what happened",
            "location": {"address": "Nairobi"},
            "support_services": ["medical"],
            "provider_preferences": {"communicationMethod": "sms"}
        }))
        .unwrap()
    }

    #[test]
    fn accepts_the_existing_apps_payload() {
        let r = report();
        assert_eq!(r.urgency_level, UrgencyLevel::Routine);
        assert_eq!(
            r.provider_preferences.unwrap().communication_method,
            Some(CommunicationMethod::Sms)
        );
        assert!(report()
            .validate_at(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
            .is_ok());
    }

    #[test]
    fn rejects_bad_reports_field_by_field() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut r = report();
        r.incident_date = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        r.description = "   ".into();
        r.location = Location {
            address: String::new(),
            coordinates: Some(Coordinates {
                latitude: 91.0,
                longitude: f64::NAN,
            }),
            description: None,
        };
        r.support_services = vec![SupportService::Legal, SupportService::Legal];
        let e = r.validate_at(today).unwrap_err().0;
        for field in [
            "incident_date",
            "description",
            "location.coordinates.latitude",
            "location.coordinates.longitude",
            "support_services",
        ] {
            assert!(e.contains_key(field), "{field} missing in {e:?}");
        }
    }

    #[test]
    fn patch_refuses_unknown_fields() {
        let r: Result<IncidentPatch, _> =
            serde_json::from_value(serde_json::json!({"status": "closed"}));
        assert!(r.is_err());
    }
}

/// One move of a case in `GET incidents/{id}/timeline/`, oldest first. `reason` is shown to
/// dispatchers and providers only: it can name a provider or quote why one declined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub from: Option<IncidentStatus>,
    pub to: IncidentStatus,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}
