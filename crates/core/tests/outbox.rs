//! The outbox against a real server (in-process, real socket, its own SQLite): what a user would
//! notice is that nothing they sent is lost or doubled, whatever the network or the app did.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use kintara_api::{
    AssignRequest, Incident, IncidentCreate, IncidentType, Location, Severity, SupportService,
    UrgencyLevel,
};
use kintara_core::vault::Vault;
use kintara_core::{
    Client, LocalStore, MemoryLocal, MemoryStore, NewOutboxItem, Outbox, OutboxAction, OutboxEvent,
    OutboxItem, OutboxState, SqliteLocal,
};
use kintara_server::Running;
use uuid::Uuid;

const PASSWORD: &str = "kintara-demo";
const KEY: [u8; 32] = [5; 32];

struct World {
    server: Option<Running>,
    config: kintara_server::config::Config,
    _dir: tempfile::TempDir,
    survivor: Arc<Client>,
    healthcare: Arc<Client>,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let mut config = kintara_server::testing::config(dir.path()).await;
        config.demo = true;
        let server = kintara_server::start(config.clone()).await.unwrap();
        // Restarts reuse the port and the database, as a restarted server process would.
        config.bind = server.addr;
        let url = server.url();
        World {
            survivor: login(&url, "survivor@kintara.test").await,
            healthcare: login(&url, "healthcare@kintara.test").await,
            server: Some(server),
            config,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.config.bind)
    }

    async fn stop(&mut self) {
        self.server.take().expect("running").stop().await;
    }

    async fn restart(&mut self) {
        self.server = Some(kintara_server::start(self.config.clone()).await.unwrap());
    }

    /// A case the survivor reported, assigned to and accepted by healthcare, and its chat room.
    async fn case_room(&self) -> (Incident, Uuid) {
        let incident = self
            .survivor
            .create_incident(&report("needs a doctor"))
            .await
            .unwrap();
        let dispatcher = login(&self.url(), "dispatcher@kintara.test").await;
        let provider = self.healthcare.current_user().unwrap().id;
        dispatcher
            .assign(
                incident.id,
                &AssignRequest {
                    provider_ids: vec![provider],
                    provider_id: None,
                    notes: None,
                },
            )
            .await
            .unwrap();
        self.healthcare
            .accept_assignment(incident.id, None)
            .await
            .unwrap();
        let room = self
            .survivor
            .rooms()
            .await
            .unwrap()
            .results
            .into_iter()
            .find(|r| r.incident == Some(incident.id))
            .expect("the case room")
            .id;
        (incident, room)
    }

    /// The texts of the room as the provider reads them, oldest first.
    async fn texts(&self, room: Uuid) -> Vec<String> {
        let page = self.healthcare.messages(room, None, 200).await.unwrap();
        page.results
            .into_iter()
            .filter(|m| m.sender.is_some())
            .filter_map(|m| m.content)
            .collect()
    }
}

async fn login(url: &str, email: &str) -> Arc<Client> {
    let client = Client::new(url, Arc::new(MemoryStore::default())).unwrap();
    client.login(email, PASSWORD).await.unwrap();
    Arc::new(client)
}

fn report(description: &str) -> IncidentCreate {
    IncidentCreate {
        kind: IncidentType::Physical,
        incident_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        incident_time: None,
        description: description.into(),
        location: Location {
            address: "Nakuru".into(),
            ..Default::default()
        },
        severity: Severity::High,
        urgency_level: UrgencyLevel::Urgent,
        support_services: vec![SupportService::Medical],
        provider_preferences: None,
        is_anonymous: false,
        client_id: None,
    }
}

fn message(room: Uuid, content: &str) -> OutboxAction {
    OutboxAction::SendMessage {
        room,
        content: content.into(),
    }
}

/// Polls `check` until it holds, failing the test after 20 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start<S: LocalStore>(
    store: Arc<S>,
    client: Arc<Client>,
) -> (Arc<Outbox<S>>, tokio::task::JoinHandle<()>) {
    let outbox = Arc::new(Outbox::new(store, client));
    let task = tokio::spawn(outbox.clone().run());
    (outbox, task)
}

async fn items<S: LocalStore>(outbox: &Outbox<S>) -> Vec<OutboxItem> {
    outbox.items().await.unwrap()
}

fn drain_delivered(events: &mut tokio::sync::broadcast::Receiver<OutboxEvent>) -> Vec<String> {
    let mut ids = Vec::new();
    while let Ok(OutboxEvent::Delivered { client_id, .. }) = events.try_recv() {
        ids.push(client_id);
    }
    ids
}

