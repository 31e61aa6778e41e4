//! Android and iOS: the native plugins in `android/` and `ios/` obtain the token. Not built in
//! this repository's CI (no Android SDK / Xcode); kept compiling-clean for those targets.

use serde::{de::DeserializeOwned, Deserialize};
use tauri::{
    plugin::{PluginApi, PluginHandle},
    AppHandle, Runtime,
};

use crate::{PushPlatform, PushToken, Result};

/// The Kotlin package of `android/src/main/java/PushPlugin.kt`.
#[cfg(target_os = "android")]
const PLUGIN_IDENTIFIER: &str = "app.kintara.push";

#[cfg(target_os = "android")]
const PLATFORM: PushPlatform = PushPlatform::Fcm;
#[cfg(target_os = "ios")]
const PLATFORM: PushPlatform = PushPlatform::Apns;

// `@_cdecl("init_plugin_push")` in `ios/Sources/PushPlugin.swift`.
#[cfg(target_os = "ios")]
tauri::ios_plugin_binding!(init_plugin_push);

pub fn init<R: Runtime, C: DeserializeOwned>(
    _app: &AppHandle<R>,
    api: PluginApi<R, C>,
) -> Result<Push<R>> {
    #[cfg(target_os = "android")]
    let handle = api.register_android_plugin(PLUGIN_IDENTIFIER, "PushPlugin")?;
    #[cfg(target_os = "ios")]
    let handle = api.register_ios_plugin(init_plugin_push)?;
    Ok(Push(handle))
}

/// Access to push registration through the native plugin.
pub struct Push<R: Runtime>(PluginHandle<R>);

/// What both native plugins resolve `register` with.
#[derive(Deserialize)]
struct Registered {
    token: String,
}

impl<R: Runtime> Push<R> {
    /// Asks FCM (Android) or APNs (iOS) for this device's token. Blocks until the native side
    /// answers; call it off the async runtime (the `register` command does).
    pub fn register(&self) -> Result<PushToken> {
        let Registered { token } = self.0.run_mobile_plugin("register", ())?;
        Ok(PushToken {
            token,
            platform: PLATFORM,
        })
    }

    /// Drops this device's token (FCM `deleteToken`, APNs `unregisterForRemoteNotifications`).
    pub fn unregister(&self) -> Result<()> {
        // Whatever the native side resolves with (nothing, `{}`) is fine.
        let _: serde::de::IgnoredAny = self.0.run_mobile_plugin("unregister", ())?;
        Ok(())
    }
}
