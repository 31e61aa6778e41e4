//! The client core against a real server (in-process, on a real socket, with its own SQLite).

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use kintara_api::{
    IncidentCreate, IncidentType, Location, RegisterRequest, Role, Severity, SupportService,
    UrgencyLevel,
};
use kintara_core::{Client, CoreError, MemoryStore, TokenStore};
use kintara_server::Running;

const PASSWORD: &str = "kintara-demo";

async fn server(access_ttl_secs: u64) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = kintara_server::testing::config(dir.path()).await;
    config.demo = true;
    config.access_ttl_secs = access_ttl_secs;
    (kintara_server::start(config).await.unwrap(), dir)
}

fn report(description: &str) -> IncidentCreate {
    IncidentCreate {
        kind: IncidentType::Emotional,
        incident_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        incident_time: None,
        description: description.into(),
        location: Location {
            address: "Mombasa".into(),
            ..Default::default()
        },
        severity: Severity::Medium,
        urgency_level: UrgencyLevel::Routine,
        support_services: vec![SupportService::Counseling],
        provider_preferences: None,
        is_anonymous: false,
        client_id: None,
    }
}

#[tokio::test]
async fn signs_in_files_a_report_and_lists_it() {
    let (srv, _d) = server(1800).await;
    let client = Client::new(&srv.url(), Arc::new(MemoryStore::default())).unwrap();
    let user = client
        .login("survivor@kintara.test", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.role, Role::Survivor);
    let filed = client.create_incident(&report("first")).await.unwrap();
    assert!(filed.case_number.starts_with("KIN-"));
    let list = client.list_incidents().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].case_number, filed.case_number);
    assert_eq!(
        client.get_incident(filed.id).await.unwrap().description,
        "first"
    );
    client.delete_incident(filed.id).await.unwrap();
    assert!(client.list_incidents().await.unwrap().is_empty());
}

#[tokio::test]
async fn errors_say_what_went_wrong() {
    let (srv, _d) = server(1800).await;
    let client = Client::new(&srv.url(), Arc::new(MemoryStore::default())).unwrap();
    let e = client
        .login("survivor@kintara.test", "nope")
        .await
        .unwrap_err();
    assert_eq!(
        e.refusal(),
        Some(&kintara_api::Refusal::InvalidCredentials {})
    );
    assert!(client.current_user().is_none());
    // Nothing authenticated works before sign-in, and no request is made with a missing token.
    assert!(matches!(
        client.list_incidents().await,
        Err(CoreError::LoggedOut(_))
    ));

    let bad = RegisterRequest {
        email: "new@x.org".into(),
        password: "long enough".into(),
        first_name: "N".into(),
        last_name: "M".into(),
        role: Role::Provider,
        provider_type: None,
        is_anonymous: false,
    };
    match client.register(&bad).await {
        Err(CoreError::Api {
            status: 422,
            envelope,
            ..
        }) => {
            assert!(envelope.errors.contains_key("provider_type"))
        }
        other => panic!("unexpected {other:?}"),
    }

    client
        .login("survivor@kintara.test", PASSWORD)
        .await
        .unwrap();
    let mut r = report("x");
    r.support_services.clear();
    match client.create_incident(&r).await {
        Err(CoreError::Api {
            status: 422,
            envelope,
            ..
        }) => {
            assert!(envelope.errors.contains_key("support_services"))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(
        &format!("127.0.0.1:{port}"),
        Arc::new(MemoryStore::default()),
    )
    .unwrap();
    assert!(matches!(client.health().await, Err(CoreError::Network(_))));
    assert!(matches!(
        client.login("survivor@kintara.test", PASSWORD).await,
        Err(CoreError::Network(_))
    ));
}

#[tokio::test]
async fn concurrent_requests_after_expiry_share_one_refresh() {
    let (srv, _d) = server(1).await;
    let store = Arc::new(MemoryStore::default());
    let client = Arc::new(Client::new(&srv.url(), store.clone()).unwrap());
    client
        .login("survivor@kintara.test", PASSWORD)
        .await
        .unwrap();
    client
        .create_incident(&report("before expiry"))
        .await
        .unwrap();
    let before = store.load().unwrap().unwrap().tokens;
    // A token lives until the end of the second after its `exp`: wait that out.
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // Ten calls hit 401 together. A second refresh with the spent token would make the server
    // revoke the session (reuse detection), so all ten succeeding proves a single refresh.
    let calls = (0..10).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.list_incidents().await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap().len(), 1);
    }
    let after = store.load().unwrap().unwrap().tokens;
    assert_ne!(
        before.refresh, after.refresh,
        "the rotated pair is persisted"
    );
    assert_ne!(before.access, after.access);
    client.me().await.expect("the session is still alive");
}

#[tokio::test]
async fn a_session_resumes_from_the_store_and_logout_ends_it_everywhere() {
    let (srv, _d) = server(1800).await;
    let store = Arc::new(MemoryStore::default());
    let first = Client::new(&srv.url(), store.clone()).unwrap();
    first
        .login("survivor@kintara.test", PASSWORD)
        .await
        .unwrap();
    let tokens = store.load().unwrap().unwrap().tokens;
    drop(first);

    // A restarted app picks the session up without signing in again.
    let second = Client::new(&srv.url(), store.clone()).unwrap();
    assert_eq!(
        second.current_user().unwrap().email,
        "survivor@kintara.test"
    );
    second.me().await.unwrap();

    second.logout().await.unwrap();
    assert!(
        store.load().unwrap().is_none(),
        "nothing left on the device"
    );
    // The server ended the session too: the old tokens are useless to anyone holding a copy.
    let thief = Client::new(&srv.url(), Arc::new(MemoryStore::default())).unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}/api/auth/me/", srv.url()))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    drop(thief);
}

#[tokio::test]
async fn a_session_ended_by_the_server_logs_the_client_out_cleanly() {
    let (srv, _d) = server(1).await;
    let store = Arc::new(MemoryStore::default());
    let client = Client::new(&srv.url(), store.clone()).unwrap();
    client
        .login("survivor@kintara.test", PASSWORD)
        .await
        .unwrap();
    let stolen = store.load().unwrap().unwrap().tokens.refresh;

    // Someone replays the refresh token first; the server rotates it for them...
    let resp = reqwest::Client::new()
        .post(format!("{}/api/auth/refresh/", srv.url()))
        .json(&serde_json::json!({ "refresh": stolen }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A token lives until the end of the second after its `exp`: wait that out.
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // ...so the real client's refresh is a reuse: the server ends the session, and the client
    // lands signed out with its store wiped, instead of retrying forever.
    match client.list_incidents().await {
        Err(CoreError::LoggedOut(_)) => {}
        other => panic!("expected a clean logout, got {other:?}"),
    }
    assert!(client.current_user().is_none());
    assert!(store.load().unwrap().is_none());
}
