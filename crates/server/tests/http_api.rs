//! The HTTP API over real sockets: every endpoint of the first slice, its error envelope, and who
//! may see and change what. Each test starts its own server on a temporary SQLite database.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use common::*;
use kintara_api::{codes, Incident, MeResponse, ProviderType, RefreshResponse, Role};
use reqwest::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn health_names_the_database_backend() {
    let server = TestServer::start().await;
    // The suite runs on SQLite, and again on PostgreSQL when the environment names one.
    let backend = if std::env::var_os(kintara_server::testing::DATABASE_ENV).is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let resp = server.get("/api/auth/health/", None).await;
    resp.expect(200);
    assert_eq!(
        resp.json(),
        json!({
            "success": true,
            "message": "Kintara API is running",
            "version": env!("CARGO_PKG_VERSION"),
            "database": backend,
        })
    );
    assert!(resp.headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_survivor_registers_and_is_signed_in() {
    let server = TestServer::start().await;
    let mut body = survivor_registration("  Amina.Otieno@Example.ORG ");
    body["first_name"] = json!("  Amina ");
    let resp = server.register(&body).await;
    resp.expect(201);
    let raw = resp.json();
    assert_eq!(raw["success"], json!(true));
    assert_eq!(raw["message"], json!("Account created."));
    assert!(
        raw["user"].get("password_hash").is_none(),
        "no secrets in the user: {raw}"
    );
    assert!(
        raw["user"].get("password").is_none(),
        "no secrets in the user: {raw}"
    );

    let account = Account::from_auth(resp.json_as());
    let user = &account.user;
    assert_eq!(
        user.email, "amina.otieno@example.org",
        "e-mail is trimmed and lower-cased"
    );
    assert_eq!(user.first_name, "Amina", "names are trimmed");
    assert_eq!(user.last_name, "Otieno");
    assert_eq!(user.full_name, "Amina Otieno");
    assert_eq!(user.role, Role::Survivor);
    assert_eq!(user.role_display, "Survivor");
    assert_eq!(user.provider_type, None);
    assert_eq!(user.provider_type_display, None);
    assert!(!user.is_anonymous);
    assert!(user.is_active);
    assert!(!account.access.is_empty() && !account.refresh.is_empty());

    // The tokens work at once, and the account answers to any spelling of its e-mail.
    let me = server.me(&account.access).await;
    me.expect(200);
    assert_eq!(me.json_as::<MeResponse>().user.id, user.id);
    let again = server.login_ok("AMINA.OTIENO@example.org", PASSWORD).await;
    assert_eq!(again.user.id, user.id);
}

#[tokio::test]
async fn a_provider_registers_with_the_kind_of_help_they_give() {
    let server = TestServer::start().await;
    let mut body = survivor_registration("clinic@example.org");
    body["role"] = json!("provider");
    body["provider_type"] = json!("healthcare");
    let resp = server.register(&body).await;
    resp.expect(201);
    let account = Account::from_auth(resp.json_as());
    assert_eq!(account.user.role, Role::Provider);
    assert_eq!(account.user.role_display, "Service provider");
    assert_eq!(account.user.provider_type, Some(ProviderType::Healthcare));
    assert_eq!(
        account.user.provider_type_display.as_deref(),
        Some("Healthcare Provider")
    );
    assert_eq!(
        server.count("provider_profiles").await,
        1,
        "a provider gets a profile"
    );
    let me: MeResponse = server.me(&account.access).await.json_as();
    assert_eq!(me.user.provider_type, Some(ProviderType::Healthcare));
}

#[tokio::test]
async fn refused_registrations_name_the_field_and_store_nothing() {
    let server = TestServer::start().await;
    let email = "refused@example.org";
    let with = |changes: Value| {
        let mut body = survivor_registration(email);
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "provider without a type",
            with(json!({"role": "provider"})),
            &["provider_type"],
        ),
        (
            "survivor with a provider type",
            with(json!({"provider_type": "legal"})),
            &["provider_type"],
        ),
        ("dispatcher", with(json!({"role": "dispatcher"})), &["role"]),
        ("admin", with(json!({"role": "admin"})), &["role"]),
        (
            "unknown role",
            with(json!({"role": "superuser"})),
            &["role"],
        ),
        (
            "short password",
            with(json!({"password": "short", "confirm_password": "short"})),
            &["password"],
        ),
        (
            "password over 128 characters",
            with(json!({"password": "p".repeat(129), "confirm_password": "p".repeat(129)})),
            &["password"],
        ),
        (
            "e-mail without @",
            with(json!({"email": "amina.example.org"})),
            &["email"],
        ),
        (
            "e-mail without a domain dot",
            with(json!({"email": "amina@example"})),
            &["email"],
        ),
        (
            "e-mail with a space",
            with(json!({"email": "ami na@example.org"})),
            &["email"],
        ),
        ("blank e-mail", with(json!({"email": "  "})), &["email"]),
        (
            "blank names",
            with(json!({"first_name": " ", "last_name": ""})),
            &["first_name", "last_name"],
        ),
        (
            "name over 100 characters",
            with(json!({"last_name": "x".repeat(101)})),
            &["last_name"],
        ),
    ];
    for (what, body, fields) in cases {
        let resp = server.register(&body).await;
        assert_eq!(resp.status, 422, "{what}: {}", resp.text);
        resp.expect_invalid(fields);
    }
    assert_eq!(
        server.count("users").await,
        0,
        "no refused registration created an account"
    );
    assert_eq!(server.count("sessions").await, 0);
    server
        .login(email, PASSWORD)
        .await
        .expect_error(401, codes::INVALID_CREDENTIALS);
    // The e-mail is still free.
    server
        .register(&survivor_registration(email))
        .await
        .expect(201);
}

#[tokio::test]
async fn an_e_mail_has_one_account_whatever_its_case() {
    let server = TestServer::start().await;
    let first = server.register_survivor("amina@example.org").await;
    for email in [
        "amina@example.org",
        "Amina@Example.org",
        " AMINA@EXAMPLE.ORG ",
    ] {
        let mut body = survivor_registration(email);
        body["password"] = json!("another password");
        body["confirm_password"] = json!("another password");
        let resp = server.register(&body).await;
        let errors = resp.expect_error(409, codes::EMAIL_TAKEN);
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["email"], "{email}");
    }
    assert_eq!(server.count("users").await, 1);
    // The original owner's password still opens the account; the intruder's does not.
    assert_eq!(
        server.login_ok("amina@example.org", PASSWORD).await.user.id,
        first.user.id
    );
    server
        .login("amina@example.org", "another password")
        .await
        .expect_error(401, codes::INVALID_CREDENTIALS);
}

#[tokio::test]
async fn an_anonymous_survivor_without_a_name_is_anonymous_user() {
    let server = TestServer::start().await;
    let resp = server
        .register(&json!({
            "email": "quiet@example.org",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "role": "survivor",
            "is_anonymous": true,
        }))
        .await;
    resp.expect(201);
    let account = Account::from_auth(resp.json_as());
    assert!(account.user.is_anonymous);
    assert_eq!(account.user.first_name, "Anonymous");
    assert_eq!(account.user.last_name, "User");
    assert_eq!(account.user.full_name, "Anonymous User");
    let me: MeResponse = server.me(&account.access).await.json_as();
    assert_eq!(me.user.full_name, "Anonymous User");
}

