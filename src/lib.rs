//! The Kintara UI (Leptos, client-side rendered, compiled to wasm32). It draws screens and calls
//! Tauri commands through `ipc`; it never talks to the network itself.

pub mod app;
pub mod fields;
pub mod i18n;
pub mod ipc;
pub mod live;
pub mod presence;
pub mod quick_exit;
pub mod screens;
