//! Verified staff and a survivor's control of her account, over a real server socket on the
//! test database (SQLite, or PostgreSQL with `KINTARA_TEST_DATABASE_URL`):
//!
//! - a provider who registers themselves gets no case, no listing and no recommendation until
//!   an admin verifies them; the decision is in the audit log;
//! - suspending or disabling an account signs it out everywhere at once (its socket closes with
//!   4003) and gives its cases back to the dispatchers; reinstating lets it back in;
//! - only admins decide, never about themselves, and every refusal changes nothing;
//! - a survivor sees where she is signed in, ends another session, and changing her password
//!   ends every other session.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use kintara_api::{
    codes, AccountState, AdminUserPage, AuditAction, AuditPage, CaseView, DirectoryProvider,
    IncidentStatus, SessionList, SessionsEnded, User,
};
use serde_json::{json, Value};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

struct Admin {
    server: TestServer,
    admin: Account,
    dispatcher: Account,
    survivor: Account,
}

impl Admin {
    async fn new() -> Self {
        let server = TestServer::demo().await;
        let admin = server.demo_login("admin").await;
        let dispatcher = server.demo_login("dispatcher").await;
        let survivor = server.demo_login("survivor").await;
        Admin {
            server,
            admin,
            dispatcher,
            survivor,
        }
    }

    async fn decide_as(&self, who: &Account, user: Uuid, what: &str, reason: &str) -> Resp {
        self.server
            .post(
                &format!("/api/admin/users/{user}/{what}/"),
                Some(&who.access),
                &json!({ "reason": reason }),
            )
            .await
    }

    async fn decide(&self, user: Uuid, what: &str, reason: &str) -> User {
        let resp = self.decide_as(&self.admin, user, what, reason).await;
        resp.expect(200);
        resp.json_as()
    }

