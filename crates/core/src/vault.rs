//! Sealing secrets for storage on the device: XChaCha20-Poly1305 with a 256-bit device key, and
//! where that key lives (`DeviceKey`).
//!
//! The key is kept in the OS keystore where there is one (`keystore`); otherwise it is sealed
//! under a key derived from the user's PIN (Argon2id) in `device.key.pin`. A plain key file
//! (`device.key`, what older builds wrote) is never an end state: `DeviceKey::open` moves it into
//! the keystore, or `DeviceKey::set_new_pin` under the PIN, then overwrites and removes it. The
//! sealed format is the same whichever source the key came from, so data sealed before still
//! opens.

pub mod keystore;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

pub use keystore::{Keystore, KeystoreError};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// The shortest PIN accepted for a new device key. A PIN has little entropy; Argon2id makes
/// each guess slow, and six digits make a million of them.
pub const MIN_PIN_DIGITS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the device key file {0} is unreadable or damaged")]
    BadKey(String),
    #[error("the device key could not be read or written: {0}")]
    Io(#[from] std::io::Error),
    #[error("the sealed data is damaged or was sealed with another key")]
    Open,
    /// The device key is protected by a PIN: unlock it with `DeviceKey::unlock`.
    #[error("this device's data is locked; enter the PIN")]
    Locked,
    #[error("that PIN is not right")]
    WrongPin,
    /// Too many wrong PINs in a row: the next try is allowed after `wait_secs`.
    #[error("too many wrong PINs; try again in {wait_secs} seconds")]
    TooManyAttempts { wait_secs: u64 },
    #[error("a PIN is at least {MIN_PIN_DIGITS} digits, and only digits")]
    WeakPin,
    /// A new PIN was asked for, but the device key already exists (in the keystore or under a
    /// PIN).
    #[error("this device already has its key")]
    KeyExists,
    /// The key is kept in the OS keystore, which cannot be reached now.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
}

/// Seals and opens with one device key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl Vault {
    pub fn from_key(key: [u8; 32]) -> Self {
        Vault {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (a label such as "session"), as base64 text.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption with a valid key cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    /// Decrypts what `seal` made with the same key and context.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, VaultError> {
        let raw = STANDARD.decode(sealed).map_err(|_| VaultError::Open)?;
        if raw.len() < 1 + NONCE_LEN || raw[0] != VERSION {
            return Err(VaultError::Open);
        }
        let (nonce, ct) = raw[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Open)
    }

    /// Derives the key from the user's PIN with Argon2id at [`PinKdf::CURRENT`]: the path for
    /// devices with no OS keystore. A PIN has little entropy, so the memory-hard KDF (and the
    /// per-install random `salt`, stored beside the data) is what makes guessing it offline slow.
    pub fn from_pin(pin: &str, salt: &[u8; 16]) -> Vault {
        Vault::from_pin_with(PinKdf::CURRENT, pin, salt)
    }

    fn from_pin_with(kdf: PinKdf, pin: &str, salt: &[u8; 16]) -> Vault {
        let mut key = [0u8; 32];
        kdf.argon2()
            .hash_password_into(pin.as_bytes(), salt, &mut key)
            .expect("a 16-byte salt and a 32-byte key are valid Argon2 parameters");
        Vault::from_key(key)
    }
}

/// The Argon2id costs a PIN file was sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinKdf {
    /// The argon2 crate's defaults (19 MiB, 2 passes): what builds before `Tuned` wrote. Such a
    /// file is re-sealed at `Tuned` on its first unlock.
    Default,
    /// 128 MiB, 6 passes, one lane: one guess costs this machine about half a second, so
    /// trying every six-digit PIN on both its cores takes days (README, Figures;
    /// `cargo bench -p kintara-core --bench pin_kdf`).
    Tuned,
}

impl PinKdf {
    pub const CURRENT: PinKdf = PinKdf::Tuned;
    pub const TUNED_MEMORY_KIB: u32 = 128 * 1024;
    pub const TUNED_PASSES: u32 = 6;

    pub fn argon2(self) -> argon2::Argon2<'static> {
        match self {
            PinKdf::Default => argon2::Argon2::default(),
            PinKdf::Tuned => argon2::Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::new(Self::TUNED_MEMORY_KIB, Self::TUNED_PASSES, 1, Some(32))
                    .expect("valid Argon2 parameters"),
            ),
        }
    }
}

