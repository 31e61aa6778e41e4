//! The device key in the app, and the commands of the unlock and PIN screens.
//!
//! At start `Keys::open` asks the core where the key is: in the OS keystore (unlocked, nothing
//! to ask), under a PIN (the UI shows the unlock screen), or nowhere yet with no keystore (the UI
//! asks the user to choose a PIN before sign-in). Until the key is at hand the `SecureStore`
//! loads no session and refuses to save one, so nothing sensitive is written without it.
//!
//! Mobile: on Android (no keystore backend in the core) the unlock screen also offers the
//! fingerprint or face, through tauri-plugin-biometric's `biometric_cipher`: after a PIN unlock
//! the OS encrypts the device key with a key of its own that only the user's biometrics release,
//! and later decrypts it again. That code is `#[cfg(target_os = "android")]` and is not built
//! here (no Android toolchain); it follows the plugin's 2.5 API (`Biometric::biometric_cipher`,
//! `AuthOptions { data_to_encrypt, data_to_decrypt, .. }`, `CipherResult { data }`). iOS keeps
//! the key in the Keychain, so it is never locked behind a PIN.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

use kintara_api::app::{self, cmd, Args, Output, UiErrorKind};
use kintara_api::{FieldError, FieldErrors};
use kintara_core::vault::{DeviceKey, KeySource, KeyState, Vault, VaultError};
use tauri::State;

use crate::ui_error::UiError;
use crate::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Unlocked,
    Locked,
    NewPin,
    /// The key is in a keystore that cannot be reached now.
    Unavailable,
}

/// The device key of the app's data directory and, once opened, its vault.
pub struct Keys {
    key: DeviceKey,
    state: RwLock<(Phase, Option<Vault>)>,
}

impl Keys {
    /// Finds the key (blocking: the keystore is asked with a time limit).
    pub fn open(dir: PathBuf) -> Keys {
        let keys = Keys {
            key: DeviceKey::new(dir),
            state: RwLock::new((Phase::Locked, None)),
        };
        keys.reopen();
        keys
    }

    fn reopen(&self) {
        let next = match self.key.open() {
            Ok(KeyState::Unlocked(v)) => (Phase::Unlocked, Some(v)),
            Ok(KeyState::NeedsPin) => (Phase::Locked, None),
            Ok(KeyState::NeedsNewPin) => (Phase::NewPin, None),
            Err(e) => {
                tracing::warn!(error = %e, "the device key cannot be opened");
                (Phase::Unavailable, None)
            }
        };
        *self.state.write().expect("not poisoned") = next;
    }

    /// The vault, once the key is at hand.
    pub fn vault(&self) -> Option<Vault> {
        self.state.read().expect("not poisoned").1.clone()
    }

    fn phase(&self) -> Phase {
        self.state.read().expect("not poisoned").0
    }

    fn opened(&self, vault: Vault) {
        *self.state.write().expect("not poisoned") = (Phase::Unlocked, Some(vault));
    }

    /// What the UI needs to choose between the unlock screen, the PIN choice and the app.
    pub fn status(&self) -> app::KeyStatus {
        app::KeyStatus {
            state: match self.phase() {
                Phase::Unlocked => app::KeyState::Unlocked,
                Phase::Locked => app::KeyState::Locked,
                Phase::NewPin => app::KeyState::NewPin,
                Phase::Unavailable => app::KeyState::Unavailable,
            },
            source: self.key.source().map(|s| match s {
                KeySource::Keystore => app::KeySource::Keystore,
                KeySource::Pin => app::KeySource::Pin,
            }),
            retry_after: self.key.retry_after(),
            biometric: cfg!(target_os = "android") && self.key.biometric_wrap().is_some(),
            biometric_setup: cfg!(target_os = "android")
                && self.key.source() == Some(KeySource::Pin)
                && self.key.biometric_wrap().is_none(),
        }
    }

    /// Sign-out: the key goes (keystore item and files) with the data it sealed; then a new one
    /// is found or asked for, as on a new device.
    pub fn forget(&self) {
        *self.state.write().expect("not poisoned") = (Phase::Locked, None);
        if let Err(e) = self.key.destroy() {
            tracing::warn!(error = %e, "removing the device key failed");
        }
        self.reopen();
    }
}

/// The core's key errors as the screens show them: `wrong_pin`, `wait` (with `retry_after` in
/// seconds in `fields`), `validation` (on `pin`) or `other`.
fn key_error(e: VaultError) -> UiError {
    let mut fields = BTreeMap::new();
    let kind = match &e {
        VaultError::WrongPin => UiErrorKind::WrongPin,
        VaultError::TooManyAttempts { wait_secs } => {
            fields.insert("retry_after".to_owned(), vec![wait_secs.to_string()]);
            UiErrorKind::Wait
        }
        VaultError::WeakPin => {
            fields.insert("pin".to_owned(), vec![e.to_string()]);
            UiErrorKind::Validation
        }
        _ => UiErrorKind::Other,
    };
    UiError(kintara_api::app::UiError {
        kind,
        message: e.to_string(),
        fields,
    })
}

/// Runs a blocking key operation (Argon2id takes a noticeable moment) off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, UiError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| UiError::other(e.to_string()))?
        .map_err(key_error)
}

#[tauri::command]
pub fn key_status(state: State<'_, AppState>) -> Output<cmd::KeyStatus> {
    state.keys.status()
}

