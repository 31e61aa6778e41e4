//! Every REST operation, declared once: its method, its path, the body it takes, the body it
//! answers, and who may call it. The server's router and OpenAPI document take the path from
//! here (`#[utoipa::path(.., path = endpoint::Login::PATH)]`) and check the caller against
//! `ACCESS`; the client core builds every request from here. A test holds the OpenAPI document
//! and [`ALL`] to the same list, so no path is written anywhere else.
//!
//! Per-object rules (whose case, which room) are the handlers'; `ACCESS` is the role gate every
//! caller meets first.

use std::fmt::Display;

use crate::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Who may call an endpoint at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (signing in, the health check).
    Public,
    /// Any signed-in user; the handler decides per object.
    SignedIn,
    /// Only these roles; anyone else signed in gets 403 and nothing changes.
    Roles(&'static [Role]),
}

impl Access {
    /// Whether a caller with `role` (`None`: not signed in) gets past the gate.
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::SignedIn, Some(_)) => true,
            (Access::Roles(roles), Some(r)) => roles.contains(&r),
        }
    }
}

/// The staff who triage: dispatchers, and admins who can do what they do.
pub const STAFF: &[Role] = &[Role::Dispatcher, Role::Admin];
pub const SURVIVORS: &[Role] = &[Role::Survivor];
pub const PROVIDERS: &[Role] = &[Role::Provider];
pub const ADMINS: &[Role] = &[Role::Admin];

/// A body that is not JSON: the upload's multipart form, the download's file bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binary;

/// One REST operation.
pub trait Endpoint {
    /// The type's name, for error messages and tables.
    const NAME: &'static str;
    const METHOD: Method;
    /// The path as the router and OpenAPI take it: `/api/incidents/{id}/`.
    const PATH: &'static str;
    const ACCESS: Access;
    /// The JSON body the call takes (`()`: none).
    type Request;
    /// The JSON body a success answers (`()`: none, 204).
    type Response;

    /// The path with its `{params}` filled in order, relative to the server's base address
    /// (no leading `/`, so a server under a path prefix works).
    fn path(args: &[&(dyn Display + Sync)]) -> String {
        fill(Self::PATH, args)
    }
}

/// What [`ALL`] lists of each endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub name: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

