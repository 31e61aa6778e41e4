//! Who may call what: one table with a row per endpoint of the OpenAPI document and a column per
//! kind of caller, each cell the exact status code. The table must cover every operation in the
//! document, so a new endpoint without a row fails here until someone decides who may call it.
//!
//! Every cell runs against a fresh case (filed by the owner, assigned to the assigned provider,
//! accepted or not as the row says), so a cell that changes something cannot influence the next.
//! No refusal (and no answer to someone with no business with the case) may contain the case
//! number or the description of the case.

#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use kintara_api::{codes, Incident, NotificationPage};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// The callers, in the order of the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// The survivor who filed the case.
    Owner,
    OtherSurvivor,
    /// The provider the case is assigned to (pending or accepted, as the row's stage says).
    AssignedProvider,
    UnassignedProvider,
    Dispatcher,
}

const COLUMNS: [Who; 6] = [
    Who::Anonymous,
    Who::Owner,
    Who::OtherSurvivor,
    Who::AssignedProvider,
    Who::UnassignedProvider,
    Who::Dispatcher,
];

/// How far the case got before the cell runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Assigned; the provider has not answered.
    Pending,
    /// The provider accepted: in progress.
    Accepted,
}

/// What the request carries.
#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    Empty,
    Register,
    /// The caller's own e-mail and password (the owner's for anonymous).
    Login,
    /// The refresh token of a session opened just for this cell.
    FreshRefresh,
    UpdateMe,
    Report,
    PatchReport,
    Reject,
    Status(&'static str),
    Availability,
    /// The unassigned provider.
    Assign,
    /// From whoever has it to the unassigned provider.
    Reassign,
    Preferences,
    Device,
    /// Multipart with a small PNG.
    Upload,
    /// A direct chat with the assigned provider.
    DirectWithAssigned,
    /// A message to the case room.
    ChatMessage,
    Typing,
    ChatSettings,
    /// The caller's own password, changed to itself.
    ChangePassword,
    /// A reason, for an admin's or a dispatcher's decision.
    Reason,
    CreateStaff,
    /// Blocks the assigned provider.
    BlockAssigned,
}

/// Not asserted (the upload's success is the evidence tests' business).
const SKIP: u16 = 0;

struct Row {
    method: Method,
    path: &'static str,
    stage: Stage,
    body: Body,
    /// One status per column of [`COLUMNS`].
    want: [u16; 6],
}

fn row(method: Method, path: &'static str, stage: Stage, body: Body, want: [u16; 6]) -> Row {
    Row {
        method,
        path,
        stage,
        body,
        want,
    }
}

