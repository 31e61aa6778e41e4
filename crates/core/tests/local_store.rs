//! The conformance suite of `LocalStore`: every case is written once, generically, and run on
//! every backend. SQLite runs on a real file in a temp dir; its own cases check what is on disk.

use std::path::Path;

use chrono::NaiveDate;
use kintara_api::{IncidentCreate, IncidentType, Location, Severity, SupportService, UrgencyLevel};
use kintara_core::vault::Vault;
use kintara_core::{
    LocalError, LocalStore, MemoryLocal, NewOutboxItem, OutboxAction, OutboxState, SqliteLocal,
};
use uuid::Uuid;

const KEY: [u8; 32] = [42; 32];

fn message(room: Uuid, content: &str) -> NewOutboxItem {
    NewOutboxItem::new(
        Uuid::new_v4().to_string(),
        OutboxAction::SendMessage {
            room,
            content: content.into(),
        },
    )
}

fn report(description: &str) -> NewOutboxItem {
    NewOutboxItem::new(
        Uuid::new_v4().to_string(),
        OutboxAction::FileReport(IncidentCreate {
            kind: IncidentType::Emotional,
            incident_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            incident_time: None,
            description: description.into(),
            location: Location {
                address: "Kisumu".into(),
                ..Default::default()
            },
            severity: Severity::High,
            urgency_level: UrgencyLevel::Urgent,
            support_services: vec![SupportService::Counseling],
            provider_preferences: None,
            is_anonymous: true,
            client_id: None,
        }),
    )
}

/// A file of the report with client id `report`, carrying `bytes`.
fn attachment(report: &str, name: &str, bytes: Vec<u8>) -> NewOutboxItem {
    NewOutboxItem::new(
        Uuid::new_v4().to_string(),
        OutboxAction::AttachEvidence {
            report: report.into(),
            file_name: name.into(),
            description: None,
            size_bytes: bytes.len() as u64,
        },
    )
    .with_attachment(bytes)
}

/// Bytes that are not all alike, so a lost, swapped or repeated chunk shows.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed as usize * 7) % 251) as u8)
        .collect()
}

fn content_of(action: &OutboxAction) -> String {
    match action {
        OutboxAction::SendMessage { content, .. } => content.clone(),
        OutboxAction::FileReport(r) => r.description.clone(),
        OutboxAction::AttachEvidence { file_name, .. } => file_name.clone(),
        other => panic!("unexpected action {other:?}"),
    }
}

// ---- the cases, once ----

async fn keeps_the_outbox_in_order<S: LocalStore>(s: S) {
    let room = Uuid::new_v4();
    let a = s.enqueue(message(room, "first")).await.unwrap();
    let b = s.enqueue(report("second")).await.unwrap();
    let c = s.enqueue(message(room, "third")).await.unwrap();
    assert!(a.id < b.id && b.id < c.id, "ids increase");
    assert_eq!(a.lane, format!("room:{room}"));
    assert_eq!(b.lane, "reports");
    assert_eq!(a.state, OutboxState::Queued);
    assert_eq!(a.attempts, 0);
    let items = s.outbox().await.unwrap();
    let contents: Vec<String> = items.iter().map(|i| content_of(&i.action)).collect();
    assert_eq!(contents, ["first", "second", "third"]);
    assert_eq!(items[1].client_id, b.client_id, "the client id is kept");
}

async fn updates_and_removes<S: LocalStore>(s: S) {
    let room = Uuid::new_v4();
    let a = s.enqueue(message(room, "a")).await.unwrap();
    let b = s.enqueue(message(room, "b")).await.unwrap();
    let mut failed = a.clone();
    failed.state = OutboxState::Failed;
    failed.attempts = 3;
    failed.next_attempt_at = Some(1_234);
    failed.last_error = Some("You are not in this room.".into());
    s.update(&failed).await.unwrap();
    let items = s.outbox().await.unwrap();
    assert_eq!(items[0].state, OutboxState::Failed);
    assert_eq!(items[0].attempts, 3);
    assert_eq!(items[0].next_attempt_at, Some(1_234));
    assert_eq!(
        items[0].last_error.as_deref(),
        Some("You are not in this room.")
    );
    assert_eq!(items[1].state, OutboxState::Queued, "others untouched");
    s.remove(a.id).await.unwrap();
    let items = s.outbox().await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].id, b.id);
    assert!(matches!(
        s.update(&failed).await,
        Err(LocalError::NotFound(id)) if id == a.id
    ));
    // A new item never reuses a removed id.
    let c = s.enqueue(message(room, "c")).await.unwrap();
    assert!(c.id > b.id);
}

