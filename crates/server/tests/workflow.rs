//! The case workflow, the notification feed and push devices over real HTTP: routing of new
//! reports, assignment, accept / reject, status moves, reassignment, the provider directory and
//! suggestions, the dispatcher's dashboard, the race for a provider's last slot, the feed's
//! pages, filters and read state, channel preferences, and push tokens. Each test starts its
//! own server with the demo accounts on a temporary SQLite database.

#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use kintara_api::{
    codes, AssignmentStatus, CaseHelper, CaseView, CasesByStatus, CasesByUrgency, Channel,
    DashboardStats, Device, DirectoryProvider, Disclosure, Incident, IncidentStatus, MarkedAll,
    MarkedOne, Notification, NotificationPage, NotificationParams, NotificationPreferences,
    NotificationType, Priority, ProviderSuggestion, ProviderType, UnreadCount, UrgencyLevel,
};
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

/// What survivors are told of any change: nothing about the case itself.
const SURVIVOR_MESSAGE: &str = "Your case has an update.";

// ---------------------------------------------------------------------------------------------
// The harness of this file
// ---------------------------------------------------------------------------------------------

/// A demo server with the survivor and the dispatcher signed in.
struct World {
    server: TestServer,
    survivor: Account,
    dispatcher: Account,
}

impl World {
    async fn new() -> Self {
        let server = TestServer::demo().await;
        let survivor = server.demo_login("survivor").await;
        let dispatcher = server.demo_login("dispatcher").await;
        World {
            server,
            survivor,
            dispatcher,
        }
    }

    /// Signs in to a demo account (`healthcare`, `gbv_rescue`, ...).
    async fn login(&self, who: &str) -> Account {
        self.server.demo_login(who).await
    }

    /// The survivor files `body`.
    async fn file(&self, body: &Value) -> Incident {
        self.server.create_report(&self.survivor.access, body).await
    }

