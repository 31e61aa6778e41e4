//! The case workflow: assignments, provider and dispatcher bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{self, field, Rule, Rules};
use crate::validate::{FieldErrors, Validate};
use crate::FieldError;
use crate::{wire_enum, Incident, IncidentStatus, ProviderType};

pub const MAX_REASON: usize = 1_000;
/// How many providers one assign call may name.
pub const MAX_PROVIDERS_PER_ASSIGN: usize = 10;

wire_enum! {
    /// `pending → accepted | rejected`; `withdrawn` when a dispatcher reassigns.
    AssignmentStatus {
        Pending = "pending" / "Pending",
        Accepted = "accepted" / "Accepted",
        Rejected = "rejected" / "Rejected",
        Withdrawn = "withdrawn" / "Withdrawn",
    }
}

/// One provider asked to take one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub provider_id: Uuid,
    pub provider_name: String,
    pub provider_type: Option<ProviderType>,
    pub status: AssignmentStatus,
    /// `None` when the system assigned it (urgent cases).
    pub assigned_by: Option<Uuid>,
    pub assigned_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub rejection_reason: Option<String>,
}

/// Who is helping, as a survivor sees it: a name and a kind of help, nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseHelper {
    pub name: String,
    pub provider_type: Option<ProviderType>,
    pub provider_type_display: Option<String>,
}

/// A case as a provider or dispatcher sees it: the incident, who filed it (unless anonymous),
/// and its assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseView {
    #[serde(flatten)]
    pub incident: Incident,
    /// `None` for anonymous reports (and for providers never more than a name).
    pub survivor_id: Option<Uuid>,
    /// "Anonymous" for anonymous reports.
    pub survivor_name: String,
    pub assigned_providers: Vec<Assignment>,
    /// For providers: their own assignment's status and time.
    pub assignment_status: Option<AssignmentStatus>,
    pub assigned_at: Option<DateTime<Utc>>,
}

/// `PATCH incidents/{id}/accept/`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptRequest {
    #[serde(default)]
    pub notes: Option<String>,
}

impl Rules for AcceptRequest {
    const SCHEMA: &'static str = "AcceptRequest";
    const FIELDS: &'static [rules::Field] = &[field("notes", Rule::Text { max: MAX_REASON })];
}

impl Validate for AcceptRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `PATCH incidents/{id}/reject/`: the reason helps the dispatcher route it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectRequest {
    pub reason: String,
}

impl Rules for RejectRequest {
    const SCHEMA: &'static str = "RejectRequest";
    const FIELDS: &'static [rules::Field] =
        &[field("reason", Rule::RequiredText { max: MAX_REASON })];
}

impl Validate for RejectRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `POST dispatch/cases/{id}/close/` and `.../reopen/`: the reason is kept in the case's
/// timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseDecisionRequest {
    pub reason: String,
}

impl Rules for CaseDecisionRequest {
    const SCHEMA: &'static str = "CaseDecisionRequest";
    const FIELDS: &'static [rules::Field] =
        &[field("reason", Rule::RequiredText { max: MAX_REASON })];
}

impl Validate for CaseDecisionRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `PATCH providers/cases/{id}/status/`: `in_progress` or `completed` (closing is the
/// dispatcher's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusUpdateRequest {
    pub status: IncidentStatus,
    #[serde(default)]
    pub notes: Option<String>,
}

impl Rules for StatusUpdateRequest {
    const SCHEMA: &'static str = "StatusUpdateRequest";
    const FIELDS: &'static [rules::Field] = &[field("notes", Rule::Text { max: MAX_REASON })];
}

