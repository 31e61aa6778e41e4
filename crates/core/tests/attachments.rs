//! A report's files through the outbox, and the server's `Retry-After` in the core, against a
//! real server (in-process, real socket, its own SQLite or the test PostgreSQL): whatever the
//! network or the app did, the case gets exactly its files, byte for byte, once.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kintara_api::{IncidentCreate, IncidentType, Location, Severity, SupportService, UrgencyLevel};
use kintara_core::vault::Vault;
use kintara_core::{
    Attachment, Client, CoreError, ErrorClass, LocalStore, MemoryLocal, MemoryStore, Outbox,
    OutboxAction, OutboxItem, OutboxState, QueueError, SqliteLocal, MAX_ATTACHMENTS,
};
use kintara_server::Running;

const PASSWORD: &str = "kintara-demo";
const KEY: [u8; 32] = [6; 32];
const MIB: usize = 1024 * 1024;

struct World {
    server: Option<Running>,
    config: kintara_server::config::Config,
    _dir: tempfile::TempDir,
    survivor: Arc<Client>,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let mut config = kintara_server::testing::config(dir.path()).await;
        config.demo = true;
        let server = kintara_server::start(config.clone()).await.unwrap();
        // Restarts reuse the port and the database, as a restarted server process would.
        config.bind = server.addr;
        World {
            survivor: login(&server.url(), "survivor@kintara.test").await,
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
            address: "Eldoret".into(),
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

/// Bytes that are not all alike, so a shifted or swapped block would show.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed as usize * 7) % 251) as u8)
        .collect()
}

/// A PNG the server's content check accepts, `extra` bytes long in its middle.
fn png(extra: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend_from_slice(b"\0\0\0\0tEXt");
    b.extend(filler(extra, 1));
    b.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    b
}

fn pdf(extra: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% ".to_vec();
    b.extend(filler(extra, 2).iter().map(|x| b'a' + x % 26));
    b.extend_from_slice(b"\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    b
}

/// Polls `check` until it holds, failing the test after `secs`.
async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
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

async fn open_sqlite(path: &Path) -> Arc<SqliteLocal> {
    Arc::new(SqliteLocal::open(path, Vault::from_key(KEY)).await.unwrap())
}

#[tokio::test]
async fn a_report_with_files_queued_offline_arrives_once_with_exactly_its_files() {
    let mut w = World::new().await;
    let device = tempfile::tempdir().unwrap();
    let db = device.path().join("local.db");
    let originals = tempfile::tempdir().unwrap();
    let photo = png(3 * MIB);
    let document = pdf(5000);
    let photo_path = originals.path().join("bruise.png");
    let document_path = originals.path().join("p3 form.pdf");
    std::fs::write(&photo_path, &photo).unwrap();
    std::fs::write(&document_path, &document).unwrap();
    w.stop().await;

    let queued = {
        let (outbox, task) = start(open_sqlite(&db).await, w.survivor.clone());
        let files = vec![
            Attachment::from_path(&photo_path, Some("taken that night")).unwrap(),
            Attachment::from_path(&document_path, None).unwrap(),
        ];
        let queued = outbox
            .enqueue_report(report("with two files"), files)
            .await
            .unwrap();
        assert_eq!(queued.len(), 3);
        assert!(matches!(queued[0].action, OutboxAction::FileReport(_)));
        assert!(queued.iter().all(|i| i.lane == queued[0].lane), "one lane");
        eventually("the report was tried", 20, || async {
            items(&outbox).await[0].attempts > 0
        })
        .await;
        assert!(
            items(&outbox).await[1..].iter().all(|i| i.attempts == 0),
            "the files wait for their report"
        );
        // Killed: the loop stops wherever it was, and everything in memory is gone.
        task.abort();
        let _ = task.await;
        queued
    };
    // The originals may go once queued: the outbox has its own sealed copies.
    std::fs::remove_file(&photo_path).unwrap();
    std::fs::remove_file(&document_path).unwrap();

    w.restart().await;
    let survivor = login(&w.url(), "survivor@kintara.test").await;
    let store = open_sqlite(&db).await;
    assert_eq!(store.outbox().await.unwrap().len(), 3, "all kept on disk");
    let (outbox, task) = start(store.clone(), survivor.clone());
    eventually("the report and its files are delivered", 30, || async {
        items(&outbox).await.is_empty()
    })
    .await;
    task.abort();

    let reports = survivor.list_incidents().await.unwrap();
    assert_eq!(reports.len(), 1, "one report");
    let incident = reports[0].id;
    let files = survivor.list_evidence(incident).await.unwrap();
    assert_eq!(files.len(), 2, "exactly its two files: {files:?}");
    assert_eq!(files[0].file_name, "bruise.png");
    assert_eq!(files[0].description.as_deref(), Some("taken that night"));
    assert_eq!(files[1].file_name, "p3 form.pdf");
    assert_eq!(
        survivor.download_evidence(files[0].id).await.unwrap(),
        photo
    );
    assert_eq!(
        survivor.download_evidence(files[1].id).await.unwrap(),
        document
    );

    // Nothing of them is left on the device.
    for item in &queued {
        assert_eq!(store.attachment(&item.client_id).await.unwrap(), None);
    }
    assert!(store.cached("outbox.report_case").await.unwrap().is_empty());

    // A late repeat of the same upload (an answer lost) stores nothing new.
    let again = survivor
        .upload_evidence(
            incident,
            &queued[1].client_id,
            "bruise.png",
            None,
            photo.clone(),
        )
        .await
        .unwrap();
    assert_eq!(again.id, files[0].id);
    assert_eq!(survivor.list_evidence(incident).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_file_whose_answer_was_lost_is_stored_once() {
    let w = World::new().await;
    let store = Arc::new(MemoryLocal::default());
    // The first run delivers the report; its file is held back (the server is busy with two
    // other uploads of the survivor's) and the app dies.
    let busy = Busy::start(&w).await;
    let (outbox, task) = start(store.clone(), w.survivor.clone());
    let photo = png(2000);
    let queued = outbox
        .enqueue_report(
            report("lost answer"),
            vec![Attachment::new("a.png", None, photo.clone()).unwrap()],
        )
        .await
        .unwrap();
    eventually(
        "the report is delivered and the file refused for now",
        20,
        || async {
            let left = items(&outbox).await;
            left.len() == 1 && left[0].attempts == 1
        },
    )
    .await;
    task.abort();
    let _ = task.await;
    busy.end(&w).await;
    // The file's next try reached the server, and the answer was lost: the item is still
    // "sending" when the app dies again.
    let incident = w
        .survivor
        .list_incidents()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.description == "lost answer")
        .unwrap()
        .id;
    let first = w
        .survivor
        .upload_evidence(incident, &queued[1].client_id, "a.png", None, photo)
        .await
        .unwrap();
    let mut file = items(&outbox).await.remove(0);
    file.state = OutboxState::Sending;
    store.update(&file).await.unwrap();
    drop(outbox);

    let (outbox, task) = start(store, w.survivor.clone());
    eventually("the file is delivered", 20, || async {
        items(&outbox).await.is_empty()
    })
    .await;
    let files = w.survivor.list_evidence(incident).await.unwrap();
    assert_eq!(files.len(), 1, "one file, not two");
    assert_eq!(files[0].id, first.id);
    task.abort();
}

#[tokio::test]
async fn files_that_cannot_be_sent_are_refused_when_queued() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: the size is checked before a byte is read.
    let huge = dir.path().join("video.mp4");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(kintara_api::MAX_EVIDENCE_BYTES + 1)
        .unwrap();
    let err = Attachment::from_path(&huge, None).unwrap_err();
    assert!(matches!(err, QueueError::TooLarge { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "\"video.mp4\" is 51 MB; a file can be at most 50 MB"
    );
    let empty = dir.path().join("empty.pdf");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        Attachment::from_path(&empty, None),
        Err(QueueError::Empty(_))
    ));
    assert!(matches!(
        Attachment::from_path(&dir.path().join("missing.png"), None),
        Err(QueueError::Read { .. })
    ));
    assert!(matches!(
        Attachment::new("a.png", Some(&"x".repeat(1001)), png(10)),
        Err(QueueError::Description { .. })
    ));

    // Too many files: nothing at all is queued, not even the report.
    let client =
        Arc::new(Client::new("http://127.0.0.1:9", Arc::new(MemoryStore::default())).unwrap());
    let outbox = Outbox::new(Arc::new(MemoryLocal::default()), client);
    let files = (0..=MAX_ATTACHMENTS)
        .map(|_| Attachment::new("a.png", None, png(10)).unwrap())
        .collect();
    assert!(matches!(
        outbox.enqueue_report(report("too many"), files).await,
        Err(QueueError::TooMany)
    ));
    assert!(items(&outbox).await.is_empty());
}

#[tokio::test]
async fn a_refused_file_fails_with_its_reason_and_a_failed_report_holds_its_files() {
    let w = World::new().await;
    let store = Arc::new(MemoryLocal::default());
    let (outbox, task) = start(store.clone(), w.survivor.clone());
    // A photo over the photo limit (10 MB) but under the largest (50 MB): only the server, which
    // reads its type, can refuse it.
    let big_photo = png(10 * MIB + 1);
    let fine = pdf(100);
    outbox
        .enqueue_report(
            report("one too big"),
            vec![
                Attachment::new("huge.png", None, big_photo).unwrap(),
                Attachment::new("ok.pdf", None, fine.clone()).unwrap(),
            ],
        )
        .await
        .unwrap();
    eventually("only the refused file is left", 30, || async {
        let left = items(&outbox).await;
        left.len() == 1 && left[0].state == OutboxState::Failed
    })
    .await;
    let failed = items(&outbox).await.remove(0);
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("at most 10 MB"),
        "the server's reason: {:?}",
        failed.last_error
    );
    let incident = w.survivor.list_incidents().await.unwrap()[0].id;
    let files = w.survivor.list_evidence(incident).await.unwrap();
    assert_eq!(files.len(), 1, "the other file went");
    assert_eq!(
        w.survivor.download_evidence(files[0].id).await.unwrap(),
        fine
    );
    outbox.discard(failed.id).await.unwrap();
    assert_eq!(store.attachment(&failed.client_id).await.unwrap(), None);

    // A report the server refuses: its file waits (untried) instead of failing too, and
    // discarding the report discards it.
    let mut bad = report("no services");
    bad.support_services.clear();
    let queued = outbox
        .enqueue_report(bad, vec![Attachment::new("b.png", None, png(10)).unwrap()])
        .await
        .unwrap();
    eventually("the report failed", 20, || async {
        items(&outbox).await[0].state == OutboxState::Failed
    })
    .await;
    // Another report behind it is not held up.
    outbox
        .enqueue_report(
            report("after the bad one"),
            vec![Attachment::new("c.png", None, png(10)).unwrap()],
        )
        .await
        .unwrap();
    eventually("the later report and its file went", 20, || async {
        items(&outbox).await.len() == 2
    })
    .await;
    let waiting = items(&outbox).await;
    assert_eq!(waiting[1].client_id, queued[1].client_id);
    assert_eq!(waiting[1].state, OutboxState::Queued);
    assert_eq!(waiting[1].attempts, 0, "never sent without its report");
    outbox.discard(queued[0].id).await.unwrap();
    assert!(
        items(&outbox).await.is_empty(),
        "the file went with its report"
    );
    assert_eq!(store.attachment(&queued[1].client_id).await.unwrap(), None);
    task.abort();
}

#[tokio::test]
async fn a_lockout_gives_the_core_the_servers_retry_after() {
    let w = World::new().await;
    let client = Client::new(&w.url(), Arc::new(MemoryStore::default())).unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            client
                .login("survivor@kintara.test", "wrong password")
                .await
                .unwrap_err(),
        );
    }
    let locked = last.unwrap();
    assert_eq!(locked.status(), Some(429), "{locked:?}");
    assert_eq!(locked.class(), ErrorClass::Transient);
    // The fifth failure from one address pauses that e-mail there for 30 seconds.
    let wait = locked.retry_after().expect("a Retry-After");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    let CoreError::Api { retry_after, .. } = &locked else {
        panic!("an API error: {locked:?}")
    };
    assert_eq!(*retry_after, Some(wait));
    // A permanent refusal carries none.
    let wrong = Client::new(&w.url(), Arc::new(MemoryStore::default()))
        .unwrap()
        .login("nobody@kintara.test", "x")
        .await
        .unwrap_err();
    assert_eq!(wrong.retry_after(), None);
}