async fn requeues_interrupted_sends<S: LocalStore>(s: S) {
    let room = Uuid::new_v4();
    let mut sending = s.enqueue(message(room, "in flight")).await.unwrap();
    let mut failed = s.enqueue(message(room, "refused")).await.unwrap();
    let queued = s.enqueue(message(room, "waiting")).await.unwrap();
    sending.state = OutboxState::Sending;
    s.update(&sending).await.unwrap();
    failed.state = OutboxState::Failed;
    s.update(&failed).await.unwrap();
    s.requeue_interrupted().await.unwrap();
    let items = s.outbox().await.unwrap();
    assert_eq!(items[0].state, OutboxState::Queued);
    assert_eq!(items[0].attempts, 1, "the interrupted try may have arrived");
    assert_eq!(items[1].state, OutboxState::Failed, "failed stays failed");
    assert_eq!(items[2].state, OutboxState::Queued);
    assert_eq!(items[2].attempts, queued.attempts);
}

async fn keeps_the_cursor<S: LocalStore>(s: S) {
    assert_eq!(s.cursor().await.unwrap(), None);
    s.set_cursor("41").await.unwrap();
    s.set_cursor("42").await.unwrap();
    assert_eq!(s.cursor().await.unwrap().as_deref(), Some("42"));
}