    /// The case as the dispatcher sees it.
    async fn case(&self, id: Uuid) -> CaseView {
        let resp = self
            .server
            .get(
                &format!("/api/dispatch/cases/{id}/"),
                Some(&self.dispatcher.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    /// The incident as its survivor sees it.
    async fn survivor_view(&self, id: Uuid) -> Incident {
        let resp = self
            .server
            .get(
                &format!("/api/incidents/{id}/"),
                Some(&self.survivor.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    async fn directory(&self, query: &str) -> Vec<DirectoryProvider> {
        let resp = self
            .server
            .get(
                &format!("/api/dispatch/providers/{query}"),
                Some(&self.dispatcher.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    /// The id of the demo provider of `kind`.
    async fn provider_id(&self, kind: ProviderType) -> Uuid {
        let email = format!("{}@kintara.test", kind.as_str());
        self.directory("")
            .await
            .into_iter()
            .find(|p| p.email == email)
            .unwrap_or_else(|| panic!("{email} is in the directory"))
            .id
    }

    async fn dashboard(&self) -> DashboardStats {
        let resp = self
            .server
            .get("/api/dispatch/dashboard/", Some(&self.dispatcher.access))
            .await;
        resp.expect(200);
        resp.json_as()
    }

    async fn assign_as(&self, dispatcher: &Account, id: Uuid, providers: &[Uuid]) -> Resp {
        self.server
            .post(
                &format!("/api/dispatch/cases/{id}/assign/"),
                Some(&dispatcher.access),
                &json!({ "provider_ids": providers }),
            )
            .await
    }

    async fn assign(&self, id: Uuid, providers: &[Uuid]) -> Resp {
        self.assign_as(&self.dispatcher, id, providers).await
    }

    async fn reassign(&self, id: Uuid, body: &Value) -> Resp {
        self.server
            .post(
                &format!("/api/dispatch/cases/{id}/reassign/"),
                Some(&self.dispatcher.access),
                body,
            )
            .await
    }

    async fn accept(&self, who: &Account, id: Uuid) -> Resp {
        self.server
            .patch(
                &format!("/api/incidents/{id}/accept/"),
                Some(&who.access),
                &json!({}),
            )
            .await
    }

    async fn reject(&self, who: &Account, id: Uuid, body: &Value) -> Resp {
        self.server
            .patch(
                &format!("/api/incidents/{id}/reject/"),
                Some(&who.access),
                body,
            )
            .await
    }

    /// The dispatcher closes (`close`) or reopens (`reopen`) a case.
    async fn decide(&self, id: Uuid, what: &str, reason: &str) -> Resp {
        self.server
            .post(
                &format!("/api/dispatch/cases/{id}/{what}/"),
                Some(&self.dispatcher.access),
                &json!({ "reason": reason }),
            )
            .await
    }

    async fn set_status(&self, who: &Account, id: Uuid, status: &str) -> Resp {
        self.server
            .patch(
                &format!("/api/providers/cases/{id}/status/"),
                Some(&who.access),
                &json!({ "status": status }),
            )
            .await
    }

    /// A routine report assigned to `provider`, who accepted it: `in_progress`.
    async fn case_in_progress(&self, provider: &Account, description: &str) -> Incident {
        let incident = self.file(&report(description)).await;
        self.assign(incident.id, &[provider.user.id])
            .await
            .expect(200);
        self.accept(provider, incident.id).await.expect(200);
        incident
    }
}

/// A routine report of `kind` asking for `services`.
fn report_of(description: &str, kind: &str, services: &[&str]) -> Value {
    let mut body = report(description);
    body["type"] = json!(kind);
    body["support_services"] = json!(services);
    body
}

fn with_urgency(mut body: Value, urgency: &str) -> Value {
    body["urgency_level"] = json!(urgency);
    body
}

/// The caller's whole feed, newest first.
async fn feed(server: &TestServer, who: &Account) -> Vec<Notification> {
    feed_page(server, who, "?page_size=100").await.results
}

async fn feed_page(server: &TestServer, who: &Account, query: &str) -> NotificationPage {
    let resp = server
        .get(&format!("/api/notifications/{query}"), Some(&who.access))
        .await;
    resp.expect(200);
    resp.json_as()
}

fn of_type(feed: &[Notification], kind: NotificationType) -> Vec<&Notification> {
    feed.iter()
        .filter(|n| n.notification_type == kind)
        .collect()
}

async fn unread_count(server: &TestServer, who: &Account) -> UnreadCount {
    let resp = server
        .get("/api/notifications/unread_count/", Some(&who.access))
        .await;
    resp.expect(200);
    resp.json_as()
}

/// A provider's current case load, read from the database.
async fn load(server: &TestServer, provider: Uuid) -> i64 {
    sqlx::query("SELECT current_case_load FROM provider_profiles WHERE user_id = $1")
        .bind(provider.to_string())
        .fetch_one(&server.running.state.db.read)
        .await
        .expect("a provider profile")
        .get::<i64, _>("current_case_load")
}

async fn set_max_load(server: &TestServer, provider: Uuid, max: i64) {
    let changed = server
        .exec(
            &format!("UPDATE provider_profiles SET max_case_load = {max} WHERE user_id = $1"),
            &[&provider.to_string()],
        )
        .await;
    assert_eq!(changed, 1);
}

async fn stored_status(server: &TestServer, id: Uuid) -> String {
    sqlx::query("SELECT status FROM incidents WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&server.running.state.db.read)
        .await
        .expect("the incident")
        .get("status")
}

/// One step of an incident's status history: `(from, to, actor, reason)`.
type Step = (Option<String>, String, Option<Uuid>, Option<String>);

async fn history(server: &TestServer, id: Uuid) -> Vec<Step> {
    sqlx::query(
        "SELECT from_status, to_status, actor_id, reason FROM incident_status_history \
         WHERE incident_id = $1 ORDER BY created_at",
    )
    .bind(id.to_string())
    .fetch_all(&server.running.state.db.read)
    .await
    .expect("history")
    .iter()
    .map(|r| {
        let actor: Option<String> = r.get("actor_id");
        (
            r.get("from_status"),
            r.get("to_status"),
            actor.map(|a| Uuid::parse_str(&a).expect("uuid")),
            r.get("reason"),
        )
    })
    .collect()
}

/// Just the `(from, to)` of each step.
async fn moves(server: &TestServer, id: Uuid) -> Vec<(Option<String>, String)> {
    history(server, id)
        .await
        .into_iter()
        .map(|(from, to, _, _)| (from, to))
        .collect()
}

fn mv(from: Option<&str>, to: &str) -> (Option<String>, String) {
    (from.map(str::to_owned), to.to_owned())
}

/// Everything a refused workflow request must leave alone.
#[derive(Debug, PartialEq)]
struct Snapshot {
    incidents: Vec<(String, String, String)>,
    history: Vec<(String, Option<String>, String)>,
    assignments: Vec<(String, String, String, Option<String>)>,
    profiles: Vec<(String, i64, i64, i64)>,
    notifications: i64,
    conversations: i64,
}

async fn snapshot(server: &TestServer) -> Snapshot {
    let db = &server.running.state.db.read;
    let rows = |sql: &'static str| async move { sqlx::query(sql).fetch_all(db).await.expect(sql) };
    Snapshot {
        incidents: rows("SELECT id, status, updated_at FROM incidents ORDER BY id")
            .await
            .iter()
            .map(|r| (r.get("id"), r.get("status"), r.get("updated_at")))
            .collect(),
        history: rows(
            "SELECT incident_id, from_status, to_status FROM incident_status_history ORDER BY id",
        )
        .await
        .iter()
        .map(|r| {
            (
                r.get("incident_id"),
                r.get("from_status"),
                r.get("to_status"),
            )
        })
        .collect(),
        assignments: rows(
            "SELECT id, provider_id, status, rejection_reason FROM case_assignments ORDER BY id",
        )
        .await
        .iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("provider_id"),
                r.get("status"),
                r.get("rejection_reason"),
            )
        })
        .collect(),
        profiles: rows(
            "SELECT user_id, current_case_load, max_case_load, is_currently_available \
             FROM provider_profiles ORDER BY user_id",
        )
        .await
        .iter()
        .map(|r| {
            (
                r.get("user_id"),
                r.get("current_case_load"),
                r.get("max_case_load"),
                r.get("is_currently_available"),
            )
        })
        .collect(),
        notifications: server.count("notifications").await,
        conversations: server.count("conversation_participants").await,
    }
}

/// Asserts what a survivor's notification may say: the fixed sentence, nothing of the case.
#[track_caller]
fn assert_discreet(n: &Notification, incident: &Incident) {
    assert_eq!(n.message, SURVIVOR_MESSAGE, "{n:?}");
    for text in [&n.subject, &n.message] {
        let lower = text.to_lowercase();
        for secret in [
            incident.case_number.as_str(),
            incident.description.as_str(),
            incident.kind.as_str(),
            incident.kind.label(),
            incident.incident_type_display.as_str(),
            incident.location.address.as_str(),
        ] {
            assert!(
                !lower.contains(&secret.to_lowercase()),
                "a survivor's notification says {secret:?}: {n:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Routing new reports
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_routine_report_waits_for_a_dispatcher_and_every_dispatcher_hears_of_it() {
    let w = World::new().await;
    let second = w
        .server
        .register_dispatcher("second.dispatcher@example.org")
        .await;
    let rescue = w.login("gbv_rescue").await;

    let incident = w.file(&report("He followed me home again.")).await;
    assert_eq!(incident.status, IncidentStatus::PendingDispatcherReview);
    assert_eq!(incident.urgency_level, UrgencyLevel::Routine);
    assert!(incident.helpers.is_empty());
    assert!(w.case(incident.id).await.assigned_providers.is_empty());
    assert_eq!(w.server.count("case_assignments").await, 0);
    assert_eq!(
        history(&w.server, incident.id).await,
        vec![(
            None,
            "pending_dispatcher_review".into(),
            Some(w.survivor.user.id),
            None
        )]
    );

    for dispatcher in [&w.dispatcher, &second] {
        let feed = feed(&w.server, dispatcher).await;
        assert_eq!(feed.len(), 1, "{feed:?}");
        let n = &feed[0];
        assert_eq!(n.notification_type, NotificationType::IncidentCreated);
        assert_eq!(n.notification_type_display, "New report");
        assert_eq!(n.priority, Priority::Normal, "routine reports are not loud");
        assert_eq!(n.recipient, dispatcher.user.id);
        assert_eq!(n.incident, Some(incident.id));
        assert!(n.subject.contains(&incident.case_number), "{n:?}");
        assert!(!n.is_read && n.read_at.is_none());
        let states: BTreeMap<&str, &str> = n
            .channels
            .iter()
            .map(|(c, d)| (c.as_str(), d.state.as_str()))
            .collect();
        assert_eq!(
            states,
            BTreeMap::from([
                ("email", "skipped"),
                // Chosen by default, but this dispatcher has no device (see `delivery.rs`).
                ("push", "skipped"),
                ("websocket", "pending"),
                ("whatsapp", "skipped"),
            ]),
            "default channels"
        );
    }
    // Nobody else hears of a routine report.
    assert!(feed(&w.server, &w.survivor).await.is_empty());
    assert!(feed(&w.server, &rescue).await.is_empty());
    assert_eq!(load(&w.server, rescue.user.id).await, 0);
}

#[tokio::test]
async fn urgent_and_immediate_reports_go_straight_to_the_gbv_rescue_provider() {
    let w = World::new().await;
    let rescue = w.login("gbv_rescue").await;
    for (i, level) in ["urgent", "immediate"].into_iter().enumerate() {
        let incident = w
            .file(&with_urgency(report("He has a knife."), level))
            .await;
        assert_eq!(incident.status, IncidentStatus::Assigned, "{level}");
        assert!(incident.helpers.is_empty(), "nobody has accepted yet");

        let case = w.case(incident.id).await;
        assert_eq!(case.assigned_providers.len(), 1, "{level}: {case:?}");
        let a = &case.assigned_providers[0];
        assert_eq!(a.provider_id, rescue.user.id);
        assert_eq!(a.provider_type, Some(ProviderType::GbvRescue));
        assert_eq!(a.status, AssignmentStatus::Pending);
        assert_eq!(a.assigned_by, None, "the system assigned it");
        assert_eq!(load(&w.server, rescue.user.id).await, i as i64 + 1);
        assert_eq!(
            history(&w.server, incident.id).await[1..],
            [(
                Some("pending_dispatcher_review".into()),
                "assigned".into(),
                None,
                Some("automatic assignment of an urgent case".into())
            )]
        );

        // The provider is told, loudly.
        let theirs = feed(&w.server, &rescue).await;
        let assigned: Vec<_> = of_type(&theirs, NotificationType::CaseAssigned)
            .into_iter()
            .filter(|n| n.incident == Some(incident.id))
            .collect();
        assert_eq!(assigned.len(), 1, "{theirs:?}");
        assert_eq!(assigned[0].priority, Priority::High);
        // Every dispatcher too.
        let dispatchers = feed(&w.server, &w.dispatcher).await;
        let created: Vec<_> = of_type(&dispatchers, NotificationType::IncidentCreated)
            .into_iter()
            .filter(|n| n.incident == Some(incident.id))
            .collect();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].priority, Priority::High, "urgent ones loudly");

        // The provider finds it among their cases, waiting for an answer.
        let mine: Vec<CaseView> = w
            .server
            .get("/api/providers/assigned-cases/", Some(&rescue.access))
            .await
            .json_as();
        let found = mine
            .iter()
            .find(|c| c.incident.id == incident.id)
            .expect("listed");
        assert_eq!(found.assignment_status, Some(AssignmentStatus::Pending));
        assert_eq!(
            w.survivor_view(incident.id).await.status,
            IncidentStatus::Assigned
        );
    }
    assert_eq!(w.dashboard().await.unassigned_urgent_cases, 0);
}

#[tokio::test]
async fn an_urgent_report_waits_in_the_queue_while_the_rescue_provider_is_unavailable() {
    let w = World::new().await;
    let rescue = w.login("gbv_rescue").await;
    let resp = w
        .server
        .patch(
            "/api/providers/availability/",
            Some(&rescue.access),
            &json!({"is_currently_available": false}),
        )
        .await;
    resp.expect(200);
    let me: DirectoryProvider = resp.json_as();
    assert_eq!(me.id, rescue.user.id);
    assert!(!me.profile.is_currently_available);

    let mut queued = Vec::new();
    for level in ["urgent", "immediate"] {
        let incident = w
            .file(&with_urgency(report("He is outside the door."), level))
            .await;
        assert_eq!(incident.status, IncidentStatus::PendingDispatcherReview);
        assert!(w.case(incident.id).await.assigned_providers.is_empty());
        queued.push(incident.id);
    }
    assert_eq!(load(&w.server, rescue.user.id).await, 0);
    assert!(feed(&w.server, &rescue).await.is_empty());
    let dispatchers = feed(&w.server, &w.dispatcher).await;
    assert_eq!(dispatchers.len(), 2);
    assert!(dispatchers.iter().all(|n| n.priority == Priority::High
        && n.notification_type == NotificationType::IncidentCreated));
    assert_eq!(w.dashboard().await.unassigned_urgent_cases, 2);

    // Back on duty: the next urgent report is theirs; the queued ones stay with the dispatcher.
    w.server
        .patch(
            "/api/providers/availability/",
            Some(&rescue.access),
            &json!({"is_currently_available": true}),
        )
        .await
        .expect(200);
    let next = w.file(&with_urgency(report("He is back."), "urgent")).await;
    assert_eq!(next.status, IncidentStatus::Assigned);
    for id in queued {
        assert_eq!(
            stored_status(&w.server, id).await,
            "pending_dispatcher_review"
        );
    }
}

#[tokio::test]
async fn a_provider_reads_back_the_availability_they_set_and_nobody_else_can() {
    let w = World::new().await;
    let rescue = w.login("gbv_rescue").await;
    let read = |token: String| {
        let server = &w.server;
        async move {
            server
                .get("/api/providers/availability/", Some(&token))
                .await
        }
    };
    // A new account starts available, and the answer is the same body as setting it.
    let resp = read(rescue.access.clone()).await;
    resp.expect(200);
    let before: DirectoryProvider = resp.json_as();
    assert_eq!(before.id, rescue.user.id);
    assert!(before.profile.is_currently_available);

    for want in [false, true, false] {
        let resp = w
            .server
            .patch(
                "/api/providers/availability/",
                Some(&rescue.access),
                &json!({"is_currently_available": want}),
            )
            .await;
        resp.expect(200);
        let set: DirectoryProvider = resp.json_as();
        // Another device of the same provider (a second sign-in) reads what was set.
        let other_device = w.login("gbv_rescue").await;
        let resp = read(other_device.access).await;
        resp.expect(200);
        let read_back: DirectoryProvider = resp.json_as();
        assert_eq!(read_back.profile.is_currently_available, want);
        assert_eq!(read_back, set);
    }

    // Only providers have an availability: everyone else is refused, as when setting it.
    for who in [&w.survivor, &w.dispatcher] {
        read(who.access.clone()).await.expect_error(403, ANY);
    }
    // Without a session: refused before anything is looked up.
    w.server
        .get("/api/providers/availability/", None)
        .await
        .expect(401);
}

#[tokio::test]
async fn an_urgent_report_waits_in_the_queue_when_the_rescue_provider_is_full() {
    let w = World::new().await;
    let rescue = w.provider_id(ProviderType::GbvRescue).await;
    set_max_load(&w.server, rescue, 1).await;
    let first = w.file(&with_urgency(report("first"), "immediate")).await;
    assert_eq!(first.status, IncidentStatus::Assigned);
    assert_eq!(load(&w.server, rescue).await, 1);

    let second = w.file(&with_urgency(report("second"), "immediate")).await;
    assert_eq!(second.status, IncidentStatus::PendingDispatcherReview);
    assert!(w.case(second.id).await.assigned_providers.is_empty());
    assert_eq!(load(&w.server, rescue).await, 1, "never above the maximum");
    let stats = w.dashboard().await;
    assert_eq!(stats.unassigned_urgent_cases, 1);
    assert_eq!(stats.providers_at_capacity, 1);
}

#[tokio::test]
async fn urgent_reports_go_to_the_least_loaded_then_the_fastest_rescue_provider() {
    let w = World::new().await;
    let demo = w.provider_id(ProviderType::GbvRescue).await;
    let fast = w
        .server
        .register_provider("fast.rescue@example.org", "gbv_rescue")
        .await
        .user
        .id;
    let middle = w
        .server
        .register_provider("middle.rescue@example.org", "gbv_rescue")
        .await
        .user
        .id;
    // Average answer times: demo 30 minutes (the default), fast 10, middle 20.
    for (id, minutes) in [(fast, 10), (middle, 20)] {
        w.server
            .exec(
                &format!(
                    "UPDATE provider_profiles SET avg_response_minutes = {minutes} \
                     WHERE user_id = $1"
                ),
                &[&id.to_string()],
            )
            .await;
    }
    // Each row: who gets the next urgent report, given the loads before it.
    let expected = [
        (fast, "all free: the fastest"),
        (middle, "fast has one: the fastest of those with none"),
        (demo, "only demo has none"),
        (fast, "one each: the fastest again"),
        (middle, "fast has two"),
    ];
    // Each from a survivor of her own: one survivor's urgent reports hold at most two rescue
    // teams (the next test).
    for (n, (want, why)) in expected.into_iter().enumerate() {
        let survivor = w
            .server
            .register_survivor(&format!("urgent.{n}@example.org"))
            .await;
        let incident = w
            .server
            .create_report(&survivor.access, &with_urgency(report("urgent"), "urgent"))
            .await;
        let case = w.case(incident.id).await;
        assert_eq!(case.assigned_providers.len(), 1);
        assert_eq!(case.assigned_providers[0].provider_id, want, "{why}");
    }
    assert_eq!(load(&w.server, fast).await, 2);
    assert_eq!(load(&w.server, middle).await, 2);
    assert_eq!(load(&w.server, demo).await, 1);
}

#[tokio::test]
async fn one_survivors_urgent_reports_hold_at_most_two_rescue_teams() {
    let w = World::new().await;
    for email in ["r1@example.org", "r2@example.org", "r3@example.org"] {
        w.server.register_provider(email, "gbv_rescue").await;
    }
    // Two go straight to rescue teams; the third and fourth are not lost or refused, but wait
    // for a dispatcher, and every rescue team but two stays free for someone else.
    let mut statuses = Vec::new();
    for n in 0..4 {
        let incident = w
            .file(&with_urgency(report(&format!("urgent {n}")), "immediate"))
            .await;
        statuses.push(w.case(incident.id).await.incident.status);
    }
    use IncidentStatus::{Assigned, PendingDispatcherReview};
    assert_eq!(
        statuses,
        [
            Assigned,
            Assigned,
            PendingDispatcherReview,
            PendingDispatcherReview
        ]
    );
    let busy: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM provider_profiles WHERE current_case_load > 0")
            .fetch_one(&w.server.running.state.db.read)
            .await
            .unwrap();
    assert_eq!(busy, 2);
    // Another survivor's emergency still reaches a rescue team at once.
    let other = w.server.register_survivor("another@example.org").await;
    let theirs = w
        .server
        .create_report(&other.access, &with_urgency(report("now"), "immediate"))
        .await;
    assert_eq!(w.case(theirs.id).await.incident.status, Assigned);
}

// ---------------------------------------------------------------------------------------------
// Dispatchers assign
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dispatcher_assigns_one_provider_or_several_at_once() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;

    // One provider, in the existing app's `provider_id` form, with notes.
    let one = w.file(&report("one")).await;
    let resp = w
        .server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", one.id),
            Some(&w.dispatcher.access),
            &json!({"provider_id": healthcare.user.id, "notes": "  She asked for a clinic.  "}),
        )
        .await;
    resp.expect(200);
    let view: CaseView = resp.json_as();
    assert_eq!(view.incident.status, IncidentStatus::Assigned);
    assert_eq!(view.assigned_providers.len(), 1);
    let a = &view.assigned_providers[0];
    assert_eq!(a.provider_id, healthcare.user.id);
    assert_eq!(a.provider_name, healthcare.user.full_name);
    assert_eq!(a.status, AssignmentStatus::Pending);
    assert_eq!(a.assigned_by, Some(w.dispatcher.user.id));
    assert_eq!(a.notes.as_deref(), Some("She asked for a clinic."));
    assert_eq!(load(&w.server, healthcare.user.id).await, 1);
    assert_eq!(
        history(&w.server, one.id).await[1..],
        [(
            Some("pending_dispatcher_review".into()),
            "assigned".into(),
            Some(w.dispatcher.user.id),
            Some("She asked for a clinic.".into())
        )]
    );
    let told = feed(&w.server, &healthcare).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].notification_type, NotificationType::CaseAssigned);
    assert_eq!(told[0].incident, Some(one.id));
    assert_eq!(told[0].priority, Priority::Normal);

    // Several providers in one call.
    let kinds = [
        ProviderType::Legal,
        ProviderType::Counseling,
        ProviderType::Chw,
    ];
    let mut ids = Vec::new();
    for k in kinds {
        ids.push(w.provider_id(k).await);
    }
    let several = w.file(&report("several")).await;
    let resp = w.assign(several.id, &ids).await;
    resp.expect(200);
    let view: CaseView = resp.json_as();
    assert_eq!(view.incident.status, IncidentStatus::Assigned);
    let assigned: BTreeSet<Uuid> = view
        .assigned_providers
        .iter()
        .map(|a| a.provider_id)
        .collect();
    assert_eq!(assigned, ids.iter().copied().collect());
    assert!(view
        .assigned_providers
        .iter()
        .all(|a| a.status == AssignmentStatus::Pending));
    for id in &ids {
        assert_eq!(load(&w.server, *id).await, 1);
    }
    assert_eq!(
        moves(&w.server, several.id).await,
        vec![
            mv(None, "pending_dispatcher_review"),
            mv(Some("pending_dispatcher_review"), "assigned")
        ],
        "one move for the whole call"
    );
    let case_assigned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE notification_type = 'case_assigned' \
         AND incident_id = $1",
    )
    .bind(several.id.to_string())
    .fetch_one(&w.server.running.state.db.read)
    .await
    .unwrap();
    assert_eq!(case_assigned, 3, "each provider is told");

    // Adding a provider to an assigned case keeps it assigned, without another move.
    w.assign(several.id, &[healthcare.user.id])
        .await
        .expect(200);
    assert_eq!(w.case(several.id).await.assigned_providers.len(), 4);
    assert_eq!(moves(&w.server, several.id).await.len(), 2);
    assert_eq!(load(&w.server, healthcare.user.id).await, 2);
}

#[tokio::test]
async fn assigning_is_all_or_nothing() {
    let w = World::new().await;
    let healthcare = w.provider_id(ProviderType::Healthcare).await;
    let social = w.provider_id(ProviderType::Social).await;
    let police = w.login("police").await;
    set_max_load(&w.server, social, 0).await;
    w.server
        .patch(
            "/api/providers/availability/",
            Some(&police.access),
            &json!({"is_currently_available": false}),
        )
        .await
        .expect(200);
    let incident = w.file(&report("all or nothing")).await;
    let eleven: Vec<Uuid> = (0..11).map(|_| Uuid::new_v4()).collect();

    let before = snapshot(&w.server).await;
    // Healthcare comes first each time, so its slot is taken and must be given back.
    let refused: Vec<(&str, Value, u16, Option<&str>)> = vec![
        (
            "a provider at capacity",
            json!({"provider_ids": [healthcare, social]}),
            409,
            None,
        ),
        (
            "an unavailable provider",
            json!({"provider_ids": [healthcare, police.user.id]}),
            409,
            None,
        ),
        (
            "a survivor",
            json!({"provider_ids": [healthcare, w.survivor.user.id]}),
            422,
            Some("provider_ids"),
        ),
        (
            "a dispatcher",
            json!({"provider_ids": [healthcare, w.dispatcher.user.id]}),
            422,
            Some("provider_ids"),
        ),
        (
            "nobody",
            json!({"provider_ids": [healthcare, Uuid::new_v4()]}),
            422,
            Some("provider_ids"),
        ),
        (
            "no provider",
            json!({"provider_ids": []}),
            422,
            Some("provider_ids"),
        ),
        (
            "eleven providers",
            json!({ "provider_ids": eleven }),
            422,
            Some("provider_ids"),
        ),
    ];
    for (what, body, status, field) in refused {
        let resp = w
            .server
            .post(
                &format!("/api/dispatch/cases/{}/assign/", incident.id),
                Some(&w.dispatcher.access),
                &body,
            )
            .await;
        assert_eq!(resp.status.as_u16(), status, "{what}: {}", resp.text);
        match field {
            Some(f) => {
                resp.expect_invalid(&[f]);
            }
            None => {
                resp.expect_error(409, ANY);
            }
        }
        assert_eq!(
            snapshot(&w.server).await,
            before,
            "{what} changed something"
        );
    }
    assert_eq!(load(&w.server, healthcare).await, 0);

    // A provider who already has the case makes the whole call fail too.
    w.assign(incident.id, &[healthcare]).await.expect(200);
    let legal = w.provider_id(ProviderType::Legal).await;
    let before = snapshot(&w.server).await;
    w.assign(incident.id, &[legal, healthcare])
        .await
        .expect_error(409, ANY);
    assert_eq!(snapshot(&w.server).await, before);
    assert_eq!(load(&w.server, legal).await, 0);

    // A finished case takes nobody, and an unknown case is not found.
    let doctor = w.login("healthcare").await;
    let done = w.case_in_progress(&doctor, "finished").await;
    w.set_status(&doctor, done.id, "completed")
        .await
        .expect(200);
    let before = snapshot(&w.server).await;
    w.assign(done.id, &[legal]).await.expect_error(409, ANY);
    w.assign(Uuid::new_v4(), &[legal])
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(snapshot(&w.server).await, before);
}

// ---------------------------------------------------------------------------------------------
// Providers answer
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn accepting_starts_the_case_and_tells_the_survivor_nothing_but_that() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let police = w.login("police").await;
    let secret = "My uncle, at the house in Kawangware.";
    let incident = w.file(&report(secret)).await;
    w.assign(incident.id, &[healthcare.user.id, legal.user.id])
        .await
        .expect(200);

    // Only a provider who was asked can answer.
    let before = snapshot(&w.server).await;
    w.accept(&police, incident.id)
        .await
        .expect_error(404, codes::NOT_FOUND);
    w.accept(&w.survivor, incident.id)
        .await
        .expect_error(403, ANY);
    w.accept(&w.dispatcher, incident.id)
        .await
        .expect_error(403, ANY);
    w.accept(&healthcare, Uuid::new_v4())
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(snapshot(&w.server).await, before);

    let resp = w.accept(&healthcare, incident.id).await;
    resp.expect(200);
    let view: CaseView = resp.json_as();
    assert_eq!(view.incident.status, IncidentStatus::InProgress);
    assert_eq!(view.assignment_status, Some(AssignmentStatus::Accepted));
    assert_eq!(
        load(&w.server, healthcare.user.id).await,
        1,
        "still one slot"
    );

    // Twice is a conflict, and changes nothing.
    let before = snapshot(&w.server).await;
    w.accept(&healthcare, incident.id)
        .await
        .expect_error(409, ANY);
    assert_eq!(snapshot(&w.server).await, before);

    // The survivor sees who helps: a name and a kind of help, nothing else.
    let resp = w
        .server
        .get(
            &format!("/api/incidents/{}/", incident.id),
            Some(&w.survivor.access),
        )
        .await;
    resp.expect(200);
    let seen: Incident = resp.json_as();
    assert_eq!(seen.status, IncidentStatus::InProgress);
    assert_eq!(
        seen.helpers,
        vec![CaseHelper {
            name: healthcare.user.full_name.clone(),
            provider_type: Some(ProviderType::Healthcare),
            provider_type_display: Some("Healthcare Provider".into()),
        }]
    );
    let raw = resp.json();
    let keys: Vec<&str> = raw["helpers"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["name", "provider_type", "provider_type_display"]);
    for private in [
        healthcare.user.email.clone(),
        healthcare.user.id.to_string(),
        legal.user.email.clone(),
        legal.user.id.to_string(),
    ] {
        assert!(!resp.text.contains(&private), "the survivor sees {private}");
    }
    // The list shows the same.
    let listed = w.server.incidents(&w.survivor.access).await;
    assert_eq!(listed[0].helpers, seen.helpers);

    // The second provider joins the case in progress.
    w.accept(&legal, incident.id).await.expect(200);
    let seen = w.survivor_view(incident.id).await;
    assert_eq!(seen.helpers.len(), 2);
    assert_eq!(
        moves(&w.server, incident.id).await,
        vec![
            mv(None, "pending_dispatcher_review"),
            mv(Some("pending_dispatcher_review"), "assigned"),
            mv(Some("assigned"), "in_progress"),
        ]
    );

    // The survivor is told twice, without a word about the case.
    let theirs = feed(&w.server, &w.survivor).await;
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    for n in &theirs {
        assert_eq!(n.notification_type, NotificationType::AssignmentAccepted);
        assert_eq!(n.incident, Some(incident.id));
        assert_discreet(n, &incident);
    }
    // Dispatchers learn who accepted.
    let dispatchers = feed(&w.server, &w.dispatcher).await;
    let accepted = of_type(&dispatchers, NotificationType::AssignmentAccepted);
    assert_eq!(accepted.len(), 2);
    assert!(accepted
        .iter()
        .any(|n| n.message.contains(&healthcare.user.full_name)));
    assert!(accepted.iter().all(|n| n.incident == Some(incident.id)));

    // Accepting opened one conversation with the survivor and both providers.
    let members: Vec<String> = sqlx::query(
        "SELECT p.user_id FROM conversation_participants p \
         JOIN conversations c ON c.id = p.conversation_id WHERE c.incident_id = $1 \
         ORDER BY p.user_id",
    )
    .bind(incident.id.to_string())
    .fetch_all(&w.server.running.state.db.read)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("user_id"))
    .collect();
    let mut want = vec![
        w.survivor.user.id.to_string(),
        healthcare.user.id.to_string(),
        legal.user.id.to_string(),
    ];
    want.sort();
    assert_eq!(members, want);
}

#[tokio::test]
async fn rejecting_with_a_reason_returns_the_case_to_the_queue() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let incident = w.file(&report("decline me")).await;
    w.assign(incident.id, &[healthcare.user.id])
        .await
        .expect(200);

    // A reason is required.
    let before = snapshot(&w.server).await;
    w.reject(&healthcare, incident.id, &json!({}))
        .await
        .expect_invalid(&["reason"]);
    w.reject(&healthcare, incident.id, &json!({"reason": "   "}))
        .await
        .expect_invalid(&["reason"]);
    w.reject(
        &healthcare,
        incident.id,
        &json!({"reason": "x".repeat(1001)}),
    )
    .await
    .expect_invalid(&["reason"]);
    assert_eq!(snapshot(&w.server).await, before);

    let resp = w
        .reject(
            &healthcare,
            incident.id,
            &json!({"reason": "  Outside my area.  "}),
        )
        .await;
    resp.expect(200);
    let view: CaseView = resp.json_as();
    assert_eq!(view.assignment_status, Some(AssignmentStatus::Rejected));
    assert_eq!(
        view.incident.status,
        IncidentStatus::PendingDispatcherReview
    );
    let case = w.case(incident.id).await;
    assert_eq!(
        case.incident.status,
        IncidentStatus::PendingDispatcherReview
    );
    let a = &case.assigned_providers[0];
    assert_eq!(a.status, AssignmentStatus::Rejected);
    assert_eq!(a.rejection_reason.as_deref(), Some("Outside my area."));
    assert!(a.responded_at.is_some());
    assert_eq!(
        load(&w.server, healthcare.user.id).await,
        0,
        "slot released"
    );
    assert_eq!(
        history(&w.server, incident.id).await[2..],
        [(
            Some("assigned".into()),
            "pending_dispatcher_review".into(),
            Some(healthcare.user.id),
            Some("declined by the provider".into())
        )]
    );
    let dispatchers = feed(&w.server, &w.dispatcher).await;
    let rejected = of_type(&dispatchers, NotificationType::AssignmentRejected);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].incident, Some(incident.id));
    assert_eq!(rejected[0].priority, Priority::High);
    assert!(rejected[0].message.contains(&healthcare.user.full_name));
    assert!(
        feed(&w.server, &w.survivor).await.is_empty(),
        "the survivor is not told of a refusal"
    );

    // Having declined, the provider can neither answer again nor see the case.
    let before = snapshot(&w.server).await;
    w.accept(&healthcare, incident.id)
        .await
        .expect_error(404, codes::NOT_FOUND);
    w.reject(&healthcare, incident.id, &json!({"reason": "again"}))
        .await
        .expect_error(404, codes::NOT_FOUND);
    w.server
        .get(
            &format!("/api/incidents/{}/", incident.id),
            Some(&healthcare.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(snapshot(&w.server).await, before);

    // With another provider still asked, a refusal leaves the case assigned.
    let two = w.file(&report("two asked")).await;
    w.assign(two.id, &[healthcare.user.id, legal.user.id])
        .await
        .expect(200);
    w.reject(&healthcare, two.id, &json!({"reason": "full week"}))
        .await
        .expect(200);
    assert_eq!(stored_status(&w.server, two.id).await, "assigned");
    assert_eq!(load(&w.server, healthcare.user.id).await, 0);
    assert_eq!(load(&w.server, legal.user.id).await, 1);
    // ... and in progress when another provider already accepted.
    w.accept(&legal, two.id).await.expect(200);
    w.assign(two.id, &[healthcare.user.id]).await.expect(200);
    w.reject(&healthcare, two.id, &json!({"reason": "still full"}))
        .await
        .expect(200);
    assert_eq!(stored_status(&w.server, two.id).await, "in_progress");

    // An urgent case declined by the rescue provider is an unassigned urgent case again.
    let rescue = w.login("gbv_rescue").await;
    let urgent = w.file(&with_urgency(report("urgent"), "urgent")).await;
    assert_eq!(urgent.status, IncidentStatus::Assigned);
    w.reject(&rescue, urgent.id, &json!({"reason": "no car tonight"}))
        .await
        .expect(200);
    assert_eq!(
        stored_status(&w.server, urgent.id).await,
        "pending_dispatcher_review"
    );
    assert_eq!(load(&w.server, rescue.user.id).await, 0);
    assert_eq!(w.dashboard().await.unassigned_urgent_cases, 1);
}

// ---------------------------------------------------------------------------------------------
// Status moves
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_accepted_provider_completes_and_closes_the_case() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let incident = w.file(&report("to the end")).await;
    w.assign(incident.id, &[healthcare.user.id, legal.user.id])
        .await
        .expect(200);
    w.accept(&healthcare, incident.id).await.expect(200);
    assert_eq!(load(&w.server, healthcare.user.id).await, 1);
    assert_eq!(load(&w.server, legal.user.id).await, 1);

    let resp = w
        .server
        .patch(
            &format!("/api/providers/cases/{}/status/", incident.id),
            Some(&healthcare.access),
            &json!({"status": "completed", "notes": "  Treated and referred.  "}),
        )
        .await;
    resp.expect(200);
    let view: CaseView = resp.json_as();
    assert_eq!(view.incident.status, IncidentStatus::Completed);
    // Completion frees every slot on the case; the unanswered offer is withdrawn.
    assert_eq!(load(&w.server, healthcare.user.id).await, 0);
    assert_eq!(load(&w.server, legal.user.id).await, 0);
    let case = w.case(incident.id).await;
    let legal_assignment = case
        .assigned_providers
        .iter()
        .find(|a| a.provider_id == legal.user.id)
        .unwrap();
    assert_eq!(legal_assignment.status, AssignmentStatus::Withdrawn);
    assert_eq!(
        history(&w.server, incident.id).await.last().unwrap(),
        &(
            Some("in_progress".into()),
            "completed".into(),
            Some(healthcare.user.id),
            Some("Treated and referred.".into())
        )
    );

    // Closing is the dispatcher's decision: the provider is refused and nothing changes.
    let before = snapshot(&w.server).await;
    w.set_status(&healthcare, incident.id, "closed")
        .await
        .expect_error(403, codes::ONLY_ROLES);
    assert_eq!(snapshot(&w.server).await, before);
    w.decide(incident.id, "close", "   ")
        .await
        .expect_invalid(&["reason"]);
    w.decide(
        incident.id,
        "close",
        "Survivor referred on; nothing left to do.",
    )
    .await
    .expect(200);
    assert_eq!(stored_status(&w.server, incident.id).await, "closed");
    assert_eq!(
        moves(&w.server, incident.id).await,
        vec![
            mv(None, "pending_dispatcher_review"),
            mv(Some("pending_dispatcher_review"), "assigned"),
            mv(Some("assigned"), "in_progress"),
            mv(Some("in_progress"), "completed"),
            mv(Some("completed"), "closed"),
        ]
    );
    assert_eq!(
        history(&w.server, incident.id).await.last().unwrap(),
        &(
            Some("completed".into()),
            "closed".into(),
            Some(w.dispatcher.user.id),
            Some("Survivor referred on; nothing left to do.".into())
        )
    );
    let survivor_view = w.survivor_view(incident.id).await;
    assert_eq!(survivor_view.status, IncidentStatus::Closed);
    assert_eq!(survivor_view.helpers.len(), 1, "who helped stays visible");

    // The survivor hears of each change, discreetly.
    let theirs = feed(&w.server, &w.survivor).await;
    let changed = of_type(&theirs, NotificationType::StatusChanged);
    assert_eq!(changed.len(), 2, "{theirs:?}");
    for n in changed {
        assert_eq!(n.incident, Some(incident.id));
        assert_discreet(n, &incident);
    }
    // The closed case's conversation is read-only.
    let active: i64 =
        sqlx::query_scalar("SELECT is_active FROM conversations WHERE incident_id = $1")
            .bind(incident.id.to_string())
            .fetch_one(&w.server.running.state.db.read)
            .await
            .unwrap();
    assert_eq!(active, 0);
}

