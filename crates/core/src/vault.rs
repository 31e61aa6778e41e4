//! Sealing secrets for storage on the device: XChaCha20-Poly1305 with a 256-bit device key.
//!
//! The key lives in its own file (mode 0600), apart from the sealed data, so a copied settings
//! file alone reveals nothing. Deriving the key from the OS keystore or the user's PIN is the
//! vault's next step; the sealed format stays the same.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the device key file {0} is unreadable or damaged")]
    BadKey(String),
    #[error("cannot create the device key: {0}")]
    Io(#[from] std::io::Error),
    #[error("the sealed data is damaged or was sealed with another key")]
    Open,
    /// The device key is protected by a PIN: unlock it with `Vault::unlock`.
    #[error("this device's data is locked; enter the PIN")]
    Locked,
    #[error("that PIN is not right")]
    WrongPin,
}

pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl Vault {
    pub fn from_key(key: [u8; 32]) -> Self {
        Vault {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// Loads the device key from `path`, creating a random one (readable by this user only) the
    /// first time.
    pub fn open_or_create(path: &Path) -> Result<Self, VaultError> {
        // Never make a new key beside a locked one: everything sealed with it would be lost.
        if Self::is_pin_protected(path) {
            return Err(VaultError::Locked);
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| VaultError::BadKey(path.display().to_string()))?;
                Ok(Self::from_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)?;
                f.write_all(&key)?;
                f.sync_all()?;
                Ok(Self::from_key(key))
            }
            Err(e) => Err(e.into()),
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
}

impl Vault {
    /// Derives the key from the user's PIN with Argon2id: the path for devices with no OS
    /// keystore. A PIN has little entropy, so the memory-hard KDF (and the per-install random
    /// `salt`, stored beside the data) is what makes guessing it offline slow.
    pub fn from_pin(pin: &str, salt: &[u8; 16]) -> Vault {
        let mut key = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(pin.as_bytes(), salt, &mut key)
            .expect("a 16-byte salt and a 32-byte key are valid Argon2 parameters");
        Vault::from_key(key)
    }
}

/// What `protect_with_pin` writes next to the key path, in place of the key.
fn pin_path(key_path: &Path) -> std::path::PathBuf {
    key_path.with_extension("key.pin")
}

const DEVICE_KEY_CONTEXT: &str = "kintara.device-key";

impl Vault {
    /// Whether the device key at `key_path` is kept under a PIN.
    pub fn is_pin_protected(key_path: &Path) -> bool {
        pin_path(key_path).exists()
    }

    /// Puts the device key under `pin`: the key is sealed with a key derived from the PIN
    /// (Argon2id, random salt) and the plain key file is overwritten and removed. From then on
    /// `unlock` with the PIN opens the vault and `open_or_create` refuses. Where the OS has a
    /// keystore (Android Keystore, iOS Keychain) the app keeps the key there instead; a PIN alone
    /// has little entropy, so this slows offline guessing down rather than preventing it.
    pub fn protect_with_pin(key_path: &Path, pin: &str) -> Result<(), VaultError> {
        let key: [u8; 32] = std::fs::read(key_path)?
            .try_into()
            .map_err(|_| VaultError::BadKey(key_path.display().to_string()))?;
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let sealed = Vault::from_pin(pin, &salt).seal(DEVICE_KEY_CONTEXT, &key);
        let text = format!("{}:{sealed}", STANDARD.encode(salt));
        let target = pin_path(key_path);
        let tmp = target.with_extension("tmp");
        {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &target)?;
        // Overwrite before unlinking: the plain key should not linger in the file's old blocks.
        std::fs::write(key_path, [0u8; 32])?;
        std::fs::remove_file(key_path)?;
        Ok(())
    }

    /// Opens the vault of a PIN-protected device key.
    pub fn unlock(key_path: &Path, pin: &str) -> Result<Vault, VaultError> {
        let text = std::fs::read_to_string(pin_path(key_path))?;
        let (salt, sealed) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| VaultError::BadKey(key_path.display().to_string()))?;
        let salt: [u8; 16] = STANDARD
            .decode(salt)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| VaultError::BadKey(key_path.display().to_string()))?;
        let key: [u8; 32] = Vault::from_pin(pin, &salt)
            .open(DEVICE_KEY_CONTEXT, sealed)
            .map_err(|_| VaultError::WrongPin)?
            .try_into()
            .map_err(|_| VaultError::BadKey(key_path.display().to_string()))?;
        Ok(Vault::from_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_protected_device_key_opens_only_with_its_pin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        let sealed = Vault::open_or_create(&path)
            .unwrap()
            .seal("session", b"refresh-token-456");
        Vault::protect_with_pin(&path, "2580").unwrap();
        assert!(!path.exists(), "the plain key is gone");
        assert!(Vault::is_pin_protected(&path));
        assert!(
            matches!(Vault::open_or_create(&path), Err(VaultError::Locked)),
            "no new key beside a locked one"
        );
        assert!(matches!(
            Vault::unlock(&path, "0000"),
            Err(VaultError::WrongPin)
        ));
        let vault = Vault::unlock(&path, "2580").unwrap();
        assert_eq!(
            vault.open("session", &sealed).unwrap(),
            b"refresh-token-456"
        );
        let on_disk = std::fs::read_to_string(pin_path(&path)).unwrap();
        assert!(!on_disk.contains("refresh"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(pin_path(&path)).unwrap().permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/device.key");
        let vault = Vault::open_or_create(&path).unwrap();
        let sealed = vault.seal("session", b"refresh-token-123");
        assert!(!sealed.contains("refresh-token"));
        let again = Vault::open_or_create(&path).unwrap();
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
        let mode = std::fs::metadata(&path).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
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