async fn caches_in_key_order<S: LocalStore>(s: S) {
    s.put_cached("rooms", "b", r#"{"n":2}"#).await.unwrap();
    s.put_cached("rooms", "a", r#"{"n":1}"#).await.unwrap();
    s.put_cached("rooms", "c", r#"{"n":3}"#).await.unwrap();
    s.put_cached("cases", "a", r#"{"case":true}"#)
        .await
        .unwrap();
    s.put_cached("rooms", "b", r#"{"n":22}"#).await.unwrap();
    let rooms = s.cached("rooms").await.unwrap();
    let pairs: Vec<(&str, &str)> = rooms.iter().map(|(k, v)| (&**k, &**v)).collect();
    assert_eq!(
        pairs,
        [
            ("a", r#"{"n":1}"#),
            ("b", r#"{"n":22}"#),
            ("c", r#"{"n":3}"#)
        ]
    );
    s.remove_cached("rooms", "a").await.unwrap();
    assert_eq!(s.cached("rooms").await.unwrap().len(), 2);
    assert_eq!(s.cached("cases").await.unwrap().len(), 1, "kinds are apart");
    assert!(s.cached("notifications").await.unwrap().is_empty());
}

async fn wipes_everything<S: LocalStore>(s: S) {
    s.set_cursor("7").await.unwrap();
    let before = s.enqueue(message(Uuid::new_v4(), "x")).await.unwrap();
    s.put_cached("rooms", "a", "{}").await.unwrap();
    s.wipe().await.unwrap();
    assert_eq!(s.cursor().await.unwrap(), None);
    assert!(s.outbox().await.unwrap().is_empty());
    assert!(s.cached("rooms").await.unwrap().is_empty());
    // Still usable after a wipe.
    let after = s.enqueue(message(Uuid::new_v4(), "y")).await.unwrap();
    assert!(after.id > before.id);
}

async fn keeps_attachments_with_their_items<S: LocalStore>(s: S) {
    let r = report("with files");
    let report_id = r.client_id.clone();
    // Larger than one SQLite chunk (1 MiB) and not a multiple of it; and a tiny one.
    let big = filler(2 * 1024 * 1024 + 123, 1);
    let small = vec![7u8; 3];
    let items = s
        .enqueue_all(vec![
            r,
            attachment(&report_id, "photo.jpg", big.clone()),
            attachment(&report_id, "note.pdf", small.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items[0].id < items[1].id && items[1].id < items[2].id,
        "in order"
    );
    assert!(items.iter().all(|i| i.lane == "reports"), "one lane");
    let listed = s.outbox().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| content_of(&i.action))
            .collect::<Vec<_>>(),
        ["with files", "photo.jpg", "note.pdf"]
    );
    assert_eq!(s.attachment(&items[1].client_id).await.unwrap(), Some(big));
    assert_eq!(
        s.attachment(&items[2].client_id).await.unwrap(),
        Some(small.clone())
    );
    assert_eq!(s.attachment(&items[0].client_id).await.unwrap(), None);
    assert_eq!(s.attachment("no such item").await.unwrap(), None);

    // Progress updates keep the bytes; removing the item removes them with it.
    let mut sending = items[1].clone();
    sending.state = OutboxState::Sending;
    s.update(&sending).await.unwrap();
    assert!(s.attachment(&items[1].client_id).await.unwrap().is_some());
    s.remove(items[1].id).await.unwrap();
    assert_eq!(s.attachment(&items[1].client_id).await.unwrap(), None);
    assert_eq!(
        s.attachment(&items[2].client_id).await.unwrap(),
        Some(small),
        "the others stay"
    );
    s.wipe().await.unwrap();
    assert_eq!(s.attachment(&items[2].client_id).await.unwrap(), None);
}

async fn enqueues_all_or_nothing<S: LocalStore>(s: S) {
    let first = s
        .enqueue(message(Uuid::new_v4(), "already here"))
        .await
        .unwrap();
    let mut clash = report("clashes");
    clash.client_id = first.client_id.clone();
    let fine = report("fine");
    let fine_id = fine.client_id.clone();
    let file = attachment(&fine_id, "a.png", vec![1, 2, 3]);
    let file_id = file.client_id.clone();
    assert!(s.enqueue_all(vec![fine, file, clash]).await.is_err());
    let listed = s.outbox().await.unwrap();
    assert_eq!(listed.len(), 1, "none of the batch was stored");
    assert_eq!(s.attachment(&file_id).await.unwrap(), None);
    assert!(s.enqueue_all(Vec::new()).await.unwrap().is_empty());
}

// ---- the backends ----

async fn sqlite(dir: &Path) -> SqliteLocal {
    SqliteLocal::open(&dir.join("local.db"), Vault::from_key(KEY))
        .await
        .unwrap()
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(kintara_core::MemoryLocal::default()).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$case(super::sqlite(dir.path()).await).await;
                }
            )*
        }
    };
}

conformance!(
    keeps_the_outbox_in_order,
    updates_and_removes,
    requeues_interrupted_sends,
    keeps_the_cursor,
    caches_in_key_order,
    wipes_everything,
    keeps_attachments_with_their_items,
    enqueues_all_or_nothing,
);

// ---- SQLite only: what is on the disk ----

#[tokio::test]
async fn sqlite_reopened_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let room = Uuid::new_v4();
    let ids = {
        let s = sqlite(dir.path()).await;
        s.set_cursor("99").await.unwrap();
        s.put_cached("rooms", "r1", r#"{"name":"case room"}"#)
            .await
            .unwrap();
        let a = s.enqueue(message(room, "hello")).await.unwrap();
        let b = s.enqueue(report("a report")).await.unwrap();
        (a.id, b.id)
    };
    let s = sqlite(dir.path()).await;
    assert_eq!(s.cursor().await.unwrap().as_deref(), Some("99"));
    assert_eq!(
        s.cached("rooms").await.unwrap(),
        [("r1".to_string(), r#"{"name":"case room"}"#.to_string())]
    );
    let items = s.outbox().await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [ids.0, ids.1]
    );
    assert_eq!(content_of(&items[0].action), "hello");
    assert_eq!(content_of(&items[1].action), "a report");
    let c = s.enqueue(message(room, "later")).await.unwrap();
    assert!(c.id > ids.1);
}

#[tokio::test]
async fn sqlite_reopened_keeps_attachments_and_they_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let marker = b"SECRET-EVIDENCE-BYTES".repeat(100_000);
    let r = report("a report");
    let report_id = r.client_id.clone();
    let file_id = {
        let s = sqlite(dir.path()).await;
        let items = s
            .enqueue_all(vec![r, attachment(&report_id, "photo.jpg", marker.clone())])
            .await
            .unwrap();
        items[1].client_id.clone()
    };
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(
        !String::from_utf8_lossy(&raw).contains("SECRET-EVIDENCE-BYTES"),
        "the file is on the disk in plain text"
    );
    let s = sqlite(dir.path()).await;
    assert_eq!(s.attachment(&file_id).await.unwrap(), Some(marker));
    // Another key opens nothing (the store refuses before any read).
    drop(s);
    assert!(matches!(
        SqliteLocal::open(&dir.path().join("local.db"), Vault::from_key([9; 32])).await,
        Err(LocalError::WrongKey)
    ));
}

#[tokio::test]
async fn sqlite_with_a_wrong_key_refuses_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    {
        let s = sqlite(dir.path()).await;
        s.enqueue(message(Uuid::new_v4(), "keep me")).await.unwrap();
    }
    let wrong = SqliteLocal::open(&path, Vault::from_key([7; 32])).await;
    assert!(matches!(wrong, Err(LocalError::WrongKey)));
    let err = wrong.err().unwrap().to_string();
    assert!(err.contains("another key"), "says why: {err}");
    let s = sqlite(dir.path()).await;
    let items = s.outbox().await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(content_of(&items[0].action), "keep me");
}

#[tokio::test]
async fn sqlite_file_holds_no_content_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite(dir.path()).await;
    let room = Uuid::new_v4();
    s.enqueue(message(room, "SECRET-MESSAGE-TEXT"))
        .await
        .unwrap();
    let r = s
        .enqueue(report("SECRET-REPORT-DESCRIPTION"))
        .await
        .unwrap();
    let mut failed = r.clone();
    failed.state = OutboxState::Failed;
    failed.last_error = Some("SECRET-ERROR-ECHO".into());
    s.update(&failed).await.unwrap();
    s.put_cached("messages", "m1", r#"{"content":"SECRET-CACHED-MESSAGE"}"#)
        .await
        .unwrap();
    s.set_cursor("12345").await.unwrap();
    drop(s);
    // The main file and its WAL: whatever SQLite has written so far.
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let raw = String::from_utf8_lossy(&raw);
    for secret in [
        "SECRET-MESSAGE-TEXT",
        "SECRET-REPORT-DESCRIPTION",
        "SECRET-ERROR-ECHO",
        "SECRET-CACHED-MESSAGE",
        "Kisumu",
    ] {
        assert!(
            !raw.contains(secret),
            "{secret} is on the disk in plain text"
        );
    }
    // Sanity: the file is the real store (the unsealed cursor is there).
    assert!(raw.contains("12345"));
}

#[tokio::test]
async fn both_backends_agree_on_a_mixed_sequence() {
    async fn run<S: LocalStore>(s: S) -> Vec<(String, OutboxState, u32)> {
        let room = Uuid::new_v4();
        let a = s.enqueue(message(room, "one")).await.unwrap();
        s.enqueue(report("two")).await.unwrap();
        let mut c = s.enqueue(message(room, "three")).await.unwrap();
        s.remove(a.id).await.unwrap();
        c.state = OutboxState::Sending;
        s.update(&c).await.unwrap();
        s.requeue_interrupted().await.unwrap();
        s.outbox()
            .await
            .unwrap()
            .into_iter()
            .map(|i| (content_of(&i.action), i.state, i.attempts))
            .collect()
    }
    let dir = tempfile::tempdir().unwrap();
    let memory = run(MemoryLocal::default()).await;
    let sqlite = run(sqlite(dir.path()).await).await;
    assert_eq!(memory, sqlite);
    assert_eq!(
        memory,
        [
            ("two".to_string(), OutboxState::Queued, 0),
            ("three".to_string(), OutboxState::Queued, 1)
        ]
    );
}
