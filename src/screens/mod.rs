//! One module per group of screens.

pub mod auth;
pub mod home;
pub mod reports;
pub mod wizard;