// ---------------------------------------------------------------------------------------------
// Bad input, anywhere
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let server = TestServer::start().await;
    for body in [
        "{\"email\": \"amina@example.org\", ",
        "{email: 'amina@example.org'}",
        "not json at all",
        "",
        "[",
    ] {
        let resp = server
            .request(Method::POST, "/api/auth/register/")
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let resp = Resp::from(resp).await;
        assert_eq!(resp.status, 400, "{body:?}: {}", resp.text);
        let errors = resp.expect_error(400, codes::INVALID_JSON);
        assert!(errors.is_empty(), "{errors:?}");
    }
    assert_eq!(server.count("users").await, 0);
}

/// A complete object followed by more text is not a JSON document, and the server must not act on
/// half of what the client sent.
#[tokio::test]
async fn json_followed_by_trailing_text_is_400_and_stores_nothing() {
    let server = TestServer::start().await;
    for (i, tail) in ["garbage", " {\"role\": \"provider\"}", ", 1", "}"]
        .iter()
        .enumerate()
    {
        let valid = survivor_registration(&format!("trailing{i}@example.org")).to_string();
        let resp = Resp::from(
            server
                .request(Method::POST, "/api/auth/register/")
                .header(CONTENT_TYPE, "application/json")
                .body(format!("{valid}{tail}")),
        )
        .await;
        assert_eq!(resp.status, 400, "{tail:?}: {}", resp.text);
        resp.expect_error(400, codes::INVALID_JSON);
    }
    assert_eq!(
        server.count("users").await,
        0,
        "a body with trailing text created an account"
    );
}

/// The API takes objects with named fields. A JSON array must not be read positionally as the
/// fields in declaration order (nor produce field keys like `[0]` that no form can show).
#[tokio::test]
async fn a_body_must_be_an_object_not_a_positional_array() {
    let server = TestServer::start().await;
    let positional = json!([
        "array@example.org",
        PASSWORD,
        PASSWORD,
        "Amina",
        "Otieno",
        "survivor"
    ]);
    server
        .register(&positional)
        .await
        .expect_invalid(&["non_field_errors"]);
    server
        .register(&json!([1, 2]))
        .await
        .expect_invalid(&["non_field_errors"]);
    server
        .post(
            "/api/auth/login/",
            None,
            &json!(["array@example.org", PASSWORD]),
        )
        .await
        .expect_invalid(&["non_field_errors"]);
    assert_eq!(
        server.count("users").await,
        0,
        "an array body created an account"
    );
}

#[tokio::test]
async fn a_wrong_type_or_a_missing_field_is_422_naming_the_field() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let users_before = server.count("users").await;

    let mut wrong_type = survivor_registration("typed@example.org");
    wrong_type["email"] = json!(5);
    server
        .register(&wrong_type)
        .await
        .expect_invalid(&["email"]);

    let mut missing = survivor_registration("missing@example.org");
    missing.as_object_mut().unwrap().remove("role");
    server.register(&missing).await.expect_invalid(&["role"]);

    let mut missing_pw = survivor_registration("missing@example.org");
    missing_pw.as_object_mut().unwrap().remove("password");
    server
        .register(&missing_pw)
        .await
        .expect_invalid(&["password"]);

    // A body that is JSON but not an object concerns no field in particular.
    for body in [json!(null), json!("amina"), json!(42)] {
        server
            .register(&body)
            .await
            .expect_invalid(&["non_field_errors"]);
    }
    server.login("", PASSWORD).await.expect_invalid(&["email"]);
    server
        .login("amina@example.org", "")
        .await
        .expect_invalid(&["password"]);
    server.refresh("").await.expect_invalid(&["refresh"]);
    assert_eq!(server.count("users").await, users_before);

    // Nested fields are named by their dotted path.
    let mut report_missing = report("what happened");
    report_missing["location"] = json!({"address": "", "coordinates": {"latitude": -1.3}});
    server
        .post("/api/incidents/", Some(&survivor.access), &report_missing)
        .await
        .expect_invalid(&["location.coordinates.longitude"]);
    let mut report_typed = report("what happened");
    report_typed["location"]["coordinates"] = json!({"latitude": "south", "longitude": 36.8});
    server
        .post("/api/incidents/", Some(&survivor.access), &report_typed)
        .await
        .expect_invalid(&["location.coordinates.latitude"]);
    let mut report_no_services = report("what happened");
    report_no_services
        .as_object_mut()
        .unwrap()
        .remove("support_services");
    server
        .post(
            "/api/incidents/",
            Some(&survivor.access),
            &report_no_services,
        )
        .await
        .expect_invalid(&["support_services"]);
    assert_eq!(server.count("incidents").await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let server = TestServer::start().await;
    let body = survivor_registration("typed@example.org").to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = server
            .request(Method::POST, "/api/auth/register/")
            .body(body.clone());
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        let resp = Resp::from(req).await;
        assert_eq!(resp.status, 415, "{content_type:?}: {}", resp.text);
        resp.expect_error(415, codes::UNSUPPORTED_MEDIA_TYPE);
    }
    assert_eq!(server.count("users").await, 0);
    // The same body as JSON, with parameters and in any case, is accepted.
    let req = server
        .request(Method::POST, "/api/auth/register/")
        .header(CONTENT_TYPE, "Application/JSON; charset=utf-8")
        .body(body);
    Resp::from(req).await.expect(201);
}

#[tokio::test]
async fn a_body_over_64_kb_is_413_and_stores_nothing() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let users_before = server.count("users").await;

    let mut big = survivor_registration("big@example.org");
    big["first_name"] = json!("a".repeat(70 * 1024));
    server
        .register(&big)
        .await
        .expect_error(413, codes::PAYLOAD_TOO_LARGE);
    assert_eq!(server.count("users").await, users_before);

    let mut big_report = report("what happened");
    big_report["location"]["description"] = json!("b".repeat(65 * 1024));
    server
        .post("/api/incidents/", Some(&survivor.access), &big_report)
        .await
        .expect_error(413, codes::PAYLOAD_TOO_LARGE);
    assert!(server.incidents(&survivor.access).await.is_empty());
    assert_eq!(server.count("incidents").await, 0);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_envelope() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    for (method, path) in [
        (Method::GET, "/api/nothing-here/"),
        (Method::GET, "/"),
        (Method::POST, "/api/auth/signup/"),
        (
            Method::GET,
            "/api/incidents/00000000-0000-0000-0000-000000000000/evidence/nope/",
        ),
    ] {
        let resp = server
            .call(method.clone(), path, Some(&survivor.access), None)
            .await;
        assert_eq!(resp.status, 404, "{method} {path}: {}", resp.text);
        let errors = resp.expect_error(404, codes::NOT_FOUND);
        assert!(errors.is_empty());
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_envelope() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let incident = server
        .create_report(&survivor.access, &report("what happened"))
        .await;
    let one = format!("/api/incidents/{}/", incident.id);
    for (method, path) in [
        (Method::GET, "/api/auth/login/"),
        (Method::DELETE, "/api/auth/me/"),
        (Method::POST, "/api/auth/health/"),
        (Method::GET, "/api/auth/me/update/"),
        (Method::PUT, "/api/incidents/"),
        (Method::POST, one.as_str()),
        (Method::PUT, one.as_str()),
    ] {
        let resp = server
            .call(method.clone(), path, Some(&survivor.access), None)
            .await;
        assert_eq!(resp.status, 405, "{method} {path}: {}", resp.text);
        resp.expect_error(405, codes::METHOD_NOT_ALLOWED);
        assert!(
            resp.headers.contains_key(ALLOW),
            "{method} {path}: 405 without Allow"
        );
    }
    // Nothing happened to the incident.
    let after: Incident = server.get(&one, Some(&survivor.access)).await.json_as();
    assert_eq!(after, incident);
}