#[tokio::test]
async fn messages_sent_while_the_server_is_down_arrive_once_and_in_order() {
    let mut w = World::new().await;
    let (_, room) = w.case_room().await;
    w.stop().await;

    let (outbox, task) = start(Arc::new(MemoryLocal::default()), w.survivor.clone());
    let mut events = outbox.events();
    let view = outbox.subscribe();
    let mut queued = Vec::new();
    for i in 0..5 {
        queued.push(
            outbox
                .enqueue(message(room, &format!("m{i}")))
                .await
                .unwrap(),
        );
    }
    // Local echo: every message shows at once, before any network call succeeds.
    assert_eq!(view.borrow().len(), 5);
    eventually("the first message was tried and is waiting", || async {
        let items = items(&outbox).await;
        items[0].attempts >= 1 && items[0].state == OutboxState::Queued
    })
    .await;
    let waiting = items(&outbox).await;
    assert_eq!(waiting.len(), 5, "nothing is dropped while offline");
    assert!(waiting[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("cannot reach"));
    assert!(waiting[0].next_attempt_at.is_some(), "it backs off");
    assert!(
        waiting[1..].iter().all(|i| i.attempts == 0),
        "later messages wait behind the head of their room"
    );

    w.restart().await;
    outbox.wake();
    eventually("the outbox empties", || async {
        items(&outbox).await.is_empty()
    })
    .await;
    assert!(view.borrow().is_empty(), "the view follows");
    assert_eq!(w.texts(room).await, ["m0", "m1", "m2", "m3", "m4"]);
    let delivered = drain_delivered(&mut events);
    let expected: Vec<String> = queued.iter().map(|i| i.client_id.clone()).collect();
    assert_eq!(delivered, expected);
    task.abort();
}

#[tokio::test]
async fn a_refused_item_fails_with_its_reason_and_the_rest_still_go() {
    let w = World::new().await;
    let (_, room) = w.case_room().await;
    let (outbox, task) = start(Arc::new(MemoryLocal::default()), w.survivor.clone());
    outbox.enqueue(message(room, "before")).await.unwrap();
    let blank = outbox.enqueue(message(room, "   ")).await.unwrap();
    outbox.enqueue(message(room, "after")).await.unwrap();
    let elsewhere = outbox
        .enqueue(message(Uuid::new_v4(), "to a room that does not exist"))
        .await
        .unwrap();

    eventually("only the refused items are left", || async {
        let items = items(&outbox).await;
        items.len() == 2 && items.iter().all(|i| i.state == OutboxState::Failed)
    })
    .await;
    assert_eq!(w.texts(room).await, ["before", "after"]);
    let failed = items(&outbox).await;
    assert_eq!(failed[0].id, blank.id);
    assert_eq!(failed[1].id, elsewhere.id);
    for item in &failed {
        let reason = item.last_error.as_deref().unwrap_or_default();
        assert!(!reason.is_empty(), "a reason to show: {item:?}");
    }
    let not_found = failed[1].last_error.as_deref().unwrap().to_lowercase();
    assert!(
        not_found.contains("not found"),
        "the server's reason: {not_found}"
    );

    // Retrying a refused item gets the same answer; discarding it is the user's way out.
    outbox.retry(elsewhere.id).await.unwrap();
    eventually("the retry is refused again", || async {
        items(&outbox).await[1].state == OutboxState::Failed
    })
    .await;
    outbox.discard(blank.id).await.unwrap();
    outbox.discard(elsewhere.id).await.unwrap();
    assert!(items(&outbox).await.is_empty());
    assert_eq!(w.texts(room).await, ["before", "after"], "nothing doubled");
    task.abort();
}

#[tokio::test]
async fn a_report_whose_answer_was_lost_is_filed_once() {
    let w = World::new().await;
    let store = Arc::new(MemoryLocal::default());
    // The first run: the report is persisted, sent, reaches the server, and the app dies before
    // the answer is read (the item is still "sending").
    let first_run = Outbox::new(store.clone(), w.survivor.clone());
    let mut item = first_run
        .enqueue(OutboxAction::FileReport(report("lost answer")))
        .await
        .unwrap();
    let OutboxAction::FileReport(sent) = &item.action else {
        unreachable!()
    };
    assert_eq!(sent.client_id.as_deref(), Some(item.client_id.as_str()));
    let filed = w.survivor.create_incident(sent).await.unwrap();
    item.state = OutboxState::Sending;
    store.update(&item).await.unwrap();
    drop(first_run);

    // The next run sends it again; the server recognises the client id.
    let (outbox, task) = start(store, w.survivor.clone());
    let mut events = outbox.events();
    eventually("the report is delivered", || async {
        items(&outbox).await.is_empty()
    })
    .await;
    let reports = w.survivor.list_incidents().await.unwrap();
    assert_eq!(reports.len(), 1, "one report, not two");
    assert_eq!(reports[0].id, filed.id);
    let OutboxEvent::Delivered {
        client_id,
        result_json,
    } = events.recv().await.unwrap();
    assert_eq!(client_id, item.client_id);
    let answer: Incident = serde_json::from_str(&result_json).unwrap();
    assert_eq!(answer.id, filed.id, "the answer is the first report");
    task.abort();
}

#[tokio::test]
async fn an_accept_that_arrived_before_a_crash_counts_as_delivered() {
    let w = World::new().await;
    let incident = w.survivor.create_incident(&report("help")).await.unwrap();
    let dispatcher = login(&w.url(), "dispatcher@kintara.test").await;
    dispatcher
        .assign(
            incident.id,
            &AssignRequest {
                provider_ids: vec![w.healthcare.current_user().unwrap().id],
                provider_id: None,
                notes: None,
            },
        )
        .await
        .unwrap();
    let store = Arc::new(MemoryLocal::default());
    let mut item = store
        .enqueue(NewOutboxItem::new(
            Uuid::new_v4().to_string(),
            OutboxAction::Accept {
                incident: incident.id,
                notes: None,
            },
        ))
        .await
        .unwrap();
    // The accept reached the server; the app was killed before it heard back.
    w.healthcare
        .accept_assignment(incident.id, None)
        .await
        .unwrap();
    item.state = OutboxState::Sending;
    store.update(&item).await.unwrap();

    let (outbox, task) = start(store, w.healthcare.clone());
    let mut events = outbox.events();
    eventually("the accept leaves the outbox", || async {
        items(&outbox).await.is_empty()
    })
    .await;
    // The server said "already accepted" (409): that is the earlier try's effect, not a failure.
    let OutboxEvent::Delivered { result_json, .. } = events.recv().await.unwrap();
    assert_eq!(result_json, "null");
    task.abort();
}

#[tokio::test]
async fn waits_while_signed_out_and_sends_after_sign_in() {
    let w = World::new().await;
    let client = Arc::new(Client::new(&w.url(), Arc::new(MemoryStore::default())).unwrap());
    let (outbox, task) = start(Arc::new(MemoryLocal::default()), client.clone());
    outbox
        .enqueue(OutboxAction::FileReport(report("written before sign-in")))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = items(&outbox).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].state, OutboxState::Queued, "kept, not failed");
    assert_eq!(held[0].attempts, 0, "no backoff burnt on a missing session");

    client
        .login("survivor@kintara.test", PASSWORD)
        .await
        .unwrap();
    outbox.wake();
    eventually("the report is delivered", || async {
        items(&outbox).await.is_empty()
    })
    .await;
    let reports = client.list_incidents().await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].description, "written before sign-in");
    task.abort();
}