/// Whether `pin` may protect a new device key: at least `MIN_PIN_DIGITS` digits, digits only.
pub fn check_new_pin(pin: &str) -> Result<(), VaultError> {
    if pin.chars().count() >= MIN_PIN_DIGITS && pin.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(VaultError::WeakPin)
    }
}

/// Where a device key is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The OS keystore: the key opens with no question asked.
    Keystore,
    /// Sealed under the user's PIN (Argon2id).
    Pin,
}

/// What `DeviceKey::open` found.
pub enum KeyState {
    /// The key is at hand (from the keystore): seal and open away.
    Unlocked(Vault),
    /// The key is under a PIN: ask for it, then `DeviceKey::unlock`.
    NeedsPin,
    /// There is no keystore and no key under a PIN yet: ask the user to choose a PIN, then
    /// `DeviceKey::set_new_pin`. Nothing sensitive may be stored before that.
    NeedsNewPin,
}

impl std::fmt::Debug for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyState::Unlocked(_) => "Unlocked",
            KeyState::NeedsPin => "NeedsPin",
            KeyState::NeedsNewPin => "NeedsNewPin",
        })
    }
}

/// What a device key file is named in a device's data directory.
const PLAIN_FILE: &str = "device.key";
/// The key sealed under the PIN: `base64(salt):sealed`.
const PIN_FILE: &str = "device.key.pin";
/// The key is in the OS keystore under the account named inside. The marker is written before
/// the key is stored, so a keystore item never exists without it (wipe finds it), and a keystore
/// that cannot be reached later is an error rather than a reason to make a new key.
const KEYSTORE_FILE: &str = "device.keystore";
/// Wrong PINs in a row and when the last one was, as older builds kept them: `count
/// unix-seconds`. Now they are the PIN file's second line, so that removing them removes the
/// key; this file is only read once, then removed.
const TRIES_FILE: &str = "device.pin-tries";
/// The PIN file's first line at [`PinKdf::Tuned`]: `kdf2:<salt>:<sealed key>`; the second line
/// `tries:<count>:<unix-seconds>`. An older file is one line, `<salt>:<sealed key>`.
const TUNED_TAG: &str = "kdf2";
/// The Android biometric wrap: `check:wrapped` (see `DeviceKey::set_biometric_wrap`).
const BIOMETRIC_FILE: &str = "device.key.bio";

const DEVICE_KEY_CONTEXT: &str = "kintara.device-key";
const BIOMETRIC_CHECK_CONTEXT: &str = "kintara.biometric-check";

/// After this many wrong PINs in a row each further try must wait, twice as long every time.
const FREE_TRIES: u32 = 3;
const FIRST_WAIT_SECS: u64 = 5;
const MAX_WAIT_SECS: u64 = 15 * 60;

/// The device key of one data directory: where it is, and the ways to open it.
#[derive(Clone, Debug)]
pub struct DeviceKey {
    dir: PathBuf,
    keystore: Option<Keystore>,
}

impl DeviceKey {
    /// The key of `dir`, kept in the OS keystore where this build has one.
    pub fn new(dir: impl Into<PathBuf>) -> DeviceKey {
        DeviceKey {
            dir: dir.into(),
            keystore: Keystore::os(),
        }
    }