/// The list's query string is input like any other: a malformed one must get the envelope, not
/// the framework's plain-text rejection.
#[tokio::test]
async fn a_malformed_list_query_gets_the_error_envelope() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    // Same rule as `?status=bogus`: a filter the server cannot use is a 422 naming it.
    server
        .get(
            "/api/incidents/?status=pending_dispatcher_review&status=new",
            Some(&survivor.access),
        )
        .await
        .expect_invalid(&["status"]);
    server
        .get(
            "/api/incidents/?type=physical&type=sexual",
            Some(&survivor.access),
        )
        .await
        .expect_invalid(&["type"]);
}

// ---------------------------------------------------------------------------------------------
// Login and lockout
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_signs_in_and_records_the_time() {
    let server = TestServer::start().await;
    let registered = server.register_survivor("amina@example.org").await;
    assert_eq!(registered.user.last_login, None);
    let before = Utc::now();
    let resp = server.login(" Amina@Example.org ", PASSWORD).await;
    resp.expect(200);
    assert_eq!(resp.json()["message"], json!("Signed in."));
    let account = Account::from_auth(resp.json_as());
    assert_eq!(account.user.id, registered.user.id);
    let last_login = account.user.last_login.expect("last_login is set");
    assert!(
        last_login >= before - chrono::Duration::seconds(1),
        "{last_login} < {before}"
    );
    // A second session, independent of the first.
    assert_ne!(account.refresh, registered.refresh);
    server.me(&account.access).await.expect(200);
    server.me(&registered.access).await.expect(200);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_e_mail_look_the_same() {
    let server = TestServer::start().await;
    server.register_survivor("amina@example.org").await;
    let wrong = server.login("amina@example.org", "not my password").await;
    let unknown = server.login("nobody@example.org", "not my password").await;
    assert_eq!(
        wrong.expect_error(401, codes::INVALID_CREDENTIALS),
        Default::default()
    );
    assert_eq!(
        unknown.expect_error(401, codes::INVALID_CREDENTIALS),
        Default::default()
    );
    assert_eq!(
        wrong.text, unknown.text,
        "the answers must not tell which e-mails have accounts"
    );
}

/// The retry delay a 429 carries, in seconds.
fn retry_after(resp: &Resp) -> u64 {
    resp.headers[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds")
}

#[tokio::test]
async fn an_attackers_guesses_pause_the_attacker_and_never_lock_out_the_owner() {
    let server = TestServer::start().await;
    server.register_survivor("amina@example.org").await;
    let attacker = "127.0.0.2";

    for attempt in 1..=4 {
        let resp = server
            .login_from(attacker, "amina@example.org", "guess")
            .await;
        assert_eq!(resp.status, 401, "attempt {attempt}: {}", resp.text);
    }
    // The fifth failure pauses this e-mail from this address: 30 s, then doubling.
    let fifth = server
        .login_from(attacker, "amina@example.org", "guess")
        .await;
    fifth.expect_error(429, codes::SIGN_IN_PAUSED);
    assert!(
        (1..=30).contains(&retry_after(&fifth)),
        "{}",
        retry_after(&fifth)
    );
    // While paused even the right password waits, from that address.
    let right = server
        .login_from(attacker, "amina@example.org", PASSWORD)
        .await;
    right.expect_error(429, codes::SIGN_IN_PAUSED);

    // The owner, from her own address, is not affected at all.
    server.login_ok("amina@example.org", PASSWORD).await;
    // Nor is another account from the attacker's address.
    server.register_survivor("other@example.org").await;
    let other = server
        .login_from(attacker, "other@example.org", PASSWORD)
        .await;
    other.expect(200);
}

#[tokio::test]
async fn known_and_unknown_emails_are_throttled_alike() {
    let server = TestServer::start().await;
    server.register_survivor("amina@example.org").await;
    let mut answers = Vec::new();
    for (from, email) in [
        ("127.0.0.2", "amina@example.org"),
        ("127.0.0.3", "ghost@example.org"),
    ] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            let resp = server.login_from(from, email, "guess").await;
            seen.push((resp.status, resp.json()["code"].clone()));
        }
        answers.push(seen);
    }
    assert_eq!(
        answers[0], answers[1],
        "the answers must not tell which e-mails have accounts"
    );
    assert_eq!(answers[0][4].0, 429, "{:?}", answers[0]);
}

#[tokio::test]
async fn one_address_trying_many_emails_is_paused_too() {
    let server = TestServer::start().await;
    server.register_survivor("amina@example.org").await;
    let sprayer = "127.0.0.4";
    // Four guesses at each of five e-mails: never four in a row on one, twenty in all.
    for i in 0..20 {
        let email = format!("user{}@example.org", i % 5);
        let resp = server.login_from(sprayer, &email, "guess").await;
        assert_eq!(resp.status, 401, "guess {i}: {}", resp.text);
    }
    let next = server
        .login_from(sprayer, "user9@example.org", "guess")
        .await;
    next.expect_error(429, codes::SIGN_IN_PAUSED);
    // The address is paused for every e-mail, a right password included...
    let right = server
        .login_from(sprayer, "amina@example.org", PASSWORD)
        .await;
    right.expect_error(429, codes::SIGN_IN_PAUSED);
    // ...and nobody else is.
    server.login_ok("amina@example.org", PASSWORD).await;
}

#[tokio::test]
async fn a_success_clears_the_count_for_that_email_and_address() {
    let server = TestServer::start().await;
    server.register_survivor("amina@example.org").await;
    let phone = "127.0.0.5";
    for _ in 0..4 {
        server
            .login_from(phone, "amina@example.org", "typo")
            .await
            .expect(401);
    }
    server
        .login_from(phone, "amina@example.org", PASSWORD)
        .await
        .expect(200);
    // Four more typos are free again.
    for _ in 0..4 {
        server
            .login_from(phone, "amina@example.org", "typo")
            .await
            .expect(401);
    }
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_the_pair_and_spends_the_old_token() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;

    let resp = server.refresh(&account.refresh).await;
    resp.expect(200);
    let pair: RefreshResponse = resp.json_as();
    assert!(pair.success);
    assert_ne!(pair.refresh, account.refresh, "a new refresh token");
    let me: MeResponse = server.me(&pair.access).await.json_as();
    assert_eq!(me.user.id, account.user.id);
    // The same session: the access token issued before the rotation still works.
    server.me(&account.access).await.expect(200);

    // The next rotation works with the new token.
    let next: RefreshResponse = {
        let r = server.refresh(&pair.refresh).await;
        r.expect(200);
        r.json_as()
    };
    server.me(&next.access).await.expect(200);

    // The first token was spent by the first rotation.
    server
        .refresh(&account.refresh)
        .await
        .expect_error(401, codes::TOKEN_REUSED);
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_whole_session() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    let other_device = server.login_ok("amina@example.org", PASSWORD).await;

    let rotated: RefreshResponse = server.refresh(&account.refresh).await.json_as();
    // Someone presents the spent token again (it was copied).
    server
        .refresh(&account.refresh)
        .await
        .expect_error(401, codes::TOKEN_REUSED);

    // The newest token of that session is dead, and so are its access tokens.
    server
        .refresh(&rotated.refresh)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    server
        .me(&rotated.access)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    server
        .me(&account.access)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    // The spent token keeps failing.
    server
        .refresh(&account.refresh)
        .await
        .expect_error(401, codes::SESSION_REVOKED);

    // Another sign-in of the same person is a different session and keeps working.
    server.me(&other_device.access).await.expect(200);
    server.refresh(&other_device.refresh).await.expect(200);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_invalid_token() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    for token in ["garbage", "x".repeat(43).as_str(), account.access.as_str()] {
        server
            .refresh(token)
            .await
            .expect_error(401, codes::INVALID_TOKEN);
    }
    server
        .refresh(&"x".repeat(513))
        .await
        .expect_invalid(&["refresh"]);
    // None of that hurt the real session.
    server.refresh(&account.refresh).await.expect(200);
}

