//! The app's inside boundary, declared once: every command the UI invokes in the shell (its name,
//! argument and result types), every event the shell emits to the UI, and the types both sides
//! read (`OutboxItem`, `KeyStatus`, `UiError`, ...). The shell's commands take `Args<C>` and
//! return `Output<C>`; the UI calls `ipc::invoke::<C>(&args)`; neither names a command by a
//! string, and a shell test holds its handler list to [`cmd::ALL`].
//!
//! Compiles for wasm32 (the UI uses it).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Incident, IncidentCreate, StatusUpdateRequest, User};

/// A shell command.
pub trait Command {
    /// The name the shell registers it under (its function's name).
    const NAME: &'static str;
    /// What the UI sends, as the command's one `args` argument.
    type Args: Serialize + DeserializeOwned;
    /// What a success returns.
    type Output: Serialize + DeserializeOwned;
}

pub type Args<C> = <C as Command>::Args;
pub type Output<C> = <C as Command>::Output;

/// An event the shell emits to the UI.
pub trait AppEvent {
    const NAME: &'static str;
    type Payload: Serialize + DeserializeOwned;
}

/// A command that takes nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoArgs {}

/// A command whose argument is the raw IPC body, not JSON (`crate::upload`'s report with its
/// files); the UI sends bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawBody {}

/// A command whose answer is raw bytes (the IPC's binary response, an `ArrayBuffer` in the UI),
/// not JSON: an evidence file, which stays in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawBytes {}

// ---- what the shell and the UI both read ----

/// Why a command failed, for the UI to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiError {
    pub kind: UiErrorKind,
    pub message: String,
    /// Messages per field, for forms.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiErrorKind {
    /// The server cannot be reached.
    Network,
    /// The input was refused; `fields` says where.
    Validation,
    /// The credentials were refused.
    Auth,
    /// The session is over: sign in again.
    LoggedOut,
    /// Too many tries: wait.
    Locked,
    /// The PIN is wrong.
    WrongPin,
    /// Too many wrong PINs: `fields["retry_after"]` says how many seconds to wait.
    Wait,
    Other,
}

impl UiError {
    pub fn new(kind: UiErrorKind, message: impl Into<String>) -> Self {
        UiError {
            kind,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        UiError::new(UiErrorKind::Other, message)
    }
}

/// What the UI needs to pick its first screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub server_url: String,
    pub user: Option<User>,
}

/// Where the device key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Unlocked,
    /// Enter the PIN.
    Locked,
    /// Choose a PIN before signing in (no OS keystore here).
    NewPin,
    /// The keystore that holds the key does not answer.
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Keystore,
    Pin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatus {
    pub state: KeyState,
    /// Once there is a key.
    pub source: Option<KeySource>,
    /// Seconds before the next PIN may be tried.
    pub retry_after: u64,
    /// Whether the unlock screen offers biometrics (Android, once set up).
    pub biometric: bool,
    /// Whether Settings may offer to set biometric unlock up (Android, key under a PIN).
    pub biometric_setup: bool,
}

/// The limits on a report's files, for the wizard to check before it reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceLimits {
    pub max_files: usize,
    pub max_bytes: u64,
}

/// What became of a report the survivor filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Filed {
    /// The server has it: the case, with its number and status.
    Sent { incident: Box<Incident> },
    /// Saved on this device; the outbox sends it when the server can be reached, and "My
    /// reports" shows it until then.
    Queued,
}

/// The connection to the server, as the frame shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    #[default]
    Connecting,
    /// The live socket is open.
    Online,
    /// Long-polling (the socket is blocked or being retried).
    Polling,
    Offline,
    LoggedOut,
}

impl SyncStatus {
    /// Its wire string (also what the frame's `data-state` shows).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Connecting => "connecting",
            SyncStatus::Online => "online",
            SyncStatus::Polling => "polling",
            SyncStatus::Offline => "offline",
            SyncStatus::LoggedOut => "logged_out",
        }
    }
}

