//! Desktop: no push service. The app keeps its live connection open and shows OS notifications
//! itself (tauri-plugin-notification), so registration answers [`Error::NotSupported`].

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use tauri::{plugin::PluginApi, AppHandle, Runtime};

use crate::{Error, PushToken, Result};

pub fn init<R: Runtime, C: DeserializeOwned>(
    _app: &AppHandle<R>,
    _api: PluginApi<R, C>,
) -> Result<Push<R>> {
    Ok(Push(PhantomData))
}

/// Access to push registration (desktop: always [`Error::NotSupported`]).
pub struct Push<R: Runtime>(PhantomData<fn() -> R>);

impl<R: Runtime> Push<R> {
    /// Always [`Error::NotSupported`] on desktop.
    pub fn register(&self) -> Result<PushToken> {
        Err(Error::NotSupported)
    }

    /// Always [`Error::NotSupported`] on desktop.
    pub fn unregister(&self) -> Result<()> {
        Err(Error::NotSupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "push notifications are not available on desktop; the app's live connection and OS notifications are used instead";

    #[test]
    fn desktop_register_and_unregister_are_not_supported() {
        let push = Push::<tauri::Wry>(PhantomData);

        let err = push.register().unwrap_err();
        assert!(matches!(err, Error::NotSupported));
        assert_eq!(err.to_string(), MESSAGE);
        // The webview receives the same message as a plain string.
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            serde_json::json!(MESSAGE)
        );

        let err = push.unregister().unwrap_err();
        assert!(matches!(err, Error::NotSupported));
        assert_eq!(err.to_string(), MESSAGE);
    }

    #[test]
    fn token_serializes_with_the_server_kind_words() {
        let token = PushToken {
            token: "abc".into(),
            platform: crate::PushPlatform::Apns,
        };
        assert_eq!(
            serde_json::to_value(&token).unwrap(),
            serde_json::json!({"token": "abc", "platform": "apns"})
        );
    }
}