#[tokio::test]
async fn a_provider_keeps_only_the_record_of_a_closed_case() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let incident = w
        .case_in_progress(&healthcare, "He hit her at the Gikomba stall.")
        .await;
    w.set_status(&healthcare, incident.id, "completed")
        .await
        .expect(200);
    let path = format!("/api/incidents/{}/", incident.id);
    let before: Incident = w
        .server
        .get(&path, Some(&healthcare.access))
        .await
        .json_as();
    assert!(before.description.contains("Gikomba"));
    w.decide(incident.id, "close", "Referred on")
        .await
        .expect(200);

    // The record: number, type, status, dates, timeline. Not what happened or where.
    let record: Incident = w
        .server
        .get(&path, Some(&healthcare.access))
        .await
        .json_as();
    assert_eq!(record.case_number, incident.case_number);
    assert_eq!(record.status, IncidentStatus::Closed);
    assert_eq!(record.description, "");
    assert_eq!(record.location, kintara_api::Location::default());
    let listed = w
        .server
        .get("/api/providers/assigned-cases/", Some(&healthcare.access))
        .await;
    listed.expect(200);
    assert!(!listed.text.contains("Gikomba"), "{}", listed.text);
    w.server
        .get(&format!("{path}timeline/"), Some(&healthcare.access))
        .await
        .expect(200);
    w.server
        .get(&format!("{path}evidence/"), Some(&healthcare.access))
        .await
        .expect_error(403, codes::CLOSED_CASE_RECORD);
    // The survivor and the dispatchers keep all of it.
    let hers: Incident = w
        .server
        .get(&path, Some(&w.survivor.access))
        .await
        .json_as();
    assert!(hers.description.contains("Gikomba"));
    assert!(w
        .case(incident.id)
        .await
        .incident
        .description
        .contains("Gikomba"));

    // Reopened by the dispatcher, the provider sees the case again.
    w.decide(incident.id, "reopen", "Follow-up visit pending")
        .await
        .expect(200);
    let again: Incident = w
        .server
        .get(&path, Some(&healthcare.access))
        .await
        .json_as();
    assert!(again.description.contains("Gikomba"));
}