#[tokio::test]
async fn an_expired_refresh_token_is_token_expired() {
    let server = TestServer::start_with(|c| c.refresh_ttl_secs = 0).await;
    let account = server.register_survivor("amina@example.org").await;
    server
        .refresh(&account.refresh)
        .await
        .expect_error(401, codes::TOKEN_EXPIRED);
    // Expired is not "reused": presenting it again says the same.
    server
        .refresh(&account.refresh)
        .await
        .expect_error(401, codes::TOKEN_EXPIRED);
    // Signing in again starts a new session.
    let again = server.login_ok("amina@example.org", PASSWORD).await;
    server.me(&again.access).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_simultaneous_refreshes_with_one_token_cannot_both_win() {
    let server = TestServer::start().await;
    for round in 0..5 {
        let account = server
            .register_survivor(&format!("race{round}@example.org"))
            .await;
        let (a, b) = futures::join!(
            server.refresh(&account.refresh),
            server.refresh(&account.refresh)
        );
        let winners = [&a, &b].iter().filter(|r| r.status == 200).count();
        assert!(winners <= 1, "round {round}: both refreshes succeeded");
        for r in [&a, &b] {
            assert!(
                r.status == 200 || r.status == 401,
                "round {round}: {} {}",
                r.status,
                r.text
            );
            if r.status == 401 {
                let code = r.json()["code"].as_str().unwrap().to_owned();
                assert!(
                    code == codes::TOKEN_REUSED || code == codes::SESSION_REVOKED,
                    "round {round}: {code}"
                );
            }
        }
        // Whatever happened, the token is spent now.
        assert_eq!(server.refresh(&account.refresh).await.status, 401);
    }
}

// ---------------------------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    let other_device = server.login_ok("amina@example.org", PASSWORD).await;

    let resp = server
        .post(
            "/api/auth/logout/",
            None,
            &json!({"refresh": account.refresh}),
        )
        .await;
    resp.expect(200);
    assert_eq!(
        resp.json(),
        json!({"success": true, "message": "Signed out."})
    );

    server
        .refresh(&account.refresh)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    server
        .me(&account.access)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    server
        .call(
            Method::PUT,
            "/api/auth/me/update/",
            Some(&account.access),
            Some(&json!({"first_name": "X"})),
        )
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    // The other device is not signed out.
    server.me(&other_device.access).await.expect(200);

    server
        .post(
            "/api/auth/logout/",
            None,
            &json!({"refresh": "not-a-token"}),
        )
        .await
        .expect_error(401, codes::INVALID_TOKEN);
}

// ---------------------------------------------------------------------------------------------
// The signed-in user
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn me_without_a_usable_bearer_token_is_not_authenticated() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    server
        .get("/api/auth/me/", None)
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
    for header in [
        format!("Basic {}", b64(b"amina@example.org:correct horse battery")),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        account.access.clone(),
    ] {
        let resp = Resp::from(
            server
                .request(Method::GET, "/api/auth/me/")
                .header(reqwest::header::AUTHORIZATION, header.clone()),
        )
        .await;
        assert_eq!(resp.status, 401, "{header:?}");
        resp.expect_error(401, codes::NOT_AUTHENTICATED);
    }
    // The scheme is case-insensitive.
    let resp = Resp::from(server.request(Method::GET, "/api/auth/me/").header(
        reqwest::header::AUTHORIZATION,
        format!("bearer {}", account.access),
    ))
    .await;
    resp.expect(200);
}

#[tokio::test]
async fn forged_access_tokens_are_refused() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    let victim = server.register_survivor("victim@example.org").await;
    let claims = jwt_claims(&account.access);
    let sid: Uuid = serde_json::from_value(claims["sid"].clone()).unwrap();

    // Signed with another key, but naming a real user and session.
    let other_keys = kintara_server::auth::tokens::JwtKeys::new(
        b"a different secret of at least 32 bytes",
        Duration::from_secs(600),
    )
    .unwrap();
    let other_key = other_keys
        .issue(account.user.id, sid, Role::Dispatcher, None)
        .unwrap();

    // From another Kintara server (its own random key).
    let elsewhere = TestServer::start().await;
    let foreign = elsewhere
        .register_survivor("amina@example.org")
        .await
        .access;

    // A genuine token whose payload was edited.
    let mut escalated = claims.clone();
    escalated["role"] = json!("dispatcher");
    let mut impersonating = claims.clone();
    impersonating["sub"] = json!(victim.user.id);
    let mut prolonged = claims.clone();
    prolonged["exp"] = json!(claims["exp"].as_i64().unwrap() + 3600);

    // No signature at all.
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        account.access.split('.').nth(1).unwrap()
    );

    for (what, token) in [
        ("another key", other_key),
        ("another server", foreign),
        ("edited role", with_claims(&account.access, &escalated)),
        (
            "edited subject",
            with_claims(&account.access, &impersonating),
        ),
        ("edited expiry", with_claims(&account.access, &prolonged)),
        ("alg none", unsigned),
        (
            "truncated",
            account.access[..account.access.len() - 4].to_owned(),
        ),
        ("a refresh token", account.refresh.clone()),
        ("garbage", "a.b.c".to_owned()),
    ] {
        let resp = server.me(&token).await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.text);
        resp.expect_error(401, codes::INVALID_TOKEN);
    }

    // Correctly signed, but for a session that does not exist.
    let no_session = server
        .running
        .state
        .keys
        .issue(account.user.id, Uuid::new_v4(), Role::Survivor, None)
        .unwrap();
    server
        .me(&no_session)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
    // The genuine token is fine.
    server.me(&account.access).await.expect(200);
}

#[tokio::test]
async fn an_expired_access_token_is_token_expired_and_refresh_recovers() {
    let server = TestServer::start_with(|c| c.access_ttl_secs = 1).await;
    let account = server.register_survivor("amina@example.org").await;
    server.me(&account.access).await.expect(200);

    // Tokens are checked in whole seconds and `exp == now` still passes, so wait until the
    // second after `exp` has begun (between 1 and 2 s from now).
    let exp = jwt_claims(&account.access)["exp"].as_u64().unwrap();
    let expired_at = UNIX_EPOCH + Duration::from_secs(exp + 1) + Duration::from_millis(50);
    tokio::time::sleep(
        expired_at
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    )
    .await;

    server
        .me(&account.access)
        .await
        .expect_error(401, codes::TOKEN_EXPIRED);
    server
        .get("/api/incidents/", Some(&account.access))
        .await
        .expect_error(401, codes::TOKEN_EXPIRED);

    let pair: RefreshResponse = {
        let r = server.refresh(&account.refresh).await;
        r.expect(200);
        r.json_as()
    };
    let me: MeResponse = server.me(&pair.access).await.json_as();
    assert_eq!(me.user.id, account.user.id);

    // Signing out needs only the refresh token, so it works with an expired access token too.
    server
        .post("/api/auth/logout/", None, &json!({"refresh": pair.refresh}))
        .await
        .expect(200);
    server
        .me(&pair.access)
        .await
        .expect_error(401, codes::SESSION_REVOKED);
}

