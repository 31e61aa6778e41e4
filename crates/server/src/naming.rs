//! How one user is named to another, decided here for every path: a room's cast (so its
//! frames, messages and the notifications of a message), a case's views, the admin's lists and
//! the audit log, a survivor's block list. A survivor who reported anonymously is "Anonymous"
//! to everyone but herself; everyone else by their full name. `tests/anonymity.rs` plants a name
//! and looks for it in everything a provider receives.

/// Shown instead of the name of a survivor who reported anonymously.
pub const ANONYMOUS: &str = "Anonymous";

/// The name `first last` as someone else sees it: [`ANONYMOUS`] when `hidden`.
pub fn shown_name(first: &str, last: &str, hidden: bool) -> String {
    if hidden {
        return ANONYMOUS.to_owned();
    }
    format!("{} {}", first.trim(), last.trim())
        .trim()
        .to_owned()
}
