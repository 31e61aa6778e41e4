//! The OS keystore, through the `keyring` crate: Secret Service on Linux and the BSDs, the
//! Keychain on macOS and iOS, the Credential Manager on Windows. Elsewhere (Android) there is no
//! backend here and `Keystore::os()` is `None`, so the device key goes under the user's PIN.
//!
//! Every call runs on its own thread with a time limit: a Secret Service whose collection is
//! locked answers with an unlock prompt, and `keyring` waits for the prompt (up to a year). A
//! device key that cannot be stored or read within the limit counts as "no keystore" (for a new
//! key) or as a keystore failure (for a key already kept there), never as a hang.

use std::time::Duration;

/// The service name every item is stored under (`secret-tool search service kintara`).
pub const SERVICE: &str = "kintara";

/// How long one keystore call may take before it counts as unavailable.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No keystore answers: no Secret Service on the session bus, no session bus, a locked
    /// collection, or a build without a backend for this OS.
    #[error("the OS keystore is not available: {0}")]
    Unavailable(String),
    /// The keystore did not answer in time (it may be showing an unlock prompt).
    #[error("the OS keystore did not answer in time")]
    Timeout,
    /// The keystore holds something under our name that is not a device key.
    #[error("the OS keystore holds a damaged device key")]
    Damaged,
}

/// One keystore (the OS's) and the service name items live under.
#[derive(Clone, Debug)]
pub struct Keystore {
    service: String,
}

impl Keystore {
    /// The OS keystore, where this build has a backend for it.
    pub fn os() -> Option<Keystore> {
        if cfg!(any(
            target_os = "linux",
            target_os = "freebsd",
            target_os = "openbsd",
            target_os = "macos",
            target_os = "ios",
            target_os = "windows"
        )) {
            Some(Keystore {
                service: SERVICE.to_owned(),
            })
        } else {
            None
        }
    }

    /// The 32-byte key stored under `account`, or `None` when there is no such item.
    pub fn get(&self, account: &str) -> Result<Option<[u8; 32]>, KeystoreError> {
        let (service, account) = (self.service.clone(), account.to_owned());
        bounded(move || match backend::get(&service, &account) {
            Ok(Some(bytes)) => bytes
                .try_into()
                .map(Some)
                .map_err(|_| KeystoreError::Damaged),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// Stores `key` under `account`, replacing what was there.
    pub fn set(&self, account: &str, key: &[u8; 32]) -> Result<(), KeystoreError> {
        let (service, account, key) = (self.service.clone(), account.to_owned(), *key);
        bounded(move || backend::set(&service, &account, &key))
    }

    /// Deletes the item under `account`; deleting what is not there is not an error.
    pub fn delete(&self, account: &str) -> Result<(), KeystoreError> {
        let (service, account) = (self.service.clone(), account.to_owned());
        bounded(move || backend::delete(&service, &account))
    }
}

/// Runs `f` on its own thread and gives up after `TIMEOUT` (the thread is left to finish or to
/// wait for its prompt; it holds nothing the caller needs).
fn bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeystoreError> + Send + 'static,
) -> Result<T, KeystoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("kintara-keystore".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| KeystoreError::Unavailable(e.to_string()))?;
    match rx.recv_timeout(TIMEOUT) {
        Ok(result) => result,
        Err(_) => Err(KeystoreError::Timeout),
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "ios",
    target_os = "windows"
))]
mod backend {
    use super::KeystoreError;

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, KeystoreError> {
        keyring::Entry::new(service, account).map_err(unavailable)
    }

    // keyring's errors may quote the platform's message, never the secret.
    fn unavailable(e: keyring::Error) -> KeystoreError {
        KeystoreError::Unavailable(e.to_string())
    }

    pub fn get(service: &str, account: &str) -> Result<Option<Vec<u8>>, KeystoreError> {
        match entry(service, account)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn set(service: &str, account: &str, key: &[u8]) -> Result<(), KeystoreError> {
        entry(service, account)?
            .set_secret(key)
            .map_err(unavailable)
    }

    pub fn delete(service: &str, account: &str) -> Result<(), KeystoreError> {
        match entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// No backend on this OS (Android): `Keystore::os()` is `None`, so nothing calls these.
#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "ios",
    target_os = "windows"
)))]
mod backend {
    use super::KeystoreError;

    fn none() -> KeystoreError {
        KeystoreError::Unavailable("this build has no keystore for this OS".into())
    }

    pub fn get(_: &str, _: &str) -> Result<Option<Vec<u8>>, KeystoreError> {
        Err(none())
    }

    pub fn set(_: &str, _: &str, _: &[u8]) -> Result<(), KeystoreError> {
        Err(none())
    }

    pub fn delete(_: &str, _: &str) -> Result<(), KeystoreError> {
        Err(none())
    }
}