    /// The key of `dir`, never in a keystore: the PIN path only.
    pub fn without_keystore(dir: impl Into<PathBuf>) -> DeviceKey {
        DeviceKey {
            dir: dir.into(),
            keystore: None,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Where the key is now, if there is one.
    pub fn source(&self) -> Option<KeySource> {
        if self.path(PIN_FILE).exists() {
            Some(KeySource::Pin)
        } else if self.path(KEYSTORE_FILE).exists() {
            Some(KeySource::Keystore)
        } else {
            None
        }
    }

    /// The keystore account of this device's key, when it is kept there.
    pub fn keystore_account(&self) -> Option<String> {
        std::fs::read_to_string(self.path(KEYSTORE_FILE))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// Finds the device key: from the keystore (moving a plain key file there, or making a new
    /// key there on a new device), or says that a PIN is needed, or that one must be chosen.
    /// Blocks: the keystore is asked synchronously, with a time limit.
    pub fn open(&self) -> Result<KeyState, VaultError> {
        if self.path(PIN_FILE).exists() {
            // Left over only if a migration stopped between writing the PIN file and removing
            // the plain key: the PIN file is complete, so the plain copy goes now.
            scrub(&self.path(PLAIN_FILE))?;
            return Ok(KeyState::NeedsPin);
        }
        if let Some(account) = self.keystore_account() {
            let keystore = self.keystore.as_ref().ok_or_else(|| {
                KeystoreError::Unavailable("this build has no keystore for this OS".into())
            })?;
            let key = match keystore.get(&account)? {
                Some(key) => key,
                // The item is missing: a migration stopped before storing it (the plain file
                // is still there), or the user cleared the keystore (what was sealed with the
                // old key is lost either way; a new key lets the app go on).
                None => {
                    let key = match read_plain(&self.path(PLAIN_FILE))? {
                        Some(key) => key,
                        None => {
                            tracing::warn!(
                                "the device key is missing from the OS keystore; starting over \
                                 with a new one"
                            );
                            random_key()
                        }
                    };
                    keystore.set(&account, &key)?;
                    key
                }
            };
            scrub(&self.path(PLAIN_FILE))?;
            return Ok(KeyState::Unlocked(Vault::from_key(key)));
        }
        // No key yet, or a plain one from an older build: into the keystore if there is one.
        let plain = read_plain(&self.path(PLAIN_FILE))?;
        if let Some(keystore) = &self.keystore {
            let key = plain.unwrap_or_else(random_key);
            match self.store_in_keystore(keystore, &key) {
                Ok(()) => {
                    scrub(&self.path(PLAIN_FILE))?;
                    return Ok(KeyState::Unlocked(Vault::from_key(key)));
                }
                Err(e) => {
                    tracing::info!(error = %e, "no usable OS keystore: the device key goes under a PIN");
                }
            }
        }
        Ok(KeyState::NeedsNewPin)
    }

    /// Stores `key` under a new account, and reads it back before relying on it: a keystore
    /// that accepts an item it cannot return would lose the key. Leaves nothing behind on
    /// failure.
    fn store_in_keystore(&self, keystore: &Keystore, key: &[u8; 32]) -> Result<(), VaultError> {
        std::fs::create_dir_all(&self.dir)?;
        let account = format!("device-key-{}", uuid::Uuid::new_v4());
        write_private(&self.path(KEYSTORE_FILE), account.as_bytes())?;
        let stored = keystore
            .set(&account, key)
            .and_then(|()| keystore.get(&account));
        match stored {
            Ok(Some(back)) if back == *key => Ok(()),
            other => {
                let _ = keystore.delete(&account);
                let _ = std::fs::remove_file(self.path(KEYSTORE_FILE));
                Err(match other {
                    Err(e) => e.into(),
                    _ => KeystoreError::Unavailable("the key did not come back".into()).into(),
                })
            }
        }
    }

    /// After `KeyState::NeedsNewPin`: puts the device key (the plain one of an older build, or
    /// a new one) under `pin`, and opens it.
    pub fn set_new_pin(&self, pin: &str) -> Result<Vault, VaultError> {
        check_new_pin(pin)?;
        if self.source().is_some() {
            return Err(VaultError::KeyExists);
        }
        std::fs::create_dir_all(&self.dir)?;
        let key = read_plain(&self.path(PLAIN_FILE))?.unwrap_or_else(random_key);
        self.write_pin_file(&key, pin)?;
        scrub(&self.path(PLAIN_FILE))?;
        let _ = std::fs::remove_file(self.path(TRIES_FILE));
        Ok(Vault::from_key(key))
    }

    /// After `KeyState::NeedsPin`: opens the key with `pin`. Wrong PINs are counted on disk
    /// (so a restart does not reset them); from the `FREE_TRIES`th on, the next try must wait,
    /// twice as long every time.
    pub fn unlock(&self, pin: &str) -> Result<Vault, VaultError> {
        self.unwrap_pin_key(pin).map(Vault::from_key)
    }

    /// Seconds until the next PIN may be tried (0: now).
    pub fn retry_after(&self) -> u64 {
        let (count, last) = self.tries();
        let wait = wait_after(count);
        (last + wait).saturating_sub(now_secs()).min(wait)
    }

    /// Replaces the PIN (the key stays the same, so everything sealed still opens).
    pub fn change_pin(&self, old: &str, new: &str) -> Result<(), VaultError> {
        check_new_pin(new)?;
        let key = self.unwrap_pin_key(old)?;
        self.write_pin_file(&key, new)?;
        // The biometric wrap holds the key itself, not the PIN: it stays valid.
        Ok(())
    }

    /// Moves a key kept in the keystore under `pin` instead (for a user who would rather not
    /// trust the OS session with it). The keystore item goes.
    pub fn move_to_pin(&self, pin: &str) -> Result<(), VaultError> {
        check_new_pin(pin)?;
        let account = self.keystore_account().ok_or(VaultError::Locked)?;
        let keystore = self.keystore.as_ref().ok_or_else(|| {
            KeystoreError::Unavailable("this build has no keystore for this OS".into())
        })?;
        let key = keystore
            .get(&account)?
            .ok_or_else(|| VaultError::BadKey(account.clone()))?;
        self.write_pin_file(&key, pin)?;
        keystore.delete(&account)?;
        std::fs::remove_file(self.path(KEYSTORE_FILE))?;
        Ok(())
    }

    /// Wipe (sign-out, panic wipe): the keystore item, the PIN file, the biometric wrap, the
    /// counters and any plain key all go, so nothing sealed with the key can be opened again.
    /// The files go even when the keystore cannot be reached; that error is returned after.
    pub fn destroy(&self) -> Result<(), VaultError> {
        let mut keystore_result = Ok(());
        if let (Some(account), Some(keystore)) = (self.keystore_account(), &self.keystore) {
            keystore_result = keystore.delete(&account);
        }
        for name in [PIN_FILE, BIOMETRIC_FILE, PLAIN_FILE] {
            scrub(&self.path(name))?;
        }
        for name in [KEYSTORE_FILE, TRIES_FILE] {
            match std::fs::remove_file(self.path(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(keystore_result?)
    }

    fn unwrap_pin_key(&self, pin: &str) -> Result<[u8; 32], VaultError> {
        let wait = self.retry_after();
        if wait > 0 {
            return Err(VaultError::TooManyAttempts { wait_secs: wait });
        }
        let file = self.pin_file()?;
        let path = self.path(PIN_FILE);
        let bad = || VaultError::BadKey(path.display().to_string());
        match Vault::from_pin_with(file.kdf, pin, &file.salt).open(DEVICE_KEY_CONTEXT, &file.sealed)
        {
            Ok(key) => {
                let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
                // Re-sealed at today's cost (an older file), and the count starts over.
                if file.kdf != PinKdf::CURRENT || file.tries != (0, 0) {
                    self.write_pin_file(&key, pin)?;
                }
                let _ = std::fs::remove_file(self.path(TRIES_FILE));
                Ok(key)
            }
            Err(_) => {
                let (count, _) = file.tries;
                self.write_tries(&file, count.saturating_add(1), now_secs())?;
                Err(VaultError::WrongPin)
            }
        }
    }

    /// The PIN file as it stands; `Locked` when there is none.
    fn pin_file(&self) -> Result<PinFile, VaultError> {
        let path = self.path(PIN_FILE);
        let bad = || VaultError::BadKey(path.display().to_string());
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(VaultError::Locked),
            Err(e) => return Err(e.into()),
        };
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default().trim();
        let (kdf, rest) = match first.split_once(':') {
            Some((TUNED_TAG, rest)) => (PinKdf::Tuned, rest),
            _ => (PinKdf::Default, first),
        };
        let (salt, sealed) = rest.split_once(':').ok_or_else(bad)?;
        let salt: [u8; 16] = STANDARD
            .decode(salt)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        let tries = match kdf {
            // An older build's count, in a file of its own.
            PinKdf::Default => legacy_tries(&self.path(TRIES_FILE)),
            PinKdf::Tuned => {
                let parsed = lines.next().and_then(|l| {
                    let mut parts = l.trim().strip_prefix("tries:")?.split(':');
                    let count = parts.next()?.parse::<u32>().ok()?;
                    let last = parts.next()?.parse::<u64>().ok()?;
                    Some((count, last))
                });
                // A count that was cut off or edited away does not start over: it counts as
                // past the free tries, from when the file was last written.
                parsed.unwrap_or_else(|| {
                    let written = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or_else(now_secs, |d| d.as_secs());
                    (FREE_TRIES + 3, written)
                })
            }
        };
        Ok(PinFile {
            kdf,
            salt,
            sealed: sealed.to_owned(),
            tries,
        })
    }

    fn tries(&self) -> (u32, u64) {
        self.pin_file().map(|f| f.tries).unwrap_or((0, 0))
    }

    /// Records the count in the PIN file itself (an older file keeps its own tries file).
    fn write_tries(&self, file: &PinFile, count: u32, last: u64) -> Result<(), VaultError> {
        match file.kdf {
            PinKdf::Default => {
                write_private(&self.path(TRIES_FILE), format!("{count} {last}").as_bytes())
            }
            PinKdf::Tuned => write_private(
                &self.path(PIN_FILE),
                format!(
                    "{TUNED_TAG}:{}:{}\ntries:{count}:{last}\n",
                    STANDARD.encode(file.salt),
                    file.sealed
                )
                .as_bytes(),
            ),
        }
    }

    /// Seals `key` under `pin` at today's cost, with no wrong tries counted.
    fn write_pin_file(&self, key: &[u8; 32], pin: &str) -> Result<(), VaultError> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let sealed = Vault::from_pin(pin, &salt).seal(DEVICE_KEY_CONTEXT, key);
        write_private(
            &self.path(PIN_FILE),
            format!(
                "{TUNED_TAG}:{}:{sealed}\ntries:0:0\n",
                STANDARD.encode(salt)
            )
            .as_bytes(),
        )
    }
}

/// What the PIN file holds.
struct PinFile {
    kdf: PinKdf,
    salt: [u8; 16],
    sealed: String,
    tries: (u32, u64),
}

fn legacy_tries(path: &Path) -> (u32, u64) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(count), Some(last)) => (count.min(u32::MAX as u64) as u32, last),
        _ => (0, 0),
    }
}

/// Android's biometric unlock: the OS encrypts the device key with a key of its own that only
/// the user's biometrics release (tauri-plugin-biometric's `biometric_cipher`). The core keeps
/// the OS's opaque text and a check sealed with the device key, so a wrong or stale wrap is
/// refused instead of opening nothing.
impl DeviceKey {
    /// The key as text, for the OS to wrap under biometrics. Only with the key unlocked (`pin`).
    pub fn key_for_biometric_wrap(&self, pin: &str) -> Result<String, VaultError> {
        Ok(STANDARD.encode(self.unwrap_pin_key(pin)?))
    }