/// Opens an upload that sends its first megabyte and then stalls, holding one of the user's
/// upload slots on the server.
async fn stalled_upload(url: &str, token: &str, incident: uuid::Uuid) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/incidents/{incident}/evidence/ HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: {}\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\r\n",
        20 * MIB
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&png(MIB)).await.unwrap();
    conn.flush().await.unwrap();
    conn
}

/// Two stalled uploads of the survivor's: the server refuses a third with 429 until they end.
struct Busy(Vec<tokio::net::TcpStream>);

impl Busy {
    async fn start(w: &World) -> Busy {
        let case = w.survivor.create_incident(&report("busy")).await.unwrap();
        let token = w.survivor.access_token_for_socket().unwrap();
        let mut conns = Vec::new();
        for _ in 0..kintara_server::evidence::MAX_UPLOADS_PER_USER {
            conns.push(stalled_upload(&w.url(), &token, case.id).await);
        }
        let busy = Busy(conns);
        busy.wait_for_parts(w, kintara_server::evidence::MAX_UPLOADS_PER_USER)
            .await;
        busy
    }

    async fn wait_for_parts(&self, w: &World, expected: usize) {
        let dir = w.server.as_ref().unwrap().state.evidence.dir().to_owned();
        eventually("the stalled uploads' part files", 20, || async {
            let parts = std::fs::read_dir(&dir)
                .unwrap()
                .filter(|e| {
                    let path = e.as_ref().unwrap().path();
                    path.extension().is_some_and(|x| x == "part")
                })
                .count();
            parts == expected
        })
        .await;
    }

