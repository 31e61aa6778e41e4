//! The encrypted file store for evidence: `<data-dir>/evidence/<id>`, one file per upload.
//!
//! Files are sealed with XChaCha20-Poly1305 in the STREAM construction (BE32 counter): the
//! plaintext is cut into 64 KiB segments, each sealed with a nonce made of a random per-file
//! prefix, the segment's position, and a flag on the last segment. Reordered, dropped, truncated
//! or altered segments therefore fail to open, and so does a file moved to another id (the id is
//! associated data of every segment).
//!
//! Layout: `MAGIC (8) | nonce prefix (19) | segment* ` where every segment but the last holds
//! exactly `SEGMENT + TAG` bytes and the last holds `1..=SEGMENT` bytes of plaintext plus its tag.
//!
//! Writes go to `<id>.part` and become `<id>` only when complete, so a reader never sees a file
//! that is still being written, and an abandoned upload leaves nothing behind (`Upload` removes
//! its part file when dropped unfinished).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// Plaintext bytes per sealed segment.
pub const SEGMENT: usize = 64 * 1024;
/// Poly1305 tag appended to every segment.
const TAG: usize = 16;
/// Bytes of a sealed full segment.
const SEALED_SEGMENT: usize = SEGMENT + TAG;
/// Identifies the format (and its version) so a future change can still read old files.
const MAGIC: &[u8; 8] = b"KNTEVD01";
/// XChaCha20's 24-byte nonce less the 5 bytes STREAM uses for the counter and last-flag.
const NONCE_PREFIX: usize = 19;
const HEADER: usize = MAGIC.len() + NONCE_PREFIX;
/// Part files older than this at start-up belong to uploads that died with a previous process.
const STALE_PART: Duration = Duration::from_secs(24 * 3600);

/// The 256-bit key that seals every evidence file.
#[derive(Clone)]
pub struct EvidenceKey([u8; 32]);

impl EvidenceKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        EvidenceKey(bytes)
    }

    /// Parses 64 hex characters (surrounding whitespace, e.g. a newline in a key file, is ignored).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Invalid)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Invalid)?;
        Ok(EvidenceKey(bytes))
    }

    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        EvidenceKey(bytes)
    }

    /// `given` (from `--evidence-key`) when set; otherwise the key in `path`, created with a
    /// random key (mode 0600) on first start.
    pub fn load(given: Option<&str>, path: &Path) -> Result<Self, KeyError> {
        if let Some(hex) = given {
            return Self::from_hex(hex);
        }
        let file_err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(file_err)?;
                }
                let key = Self::random();
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path);
                match created {
                    Ok(mut f) => {
                        f.write_all(hex::encode(key.0).as_bytes())
                            .and_then(|()| f.sync_all())
                            .map_err(file_err)?;
                        Ok(key)
                    }
                    // Another process sharing the data directory won the race: use its key.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        Self::from_hex(&std::fs::read_to_string(path).map_err(file_err)?)
                    }
                    Err(e) => Err(file_err(e)),
                }
            }
            Err(e) => Err(file_err(e)),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }
}

/// Never print the key, not even in debug output.
impl std::fmt::Debug for EvidenceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvidenceKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the evidence key must be 64 hex characters (32 bytes)")]
    Invalid,
    #[error("cannot read or create the evidence key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot create the evidence directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("evidence file i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("evidence file has no valid header")]
    Format,
    /// Altered, truncated, reordered, moved to another id, or sealed with another key.
    #[error("evidence file failed authentication")]
    Tampered,
    #[error("evidence file holds more or less than its recorded size")]
    Length,
    #[error("evidence file is too large to seal")]
    TooLarge,
}

/// The directory of sealed files and the key that seals them.
#[derive(Debug)]
pub struct EvidenceStore {
    dir: PathBuf,
    key: EvidenceKey,
    /// The uploads running now, per user (the limit lives with the store it protects).
    uploads: super::UploadSlots,
}

impl EvidenceStore {
    /// The store in `<data_dir>/evidence` with the key from `--evidence-key` or
    /// `<data_dir>/evidence.key`.
    pub fn open(data_dir: &Path, key_hex: Option<&str>) -> Result<Self, OpenError> {
        let key = EvidenceKey::load(key_hex, &data_dir.join("evidence.key"))?;
        Self::with_key(data_dir.join("evidence"), key)
    }

