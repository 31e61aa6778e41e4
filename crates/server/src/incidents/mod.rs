//! Survivors' reports: storage, who may see them, and the `incidents/*` endpoints.

pub mod handlers;
pub mod repo;

use kintara_api::Role;

use crate::auth::AuthUser;
use repo::IncidentRow;

/// Whether `user` may read `incident`. Everything not allowed here is "not found" to the caller.
/// Providers get access through assignments (added with the case workflow).
pub fn can_read(user: &AuthUser, incident: &IncidentRow) -> bool {
    match user.role {
        Role::Dispatcher | Role::Admin => true,
        Role::Survivor => incident.survivor_id == user.id,
        Role::Provider => false,
    }
}
