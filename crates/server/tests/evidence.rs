//! Evidence over real HTTP: uploads checked by content and size, files encrypted at rest and
//! returned byte for byte, tampering detected, and who may add, see and delete what.

// Each test binary uses only some of the shared helpers.
#[allow(dead_code)]
mod common;

use std::path::PathBuf;

use common::*;
use kintara_api::{codes, Evidence, EvidenceKind, Incident};
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

const MIB: usize = 1024 * 1024;
/// The sealed file layout (see `evidence::store`): magic and nonce prefix, then 64 KiB segments
/// each with a 16-byte tag.
const HEADER: usize = 8 + 19;
const SEALED_SEGMENT: usize = 64 * 1024 + 16;

// ---------------------------------------------------------------------------------------------
// Small real files
// ---------------------------------------------------------------------------------------------

/// Bytes that are not all alike, so a shifted or swapped block would show.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed as usize * 7) % 251) as u8)
        .collect()
}

fn png(marker: &str, extra: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend_from_slice(b"\0\0\0\0tEXt");
    b.extend_from_slice(marker.as_bytes());
    b.extend(filler(extra, 1));
    b.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    b
}

fn jpeg(extra: usize) -> Vec<u8> {
    let mut b = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
    b.extend(filler(extra, 2));
    b.extend_from_slice(b"\xff\xd9");
    b
}

