//! Tauri commands: each one calls the core and maps its error. No logic lives here.

use std::sync::Arc;

use kintara_api::{HealthResponse, Incident, IncidentCreate, RegisterRequest, User};
use kintara_core::Client;
use serde::Serialize;
use tauri::State;

use crate::ui_error::UiError;
use crate::AppState;

#[derive(Serialize)]
pub struct AppInfo {
    pub server_url: String,
    pub user: Option<User>,
}

/// What the UI needs to pick its first screen.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    let client = state.client();
    AppInfo {
        server_url: client.base_url().to_string(),
        user: client.current_user(),
    }
}

/// Points the app at another server after checking that it answers. Signs out of the old one.
#[tauri::command]
pub async fn set_server(
    state: State<'_, AppState>,
    url: String,
) -> Result<HealthResponse, UiError> {
    let candidate = Client::new(&url, Arc::new(kintara_core::MemoryStore::default()))?;
    let health = candidate.health().await?;
    let current = state.client();
    if current.base_url() != candidate.base_url() {
        current.logout().await?;
        let client = Client::new(candidate.base_url().as_str(), state.store.clone())?;
        state
            .store
            .set_server_url(client.base_url().as_str())
            .map_err(|e| UiError::other(e.0))?;
        *state.client.write().expect("not poisoned") = Arc::new(client);
    }
    Ok(health)
}

#[tauri::command]
pub async fn register(
    state: State<'_, AppState>,
    request: RegisterRequest,
) -> Result<User, UiError> {
    Ok(state.client().register(&request).await?)
}

#[tauri::command]
pub async fn login(
    state: State<'_, AppState>,
    email: String,
    password: String,
) -> Result<User, UiError> {
    Ok(state.client().login(&email, &password).await?)
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Result<(), UiError> {
    Ok(state.client().logout().await?)
}

#[tauri::command]
pub async fn create_incident(
    state: State<'_, AppState>,
    report: IncidentCreate,
) -> Result<Incident, UiError> {
    Ok(state.client().create_incident(&report).await?)
}

#[tauri::command]
pub async fn list_incidents(state: State<'_, AppState>) -> Result<Vec<Incident>, UiError> {
    Ok(state.client().list_incidents().await?)
}