fn fill(template: &str, args: &[&(dyn Display + Sync)]) -> String {
    let mut out = String::with_capacity(template.len() + 40);
    let mut args = args.iter();
    let mut rest = template.trim_start_matches('/');
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        match args.next() {
            Some(a) => out.push_str(&a.to_string()),
            None => panic!("{template}: too few path arguments"),
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    assert!(args.next().is_none(), "{template}: too many path arguments");
    out.push_str(rest);
    out
}

macro_rules! endpoints {
    ($( $(#[$m:meta])* $name:ident = $method:ident $path:literal, $access:expr, $req:ty => $resp:ty; )+) => {
        $(
            $(#[$m])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl $name {
                /// The route, as the server's `#[utoipa::path]` takes it.
                pub const PATH: &'static str = $path;
            }

            impl Endpoint for $name {
                const NAME: &'static str = stringify!($name);
                const METHOD: Method = Method::$method;
                const PATH: &'static str = $path;
                const ACCESS: Access = $access;
                type Request = $req;
                type Response = $resp;
            }
        )+

        /// Every endpoint, in the order of the API's sections.
        pub const ALL: &[Info] = &[
            $( Info { name: stringify!($name), method: Method::$method, path: $path, access: $access } ),+
        ];
    };
}

use Access::{Public, Roles, SignedIn};

endpoints! {
    // ---- accounts and sessions ----
    Register = Post "/api/auth/register/", Public, crate::RegisterRequest => crate::AuthResponse;
    Login = Post "/api/auth/login/", Public, crate::LoginRequest => crate::AuthResponse;
    /// Public: the refresh token in the body is the credential.
    Refresh = Post "/api/auth/refresh/", Public, crate::RefreshRequest => crate::RefreshResponse;
    Logout = Post "/api/auth/logout/", Public, crate::RefreshRequest => crate::OkResponse;
    Me = Get "/api/auth/me/", SignedIn, () => crate::MeResponse;
    UpdateMe = Put "/api/auth/me/update/", SignedIn, crate::UpdateMeRequest => crate::MeResponse;
    Health = Get "/api/auth/health/", Public, () => crate::HealthResponse;
    ChangePassword = Post "/api/auth/change-password/", SignedIn, crate::ChangePasswordRequest => crate::SessionsEnded;
    Sessions = Get "/api/auth/sessions/", SignedIn, () => crate::SessionList;
    /// Another of the caller's sessions; the current one ends with `Logout`.
    EndSession = Delete "/api/auth/sessions/{id}/", SignedIn, () => ();
    RevokeOtherSessions = Post "/api/auth/sessions/revoke-others/", SignedIn, () => crate::SessionsEnded;

    // ---- administration ----
    /// `?role=&state=&q=&page=&page_size=`.
    AdminUsers = Get "/api/admin/users/", Roles(ADMINS), () => crate::AdminUserPage;
    CreateStaff = Post "/api/admin/users/", Roles(ADMINS), crate::CreateStaffRequest => crate::User;
    VerifyUser = Post "/api/admin/users/{id}/verify/", Roles(ADMINS), crate::AccountActionRequest => crate::User;
    SuspendUser = Post "/api/admin/users/{id}/suspend/", Roles(ADMINS), crate::AccountActionRequest => crate::User;
    DisableUser = Post "/api/admin/users/{id}/disable/", Roles(ADMINS), crate::AccountActionRequest => crate::User;
    ReinstateUser = Post "/api/admin/users/{id}/reinstate/", Roles(ADMINS), crate::AccountActionRequest => crate::User;
    /// `?user=&page=&page_size=`.
    Audit = Get "/api/admin/audit/", Roles(ADMINS), () => crate::AuditPage;
    /// Per delivery lane: sent, pending, failed over the last hour and day; oldest pending;
    /// latest errors.
    AdminDeliveries = Get "/api/admin/deliveries/", Roles(ADMINS), () => crate::DeliveryHealth;

    // ---- delivery services calling back ----
    /// Meta's subscription check (`hub.mode`, `hub.verify_token`, `hub.challenge`): answers
    /// the challenge as plain text. The verify token is the credential.
    WhatsappWebhookCheck = Get "/api/webhooks/whatsapp/", Public, () => Binary;
    /// WhatsApp's status reports; `X-Hub-Signature-256` (the app secret's HMAC of the body) is
    /// the credential, so the body is taken as bytes.
    WhatsappWebhook = Post "/api/webhooks/whatsapp/", Public, Binary => crate::OkResponse;

    // ---- survivors' reports ----
    CreateIncident = Post "/api/incidents/", Roles(SURVIVORS), crate::IncidentCreate => crate::Incident;
    ListIncidents = Get "/api/incidents/", SignedIn, () => Vec<crate::Incident>;
    GetIncident = Get "/api/incidents/{id}/", SignedIn, () => crate::Incident;
    PatchIncident = Patch "/api/incidents/{id}/", SignedIn, crate::IncidentPatch => crate::Incident;
    DeleteIncident = Delete "/api/incidents/{id}/", SignedIn, () => ();
    Timeline = Get "/api/incidents/{id}/timeline/", SignedIn, () => Vec<crate::StatusChange>;

    // ---- the case workflow: providers ----
    AssignedCases = Get "/api/providers/assigned-cases/", Roles(PROVIDERS), () => Vec<crate::CaseView>;
    Accept = Patch "/api/incidents/{id}/accept/", Roles(PROVIDERS), crate::AcceptRequest => crate::CaseView;
    Reject = Patch "/api/incidents/{id}/reject/", Roles(PROVIDERS), crate::RejectRequest => crate::CaseView;
    UpdateStatus = Patch "/api/providers/cases/{id}/status/", Roles(PROVIDERS), crate::StatusUpdateRequest => crate::CaseView;
    GetAvailability = Get "/api/providers/availability/", Roles(PROVIDERS), () => crate::DirectoryProvider;
    SetAvailability = Patch "/api/providers/availability/", Roles(PROVIDERS), crate::AvailabilityRequest => crate::DirectoryProvider;

    // ---- the case workflow: dispatchers ----
    Dashboard = Get "/api/dispatch/dashboard/", Roles(STAFF), () => crate::DashboardStats;
    /// A bare array; a `CasePage` when `?page=` is given.
    Cases = Get "/api/dispatch/cases/", Roles(STAFF), () => Vec<crate::CaseView>;
    Case = Get "/api/dispatch/cases/{id}/", Roles(STAFF), () => crate::CaseView;
    Assign = Post "/api/dispatch/cases/{id}/assign/", Roles(STAFF), crate::AssignRequest => crate::CaseView;
    Reassign = Post "/api/dispatch/cases/{id}/reassign/", Roles(STAFF), crate::ReassignRequest => crate::CaseView;
    /// Closing is the dispatcher's decision, once the providers completed the case.
    CloseCase = Post "/api/dispatch/cases/{id}/close/", Roles(STAFF), crate::CaseDecisionRequest => crate::CaseView;
    /// Undoes a close made by mistake: the case is completed again.
    ReopenCase = Post "/api/dispatch/cases/{id}/reopen/", Roles(STAFF), crate::CaseDecisionRequest => crate::CaseView;
    Providers = Get "/api/dispatch/providers/", Roles(STAFF), () => Vec<crate::DirectoryProvider>;
    Recommendations = Get "/api/dispatch/cases/{id}/recommendations/", Roles(STAFF), () => Vec<crate::ProviderSuggestion>;

    // ---- the notification feed and push devices ----
    Notifications = Get "/api/notifications/", SignedIn, () => crate::NotificationPage;
    UnreadNotifications = Get "/api/notifications/unread/", SignedIn, () => crate::NotificationPage;
    UnreadCount = Get "/api/notifications/unread_count/", SignedIn, () => crate::UnreadCount;
    MarkNotificationRead = Post "/api/notifications/{id}/mark_as_read/", SignedIn, () => crate::MarkedOne;
    MarkAllNotificationsRead = Post "/api/notifications/mark_all_as_read/", SignedIn, () => crate::MarkedAll;
    GetNotificationPreferences = Get "/api/notifications/preferences/", SignedIn, () => crate::NotificationPreferences;
    PutNotificationPreferences = Put "/api/notifications/preferences/", SignedIn, crate::NotificationPreferences => crate::NotificationPreferences;
    /// A test notification to the caller on every channel they chose; its `channels` then say
    /// how each went (read it back from the feed).
    SendTestNotification = Post "/api/notifications/test/", SignedIn, () => crate::Notification;
    RegisterDevice = Post "/api/devices/", SignedIn, crate::DeviceRegistration => crate::Device;
    RemoveDevice = Delete "/api/devices/{id}/", SignedIn, () => ();

    // ---- evidence ----
    /// Multipart: `file`, optional `description` and `client_id`.
    UploadEvidence = Post "/api/incidents/{id}/evidence/", SignedIn, Binary => crate::Evidence;
    ListEvidence = Get "/api/incidents/{id}/evidence/", SignedIn, () => Vec<crate::Evidence>;
    /// The file's bytes, with its stored content type.
    DownloadEvidence = Get "/api/evidence/{id}/download/", SignedIn, () => Binary;
    DeleteEvidence = Delete "/api/evidence/{id}/", SignedIn, () => ();

    // ---- chat ----
    Rooms = Get "/api/chat/rooms/", SignedIn, () => crate::ChatRoomList;
    CreateDirectChat = Post "/api/chat/rooms/create_direct_chat/", SignedIn, crate::CreateDirectChat => crate::ChatRoom;
    /// Staff join a case's conversation; `{id}` is the case (incident) id. Leaving is `LeaveRoom`.
    JoinCaseRoom = Post "/api/chat/case-rooms/{id}/join/", Roles(STAFF), () => crate::ChatRoom;
    LeaveRoom = Delete "/api/chat/rooms/{id}/", SignedIn, () => ();
    Messages = Get "/api/chat/messages/", SignedIn, () => crate::ChatMessagePage;
    SendMessage = Post "/api/chat/messages/", SignedIn, crate::SendMessage => crate::ChatMessage;
    DeleteMessage = Delete "/api/chat/messages/{id}/", SignedIn, () => ();
    MarkRoomRead = Post "/api/chat/rooms/{id}/mark_read/", SignedIn, () => crate::MarkReadResult;
    MarkMessageRead = Post "/api/chat/messages/{id}/mark_read/", SignedIn, () => crate::MarkReadResult;
    Typing = Post "/api/chat/rooms/{id}/typing/", SignedIn, crate::TypingRequest => crate::TypingResult;
    Heartbeat = Post "/api/chat/heartbeat/", SignedIn, crate::Heartbeat => crate::HeartbeatResult;
    OnlineUsers = Get "/api/chat/online-users/", SignedIn, () => crate::OnlineUsers;
    MarkOffline = Post "/api/chat/mark-offline/", SignedIn, () => crate::OfflineResult;
    GetChatSettings = Get "/api/chat/settings/", SignedIn, () => crate::ChatSettings;
    Blocks = Get "/api/chat/blocks/", Roles(SURVIVORS), () => crate::BlockList;
    BlockUser = Post "/api/chat/blocks/", Roles(SURVIVORS), crate::BlockRequest => crate::BlockedUser;
    /// `{id}` is the blocked user's id.
    UnblockUser = Delete "/api/chat/blocks/{id}/", Roles(SURVIVORS), () => ();
    PutChatSettings = Put "/api/chat/settings/", SignedIn, crate::ChatSettings => crate::ChatSettings;

    // ---- realtime ----
    /// The long-poll: `?since=<cursor>&timeout=<0..60>`.
    Events = Get "/api/events/", SignedIn, () => crate::EventsPage;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn paths_fill_in_order_relative_to_the_base() {
        assert_eq!(Login::path(&[]), "api/auth/login/");
        assert_eq!(GetIncident::path(&[&7]), "api/incidents/7/");
        assert_eq!(
            Recommendations::path(&[&"abc"]),
            "api/dispatch/cases/abc/recommendations/"
        );
    }

    #[test]
    #[should_panic(expected = "too few path arguments")]
    fn a_missing_argument_is_a_bug() {
        GetIncident::path(&[]);
    }

    #[test]
    fn each_method_and_path_is_declared_once() {
        let mut seen = HashSet::new();
        for e in ALL {
            assert!(seen.insert((e.method, e.path)), "{} twice", e.path);
            assert!(
                e.path.starts_with("/api/") && e.path.ends_with('/'),
                "{}",
                e.path
            );
        }
    }

    #[test]
    fn the_gate_refuses_by_default() {
        assert!(Access::Public.allows(None));
        assert!(!Access::SignedIn.allows(None));
        assert!(!Access::Roles(STAFF).allows(None));
        assert!(!Access::Roles(STAFF).allows(Some(Role::Survivor)));
        assert!(Access::Roles(STAFF).allows(Some(Role::Admin)));
    }
}
