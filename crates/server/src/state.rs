//! What every handler shares.

use std::sync::Arc;

use crate::auth::tokens::JwtKeys;
use crate::config::Config;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<JwtKeys>,
    pub config: Arc<Config>,
}