#[tokio::test]
async fn a_user_changes_their_name() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    let update = |body: Value| {
        let access = account.access.clone();
        let server = &server;
        async move {
            server
                .call(
                    Method::PUT,
                    "/api/auth/me/update/",
                    Some(&access),
                    Some(&body),
                )
                .await
        }
    };

    let resp = update(json!({"first_name": "  Halima  "})).await;
    resp.expect(200);
    let me: MeResponse = resp.json_as();
    assert!(me.success);
    assert_eq!(me.user.first_name, "Halima", "trimmed");
    assert_eq!(me.user.last_name, "Otieno", "untouched");
    assert_eq!(me.user.full_name, "Halima Otieno");
    assert!(me.user.updated_at >= account.user.updated_at);

    let both: MeResponse = update(json!({"first_name": "Wanjiru", "last_name": "Kamau"}))
        .await
        .json_as();
    assert_eq!(both.user.full_name, "Wanjiru Kamau");
    let now: MeResponse = server.me(&account.access).await.json_as();
    assert_eq!(now.user, both.user, "GET me shows the change");
    assert_eq!(now.user.email, "amina@example.org");
    assert_eq!(now.user.role, Role::Survivor);
}

#[tokio::test]
async fn a_user_cannot_change_anything_but_their_name() {
    let server = TestServer::start().await;
    let account = server.register_survivor("amina@example.org").await;
    let update = |body: Value| {
        let access = account.access.clone();
        let server = &server;
        async move {
            server
                .call(
                    Method::PUT,
                    "/api/auth/me/update/",
                    Some(&access),
                    Some(&body),
                )
                .await
        }
    };

    // Only names can change here; anything else is refused by name, and nothing is applied.
    for (body, field) in [
        (json!({"role": "dispatcher"}), "role"),
        (json!({"first_name": "Halima", "role": "admin"}), "role"),
        (json!({"email": "new@example.org"}), "email"),
        (json!({"is_active": false}), "is_active"),
    ] {
        update(body).await.expect_invalid(&[field]);
    }
    update(json!({"first_name": "   "}))
        .await
        .expect_invalid(&["first_name"]);
    update(json!({"last_name": ""}))
        .await
        .expect_invalid(&["last_name"]);
    update(json!({"first_name": "y".repeat(101)}))
        .await
        .expect_invalid(&["first_name"]);
    update(json!({"first_name": 7}))
        .await
        .expect_invalid(&["first_name"]);

    let me: MeResponse = server.me(&account.access).await.json_as();
    assert_eq!(me.user, account.user, "nothing changed");
    server
        .call(
            Method::PUT,
            "/api/auth/me/update/",
            None,
            Some(&json!({"first_name": "X"})),
        )
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
}

// ---------------------------------------------------------------------------------------------
// Filing reports
// ---------------------------------------------------------------------------------------------

/// `KIN-YYYYMMDD-NNN` for the UTC day the incident was submitted.
#[track_caller]
fn assert_case_number(incident: &Incident, n: u32) {
    let day = incident.date_submitted.format("%Y%m%d");
    assert_eq!(incident.case_number, format!("KIN-{day}-{n:03}"));
}

#[tokio::test]
async fn a_survivor_files_a_report_and_it_waits_for_a_dispatcher() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let mut body = report("  He hit me and took my phone.  ");
    body["type"] = json!("sexual");
    body["severity"] = json!("high");
    // Routine: urgent reports are routed to a GBV rescue provider (tests/workflow.rs).
    body["urgency_level"] = json!("routine");
    body["location"]["coordinates"] = json!({"latitude": -1.3133, "longitude": 36.7892});
    body["support_services"] = json!(["medical", "police", "shelter"]);
    body["provider_preferences"] =
        json!({"communicationMethod": "sms", "preferredGender": "female"});
    body["is_anonymous"] = json!(true);

    let resp = server
        .post("/api/incidents/", Some(&survivor.access), &body)
        .await;
    resp.expect(201);
    let raw = resp.json();
    let incident: Incident = resp.json_as();
    assert_case_number(&incident, 1);
    assert_eq!(
        incident.date_submitted.date_naive(),
        Utc::now().date_naive()
    );
    assert_eq!(raw["type"], json!("sexual"));
    assert_eq!(incident.incident_type_display, "Sexual Violence");
    assert_eq!(raw["status"], json!("pending_dispatcher_review"));
    assert_eq!(incident.status_display, "Waiting for review");
    assert_eq!(raw["severity"], json!("high"));
    assert_eq!(raw["urgency_level"], json!("routine"));
    assert_eq!(incident.incident_date, days_ago(1));
    assert_eq!(raw["incident_time"], json!("21:30:00"));
    assert_eq!(incident.description, "He hit me and took my phone.");
    assert_eq!(raw["location"]["address"], json!("Kibera, Nairobi"));
    assert_eq!(
        raw["location"]["coordinates"],
        json!({"latitude": -1.3133, "longitude": 36.7892})
    );
    assert_eq!(
        raw["support_services"],
        json!(["medical", "police", "shelter"])
    );
    // The app's camelCase preferences come back in snake_case.
    assert_eq!(
        raw["provider_preferences"]["communication_method"],
        json!("sms")
    );
    assert_eq!(
        raw["provider_preferences"]["preferred_gender"],
        json!("female")
    );
    assert!(incident.is_anonymous);
    assert_eq!(incident.date_submitted, incident.last_updated);

    // The survivor and the dispatcher read the same report.
    let path = format!("/api/incidents/{}/", incident.id);
    assert_eq!(
        server
            .get(&path, Some(&survivor.access))
            .await
            .json_as::<Incident>(),
        incident
    );
    let dispatcher = server.demo_login("dispatcher").await;
    assert_eq!(
        server
            .get(&path, Some(&dispatcher.access))
            .await
            .json_as::<Incident>(),
        incident
    );
}

#[tokio::test]
async fn a_minimal_report_gets_the_defaults() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let body = json!({
        "type": "online",
        "incident_date": Utc::now().date_naive().to_string(),
        "description": "Threats on social media.",
        "location": {"coordinates": {"latitude": 90.0, "longitude": -180.0}},
        "support_services": ["counseling"],
    });
    let incident = server.create_report(&survivor.access, &body).await;
    assert_eq!(incident.severity, kintara_api::Severity::Medium);
    assert_eq!(incident.urgency_level, kintara_api::UrgencyLevel::Routine);
    assert_eq!(incident.incident_time, None);
    assert_eq!(incident.provider_preferences, None);
    assert!(!incident.is_anonymous);
    assert_eq!(incident.location.address, "");
}

#[tokio::test]
async fn case_numbers_count_up_within_a_day() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let other = server.register_survivor("other@example.org").await;
    let first = server
        .create_report(&survivor.access, &report("first"))
        .await;
    let second = server.create_report(&other.access, &report("second")).await;
    let third = server
        .create_report(&survivor.access, &report("third"))
        .await;
    assert_case_number(&first, 1);
    assert_case_number(&second, 2);
    assert_case_number(&third, 3);
}

