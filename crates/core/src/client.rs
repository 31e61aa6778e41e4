//! The API client and its session. Every authenticated call goes through `send_authed`, which
//! refreshes the access token once on a 401 and retries; concurrent callers share one refresh,
//! because a second refresh with the same (now spent) token would make the server end the session.

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kintara_api::endpoint::{self, Endpoint};
use kintara_api::{
    AcceptRequest, AssignRequest, AuthResponse, AvailabilityRequest, CaseView, ChatMessage,
    ChatMessagePage, ChatRoomList, ChatSettings, Cursor, DashboardStats, Device,
    DeviceRegistration, DirectoryProvider, ErrorEnvelope, EventsPage, Evidence, HealthResponse,
    Heartbeat, HeartbeatResult, Incident, IncidentCreate, IncidentPatch, LoginRequest,
    MarkReadResult, MarkedAll, MarkedOne, MeResponse, NotificationPage, OnlineUsers,
    ProviderSuggestion, ReassignRequest, RefreshRequest, RefreshResponse, RegisterRequest,
    RejectRequest, SendMessage, StatusChange, StatusUpdateRequest, TokenPair, TypingRequest,
    TypingResult, UnreadCount, UpdateMeRequest, User,
};
use kintara_api::{
    AccountActionRequest, AccountState, AdminDecision, AdminUserPage, AuditPage, BlockRequest,
    BlockedUser, ChangePasswordRequest, CreateStaffRequest, DeliveryHealth, Notification,
    NotificationPreferences, Role, SessionList, SessionsEnded,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;
use uuid::Uuid;

use crate::error::{parse_retry_after, CoreError};
use crate::store::{StoredSession, TokenStore};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An upload may carry 50 MB over a slow mobile link.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

pub type Result<T> = std::result::Result<T, CoreError>;

/// The HTTP method endpoint `E` is declared with.
fn method<E: Endpoint>() -> Method {
    match E::METHOD {
        endpoint::Method::Get => Method::GET,
        endpoint::Method::Post => Method::POST,
        endpoint::Method::Put => Method::PUT,
        endpoint::Method::Patch => Method::PATCH,
        endpoint::Method::Delete => Method::DELETE,
    }
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    store: Arc<dyn TokenStore>,
    session: Mutex<Option<StoredSession>>,
    /// Held while refreshing, so only one refresh is in flight.
    refresh_lock: tokio::sync::Mutex<()>,
}

/// Parses a server address typed by a person: `localhost:8000`, `https://kintara.example/`, ...
/// Anything that leaves this device goes over TLS: `http://` only for a server on loopback (a
/// developer's own machine). Without a scheme, loopback gets `http://` and the rest `https://`.
pub fn parse_base_url(input: &str) -> Result<Url> {
    let input = input.trim();
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        let plain = Url::parse(&format!("http://{input}"))
            .map_err(|e| CoreError::InvalidUrl(e.to_string()))?;
        let scheme = if is_loopback(&plain) { "http" } else { "https" };
        format!("{scheme}://{input}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| CoreError::InvalidUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(CoreError::InvalidUrl(
            "use an http:// or https:// address".into(),
        ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(CoreError::InvalidUrl(
            "use an https:// address: what you send must not cross a network unencrypted \
             (http:// is only for a server on this device)"
                .into(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `localhost` (and its subdomains), `127.0.0.0/8` and `::1`: the device itself.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// How long an idle connection to the server is kept for reuse.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

impl Client {
    /// A client for the server at `base_url`, resuming any session kept in `store`.
    pub fn new(base_url: &str, store: Arc<dyn TokenStore>) -> Result<Self> {
        let base = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // Shorter than the server's keep-alive (30 s by default): a pooled connection is
            // dropped here before the server closes it, never reused as it closes.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .map_err(|e| CoreError::Network(e.to_string()))?;
        let session = store.load().map_err(|e| CoreError::Storage(e.0))?;
        Ok(Client {
            http,
            base,
            store,
            session: Mutex::new(session),
            refresh_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The signed-in user as last seen, without a network call.
    pub fn current_user(&self) -> Option<User> {
        self.session
            .lock()
            .expect("not poisoned")
            .as_ref()
            .map(|s| s.user.clone())
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("API paths are relative and valid")
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    // ---- sessions ----

    pub async fn health(&self) -> Result<HealthResponse> {
        decode(
            self.request(method::<endpoint::Health>(), &endpoint::Health::path(&[]))
                .send()
                .await?,
        )
        .await
    }

    pub async fn register(&self, req: &RegisterRequest) -> Result<User> {
        let resp = self
            .request(
                method::<endpoint::Register>(),
                &endpoint::Register::path(&[]),
            )
            .json(req)
            .send()
            .await?;
        let auth: AuthResponse = decode(resp).await?;
        self.start_session(auth)
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<User> {
        let body = LoginRequest {
            email: email.into(),
            password: password.into(),
        };
        let resp = self
            .request(method::<endpoint::Login>(), &endpoint::Login::path(&[]))
            .json(&body)
            .send()
            .await?;
        let auth: AuthResponse = decode(resp).await?;
        self.start_session(auth)
    }

    fn start_session(&self, auth: AuthResponse) -> Result<User> {
        let stored = StoredSession {
            user: auth.user.clone(),
            tokens: auth.tokens,
        };
        self.store
            .save(&stored)
            .map_err(|e| CoreError::Storage(e.0))?;
        *self.session.lock().expect("not poisoned") = Some(stored);
        Ok(auth.user)
    }

    /// Ends the session on the server (best effort) and forgets it here (always).
    pub async fn logout(&self) -> Result<()> {
        let refresh = self.tokens().map(|t| t.refresh);
        let forget = self.forget_session();
        if let Some(refresh) = refresh {
            let sent = self
                .request(method::<endpoint::Logout>(), &endpoint::Logout::path(&[]))
                .json(&RefreshRequest { refresh })
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not tell the server about the logout");
            }
        }
        forget
    }

    fn forget_session(&self) -> Result<()> {
        *self.session.lock().expect("not poisoned") = None;
        self.store.clear().map_err(|e| CoreError::Storage(e.0))
    }

    fn tokens(&self) -> Option<TokenPair> {
        self.session
            .lock()
            .expect("not poisoned")
            .as_ref()
            .map(|s| s.tokens.clone())
    }

    pub async fn me(&self) -> Result<User> {
        let me: MeResponse = self.call::<endpoint::Me>(&[], "", None).await?;
        self.update_cached_user(&me.user)?;
        Ok(me.user)
    }

    pub async fn update_me(&self, req: &UpdateMeRequest) -> Result<User> {
        let me: MeResponse = self.call::<endpoint::UpdateMe>(&[], "", Some(req)).await?;
        self.update_cached_user(&me.user)?;
        Ok(me.user)
    }

    fn update_cached_user(&self, user: &User) -> Result<()> {
        let mut guard = self.session.lock().expect("not poisoned");
        if let Some(s) = guard.as_mut() {
            s.user = user.clone();
            self.store.save(s).map_err(|e| CoreError::Storage(e.0))?;
        }
        Ok(())
    }

    // ---- incidents ----

    pub async fn create_incident(&self, report: &IncidentCreate) -> Result<Incident> {
        self.call::<endpoint::CreateIncident>(&[], "", Some(report))
            .await
    }

    pub async fn list_incidents(&self) -> Result<Vec<Incident>> {
        self.call::<endpoint::ListIncidents>(&[], "", None).await
    }

    pub async fn get_incident(&self, id: Uuid) -> Result<Incident> {
        self.call::<endpoint::GetIncident>(&[&id], "", None).await
    }

    pub async fn update_incident(&self, id: Uuid, patch: &IncidentPatch) -> Result<Incident> {
        self.call::<endpoint::PatchIncident>(&[&id], "", Some(patch))
            .await
    }

    /// The case's status changes, oldest first (a survivor's come without reasons).
    pub async fn timeline(&self, id: Uuid) -> Result<Vec<StatusChange>> {
        self.call::<endpoint::Timeline>(&[&id], "", None).await
    }

    pub async fn delete_incident(&self, id: Uuid) -> Result<()> {
        let path = endpoint::DeleteIncident::path(&[&id]);
        let method = method::<endpoint::DeleteIncident>();
        check(self.send_authed_raw(method, &path, None::<&()>).await?).await
    }

    // ---- her account ----

    /// Survivors: blocks `user`; nothing of theirs reaches her after.
    pub async fn block_user(&self, user: Uuid) -> Result<BlockedUser> {
        self.call::<endpoint::BlockUser>(&[], "", Some(&BlockRequest { user_id: user }))
            .await
    }

    /// Where the caller is signed in, the current session marked.
    pub async fn sessions(&self) -> Result<SessionList> {
        self.call::<endpoint::Sessions>(&[], "", None).await
    }

    /// Signs another of the caller's sessions out.
    pub async fn end_session_of_mine(&self, id: Uuid) -> Result<()> {
        let path = endpoint::EndSession::path(&[&id]);
        let method = method::<endpoint::EndSession>();
        check(self.send_authed_raw(method, &path, None::<&()>).await?).await
    }

    /// Signs every other session of the caller's out.
    pub async fn revoke_other_sessions(&self) -> Result<SessionsEnded> {
        self.call::<endpoint::RevokeOtherSessions>(&[], "", None)
            .await
    }

    /// Changes the password (the current one is required); every other session ends.
    pub async fn change_password(&self, req: &ChangePasswordRequest) -> Result<SessionsEnded> {
        self.call::<endpoint::ChangePassword>(&[], "", Some(req))
            .await
    }

    // ---- administration ----

    /// Accounts by role, state and a search (each optional), newest first.
    pub async fn admin_users(
        &self,
        role: Option<Role>,
        state: Option<AccountState>,
        search: &str,
    ) -> Result<AdminUserPage> {
        // Built before the call: the serializer is not `Send` across an await.
        let query = {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(r) = role {
                query.append_pair("role", r.as_str());
            }
            if let Some(s) = state {
                query.append_pair("state", s.as_str());
            }
            if !search.trim().is_empty() {
                query.append_pair("q", search.trim());
            }
            query.append_pair("page_size", "100");
            query.finish()
        };
        self.call::<endpoint::AdminUsers>(&[], &query, None).await
    }

    /// An admin's decision about an account, with its reason.
    pub async fn admin_decide(
        &self,
        user: Uuid,
        decision: AdminDecision,
        reason: &str,
    ) -> Result<User> {
        let req = AccountActionRequest {
            reason: reason.to_owned(),
        };
        let args: [&(dyn std::fmt::Display + Sync); 1] = [&user];
        match decision {
            AdminDecision::Verify => {
                self.call::<endpoint::VerifyUser>(&args, "", Some(&req))
                    .await
            }
            AdminDecision::Suspend => {
                self.call::<endpoint::SuspendUser>(&args, "", Some(&req))
                    .await
            }
            AdminDecision::Disable => {
                self.call::<endpoint::DisableUser>(&args, "", Some(&req))
                    .await
            }
            AdminDecision::Reinstate => {
                self.call::<endpoint::ReinstateUser>(&args, "", Some(&req))
                    .await
            }
        }
    }

    pub async fn create_staff(&self, req: &CreateStaffRequest) -> Result<User> {
        self.call::<endpoint::CreateStaff>(&[], "", Some(req)).await
    }

    /// The newest decisions of the audit log.
    pub async fn audit_log(&self) -> Result<AuditPage> {
        self.call::<endpoint::Audit>(&[], "page_size=100", None)
            .await
    }

    // ---- evidence ----

    /// Adds a file to a case. With the same `client_id` again (an answer lost), the server
    /// returns the first stored file instead of storing a copy.
    pub async fn upload_evidence(
        &self,
        incident: Uuid,
        client_id: &str,
        file_name: &str,
        description: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Evidence> {
        let path = endpoint::UploadEvidence::path(&[&incident]);
        // Shared, not copied, between the first try and the one after a token refresh.
        let bytes = bytes::Bytes::from(bytes);
        let attempt = |access: String| {
            // The client id goes first, so the server knows it before the file streams in.
            let mut form = reqwest::multipart::Form::new().text("client_id", client_id.to_owned());
            if let Some(d) = description {
                form = form.text("description", d.to_owned());
            }
            let file = reqwest::multipart::Part::stream_with_length(
                reqwest::Body::from(bytes.clone()),
                bytes.len() as u64,
            )
            .file_name(file_name.to_owned());
            self.request(method::<endpoint::UploadEvidence>(), &path)
                .bearer_auth(access)
                .timeout(UPLOAD_TIMEOUT)
                .multipart(form.part("file", file))
                .send()
        };
        let access = self.access_token()?;
        let resp = attempt(access.clone()).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return decode(resp).await;
        }
        self.refresh_after(&access).await?;
        let resp = attempt(self.access_token()?).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            self.forget_session()?;
            return Err(CoreError::LoggedOut("session ended".into()));
        }
        decode(resp).await
    }

    /// The live evidence of a case, oldest first.
    pub async fn list_evidence(&self, incident: Uuid) -> Result<Vec<Evidence>> {
        self.call::<endpoint::ListEvidence>(&[&incident], "", None)
            .await
    }

    /// A file's bytes.
    pub async fn download_evidence(&self, id: Uuid) -> Result<Vec<u8>> {
        let path = endpoint::DownloadEvidence::path(&[&id]);
        let method = method::<endpoint::DownloadEvidence>();
        let resp = self.send_authed_raw(method, &path, None::<&()>).await?;
        if !resp.status().is_success() {
            let refused = check(resp).await.err();
            return Err(refused.unwrap_or_else(|| CoreError::Protocol("no download".into())));
        }
        Ok(resp.bytes().await?.to_vec())
    }

    // ---- chat ----

    pub async fn rooms(&self) -> Result<ChatRoomList> {
        self.call::<endpoint::Rooms>(&[], "", None).await
    }

    /// Staff: join the conversation of case `incident`.
    pub async fn join_case_room(&self, incident: Uuid) -> Result<kintara_api::ChatRoom> {
        self.call::<endpoint::JoinCaseRoom>(&[&incident], "", None)
            .await
    }

    /// Leaves `room` (a direct room, or a case's conversation staff joined).
    pub async fn leave_room(&self, room: Uuid) -> Result<()> {
        let path = endpoint::LeaveRoom::path(&[&room]);
        let method = method::<endpoint::LeaveRoom>();
        check(self.send_authed_raw(method, &path, None::<&()>).await?).await
    }

    /// Opens (or returns) the direct room with `user`, where the server allows one.
    pub async fn direct_chat(&self, user: Uuid) -> Result<kintara_api::ChatRoom> {
        let body = kintara_api::CreateDirectChat { user_id: user };
        self.call::<endpoint::CreateDirectChat>(&[], "", Some(&body))
            .await
    }

    /// Messages of `room` newer than `after` (a message `seq`), oldest first.
    pub async fn messages(
        &self,
        room: Uuid,
        after: Option<i64>,
        limit: u32,
    ) -> Result<ChatMessagePage> {
        let mut query = format!("room_id={room}&limit={limit}");
        if let Some(a) = after {
            query.push_str(&format!("&after={a}"));
        }
        self.call::<endpoint::Messages>(&[], &query, None).await
    }

    /// One page of `room`'s history: messages older than `before` (a message `seq`), oldest
    /// first; the page's `previous_cursor` is set while there are still older ones.
    pub async fn older_messages(
        &self,
        room: Uuid,
        before: i64,
        limit: u32,
    ) -> Result<ChatMessagePage> {
        let query = format!("room_id={room}&before={before}&limit={limit}");
        self.call::<endpoint::Messages>(&[], &query, None).await
    }

    /// Sends a message; with a `client_id`, a retry returns the first message instead of a copy.
    pub async fn send_message(&self, req: &SendMessage) -> Result<ChatMessage> {
        self.call::<endpoint::SendMessage>(&[], "", Some(req)).await
    }

    pub async fn mark_room_read(&self, room: Uuid) -> Result<MarkReadResult> {
        self.call::<endpoint::MarkRoomRead>(&[&room], "", None)
            .await
    }

    /// Tells the server the caller left (sign-out): others stop seeing them online at once.
    pub async fn mark_offline(&self) -> Result<kintara_api::OfflineResult> {
        self.call::<endpoint::MarkOffline>(&[], "", None).await
    }

    pub async fn heartbeat(&self, room: Option<Uuid>) -> Result<HeartbeatResult> {
        let body = Heartbeat {
            room_id: room,
            timestamp: None,
        };
        self.call::<endpoint::Heartbeat>(&[], "", Some(&body)).await
    }

    /// Tells the room's others that the caller is typing (lasts a few seconds) or stopped.
    pub async fn typing(&self, room: Uuid, is_typing: bool) -> Result<TypingResult> {
        let body = TypingRequest { is_typing };
        self.call::<endpoint::Typing>(&[&room], "", Some(&body))
            .await
    }

    /// People who share a room with the caller and are online now.
    pub async fn online_users(&self) -> Result<OnlineUsers> {
        self.call::<endpoint::OnlineUsers>(&[], "", None).await
    }

    /// What the caller shares in chat: read receipts, typing, presence.
    pub async fn chat_settings(&self) -> Result<ChatSettings> {
        self.call::<endpoint::GetChatSettings>(&[], "", None).await
    }

    /// Saves what the caller shares in chat.
    pub async fn put_chat_settings(&self, settings: &ChatSettings) -> Result<ChatSettings> {
        self.call::<endpoint::PutChatSettings>(&[], "", Some(settings))
            .await
    }

    // ---- the case workflow ----

    pub async fn accept_assignment(
        &self,
        incident: Uuid,
        notes: Option<String>,
    ) -> Result<CaseView> {
        let body = AcceptRequest { notes };
        self.call::<endpoint::Accept>(&[&incident], "", Some(&body))
            .await
    }

    pub async fn reject_assignment(&self, incident: Uuid, reason: String) -> Result<CaseView> {
        let body = RejectRequest { reason };
        self.call::<endpoint::Reject>(&[&incident], "", Some(&body))
            .await
    }

    pub async fn update_case_status(
        &self,
        incident: Uuid,
        req: &StatusUpdateRequest,
    ) -> Result<CaseView> {
        self.call::<endpoint::UpdateStatus>(&[&incident], "", Some(req))
            .await
    }

    /// Dispatchers: offer a case to providers.
    pub async fn assign(&self, incident: Uuid, req: &AssignRequest) -> Result<CaseView> {
        self.call::<endpoint::Assign>(&[&incident], "", Some(req))
            .await
    }

    /// Providers: the cases offered to or accepted by the caller.
    pub async fn assigned_cases(&self) -> Result<Vec<CaseView>> {
        self.call::<endpoint::AssignedCases>(&[], "", None).await
    }

    /// Dispatchers: live counts for the dashboard.
    pub async fn dashboard(&self) -> Result<DashboardStats> {
        self.call::<endpoint::Dashboard>(&[], "", None).await
    }

    /// Dispatchers: every case, newest first; `status` filters (e.g. the queue).
    pub async fn dispatch_cases(&self, status: Option<&str>) -> Result<Vec<CaseView>> {
        let query = status.map(|s| format!("status={s}")).unwrap_or_default();
        self.call::<endpoint::Cases>(&[], &query, None).await
    }

    pub async fn dispatch_providers(&self) -> Result<Vec<DirectoryProvider>> {
        self.call::<endpoint::Providers>(&[], "", None).await
    }

    /// Providers suited to a case, best first.
    pub async fn recommendations(&self, incident: Uuid) -> Result<Vec<ProviderSuggestion>> {
        self.call::<endpoint::Recommendations>(&[&incident], "", None)
            .await
    }

    /// Dispatchers: move a case to another provider, with a reason.
    pub async fn reassign(&self, incident: Uuid, req: &ReassignRequest) -> Result<CaseView> {
        self.call::<endpoint::Reassign>(&[&incident], "", Some(req))
            .await
    }

    /// Dispatchers: close a completed case, or reopen a closed one, with a reason.
    pub async fn decide_case(
        &self,
        incident: Uuid,
        decision: kintara_api::app::CaseDecision,
        req: &kintara_api::CaseDecisionRequest,
    ) -> Result<CaseView> {
        use kintara_api::app::CaseDecision::*;
        match decision {
            Close => {
                self.call::<endpoint::CloseCase>(&[&incident], "", Some(req))
                    .await
            }
            Reopen => {
                self.call::<endpoint::ReopenCase>(&[&incident], "", Some(req))
                    .await
            }
        }
    }

    /// Providers: the caller's availability for new cases as the server has it.
    pub async fn availability(&self) -> Result<DirectoryProvider> {
        self.call::<endpoint::GetAvailability>(&[], "", None).await
    }

    /// Providers: turn the caller's availability for new cases on or off.
    pub async fn set_availability(&self, available: bool) -> Result<DirectoryProvider> {
        let body = AvailabilityRequest {
            is_currently_available: available,
        };
        self.call::<endpoint::SetAvailability>(&[], "", Some(&body))
            .await
    }

    // ---- push devices ----

    /// Registers this device's push token for the session (registering again is harmless).
    pub async fn register_device(&self, req: &DeviceRegistration) -> Result<Device> {
        self.call::<endpoint::RegisterDevice>(&[], "", Some(req))
            .await
    }

    // ---- notifications ----

    /// One page of the feed, newest first; `page` counts from 1.
    pub async fn notifications(&self, page: u32) -> Result<NotificationPage> {
        self.call::<endpoint::Notifications>(&[], &format!("page={}", page.max(1)), None)
            .await
    }

    pub async fn unread_notifications(&self) -> Result<UnreadCount> {
        self.call::<endpoint::UnreadCount>(&[], "", None).await
    }

    pub async fn mark_notification_read(&self, id: Uuid) -> Result<MarkedOne> {
        self.call::<endpoint::MarkNotificationRead>(&[&id], "", None)
            .await
    }

    pub async fn mark_all_notifications_read(&self) -> Result<MarkedAll> {
        self.call::<endpoint::MarkAllNotificationsRead>(&[], "", None)
            .await
    }

    /// The channels of each type, and those the server can carry.
    pub async fn notification_preferences(&self) -> Result<NotificationPreferences> {
        self.call::<endpoint::GetNotificationPreferences>(&[], "", None)
            .await
    }

    pub async fn put_notification_preferences(
        &self,
        prefs: &NotificationPreferences,
    ) -> Result<NotificationPreferences> {
        self.call::<endpoint::PutNotificationPreferences>(&[], "", Some(prefs))
            .await
    }

    /// A test notification on every channel the caller chose.
    pub async fn send_test_notification(&self) -> Result<Notification> {
        self.call::<endpoint::SendTestNotification>(&[], "", None)
            .await
    }

    /// How each delivery lane is doing (admins).
    pub async fn delivery_health(&self) -> Result<DeliveryHealth> {
        self.call::<endpoint::AdminDeliveries>(&[], "", None).await
    }

    // ---- realtime ----

    /// The caller's frames after `since`, waiting up to `timeout` for some (the long-poll).
    pub async fn poll_events(&self, since: Cursor, timeout: Duration) -> Result<EventsPage> {
        let path = format!(
            "{}?since={since}&timeout={}",
            endpoint::Events::path(&[]),
            timeout.as_secs()
        );
        // The request may take the whole wait: give it that plus the usual margin.
        let access = self.access_token()?;
        let attempt = |access: String| {
            self.request(method::<endpoint::Events>(), &path)
                .bearer_auth(access)
                .timeout(timeout + REQUEST_TIMEOUT)
                .send()
        };
        let resp = attempt(access.clone()).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return decode(resp).await;
        }
        self.refresh_after(&access).await?;
        let resp = attempt(self.access_token()?).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            self.forget_session()?;
            return Err(CoreError::LoggedOut("session ended".into()));
        }
        decode(resp).await
    }

    /// The access token to open a socket with (the socket cannot refresh by itself).
    pub fn access_token_for_socket(&self) -> Result<String> {
        self.access_token()
    }

    /// After the socket was refused for an expired token: one shared refresh, as for REST calls.
    pub async fn refresh_expired(&self, failed_access: &str) -> Result<()> {
        self.refresh_after(failed_access).await
    }

    /// The WebSocket address for this server: `ws(s)://host/ws/?since=...` (without the token).
    pub fn socket_url(&self, since: Option<Cursor>) -> Url {
        let mut url = self.url("ws/");
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .expect("ws and wss are valid schemes");
        if let Some(s) = since {
            url.query_pairs_mut().append_pair("since", &s.to_string());
        }
        url
    }

    /// The session ended on the server (a socket closed with `SESSION_ENDED`): forget it here.
    pub fn end_session(&self) -> Result<()> {
        self.forget_session()
    }

    // ---- the authenticated request path ----

    /// Calls endpoint `E` as `kintara_api::endpoint` declares it: its method, its path with
    /// `args` filled in, `query` (without `?`) appended, and a body of its request type.
    fn call<'a, E>(
        &'a self,
        args: &[&(dyn Display + Sync)],
        query: &str,
        body: Option<&'a E::Request>,
    ) -> impl Future<Output = Result<E::Response>> + Send + 'a
    where
        E: Endpoint,
        E::Request: Serialize + Sync,
        E::Response: DeserializeOwned,
    {
        let mut path = E::path(args);
        if !query.is_empty() {
            path.push('?');
            path.push_str(query);
        }
        async move { self.send_authed(method::<E>(), &path, body).await }
    }

    async fn send_authed<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        decode(self.send_authed_raw(method, path, body).await?).await
    }

    async fn send_authed_raw<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Response> {
        let access = self.access_token()?;
        let resp = self.send_with(&method, path, body, &access).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        self.refresh_after(&access).await?;
        let access = self.access_token()?;
        let resp = self.send_with(&method, path, body, &access).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            // A fresh token refused: the account or session is gone.
            let err = decode::<serde_json::Value>(resp).await.err();
            self.forget_session()?;
            return Err(CoreError::LoggedOut(
                err.map(|e| e.to_string())
                    .unwrap_or_else(|| "session ended".into()),
            ));
        }
        Ok(resp)
    }

    async fn send_with<B: Serialize>(
        &self,
        method: &Method,
        path: &str,
        body: Option<&B>,
        access: &str,
    ) -> Result<Response> {
        let mut req = self.request(method.clone(), path).bearer_auth(access);
        if let Some(b) = body {
            req = req.json(b);
        }
        Ok(req.send().await?)
    }

    fn access_token(&self) -> Result<String> {
        self.tokens()
            .map(|t| t.access)
            .ok_or_else(|| CoreError::LoggedOut("not signed in".into()))
    }

    /// Refreshes the session unless another caller already replaced `failed_access`.
    async fn refresh_after(&self, failed_access: &str) -> Result<()> {
        let _guard = self.refresh_lock.lock().await;
        let Some(tokens) = self.tokens() else {
            return Err(CoreError::LoggedOut("not signed in".into()));
        };
        if tokens.access != failed_access {
            return Ok(());
        }
        let resp = self
            .request(method::<endpoint::Refresh>(), &endpoint::Refresh::path(&[]))
            .json(&RefreshRequest {
                refresh: tokens.refresh,
            })
            .send()
            .await?;
        match decode::<RefreshResponse>(resp).await {
            Ok(r) => {
                let mut guard = self.session.lock().expect("not poisoned");
                if let Some(s) = guard.as_mut() {
                    s.tokens = TokenPair {
                        access: r.access,
                        refresh: r.refresh,
                    };
                    self.store.save(s).map_err(|e| CoreError::Storage(e.0))?;
                }
                Ok(())
            }
            // The server refused the refresh token: the session is over for good.
            Err(CoreError::Api {
                status: 401,
                envelope,
                ..
            }) => {
                self.forget_session()?;
                Err(CoreError::LoggedOut(envelope.message))
            }
            Err(e) => Err(e),
        }
    }
}

/// A 2xx body as `T`, or the server's error envelope.
async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T> {
    let status = resp.status();
    let retry_after = retry_after(resp.headers());
    let bytes = resp.bytes().await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| CoreError::Protocol(e.to_string()));
    }
    Err(api_error(status, &bytes, retry_after))
}

/// Success without a body expected.
async fn check(resp: Response) -> Result<()> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(resp.headers());
    let bytes = resp.bytes().await?;
    Err(api_error(status, &bytes, retry_after))
}

/// The `Retry-After` of an answer (seconds form only, capped).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

fn api_error(status: StatusCode, bytes: &[u8], retry_after: Option<Duration>) -> CoreError {
    match serde_json::from_slice::<ErrorEnvelope>(bytes) {
        Ok(envelope) => CoreError::Api {
            status: status.as_u16(),
            envelope,
            retry_after,
        },
        Err(_) => CoreError::Protocol(format!("HTTP {status} without an error envelope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_people_type() {
        assert_eq!(
            parse_base_url("localhost:8000").unwrap().as_str(),
            "http://localhost:8000/"
        );
        assert_eq!(
            parse_base_url(" https://kintara.example/api-root ")
                .unwrap()
                .as_str(),
            "https://kintara.example/api-root/"
        );
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("http://").is_err());
    }

    #[test]
    fn only_loopback_may_go_without_tls() {
        for ok in [
            "http://localhost:8000",
            "http://127.0.0.1:8000",
            "http://127.0.0.2",
            "http://[::1]:8000",
            "http://app.localhost",
            "https://10.0.2.2:8443",
        ] {
            assert!(parse_base_url(ok).is_ok(), "{ok}");
        }
        for plain in [
            "http://kintara.example",
            "http://10.0.2.2:8000",
            "http://192.168.1.20:8000",
            "http://[2001:db8::1]",
            "http://localhost.evil.example",
        ] {
            let err = parse_base_url(plain).unwrap_err();
            assert!(err.to_string().contains("https://"), "{plain}: {err}");
        }
        // Typed without a scheme: TLS unless it is this device.
        assert_eq!(parse_base_url("kintara.example").unwrap().scheme(), "https");
        assert_eq!(parse_base_url("127.0.0.1:8000").unwrap().scheme(), "http");
    }
}