    /// Keeps the OS's wrap of the key, with a check that the key it releases is this one.
    pub fn set_biometric_wrap(&self, vault: &Vault, wrapped: &str) -> Result<(), VaultError> {
        let check = vault.seal(BIOMETRIC_CHECK_CONTEXT, b"kintara");
        write_private(
            &self.path(BIOMETRIC_FILE),
            format!("{check}:{wrapped}").as_bytes(),
        )
    }

    /// The OS's wrap of the key, if biometric unlock was set up.
    pub fn biometric_wrap(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.path(BIOMETRIC_FILE)).ok()?;
        text.trim().split_once(':').map(|(_, w)| w.to_owned())
    }

    /// Opens the vault with the key the OS released after a biometric check.
    pub fn unlock_with_released_key(&self, released: &str) -> Result<Vault, VaultError> {
        let bad = || VaultError::BadKey(self.path(BIOMETRIC_FILE).display().to_string());
        let key: [u8; 32] = STANDARD
            .decode(released.trim())
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(bad)?;
        let text = std::fs::read_to_string(self.path(BIOMETRIC_FILE))?;
        let (check, _) = text.trim().split_once(':').ok_or_else(bad)?;
        let vault = Vault::from_key(key);
        vault
            .open(BIOMETRIC_CHECK_CONTEXT, check)
            .map_err(|_| bad())?;
        Ok(vault)
    }
}