#[tokio::test]
async fn an_offered_provider_sees_enough_to_decide_and_nothing_that_finds_her() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let mut body = report("He hit her at the Gikomba stall.");
    body["location"]["coordinates"] = json!({"latitude": -1.28333, "longitude": 36.81667});
    body["provider_preferences"] =
        json!({"communication_method": "sms", "preferred_gender": "female"});
    let incident = w.file(&body).await;
    w.assign(incident.id, &[healthcare.user.id])
        .await
        .expect(200);
    let path = format!("/api/incidents/{}/", incident.id);

    // Offered: the kind of case, its urgency and the help asked for, the area within about
    // 11 km, whom she would rather see. Not what she wrote, the address, the place, the time,
    // how to reach her, her name, her evidence.
    let offer: Incident = w
        .server
        .get(&path, Some(&healthcare.access))
        .await
        .json_as();
    assert_eq!(offer.disclosure, Disclosure::Offer);
    assert_eq!(offer.kind, incident.kind);
    assert_eq!(offer.urgency_level, incident.urgency_level);
    assert_eq!(offer.support_services, incident.support_services);
    assert_eq!(offer.description, "");
    assert_eq!(offer.location.address, "");
    assert_eq!(offer.location.description, None);
    assert_eq!(offer.incident_time, None);
    let area = offer.location.coordinates.expect("the area");
    assert!((area.latitude - -1.3).abs() < 1e-9, "{area:?}");
    assert!((area.longitude - 36.8).abs() < 1e-9, "{area:?}");
    let prefs = offer.provider_preferences.expect("her preferences");
    assert_eq!(prefs.communication_method, None);
    assert!(prefs.preferred_gender.is_some());
    let listed = w
        .server
        .get("/api/providers/assigned-cases/", Some(&healthcare.access))
        .await;
    listed.expect(200);
    for secret in [
        "Gikomba", "Kibera", "market", "21:30", "36.816", "sms", "Amina",
    ] {
        assert!(!listed.text.contains(secret), "{secret} in {}", listed.text);
    }
    let cases: Vec<CaseView> = listed.json_as();
    let mine = cases.iter().find(|c| c.incident.id == incident.id).unwrap();
    assert_eq!(mine.survivor_name, "");
    assert_eq!(mine.incident.disclosure, Disclosure::Offer);
    w.server
        .get(&format!("{path}evidence/"), Some(&healthcare.access))
        .await
        .expect_error(403, &kintara_api::Refusal::AcceptFirst {}.code());

    // Accepted: all of it.
    w.accept(&healthcare, incident.id).await.expect(200);
    let full: Incident = w
        .server
        .get(&path, Some(&healthcare.access))
        .await
        .json_as();
    assert_eq!(full.disclosure, Disclosure::Full);
    assert!(full.description.contains("Gikomba"));
    assert_eq!(full.location.address, "Kibera, Nairobi");
    assert_eq!(full.location.coordinates, body_coordinates(&body));
    assert!(full.incident_time.is_some());
    let cases: Vec<CaseView> = w
        .server
        .get("/api/providers/assigned-cases/", Some(&healthcare.access))
        .await
        .json_as();
    let mine = cases.iter().find(|c| c.incident.id == incident.id).unwrap();
    assert_ne!(mine.survivor_name, "");
    // The dispatcher saw everything all along.
    assert_eq!(
        w.case(incident.id).await.incident.disclosure,
        Disclosure::Full
    );
}

fn body_coordinates(body: &Value) -> Option<kintara_api::Coordinates> {
    serde_json::from_value(body["location"]["coordinates"].clone()).ok()
}

#[tokio::test]
async fn illegal_status_moves_are_refused_and_change_nothing() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let incident = w.case_in_progress(&healthcare, "step by step").await;
    let id = incident.id;

    let refuse = |from: &'static str, targets: &'static [&'static str]| {
        let w = &w;
        let healthcare = &healthcare;
        async move {
            for to in targets {
                let before = snapshot(&w.server).await;
                let resp = w.set_status(healthcare, id, to).await;
                assert_eq!(resp.status, 409, "{from} → {to}: {}", resp.text);
                resp.expect_error(409, ANY);
                assert_eq!(snapshot(&w.server).await, before, "{from} → {to}");
                assert_eq!(stored_status(&w.server, id).await, from);
            }
        }
    };
    refuse(
        "in_progress",
        &[
            "in_progress",
            "assigned",
            "pending_dispatcher_review",
            "new",
        ],
    )
    .await;
    w.set_status(&healthcare, incident.id, "bogus")
        .await
        .expect_invalid(&["status"]);
    w.set_status(&healthcare, incident.id, "completed")
        .await
        .expect(200);
    refuse(
        "completed",
        &["in_progress", "completed", "assigned", "new"],
    )
    .await;
    w.decide(incident.id, "close", "done").await.expect(200);
    refuse(
        "closed",
        &[
            "in_progress",
            "completed",
            "assigned",
            "pending_dispatcher_review",
        ],
    )
    .await;
    // Only the dispatcher reopens, to completed, with a reason.
    w.decide(
        incident.id,
        "reopen",
        "Closed by mistake: follow-up visit pending.",
    )
    .await
    .expect(200);
    assert_eq!(stored_status(&w.server, incident.id).await, "completed");
    w.decide(incident.id, "reopen", "again")
        .await
        .expect_error(409, ANY);

    // Only the provider who accepted moves a case: a pending one is told to accept first.
    let legal = w.login("legal").await;
    let pending = w.file(&report("pending")).await;
    w.assign(pending.id, &[legal.user.id]).await.expect(200);
    let before = snapshot(&w.server).await;
    for to in ["in_progress", "completed", "closed"] {
        w.set_status(&legal, pending.id, to)
            .await
            .expect_error(403, ANY);
        w.set_status(&healthcare, pending.id, to)
            .await
            .expect_error(404, codes::NOT_FOUND);
        w.set_status(&w.survivor, pending.id, to)
            .await
            .expect_error(403, ANY);
        w.set_status(&w.dispatcher, pending.id, to)
            .await
            .expect_error(403, ANY);
    }
    assert_eq!(snapshot(&w.server).await, before);
    // A case still in the queue cannot jump ahead either.
    let queued = w.file(&report("queued")).await;
    w.set_status(&legal, queued.id, "completed")
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(
        stored_status(&w.server, queued.id).await,
        "pending_dispatcher_review"
    );
}

// ---------------------------------------------------------------------------------------------
// Reassignment
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reassigning_withdraws_the_old_provider_and_offers_the_case_to_the_new_one() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let incident = w.file(&report("reassign me")).await;
    w.assign(incident.id, &[healthcare.user.id])
        .await
        .expect(200);

    let resp = w
        .reassign(
            incident.id,
            &json!({
                "from_provider_id": healthcare.user.id,
                "new_provider_id": legal.user.id,
                "reason": "  She needs legal aid first.  ",
            }),
        )
        .await;
    resp.expect(200);
    let view: CaseView = resp.json_as();
    assert_eq!(view.incident.status, IncidentStatus::Assigned);
    let by: BTreeMap<Uuid, _> = view
        .assigned_providers
        .iter()
        .map(|a| (a.provider_id, a))
        .collect();
    assert_eq!(by[&healthcare.user.id].status, AssignmentStatus::Withdrawn);
    assert_eq!(
        by[&healthcare.user.id].rejection_reason.as_deref(),
        Some("She needs legal aid first.")
    );
    assert_eq!(by[&legal.user.id].status, AssignmentStatus::Pending);
    assert_eq!(by[&legal.user.id].assigned_by, Some(w.dispatcher.user.id));
    assert_eq!(load(&w.server, healthcare.user.id).await, 0);
    assert_eq!(load(&w.server, legal.user.id).await, 1);
    assert_eq!(
        of_type(
            &feed(&w.server, &legal).await,
            NotificationType::CaseAssigned
        )
        .len(),
        1
    );
    // The old provider has lost the case.
    w.server
        .get(
            &format!("/api/incidents/{}/", incident.id),
            Some(&healthcare.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    w.accept(&healthcare, incident.id)
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(
        moves(&w.server, incident.id).await.len(),
        2,
        "still assigned"
    );
}

#[tokio::test]
async fn withdrawing_the_only_accepted_provider_sends_the_case_back_to_assigned() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let counseling = w.login("counseling").await;
    let incident = w.case_in_progress(&healthcare, "in progress").await;

    w.reassign(
        incident.id,
        &json!({"new_provider_id": counseling.user.id, "reason": "Provider on leave"}),
    )
    .await
    .expect(200);
    assert_eq!(stored_status(&w.server, incident.id).await, "assigned");
    assert_eq!(
        history(&w.server, incident.id).await.last().unwrap(),
        &(
            Some("in_progress".into()),
            "assigned".into(),
            Some(w.dispatcher.user.id),
            Some("Provider on leave".into())
        )
    );
    assert_eq!(load(&w.server, healthcare.user.id).await, 0);
    assert_eq!(load(&w.server, counseling.user.id).await, 1);
    assert!(
        w.survivor_view(incident.id).await.helpers.is_empty(),
        "a withdrawn provider is no longer shown as helping"
    );
    w.set_status(&healthcare, incident.id, "completed")
        .await
        .expect_error(404, codes::NOT_FOUND);

    // The new provider takes it up again.
    w.accept(&counseling, incident.id).await.expect(200);
    assert_eq!(stored_status(&w.server, incident.id).await, "in_progress");

    // Withdrawing a pending provider while another has accepted keeps the case in progress.
    let police = w.provider_id(ProviderType::Police).await;
    let legal = w.provider_id(ProviderType::Legal).await;
    w.assign(incident.id, &[legal]).await.expect(200);
    w.reassign(
        incident.id,
        &json!({"from_provider_id": legal, "new_provider_id": police, "reason": "police first"}),
    )
    .await
    .expect(200);
    assert_eq!(stored_status(&w.server, incident.id).await, "in_progress");
    assert_eq!(load(&w.server, legal).await, 0);
    assert_eq!(load(&w.server, police).await, 1);
}