/// Columns: anonymous, owner, other survivor, assigned provider, unassigned provider, dispatcher.
#[rustfmt::skip]
fn table() -> Vec<Row> {
    use Body as B;
    use Stage::*;
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    let staff_only = [401, 403, 403, 403, 403, 200];
    let signed_in = [401, 200, 200, 200, 200, 200];
    let admin_only = [401, 403, 403, 403, 403, 403];
    vec![
        // Accounts: the bearer token plays no part in the first four.
        row(post.clone(), "/api/auth/register/", Pending, B::Register, [201; 6]),
        row(post.clone(), "/api/auth/login/", Pending, B::Login, [200; 6]),
        row(post.clone(), "/api/auth/refresh/", Pending, B::FreshRefresh, [200; 6]),
        row(post.clone(), "/api/auth/logout/", Pending, B::FreshRefresh, [200; 6]),
        row(get.clone(), "/api/auth/me/", Pending, B::None, signed_in),
        row(put.clone(), "/api/auth/me/update/", Pending, B::UpdateMe, signed_in),
        row(get.clone(), "/api/auth/health/", Pending, B::None, [200; 6]),
        row(post.clone(), "/api/auth/change-password/", Pending, B::ChangePassword, signed_in),
        row(get.clone(), "/api/auth/sessions/", Pending, B::None, signed_in),
        // `{id}` is the case's id: nobody's session.
        row(delete.clone(), "/api/auth/sessions/{id}/", Pending, B::None, [401, 404, 404, 404, 404, 404]),
        row(post.clone(), "/api/auth/sessions/revoke-others/", Pending, B::None, signed_in),
        // Administration: admins only (the admin suite covers what they may do).
        row(get.clone(), "/api/admin/users/", Pending, B::None, admin_only),
        row(post.clone(), "/api/admin/users/", Pending, B::CreateStaff, admin_only),
        row(post.clone(), "/api/admin/users/{id}/verify/", Pending, B::Reason, admin_only),
        row(post.clone(), "/api/admin/users/{id}/suspend/", Pending, B::Reason, admin_only),
        row(post.clone(), "/api/admin/users/{id}/disable/", Pending, B::Reason, admin_only),
        row(post.clone(), "/api/admin/users/{id}/reinstate/", Pending, B::Reason, admin_only),
        row(get.clone(), "/api/admin/audit/", Pending, B::None, admin_only),
        row(get.clone(), "/api/admin/deliveries/", Pending, B::None, admin_only),
        // Delivery services calling back: signed by the service, not by a user (unsigned: 401);
        // off (404) while WhatsApp is not configured, as here (the delivery suite covers them
        // configured).
        row(get.clone(), "/api/webhooks/whatsapp/", Pending, B::None, [404; 6]),
        row(post.clone(), "/api/webhooks/whatsapp/", Pending, B::Empty, [401; 6]),
        // Reports.
        row(post.clone(), "/api/incidents/", Pending, B::Report, [401, 201, 201, 403, 403, 403]),
        row(get.clone(), "/api/incidents/", Pending, B::None, signed_in),
        row(get.clone(), "/api/incidents/{id}/", Pending, B::None, [401, 200, 404, 200, 404, 200]),
        row(patch.clone(), "/api/incidents/{id}/", Pending, B::PatchReport, [401, 200, 404, 403, 404, 403]),
        row(delete.clone(), "/api/incidents/{id}/", Pending, B::None, [401, 204, 404, 403, 404, 403]),
        row(get.clone(), "/api/incidents/{id}/timeline/", Pending, B::None, [401, 200, 404, 200, 404, 200]),
        // Providers.
        row(get.clone(), "/api/providers/assigned-cases/", Pending, B::None, [401, 403, 403, 200, 200, 403]),
        row(patch.clone(), "/api/incidents/{id}/accept/", Pending, B::Empty, [401, 403, 403, 200, 404, 403]),
        row(patch.clone(), "/api/incidents/{id}/reject/", Pending, B::Reject, [401, 403, 403, 200, 404, 403]),
        row(patch.clone(), "/api/providers/cases/{id}/status/", Accepted, B::Status("completed"), [401, 403, 403, 200, 404, 403]),
        row(patch.clone(), "/api/providers/cases/{id}/status/", Pending, B::Status("in_progress"), [401, 403, 403, 403, 404, 403]),
        row(patch.clone(), "/api/providers/availability/", Pending, B::Availability, [401, 403, 403, 200, 200, 403]),
        row(get.clone(), "/api/providers/availability/", Pending, B::None, [401, 403, 403, 200, 200, 403]),
        // Dispatch.
        row(get.clone(), "/api/dispatch/dashboard/", Pending, B::None, staff_only),
        row(get.clone(), "/api/dispatch/cases/", Pending, B::None, staff_only),
        row(get.clone(), "/api/dispatch/cases/{id}/", Pending, B::None, staff_only),
        row(post.clone(), "/api/dispatch/cases/{id}/assign/", Pending, B::Assign, staff_only),
        row(post.clone(), "/api/dispatch/cases/{id}/reassign/", Pending, B::Reassign, staff_only),
        // Closing is the dispatcher's, and only of a completed case (the workflow suite).
        row(post.clone(), "/api/dispatch/cases/{id}/close/", Pending, B::Reason, [401, 403, 403, 403, 403, 409]),
        row(post.clone(), "/api/dispatch/cases/{id}/reopen/", Pending, B::Reason, [401, 403, 403, 403, 403, 409]),
        row(get.clone(), "/api/dispatch/providers/", Pending, B::None, staff_only),
        row(get.clone(), "/api/dispatch/cases/{id}/recommendations/", Pending, B::None, staff_only),
        // The notification feed: everyone their own. `{id}` is one of the owner's.
        row(get.clone(), "/api/notifications/", Pending, B::None, signed_in),
        row(get.clone(), "/api/notifications/unread/", Pending, B::None, signed_in),
        row(get.clone(), "/api/notifications/unread_count/", Pending, B::None, signed_in),
        row(post.clone(), "/api/notifications/{id}/mark_as_read/", Accepted, B::Empty, [401, 200, 404, 404, 404, 404]),
        row(post.clone(), "/api/notifications/mark_all_as_read/", Pending, B::Empty, signed_in),
        row(get.clone(), "/api/notifications/preferences/", Pending, B::None, signed_in),
        row(put.clone(), "/api/notifications/preferences/", Pending, B::Preferences, signed_in),
        row(post.clone(), "/api/notifications/test/", Pending, B::Empty, [401, 201, 201, 201, 201, 201]),
        // Push devices. `{id}` is the owner's.
        row(post.clone(), "/api/devices/", Pending, B::Device, [401, 201, 201, 201, 201, 201]),
        row(delete.clone(), "/api/devices/{id}/", Pending, B::None, [401, 204, 404, 404, 404, 404]),
        // ---- Evidence (being built alongside; these rows run only while the document has
        // ---- the paths). `{id}` of `/api/evidence/` is a photo the owner uploaded. The
        // ---- upload's success is not asserted here (SKIP).
        row(post.clone(), "/api/incidents/{id}/evidence/", Pending, B::Upload, [401, SKIP, 404, 403, 404, 403]),
        row(get.clone(), "/api/incidents/{id}/evidence/", Accepted, B::None, [401, 200, 404, 200, 404, 200]),
        row(get.clone(), "/api/incidents/{id}/evidence/", Pending, B::None, [401, 200, 404, 403, 404, 200]),
        row(get.clone(), "/api/evidence/{id}/download/", Accepted, B::None, [401, 200, 404, 200, 404, 200]),
        row(get.clone(), "/api/evidence/{id}/download/", Pending, B::None, [401, 200, 404, 403, 404, 200]),
        row(delete.clone(), "/api/evidence/{id}/", Accepted, B::None, [401, 204, 404, 403, 404, 403]),
        row(delete.clone(), "/api/evidence/{id}/", Pending, B::None, [401, 204, 404, 403, 404, 403]),
        // Chat: rooms are their participants' only; dispatchers are in a case room once they join. `{id}`
        // is the case room, or a message the owner sent in it. Whether the unassigned provider
        // shares a case with the assigned one depends on earlier cells (SKIP); the chat suite
        // covers that rule.
        row(get.clone(), "/api/chat/rooms/", Pending, B::None, signed_in),
        row(post.clone(), "/api/chat/rooms/create_direct_chat/", Pending, B::DirectWithAssigned, [401, 201, 403, 403, SKIP, 201]),
        row(delete.clone(), "/api/chat/rooms/{id}/", Accepted, B::None, [401, 409, 404, 409, 404, 404]),
        // Staff join a case's conversation once it is open; `{id}` is the case.
        row(post.clone(), "/api/chat/case-rooms/{id}/join/", Accepted, B::Empty, [401, 403, 403, 403, 403, 201]),
        row(post.clone(), "/api/chat/case-rooms/{id}/join/", Pending, B::Empty, [401, 403, 403, 403, 403, 409]),
        row(post.clone(), "/api/chat/rooms/{id}/mark_read/", Accepted, B::Empty, [401, 200, 404, 200, 404, 404]),
        row(post.clone(), "/api/chat/rooms/{id}/typing/", Accepted, B::Typing, [401, 200, 404, 200, 404, 404]),
        row(get.clone(), "/api/chat/messages/", Accepted, B::None, [401, 200, 404, 200, 404, 404]),
        row(post.clone(), "/api/chat/messages/", Accepted, B::ChatMessage, [401, 201, 404, 201, 404, 404]),
        row(delete.clone(), "/api/chat/messages/{id}/", Accepted, B::None, [401, 204, 404, 403, 404, 404]),
        row(post.clone(), "/api/chat/messages/{id}/mark_read/", Accepted, B::Empty, [401, 200, 404, 200, 404, 404]),
        row(post.clone(), "/api/chat/heartbeat/", Pending, B::Empty, signed_in),
        row(get.clone(), "/api/chat/online-users/", Pending, B::None, signed_in),
        row(post.clone(), "/api/chat/mark-offline/", Pending, B::Empty, signed_in),
        row(get.clone(), "/api/chat/settings/", Pending, B::None, signed_in),
        row(put.clone(), "/api/chat/settings/", Pending, B::ChatSettings, signed_in),
        // Realtime: everyone reads only their own log (the events suite checks whose frames).
        row(get.clone(), "/api/events/", Pending, B::None, signed_in),
        // Blocks: survivors only. Last, since a block outlives its cell. `{id}` is the case's
        // id: nobody blocked.
        row(get.clone(), "/api/chat/blocks/", Pending, B::None, [401, 200, 200, 403, 403, 403]),
        row(post.clone(), "/api/chat/blocks/", Pending, B::BlockAssigned, [401, 201, 201, 403, 403, 403]),
        row(delete, "/api/chat/blocks/{id}/", Pending, B::None, [401, 404, 404, 403, 403, 403]),
    ]
}

