//! Kintara's wire types: every JSON body the server accepts or returns, and the validation rules
//! for input, so the server, the client core and the UI agree on one definition.
//!
//! Compiles for wasm32 (the UI uses it); OpenAPI schemas are behind the `openapi` feature.

pub mod admin;
pub mod app;
pub mod auth;
pub mod chat;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod evidence;
pub mod incident;
pub mod notification;
pub mod rules;
pub mod socket;
pub mod upload;
pub mod validate;
pub mod workflow;

pub use admin::*;
pub use auth::*;
pub use chat::*;
pub use error::*;
pub use events::*;
pub use evidence::*;
pub use incident::*;
pub use notification::*;
pub use socket::*;
pub use validate::{FieldErrors, Validate};
pub use workflow::*;

/// Generates the snake_case wire strings and UI labels of a fieldless enum from one list.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $wire:literal / $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // Every wire string is the variant in snake_case; saying so at the enum level lets the
        // OpenAPI schema show the wire strings too (a test checks they agree).
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* #[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every wire string, in order (for documents that list them).
            pub const WIRE: &'static [&'static str] = &[$($wire),+];
            /// The value as it appears on the wire and in the database.
            pub const fn as_str(self) -> &'static str { match self { $($name::$variant => $wire),+ } }
            /// A human label for screens.
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;