#[tokio::test]
async fn refused_reassignments_change_nothing() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.provider_id(ProviderType::Legal).await;
    let social = w.provider_id(ProviderType::Social).await;
    let incident = w.file(&report("stay")).await;
    w.assign(incident.id, &[healthcare.user.id])
        .await
        .expect(200);
    set_max_load(&w.server, social, 0).await;
    let queued = w.file(&report("queued")).await;

    let before = snapshot(&w.server).await;
    let id = incident.id;
    let cases: Vec<(&str, Uuid, Value, u16, Option<&str>)> = vec![
        (
            "no reason",
            id,
            json!({"new_provider_id": legal}),
            422,
            Some("reason"),
        ),
        (
            "a blank reason",
            id,
            json!({"new_provider_id": legal, "reason": "  "}),
            422,
            Some("reason"),
        ),
        (
            "to the same provider",
            id,
            json!({"from_provider_id": healthcare.user.id, "new_provider_id": healthcare.user.id, "reason": "r"}),
            409,
            None,
        ),
        (
            "from a provider not on the case",
            id,
            json!({"from_provider_id": legal, "new_provider_id": social, "reason": "r"}),
            409,
            None,
        ),
        (
            "to a provider at capacity",
            id,
            json!({"new_provider_id": social, "reason": "r"}),
            409,
            None,
        ),
        (
            "to someone who is not a provider",
            id,
            json!({"new_provider_id": w.survivor.user.id, "reason": "r"}),
            422,
            Some("provider_ids"),
        ),
        (
            "a case nobody has",
            queued.id,
            json!({"new_provider_id": legal, "reason": "r"}),
            409,
            None,
        ),
        (
            "an unknown case",
            Uuid::new_v4(),
            json!({"new_provider_id": legal, "reason": "r"}),
            404,
            None,
        ),
    ];
    for (what, case, body, status, field) in cases {
        let resp = w.reassign(case, &body).await;
        assert_eq!(resp.status.as_u16(), status, "{what}: {}", resp.text);
        match (status, field) {
            (422, Some(f)) => {
                resp.expect_invalid(&[f]);
            }
            (409, _) => {
                resp.expect_error(409, ANY);
            }
            _ => {
                resp.expect_error(404, codes::NOT_FOUND);
            }
        }
        assert_eq!(
            snapshot(&w.server).await,
            before,
            "{what} changed something"
        );
    }
    assert_eq!(load(&w.server, healthcare.user.id).await, 1);

    // A completed case is not reassigned.
    w.accept(&healthcare, id).await.expect(200);
    w.set_status(&healthcare, id, "completed").await.expect(200);
    let before = snapshot(&w.server).await;
    w.reassign(id, &json!({"new_provider_id": legal, "reason": "r"}))
        .await
        .expect_error(409, ANY);
    assert_eq!(snapshot(&w.server).await, before);
}

// ---------------------------------------------------------------------------------------------
// The provider directory and suggestions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_provider_directory_filters_by_type_and_availability() {
    let w = World::new().await;
    let all = w.directory("").await;
    assert_eq!(all.len(), ProviderType::ALL.len());
    let types: Vec<ProviderType> = all.iter().map(|p| p.provider_type).collect();
    let mut sorted: Vec<ProviderType> = ProviderType::ALL.to_vec();
    sorted.sort_by_key(|t| t.as_str());
    assert_eq!(types, sorted, "ordered by type");
    for p in &all {
        assert!(p.profile.is_currently_available);
        assert_eq!(p.profile.current_case_load, 0);
        assert_eq!(p.profile.max_case_load, 10);
        assert_eq!(p.profile.average_response_time_minutes, 30);
        assert_eq!(p.profile.acceptance_rate, None);
        assert_eq!(p.provider_type_display, p.provider_type.label());
    }

    let healthcare = w.directory("?provider_type=healthcare").await;
    assert_eq!(healthcare.len(), 1);
    assert_eq!(healthcare[0].email, "healthcare@kintara.test");

    // A second clinic, off duty; and a lawyer at capacity.
    let off = w
        .server
        .register_provider("night.clinic@example.org", "healthcare")
        .await;
    w.server
        .patch(
            "/api/providers/availability/",
            Some(&off.access),
            &json!({"is_currently_available": false}),
        )
        .await
        .expect(200);
    let legal = w.provider_id(ProviderType::Legal).await;
    set_max_load(&w.server, legal, 0).await;

    let ids = |v: Vec<DirectoryProvider>| v.into_iter().map(|p| p.id).collect::<BTreeSet<_>>();
    let both = ids(w.directory("?provider_type=healthcare").await);
    assert_eq!(both.len(), 2);
    assert!(both.contains(&off.user.id));
    let on_duty = w
        .directory("?provider_type=healthcare&available_only=true")
        .await;
    assert_eq!(on_duty.len(), 1);
    assert_eq!(on_duty[0].email, "healthcare@kintara.test");
    let available = ids(w.directory("?available_only=true").await);
    assert_eq!(available.len(), ProviderType::ALL.len() - 1);
    assert!(!available.contains(&legal) && !available.contains(&off.user.id));
    assert_eq!(
        w.directory("?available_only=false").await.len(),
        ProviderType::ALL.len() + 1
    );
    assert!(w
        .directory("?provider_type=legal&available_only=1")
        .await
        .is_empty());

    for bad in [
        "?provider_type=plumber",
        "?available_only=maybe",
        "?provider_type=healthcare&provider_type=legal",
    ] {
        let field = if bad.contains("available") {
            "available_only"
        } else {
            "provider_type"
        };
        w.server
            .get(
                &format!("/api/dispatch/providers/{bad}"),
                Some(&w.dispatcher.access),
            )
            .await
            .expect_invalid(&[field]);
    }
}