// ---- the outbox, as the core keeps it and the UI shows it ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its turn (or for `next_attempt_at`).
    Queued,
    /// A request is in flight.
    Sending,
    /// The server refused it for good; the user may retry or discard it.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(OutboxState::Queued),
            "sending" => Some(OutboxState::Sending),
            "failed" => Some(OutboxState::Failed),
            _ => None,
        }
    }
}

/// A mutation the user made, as it will be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Adjacently tagged: a report has its own `type` field, which an internal tag would clash with.
#[serde(tag = "action", content = "data", rename_all = "snake_case")]
pub enum OutboxAction {
    SendMessage {
        room: Uuid,
        content: String,
    },
    FileReport(IncidentCreate),
    Accept {
        incident: Uuid,
        notes: Option<String>,
    },
    Reject {
        incident: Uuid,
        reason: String,
    },
    UpdateStatus {
        incident: Uuid,
        request: StatusUpdateRequest,
    },
    /// A dispatcher offers the case to these providers.
    Assign {
        incident: Uuid,
        provider_ids: Vec<Uuid>,
    },
    /// A dispatcher moves the case to another provider.
    Reassign {
        incident: Uuid,
        new_provider_id: Uuid,
        reason: String,
    },
    /// A dispatcher closes or reopens the case.
    Decide {
        incident: Uuid,
        decision: CaseDecision,
        reason: String,
    },
    /// The survivor changes what the server lets her change in her report.
    EditReport {
        incident: Uuid,
        patch: crate::IncidentPatch,
    },
    /// The survivor withdraws her report.
    WithdrawReport {
        incident: Uuid,
    },
    MarkRead {
        room: Uuid,
    },
    /// A file of a report queued before it. Its bytes were copied into the store with this item
    /// (`LocalStore::attachment`), so the original may go; the case is found from the report's
    /// delivery.
    AttachEvidence {
        /// The client id of the report it belongs to.
        report: String,
        file_name: String,
        description: Option<String>,
        size_bytes: u64,
    },
}