#[tokio::test]
async fn only_survivors_file_reports() {
    let server = TestServer::demo().await;
    for who in ["dispatcher", "healthcare", "gbv_rescue", "police"] {
        let account = server.demo_login(who).await;
        let resp = server
            .post(
                "/api/incidents/",
                Some(&account.access),
                &report("not mine"),
            )
            .await;
        assert_eq!(resp.status, 403, "{who}: {}", resp.text);
        resp.expect_error(403, ANY);
    }
    server
        .post("/api/incidents/", None, &report("nobody"))
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
    assert_eq!(server.count("incidents").await, 0);
    let dispatcher = server.demo_login("dispatcher").await;
    assert!(server.incidents(&dispatcher.access).await.is_empty());
}

#[tokio::test]
async fn an_invalid_report_names_the_field_and_stores_nothing() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let dispatcher = server.demo_login("dispatcher").await;
    let with = |path: &[&str], value: Value| {
        let mut body = report("what happened");
        let (last, parents) = path.split_last().unwrap();
        let mut target = &mut body;
        for p in parents {
            target = &mut target[*p];
        }
        target[*last] = value;
        body
    };
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("unknown type", with(&["type"], json!("robbery")), &["type"]),
        (
            "unknown severity",
            with(&["severity"], json!("extreme")),
            &["severity"],
        ),
        (
            "unknown urgency",
            with(&["urgency_level"], json!("asap")),
            &["urgency_level"],
        ),
        (
            "future date",
            with(
                &["incident_date"],
                json!((Utc::now().date_naive() + chrono::Days::new(30)).to_string()),
            ),
            &["incident_date"],
        ),
        (
            "impossible date",
            with(&["incident_date"], json!("2025-02-30")),
            &["incident_date"],
        ),
        (
            "date before 1900",
            with(&["incident_date"], json!("1899-12-31")),
            &["incident_date"],
        ),
        (
            "not a date",
            with(&["incident_date"], json!("yesterday")),
            &["incident_date"],
        ),
        (
            "not a time",
            with(&["incident_time"], json!("25:61")),
            &["incident_time"],
        ),
        (
            "blank description",
            with(&["description"], json!("  \n\t ")),
            &["description"],
        ),
        (
            "description over 10 000 characters",
            with(&["description"], json!("d".repeat(10_001))),
            &["description"],
        ),
        (
            "description over 10 000 characters of Swahili with accents",
            with(&["description"], json!("é".repeat(10_001))),
            &["description"],
        ),
        (
            "no address and no coordinates",
            with(&["location"], json!({"address": "  "})),
            &["location.address"],
        ),
        (
            "address over 500 characters",
            with(&["location", "address"], json!("a".repeat(501))),
            &["location.address"],
        ),
        (
            "latitude 91",
            with(
                &["location", "coordinates"],
                json!({"latitude": 91.0, "longitude": 36.8}),
            ),
            &["location.coordinates.latitude"],
        ),
        (
            "longitude -180.5",
            with(
                &["location", "coordinates"],
                json!({"latitude": -1.3, "longitude": -180.5}),
            ),
            &["location.coordinates.longitude"],
        ),
        (
            "location description over 1000 characters",
            with(&["location", "description"], json!("l".repeat(1001))),
            &["location.description"],
        ),
        (
            "no support services",
            with(&["support_services"], json!([])),
            &["support_services"],
        ),
        (
            "a service twice",
            with(&["support_services"], json!(["legal", "medical", "legal"])),
            &["support_services"],
        ),
        (
            "unknown communication method",
            with(
                &["provider_preferences"],
                json!({"communication_method": "pigeon"}),
            ),
            &["provider_preferences.communication_method"],
        ),
        // serde would fill a struct from a list; the document says an object, and so does the
        // server.
        (
            "preferences as a list",
            with(&["provider_preferences"], json!([null, null])),
            &["provider_preferences"],
        ),
        (
            "a place as a list",
            with(&["location"], json!(["Kibera", null, null])),
            &["location"],
        ),
        (
            "coordinates as a list",
            with(&["location", "coordinates"], json!([-1.3, 36.8])),
            &["location.coordinates"],
        ),
    ];
    for (what, body, fields) in cases {
        let resp = server
            .post("/api/incidents/", Some(&survivor.access), &body)
            .await;
        assert_eq!(resp.status, 422, "{what}: {}", resp.text);
        resp.expect_invalid(fields);
    }
    // An unknown service is reported under the list (its index may follow the name).
    let errors = server
        .post(
            "/api/incidents/",
            Some(&survivor.access),
            &with(&["support_services"], json!(["medical", "taxi"])),
        )
        .await
        .expect_error(422, codes::VALIDATION_FAILED);
    assert!(
        !errors.is_empty()
            && errors
                .keys()
                .all(|k| k == "support_services" || k.starts_with("support_services[")),
        "{errors:?}"
    );

    assert!(server.incidents(&survivor.access).await.is_empty());
    assert!(server.incidents(&dispatcher.access).await.is_empty());
    assert_eq!(server.count("incidents").await, 0);
    assert_eq!(server.count("incident_status_history").await, 0);

    // Limits are inclusive: exactly 10 000 characters is fine.
    let longest = server
        .create_report(
            &survivor.access,
            &with(&["description"], json!("d".repeat(10_000))),
        )
        .await;
    assert_eq!(longest.description.chars().count(), 10_000);
    assert_case_number(&longest, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_reports_at_once_get_twenty_case_numbers() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let other = server.register_survivor("other@example.org").await;
    let bodies: Vec<Value> = (0..20).map(|i| report(&format!("report {i}"))).collect();
    let results = futures::future::join_all(bodies.iter().enumerate().map(|(i, body)| {
        let access = if i % 2 == 0 {
            &survivor.access
        } else {
            &other.access
        };
        server.post("/api/incidents/", Some(access), body)
    }))
    .await;
    let mut numbers = BTreeSet::new();
    for r in &results {
        r.expect(201);
        let incident: Incident = r.json_as();
        numbers.insert(incident.case_number);
    }
    let day = Utc::now().format("%Y%m%d");
    let expected: BTreeSet<String> = (1..=20).map(|n| format!("KIN-{day}-{n:03}")).collect();
    assert_eq!(numbers, expected, "twenty distinct, gap-free case numbers");
    let dispatcher = server.demo_login("dispatcher").await;
    assert_eq!(server.incidents(&dispatcher.access).await.len(), 20);
    assert_eq!(server.incidents(&survivor.access).await.len(), 10);
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_is_a_bare_array_newest_first_with_filters() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let mut kinds = Vec::new();
    for (i, kind) in ["physical", "sexual", "physical", "economic"]
        .iter()
        .enumerate()
    {
        let mut body = report(&format!("report {i}"));
        body["type"] = json!(kind);
        kinds.push(server.create_report(&survivor.access, &body).await);
    }

    let resp = server.get("/api/incidents/", Some(&survivor.access)).await;
    resp.expect(200);
    assert!(resp.json().is_array(), "a bare array: {}", resp.text);
    let list: Vec<Incident> = resp.json_as();
    let newest_first: Vec<Incident> = kinds.iter().rev().cloned().collect();
    assert_eq!(list, newest_first);

    let physical: Vec<Incident> = server
        .get("/api/incidents/?type=physical", Some(&survivor.access))
        .await
        .json_as();
    let want: Vec<&str> = vec!["report 2", "report 0"];
    assert_eq!(
        physical
            .iter()
            .map(|i| i.description.as_str())
            .collect::<Vec<_>>(),
        want
    );

    let pending: Vec<Incident> = server
        .get(
            "/api/incidents/?status=pending_dispatcher_review",
            Some(&survivor.access),
        )
        .await
        .json_as();
    assert_eq!(pending.len(), 4);
    let both: Vec<Incident> = server
        .get(
            "/api/incidents/?status=pending_dispatcher_review&type=economic",
            Some(&survivor.access),
        )
        .await
        .json_as();
    assert_eq!(
        both.iter()
            .map(|i| i.description.as_str())
            .collect::<Vec<_>>(),
        ["report 3"]
    );
    for q in [
        "?status=assigned",
        "?type=femicide",
        "?status=closed&type=physical",
    ] {
        let none = server
            .get(&format!("/api/incidents/{q}"), Some(&survivor.access))
            .await;
        none.expect(200);
        assert_eq!(none.json(), json!([]), "{q}");
    }
    // An empty filter is no filter.
    let all: Vec<Incident> = server
        .get("/api/incidents/?status=&type=", Some(&survivor.access))
        .await
        .json_as();
    assert_eq!(all.len(), 4);

    server
        .get("/api/incidents/?status=bogus", Some(&survivor.access))
        .await
        .expect_invalid(&["status"]);
    server
        .get("/api/incidents/?type=robbery", Some(&survivor.access))
        .await
        .expect_invalid(&["type"]);
    server
        .get(
            "/api/incidents/?status=PENDING_DISPATCHER_REVIEW",
            Some(&survivor.access),
        )
        .await
        .expect_invalid(&["status"]);
    server
        .get("/api/incidents/", None)
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
}