#[tokio::test]
async fn suggestions_rank_the_providers_who_fit_the_case() {
    let w = World::new().await;
    let incident = w
        .file(&report_of(
            "He forced me; I need a doctor and a lawyer.",
            "sexual",
            &["medical", "legal"],
        ))
        .await;
    let path = format!("/api/dispatch/cases/{}/recommendations/", incident.id);
    let suggest = || async {
        let resp = w.server.get(&path, Some(&w.dispatcher.access)).await;
        resp.expect(200);
        resp.json_as::<Vec<ProviderSuggestion>>()
    };
    let ranked = suggest().await;
    let position = |list: &[ProviderSuggestion], t: ProviderType| {
        list.iter().position(|s| s.provider.provider_type == t)
    };
    let scores: Vec<f64> = ranked.iter().map(|s| s.score).collect();
    let mut by_score = scores.clone();
    by_score.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(scores, by_score, "best first");
    let top: BTreeSet<ProviderType> = ranked[..2]
        .iter()
        .map(|s| s.provider.provider_type)
        .collect();
    assert_eq!(
        top,
        BTreeSet::from([ProviderType::Healthcare, ProviderType::Legal]),
        "the requested services first: {ranked:?}"
    );
    let social = position(&ranked, ProviderType::Social);
    for t in [
        ProviderType::Healthcare,
        ProviderType::Legal,
        ProviderType::GbvRescue,
    ] {
        let at = position(&ranked, t).unwrap_or_else(|| panic!("{t} is suggested"));
        if let Some(social) = social {
            assert!(at < social, "{t} ranks above social services: {ranked:?}");
        }
    }
    assert!(ranked.iter().all(|s| !s.reasons.is_empty()));
    let healthcare = &ranked[position(&ranked, ProviderType::Healthcare).unwrap()];
    assert!(
        healthcare.reasons.iter().any(|r| matches!(
            r,
            kintara_api::SuggestionReason::GivesServices { services }
                if services.contains(&kintara_api::SupportService::Medical)
        )),
        "{healthcare:?}"
    );

    // Unavailable providers, and those already on the case, are not suggested.
    let doctor = w.login("healthcare").await;
    w.server
        .patch(
            "/api/providers/availability/",
            Some(&doctor.access),
            &json!({"is_currently_available": false}),
        )
        .await
        .expect(200);
    let legal = w.provider_id(ProviderType::Legal).await;
    w.assign(incident.id, &[legal]).await.expect(200);
    let ranked = suggest().await;
    assert_eq!(position(&ranked, ProviderType::Healthcare), None);
    assert_eq!(position(&ranked, ProviderType::Legal), None);
    assert_eq!(
        ranked[0].provider.provider_type,
        ProviderType::Chw,
        "the next who gives medical care: {ranked:?}"
    );

    // Only dispatchers ask, and only about real cases.
    w.server
        .get(&path, Some(&doctor.access))
        .await
        .expect_error(403, ANY);
    w.server
        .get(
            &format!("/api/dispatch/cases/{}/recommendations/", Uuid::new_v4()),
            Some(&w.dispatcher.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
}

#[tokio::test]
async fn answers_shape_a_providers_response_time_and_acceptance_rate() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let profile = || async {
        w.directory("?provider_type=healthcare")
            .await
            .into_iter()
            .find(|p| p.id == healthcare.user.id)
            .unwrap()
            .profile
    };
    w.case_in_progress(&healthcare, "accepted at once").await;
    let p = profile().await;
    // A moving average: (30 * 4 + 0) / 5.
    assert_eq!(p.average_response_time_minutes, 24);
    assert_eq!(p.acceptance_rate, Some(1.0));
    let declined = w.file(&report("declined at once")).await;
    w.assign(declined.id, &[healthcare.user.id])
        .await
        .expect(200);
    w.reject(&healthcare, declined.id, &json!({"reason": "no"}))
        .await
        .expect(200);
    let p = profile().await;
    assert_eq!(p.average_response_time_minutes, 19);
    assert_eq!(p.acceptance_rate, Some(0.5));
    assert_eq!(p.current_case_load, 1);
}

// ---------------------------------------------------------------------------------------------
// The dispatcher's case list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_dispatch_case_list_filters_by_status_urgency_type_and_assignment() {
    let w = World::new().await;
    let healthcare = w.provider_id(ProviderType::Healthcare).await;
    let r1 = w.file(&report("r1")).await;
    let r2 = w
        .file(&report_of("r2", "sexual", &["medical", "legal"]))
        .await;
    w.assign(r2.id, &[healthcare]).await.expect(200);
    let u1 = w.file(&with_urgency(report("u1"), "urgent")).await;

    let list = |query: &'static str| {
        let w = &w;
        async move {
            let resp = w
                .server
                .get(
                    &format!("/api/dispatch/cases/{query}"),
                    Some(&w.dispatcher.access),
                )
                .await;
            resp.expect(200);
            resp.json_as::<Vec<CaseView>>()
                .into_iter()
                .map(|c| c.incident.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, vec![u1.id, r2.id, r1.id], "newest first");
    assert_eq!(list("?status=assigned").await, vec![u1.id, r2.id]);
    assert_eq!(list("?urgency=urgent").await, vec![u1.id]);
    assert_eq!(list("?type=sexual").await, vec![r2.id]);
    assert_eq!(list("?assigned=true").await, vec![u1.id, r2.id]);
    assert_eq!(list("?assigned=false").await, vec![r1.id]);
    assert_eq!(
        list("?status=assigned&type=sexual&assigned=1").await,
        vec![r2.id]
    );
    assert!(list("?status=closed").await.is_empty());
    for (query, field) in [
        ("?status=bogus", "status"),
        ("?urgency=high", "urgency"),
        ("?type=verbal", "type"),
        ("?assigned=maybe", "assigned"),
    ] {
        w.server
            .get(
                &format!("/api/dispatch/cases/{query}"),
                Some(&w.dispatcher.access),
            )
            .await
            .expect_invalid(&[field]);
    }
}

/// SPEC: "Lists the existing app reads as bare arrays (incidents, assigned cases, dispatch
/// cases/providers) stay bare arrays unless `page` is given."
#[tokio::test]
async fn the_dispatch_case_list_is_a_page_when_page_is_given() {
    let w = World::new().await;
    for i in 0..3 {
        w.file(&report(&format!("case {i}"))).await;
    }
    let resp = w
        .server
        .get(
            "/api/dispatch/cases/?page=1&page_size=2",
            Some(&w.dispatcher.access),
        )
        .await;
    resp.expect(200);
    let body = resp.json();
    assert!(
        body.is_object(),
        "`page` was given, so the answer is {{count, next, previous, results}}: {body}"
    );
    assert_eq!(body["count"], json!(3));
    assert_eq!(body["results"].as_array().map(Vec::len), Some(2));
    assert!(
        body["next"].is_string() && body["previous"].is_null(),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------------
// The dashboard
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_dashboard_counts_exactly_what_happened() {
    let w = World::new().await;
    let empty = w.dashboard().await;
    assert_eq!(empty.total_cases, 0);
    assert_eq!(empty.total_providers, 7);
    assert_eq!(empty.available_providers, 7);
    assert_eq!(empty.average_response_time_minutes, None);

    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let counseling = w.login("counseling").await;
    let police = w.login("police").await;
    let rescue = w.login("gbv_rescue").await;
    let chw = w.provider_id(ProviderType::Chw).await;
    set_max_load(&w.server, chw, 1).await;

    // Pending, routine.
    w.file(&report("r1 waits")).await;
    // Assigned to healthcare and the community health worker (who is then full).
    let r2 = w.file(&report("r2 assigned")).await;
    w.assign(r2.id, &[healthcare.user.id, chw])
        .await
        .expect(200);
    // In progress with legal.
    w.case_in_progress(&legal, "r3 in progress").await;
    // Completed by counseling.
    let r4 = w.case_in_progress(&counseling, "r4 completed").await;
    w.set_status(&counseling, r4.id, "completed")
        .await
        .expect(200);
    // Completed by police, closed by the dispatcher.
    let r5 = w.case_in_progress(&police, "r5 closed").await;
    w.set_status(&police, r5.id, "completed").await.expect(200);
    w.decide(r5.id, "close", "done").await.expect(200);
    // Urgent, given to the rescue provider.
    let u1 = w.file(&with_urgency(report("u1"), "urgent")).await;
    assert_eq!(u1.status, IncidentStatus::Assigned);
    // The rescue provider goes off duty: the next urgent and immediate ones wait.
    w.server
        .patch(
            "/api/providers/availability/",
            Some(&rescue.access),
            &json!({"is_currently_available": false}),
        )
        .await
        .expect(200);
    w.file(&with_urgency(report("u2 waits"), "urgent")).await;
    w.file(&with_urgency(report("i1 waits"), "immediate")).await;
    // A withdrawn report counts nowhere.
    let gone = w.file(&report("withdrawn")).await;
    w.server
        .delete(
            &format!("/api/incidents/{}/", gone.id),
            Some(&w.survivor.access),
        )
        .await
        .expect(204);

    let stats = w.dashboard().await;
    let average = stats.average_response_time_minutes;
    assert!(
        average.is_some_and(|m| (0.0..1.0).contains(&m)),
        "three answers, all within seconds: {average:?}"
    );
    assert_eq!(
        stats,
        DashboardStats {
            total_cases: 8,
            active_cases: 3,
            pending_dispatcher_review: 3,
            unassigned_urgent_cases: 2,
            total_providers: 7,
            // Off duty: rescue; full: the community health worker.
            available_providers: 5,
            providers_at_capacity: 1,
            average_response_time_minutes: average,
            cases_completed_today: 2,
            cases_created_today: 8,
            cases_by_status: CasesByStatus {
                new: 0,
                pending_dispatcher_review: 3,
                assigned: 2,
                in_progress: 1,
                completed: 1,
                closed: 1,
            },
            cases_by_urgency: CasesByUrgency {
                routine: 5,
                urgent: 2,
                immediate: 1,
            },
        }
    );

    // Only dispatchers see it.
    for who in [&w.survivor, &healthcare] {
        w.server
            .get("/api/dispatch/dashboard/", Some(&who.access))
            .await
            .expect_error(403, ANY);
    }
}

// ---------------------------------------------------------------------------------------------
// The race for a provider's last slot
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_racing_for_a_providers_last_slot_cannot_both_win() {
    let w = World::new().await;
    let second = w
        .server
        .register_dispatcher("night.dispatcher@example.org")
        .await;
    let provider = w.provider_id(ProviderType::Healthcare).await;
    for round in 0..10 {
        let a = w.file(&report(&format!("race {round} a"))).await;
        let b = w.file(&report(&format!("race {round} b"))).await;
        let current = load(&w.server, provider).await;
        set_max_load(&w.server, provider, current + 1).await;
        let notified_before = of_type_count(&w.server, provider, "case_assigned").await;

        let only = [provider];
        let (ra, rb) = tokio::join!(
            w.assign_as(&w.dispatcher, a.id, &only),
            w.assign_as(&second, b.id, &only),
        );
        let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409],
            "round {round}: {} / {}",
            ra.text,
            rb.text
        );
        let (winner, loser, lost) = if ra.status == 200 {
            (a.id, b.id, &rb)
        } else {
            (b.id, a.id, &ra)
        };
        lost.expect_error(409, ANY);
        assert_eq!(
            load(&w.server, provider).await,
            current + 1,
            "round {round}: exactly at the maximum, never above"
        );
        assert_eq!(stored_status(&w.server, winner).await, "assigned");
        assert_eq!(
            stored_status(&w.server, loser).await,
            "pending_dispatcher_review"
        );
        assert!(w.case(loser).await.assigned_providers.is_empty());
        assert_eq!(
            of_type_count(&w.server, provider, "case_assigned").await,
            notified_before + 1,
            "round {round}: only the winner's assignment is announced"
        );
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_assignments WHERE provider_id = $1 AND status = 'pending'",
    )
    .bind(provider.to_string())
    .fetch_one(&w.server.running.state.db.read)
    .await
    .unwrap();
    assert_eq!(live, 10);
    assert_eq!(load(&w.server, provider).await, 10);
}

async fn of_type_count(server: &TestServer, recipient: Uuid, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE recipient_id = $1 AND notification_type = $2",
    )
    .bind(recipient.to_string())
    .bind(kind)
    .fetch_one(&server.running.state.db.read)
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Withdrawn reports and withdrawn providers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_withdrawn_report_gives_its_providers_their_slots_back() {
    let w = World::new().await;
    let rescue = w.provider_id(ProviderType::GbvRescue).await;
    let healthcare = w.login("healthcare").await;
    let urgent = w.file(&with_urgency(report("urgent"), "urgent")).await;
    let accepted = w.case_in_progress(&healthcare, "accepted").await;
    assert_eq!(load(&w.server, rescue).await, 1);
    assert_eq!(load(&w.server, healthcare.user.id).await, 1);

    for id in [urgent.id, accepted.id] {
        w.server
            .delete(&format!("/api/incidents/{id}/"), Some(&w.survivor.access))
            .await
            .expect(204);
    }
    // The providers cannot even see those cases any more, so nobody could ever release
    // these slots if withdrawing the report did not.
    w.reject(&healthcare, accepted.id, &json!({"reason": "gone"}))
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(
        load(&w.server, rescue).await,
        0,
        "the rescue provider's slot is still taken by a withdrawn report"
    );
    assert_eq!(
        load(&w.server, healthcare.user.id).await,
        0,
        "the clinic's slot is still taken by a withdrawn report"
    );
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_assignments WHERE status IN ('pending', 'accepted')",
    )
    .fetch_one(&w.server.running.state.db.read)
    .await
    .unwrap();
    assert_eq!(live, 0, "no live assignment on a withdrawn report");
}

#[tokio::test]
async fn withdrawing_a_finished_report_does_not_free_a_slot_twice() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    // A finished case: completing it already gave the slot back.
    let finished = w.case_in_progress(&healthcare, "finished").await;
    w.set_status(&healthcare, finished.id, "completed")
        .await
        .expect(200);
    let closed = w.case_in_progress(&healthcare, "closed").await;
    w.set_status(&healthcare, closed.id, "completed")
        .await
        .expect(200);
    w.decide(closed.id, "close", "done").await.expect(200);
    // The case the provider works on now holds the one slot they use.
    w.case_in_progress(&healthcare, "current").await;
    assert_eq!(load(&w.server, healthcare.user.id).await, 1);

    for id in [finished.id, closed.id] {
        w.server
            .delete(&format!("/api/incidents/{id}/"), Some(&w.survivor.access))
            .await
            .expect(204);
        assert_eq!(
            load(&w.server, healthcare.user.id).await,
            1,
            "withdrawing a finished report released the provider's slot a second time"
        );
    }
    // With a maximum of one, the provider must still count as full.
    set_max_load(&w.server, healthcare.user.id, 1).await;
    let next = w.file(&report("one too many")).await;
    w.assign(next.id, &[healthcare.user.id])
        .await
        .expect_error(409, ANY);
}

#[tokio::test]
async fn a_provider_taken_off_a_case_no_longer_reads_it() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.provider_id(ProviderType::Legal).await;
    let secret = "Taken off: the address is 14 Riverside Lane.";
    let incident = w.case_in_progress(&healthcare, secret).await;
    w.reassign(
        incident.id,
        &json!({"from_provider_id": healthcare.user.id, "new_provider_id": legal,
                "reason": "complaint about the provider"}),
    )
    .await
    .expect(200);
    // The survivor adds something after the provider was taken off.
    let later = "Added later: he moved to Kisumu.";
    w.server
        .patch(
            &format!("/api/incidents/{}/", incident.id),
            Some(&w.survivor.access),
            &json!({ "description": later }),
        )
        .await
        .expect(200);

    w.server
        .get(
            &format!("/api/incidents/{}/", incident.id),
            Some(&healthcare.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    let listed = w
        .server
        .get("/api/providers/assigned-cases/", Some(&healthcare.access))
        .await;
    listed.expect(200);
    assert_eq!(listed.json(), json!([]));
    // The same case must not come back through the list's status filter.
    let withdrawn = w
        .server
        .get(
            "/api/providers/assigned-cases/?status=withdrawn",
            Some(&healthcare.access),
        )
        .await;
    for text in [later, incident.case_number.as_str()] {
        assert!(
            !withdrawn.text.contains(text),
            "a provider taken off the case still reads it ({}): {}",
            withdrawn.status,
            withdrawn.text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The notification feed
// ---------------------------------------------------------------------------------------------

/// The case values in a staff notification's params.
fn case_params(incident: &Incident) -> NotificationParams {
    NotificationParams {
        case_number: Some(incident.case_number.clone()),
        incident_type: Some(incident.kind),
        urgency: Some(incident.urgency_level),
        ..Default::default()
    }
}

#[tokio::test]
async fn staff_notifications_carry_their_values_and_survivors_carry_none() {
    let w = World::new().await;
    let rescue = w.login("gbv_rescue").await;
    let healthcare = w.login("healthcare").await;

    // A routine report waits for triage; an urgent anonymous one goes to the rescue provider.
    let routine = w.file(&report("routine one")).await;
    let mut body = with_urgency(report("urgent one"), "urgent");
    body["is_anonymous"] = json!(true);
    let urgent = w.file(&body).await;
    let created = feed(&w.server, &w.dispatcher).await;
    let params_of = |id: Uuid| {
        created
            .iter()
            .find(|n| n.incident == Some(id))
            .expect("a new-report notification")
            .params
            .clone()
    };
    assert_eq!(
        params_of(routine.id),
        NotificationParams {
            status: Some(IncidentStatus::PendingDispatcherReview),
            ..case_params(&routine)
        }
    );
    assert_eq!(
        params_of(urgent.id),
        NotificationParams {
            status: Some(IncidentStatus::Assigned),
            ..case_params(&urgent)
        }
    );
    let offered = feed(&w.server, &rescue).await;
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(offered[0].notification_type, NotificationType::CaseAssigned);
    assert_eq!(offered[0].params, case_params(&urgent));

    // The rescue provider declines; healthcare is asked and accepts.
    w.reject(&rescue, urgent.id, &json!({"reason": "No team free."}))
        .await
        .expect(200);
    w.assign(urgent.id, &[healthcare.user.id]).await.expect(200);
    w.accept(&healthcare, urgent.id).await.expect(200);
    let staff = feed(&w.server, &w.dispatcher).await;
    let answer = |kind| of_type(&staff, kind)[0].params.clone();
    assert_eq!(
        answer(NotificationType::AssignmentRejected),
        NotificationParams {
            case_number: Some(urgent.case_number.clone()),
            provider_name: Some(rescue.user.full_name.clone()),
            ..Default::default()
        }
    );
    assert_eq!(
        answer(NotificationType::AssignmentAccepted),
        NotificationParams {
            case_number: Some(urgent.case_number.clone()),
            provider_name: Some(healthcare.user.full_name.clone()),
            ..Default::default()
        }
    );

    // Messages both ways, each while the other is not reading the room.
    let rooms = w
        .server
        .get("/api/chat/rooms/", Some(&w.survivor.access))
        .await;
    rooms.expect(200);
    let room = rooms
        .json_as::<kintara_api::ChatRoomList>()
        .results
        .into_iter()
        .find(|r| r.incident == Some(urgent.id))
        .expect("the case room")
        .id;
    let send = |who: &Account, content: &'static str| {
        let body = json!({"room": room, "content": content});
        let token = who.access.clone();
        let server = &w.server;
        async move {
            server
                .post("/api/chat/messages/", Some(&token), &body)
                .await
                .expect(201);
        }
    };
    let away = async || {
        let old = kintara_server::db::ts(chrono::Utc::now() - chrono::Duration::seconds(31));
        w.server
            .exec(
                "UPDATE conversation_participants SET reading_at = $1",
                &[&old],
            )
            .await;
    };
    send(&healthcare, "the clinic opens at 9").await;
    away().await;
    send(&w.survivor, "thank you").await;
    let theirs = of_type(
        &feed(&w.server, &healthcare).await,
        NotificationType::NewMessage,
    )
    .into_iter()
    .cloned()
    .collect::<Vec<_>>();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(
        theirs[0].params,
        NotificationParams {
            sender_name: Some("Anonymous".into()),
            ..Default::default()
        },
        "she reported anonymously"
    );

    // The case moves on.
    w.set_status(&healthcare, urgent.id, "completed")
        .await
        .expect(200);

    // Every kind she received, and none of them says anything of the case.
    let hers = feed(&w.server, &w.survivor).await;
    let kinds: BTreeSet<NotificationType> = hers.iter().map(|n| n.notification_type).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            NotificationType::AssignmentAccepted,
            NotificationType::StatusChanged,
            NotificationType::NewMessage,
        ])
    );
    for n in &hers {
        assert!(n.params.is_empty(), "a survivor's params: {n:?}");
    }
    let raw = w
        .server
        .get(
            "/api/notifications/?page_size=100",
            Some(&w.survivor.access),
        )
        .await;
    for n in raw.json()["results"].as_array().expect("results") {
        assert_eq!(n["params"], json!({}), "{n}");
    }
    let stored: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM notifications WHERE recipient_id = $1 AND params IS NOT NULL",
    )
    .bind(w.survivor.user.id.to_string())
    .fetch_one(&w.server.running.state.db.read)
    .await
    .expect("count")
    .get("n");
    assert_eq!(stored, 0, "nothing of her case is stored in params either");
}