fn wav(data_len: usize) -> Vec<u8> {
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&((36 + data_len) as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data");
    b.extend_from_slice(&(data_len as u32).to_le_bytes());
    b.extend(filler(data_len, 3));
    b
}

fn mp3(extra: usize) -> Vec<u8> {
    let mut b = b"ID3\x03\0\0\0\0\0\0".to_vec();
    for _ in 0..4 {
        b.extend_from_slice(b"\xff\xfb\x90\x64");
        b.extend(filler(413, 4));
    }
    b.extend(filler(extra, 5));
    b
}

fn ogg_opus() -> Vec<u8> {
    let mut b = b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13".to_vec();
    b.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0");
    b.extend(filler(2000, 6));
    b
}

fn pdf(marker: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {marker}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn upload_form(server: &TestServer, token: &str, incident: Uuid, form: Form) -> Resp {
    Resp::from(
        server
            .request(
                Method::POST,
                &format!("/api/incidents/{incident}/evidence/"),
            )
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

/// Uploads `bytes` as the `file` part, declaring `name` and `declared` type (both ignored by the
/// server's type check).
async fn upload(
    server: &TestServer,
    token: &str,
    incident: Uuid,
    name: &str,
    declared: &str,
    bytes: Vec<u8>,
) -> Resp {
    let part = Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(declared)
        .unwrap();
    upload_form(server, token, incident, Form::new().part("file", part)).await
}

async fn upload_ok(
    server: &TestServer,
    token: &str,
    incident: Uuid,
    name: &str,
    bytes: Vec<u8>,
) -> Evidence {
    let resp = upload(
        server,
        token,
        incident,
        name,
        "application/octet-stream",
        bytes,
    )
    .await;
    resp.expect(201);
    resp.json_as()
}

/// Status, headers and raw bytes of a download; `Err` when the body broke off.
async fn download(
    server: &TestServer,
    token: &str,
    id: Uuid,
) -> (
    u16,
    reqwest::header::HeaderMap,
    Result<Vec<u8>, reqwest::Error>,
) {
    let resp = server
        .request(Method::GET, &format!("/api/evidence/{id}/download/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.map(|b| b.to_vec()))
}

async fn download_ok(server: &TestServer, token: &str, id: Uuid) -> Vec<u8> {
    let (status, _, body) = download(server, token, id).await;
    assert_eq!(status, 200);
    body.expect("a complete body")
}

async fn list(server: &TestServer, token: &str, incident: Uuid) -> Resp {
    server
        .get(&format!("/api/incidents/{incident}/evidence/"), Some(token))
        .await
}

async fn delete(server: &TestServer, token: &str, id: Uuid) -> Resp {
    server
        .call(
            Method::DELETE,
            &format!("/api/evidence/{id}/"),
            Some(token),
            None,
        )
        .await
}

fn evidence_dir(server: &TestServer) -> PathBuf {
    server.running.state.evidence.dir().to_owned()
}

/// Every file in the evidence directory, part files included.
fn stored_files(server: &TestServer) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(evidence_dir(server))
        .expect("the evidence directory exists")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// The survivor's account and a fresh report of theirs.
async fn survivor_with_case(server: &TestServer) -> (Account, Incident) {
    let survivor = server.demo_login("survivor").await;
    let incident = server
        .create_report(&survivor.access, &report("He hit me outside the market."))
        .await;
    (survivor, incident)
}

/// Gives `provider` an assignment on `incident` straight in the database.
async fn assign(server: &TestServer, incident: Uuid, provider: Uuid, status: &str) {
    let now = kintara_server::db::ts(chrono::Utc::now());
    let mut tx = server.running.state.db.write.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO case_assignments (id, incident_id, provider_id, status, assigned_by, \
         assigned_at, responded_at) VALUES ($1, $2, $3, $4, NULL, $5, $6)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(incident.to_string())
    .bind(provider.to_string())
    .bind(status)
    .bind(&now)
    .bind((status == "accepted").then_some(now.clone()))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Uploads and downloads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_kind_uploads_and_downloads_byte_for_byte() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let cases: Vec<(&str, Vec<u8>, EvidenceKind, &str)> = vec![
        (
            "bruise.png",
            png("m", 500),
            EvidenceKind::Image,
            "image/png",
        ),
        ("door.jpg", jpeg(3000), EvidenceKind::Image, "image/jpeg"),
        // Several 64 KiB segments.
        (
            "statement.wav",
            wav(300_000),
            EvidenceKind::Audio,
            "audio/wav",
        ),
        ("voice.mp3", mp3(1000), EvidenceKind::Audio, "audio/mpeg"),
        ("note.ogg", ogg_opus(), EvidenceKind::Audio, "audio/ogg"),
        (
            "report.pdf",
            pdf("p3 form"),
            EvidenceKind::Document,
            "application/pdf",
        ),
    ];
    let mut ids = Vec::new();
    for (name, bytes, kind, content_type) in &cases {
        let resp = upload_form(
            &server,
            &survivor.access,
            incident.id,
            Form::new()
                .part(
                    "file",
                    Part::bytes(bytes.clone()).file_name(name.to_string()),
                )
                .text("description", format!("  the {name}  ")),
        )
        .await;
        resp.expect(201);
        let ev: Evidence = resp.json_as();
        assert_eq!(ev.incident_id, incident.id);
        assert_eq!(ev.kind, *kind, "{name}");
        assert_eq!(ev.content_type, *content_type, "{name}");
        assert_eq!(ev.file_name, *name);
        assert_eq!(ev.size_bytes, bytes.len() as u64);
        assert_eq!(
            ev.description.as_deref(),
            Some(format!("the {name}").as_str())
        );
        assert_eq!(ev.uploaded_by, survivor.user.id);
        // Exactly the documented fields.
        let mut keys: Vec<String> = resp.json().as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "content_type",
                "created_at",
                "description",
                "file_name",
                "id",
                "incident_id",
                "kind",
                "size_bytes",
                "uploaded_by"
            ]
        );

        let (status, headers, body) = download(&server, &survivor.access, ev.id).await;
        assert_eq!(status, 200);
        assert_eq!(&body.expect("complete body"), bytes, "{name}");
        assert_eq!(headers[CONTENT_TYPE], *content_type);
        assert_eq!(headers[CONTENT_LENGTH], bytes.len().to_string());
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(
            headers[CONTENT_DISPOSITION].to_str().unwrap(),
            format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
        );
        ids.push(ev.id);
    }

    // The list: everything, oldest first, as a bare array.
    let resp = list(&server, &survivor.access, incident.id).await;
    resp.expect(200);
    let listed: Vec<Evidence> = resp.json_as();
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert_eq!(stored_files(&server).len(), cases.len());
}

#[tokio::test]
async fn files_are_encrypted_at_rest_with_a_private_key_file() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let marker = "AMINA-OTIENO-SECRET-STATEMENT-7f3a";
    let doc = upload_ok(&server, &survivor.access, incident.id, "s.pdf", pdf(marker)).await;
    let img = upload_ok(
        &server,
        &survivor.access,
        incident.id,
        "i.png",
        png(marker, 200_000),
    )
    .await;
    let files = stored_files(&server);
    assert_eq!(
        files,
        {
            let mut want = vec![
                evidence_dir(&server).join(doc.id.to_string()),
                evidence_dir(&server).join(img.id.to_string()),
            ];
            want.sort();
            want
        },
        "one file per upload, named by id, no part files left"
    );
    for file in &files {
        let sealed = std::fs::read(file).unwrap();
        assert!(
            !sealed.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "plaintext found in {file:?}"
        );
        assert!(!sealed.windows(5).any(|w| w == b"%PDF-"));
    }
    use std::os::unix::fs::PermissionsExt;
    let key = server.running.state.config.data_dir().join("evidence.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // And it still reads back.
    assert_eq!(
        download_ok(&server, &survivor.access, doc.id).await,
        pdf(marker)
    );
}

#[tokio::test]
async fn the_type_comes_from_the_content_not_the_name() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;

    // Text named like a photo and declared as one.
    let resp = upload(
        &server,
        &survivor.access,
        incident.id,
        "photo.png",
        "image/png",
        b"just some text pretending to be a picture".repeat(50),
    )
    .await;
    resp.expect_error(415, "unsupported_file_type");
    // An HTML page, an executable and a plain zip: all refused.
    for bytes in [
        b"<html><body><script>alert(1)</script></body></html>".to_vec(),
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec(),
        b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
    ] {
        upload(
            &server,
            &survivor.access,
            incident.id,
            "a.pdf",
            "application/pdf",
            bytes,
        )
        .await
        .expect_error(415, "unsupported_file_type");
    }
    assert_eq!(server.count("evidence").await, 0);
    assert!(
        stored_files(&server).is_empty(),
        "{:?}",
        stored_files(&server)
    );

    // A real photo named like a document is a photo.
    let ev = upload_ok(
        &server,
        &survivor.access,
        incident.id,
        "notes.txt",
        jpeg(100),
    )
    .await;
    assert_eq!(ev.kind, EvidenceKind::Image);
    assert_eq!(ev.content_type, "image/jpeg");
}

#[tokio::test]
async fn each_kind_has_its_size_limit_and_a_refused_upload_stores_nothing() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;

    // 11 MB photo: over the 10 MB photo limit.
    let resp = upload(
        &server,
        &survivor.access,
        incident.id,
        "big.png",
        "image/png",
        png("big", 11 * MIB),
    )
    .await;
    let errors = resp.expect_error(413, "file_too_large");
    assert!(errors.is_empty());
    assert!(resp.json()["message"].as_str().unwrap().contains("10 MB"));
    assert_eq!(server.count("evidence").await, 0);
    assert!(
        stored_files(&server).is_empty(),
        "{:?}",
        stored_files(&server)
    );

    // 21 MB document: over the 20 MB document limit.
    let mut big_pdf = pdf("big");
    big_pdf.extend(filler(21 * MIB, 9));
    upload(
        &server,
        &survivor.access,
        incident.id,
        "big.pdf",
        "application/pdf",
        big_pdf,
    )
    .await
    .expect_error(413, "file_too_large");
    assert_eq!(server.count("evidence").await, 0);
    assert!(stored_files(&server).is_empty());

    // 12 MB recording: well inside the 50 MB recording limit.
    let audio = wav(12 * MIB);
    let ev = upload_ok(
        &server,
        &survivor.access,
        incident.id,
        "long.wav",
        audio.clone(),
    )
    .await;
    assert_eq!(ev.kind, EvidenceKind::Audio);
    assert_eq!(ev.size_bytes, audio.len() as u64);
    assert!(download_ok(&server, &survivor.access, ev.id).await == audio);

    // The upload route's own body limit (the largest file plus framing) holds for any part.
    upload_form(
        &server,
        &survivor.access,
        incident.id,
        Form::new()
            .part("file", Part::bytes(jpeg(10)).file_name("a.jpg"))
            .part("padding", Part::bytes(vec![0u8; 51 * MIB])),
    )
    .await
    .expect_error(413, codes::PAYLOAD_TOO_LARGE);
    assert_eq!(server.count("evidence").await, 1);
    assert_eq!(stored_files(&server).len(), 1);

    // Other routes keep the small JSON limit.
    let resp = server
        .request(Method::POST, "/api/incidents/")
        .bearer_auth(&survivor.access)
        .header(CONTENT_TYPE, "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
}

#[tokio::test]
async fn malformed_uploads_get_the_error_envelope() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let path = format!("/api/incidents/{}/evidence/", incident.id);

    // No file part.
    upload_form(
        &server,
        &survivor.access,
        incident.id,
        Form::new().text("description", "nothing attached"),
    )
    .await
    .expect_invalid(&["file"]);
    // An empty file.
    upload(
        &server,
        &survivor.access,
        incident.id,
        "e.png",
        "image/png",
        Vec::new(),
    )
    .await
    .expect_invalid(&["file"]);
    // A description over 1000 characters; the file is not kept.
    upload_form(
        &server,
        &survivor.access,
        incident.id,
        Form::new()
            .part("file", Part::bytes(jpeg(10)).file_name("a.jpg"))
            .text("description", "x".repeat(1001)),
    )
    .await
    .expect_invalid(&["description"]);
    // Two files in one upload.
    upload_form(
        &server,
        &survivor.access,
        incident.id,
        Form::new()
            .part("file", Part::bytes(jpeg(10)).file_name("a.jpg"))
            .part("file", Part::bytes(jpeg(10)).file_name("b.jpg")),
    )
    .await
    .expect_invalid(&["file"]);
    // JSON instead of multipart.
    server
        .post(&path, Some(&survivor.access), &json!({"file": "aGVsbG8="}))
        .await
        .expect_error(415, codes::UNSUPPORTED_MEDIA_TYPE);
    // A multipart body cut short.
    let resp = server
        .request(Method::POST, &path)
        .bearer_auth(&survivor.access)
        .header(CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\x7fELF")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // Without a token.
    server
        .request(Method::POST, &path)
        .multipart(Form::new().part("file", Part::bytes(jpeg(10))))
        .send()
        .await
        .map(|r| assert_eq!(r.status().as_u16(), 401))
        .unwrap();

    assert_eq!(server.count("evidence").await, 0);
    assert!(
        stored_files(&server).is_empty(),
        "{:?}",
        stored_files(&server)
    );

    // A path in the name is dropped, and the header quotes what is left safely.
    let ev = upload_ok(
        &server,
        &survivor.access,
        incident.id,
        "C:\\Users\\amina\\ripoti \"ya\" polisi.pdf",
        pdf("q"),
    )
    .await;
    assert_eq!(ev.file_name, "ripoti \"ya\" polisi.pdf");
    let (_, headers, _) = download(&server, &survivor.access, ev.id).await;
    assert_eq!(
        headers[CONTENT_DISPOSITION].to_str().unwrap(),
        "attachment; filename=\"ripoti _ya_ polisi.pdf\"; \
         filename*=UTF-8''ripoti%20%22ya%22%20polisi.pdf"
    );
    // No name at all: one is made from the detected type.
    let resp = upload_form(
        &server,
        &survivor.access,
        incident.id,
        Form::new().part("file", Part::bytes(wav(100))),
    )
    .await;
    resp.expect(201);
    assert_eq!(resp.json_as::<Evidence>().file_name, "evidence.wav");
}

#[tokio::test]
async fn a_tampered_file_is_never_served_as_if_it_were_fine() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let small = upload_ok(&server, &survivor.access, incident.id, "s.pdf", pdf("x")).await;
    let large_bytes = wav(2 * MIB);
    let large = upload_ok(
        &server,
        &survivor.access,
        incident.id,
        "l.wav",
        large_bytes.clone(),
    )
    .await;
    let dir = evidence_dir(&server);

    // One flipped bit in a one-segment file: refused before any byte is sent.
    let path = dir.join(small.id.to_string());
    let mut sealed = std::fs::read(&path).unwrap();
    let at = sealed.len() - 20;
    sealed[at] ^= 0x01;
    std::fs::write(&path, &sealed).unwrap();
    let resp = server
        .get(
            &format!("/api/evidence/{}/download/", small.id),
            Some(&survivor.access),
        )
        .await;
    resp.expect_error(500, codes::INTERNAL);

    // A flipped bit in a late segment of a 2 MB file: the answer has started (status and
    // headers are out), then it breaks off instead of completing.
    let path = dir.join(large.id.to_string());
    let original = std::fs::read(&path).unwrap();
    let mut sealed = original.clone();
    let at = HEADER + 25 * SEALED_SEGMENT + 100;
    sealed[at] ^= 0x80;
    std::fs::write(&path, &sealed).unwrap();
    let (status, headers, body) = download(&server, &survivor.access, large.id).await;
    assert_eq!(status, 200);
    assert_eq!(headers[CONTENT_LENGTH], large_bytes.len().to_string());
    assert!(body.is_err(), "a damaged file must not download completely");

    // Truncated at a segment boundary: never a short file that looks complete. (Depending on
    // how much the server had buffered, the client sees a broken body or no answer at all.)
    std::fs::write(&path, &original[..HEADER + 2 * SEALED_SEGMENT]).unwrap();
    let outcome = server
        .request(
            Method::GET,
            &format!("/api/evidence/{}/download/", large.id),
        )
        .bearer_auth(&survivor.access)
        .send()
        .await;
    if let Ok(resp) = outcome {
        assert!(
            resp.bytes().await.is_err(),
            "a truncated file must not download completely"
        );
    }

    // Restored, it reads again.
    std::fs::write(&path, &original).unwrap();
    assert_eq!(
        download_ok(&server, &survivor.access, large.id).await,
        large_bytes
    );
}

#[tokio::test]
async fn another_key_cannot_read_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let key_a = "11".repeat(32);
    let mut config = kintara_server::testing::config(dir.path()).await;
    config.demo = true;
    config.evidence_key = Some(key_a.clone());
    let running = kintara_server::start(config.clone()).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = running.url();
    let login = |url: String| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("{url}/api/auth/login/"))
                .json(&json!({"email": "survivor@kintara.test", "password": DEMO_PASSWORD}))
                .send()
                .await
                .unwrap();
            let v: serde_json::Value = r.json().await.unwrap();
            v["tokens"]["access"].as_str().unwrap().to_owned()
        }
    };
    let token = login(base.clone()).await;
    let incident: Incident = http
        .post(format!("{base}/api/incidents/"))
        .bearer_auth(&token)
        .json(&report("statement"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ev: Evidence = http
        .post(format!("{base}/api/incidents/{}/evidence/", incident.id))
        .bearer_auth(&token)
        .multipart(Form::new().part("file", Part::bytes(pdf("k")).file_name("k.pdf")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    running.stop().await;
    // No key file when the key is configured.
    assert!(!dir.path().join("evidence.key").exists());

    // The same data directory with another key: the file is refused, not garbled.
    config.evidence_key = Some("22".repeat(32));
    let running = kintara_server::start(config.clone()).await.unwrap();
    let base = running.url();
    let token = login(base.clone()).await;
    let r = http
        .get(format!("{base}/api/evidence/{}/download/", ev.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    running.stop().await;

    // A malformed key stops the server from starting.
    config.evidence_key = Some("not hex".into());
    assert!(kintara_server::start(config.clone()).await.is_err());

    // The right key again: byte for byte.
    config.evidence_key = Some(key_a);
    let running = kintara_server::start(config).await.unwrap();
    let base = running.url();
    let token = login(base.clone()).await;
    let r = http
        .get(format!("{base}/api/evidence/{}/download/", ev.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf("k"));
    running.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Who may do what
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn who_may_add_see_and_download_evidence() {
    let server = TestServer::demo().await;
    let (owner, incident) = survivor_with_case(&server).await;
    let other = server.register_survivor("wanjiru@example.org").await;
    let dispatcher = server.demo_login("dispatcher").await;
    let accepted = server.demo_login("gbv_rescue").await;
    let pending = server.demo_login("healthcare").await;
    let unassigned = server.demo_login("legal").await;
    assign(&server, incident.id, accepted.user.id, "accepted").await;
    assign(&server, incident.id, pending.user.id, "pending").await;

    let by_owner = upload_ok(&server, &owner.access, incident.id, "a.png", png("o", 10)).await;
    let by_provider = upload_ok(
        &server,
        &accepted.access,
        incident.id,
        "exam.pdf",
        pdf("exam"),
    )
    .await;
    assert_eq!(by_provider.uploaded_by, accepted.user.id);
    let both = vec![by_owner.id, by_provider.id];

    // Who may add.
    for (who, status, code) in [
        (&other, 404, codes::NOT_FOUND),
        (&unassigned, 404, codes::NOT_FOUND),
        (&pending, 403, ANY),
        (&dispatcher, 403, ANY),
    ] {
        upload(
            &server,
            &who.access,
            incident.id,
            "x.png",
            "image/png",
            png("x", 10),
        )
        .await
        .expect_error(status, code);
    }
    let resp = upload(
        &server,
        &pending.access,
        incident.id,
        "x.png",
        "image/png",
        png("x", 1),
    )
    .await;
    assert!(resp.json()["message"]
        .as_str()
        .unwrap()
        .contains("Accept the case"));

    // Who may list and download.
    for who in [&owner, &dispatcher, &accepted] {
        let resp = list(&server, &who.access, incident.id).await;
        resp.expect(200);
        let ids: Vec<Uuid> = resp
            .json_as::<Vec<Evidence>>()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, both);
        assert_eq!(
            download_ok(&server, &who.access, by_owner.id).await,
            png("o", 10)
        );
        assert_eq!(
            download_ok(&server, &who.access, by_provider.id).await,
            pdf("exam")
        );
    }
    let resp = list(&server, &pending.access, incident.id).await;
    resp.expect_error(403, "accept_first");
    assert_eq!(resp.json()["message"], "Accept the case first.");
    server
        .get(
            &format!("/api/evidence/{}/download/", by_owner.id),
            Some(&pending.access),
        )
        .await
        .expect_error(403, ANY);
    // Existence is private: the same 404 as for an id that never existed.
    for who in [&other, &unassigned] {
        list(&server, &who.access, incident.id)
            .await
            .expect_error(404, codes::NOT_FOUND);
        for id in [by_owner.id, by_provider.id] {
            server
                .get(&format!("/api/evidence/{id}/download/"), Some(&who.access))
                .await
                .expect_error(404, codes::NOT_FOUND);
        }
    }
    server
        .get(
            &format!("/api/evidence/{}/download/", Uuid::new_v4()),
            Some(&owner.access),
        )
        .await
        .expect_error(404, codes::NOT_FOUND);
    list(&server, &owner.access, Uuid::new_v4())
        .await
        .expect_error(404, codes::NOT_FOUND);
    server
        .get("/api/evidence/not-a-uuid/download/", Some(&owner.access))
        .await
        .expect_error(404, codes::NOT_FOUND);
    // Without a token.
    server
        .get(&format!("/api/evidence/{}/download/", by_owner.id), None)
        .await
        .expect_error(401, codes::NOT_AUTHENTICATED);
}

#[tokio::test]
async fn who_may_delete_evidence_and_deleted_evidence_is_gone_everywhere() {
    let server = TestServer::demo().await;
    let (owner, incident) = survivor_with_case(&server).await;
    let other = server.register_survivor("wanjiru@example.org").await;
    let dispatcher = server.demo_login("dispatcher").await;
    let accepted = server.demo_login("gbv_rescue").await;
    let colleague = server.demo_login("counseling").await;
    let pending = server.demo_login("healthcare").await;
    let unassigned = server.demo_login("legal").await;
    assign(&server, incident.id, accepted.user.id, "accepted").await;
    assign(&server, incident.id, colleague.user.id, "accepted").await;
    assign(&server, incident.id, pending.user.id, "pending").await;

    let by_owner = upload_ok(&server, &owner.access, incident.id, "a.png", png("o", 10)).await;
    let by_provider = upload_ok(
        &server,
        &accepted.access,
        incident.id,
        "exam.pdf",
        pdf("exam"),
    )
    .await;

    // Those who cannot see the case hear nothing of it; those who can, that they may not.
    for (who, status) in [
        (&other, 404),
        (&unassigned, 404),
        (&pending, 403),
        (&dispatcher, 403),
        (&colleague, 403),
        (&accepted, 403),
    ] {
        delete(&server, &who.access, by_owner.id)
            .await
            .expect(status);
    }
    assert_eq!(stored_files(&server).len(), 2);

    // The uploader deletes their own; the survivor deletes anything on their case.
    delete(&server, &accepted.access, by_provider.id)
        .await
        .expect(204);
    delete(&server, &owner.access, by_owner.id)
        .await
        .expect(204);
    assert!(
        stored_files(&server).is_empty(),
        "{:?}",
        stored_files(&server)
    );

    // Gone everywhere, for everyone; the row stays, marked deleted.
    for id in [by_owner.id, by_provider.id] {
        for who in [&owner, &dispatcher, &accepted] {
            server
                .get(&format!("/api/evidence/{id}/download/"), Some(&who.access))
                .await
                .expect_error(404, codes::NOT_FOUND);
        }
        delete(&server, &owner.access, id)
            .await
            .expect_error(404, codes::NOT_FOUND);
    }
    let resp = list(&server, &owner.access, incident.id).await;
    resp.expect(200);
    assert_eq!(resp.json(), json!([]));
    assert_eq!(server.count("evidence").await, 2);
    let deleted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM evidence WHERE deleted_at IS NOT NULL")
            .fetch_one(&server.running.state.db.read)
            .await
            .unwrap();
    assert_eq!(deleted, 2);
}

#[tokio::test]
async fn a_closed_case_takes_no_new_evidence_but_keeps_its_old() {
    let server = TestServer::demo().await;
    let (owner, incident) = survivor_with_case(&server).await;
    let ev = upload_ok(&server, &owner.access, incident.id, "a.jpg", jpeg(10)).await;
    sqlx::query("UPDATE incidents SET status = 'closed' WHERE id = $1")
        .bind(incident.id.to_string())
        .execute(&server.running.state.db.write)
        .await
        .unwrap();
    upload(
        &server,
        &owner.access,
        incident.id,
        "b.jpg",
        "image/jpeg",
        jpeg(10),
    )
    .await
    .expect_error(409, ANY);
    assert_eq!(download_ok(&server, &owner.access, ev.id).await, jpeg(10));
    assert_eq!(server.count("evidence").await, 1);
    assert_eq!(stored_files(&server).len(), 1);
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_upload_leaves_no_partial_file() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let mut conn = tokio::net::TcpStream::connect(server.running.addr)
        .await
        .unwrap();
    let head = format!(
        "POST /api/incidents/{}/evidence/ HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: {}\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.wav\"\r\n\r\n",
        incident.id,
        survivor.access,
        20 * MIB
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // Enough for the type to be known and sealing to start.
    conn.write_all(&wav(MIB)).await.unwrap();
    conn.flush().await.unwrap();
    let part_exists = || {
        stored_files(&server)
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "part"))
    };
    let mut waited = 0;
    while !part_exists() && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(part_exists(), "the upload is being written as a part file");

    drop(conn);
    let mut waited = 0;
    while !stored_files(&server).is_empty() && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(
        stored_files(&server).is_empty(),
        "{:?}",
        stored_files(&server)
    );
    assert_eq!(server.count("evidence").await, 0);
}

// ---------------------------------------------------------------------------------------------
// Client ids and the per-user upload limit
// ---------------------------------------------------------------------------------------------

/// An upload with a `client_id` part sent before the file, as the app's outbox sends it.
async fn upload_with_id(
    server: &TestServer,
    token: &str,
    incident: Uuid,
    client_id: &str,
    bytes: Vec<u8>,
) -> Resp {
    let form = Form::new()
        .text("client_id", client_id.to_owned())
        .part("file", Part::bytes(bytes).file_name("photo.png"));
    upload_form(server, token, incident, form).await
}

#[tokio::test]
async fn a_retried_upload_with_its_client_id_stores_nothing_new() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let first_bytes = png("first", 3000);
    let first = upload_with_id(
        &server,
        &survivor.access,
        incident.id,
        "c-1",
        first_bytes.clone(),
    )
    .await;
    first.expect(201);
    let first: Evidence = first.json_as();
    let files_after_first = stored_files(&server);

    // The answer was lost; the outbox sends it again (even the bytes may be read anew).
    for bytes in [first_bytes.clone(), png("second", 10)] {
        let again = upload_with_id(&server, &survivor.access, incident.id, "c-1", bytes).await;
        again.expect(200);
        let again: Evidence = again.json_as();
        assert_eq!(again.id, first.id);
        assert_eq!(again.size_bytes, first.size_bytes);
    }
    // The client id is trimmed like a report's.
    let spaced = upload_with_id(&server, &survivor.access, incident.id, " c-1 ", png("x", 1)).await;
    assert_eq!(spaced.expect(200).json_as::<Evidence>().id, first.id);
    assert_eq!(server.count("evidence").await, 1);
    assert_eq!(
        stored_files(&server),
        files_after_first,
        "no copy, no part file left"
    );
    assert_eq!(
        download_ok(&server, &survivor.access, first.id).await,
        first_bytes
    );

    // Another id is another file; the same id on another case, or from another uploader, too.
    upload_with_id(&server, &survivor.access, incident.id, "c-2", png("b", 1))
        .await
        .expect(201);
    let other_case = server
        .create_report(&survivor.access, &report("Again, at home."))
        .await;
    upload_with_id(&server, &survivor.access, other_case.id, "c-1", png("c", 1))
        .await
        .expect(201);
    let provider = server.demo_login("healthcare").await;
    let provider_id = provider.user.id;
    assign(&server, incident.id, provider_id, "accepted").await;
    upload_with_id(&server, &provider.access, incident.id, "c-1", png("d", 1))
        .await
        .expect(201);
    assert_eq!(server.count("evidence").await, 4);
    let listed: Vec<Evidence> = list(&server, &survivor.access, incident.id)
        .await
        .expect(200)
        .json_as();
    assert_eq!(listed.len(), 3);

    // A deleted file stays deleted: a late retry answers with it and brings nothing back.
    delete(&server, &survivor.access, first.id)
        .await
        .expect(204);
    let late = upload_with_id(&server, &survivor.access, incident.id, "c-1", first_bytes).await;
    assert_eq!(late.expect(200).json_as::<Evidence>().id, first.id);
    let listed: Vec<Evidence> = list(&server, &survivor.access, incident.id)
        .await
        .expect(200)
        .json_as();
    assert!(listed.iter().all(|e| e.id != first.id));
    assert_eq!(server.count("evidence").await, 4);
}

#[tokio::test]
async fn a_client_id_is_validated() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    for bad in ["   ".to_owned(), "x".repeat(65)] {
        upload_with_id(&server, &survivor.access, incident.id, &bad, png("p", 1))
            .await
            .expect_invalid(&["client_id"]);
    }
    let twice = Form::new()
        .text("client_id", "a")
        .text("client_id", "b")
        .part("file", Part::bytes(png("p", 1)).file_name("p.png"));
    upload_form(&server, &survivor.access, incident.id, twice)
        .await
        .expect_invalid(&["client_id"]);
    // A huge part is refused without being held in memory.
    let huge = Form::new()
        .text("client_id", "y".repeat(MIB))
        .part("file", Part::bytes(png("p", 1)).file_name("p.png"));
    upload_form(&server, &survivor.access, incident.id, huge)
        .await
        .expect_invalid(&["client_id"]);
    upload_with_id(
        &server,
        &survivor.access,
        incident.id,
        &"x".repeat(64),
        png("p", 1),
    )
    .await
    .expect(201);
    assert_eq!(server.count("evidence").await, 1);
    let files = stored_files(&server);
    assert_eq!(files.len(), 1, "{files:?}");
}

/// Opens an upload that sends its first megabyte and then stalls, holding an upload slot.
async fn stalled_upload(server: &TestServer, token: &str, incident: Uuid) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut conn = tokio::net::TcpStream::connect(server.running.addr)
        .await
        .unwrap();
    let head = format!(
        "POST /api/incidents/{incident}/evidence/ HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: {}\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.wav\"\r\n\r\n",
        20 * MIB
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&wav(MIB)).await.unwrap();
    conn.flush().await.unwrap();
    conn
}

async fn part_files(server: &TestServer, expected: usize) {
    let count = || {
        stored_files(server)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "part"))
            .count()
    };
    for _ in 0..200 {
        if count() == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count(), expected, "part files");
}