// ---------------------------------------------------------------------------------------------
// Changing and withdrawing a report
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_survivor_amends_their_report() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let incident = server
        .create_report(&survivor.access, &report("first account"))
        .await;
    let path = format!("/api/incidents/{}/", incident.id);
    let patch = |body: Value| {
        let server = &server;
        let path = path.clone();
        let access = survivor.access.clone();
        async move {
            server
                .call(Method::PATCH, &path, Some(&access), Some(&body))
                .await
        }
    };

    let resp = patch(json!({"description": "  A fuller account.  "})).await;
    resp.expect(200);
    let amended: Incident = resp.json_as();
    assert_eq!(amended.description, "A fuller account.");
    assert_eq!(
        amended.support_services, incident.support_services,
        "untouched"
    );
    assert_eq!(amended.case_number, incident.case_number);
    assert_eq!(amended.status, incident.status);
    assert_eq!(amended.date_submitted, incident.date_submitted);
    assert!(
        amended.last_updated > incident.last_updated,
        "last_updated moves"
    );

    let resp = patch(json!({
        "support_services": ["legal"],
        "provider_preferences": {"proximityPreference": "nearest"},
    }))
    .await;
    resp.expect(200);
    let raw = resp.json();
    assert_eq!(raw["support_services"], json!(["legal"]));
    assert_eq!(
        raw["provider_preferences"]["proximity_preference"],
        json!("nearest")
    );
    assert_eq!(raw["description"], json!("A fuller account."));

    let now: Incident = server.get(&path, Some(&survivor.access)).await.json_as();
    assert_eq!(now, resp.json_as::<Incident>(), "GET shows the change");

    // What may not change, or be changed to nothing.
    for (body, field) in [
        (json!({"status": "closed"}), "status"),
        (json!({"case_number": "KIN-19000101-001"}), "case_number"),
        (json!({"description": "ok", "type": "sexual"}), "type"),
        (json!({"survivor_id": Uuid::new_v4()}), "survivor_id"),
    ] {
        patch(body).await.expect_invalid(&[field]);
    }
    patch(json!({})).await.expect_invalid(&["non_field_errors"]);
    patch(json!({"description": "   "}))
        .await
        .expect_invalid(&["description"]);
    patch(json!({"description": "x".repeat(10_001)}))
        .await
        .expect_invalid(&["description"]);
    patch(json!({"support_services": []}))
        .await
        .expect_invalid(&["support_services"]);
    patch(json!({"support_services": ["legal", "legal"]}))
        .await
        .expect_invalid(&["support_services"]);
    let after: Incident = server.get(&path, Some(&survivor.access)).await.json_as();
    assert_eq!(after, now, "no refused change was stored");
    assert_eq!(
        after.status,
        kintara_api::IncidentStatus::PendingDispatcherReview
    );
}

#[tokio::test]
async fn a_withdrawn_report_is_gone_for_everyone() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let dispatcher = server.demo_login("dispatcher").await;
    let kept = server
        .create_report(&survivor.access, &report("kept"))
        .await;
    let withdrawn = server
        .create_report(&survivor.access, &report("withdrawn"))
        .await;
    let path = format!("/api/incidents/{}/", withdrawn.id);

    let resp = server
        .call(Method::DELETE, &path, Some(&survivor.access), None)
        .await;
    resp.expect(204);
    assert!(resp.text.is_empty(), "204 has no body: {:?}", resp.text);

    for account in [&survivor, &dispatcher] {
        server
            .get(&path, Some(&account.access))
            .await
            .expect_error(404, codes::NOT_FOUND);
        let list = server.incidents(&account.access).await;
        assert_eq!(list, vec![kept.clone()]);
        let filtered: Vec<Incident> = server
            .get(
                "/api/incidents/?status=pending_dispatcher_review",
                Some(&account.access),
            )
            .await
            .json_as();
        assert_eq!(filtered, vec![kept.clone()]);
    }
    server
        .call(
            Method::PATCH,
            &path,
            Some(&survivor.access),
            Some(&json!({"description": "back?"})),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    server
        .call(Method::DELETE, &path, Some(&survivor.access), None)
        .await
        .expect_error(404, codes::NOT_FOUND);
    // The case number is not reused.
    let next = server
        .create_report(&survivor.access, &report("next"))
        .await;
    assert_case_number(&next, 3);
}

// ---------------------------------------------------------------------------------------------
// Who may see and change what
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Who {
    Owner,
    OtherSurvivor,
    Provider,
    Dispatcher,
    Nobody,
}

