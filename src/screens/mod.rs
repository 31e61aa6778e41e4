//! One module per group of screens.

pub mod auth;
pub mod chat;
pub mod dispatcher;
pub mod frame;
pub mod home;
pub mod notifications;
pub mod outbox;
pub mod provider;
pub mod reports;
pub mod wizard;
