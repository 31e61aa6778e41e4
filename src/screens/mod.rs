//! One module per group of screens.

pub mod admin;
pub mod auth;
pub mod availability;
pub mod case_detail;
pub mod chat;
pub mod directory;
pub mod dispatcher;
pub mod frame;
pub mod home;
pub mod notifications;
pub mod notify_settings;
pub mod outbox;
pub mod provider;
pub mod reports;
pub mod room_live;
pub mod safety;
pub mod settings;
pub mod timeline;
pub mod unlock;
pub mod wizard;