    /// The store in `dir` (created 0700 if missing) with `key`. Part files left by uploads that
    /// died with an earlier process are removed.
    pub fn with_key(dir: PathBuf, key: EvidenceKey) -> Result<Self, OpenError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir_err = |source| OpenError::Dir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(dir_err)?;
        let store = EvidenceStore {
            dir,
            key,
            uploads: super::UploadSlots::default(),
        };
        store.remove_stale_parts();
        Ok(store)
    }

    pub fn uploads(&self) -> &super::UploadSlots {
        &self.uploads
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the sealed bytes of `id` live once complete.
    pub fn path(&self, id: Uuid) -> PathBuf {
        self.dir.join(id.to_string())
    }

    fn part_path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    /// Starts writing `id`: a new part file with a fresh header.
    pub async fn create(&self, id: Uuid) -> Result<Upload, StoreError> {
        let part = self.part_path(id);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&part)
            .await?;
        // From here on the guard owns the part file, so an error below still removes it.
        let mut prefix = [0u8; NONCE_PREFIX];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        let mut upload = Upload {
            id,
            encryptor: Some(EncryptorBE32::from_aead(
                self.key.cipher(),
                (&prefix).into(),
            )),
            pending: Vec::with_capacity(SEGMENT),
            size: 0,
            part: part.clone(),
            dest: self.path(id),
            file: None,
            aad: associated_data(id),
        };
        let mut header = [0u8; HEADER];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()..].copy_from_slice(&prefix);
        file.write_all(&header).await?;
        upload.file = Some(file);
        Ok(upload)
    }

    /// Opens `id` for reading; `expected_len` is the recorded plaintext size, checked at the end.
    pub async fn open_reader(&self, id: Uuid, expected_len: u64) -> Result<Reader, StoreError> {
        let mut file = tokio::fs::File::open(self.path(id)).await?;
        let mut header = [0u8; HEADER];
        file.read_exact(&mut header).await.map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                StoreError::Format
            } else {
                StoreError::Io(e)
            }
        })?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(StoreError::Format);
        }
        let prefix: [u8; NONCE_PREFIX] = header[MAGIC.len()..]
            .try_into()
            .map_err(|_| StoreError::Format)?;
        Ok(Reader {
            file,
            decryptor: Some(DecryptorBE32::from_aead(
                self.key.cipher(),
                (&prefix).into(),
            )),
            buf: Vec::with_capacity(SEALED_SEGMENT + 1),
            eof: false,
            aad: associated_data(id),
            produced: 0,
            expected_len,
        })
    }

    /// Removes the sealed file of `id`; a file that is already gone is not an error.
    pub async fn remove(&self, id: Uuid) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn remove_stale_parts(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "part") {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_PART);
            if stale {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Every segment is bound to the format and the evidence id.
fn associated_data(id: Uuid) -> [u8; MAGIC.len() + 16] {
    let mut aad = [0u8; MAGIC.len() + 16];
    aad[..MAGIC.len()].copy_from_slice(MAGIC);
    aad[MAGIC.len()..].copy_from_slice(id.as_bytes());
    aad
}

/// A file being written. Dropping it before `finish` removes the part file.
pub struct Upload {
    id: Uuid,
    file: Option<tokio::fs::File>,
    encryptor: Option<EncryptorBE32<XChaCha20Poly1305>>,
    /// Plaintext not sealed yet. A full segment is sealed only once more data arrives, because
    /// only then is it known not to be the last one.
    pending: Vec<u8>,
    size: u64,
    part: PathBuf,
    dest: PathBuf,
    aad: [u8; MAGIC.len() + 16],
}

impl Upload {
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Plaintext bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), StoreError> {
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.pending.len() == SEGMENT {
                let sealed = self
                    .encryptor
                    .as_mut()
                    .ok_or(StoreError::Format)?
                    .encrypt_next(Payload {
                        msg: &self.pending,
                        aad: &self.aad,
                    })
                    .map_err(|_| StoreError::TooLarge)?;
                self.file_mut()?.write_all(&sealed).await?;
                self.pending.clear();
            }
            let take = (SEGMENT - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals the last segment, makes the bytes durable, and moves the part file to its final
    /// name. The returned guard removes the file again unless `keep` is called.
    pub async fn finish(mut self) -> Result<Stored, StoreError> {
        let encryptor = self.encryptor.take().ok_or(StoreError::Format)?;
        let sealed = encryptor
            .encrypt_last(Payload {
                msg: &self.pending,
                aad: &self.aad,
            })
            .map_err(|_| StoreError::TooLarge)?;
        let mut file = self.file.take().ok_or(StoreError::Format)?;
        file.write_all(&sealed).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&self.part, &self.dest).await?;
        // The part file no longer exists; the guard below owns the final file now.
        let stored = Stored {
            path: std::mem::take(&mut self.dest),
            size: self.size,
            keep: false,
        };
        self.part = PathBuf::new();
        Ok(stored)
    }

    fn file_mut(&mut self) -> Result<&mut tokio::fs::File, StoreError> {
        self.file.as_mut().ok_or(StoreError::Format)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Synchronous on purpose: this also runs when a client disconnects and the handler's
        // future is dropped, where nothing async can run any more.
        if !self.part.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// A complete sealed file whose database row is not committed yet. Dropped without `keep`, it
/// removes the file, so a failed insert leaves no orphan behind.
pub struct Stored {
    path: PathBuf,
    size: u64,
    keep: bool,
}

impl Stored {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Stored {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads a sealed file back, one authenticated segment at a time.
pub struct Reader {
    file: tokio::fs::File,
    decryptor: Option<DecryptorBE32<XChaCha20Poly1305>>,
    buf: Vec<u8>,
    eof: bool,
    aad: [u8; MAGIC.len() + 16],
    produced: u64,
    expected_len: u64,
}

impl Reader {
    /// The next segment's plaintext, `None` after the last one. Nothing is returned from a
    /// segment that does not authenticate, and the end is only reached through the segment
    /// sealed as last, so a truncated file is an error rather than a short read.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        if self.decryptor.is_none() {
            return Ok(None);
        }
        // One byte more than a full segment tells whether this segment is the last.
        while !self.eof && self.buf.len() <= SEALED_SEGMENT {
            let have = self.buf.len();
            self.buf.resize(SEALED_SEGMENT + 1, 0);
            let n = self.file.read(&mut self.buf[have..]).await?;
            self.buf.truncate(have + n);
            if n == 0 {
                self.eof = true;
            }
        }
        let plain = if self.buf.len() > SEALED_SEGMENT {
            let decryptor = self.decryptor.as_mut().ok_or(StoreError::Format)?;
            let plain = decryptor
                .decrypt_next(Payload {
                    msg: &self.buf[..SEALED_SEGMENT],
                    aad: &self.aad,
                })
                .map_err(|_| StoreError::Tampered)?;
            self.buf.drain(..SEALED_SEGMENT);
            plain
        } else {
            let decryptor = self.decryptor.take().ok_or(StoreError::Format)?;
            let plain = decryptor
                .decrypt_last(Payload {
                    msg: &self.buf,
                    aad: &self.aad,
                })
                .map_err(|_| StoreError::Tampered)?;
            self.buf.clear();
            plain
        };
        self.produced += plain.len() as u64;
        let done = self.decryptor.is_none();
        if self.produced > self.expected_len || (done && self.produced != self.expected_len) {
            self.decryptor = None;
            return Err(StoreError::Length);
        }
        Ok(Some(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> EvidenceStore {
        EvidenceStore::with_key(dir.join("evidence"), EvidenceKey::from_bytes([7; 32])).unwrap()
    }

    /// Bytes that differ at every position, so a swapped or shifted segment would show.
    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    async fn put(store: &EvidenceStore, id: Uuid, data: &[u8], piece: usize) {
        let mut up = store.create(id).await.unwrap();
        for part in data.chunks(piece.max(1)) {
            up.write(part).await.unwrap();
        }
        let stored = up.finish().await.unwrap();
        assert_eq!(stored.size(), data.len() as u64);
        stored.keep();
    }

    async fn get(store: &EvidenceStore, id: Uuid, len: u64) -> Result<Vec<u8>, StoreError> {
        let mut r = store.open_reader(id, len).await?;
        let mut out = Vec::new();
        while let Some(chunk) = r.next_chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn round_trips_every_size_around_segment_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for len in [
            1,
            100,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            2 * SEGMENT,
            3 * SEGMENT + 17,
        ] {
            let data = sample(len);
            // Odd write sizes, as multipart chunks arrive.
            for piece in [7, 4096, SEGMENT + 3] {
                let id = Uuid::new_v4();
                put(&store, id, &data, piece).await;
                assert_eq!(
                    get(&store, id, len as u64).await.unwrap(),
                    data,
                    "{len}/{piece}"
                );
                let sealed = std::fs::read(store.path(id)).unwrap();
                assert_eq!(
                    sealed.len(),
                    HEADER + len + len.div_ceil(SEGMENT).max(1) * TAG
                );
            }
        }
    }

    #[tokio::test]
    async fn stored_bytes_are_not_the_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let id = Uuid::new_v4();
        let marker = b"SURVIVOR-STATEMENT-MARKER".repeat(100);
        put(&store, id, &marker, 1000).await;
        let sealed = std::fs::read(store.path(id)).unwrap();
        assert!(!sealed.windows(b"SURVIVOR".len()).any(|w| w == b"SURVIVOR"));
    }

    #[tokio::test]
    async fn detects_tampering_truncation_reordering_and_a_moved_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let data = sample(3 * SEGMENT + 5);
        let len = data.len() as u64;
        let id = Uuid::new_v4();
        put(&store, id, &data, SEGMENT).await;
        let original = std::fs::read(store.path(id)).unwrap();
        let rewrite = |bytes: &[u8]| std::fs::write(store.path(id), bytes).unwrap();

        // One flipped bit in the second segment.
        let mut flipped = original.clone();
        flipped[HEADER + SEALED_SEGMENT + 10] ^= 1;
        rewrite(&flipped);
        assert!(matches!(
            get(&store, id, len).await,
            Err(StoreError::Tampered)
        ));

        // Cut after a whole segment: the remaining segment was not sealed as the last.
        rewrite(&original[..HEADER + 2 * SEALED_SEGMENT]);
        assert!(matches!(
            get(&store, id, len).await,
            Err(StoreError::Tampered)
        ));

        // Cut inside the last segment.
        rewrite(&original[..original.len() - 3]);
        assert!(matches!(
            get(&store, id, len).await,
            Err(StoreError::Tampered)
        ));

        // The first two segments swapped.
        let mut swapped = original[..HEADER].to_vec();
        swapped.extend_from_slice(&original[HEADER + SEALED_SEGMENT..HEADER + 2 * SEALED_SEGMENT]);
        swapped.extend_from_slice(&original[HEADER..HEADER + SEALED_SEGMENT]);
        swapped.extend_from_slice(&original[HEADER + 2 * SEALED_SEGMENT..]);
        rewrite(&swapped);
        assert!(matches!(
            get(&store, id, len).await,
            Err(StoreError::Tampered)
        ));

        // A changed nonce prefix.
        let mut renonced = original.clone();
        renonced[MAGIC.len()] ^= 0x80;
        rewrite(&renonced);
        assert!(matches!(
            get(&store, id, len).await,
            Err(StoreError::Tampered)
        ));

        // Not our format at all.
        rewrite(b"%PDF-1.4 not sealed");
        assert!(matches!(
            get(&store, id, len).await,
            Err(StoreError::Format)
        ));

        // The intact file copied to another id.
        rewrite(&original);
        let other = Uuid::new_v4();
        std::fs::write(store.path(other), &original).unwrap();
        assert!(matches!(
            get(&store, other, len).await,
            Err(StoreError::Tampered)
        ));
        // And the intact file still opens.
        assert_eq!(get(&store, id, len).await.unwrap(), data);
        // With a recorded size that disagrees, the read fails instead of ending quietly.
        assert!(matches!(
            get(&store, id, len - 1).await,
            Err(StoreError::Length)
        ));
        assert!(matches!(
            get(&store, id, len + 1).await,
            Err(StoreError::Length)
        ));
    }

    #[tokio::test]
    async fn another_key_cannot_open_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let id = Uuid::new_v4();
        put(&store, id, b"%PDF-1.4 statement", 64).await;
        let other =
            EvidenceStore::with_key(store.dir().to_owned(), EvidenceKey::from_bytes([8; 32]))
                .unwrap();
        assert!(matches!(
            get(&other, id, 18).await,
            Err(StoreError::Tampered)
        ));
    }

    #[tokio::test]
    async fn an_unfinished_upload_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let id = Uuid::new_v4();
        let mut up = store.create(id).await.unwrap();
        up.write(&sample(3 * SEGMENT)).await.unwrap();
        drop(up);
        let left: Vec<_> = std::fs::read_dir(store.dir()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");

        // A finished file whose row never committed is removed too.
        let up = store.create(id).await.unwrap();
        let stored = up.finish().await.unwrap();
        assert!(store.path(id).exists());
        drop(stored);
        assert!(!store.path(id).exists());
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.key");
        let first = EvidenceKey::load(None, &path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = EvidenceKey::load(None, &path).unwrap();
        assert_eq!(first.0, again.0);
        // A configured key wins and is validated.
        let given = "ab".repeat(32);
        assert_eq!(
            EvidenceKey::load(Some(&given), &path).unwrap().0,
            [0xab; 32]
        );
        assert!(matches!(
            EvidenceKey::load(Some("abcd"), &path),
            Err(KeyError::Invalid)
        ));
        assert!(matches!(
            EvidenceKey::from_hex(&"zz".repeat(32)),
            Err(KeyError::Invalid)
        ));
        assert_eq!(format!("{first:?}"), "EvidenceKey(..)");
    }
}