    /// Hangs up, and waits until the server has let go of the uploads.
    async fn end(mut self, w: &World) {
        self.0.clear();
        self.wait_for_parts(w, 0).await;
        // The part file goes a moment before the handler (and its slot) does.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_outbox_does_not_retry_before_the_servers_retry_after() {
    let w = World::new().await;
    // Two uploads of the survivor's running on the server: a third gets 429 with Retry-After.
    let busy = Busy::start(&w).await;
    let (outbox, task) = start(Arc::new(MemoryLocal::default()), w.survivor.clone());
    let queued_at = Instant::now();
    let queued = outbox
        .enqueue_report(
            report("while busy"),
            vec![Attachment::new("a.png", None, png(100)).unwrap()],
        )
        .await
        .unwrap();
    eventually("the file was refused for now", 20, || async {
        let left = items(&outbox).await;
        left.len() == 1 && left[0].attempts == 1
    })
    .await;
    let waiting = items(&outbox).await.remove(0);
    assert_eq!(waiting.client_id, queued[1].client_id);
    assert_eq!(waiting.state, OutboxState::Queued);
    assert!(waiting.last_error.is_some());
    // A wake (the network is back) skips the outbox's own backoff, never the server's request.
    let retry_after = Duration::from_secs(kintara_server::evidence::UPLOAD_BUSY_RETRY_SECS);
    while queued_at.elapsed() < retry_after - Duration::from_millis(700) {
        outbox.wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = items(&outbox).await;
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].attempts, 1, "tried again before the Retry-After");
    }
    busy.end(&w).await;
    eventually("the file is delivered", 20, || async {
        items(&outbox).await.is_empty()
    })
    .await;
    assert!(
        queued_at.elapsed() >= retry_after,
        "delivered after {:?}",
        queued_at.elapsed()
    );
    let incident = w
        .survivor
        .list_incidents()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.description == "while busy")
        .unwrap();
    assert_eq!(
        w.survivor.list_evidence(incident.id).await.unwrap().len(),
        1
    );
    task.abort();
}