async fn open_sqlite(path: &Path) -> Arc<SqliteLocal> {
    Arc::new(SqliteLocal::open(path, Vault::from_key(KEY)).await.unwrap())
}

#[tokio::test]
async fn a_sqlite_outbox_survives_the_app_being_killed() {
    let mut w = World::new().await;
    let (_, room) = w.case_room().await;
    let device = tempfile::tempdir().unwrap();
    let db = device.path().join("local.db");
    w.stop().await;

    {
        let (outbox, task) = start(open_sqlite(&db).await, w.survivor.clone());
        for text in ["one", "two", "three"] {
            outbox.enqueue(message(room, text)).await.unwrap();
        }
        outbox
            .enqueue(OutboxAction::FileReport(report("made offline")))
            .await
            .unwrap();
        eventually("a send was tried", || async {
            items(&outbox).await.iter().any(|i| i.attempts > 0)
        })
        .await;
        // Killed: the loop stops wherever it was, and everything in memory is gone.
        task.abort();
        let _ = task.await;
    }

    w.restart().await;
    // A new process: a new client (signed in again) and the store reopened from the file.
    let survivor = login(&w.url(), "survivor@kintara.test").await;
    let store = open_sqlite(&db).await;
    assert_eq!(store.outbox().await.unwrap().len(), 4, "all kept on disk");
    let (outbox, task) = start(store, survivor.clone());
    eventually("everything is delivered", || async {
        items(&outbox).await.is_empty()
    })
    .await;
    assert_eq!(w.texts(room).await, ["one", "two", "three"]);
    let offline: Vec<_> = survivor
        .list_incidents()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.description == "made offline")
        .collect();
    assert_eq!(offline.len(), 1);
    task.abort();
}
