//! This client's device: the data directory with the sealed session, the local store (outbox,
//! cursor, cache), the server address, and the device key: in the OS keystore where there is one,
//! otherwise under the PIN given in `KINTARA_PIN` (see `kintara_core::vault::DeviceKey`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use kintara_core::account::Account;
use kintara_core::vault::{DeviceKey, KeySource, KeyState, Vault};
use kintara_core::{Client, SealedFileStore};

pub struct Device {
    /// The signed-in account's parts, wired by the core (`kintara_core::account`).
    pub account: Account,
    dir: std::path::PathBuf,
    key: DeviceKey,
}

impl Device {
    /// Opens (or creates) the device in `dir`. `server` overrides and replaces the remembered
    /// address.
    pub async fn open(dir: &Path, server: Option<&str>) -> anyhow::Result<Device> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // Only this user may enter: the files inside are sealed, but their names and sizes
        // should not be anyone else's business either.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let server_file = dir.join("server");
        let server = match server {
            Some(s) => {
                std::fs::write(&server_file, s)?;
                s.to_owned()
            }
            None => std::fs::read_to_string(&server_file)
                .map(|s| s.trim().to_owned())
                .context("no server known yet: pass --server (or KINTARA_SERVER)")?,
        };
        let key = DeviceKey::new(dir);
        let vault = device_vault(&key)?;
        let session = SealedFileStore::new(dir.join("session.sealed"), vault.clone());
        let client = Arc::new(Client::new(&server, Arc::new(session))?);
        let account = Account::open(client, dir, vault).await?;
        Ok(Device {
            account,
            dir: dir.to_owned(),
            key,
        })
    }
}

/// The device key: from the OS keystore, or under the PIN in `KINTARA_PIN` (chosen with the
/// first command when there is no keystore).
fn device_vault(key: &DeviceKey) -> anyhow::Result<Vault> {
    match key.open()? {
        KeyState::Unlocked(vault) => Ok(vault),
        KeyState::NeedsPin => {
            let pin = std::env::var("KINTARA_PIN")
                .context("this device is locked with a PIN: set KINTARA_PIN to unlock it")?;
            Ok(key.unlock(&pin)?)
        }
        KeyState::NeedsNewPin => {
            let pin = std::env::var("KINTARA_PIN").context(
                "no OS keystore is available here: choose a PIN (at least 6 digits) and pass it in \
                 KINTARA_PIN to every command",
            )?;
            Ok(key.set_new_pin(&pin)?)
        }
    }
}

/// `kintara pin`: puts the device key under `new` (moving it out of the keystore), or changes
/// the PIN (the current one from `KINTARA_PIN`). Says what it did.
pub fn set_pin(dir: &Path, new: &str) -> anyhow::Result<&'static str> {
    let key = DeviceKey::new(dir);
    match key.source() {
        Some(KeySource::Pin) => {
            let old = std::env::var("KINTARA_PIN")
                .context("this device is locked with a PIN: set KINTARA_PIN to change it")?;
            key.change_pin(&old, new)?;
            Ok("the PIN is changed")
        }
        Some(KeySource::Keystore) => {
            key.move_to_pin(new)?;
            Ok("this device's data is now locked with the PIN (the key left the OS keystore)")
        }
        None => {
            key.set_new_pin(new)?;
            Ok("this device's data is now locked with the PIN")
        }
    }
}

impl Device {
    /// Logout and panic wipe: the outbox, the cursor and the cache are wiped (overwritten), then
    /// the local store and the session file go, and the device key last (its keystore item
    /// too), so nothing left behind can be opened. The next command starts a new key.
    pub async fn wipe_all(&self) -> anyhow::Result<()> {
        self.account.wipe().await?;
        match std::fs::remove_file(self.dir.join("session.sealed")) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        kintara_core::account::remove_local_store(&self.dir);
        self.key.destroy()?;
        Ok(())
    }

    /// Panic wipe: everything `wipe_all` removes, and the remembered server address too.
    pub async fn destroy(&self) -> anyhow::Result<()> {
        self.wipe_all().await?;
        match std::fs::remove_file(self.dir.join("server")) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