fn is_evidence(path: &str) -> bool {
    path.starts_with("/api/evidence/") || path.ends_with("/evidence/")
}

/// Every `(METHOD, path)` of the OpenAPI document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(kintara_server::routes::openapi()).expect("serialisable");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The people in the table, signed in, and what a cell needs to make its request.
struct Cast {
    server: TestServer,
    owner: Account,
    other: Account,
    assigned: Account,
    unassigned: Account,
    dispatcher: Account,
    /// E-mail and password per column (anonymous signs in as the owner).
    credentials: [(String, String); 6],
    evidence: bool,
    serial: AtomicUsize,
}

/// What one cell works on.
struct Fixture {
    incident: Incident,
    device: Uuid,
    /// One of the owner's notifications about the case (once a provider accepted).
    notification: Option<Uuid>,
    /// A photo the owner uploaded, when evidence exists.
    evidence: Option<Uuid>,
    /// The case room (once a provider accepted) and a message the owner sent in it.
    room: Option<Uuid>,
    message: Option<Uuid>,
}

/// The smallest file the server takes for a photo: a PNG signature and an empty IHDR.
const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

impl Cast {
    fn account(&self, who: Who) -> Option<&Account> {
        match who {
            Who::Anonymous => None,
            Who::Owner => Some(&self.owner),
            Who::OtherSurvivor => Some(&self.other),
            Who::AssignedProvider => Some(&self.assigned),
            Who::UnassignedProvider => Some(&self.unassigned),
            Who::Dispatcher => Some(&self.dispatcher),
        }
    }