/// Rows stored before `params` existed (NULL) read back as empty params.
#[tokio::test]
async fn notifications_stored_without_params_read_as_empty() {
    let w = World::new().await;
    let incident = w.file(&report("old row")).await;
    w.server
        .exec("UPDATE notifications SET params = NULL", &[])
        .await;
    let mine = feed(&w.server, &w.dispatcher).await;
    assert_eq!(mine.len(), 1);
    assert!(mine[0].params.is_empty(), "{:?}", mine[0]);
    assert!(mine[0].subject.contains(&incident.case_number));
}

#[tokio::test]
async fn the_feed_pages_newest_first_with_next_and_previous_links() {
    let w = World::new().await;
    let mut filed = Vec::new();
    for i in 0..5 {
        filed.push(w.file(&report(&format!("report {i}"))).await.id);
    }
    let newest_first: Vec<Uuid> = filed.iter().rev().copied().collect();

    let all = feed_page(&w.server, &w.dispatcher, "").await;
    assert_eq!(all.count, 5);
    assert_eq!((all.next.as_deref(), all.previous.as_deref()), (None, None));
    let order: Vec<Uuid> = all.results.iter().map(|n| n.incident.unwrap()).collect();
    assert_eq!(order, newest_first);

    let p1 = feed_page(&w.server, &w.dispatcher, "?page_size=2").await;
    assert_eq!(p1.count, 5);
    assert_eq!(p1.results.len(), 2);
    assert_eq!(
        p1.next.as_deref(),
        Some("/api/notifications/?page=2&page_size=2")
    );
    assert_eq!(p1.previous, None);
    // The links are relative URLs the client follows as they are.
    let p2: NotificationPage = w
        .server
        .get(p1.next.as_deref().unwrap(), Some(&w.dispatcher.access))
        .await
        .json_as();
    assert_eq!(p2.count, 5);
    assert_eq!(
        p2.next.as_deref(),
        Some("/api/notifications/?page=3&page_size=2")
    );
    assert_eq!(
        p2.previous.as_deref(),
        Some("/api/notifications/?page=1&page_size=2")
    );
    let p3: NotificationPage = w
        .server
        .get(p2.next.as_deref().unwrap(), Some(&w.dispatcher.access))
        .await
        .json_as();
    assert_eq!(p3.results.len(), 1);
    assert_eq!(p3.next, None);
    assert_eq!(
        p3.previous.as_deref(),
        Some("/api/notifications/?page=2&page_size=2")
    );
    let paged: Vec<Uuid> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.results.iter().map(|n| n.incident.unwrap()))
        .collect();
    assert_eq!(paged, newest_first, "every one once, in order");
    let back: NotificationPage = w
        .server
        .get(p3.previous.as_deref().unwrap(), Some(&w.dispatcher.access))
        .await
        .json_as();
    assert_eq!(back, p2);

    // Past the end: nothing, and the way back to the last page.
    let beyond = feed_page(&w.server, &w.dispatcher, "?page=9&page_size=2").await;
    assert_eq!(beyond.count, 5);
    assert!(beyond.results.is_empty());
    assert_eq!(beyond.next, None);
    assert_eq!(
        beyond.previous.as_deref(),
        Some("/api/notifications/?page=3&page_size=2")
    );

    // Filters are carried in the links.
    let typed = feed_page(
        &w.server,
        &w.dispatcher,
        "?notification_type=incident_created&page_size=3",
    )
    .await;
    assert_eq!(typed.count, 5);
    assert_eq!(
        typed.next.as_deref(),
        Some("/api/notifications/?page=2&page_size=3&notification_type=incident_created")
    );
    let none = feed_page(
        &w.server,
        &w.dispatcher,
        "?notification_type=assignment_accepted",
    )
    .await;
    assert_eq!((none.count, none.results.len()), (0, 0));
    let about = feed_page(&w.server, &w.dispatcher, &format!("?incident={}", filed[2])).await;
    assert_eq!(about.count, 1);
    assert_eq!(about.results[0].incident, Some(filed[2]));

    // Read state.
    let one = &all.results[1];
    w.server
        .post(
            &format!("/api/notifications/{}/mark_as_read/", one.id),
            Some(&w.dispatcher.access),
            &json!({}),
        )
        .await
        .expect(200);
    let read = feed_page(&w.server, &w.dispatcher, "?is_read=true").await;
    assert_eq!(read.count, 1);
    assert_eq!(read.results[0].id, one.id);
    assert!(read.results[0].is_read && read.results[0].read_at.is_some());
    let unread = feed_page(&w.server, &w.dispatcher, "?is_read=false&page_size=3").await;
    assert_eq!(unread.count, 4);
    assert!(unread.results.iter().all(|n| !n.is_read));
    assert_eq!(
        unread.next.as_deref(),
        Some("/api/notifications/?page=2&page_size=3&is_read=false")
    );
    let combined = feed_page(
        &w.server,
        &w.dispatcher,
        &format!(
            "?is_read=true&notification_type=incident_created&incident={}",
            one.incident.unwrap()
        ),
    )
    .await;
    assert_eq!(combined.count, 1);
    let mismatched = feed_page(
        &w.server,
        &w.dispatcher,
        &format!("?is_read=true&incident={}", filed[0]),
    )
    .await;
    assert_eq!(mismatched.count, 0);

    // Each user has their own feed.
    assert_eq!(feed_page(&w.server, &w.survivor, "").await.count, 0);
}

#[tokio::test]
async fn unread_lists_and_counts_by_type() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let first = w.case_in_progress(&healthcare, "first").await;
    let second = w.file(&report("second")).await;
    w.assign(second.id, &[legal.user.id]).await.expect(200);
    w.reject(&legal, second.id, &json!({"reason": "no"}))
        .await
        .expect(200);
    w.file(&report("third")).await;

    let counts = unread_count(&w.server, &w.dispatcher).await;
    assert_eq!(
        counts,
        UnreadCount {
            count: 5,
            by_type: BTreeMap::from([
                ("assignment_accepted".into(), 1),
                ("assignment_rejected".into(), 1),
                ("incident_created".into(), 3),
            ]),
        }
    );
    let unread = w
        .server
        .get("/api/notifications/unread/", Some(&w.dispatcher.access))
        .await;
    unread.expect(200);
    let unread: NotificationPage = unread.json_as();
    assert_eq!(unread.count, 5);
    assert!(unread.results.iter().all(|n| !n.is_read));
    let typed: NotificationPage = w
        .server
        .get(
            "/api/notifications/unread/?notification_type=incident_created&page_size=2",
            Some(&w.dispatcher.access),
        )
        .await
        .json_as();
    assert_eq!(typed.count, 3);
    assert_eq!(typed.results.len(), 2);
    assert!(typed.next.is_some());

    let accepted = unread
        .results
        .iter()
        .find(|n| n.notification_type == NotificationType::AssignmentAccepted)
        .unwrap();
    assert_eq!(accepted.incident, Some(first.id));
    w.server
        .post(
            &format!("/api/notifications/{}/mark_as_read/", accepted.id),
            Some(&w.dispatcher.access),
            &json!({}),
        )
        .await
        .expect(200);
    let counts = unread_count(&w.server, &w.dispatcher).await;
    assert_eq!(counts.count, 4);
    assert_eq!(counts.by_type.get("assignment_accepted"), None);
    let unread: NotificationPage = w
        .server
        .get("/api/notifications/unread/", Some(&w.dispatcher.access))
        .await
        .json_as();
    assert_eq!(unread.count, 4);
    assert!(unread.results.iter().all(|n| n.id != accepted.id));

    // The survivor's bell and the providers' are their own.
    assert_eq!(
        unread_count(&w.server, &w.survivor).await,
        UnreadCount {
            count: 1,
            by_type: BTreeMap::from([("assignment_accepted".into(), 1)]),
        }
    );
    assert_eq!(
        unread_count(&w.server, &legal).await.by_type["case_assigned"],
        1
    );
}

#[tokio::test]
async fn only_its_recipient_marks_a_notification_read() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    w.file(&report("mark me")).await;
    let theirs = feed(&w.server, &w.dispatcher).await;
    let n = &theirs[0];
    let path = format!("/api/notifications/{}/mark_as_read/", n.id);

    let not_found = w
        .server
        .post(
            &format!("/api/notifications/{}/mark_as_read/", Uuid::new_v4()),
            Some(&healthcare.access),
            &json!({}),
        )
        .await;
    not_found.expect_error(404, codes::NOT_FOUND);
    for who in [&healthcare, &w.survivor] {
        let resp = w.server.post(&path, Some(&who.access), &json!({})).await;
        resp.expect_error(404, codes::NOT_FOUND);
        assert_eq!(resp.text, not_found.text, "not yours looks like not there");
    }
    w.server
        .post(&path, None, &json!({}))
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
    w.server
        .post(
            "/api/notifications/not-an-id/mark_as_read/",
            Some(&w.dispatcher.access),
            &json!({}),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    let still = feed(&w.server, &w.dispatcher).await;
    assert!(!still[0].is_read, "still unread for its owner");
    assert_eq!(unread_count(&w.server, &w.dispatcher).await.count, 1);

    let resp = w
        .server
        .post(&path, Some(&w.dispatcher.access), &json!({}))
        .await;
    resp.expect(200);
    let marked: MarkedOne = resp.json_as();
    assert_eq!(marked.notification.id, n.id);
    assert!(marked.notification.is_read);
    let read_at = marked.notification.read_at.expect("read_at");
    // Again: still read, and still read at the first time.
    let again: MarkedOne = w
        .server
        .post(&path, Some(&w.dispatcher.access), &json!({}))
        .await
        .json_as();
    assert_eq!(again.notification.read_at, Some(read_at));
    assert_eq!(unread_count(&w.server, &w.dispatcher).await.count, 0);
}

#[tokio::test]
async fn mark_all_as_read_honours_its_filters() {
    let w = World::new().await;
    let healthcare = w.login("healthcare").await;
    let legal = w.login("legal").await;
    let i1 = w.case_in_progress(&healthcare, "i1").await;
    let i2 = w.file(&report("i2")).await;
    w.assign(i2.id, &[legal.user.id]).await.expect(200);
    w.reject(&legal, i2.id, &json!({"reason": "no"}))
        .await
        .expect(200);
    let i3 = w.file(&report("i3")).await;
    assert_eq!(unread_count(&w.server, &w.dispatcher).await.count, 5);

    let mark_all = |query: String| {
        let w = &w;
        async move {
            let resp = w
                .server
                .post(
                    &format!("/api/notifications/mark_all_as_read/{query}"),
                    Some(&w.dispatcher.access),
                    &json!({}),
                )
                .await;
            resp.expect(200);
            resp.json_as::<MarkedAll>().count
        }
    };
    assert_eq!(
        mark_all("?notification_type=assignment_rejected".into()).await,
        1
    );
    let counts = unread_count(&w.server, &w.dispatcher).await;
    assert_eq!(counts.count, 4);
    assert!(!counts.by_type.contains_key("assignment_rejected"));

    // Both of the first case's: its report and its acceptance.
    assert_eq!(mark_all(format!("?incident={}", i1.id)).await, 2);
    assert_eq!(
        mark_all(format!(
            "?notification_type=incident_created&incident={}",
            i3.id
        ))
        .await,
        1
    );
    assert_eq!(unread_count(&w.server, &w.dispatcher).await.count, 1);
    let left = feed_page(&w.server, &w.dispatcher, "?is_read=false").await;
    assert_eq!(left.results[0].incident, Some(i2.id));
    assert_eq!(
        left.results[0].notification_type,
        NotificationType::IncidentCreated
    );

    // A bad filter marks nothing.
    for bad in [
        "?notification_type=everything",
        "?incident=12",
        "?is_read=yes",
    ] {
        w.server
            .post(
                &format!("/api/notifications/mark_all_as_read/{bad}"),
                Some(&w.dispatcher.access),
                &json!({}),
            )
            .await
            .expect(422);
    }
    assert_eq!(unread_count(&w.server, &w.dispatcher).await.count, 1);

    assert_eq!(mark_all(String::new()).await, 1);
    assert_eq!(mark_all(String::new()).await, 0);
    assert_eq!(unread_count(&w.server, &w.dispatcher).await.count, 0);
    // Nobody else's notifications were touched.
    assert_eq!(unread_count(&w.server, &w.survivor).await.count, 1);
    assert_eq!(unread_count(&w.server, &healthcare).await.count, 1);
    assert_eq!(unread_count(&w.server, &legal).await.count, 1);
}