#[tokio::test]
async fn too_many_uploads_at_once_are_told_when_to_come_back() {
    let server = TestServer::demo().await;
    let (survivor, incident) = survivor_with_case(&server).await;
    let first = stalled_upload(&server, &survivor.access, incident.id).await;
    let second = stalled_upload(&server, &survivor.access, incident.id).await;
    part_files(&server, 2).await;

    let busy = upload_with_id(&server, &survivor.access, incident.id, "c", png("p", 1)).await;
    busy.expect_error(429, codes::TOO_MANY_UPLOADS);
    assert_eq!(
        busy.headers[reqwest::header::RETRY_AFTER],
        kintara_server::evidence::UPLOAD_BUSY_RETRY_SECS.to_string()
    );
    // The limit is per user: a provider on the case is not held up by the survivor.
    let provider = server.demo_login("healthcare").await;
    let provider_id = provider.user.id;
    assign(&server, incident.id, provider_id, "accepted").await;
    upload_ok(&server, &provider.access, incident.id, "p.png", png("q", 1)).await;
    // Someone who may not upload hears that first: the limit says nothing about a case.
    let stranger = server.register_survivor("stranger@kintara.test").await;
    upload_with_id(&server, &stranger.access, incident.id, "c", png("p", 1))
        .await
        .expect_error(404, codes::NOT_FOUND);

    // Hanging up frees the slots.
    drop(first);
    drop(second);
    part_files(&server, 0).await;
    // The part file goes a moment before the handler (and its slot) does.
    let mut status = 0;
    for _ in 0..40 {
        let resp = upload_with_id(&server, &survivor.access, incident.id, "c", png("p", 1)).await;
        status = resp.status.as_u16();
        if status != 429 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 201);
}

#[test]
fn the_evidence_routes_are_documented() {
    let doc = kintara_server::routes::openapi();
    for (path, method) in [
        ("/api/incidents/{id}/evidence/", "post"),
        ("/api/incidents/{id}/evidence/", "get"),
        ("/api/evidence/{id}/download/", "get"),
        ("/api/evidence/{id}/", "delete"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert_eq!(op["tags"], serde_json::json!(["evidence"]));
    }
}