impl Validate for StatusUpdateRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `PATCH providers/availability/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRequest {
    pub is_currently_available: bool,
}

impl Validate for AvailabilityRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        Ok(())
    }
}

/// A provider's availability and load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderProfile {
    pub is_currently_available: bool,
    pub current_case_load: i64,
    pub max_case_load: i64,
    pub average_response_time_minutes: i64,
    /// Accepted ÷ answered assignments, 0..1; `None` before the first answer.
    pub acceptance_rate: Option<f64>,
}

/// A provider in the dispatcher's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryProvider {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub provider_type: ProviderType,
    pub provider_type_display: String,
    pub profile: ProviderProfile,
}

/// A suggested provider for a case, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderSuggestion {
    #[serde(flatten)]
    pub provider: DirectoryProvider,
    /// Higher is better.
    pub score: f64,
    /// Why it is suggested, as codes with params (worded by the app).
    pub reasons: Vec<SuggestionReason>,
}

/// One reason a provider is suggested for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", content = "params", rename_all = "snake_case")]
pub enum SuggestionReason {
    /// They give requested kinds of support.
    GivesServices {
        services: Vec<crate::SupportService>,
    },
    /// They handle this kind of incident.
    Handles { kind: crate::IncidentType },
    /// A GBV rescue team (first for urgent cases).
    GbvRescue {},
    /// Their load and how fast they answer.
    Load {
        cases: i64,
        max_cases: i64,
        answer_minutes: i64,
    },
}

/// `POST dispatch/cases/{id}/assign/`: one or more providers. The existing app sends a single
/// `provider_id`; both forms are accepted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignRequest {
    #[serde(default)]
    pub provider_ids: Vec<Uuid>,
    #[serde(default)]
    pub provider_id: Option<Uuid>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl AssignRequest {
    /// Every provider named, once each, in order.
    pub fn providers(&self) -> Vec<Uuid> {
        let mut all: Vec<Uuid> = self
            .provider_ids
            .iter()
            .copied()
            .chain(self.provider_id)
            .collect();
        let mut seen = std::collections::HashSet::new();
        all.retain(|id| seen.insert(*id));
        all
    }
}

impl Rules for AssignRequest {
    const SCHEMA: &'static str = "AssignRequest";
    const FIELDS: &'static [rules::Field] = &[
        // A name given twice counts once; `provider_id` may add one more.
        field(
            "provider_ids",
            Rule::Items {
                min: 0,
                max: MAX_PROVIDERS_PER_ASSIGN,
                unique: false,
            },
        ),
        field("notes", Rule::Text { max: MAX_REASON }),
    ];

    fn across(&self, e: &mut FieldErrors) {
        if self.providers().is_empty() {
            e.add("provider_ids", FieldError::NoneChosen {});
        }
    }

    fn across_schema() -> Vec<(&'static str, serde_json::Value)> {
        vec![(
            "",
            serde_json::json!({"anyOf": [
                {"required": ["provider_ids"], "properties": {"provider_ids": {"minItems": 1}}},
                {"required": ["provider_id"], "properties": {"provider_id": {"not": {"type": "null"}}}},
            ]}),
        )]
    }
}

impl Validate for AssignRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// `POST dispatch/cases/{id}/reassign/`: move the case from one provider to another. Without
/// `from_provider_id`, every live assignment is withdrawn.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReassignRequest {
    pub new_provider_id: Uuid,
    #[serde(default)]
    pub from_provider_id: Option<Uuid>,
    pub reason: String,
}

impl Rules for ReassignRequest {
    const SCHEMA: &'static str = "ReassignRequest";
    const FIELDS: &'static [rules::Field] =
        &[field("reason", Rule::RequiredText { max: MAX_REASON })];
}

impl Validate for ReassignRequest {
    fn validate(&self) -> Result<(), FieldErrors> {
        rules::check(self)
    }
}

/// Counts per status, per urgency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasesByStatus {
    pub new: i64,
    pub pending_dispatcher_review: i64,
    pub assigned: i64,
    pub in_progress: i64,
    pub completed: i64,
    pub closed: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasesByUrgency {
    pub routine: i64,
    pub urgent: i64,
    pub immediate: i64,
}

/// `GET dispatch/dashboard/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardStats {
    pub total_cases: i64,
    /// Assigned or in progress.
    pub active_cases: i64,
    pub pending_dispatcher_review: i64,
    /// Urgent or immediate cases waiting in the queue.
    pub unassigned_urgent_cases: i64,
    pub total_providers: i64,
    pub available_providers: i64,
    pub providers_at_capacity: i64,
    /// Mean minutes from assignment to an answer over the last 30 days; `None` without answers.
    pub average_response_time_minutes: Option<f64>,
    pub cases_completed_today: i64,
    pub cases_created_today: i64,
    pub cases_by_status: CasesByStatus,
    pub cases_by_urgency: CasesByUrgency,
}

/// `GET dispatch/cases/?page=`: `{count, next, previous, results}`; without `page` the list is a
/// bare array, as the existing app reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasePage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<CaseView>,
}