    async fn users(&self, query: &str) -> AdminUserPage {
        let resp = self
            .server
            .get(
                &format!("/api/admin/users/?{query}"),
                Some(&self.admin.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    async fn audit(&self, query: &str) -> AuditPage {
        let resp = self
            .server
            .get(
                &format!("/api/admin/audit/?{query}"),
                Some(&self.admin.access),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    }

    /// An immediate report, which goes straight to a free rescue provider if there is one.
    async fn urgent_report(&self, what: &str) -> CaseView {
        let mut body = report(what);
        body["urgency_level"] = json!("immediate");
        let incident = self
            .server
            .create_report(&self.survivor.access, &body)
            .await;
        self.case(incident.id).await
    }

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

    async fn directory(&self) -> Vec<DirectoryProvider> {
        let resp = self
            .server
            .get("/api/dispatch/providers/", Some(&self.dispatcher.access))
            .await;
        resp.expect(200);
        resp.json_as()
    }

    /// Takes every demo rescue provider out of automatic routing, so the new one is the only
    /// candidate.
    async fn demo_rescue_unavailable(&self) {
        self.server
            .exec(
                "UPDATE provider_profiles SET is_currently_available = 0 WHERE user_id IN \
                 (SELECT id FROM users WHERE email = 'gbv_rescue@kintara.test')",
                &[],
            )
            .await;
    }
}

fn ws_url(server: &TestServer, token: &str) -> String {
    server
        .url(&format!("/ws/?token={token}"))
        .replacen("http://", "ws://", 1)
}

/// The close code the socket ends with, within five seconds, skipping frames before it.
async fn close_code(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("the socket stayed open"),
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return None,
        }
    }
}

#[tokio::test]
async fn a_provider_who_registers_gets_no_case_until_an_admin_verifies_them() {
    let a = Admin::new().await;
    a.demo_rescue_unavailable().await;
    let resp = a
        .server
        .register(&{
            let mut body = survivor_registration("new.rescue@example.org");
            body["role"] = json!("provider");
            body["provider_type"] = json!("gbv_rescue");
            body
        })
        .await;
    resp.expect(201);
    let body = resp.json();
    assert_eq!(body["user"]["account_state"], json!("unverified"));
    assert!(
        body["message"].as_str().unwrap().contains("verify"),
        "registration says the account awaits verification: {body}"
    );
    let rescue = Account::from_auth(resp.json_as());

    // Not routed: the immediate report waits for a dispatcher instead.
    let first = a.urgent_report("He is outside the door now.").await;
    assert_eq!(
        first.incident.status,
        IncidentStatus::PendingDispatcherReview
    );
    assert!(first.assigned_providers.is_empty());
    // Not listed, not recommended, not assignable; they read no case.
    assert!(a.directory().await.iter().all(|p| p.id != rescue.user.id));
    let suggestions = a
        .server
        .get(
            &format!("/api/dispatch/cases/{}/recommendations/", first.incident.id),
            Some(&a.dispatcher.access),
        )
        .await;
    suggestions.expect(200);
    assert!(!suggestions.text.contains(&rescue.user.id.to_string()));
    let before = a.server.count("case_assignments").await;
    a.server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", first.incident.id),
            Some(&a.dispatcher.access),
            &json!({ "provider_ids": [rescue.user.id] }),
        )
        .await
        .expect_invalid(&["provider_ids"]);
    assert_eq!(a.server.count("case_assignments").await, before);
    let theirs = a
        .server
        .get("/api/providers/assigned-cases/", Some(&rescue.access))
        .await;
    theirs.expect(200);
    assert_eq!(theirs.json(), json!([]));
    a.server
        .get(
            &format!("/api/incidents/{}/", first.incident.id),
            Some(&rescue.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    // Their own availability is theirs to see meanwhile.
    a.server
        .get("/api/providers/availability/", Some(&rescue.access))
        .await
        .expect(200);

    // The admin finds them waiting and verifies them, saying why.
    let waiting = a.users("role=provider&state=unverified").await;
    assert_eq!(waiting.count, 1, "{waiting:?}");
    assert_eq!(waiting.results[0].id, rescue.user.id);
    let verified = a
        .decide(
            rescue.user.id,
            "verify",
            "Registration number checked with the NGO board",
        )
        .await;
    assert_eq!(verified.account_state, AccountState::Active);
    // Verifying twice is refused and changes nothing.
    let again = a
        .decide_as(&a.admin, rescue.user.id, "verify", "again")
        .await;
    again.expect_error(409, codes::ACCOUNT_IN_STATE);
    assert_eq!(again.json()["params"]["state"], json!("active"));

    // Now the next immediate report reaches them, and the directory lists them.
    let second = a.urgent_report("He came back.").await;
    assert_eq!(second.incident.status, IncidentStatus::Assigned);
    assert_eq!(second.assigned_providers[0].provider_id, rescue.user.id);
    assert!(a.directory().await.iter().any(|p| p.id == rescue.user.id));

    // The audit log says who did what to whom, when and why.
    let log = a.audit(&format!("user={}", rescue.user.id)).await;
    assert_eq!(log.count, 1);
    let entry = &log.results[0];
    assert_eq!(entry.action, AuditAction::Verified);
    assert_eq!(entry.actor.id, a.admin.user.id);
    assert_eq!(entry.target.id, rescue.user.id);
    assert_eq!(
        entry.reason,
        "Registration number checked with the NGO board"
    );
}

#[tokio::test]
async fn a_suspended_provider_is_signed_out_everywhere_and_their_cases_go_back() {
    let a = Admin::new().await;
    let provider = a
        .server
        .register_provider("clinic@example.org", "healthcare")
        .await;
    let other_device = a.server.login_ok("clinic@example.org", PASSWORD).await;
    // A case they accepted.
    let incident = a
        .server
        .create_report(&a.survivor.access, &report("Bruises on both arms."))
        .await;
    a.server
        .post(
            &format!("/api/dispatch/cases/{}/assign/", incident.id),
            Some(&a.dispatcher.access),
            &json!({ "provider_ids": [provider.user.id] }),
        )
        .await
        .expect(200);
    a.server
        .patch(
            &format!("/api/incidents/{}/accept/", incident.id),
            Some(&provider.access),
            &json!({}),
        )
        .await
        .expect(200);
    let (mut ws, _) = connect_async(ws_url(&a.server, &provider.access))
        .await
        .expect("the provider's socket");

    let suspended = a
        .decide(provider.user.id, "suspend", "Complaint under investigation")
        .await;
    assert_eq!(suspended.account_state, AccountState::Suspended);
    assert!(!suspended.is_active);

    // The open socket closes with 4003; every token and session is dead.
    assert_eq!(close_code(&mut ws).await, Some(4003));
    for token in [&provider.access, &other_device.access] {
        a.server
            .me(token)
            .await
            .expect_error(401, codes::SESSION_REVOKED);
    }
    for refresh in [&provider.refresh, &other_device.refresh] {
        a.server.refresh(refresh).await.expect(401);
    }
    a.server
        .login("clinic@example.org", PASSWORD)
        .await
        .expect_error(401, codes::ACCOUNT_DISABLED);
    // The case is back with the dispatchers, and why is in its timeline.
    let case = a.case(incident.id).await;
    assert_eq!(
        case.incident.status,
        IncidentStatus::PendingDispatcherReview
    );
    assert!(a.directory().await.iter().all(|p| p.id != provider.user.id));

    // Reinstated, they are back as they were: verified, and able to sign in.
    let back = a
        .decide(provider.user.id, "reinstate", "Complaint unfounded")
        .await;
    assert_eq!(back.account_state, AccountState::Active);
    a.server.login_ok("clinic@example.org", PASSWORD).await;

    // Disabled for good: the same.
    a.decide(provider.user.id, "disable", "Left the organisation")
        .await;
    a.server
        .login("clinic@example.org", PASSWORD)
        .await
        .expect_error(401, codes::ACCOUNT_DISABLED);
    let log = a.audit(&format!("user={}", provider.user.id)).await;
    let actions: Vec<AuditAction> = log.results.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Disabled,
            AuditAction::Reinstated,
            AuditAction::Suspended
        ],
        "newest first"
    );
}

#[tokio::test]
async fn only_admins_decide_and_never_about_themselves() {
    let a = Admin::new().await;
    let provider = a
        .server
        .register_unverified_provider("waiting@example.org", "legal")
        .await;
    let before = (
        a.server.count("admin_audit").await,
        a.server.count("users").await,
    );
    // Staff who are not admins, providers and survivors: 403, nothing changes.
    for who in [&a.dispatcher, &a.survivor, &provider] {
        a.decide_as(who, provider.user.id, "verify", "I say so")
            .await
            .expect_error(403, codes::ONLY_ROLES);
        a.server
            .get("/api/admin/users/", Some(&who.access))
            .await
            .expect_error(403, codes::ONLY_ROLES);
        a.server
            .get("/api/admin/audit/", Some(&who.access))
            .await
            .expect_error(403, codes::ONLY_ROLES);
    }
    // An admin cannot lock themselves out.
    for what in ["suspend", "disable"] {
        a.decide_as(&a.admin, a.admin.user.id, what, "oops")
            .await
            .expect_error(403, codes::NOT_WITH_YOURSELF);
    }
    // A reason is required; an unknown account is not found; states are checked.
    a.decide_as(&a.admin, provider.user.id, "verify", "  ")
        .await
        .expect_invalid(&["reason"]);
    a.decide_as(&a.admin, Uuid::new_v4(), "verify", "who?")
        .await
        .expect_error(404, codes::NOT_FOUND);
    a.decide_as(&a.admin, provider.user.id, "reinstate", "not stopped")
        .await
        .expect_error(409, codes::ACCOUNT_IN_STATE);
    a.decide_as(&a.admin, a.survivor.user.id, "verify", "not a provider")
        .await
        .expect_error(409, codes::ACCOUNT_IN_STATE);
    assert_eq!(
        (
            a.server.count("admin_audit").await,
            a.server.count("users").await
        ),
        before
    );
    a.server.me(&a.admin.access).await.expect(200);
}

#[tokio::test]
async fn an_admin_creates_a_dispatcher_who_can_work_at_once() {
    let a = Admin::new().await;
    let created = a
        .server
        .post(
            "/api/admin/users/",
            Some(&a.admin.access),
            &json!({
                "email": "Second.Dispatcher@Example.org", "password": "a long passphrase",
                "first_name": "Wanjiku", "last_name": "Mutua", "role": "dispatcher",
            }),
        )
        .await;
    created.expect(201);
    let user: User = created.json_as();
    assert_eq!(user.account_state, AccountState::Active);
    let dispatcher = a
        .server
        .login_ok("second.dispatcher@example.org", "a long passphrase")
        .await;
    a.server
        .get("/api/dispatch/cases/", Some(&dispatcher.access))
        .await
        .expect(200);
    // Survivors and providers register themselves: the role is refused here.
    let before = a.server.count("users").await;
    for role in ["survivor", "provider"] {
        a.server
            .post(
                "/api/admin/users/",
                Some(&a.admin.access),
                &json!({
                    "email": format!("{role}.x@example.org"), "password": "a long passphrase",
                    "first_name": "X", "last_name": "Y", "role": role,
                }),
            )
            .await
            .expect_invalid(&["role"]);
    }
    a.server
        .post(
            "/api/admin/users/",
            Some(&a.admin.access),
            &json!({
                "email": "second.dispatcher@example.org", "password": "a long passphrase",
                "first_name": "Again", "last_name": "Again", "role": "admin",
            }),
        )
        .await
        .expect_error(409, codes::EMAIL_TAKEN);
    assert_eq!(a.server.count("users").await, before);
    let log = a.audit(&format!("user={}", user.id)).await;
    assert_eq!(log.results[0].action, AuditAction::Created);
    assert_eq!(log.results[0].actor.id, a.admin.user.id);
}

#[tokio::test]
async fn an_anonymous_survivors_name_is_hidden_from_admins_too() {
    let a = Admin::new().await;
    let mut body = survivor_registration("quiet.one@example.org");
    body["is_anonymous"] = json!(true);
    body["first_name"] = json!("Zawadi");
    body["last_name"] = json!("Plantedname");
    a.server.register(&body).await.expect(201);
    let found = a.users("q=plantedname").await;
    assert_eq!(found.count, 0, "a search by her real name finds nothing");
    let by_email = a.users("q=quiet.one").await;
    assert_eq!(by_email.count, 1);
    let shown = serde_json::to_string(&by_email).unwrap();
    assert!(
        !shown.contains("Zawadi") && !shown.contains("Plantedname"),
        "{shown}"
    );
    // The search is literal: `%` and `_` are not wildcards (`gbv_rescue@` has one `_`).
    assert_eq!(a.users("q=%25").await.count, 0);
    assert_eq!(a.users("q=__").await.count, 0);
    assert_eq!(a.users("q=v_r").await.count, 1);
    // Filters are checked.
    a.server
        .get("/api/admin/users/?state=asleep", Some(&a.admin.access))
        .await
        .expect_invalid(&["state"]);
    a.server
        .get(
            &format!("/api/admin/users/?q={}", "x".repeat(101)),
            Some(&a.admin.access),
        )
        .await
        .expect_invalid(&["q"]);
}

// ---------------------------------------------------------------------------------------------
// Her account, her control
// ---------------------------------------------------------------------------------------------

async fn sessions(server: &TestServer, who: &Account) -> SessionList {
    let resp = server.get("/api/auth/sessions/", Some(&who.access)).await;
    resp.expect(200);
    resp.json_as()
}

async fn login_with_agent(
    server: &TestServer,
    email: &str,
    password: &str,
    agent: &str,
) -> Account {
    let resp = Resp::from(
        server
            .request(reqwest::Method::POST, "/api/auth/login/")
            .header("user-agent", agent)
            .json(&json!({"email": email, "password": password})),
    )
    .await;
    resp.expect(200);
    Account::from_auth(resp.json_as())
}

#[tokio::test]
async fn a_survivor_sees_where_she_is_signed_in_and_ends_another_session() {
    let server = TestServer::start().await;
    let email = "amina@example.org";
    server.register_survivor(email).await;
    let phone = login_with_agent(&server, email, PASSWORD, "Kintara/1.0 (Android 14)").await;
    let stolen = login_with_agent(&server, email, PASSWORD, "curl/8.5\t").await;

    let list = sessions(&server, &phone).await;
    assert_eq!(list.sessions.len(), 3, "registering signed her in too");
    let current: Vec<_> = list.sessions.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].device_label, "Kintara/1.0 (Android 14)");
    let other = list
        .sessions
        .iter()
        .find(|s| s.device_label.starts_with("curl"))
        .expect("the other device");
    assert_eq!(
        other.device_label, "curl/8.5",
        "control characters and blanks trimmed"
    );

    // Someone else cannot end her sessions: not found, nothing ends.
    let stranger = server.register_survivor("stranger@example.org").await;
    server
        .delete(
            &format!("/api/auth/sessions/{}/", other.id),
            Some(&stranger.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    server.me(&stolen.access).await.expect(200);
    // Her current session ends by signing out, not here.
    let mine = current[0].id;
    server
        .delete(&format!("/api/auth/sessions/{mine}/"), Some(&phone.access))
        .await
        .expect_error(409, codes::CURRENT_SESSION);

    // She ends the other one: its access and refresh tokens die at once.
    let (mut ws, _) = connect_async(ws_url(&server, &stolen.access))
        .await
        .expect("the other device's socket");
    server
        .delete(
            &format!("/api/auth/sessions/{}/", other.id),
            Some(&phone.access),
        )
        .await
        .expect(204);
    assert_eq!(close_code(&mut ws).await, Some(4003));
    server
        .me(&stolen.access)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    server.refresh(&stolen.refresh).await.expect(401);
    server.me(&phone.access).await.expect(200);

    // "Sign out everywhere else" leaves only this device.
    let ended: SessionsEnded = {
        let resp = server
            .post(
                "/api/auth/sessions/revoke-others/",
                Some(&phone.access),
                &json!({}),
            )
            .await;
        resp.expect(200);
        resp.json_as()
    };
    assert_eq!(ended.ended, 1, "the registration's session");
    let left = sessions(&server, &phone).await;
    assert_eq!(left.sessions.len(), 1);
    assert!(left.sessions[0].current);
}

#[tokio::test]
async fn changing_her_password_needs_the_old_one_and_ends_every_other_session() {
    let server = TestServer::start().await;
    let email = "amina@example.org";
    let first = server.register_survivor(email).await;
    let abuser = server.login_ok(email, PASSWORD).await;
    let change = |who: &Account, current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        let token = who.access.clone();
        let server = &server;
        async move {
            server
                .post("/api/auth/change-password/", Some(&token), &body)
                .await
        }
    };

    // Whoever holds her unlocked phone but not her password changes nothing.
    change(&first, "not her password", "a new long password")
        .await
        .expect_error(403, codes::WRONG_PASSWORD);
    server.login_ok(email, PASSWORD).await;
    change(&first, PASSWORD, "short")
        .await
        .expect_invalid(&["new_password"]);

    let resp = change(&first, PASSWORD, "a new long password").await;
    resp.expect(200);
    let ended: SessionsEnded = resp.json_as();
    assert_eq!(
        ended.ended, 2,
        "the abuser's session and the one signed in above"
    );
    server
        .me(&abuser.access)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    server.refresh(&abuser.refresh).await.expect(401);
    server.me(&first.access).await.expect(200);
    server
        .login(email, PASSWORD)
        .await
        .expect_error(401, codes::INVALID_CREDENTIALS);
    server.login_ok(email, "a new long password").await;

    // Guessing the current password through this form is throttled like signing in.
    let mut last = Value::Null;
    for _ in 0..6 {
        let resp = change(&first, "guess", "another long password").await;
        last = json!([resp.status.as_u16(), resp.json()["code"]]);
        if resp.status.as_u16() == 429 {
            assert!(resp.headers.get("retry-after").is_some());
            break;
        }
    }
    assert_eq!(last, json!([429, "sign_in_paused"]));
}