impl OutboxAction {
    /// The ordering lane: actions on one room or case are applied in the order they were made;
    /// different lanes do not wait for each other.
    pub fn lane(&self) -> String {
        match self {
            OutboxAction::SendMessage { room, .. } | OutboxAction::MarkRead { room } => {
                format!("room:{room}")
            }
            OutboxAction::Accept { incident, .. }
            | OutboxAction::Reject { incident, .. }
            | OutboxAction::UpdateStatus { incident, .. }
            | OutboxAction::Assign { incident, .. }
            | OutboxAction::Reassign { incident, .. }
            | OutboxAction::Decide { incident, .. }
            | OutboxAction::EditReport { incident, .. }
            | OutboxAction::WithdrawReport { incident } => format!("case:{incident}"),
            // A report's files follow it in its lane: they need its case, and the survivor
            // expects them in the order they were added.
            OutboxAction::FileReport(_) | OutboxAction::AttachEvidence { .. } => "reports".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: i64,
    pub client_id: String,
    pub lane: String,
    pub action: OutboxAction,
    pub state: OutboxState,
    /// Tries that ended without a definite answer (network or transient failure, or a process
    /// killed mid-send): any of them may have reached the server.
    pub attempts: u32,
    /// Unix milliseconds; `None` means as soon as possible.
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl OutboxItem {
    /// The room or case this item acts on, if any.
    pub fn room(&self) -> Option<Uuid> {
        match &self.action {
            OutboxAction::SendMessage { room, .. } | OutboxAction::MarkRead { room } => Some(*room),
            _ => None,
        }
    }

    pub fn incident(&self) -> Option<Uuid> {
        match &self.action {
            OutboxAction::Accept { incident, .. }
            | OutboxAction::Reject { incident, .. }
            | OutboxAction::UpdateStatus { incident, .. }
            | OutboxAction::Assign { incident, .. }
            | OutboxAction::Reassign { incident, .. }
            | OutboxAction::Decide { incident, .. }
            | OutboxAction::EditReport { incident, .. }
            | OutboxAction::WithdrawReport { incident } => Some(*incident),
            _ => None,
        }
    }

    pub fn is_failed(&self) -> bool {
        self.state == OutboxState::Failed
    }
}

// ---- arguments ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinArgs {
    pub pin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPinArgs {
    pub pin: String,
    pub confirm: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePinArgs {
    pub old: String,
    pub pin: String,
    pub confirm: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerArgs {
    pub url: String,
}

/// The language the UI now shows, by its code (`en`, `sw`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageArgs {
    pub lang: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchArgs {
    pub on: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdArgs {
    pub id: Uuid,
}

/// A page of a list, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageArgs {
    pub page: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxIdArgs {
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentArgs {
    pub incident: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomArgs {
    pub room: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OlderArgs {
    pub room: Uuid,
    /// The `seq` of the oldest message shown.
    pub before: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendArgs {
    pub room: Uuid,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingArgs {
    pub room: Uuid,
    pub is_typing: bool,
}

/// The room on screen, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatArgs {
    pub room: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerArgs {
    pub incident: Uuid,
    pub accepted: bool,
    /// Needed to decline.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStatusArgs {
    pub incident: Uuid,
    pub request: StatusUpdateRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasesArgs {
    pub status: Option<crate::IncidentStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignArgs {
    pub incident: Uuid,
    pub provider_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignArgs {
    pub incident: Uuid,
    pub new_provider_id: Uuid,
    pub reason: String,
}

crate::wire_enum! {
    /// What a dispatcher decides about a case that the workflow lets them close or reopen.
    CaseDecision {
        Close = "close" / "Close",
        Reopen = "reopen" / "Reopen",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideArgs {
    pub incident: Uuid,
    pub decision: CaseDecision,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditReportArgs {
    pub incident: Uuid,
    pub patch: crate::IncidentPatch,
}

/// An evidence file to open with the system's viewer; its uploaded name gives the extension the
/// viewer goes by (letters and digits only, anything else is dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEvidenceArgs {
    pub id: Uuid,
    pub file_name: String,
}

/// A place to show on a map, opened in the system's map or browser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapArgs {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityArgs {
    pub available: bool,
}

/// One of a survivor's emergency contacts, kept on her device only, sealed with the rest of
/// its data and wiped with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyContact {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsArgs {
    pub contacts: Vec<EmergencyContact>,
}

/// At most this many emergency contacts, each part at most this many characters.
pub const MAX_CONTACTS: usize = 20;
pub const MAX_CONTACT_TEXT: usize = 100;

/// A filter of the admin's account list; each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUsersArgs {
    #[serde(default)]
    pub role: Option<crate::Role>,
    #[serde(default)]
    pub state: Option<crate::AccountState>,
    #[serde(default)]
    pub search: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminDecisionArgs {
    pub user: Uuid,
    pub decision: crate::AdminDecision,
    pub reason: String,
}

/// Every shell command, one type each.
pub mod cmd {
    use super::*;

    macro_rules! commands {
        ($( $(#[$m:meta])* $name:ident = $cmd:literal, $args:ty => $out:ty; )+) => {
            $(
                $(#[$m])*
                #[derive(Debug, Clone, Copy)]
                pub struct $name;

                impl Command for $name {
                    const NAME: &'static str = $cmd;
                    type Args = $args;
                    type Output = $out;
                }
            )+

            /// Every command's name, as the shell registers them.
            pub const ALL: &[&str] = &[$($cmd),+];
        };
    }

    commands! {
        /// The first paint is done: the window may show.
        UiReady = "ui_ready", NoArgs => ();
        // ---- the device key ----
        KeyStatus = "key_status", NoArgs => super::KeyStatus;
        /// The keystore again, after it did not answer.
        KeyRetry = "key_retry", NoArgs => super::KeyStatus;
        Unlock = "unlock", PinArgs => ();
        ChoosePin = "choose_pin", NewPinArgs => ();
        ChangePin = "change_pin", ChangePinArgs => ();
        UnlockBiometric = "unlock_biometric", NoArgs => ();
        EnableBiometric = "enable_biometric", PinArgs => ();
        // ---- the app and the session ----
        AppInfo = "app_info", NoArgs => super::AppInfo;
        /// Points the app at another server after checking that it answers.
        SetServer = "set_server", ServerArgs => crate::HealthResponse;
        Register = "register", crate::RegisterRequest => User;
        Login = "login", crate::LoginRequest => User;
        Logout = "logout", NoArgs => ();
        SetLanguage = "set_language", LanguageArgs => ();
        Disguise = "disguise", NoArgs => bool;
        SetDisguise = "set_disguise", SwitchArgs => ();
        SyncState = "sync_state", NoArgs => SyncStatus;
        // ---- reports ----
        /// The report and its files as one raw body (`crate::upload`).
        FileReport = "file_report", RawBody => Filed;
        EvidenceLimits = "evidence_limits", NoArgs => super::EvidenceLimits;
        ListIncidents = "list_incidents", NoArgs => Vec<Incident>;
        Timeline = "timeline", IncidentArgs => Vec<crate::StatusChange>;
        EditReport = "edit_report", EditReportArgs => OutboxItem;
        WithdrawReport = "withdraw_report", IncidentArgs => OutboxItem;
        // ---- a case's evidence, for whoever may read it ----
        CaseEvidence = "case_evidence", IncidentArgs => Vec<crate::Evidence>;
        /// The file's bytes, kept in memory (never written in clear).
        EvidenceFile = "evidence_file", IdArgs => RawBytes;
        /// Opens a document with the system's viewer, from a copy in the app's own data that
        /// goes at sign-out.
        OpenEvidence = "open_evidence", OpenEvidenceArgs => ();
        OpenMap = "open_map", MapArgs => ();
        // ---- chat ----
        Rooms = "rooms", NoArgs => Vec<crate::ChatRoom>;
        /// Staff join a case's conversation.
        JoinCaseRoom = "join_case_room", IncidentArgs => crate::ChatRoom;
        LeaveRoom = "leave_room", RoomArgs => ();
        /// Opens (or returns) a direct room with someone the server allows.
        DirectChat = "direct_chat", IdArgs => crate::ChatRoom;
        Messages = "messages", RoomArgs => crate::ChatMessagePage;
        OlderMessages = "older_messages", OlderArgs => crate::ChatMessagePage;
        SendMessage = "send_message", SendArgs => OutboxItem;
        MarkRoomRead = "mark_room_read", RoomArgs => ();
        Typing = "typing", TypingArgs => ();
        Heartbeat = "heartbeat", HeartbeatArgs => ();
        OnlineUsers = "online_users", NoArgs => Vec<Uuid>;
        ChatSettings = "chat_settings", NoArgs => crate::ChatSettings;
        SetChatSettings = "set_chat_settings", crate::ChatSettings => crate::ChatSettings;
        // ---- notifications ----
        /// One page of the feed, newest first.
        Notifications = "notifications", PageArgs => crate::NotificationPage;
        UnreadCount = "unread_count", NoArgs => i64;
        MarkNotificationRead = "mark_notification_read", IdArgs => ();
        MarkAllNotificationsRead = "mark_all_notifications_read", NoArgs => ();
        /// Settings → Notifications: the channels of each type, and those the server offers.
        NotificationSettings = "notification_settings", NoArgs => crate::NotificationPreferences;
        SetNotificationChannels = "set_notification_channels", crate::NotificationPreferences => crate::NotificationPreferences;
        /// "Send me a test": the notification as made; its channels fill in on the feed.
        SendTestNotification = "send_test_notification", NoArgs => crate::Notification;
        /// The profile's WhatsApp number (empty: none).
        UpdateProfile = "update_profile", crate::UpdateMeRequest => User;
        // ---- providers ----
        AssignedCases = "assigned_cases", NoArgs => Vec<crate::CaseView>;
        AnswerAssignment = "answer_assignment", AnswerArgs => OutboxItem;
        UpdateCaseStatus = "update_case_status", CaseStatusArgs => OutboxItem;
        Availability = "availability", NoArgs => crate::DirectoryProvider;
        SetAvailability = "set_availability", AvailabilityArgs => crate::DirectoryProvider;
        // ---- dispatchers ----
        Dashboard = "dashboard", NoArgs => crate::DashboardStats;
        DispatchCases = "dispatch_cases", CasesArgs => Vec<crate::CaseView>;
        Recommendations = "recommendations", IncidentArgs => Vec<crate::ProviderSuggestion>;
        Assign = "assign", AssignArgs => OutboxItem;
        Reassign = "reassign", ReassignArgs => OutboxItem;
        Decide = "decide", DecideArgs => OutboxItem;
        DispatchProviders = "dispatch_providers", NoArgs => Vec<crate::DirectoryProvider>;
        // ---- safety: emergency contacts, sealed on the device ----
        Contacts = "contacts", NoArgs => Vec<EmergencyContact>;
        SetContacts = "set_contacts", ContactsArgs => ();
        BlockUser = "block_user", crate::BlockRequest => crate::BlockedUser;
        // ---- her account (Settings → Security) ----
        Sessions = "sessions", NoArgs => crate::SessionList;
        EndSession = "end_session", IdArgs => ();
        RevokeOtherSessions = "revoke_other_sessions", NoArgs => crate::SessionsEnded;
        ChangePassword = "change_password", crate::ChangePasswordRequest => crate::SessionsEnded;
        // ---- administration ----
        AdminUsers = "admin_users", AdminUsersArgs => crate::AdminUserPage;
        AdminDecide = "admin_decide", AdminDecisionArgs => User;
        CreateStaff = "create_staff", crate::CreateStaffRequest => User;
        AuditLog = "audit_log", NoArgs => crate::AuditPage;
        DeliveryHealth = "delivery_health", NoArgs => crate::DeliveryHealth;
        // ---- the outbox ----
        OutboxItems = "outbox_items", NoArgs => Vec<OutboxItem>;
        OutboxRetry = "outbox_retry", OutboxIdArgs => ();
        OutboxDiscard = "outbox_discard", OutboxIdArgs => ();
    }
}

/// Every event the shell emits to the UI, one type each.
pub mod event {
    use super::*;

    /// The connection's state, at every change.
    pub struct SyncStateChanged;
    impl AppEvent for SyncStateChanged {
        const NAME: &'static str = "sync-state";
        type Payload = SyncStatus;
    }

    /// A frame of the event stream (or a resync), after the core's cache has applied it.
    pub struct Received;
    impl AppEvent for Received {
        const NAME: &'static str = "kintara-event";
        type Payload = crate::Event;
    }

    /// An OS notification was clicked: open what it is about, as a tap on the feed's entry does.
    pub struct OpenNotification;
    impl AppEvent for OpenNotification {
        const NAME: &'static str = "open-notification";
        type Payload = crate::Notification;
    }

    /// The outbox's items, at every change.
    pub struct OutboxChanged;
    impl AppEvent for OutboxChanged {
        const NAME: &'static str = "outbox";
        type Payload = Vec<OutboxItem>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique() {
        let mut names = cmd::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cmd::ALL.len());
    }

    #[test]
    fn outbox_items_read_back_as_written() {
        let item = OutboxItem {
            id: 1,
            client_id: "c".into(),
            lane: "room:x".into(),
            action: OutboxAction::SendMessage {
                room: Uuid::nil(),
                content: "hi".into(),
            },
            state: OutboxState::Failed,
            attempts: 2,
            next_attempt_at: None,
            last_error: Some("refused".into()),
            created_at: 5,
        };
        let json = serde_json::to_string(&item).unwrap();
        assert_eq!(serde_json::from_str::<OutboxItem>(&json).unwrap(), item);
        assert!(item.is_failed());
        assert_eq!(item.room(), Some(Uuid::nil()));
    }
}