#[tokio::test]
async fn bad_feed_filters_are_422_naming_the_parameter() {
    let w = World::new().await;
    w.file(&report("one")).await;
    let cases = [
        ("is_read=maybe", "is_read"),
        ("is_read=TRUE", "is_read"),
        ("notification_type=bogus", "notification_type"),
        ("notification_type=INCIDENT_CREATED", "notification_type"),
        ("incident=12", "incident"),
        ("incident=KIN-20260101-001", "incident"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=1.5", "page_size"),
        ("page=1&page=2", "page"),
    ];
    for path in ["/api/notifications/", "/api/notifications/unread/"] {
        for (query, field) in cases {
            let resp = w
                .server
                .get(&format!("{path}?{query}"), Some(&w.dispatcher.access))
                .await;
            assert_eq!(resp.status, 422, "{path}?{query}: {}", resp.text);
            resp.expect_invalid(&[field]);
        }
    }
    // The largest page is fine.
    feed_page(&w.server, &w.dispatcher, "?page_size=100&page=1").await;
}

#[tokio::test]
async fn preferences_choose_the_channels_of_new_notifications() {
    let w = World::new().await;
    w.file(&report("before")).await;

    let defaults: NotificationPreferences = w
        .server
        .get(
            "/api/notifications/preferences/",
            Some(&w.dispatcher.access),
        )
        .await
        .json_as();
    let types: Vec<NotificationType> = defaults
        .preferences
        .iter()
        .map(|p| p.notification_type)
        .collect();
    // Every type but the test, which is asked for, not chosen.
    let chosen: Vec<NotificationType> = NotificationType::ALL
        .iter()
        .copied()
        .filter(|k| *k != NotificationType::Test)
        .collect();
    assert_eq!(types, chosen);
    for p in &defaults.preferences {
        assert_eq!(p.channels, [Channel::Websocket, Channel::Push], "{p:?}");
    }

    let resp = w
        .server
        .put(
            "/api/notifications/preferences/",
            Some(&w.dispatcher.access),
            &json!({"preferences": [
                {"notification_type": "incident_created", "channels": ["whatsapp", "email", "email"]},
                {"notification_type": "assignment_rejected", "channels": []},
            ]}),
        )
        .await;
    resp.expect(200);
    let now: NotificationPreferences = resp.json_as();
    for p in &now.preferences {
        let want: &[Channel] = match p.notification_type {
            NotificationType::IncidentCreated => &[Channel::Email, Channel::Whatsapp],
            NotificationType::AssignmentRejected => &[],
            _ => &[Channel::Websocket, Channel::Push],
        };
        assert_eq!(p.channels, want, "{:?}", p.notification_type);
    }
    let stored: NotificationPreferences = w
        .server
        .get(
            "/api/notifications/preferences/",
            Some(&w.dispatcher.access),
        )
        .await
        .json_as();
    assert_eq!(stored, now);
    // Someone else's are untouched.
    let survivors: NotificationPreferences = w
        .server
        .get("/api/notifications/preferences/", Some(&w.survivor.access))
        .await
        .json_as();
    assert_eq!(survivors, defaults);

    let incident = w.file(&report("after")).await;
    let theirs = feed(&w.server, &w.dispatcher).await;
    let new = theirs
        .iter()
        .find(|n| n.incident == Some(incident.id))
        .unwrap();
    // Chosen but not carried by this server: skipped as `not_configured`; not chosen: skipped
    // without a reason.
    let states: BTreeMap<&str, (&str, Option<&str>)> = new
        .channels
        .iter()
        .map(|(c, d)| (c.as_str(), (d.state.as_str(), d.last_error.as_deref())))
        .collect();
    assert_eq!(
        states,
        BTreeMap::from([
            ("email", ("skipped", Some("not_configured"))),
            ("push", ("skipped", None)),
            ("websocket", ("skipped", None)),
            ("whatsapp", ("skipped", Some("not_configured"))),
        ])
    );
    // Earlier notifications keep the channels they were made with.
    let old = theirs.iter().find(|n| n.id != new.id).unwrap();
    assert_eq!(old.channels["websocket"].state.as_str(), "pending");
    assert_eq!(old.channels["email"].state.as_str(), "skipped");

    // Invalid choices change nothing.
    for bad in [
        json!({"preferences": [{"notification_type": "bogus", "channels": []}]}),
        json!({"preferences": [{"notification_type": "incident_created", "channels": ["sms"]}]}),
        json!({"preferences": {"incident_created": ["push"]}}),
    ] {
        let resp = w
            .server
            .put(
                "/api/notifications/preferences/",
                Some(&w.dispatcher.access),
                &bad,
            )
            .await;
        assert_eq!(resp.status, 422, "{bad}: {}", resp.text);
    }
    let after: NotificationPreferences = w
        .server
        .get(
            "/api/notifications/preferences/",
            Some(&w.dispatcher.access),
        )
        .await
        .json_as();
    assert_eq!(after, now);
}

// ---------------------------------------------------------------------------------------------
// Push devices
// ---------------------------------------------------------------------------------------------

async fn devices_of(server: &TestServer, user: Uuid) -> i64 {
    kintara_server::devices::count_for(&server.running.state.db, user)
        .await
        .expect("count devices")
}

fn device(token: &str) -> Value {
    json!({"token": token, "platform": "android", "kind": "fcm"})
}

#[tokio::test]
async fn a_push_token_is_registered_moved_and_removed() {
    let w = World::new().await;
    let token = "fcm-token-of-amina's-phone:APA91bH";
    let resp = w
        .server
        .post("/api/devices/", Some(&w.survivor.access), &device(token))
        .await;
    resp.expect(201);
    let raw = resp.json();
    let keys: Vec<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["created_at", "id", "kind", "last_seen_at", "platform"]
    );
    assert!(!resp.text.contains("APA91bH"), "the token is not echoed");
    let registered: Device = resp.json_as();
    assert_eq!(registered.platform.as_str(), "android");
    assert_eq!(registered.kind.as_str(), "fcm");
    assert_eq!(devices_of(&w.server, w.survivor.user.id).await, 1);

    // The same token again from the same user is the same device.
    let again: Device = w
        .server
        .post(
            "/api/devices/",
            Some(&w.survivor.access),
            &json!({"token": format!("  {token} "), "platform": "android", "kind": "fcm"}),
        )
        .await
        .json_as();
    assert_eq!(again.id, registered.id);
    assert_eq!(devices_of(&w.server, w.survivor.user.id).await, 1);

    // The phone changes hands: the token moves to whoever registers it now.
    let resp = w
        .server
        .post(
            "/api/devices/",
            Some(&w.dispatcher.access),
            &json!({"token": token, "platform": "web", "kind": "unifiedpush"}),
        )
        .await;
    resp.expect(201);
    let moved: Device = resp.json_as();
    assert_eq!(moved.platform.as_str(), "web");
    assert_eq!(devices_of(&w.server, w.survivor.user.id).await, 0);
    assert_eq!(devices_of(&w.server, w.dispatcher.user.id).await, 1);
    assert_eq!(w.server.count("devices").await, 1);

    // Nobody removes another's device.
    let path = format!("/api/devices/{}/", moved.id);
    let missing = w
        .server
        .delete(
            &format!("/api/devices/{}/", Uuid::new_v4()),
            Some(&w.survivor.access),
        )
        .await;
    missing.expect_error(404, codes::NOT_FOUND);
    let theirs = w.server.delete(&path, Some(&w.survivor.access)).await;
    theirs.expect_error(404, codes::NOT_FOUND);
    assert_eq!(theirs.text, missing.text);
    w.server
        .delete(&path, None)
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
    w.server
        .delete("/api/devices/not-an-id/", Some(&w.dispatcher.access))
        .await
        .expect_error(404, codes::NOT_FOUND);
    assert_eq!(devices_of(&w.server, w.dispatcher.user.id).await, 1);

    let gone = w.server.delete(&path, Some(&w.dispatcher.access)).await;
    gone.expect(204);
    assert!(gone.text.is_empty());
    assert_eq!(devices_of(&w.server, w.dispatcher.user.id).await, 0);
    w.server
        .delete(&path, Some(&w.dispatcher.access))
        .await
        .expect_error(404, codes::NOT_FOUND);
}

#[tokio::test]
async fn invalid_device_registrations_are_422_and_store_nothing() {
    let w = World::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"token": "t", "platform": "symbian", "kind": "fcm"}),
            "platform",
        ),
        (
            json!({"token": "t", "platform": "android", "kind": "pigeon"}),
            "kind",
        ),
        (
            json!({"token": "", "platform": "android", "kind": "fcm"}),
            "token",
        ),
        (
            json!({"token": "   ", "platform": "android", "kind": "fcm"}),
            "token",
        ),
        (
            json!({"token": "a\u{0}b", "platform": "android", "kind": "fcm"}),
            "token",
        ),
        (
            json!({"token": "x".repeat(4097), "platform": "android", "kind": "fcm"}),
            "token",
        ),
        (json!({"platform": "android", "kind": "fcm"}), "token"),
        (json!({"token": "t", "kind": "fcm"}), "platform"),
        (
            json!({"token": 12, "platform": "android", "kind": "fcm"}),
            "token",
        ),
    ];
    for (body, field) in cases {
        let resp = w
            .server
            .post("/api/devices/", Some(&w.survivor.access), &body)
            .await;
        assert_eq!(resp.status, 422, "{body}: {}", resp.text);
        resp.expect_invalid(&[field]);
    }
    w.server
        .post("/api/devices/", None, &device("anonymous"))
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
    assert_eq!(w.server.count("devices").await, 0);
}

#[tokio::test]
async fn logging_out_removes_the_devices_of_that_session_only() {
    let w = World::new().await;
    let phone = &w.survivor;
    let tablet = w.login("survivor").await;
    w.server
        .post("/api/devices/", Some(&phone.access), &device("phone-token"))
        .await
        .expect(201);
    let tablet_device: Device = w
        .server
        .post(
            "/api/devices/",
            Some(&tablet.access),
            &json!({"token": "tablet-token", "platform": "ios", "kind": "apns"}),
        )
        .await
        .json_as();
    assert_eq!(devices_of(&w.server, phone.user.id).await, 2);

    w.server
        .post(
            "/api/auth/logout/",
            None,
            &json!({ "refresh": phone.refresh }),
        )
        .await
        .expect(200);
    assert_eq!(
        devices_of(&w.server, phone.user.id).await,
        1,
        "the phone's token is gone, the tablet's stays"
    );
    w.server
        .delete(
            &format!("/api/devices/{}/", tablet_device.id),
            Some(&tablet.access),
        )
        .await
        .expect(204);
    w.server
        .post("/api/devices/", Some(&tablet.access), &device("tablet-2"))
        .await
        .expect(201);
    w.server
        .post(
            "/api/auth/logout/",
            None,
            &json!({ "refresh": tablet.refresh }),
        )
        .await
        .expect(200);
    assert_eq!(devices_of(&w.server, phone.user.id).await, 0);
    assert_eq!(w.server.count("devices").await, 0);
}

#[tokio::test]
async fn a_case_timeline_lists_its_moves_and_keeps_reasons_from_the_survivor() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let dispatcher = server.demo_login("dispatcher").await;
    let legal = server.demo_login("legal").await;
    let incident = server
        .create_report(&survivor.access, &report("Timeline case"))
        .await;
    server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&dispatcher.access),
            &json!({ "provider_ids": [legal.user.id] }),
        )
        .await
        .expect(200);
    server
        .patch(
            &format!("/api/incidents/{}/reject/", incident.id),
            Some(&legal.access),
            &json!({ "reason": "Outside my county, private reason 7741" }),
        )
        .await
        .expect(200);
    let path = format!("/api/incidents/{}/timeline/", incident.id);
    let staff = server.get(&path, Some(&dispatcher.access)).await;
    staff.expect(200);
    let moves: Vec<(Value, Value)> = staff
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| (c["from"].clone(), c["to"].clone()))
        .collect();
    assert_eq!(
        moves,
        [
            (Value::Null, json!("pending_dispatcher_review")),
            (json!("pending_dispatcher_review"), json!("assigned")),
            (json!("assigned"), json!("pending_dispatcher_review")),
        ]
    );
    assert!(
        staff.text.contains("declined by the provider"),
        "{}",
        staff.text
    );
    // The provider's own words stay on the assignment, not in the case's history.
    assert!(!staff.text.contains("7741"), "{}", staff.text);
    // The survivor sees the same moves, without reasons.
    let mine = server.get(&path, Some(&survivor.access)).await;
    mine.expect(200);
    assert_eq!(mine.json().as_array().unwrap().len(), 3);
    assert!(!mine.text.contains("declined"), "{}", mine.text);
    assert!(mine
        .json()
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["reason"].is_null()));
}