#[tokio::test]
async fn only_the_owner_and_dispatchers_see_a_report_and_only_the_owner_changes_it() {
    let server = TestServer::demo().await;
    let owner = server.demo_login("survivor").await;
    let other = server.register_survivor("other@example.org").await;
    let provider = server.demo_login("gbv_rescue").await;
    let dispatcher = server.demo_login("dispatcher").await;

    let secret = "He came to my workplace at Gikomba on Tuesday.";
    let incident = server.create_report(&owner.access, &report(secret)).await;
    let others_own = server
        .create_report(&other.access, &report("the other survivor's report"))
        .await;
    let mine_path = format!("/api/incidents/{}/", incident.id);
    let missing_path = format!("/api/incidents/{}/", Uuid::new_v4());
    let (mine, missing) = (mine_path.as_str(), missing_path.as_str());
    let edit = json!({"description": "overwritten"});

    use Who::*;
    let table: Vec<(Who, Method, &str, u16)> = vec![
        (Owner, Method::GET, mine, 200),
        (OtherSurvivor, Method::GET, mine, 404),
        (OtherSurvivor, Method::PATCH, mine, 404),
        (OtherSurvivor, Method::DELETE, mine, 404),
        (Provider, Method::GET, mine, 404),
        (Provider, Method::PATCH, mine, 404),
        (Provider, Method::DELETE, mine, 404),
        (Dispatcher, Method::GET, mine, 200),
        (Dispatcher, Method::PATCH, mine, 403),
        (Dispatcher, Method::DELETE, mine, 403),
        (Nobody, Method::GET, mine, 401),
        (Nobody, Method::PATCH, mine, 401),
        (Nobody, Method::DELETE, mine, 401),
        (Owner, Method::GET, missing, 404),
        (Owner, Method::PATCH, missing, 404),
        (Owner, Method::DELETE, missing, 404),
        (Dispatcher, Method::GET, missing, 404),
        (Owner, Method::GET, "/api/incidents/not-a-uuid/", 404),
        (Owner, Method::PATCH, "/api/incidents/not-a-uuid/", 404),
        (Owner, Method::DELETE, "/api/incidents/not-a-uuid/", 404),
        (Dispatcher, Method::GET, "/api/incidents/1/", 404),
        (Owner, Method::GET, "/api/incidents/KIN-20260101-001/", 404),
    ];
    let not_found_body = server.get(missing, Some(&owner.access)).await.text;
    for (who, method, path, want) in table {
        let token = match who {
            Owner => Some(owner.access.as_str()),
            OtherSurvivor => Some(other.access.as_str()),
            Provider => Some(provider.access.as_str()),
            Dispatcher => Some(dispatcher.access.as_str()),
            Nobody => None,
        };
        let body = (method == Method::PATCH).then_some(&edit);
        let resp = server.call(method.clone(), path, token, body).await;
        assert_eq!(
            resp.status.as_u16(),
            want,
            "{who:?} {method} {path}: {}",
            resp.text
        );
        let code = match want {
            200 => None,
            401 => Some(codes::NOT_AUTHENTICATED),
            403 => Some(ANY),
            _ => Some(codes::NOT_FOUND),
        };
        match code {
            Some(code) => {
                resp.expect_error(want, code);
                assert!(
                    !resp.text.contains(secret),
                    "{who:?} {method} {path} leaks the report"
                );
                assert!(!resp.text.contains(&incident.case_number));
                if want == 404 {
                    // "Not yours" and "does not exist" are indistinguishable.
                    assert_eq!(resp.text, not_found_body, "{who:?} {method} {path}");
                }
            }
            None => assert_eq!(
                resp.json_as::<Incident>(),
                incident,
                "{who:?} {method} {path}"
            ),
        }
    }

    // Lists: each survivor their own, providers nothing here, the dispatcher everything.
    let others_list = server.get("/api/incidents/", Some(&other.access)).await;
    assert!(
        !others_list.text.contains(secret) && !others_list.text.contains(&incident.case_number)
    );
    assert_eq!(
        others_list.json_as::<Vec<Incident>>(),
        vec![others_own.clone()]
    );
    let filtered = server
        .get(
            "/api/incidents/?type=physical&status=pending_dispatcher_review",
            Some(&other.access),
        )
        .await;
    assert!(!filtered.text.contains(&incident.case_number));
    let provider_list = server.get("/api/incidents/", Some(&provider.access)).await;
    provider_list.expect(200);
    assert_eq!(provider_list.json(), json!([]));
    assert_eq!(
        server.incidents(&owner.access).await,
        vec![incident.clone()]
    );
    assert_eq!(
        server.incidents(&dispatcher.access).await,
        vec![others_own, incident.clone()]
    );

    // After all those attempts, the report is exactly as its owner left it.
    let now: Incident = server.get(mine, Some(&owner.access)).await.json_as();
    assert_eq!(now, incident);
}

#[tokio::test]
async fn a_report_filed_again_with_its_client_id_is_stored_once() {
    let server = TestServer::demo().await;
    let survivor = server.demo_login("survivor").await;
    let mut body = report("Filed from the outbox, maybe twice");
    body["client_id"] = json!("outbox-7f3a");
    let first = server
        .post("/api/incidents/", Some(&survivor.access), &body)
        .await;
    first.expect(201);
    let again = server
        .post("/api/incidents/", Some(&survivor.access), &body)
        .await;
    again.expect(200);
    assert_eq!(first.json()["id"], again.json()["id"]);
    // Concurrent retries of another report: still one.
    body["client_id"] = json!("outbox-9c1d");
    let tries = (0..5).map(|_| server.post("/api/incidents/", Some(&survivor.access), &body));
    let answers = futures::future::join_all(tries).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert!(matches!(a.status.as_u16(), 200 | 201), "{}", a.text);
            a.json()["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(server.count("incidents").await, 2);
    // Another survivor's client id does not reach the first one's reports.
    let other = server.register_survivor("other-outbox@example.com").await;
    let theirs = server
        .post("/api/incidents/", Some(&other.access), &body)
        .await;
    theirs.expect(201);
    assert_ne!(theirs.json()["id"], again.json()["id"]);
    // A blank or oversized id is refused, naming the field, and stores nothing.
    for bad in [json!("  "), json!("x".repeat(65))] {
        body["client_id"] = bad;
        let resp = server
            .post("/api/incidents/", Some(&survivor.access), &body)
            .await;
        resp.expect(422);
        assert!(
            resp.json()["errors"]["client_id"].is_array(),
            "{}",
            resp.text
        );
    }
    assert_eq!(server.count("incidents").await, 3);
}

// ---------------------------------------------------------------------------------------------
// Files at rest: the data directory is the server's own (0700) and so are the database and the
// keys in it (0600), on both databases, whatever was there before.
// ---------------------------------------------------------------------------------------------

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Everything in the data directory, with its mode, that another local user could open.
fn readable_by_others(dir: &std::path::Path) -> Vec<String> {
    let mut open = Vec::new();
    for entry in walk(dir) {
        let m = mode(&entry);
        if m & 0o077 != 0 {
            open.push(format!("{} {m:o}", entry.display()));
        }
    }
    open
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).expect("readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            all.extend(walk(&p));
        } else {
            all.push(p);
        }
    }
    all
}

#[tokio::test]
async fn a_new_data_directory_is_the_servers_alone() {
    let outer = tempfile::tempdir().unwrap();
    // A data directory the server creates itself, under a parent that others may read.
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = outer.path().join("kintara");
    let config = kintara_server::testing::config(&data).await;
    let sqlite = config.database_url.is_none();
    let server = TestServer::with_config(config, tempfile::tempdir().unwrap()).await;
    // Something written, so SQLite has its WAL and shared-memory files.
    let survivor = server.register_survivor("amina@example.org").await;
    server
        .post(
            "/api/incidents/",
            Some(&survivor.access),
            &report("what happened"),
        )
        .await
        .expect(201);

    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("evidence")), 0o700);
    for key in ["jwt-secret", "evidence.key"] {
        assert_eq!(mode(&data.join(key)), 0o600, "{key}");
    }
    if sqlite {
        for f in ["kintara.db", "kintara.db-wal", "kintara.db-shm"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
    }
    assert_eq!(readable_by_others(&data), Vec::<String>::new());
}

#[tokio::test]
async fn a_data_directory_left_open_is_narrowed_at_start() {
    let data = tempfile::tempdir().unwrap();
    // As an older version under umask 022, or a copy made by hand, would have left it.
    let first = TestServer::with_config(
        kintara_server::testing::config(data.path()).await,
        tempfile::tempdir().unwrap(),
    )
    .await;
    first.running.stop().await;
    for p in walk(data.path()) {
        let wide = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(wide)).unwrap();
    }
    assert_ne!(readable_by_others(data.path()), Vec::<String>::new());

    let config = kintara_server::testing::config(data.path()).await;
    let _again = TestServer::with_config(config, tempfile::tempdir().unwrap()).await;
    assert_eq!(readable_by_others(data.path()), Vec::<String>::new());
}
