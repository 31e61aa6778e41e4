//! The commands the webview may call (`plugin:push|register`, `plugin:push|unregister`).

use tauri::{command, AppHandle, Runtime};

use crate::{Error, PushExt, PushToken, Result};

/// Runs a (possibly blocking) native call off the async runtime's workers.
async fn blocking<R: Runtime, T: Send + 'static>(
    app: AppHandle<R>,
    f: impl FnOnce(&AppHandle<R>) -> Result<T> + Send + 'static,
) -> Result<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

#[command]
pub(crate) async fn register<R: Runtime>(app: AppHandle<R>) -> Result<PushToken> {
    blocking(app, |app| app.push().register()).await
}

#[command]
pub(crate) async fn unregister<R: Runtime>(app: AppHandle<R>) -> Result<()> {
    blocking(app, |app| app.push().unregister()).await
}