    fn column(who: Who) -> usize {
        COLUMNS.iter().position(|w| *w == who).expect("a column")
    }

    fn next(&self) -> usize {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    async fn upload(&self, token: Option<&str>, incident: Uuid) -> Resp {
        let part = reqwest::multipart::Part::bytes(PNG.to_vec())
            .file_name("photo.png")
            .mime_str("image/png")
            .expect("a media type");
        let form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("description", "the door");
        let mut req = self
            .server
            .request(
                Method::POST,
                &format!("/api/incidents/{incident}/evidence/"),
            )
            .multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Resp::from(req).await
    }

    async fn fixture(&self, stage: Stage) -> Fixture {
        let n = self.next();
        let description = format!("Probe {n}: he waits at the Gikomba stall every evening.");
        let incident = self
            .server
            .create_report(&self.owner.access, &report(&description))
            .await;
        self.server
            .post(
                &format!("/api/dispatch/cases/{}/assign/", incident.id),
                Some(&self.dispatcher.access),
                &json!({ "provider_ids": [self.assigned.user.id] }),
            )
            .await
            .expect(200);
        if stage == Stage::Accepted {
            self.server
                .patch(
                    &format!("/api/incidents/{}/accept/", incident.id),
                    Some(&self.assigned.access),
                    &json!({}),
                )
                .await
                .expect(200);
        }
        let device = self
            .server
            .post(
                "/api/devices/",
                Some(&self.owner.access),
                &json!({"token": format!("owner-token-{n}"), "platform": "android", "kind": "fcm"}),
            )
            .await;
        device.expect(201);
        let device = device.json()["id"].as_str().unwrap().parse().unwrap();
        let notification = self
            .server
            .get(
                &format!("/api/notifications/?incident={}", incident.id),
                Some(&self.owner.access),
            )
            .await
            .json_as::<NotificationPage>()
            .results
            .first()
            .map(|n| n.id);
        let evidence = if self.evidence {
            let resp = self.upload(Some(&self.owner.access), incident.id).await;
            resp.expect(201);
            Some(resp.json()["id"].as_str().unwrap().parse().unwrap())
        } else {
            None
        };
        let (room, message) = if stage == Stage::Accepted {
            let room: String =
                sqlx::query_scalar("SELECT id FROM conversations WHERE incident_id = $1")
                    .bind(incident.id.to_string())
                    .fetch_one(&self.server.running.state.db.read)
                    .await
                    .expect("the case room");
            let room: Uuid = room.parse().unwrap();
            let sent = self
                .server
                .post(
                    "/api/chat/messages/",
                    Some(&self.owner.access),
                    &json!({"room": room, "content": "When can we meet?"}),
                )
                .await;
            sent.expect(201);
            (
                Some(room),
                Some(sent.json()["id"].as_str().unwrap().parse().unwrap()),
            )
        } else {
            (None, None)
        };
        Fixture {
            incident,
            device,
            notification,
            evidence,
            room,
            message,
        }
    }

    fn body(&self, body: Body, who: Who, fixture: &Fixture) -> Option<Value> {
        let n = self.next();
        let (email, password) = &self.credentials[Self::column(who)];
        Some(match body {
            Body::None | Body::Upload | Body::FreshRefresh => return None,
            Body::Empty => json!({}),
            Body::Register => survivor_registration(&format!("new.{n}@example.org")),
            Body::Login => json!({"email": email, "password": password}),
            Body::UpdateMe => json!({
                "first_name": self.account(who).map_or("Nobody", |a| a.user.first_name.as_str())
            }),
            Body::Report => report(&format!("Another report {n}")),
            Body::PatchReport => json!({"description": format!("Amended {n}")}),
            Body::Reject => json!({"reason": "Outside my area"}),
            Body::Status(status) => json!({ "status": status }),
            Body::Availability => json!({"is_currently_available": true}),
            Body::Assign => json!({ "provider_ids": [self.unassigned.user.id] }),
            Body::Reassign => json!({
                "new_provider_id": self.unassigned.user.id,
                "reason": "Closer to her",
            }),
            Body::Preferences => json!({"preferences": []}),
            Body::Device => json!({
                "token": format!("cell-token-{n}"), "platform": "web", "kind": "unifiedpush"
            }),
            Body::DirectWithAssigned => json!({ "user_id": self.assigned.user.id }),
            Body::ChatMessage => json!({
                "room": fixture.room.expect("the case room"),
                "content": format!("Message {n}"),
                "client_id": format!("cell-{n}"),
            }),
            Body::Typing => json!({"is_typing": true}),
            Body::ChatSettings => json!({
                "read_receipts": true, "typing_indicators": false, "presence": true
            }),
            Body::ChangePassword => json!({"current_password": password, "new_password": password}),
            Body::Reason => json!({"reason": "Checked with the organisation"}),
            Body::BlockAssigned => json!({"user_id": self.assigned.user.id}),
            Body::CreateStaff => json!({
                "email": format!("staff.{n}@example.org"), "password": "a long passphrase",
                "first_name": "New", "last_name": "Dispatcher", "role": "dispatcher",
            }),
        })
    }

    async fn send(&self, row: &Row, who: Who, fixture: &Fixture) -> Resp {
        let id = if !row.path.contains("{id}") {
            Uuid::nil()
        } else if row.path.starts_with("/api/notifications/") {
            fixture
                .notification
                .expect("the owner has a notification about the case")
        } else if row.path.starts_with("/api/devices/") {
            fixture.device
        } else if row.path.starts_with("/api/evidence/") {
            fixture.evidence.expect("the owner uploaded a photo")
        } else if row.path.starts_with("/api/chat/rooms/") {
            fixture.room.expect("the case room")
        } else if row.path.starts_with("/api/chat/messages/") {
            fixture.message.expect("the owner's message")
        } else {
            fixture.incident.id
        };
        let mut path = row.path.replace("{id}", &id.to_string());
        if row.path == "/api/events/" {
            // A plain poll: the default would wait 25 s for callers with nothing new.
            path.push_str("?since=0&timeout=0");
        }
        if row.method == Method::GET && row.path == "/api/chat/messages/" {
            path.push_str(&format!(
                "?room_id={}",
                fixture.room.expect("the case room")
            ));
        }
        let token = self.account(who).map(|a| a.access.as_str());
        match row.body {
            Body::Upload => self.upload(token, fixture.incident.id).await,
            Body::FreshRefresh => {
                let (email, password) = &self.credentials[Self::column(who)];
                let session = self.server.login_ok(email, password).await;
                let body = json!({ "refresh": session.refresh });
                self.server
                    .call(row.method.clone(), &path, token, Some(&body))
                    .await
            }
            other => {
                let body = self.body(other, who, fixture);
                self.server
                    .call(row.method.clone(), &path, token, body.as_ref())
                    .await
            }
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_caller_exactly_as_the_table_says() {
    let documented = documented();
    let evidence = documented.contains(&("GET".into(), "/api/evidence/{id}/download/".into()));
    let rows: Vec<Row> = table()
        .into_iter()
        .filter(|r| evidence || !is_evidence(r.path))
        .collect();

    // The table and the document name the same operations.
    let tabled: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&tabled).collect();
    assert!(
        missing.is_empty(),
        "endpoints without a row in the authorisation table: {missing:?}"
    );
    let stale: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "rows for endpoints the document does not have: {stale:?}"
    );

    let server = TestServer::demo().await;
    let owner = server.demo_login("survivor").await;
    let other = server.register_survivor("other.survivor@example.org").await;
    let assigned = server.demo_login("healthcare").await;
    let unassigned = server.demo_login("legal").await;
    let dispatcher = server.demo_login("dispatcher").await;
    // Hundreds of cases go to these two; their case load must not get in the way.
    for p in [&assigned, &unassigned] {
        server
            .exec(
                "UPDATE provider_profiles SET max_case_load = 1000000 WHERE user_id = $1",
                &[&p.user.id.to_string()],
            )
            .await;
    }
    let demo = |who: &str| (format!("{who}@kintara.test"), DEMO_PASSWORD.to_owned());
    let credentials = [
        demo("survivor"),
        demo("survivor"),
        (other.user.email.clone(), PASSWORD.to_owned()),
        demo("healthcare"),
        demo("legal"),
        demo("dispatcher"),
    ];
    let cast = Cast {
        server,
        owner,
        other,
        assigned,
        unassigned,
        dispatcher,
        credentials,
        evidence,
        serial: AtomicUsize::new(0),
    };
    let not_found = cast
        .server
        .get(
            &format!("/api/incidents/{}/", Uuid::new_v4()),
            Some(&cast.owner.access),
        )
        .await
        .text;

    let mut failures = Vec::new();
    for row in &rows {
        for (column, who) in COLUMNS.into_iter().enumerate() {
            let want = row.want[column];
            if want == SKIP {
                continue;
            }
            let fixture = cast.fixture(row.stage).await;
            let resp = cast.send(row, who, &fixture).await;
            let cell = format!("{} {} ({:?}) as {who:?}", row.method, row.path, row.stage);
            if resp.status.as_u16() != want {
                failures.push(format!(
                    "{cell}: {} instead of {want}: {}",
                    resp.status.as_u16(),
                    resp.text
                ));
                continue;
            }
            let case_number = fixture.incident.case_number.as_str();
            let description = fixture.incident.description.as_str();
            let outsider = matches!(
                who,
                Who::Anonymous | Who::OtherSurvivor | Who::UnassignedProvider
            );
            if want >= 400 || outsider {
                for secret in [case_number, description] {
                    assert!(
                        !resp.text.contains(secret),
                        "{cell} ({want}) shows {secret:?}: {}",
                        resp.text
                    );
                }
            }
            match want {
                // A delivery service's callback proves itself by its signature, not a token.
                401 if row.path.starts_with("/api/webhooks/") => {
                    resp.expect_error(401, "bad_signature");
                }
                401 => {
                    resp.expect_error(401, codes::NOT_AUTHENTICATED);
                }
                403 => {
                    resp.expect_error(403, ANY);
                }
                404 => {
                    resp.expect_error(404, codes::NOT_FOUND);
                    assert_eq!(
                        resp.text, not_found,
                        "{cell}: not yours must look like not there"
                    );
                }
                _ => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
