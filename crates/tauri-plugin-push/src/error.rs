use serde::{Serialize, Serializer};

/// A [`Result`](std::result::Result) with this plugin's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while registering for push notifications.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Desktop platforms have no push service for this app.
    #[error("push notifications are not available on desktop; the app's live connection and OS notifications are used instead")]
    NotSupported,
    /// The Android or iOS plugin failed (no Google Play services, permission denied, APNs
    /// registration failed, ...).
    #[cfg(mobile)]
    #[error(transparent)]
    PluginInvoke(#[from] tauri::plugin::mobile::PluginInvokeError),
    /// The blocking call could not be run.
    #[error("the push request could not run: {0}")]
    Task(String),
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}