fn wait_after(count: u32) -> u64 {
    if count < FREE_TRIES {
        return 0;
    }
    let doublings = (count - FREE_TRIES).min(20);
    (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// The plain key file of an older build, if there is one.
fn read_plain(path: &Path) -> Result<Option<[u8; 32]>, VaultError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes
            .try_into()
            .map(Some)
            .map_err(|_| VaultError::BadKey(path.display().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes a file readable by this user only, whole or not at all (temporary file + rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Overwrites a file with zeros before unlinking it: key material should not linger in the
/// file's old blocks (as far as the file system writes in place). A missing file is fine.
fn scrub(path: &Path) -> Result<(), VaultError> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    {
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(&vec![0u8; len as usize])?;
        f.sync_all()?;
    }
    std::fs::remove_file(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn without_a_keystore_a_new_device_needs_a_pin_and_then_opens_only_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::without_keystore(dir.path().join("app"));
        assert!(matches!(key.open().unwrap(), KeyState::NeedsNewPin));
        assert_eq!(key.source(), None);
        assert!(matches!(key.set_new_pin("2580"), Err(VaultError::WeakPin)));
        assert!(matches!(
            key.set_new_pin("25802a"),
            Err(VaultError::WeakPin)
        ));
        let sealed = key
            .set_new_pin("258025")
            .unwrap()
            .seal("session", b"refresh-token-456");
        assert_eq!(key.source(), Some(KeySource::Pin));
        assert!(matches!(
            key.set_new_pin("999999"),
            Err(VaultError::KeyExists)
        ));
        assert!(matches!(key.open().unwrap(), KeyState::NeedsPin));
        assert!(matches!(key.unlock("000000"), Err(VaultError::WrongPin)));
        let vault = key.unlock("258025").unwrap();
        assert_eq!(
            vault.open("session", &sealed).unwrap(),
            b"refresh-token-456"
        );
        let pin_file = key.path(PIN_FILE);
        assert!(!std::fs::read_to_string(&pin_file)
            .unwrap()
            .contains("refresh"));
        assert_eq!(mode(&pin_file), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("app"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names,
            vec![PIN_FILE.to_owned()],
            "no plain key, no leftovers"
        );
    }

    #[test]
    fn a_plain_key_of_an_older_build_moves_under_the_pin_and_its_data_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join(PLAIN_FILE);
        std::fs::write(&plain, [5u8; 32]).unwrap();
        let sealed_before = Vault::from_key([5u8; 32]).seal("local", b"case notes");
        let key = DeviceKey::without_keystore(dir.path());
        assert!(matches!(key.open().unwrap(), KeyState::NeedsNewPin));
        assert!(plain.exists(), "kept until the PIN protects it");
        key.set_new_pin("135790").unwrap();
        assert!(!plain.exists(), "the plain key is overwritten and removed");
        let vault = key.unlock("135790").unwrap();
        assert_eq!(vault.open("local", &sealed_before).unwrap(), b"case notes");
    }

    #[test]
    fn wrong_pins_cost_a_growing_wait_that_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::without_keystore(dir.path());
        key.set_new_pin("112233").unwrap();
        for _ in 1..FREE_TRIES {
            assert!(matches!(key.unlock("000000"), Err(VaultError::WrongPin)));
        }
        assert_eq!(key.retry_after(), 0, "the first wrong PINs cost nothing");
        assert!(matches!(key.unlock("000000"), Err(VaultError::WrongPin)));
        // A new `DeviceKey` (a restart) sees the same count.
        let again = DeviceKey::without_keystore(dir.path());
        let wait = again.retry_after();
        assert!(wait > 0 && wait <= FIRST_WAIT_SECS, "{wait}");
        assert!(matches!(
            again.unlock("112233"),
            Err(VaultError::TooManyAttempts { .. })
        ));
        assert_eq!(wait_after(FREE_TRIES), FIRST_WAIT_SECS);
        assert_eq!(wait_after(FREE_TRIES + 1), FIRST_WAIT_SECS * 2);
        assert_eq!(wait_after(FREE_TRIES + 30), MAX_WAIT_SECS);
        // After the wait the right PIN opens and the count starts over.
        let file = again.pin_file().unwrap();
        again
            .write_tries(&file, FREE_TRIES + 1, now_secs() - 3600)
            .unwrap();
        again.unlock("112233").unwrap();
        assert_eq!(again.tries(), (0, 0));
    }

    #[test]
    fn removing_the_count_of_wrong_pins_does_not_start_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::without_keystore(dir.path());
        key.set_new_pin("112233").unwrap();
        for _ in 0..FREE_TRIES {
            assert!(matches!(key.unlock("000000"), Err(VaultError::WrongPin)));
        }
        assert!(key.retry_after() > 0);
        // The count is in the key's own file: deleting the file deletes the key.
        assert!(!dir.path().join(TRIES_FILE).exists());
        // Cutting the count out of it makes things worse, not better.
        let pin_path = dir.path().join(PIN_FILE);
        let text = std::fs::read_to_string(&pin_path).unwrap();
        let first = text.lines().next().unwrap().to_owned();
        write_private(&pin_path, format!("{first}\n").as_bytes()).unwrap();
        let wait = key.retry_after();
        assert!(wait >= wait_after(FREE_TRIES + 3) - 2, "{wait}");
        assert!(matches!(
            key.unlock("112233"),
            Err(VaultError::TooManyAttempts { .. })
        ));
    }

    #[test]
    fn a_pin_file_of_an_older_build_opens_and_is_resealed_at_todays_cost() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::without_keystore(dir.path());
        let device_key = [7u8; 32];
        let salt = [3u8; 16];
        let sealed = Vault::from_pin_with(PinKdf::Default, "246810", &salt)
            .seal(DEVICE_KEY_CONTEXT, &device_key);
        write_private(
            &dir.path().join(PIN_FILE),
            format!("{}:{sealed}", STANDARD.encode(salt)).as_bytes(),
        )
        .unwrap();
        assert!(matches!(key.unlock("000000"), Err(VaultError::WrongPin)));
        assert_eq!(key.tries().0, 1);
        let vault = key.unlock("246810").unwrap();
        assert_eq!(
            vault
                .open("x", &Vault::from_key(device_key).seal("x", b"ok"))
                .unwrap(),
            b"ok"
        );
        let file = key.pin_file().unwrap();
        assert_eq!(file.kdf, PinKdf::Tuned);
        assert_eq!(file.tries, (0, 0));
        assert!(!dir.path().join(TRIES_FILE).exists());
        key.unlock("246810").unwrap();
    }

    #[test]
    fn changing_the_pin_keeps_the_key_and_wipe_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::without_keystore(dir.path());
        let sealed = key.set_new_pin("111111").unwrap().seal("session", b"x");
        assert!(matches!(
            key.change_pin("999999", "222222"),
            Err(VaultError::WrongPin)
        ));
        assert!(matches!(
            key.change_pin("111111", "22"),
            Err(VaultError::WeakPin)
        ));
        key.change_pin("111111", "222222").unwrap();
        assert!(matches!(key.unlock("111111"), Err(VaultError::WrongPin)));
        assert_eq!(
            key.unlock("222222")
                .unwrap()
                .open("session", &sealed)
                .unwrap(),
            b"x"
        );
        let vault = key.unlock("222222").unwrap();
        key.set_biometric_wrap(&vault, "os-wrapped").unwrap();
        assert_eq!(key.biometric_wrap().as_deref(), Some("os-wrapped"));
        let released = key.key_for_biometric_wrap("222222").unwrap();
        key.unlock_with_released_key(&released).unwrap();
        assert!(key
            .unlock_with_released_key(&STANDARD.encode([1u8; 32]))
            .is_err());
        key.destroy().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(matches!(key.open().unwrap(), KeyState::NeedsNewPin));
    }

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_context() {
        let vault = Vault::from_key([3; 32]);
        let sealed = vault.seal("session", b"refresh-token-123");
        assert!(!sealed.contains("refresh-token"));
        let again = Vault::from_key([3; 32]);
        assert_eq!(
            again.open("session", &sealed).unwrap(),
            b"refresh-token-123"
        );
        assert!(again.open("other", &sealed).is_err(), "context is bound");
        let stranger = Vault::from_key([9; 32]);
        assert!(
            stranger.open("session", &sealed).is_err(),
            "another key cannot open it"
        );
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(vault.open("session", &STANDARD.encode(tampered)).is_err());
    }

    #[test]
    fn a_pin_derives_the_same_key_and_another_pin_cannot_open() {
        let salt = [7u8; 16];
        let sealed = Vault::from_pin("4821", &salt).seal("local", b"case notes");
        assert_eq!(
            Vault::from_pin("4821", &salt)
                .open("local", &sealed)
                .unwrap(),
            b"case notes"
        );
        assert!(Vault::from_pin("4822", &salt)
            .open("local", &sealed)
            .is_err());
        assert!(Vault::from_pin("4821", &[8u8; 16])
            .open("local", &sealed)
            .is_err());
    }
}