/// Tries again to reach the keystore that holds the key (after "unavailable").
#[tauri::command]
pub async fn key_retry(state: State<'_, AppState>) -> Result<Output<cmd::KeyRetry>, UiError> {
    let keys = state.keys.clone();
    tauri::async_runtime::spawn_blocking(move || keys.reopen())
        .await
        .map_err(|e| UiError::other(e.to_string()))?;
    state.key_ready().await;
    Ok(state.keys.status())
}

/// Opens the key with the PIN, then the kept session.
#[tauri::command]
pub async fn unlock(
    state: State<'_, AppState>,
    args: Args<cmd::Unlock>,
) -> Result<Output<cmd::Unlock>, UiError> {
    let pin = args.pin;
    let key = state.keys.key.clone();
    let vault = blocking(move || key.unlock(&pin)).await?;
    state.keys.opened(vault);
    state.key_ready().await;
    Ok(())
}

/// Before sign-in on a device with no keystore: the new PIN, typed twice.
#[tauri::command]
pub async fn choose_pin(
    state: State<'_, AppState>,
    args: Args<cmd::ChoosePin>,
) -> Result<Output<cmd::ChoosePin>, UiError> {
    let (pin, confirm) = (args.pin, args.confirm);
    if pin != confirm {
        let differ = FieldErrors::one("confirm", FieldError::PinsDiffer {});
        return Err(UiError::validation(differ));
    }
    let key = state.keys.key.clone();
    let vault = blocking(move || key.set_new_pin(&pin)).await?;
    state.keys.opened(vault);
    // An older build's plain key may have sealed a session: it opens now.
    state.key_ready().await;
    Ok(())
}

/// Settings: a new PIN for the same key.
#[tauri::command]
pub async fn change_pin(
    state: State<'_, AppState>,
    args: Args<cmd::ChangePin>,
) -> Result<Output<cmd::ChangePin>, UiError> {
    let (old, pin, confirm) = (args.old, args.pin, args.confirm);
    if pin != confirm {
        let differ = FieldErrors::one("confirm", FieldError::PinsDiffer {});
        return Err(UiError::validation(differ));
    }
    let key = state.keys.key.clone();
    blocking(move || key.change_pin(&old, &pin)).await
}

/// Android: unlocks with the fingerprint or face (the OS releases the device key).
#[tauri::command]
pub async fn unlock_biometric(
    state: State<'_, AppState>,
) -> Result<Output<cmd::UnlockBiometric>, UiError> {
    let wrapped = state
        .keys
        .key
        .biometric_wrap()
        .ok_or_else(|| UiError::other("Biometric unlock is not set up on this device."))?;
    let released = biometric::decrypt(&state, wrapped).await?;
    let key = state.keys.key.clone();
    let vault = blocking(move || key.unlock_with_released_key(&released)).await?;
    state.keys.opened(vault);
    state.key_ready().await;
    Ok(())
}

/// Android: sets up biometric unlock (asks for the PIN, then the fingerprint or face).
#[tauri::command]
pub async fn enable_biometric(
    state: State<'_, AppState>,
    args: Args<cmd::EnableBiometric>,
) -> Result<Output<cmd::EnableBiometric>, UiError> {
    let pin = args.pin;
    let vault = state
        .keys
        .vault()
        .ok_or_else(|| UiError::other("Unlock first."))?;
    let key = state.keys.key.clone();
    let plain = blocking(move || key.key_for_biometric_wrap(&pin)).await?;
    let wrapped = biometric::encrypt(&state, plain).await?;
    let key = state.keys.key.clone();
    blocking(move || key.set_biometric_wrap(&vault, &wrapped)).await
}

/// The OS side of biometric unlock: Android's `BiometricPrompt` with a Keystore key that only
/// strong biometrics release (tauri-plugin-biometric 2.5 `biometric_cipher`, Android only).
#[cfg(target_os = "android")]
mod biometric {
    use tauri_plugin_biometric::{AuthOptions, BiometricExt};

    use crate::ui_error::UiError;
    use crate::AppState;

    async fn cipher(state: &AppState, options: AuthOptions) -> Result<String, UiError> {
        let app = state.app.clone();
        // The plugin call blocks until the user answers the system prompt.
        let result = tauri::async_runtime::spawn_blocking(move || {
            app.biometric()
                .biometric_cipher("Unlock Kintara".into(), options)
        })
        .await
        .map_err(|e| UiError::other(e.to_string()))?;
        result
            .map(|r| r.data)
            .map_err(|e| UiError::other(e.to_string()))
    }

    pub async fn encrypt(state: &AppState, plain: String) -> Result<String, UiError> {
        let options = AuthOptions {
            data_to_encrypt: Some(plain),
            title: Some("Biometric unlock".into()),
            ..Default::default()
        };
        cipher(state, options).await
    }

    pub async fn decrypt(state: &AppState, wrapped: String) -> Result<String, UiError> {
        let options = AuthOptions {
            data_to_decrypt: Some(wrapped),
            title: Some("Unlock".into()),
            ..Default::default()
        };
        cipher(state, options).await
    }
}

/// Desktop and iOS: no biometric unlock of a PIN-protected key (desktop unlocks with the PIN;
/// iOS keeps the key in the Keychain).
#[cfg(not(target_os = "android"))]
mod biometric {
    use crate::ui_error::UiError;
    use crate::AppState;

    fn unsupported() -> UiError {
        UiError::other("Biometric unlock is not available on this device.")
    }

    pub async fn encrypt(_: &AppState, _: String) -> Result<String, UiError> {
        Err(unsupported())
    }

    pub async fn decrypt(_: &AppState, _: String) -> Result<String, UiError> {
        Err(unsupported())
    }
}
