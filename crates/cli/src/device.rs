//! This client's device: the data directory with the device key, the sealed session, the local
//! store (outbox, cursor, cache) and the server address.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use kintara_core::vault::Vault;
use kintara_core::{Client, LocalStore, Outbox, SealedFileStore, SqliteLocal};

pub struct Device {
    pub client: Arc<Client>,
    pub local: Arc<SqliteLocal>,
    dir: std::path::PathBuf,
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
        let key = dir.join("device.key");
        let session = SealedFileStore::new(dir.join("session.sealed"), device_vault(&key)?);
        let client = Client::new(&server, Arc::new(session))?;
        let local = SqliteLocal::open(&dir.join("local.db"), device_vault(&key)?).await?;
        Ok(Device {
            client: Arc::new(client),
            local: Arc::new(local),
            dir: dir.to_owned(),
        })
    }

    pub fn outbox(&self) -> Arc<Outbox<SqliteLocal>> {
        Arc::new(Outbox::new(self.local.clone(), self.client.clone()))
    }
}

/// The device key: plain (mode 0600), or under the PIN given in `KINTARA_PIN` once `kintara pin`
/// has protected it.
fn device_vault(key: &Path) -> anyhow::Result<Vault> {
    if !Vault::is_pin_protected(key) {
        return Ok(Vault::open_or_create(key)?);
    }
    let pin = std::env::var("KINTARA_PIN")
        .context("this device is locked with a PIN: set KINTARA_PIN to unlock it")?;
    Ok(Vault::unlock(key, &pin)?)
}

/// Puts this device's key under `pin` (see `Vault::protect_with_pin`).
pub fn protect_with_pin(dir: &Path, pin: &str) -> anyhow::Result<()> {
    Ok(Vault::protect_with_pin(&dir.join("device.key"), pin)?)
}

impl Device {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Logout and panic wipe: the outbox, the cursor and the cache go; the session file was
    /// cleared by the client.
    pub async fn wipe_all(&self) -> anyhow::Result<()> {
        self.local.wipe().await?;
        let _ = std::fs::remove_file(self.dir.join("session.sealed"));
        Ok(())
    }

    /// Panic wipe: the local data is wiped (overwritten), then every file of this device goes,
    /// the device key last, so nothing left behind can be opened.
    pub async fn destroy(&self) -> anyhow::Result<()> {
        self.wipe_all().await?;
        for name in [
            "local.db",
            "local.db-wal",
            "local.db-shm",
            "server",
            "device.key",
        ] {
            match std::fs::remove_file(self.dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
