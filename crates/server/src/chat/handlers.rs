//! `chat/*` endpoints. Handlers parse, check membership (someone else's room or message is
//! "not found"), call `repo`, and shape the answer. Nothing here logs message content.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Duration, Utc};
use kintara_api::endpoint;
use kintara_api::{
    ChatMessage, ChatMessagePage, ChatRoom, ChatRoomList, ChatSettings, CreateDirectChat,
    ErrorEnvelope, Event, Heartbeat, HeartbeatResult, MarkReadResult, MessageDeletedEvent,
    MessageReadEvent, OfflineResult, OnlineUsers, PresenceEvent, Role, RoomType, SendMessage,
    TypingEvent, TypingRequest, TypingResult, DEFAULT_MESSAGE_PAGE, MAX_MESSAGE_PAGE,
    ONLINE_SECONDS, TYPING_SECONDS,
};
use serde::Deserialize;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use uuid::Uuid;

use super::cast::Cast;
use super::repo::{self, Cursor, RoomRow};
use super::ChatError;
use crate::auth::AuthUser;
use crate::client_addr::ClientAddr;
use crate::error::ApiResult;
use crate::events;
use crate::extract::query::{Param, QueryParam};
use crate::extract::{IdPath, ValidJson, ValidQuery};
use crate::limits::Action;
use crate::state::AppState;

async fn room_view(
    conn: &mut AnyConnection,
    viewer: &AuthUser,
    room: &RoomRow,
) -> ApiResult<ChatRoom> {
    let cast = Cast::load(conn, viewer.into(), room).await?;
    let last = repo::last_message(conn, room.id).await?;
    let unread_count =
        repo::count_unread(conn, room.id, viewer.id, room.last_read_seq, None).await?;
    let writable = repo::writable(conn, room, &cast.people).await?;
    let now = Utc::now();
    let others = || cast.people.iter().filter(|p| p.id != viewer.id);
    let name = match (room.kind, &room.case_number) {
        (RoomType::Case, Some(number)) => format!("Case {number}"),
        _ => {
            let names: Vec<String> = others()
                .filter_map(|p| cast.shown.get(&p.id).map(|s| s.full_name.clone()))
                .collect();
            if names.is_empty() {
                "Conversation".into()
            } else {
                names.join(", ")
            }
        }
    };
    Ok(ChatRoom {
        id: room.id,
        room_type: room.kind,
        name,
        incident: room.incident,
        participants: cast
            .people
            .iter()
            .filter_map(|p| cast.shown.get(&p.id).cloned())
            .collect(),
        last_message: last.as_ref().map(|m| cast.message(viewer.id, m)),
        unread_count,
        is_active: room.is_active,
        read_only: !writable,
        typing: others()
            .filter(|p| p.settings.typing_indicators && p.typing_until.is_some_and(|u| u > now))
            .map(|p| p.id)
            .collect(),
        updated_at: room.updated_at,
        created_at: room.created_at,
    })
}

async fn member_room(
    conn: &mut AnyConnection,
    room: Uuid,
    user: Uuid,
) -> Result<RoomRow, ChatError> {
    repo::room_for(conn, room, user)
        .await?
        .ok_or(ChatError::NotFound)
}

/// The caller's rooms, most recently active first.
#[utoipa::path(get, path = endpoint::Rooms::PATH, tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The caller's rooms", body = ChatRoomList)))]
pub async fn rooms(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<ChatRoomList>> {
    let mut conn = state.db.read.acquire().await?;
    let rows = repo::rooms_of(&mut conn, user.id).await?;
    let mut results = Vec::with_capacity(rows.len());
    for r in &rows {
        results.push(room_view(&mut conn, &user, r).await?);
    }
    Ok(Json(ChatRoomList { results }))
}

/// Opens (or returns) the direct room with another user. Allowed between a survivor and a
/// provider on one of her cases, two providers on one case, and a dispatcher and a provider.
#[utoipa::path(post, path = endpoint::CreateDirectChat::PATH, tag = "chat", security(("bearer" = [])),
    request_body = CreateDirectChat,
    responses(
        (status = 201, description = "Created", body = ChatRoom),
        (status = 200, description = "The room already existed", body = ChatRoom),
        (status = 403, description = "No shared case", body = ErrorEnvelope),
        (status = 422, description = "With yourself", body = ErrorEnvelope),
    ))]
pub async fn create_direct_chat(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<CreateDirectChat>,
) -> ApiResult<(StatusCode, Json<ChatRoom>)> {
    if req.user_id == user.id {
        return Err(ChatError::WithSelf.into());
    }
    let mut tx = state.db.begin_write().await?;
    // An unknown user is refused like a stranger, so this cannot probe for accounts.
    let other = repo::active_role(&mut tx, req.user_id)
        .await?
        .ok_or(ChatError::NotAllowed)?;
    let allowed = match (user.role, other) {
        (Role::Survivor, Role::Provider) => {
            repo::survivor_and_provider_share(&mut tx, user.id, req.user_id).await?
        }
        (Role::Provider, Role::Survivor) => {
            repo::survivor_and_provider_share(&mut tx, req.user_id, user.id).await?
        }
        (Role::Provider, Role::Provider) => {
            repo::providers_share(&mut tx, user.id, req.user_id).await?
        }
        (Role::Dispatcher | Role::Admin, Role::Provider)
        | (Role::Provider, Role::Dispatcher | Role::Admin) => true,
        _ => false,
    };
    // Someone she blocked cannot reach her this way either (nor she them).
    if !allowed || super::blocks::between(&mut tx, user.id, req.user_id).await? {
        return Err(ChatError::NotAllowed.into());
    }
    let now = Utc::now();
    let (id, created) = repo::open_direct(&mut tx, user.id, req.user_id, now).await?;
    // Opening it again brings a room the caller hid back to their list.
    repo::set_hidden(&mut tx, id, user.id, None).await?;
    let room = member_room(&mut tx, id, user.id).await?;
    let view = room_view(&mut tx, &user, &room).await?;
    tx.commit().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

/// A dispatcher or admin joins a case's conversation (`{id}` is the case): they read it from its
/// first message and write in it, and everyone in it sees them among its people. The case must
/// exist and its conversation be open (a provider accepted it).
#[utoipa::path(post, path = endpoint::JoinCaseRoom::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Incident id")),
    responses(
        (status = 201, description = "Joined", body = ChatRoom),
        (status = 200, description = "Already in it", body = ChatRoom),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "The case has no conversation yet", body = ErrorEnvelope),
    ))]
pub async fn join_case_room(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(incident): IdPath,
) -> ApiResult<(StatusCode, Json<ChatRoom>)> {
    user.may::<endpoint::JoinCaseRoom>()?;
    let mut tx = state.db.begin_write().await?;
    if crate::incidents::repo::find(&mut tx, incident)
        .await?
        .is_none()
    {
        return Err(ChatError::NotFound.into());
    }
    let room = repo::case_room_of(&mut tx, incident)
        .await?
        .ok_or(ChatError::NoCaseRoomYet)?;
    let joined = repo::join(&mut tx, room, user.id, Utc::now()).await?;
    let row = member_room(&mut tx, room, user.id).await?;
    let view = room_view(&mut tx, &user, &row).await?;
    tx.commit().await?;
    let status = if joined {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

/// Leaves a room. A direct room disappears from the caller's list until a new message arrives.
/// Staff who joined a case's conversation leave it for good (they may join again); the survivor
/// and the case's providers stay in theirs (409).
#[utoipa::path(delete, path = endpoint::LeaveRoom::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Room id")),
    responses(
        (status = 204, description = "Left"),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
        (status = 409, description = "A case room the caller belongs to by the case", body = ErrorEnvelope),
    ))]
pub async fn leave_room(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let room = member_room(&mut tx, id, user.id).await?;
    if room.kind == RoomType::Case {
        if !matches!(user.role, Role::Dispatcher | Role::Admin) {
            return Err(ChatError::CaseRoom.into());
        }
        repo::leave(&mut tx, id, user.id).await?;
    } else {
        repo::set_hidden(&mut tx, id, user.id, Some(Utc::now())).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct MessagesQuery {
    /// The room (required).
    pub room_id: Option<String>,
    /// Older than this cursor (a message's `seq`).
    pub before: Option<String>,
    /// Newer than this cursor.
    pub after: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<String>,
}

/// How `MessagesQuery` is read.
pub const MESSAGES_QUERY: [QueryParam; 4] = [
    QueryParam::required("room_id", Param::Id),
    QueryParam::optional("before", Param::Cursor),
    QueryParam::optional("after", Param::Cursor),
    QueryParam::optional("limit", Param::Number(MAX_MESSAGE_PAGE)),
];

/// A room's messages, oldest first: the newest page by default, or older than `before`, or newer
/// than `after` (between the two when both are given).
#[utoipa::path(get, path = endpoint::Messages::PATH, tag = "chat", security(("bearer" = [])),
    params(MessagesQuery),
    responses(
        (status = 200, description = "A page of messages", body = ChatMessagePage),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
        (status = 422, description = "Invalid parameters", body = ErrorEnvelope),
    ))]
pub async fn messages(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<MessagesQuery>,
) -> ApiResult<Json<ChatMessagePage>> {
    let [room_id, before, after, limit] = MESSAGES_QUERY;
    let room_id = room_id
        .id(q.room_id.as_deref())?
        .expect("a required parameter is there");
    let before = before.cursor(q.before.as_deref())?;
    let after = after.cursor(q.after.as_deref())?;
    let limit = limit
        .number(q.limit.as_deref())?
        .map_or(DEFAULT_MESSAGE_PAGE, |n| n as u32);
    let cursor = match (before, after) {
        (Some(b), Some(a)) => Cursor::Between(a, b),
        (Some(b), None) => Cursor::Before(b),
        (None, Some(a)) => Cursor::After(a),
        (None, None) => Cursor::Latest,
    };
    let mut conn = state.db.read.acquire().await?;
    let room = member_room(&mut conn, room_id, user.id).await?;
    let (rows, older, newer) = repo::page(&mut conn, room.id, cursor, limit).await?;
    let cast = Cast::load(&mut conn, (&user).into(), &room).await?;
    let url = |dir: &str, seq: i64| {
        format!(
            "{}?room_id={room_id}&{dir}={seq}&limit={limit}",
            endpoint::Messages::PATH
        )
    };
    let previous_cursor = rows.first().filter(|_| older).map(|m| m.seq.to_string());
    let next_cursor = rows.last().filter(|_| newer).map(|m| m.seq.to_string());
    Ok(Json(ChatMessagePage {
        results: rows.iter().map(|m| cast.message(user.id, m)).collect(),
        next: rows.last().filter(|_| newer).map(|m| url("after", m.seq)),
        previous: rows.first().filter(|_| older).map(|m| url("before", m.seq)),
        next_cursor,
        previous_cursor,
    }))
}

/// Sends a message. A retry with the same `client_id` returns the first message (200) and
/// stores nothing new.
#[utoipa::path(post, path = endpoint::SendMessage::PATH, tag = "chat", security(("bearer" = [])),
    request_body = SendMessage,
    responses(
        (status = 201, description = "Sent", body = ChatMessage),
        (status = 200, description = "Already sent with this client_id", body = ChatMessage),
        (status = 403, description = "Someone in the room blocked the sender", body = ErrorEnvelope),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
        (status = 409, description = "The room is read-only (its case is closed, or a direct room whose people no longer share a case)", body = ErrorEnvelope),
        (status = 422, description = "Invalid content", body = ErrorEnvelope),
    ))]
pub async fn send(
    State(state): State<AppState>,
    user: AuthUser,
    ClientAddr(addr): ClientAddr,
    ValidJson(req): ValidJson<SendMessage>,
) -> ApiResult<(StatusCode, Json<ChatMessage>)> {
    state.limits.account(Action::Message, user.id, addr)?;
    let (status, view) = state.sends.send(user, req).await?;
    Ok((status, Json(view)))
}

/// Everyone in the room but `user`: who gets `user`'s read and typing frames.
async fn others_in(conn: &mut AnyConnection, room: Uuid, user: Uuid) -> ApiResult<Vec<Uuid>> {
    Ok(repo::participants(conn, room)
        .await?
        .into_iter()
        .map(|p| p.id)
        .filter(|id| *id != user)
        .collect())
}

/// Deletes one of the caller's messages: it keeps its place, shown as deleted, without content.
#[utoipa::path(delete, path = endpoint::DeleteMessage::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Someone else's message", body = ErrorEnvelope),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
    ))]
pub async fn delete_message(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let m = repo::message(&mut tx, id)
        .await?
        .ok_or(ChatError::NotFound)?;
    member_room(&mut tx, m.room, user.id).await?;
    if m.sender != Some(user.id) {
        return Err(ChatError::NotSender.into());
    }
    repo::soft_delete(&mut tx, id, Utc::now()).await?;
    // Deleted means deleted: the text leaves every log it was copied to, and open clients are
    // told to drop it (the sender's other devices too).
    let everyone: Vec<Uuid> = repo::participants(&mut tx, m.room)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let deleted = Event::MessageDeleted(MessageDeletedEvent {
        room: m.room,
        message_id: id,
    });
    repo::purge_message_frames(&mut tx, &everyone, &deleted, id).await?;
    events::append_all(&mut tx, everyone, &deleted).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn mark_read_to(
    state: &AppState,
    user: &AuthUser,
    room: Uuid,
    seq: Option<i64>,
) -> ApiResult<MarkReadResult> {
    let mut tx = state.db.begin_write().await?;
    let r = member_room(&mut tx, room, user.id).await?;
    let target = seq.unwrap_or(r.last_seq).min(r.last_seq);
    let updated_count = if target > r.last_read_seq {
        repo::count_unread(&mut tx, room, user.id, r.last_read_seq, Some(target)).await?
    } else {
        0
    };
    repo::advance_read(&mut tx, room, user.id, target, Utc::now()).await?;
    // Receipts go out only when the position moved and the reader shares them.
    let shares = repo::settings(&mut tx, user.id)
        .await?
        .is_some_and(|s| s.read_receipts);
    if target > r.last_read_seq && shares {
        let event = Event::MessageRead(MessageReadEvent {
            room,
            user_id: user.id,
            last_read_seq: target,
        });
        let others = others_in(&mut tx, room, user.id).await?;
        events::append_all(&mut tx, others, &event).await?;
    }
    tx.commit().await?;
    Ok(MarkReadResult {
        message: "Marked as read.".into(),
        room,
        updated_count,
        last_read_seq: target.max(r.last_read_seq),
    })
}

/// Marks everything in the room read for the caller.
#[utoipa::path(post, path = endpoint::MarkRoomRead::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Room id")),
    responses(
        (status = 200, description = "Read position moved", body = MarkReadResult),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
    ))]
pub async fn mark_room_read(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<MarkReadResult>> {
    state.limits.per_account(Action::MarkRead, user.id)?;
    Ok(Json(mark_read_to(&state, &user, id, None).await?))
}

/// Marks the room read up to this message (never moves the read position back).
#[utoipa::path(post, path = endpoint::MarkMessageRead::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses(
        (status = 200, description = "Read position moved", body = MarkReadResult),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
    ))]
pub async fn mark_message_read(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<MarkReadResult>> {
    state.limits.per_account(Action::MarkRead, user.id)?;
    let m = repo::message(&mut *state.db.read.acquire().await?, id)
        .await?
        .ok_or(ChatError::NotFound)?;
    Ok(Json(
        mark_read_to(&state, &user, m.room, Some(m.seq)).await?,
    ))
}

/// Reports typing; it lasts 6 seconds unless repeated. Ignored when the caller does not share
/// typing.
#[utoipa::path(post, path = endpoint::Typing::PATH, tag = "chat", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Room id")),
    request_body = TypingRequest,
    responses(
        (status = 200, description = "What others see", body = TypingResult),
        (status = 403, description = "Someone in the room blocked the sender", body = ErrorEnvelope),
        (status = 404, description = "Not a participant", body = ErrorEnvelope),
        (status = 409, description = "The room is read-only", body = ErrorEnvelope),
    ))]
pub async fn typing(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ValidJson(req): ValidJson<TypingRequest>,
) -> ApiResult<Json<TypingResult>> {
    state.limits.per_account(Action::Typing, user.id)?;
    let mut tx = state.db.begin_write().await?;
    let room = member_room(&mut tx, id, user.id).await?;
    let people = repo::participants(&mut tx, room.id).await?;
    if !repo::writable(&mut tx, &room, &people).await? {
        return Err(ChatError::ReadOnly.into());
    }
    if super::blocks::sender_blocked_in(&mut tx, room.id, user.id).await? {
        return Err(ChatError::Blocked.into());
    }
    let shares = repo::settings(&mut tx, user.id)
        .await?
        .is_some_and(|s| s.typing_indicators);
    let until = (req.is_typing && shares).then(|| Utc::now() + Duration::seconds(TYPING_SECONDS));
    repo::set_typing(&mut tx, id, user.id, until).await?;
    // Someone who does not share typing sends no frames at all, not even "stopped".
    if shares {
        let event = Event::Typing(TypingEvent {
            room: id,
            user_id: user.id,
            is_typing: until.is_some(),
            until,
        });
        let others = others_in(&mut tx, id, user.id).await?;
        events::append_all(&mut tx, others, &event).await?;
    }
    tx.commit().await?;
    Ok(Json(TypingResult {
        is_typing: until.is_some(),
        until,
    }))
}

/// Keeps the caller online; `room_id` names the room on screen (no notifications for it).
#[utoipa::path(post, path = endpoint::Heartbeat::PATH, tag = "chat", security(("bearer" = [])),
    request_body = Heartbeat,
    responses(
        (status = 200, description = "Recorded", body = HeartbeatResult),
        (status = 404, description = "Not a participant of room_id", body = ErrorEnvelope),
    ))]
pub async fn heartbeat(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<Heartbeat>,
) -> ApiResult<Json<HeartbeatResult>> {
    state.limits.per_account(Action::Heartbeat, user.id)?;
    let now = Utc::now();
    let mut tx = state.db.begin_write().await?;
    if let Some(room) = req.room_id {
        member_room(&mut tx, room, user.id).await?;
        repo::mark_reading(&mut tx, room, user.id, now).await?;
    }
    set_presence(&mut tx, &user, now, true).await?;
    tx.commit().await?;
    Ok(Json(HeartbeatResult {
        status: "success".into(),
        last_activity: now,
    }))
}

/// Records the caller's activity (or sign-off). When that changes whether they count as online,
/// and they share their presence, everyone in a room with them gets a `presence` frame.
async fn set_presence(
    conn: &mut AnyConnection,
    user: &AuthUser,
    now: chrono::DateTime<Utc>,
    online: bool,
) -> ApiResult<()> {
    let online_since = now - Duration::seconds(ONLINE_SECONDS);
    let was_online = repo::touch_presence(conn, user.id, now, online, online_since).await?;
    if was_online == online {
        return Ok(());
    }
    let shares = repo::settings(conn, user.id)
        .await?
        .is_some_and(|s| s.presence);
    if shares {
        let event = Event::Presence(PresenceEvent {
            user_id: user.id,
            online,
            last_seen_at: now,
        });
        let mates = repo::room_mates(conn, user.id).await?;
        events::append_all(conn, mates, &event).await?;
    }
    Ok(())
}

/// People who share a room with the caller, are online, and share their presence.
#[utoipa::path(get, path = endpoint::OnlineUsers::PATH, tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Online user ids", body = OnlineUsers)))]
pub async fn online_users(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<OnlineUsers>> {
    let since = Utc::now() - Duration::seconds(ONLINE_SECONDS);
    let online_users =
        repo::online_with(&mut *state.db.read.acquire().await?, user.id, since).await?;
    Ok(Json(OnlineUsers { online_users }))
}

/// Signs the caller off: offline at once, reading no room, typing nowhere.
#[utoipa::path(post, path = endpoint::MarkOffline::PATH, tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Offline", body = OfflineResult)))]
pub async fn mark_offline(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<OfflineResult>> {
    let mut tx = state.db.begin_write().await?;
    set_presence(&mut tx, &user, Utc::now(), false).await?;
    tx.commit().await?;
    Ok(Json(OfflineResult {
        status: "offline".into(),
    }))
}

/// What the caller lets others see (survivors start with everything off).
#[utoipa::path(get, path = endpoint::GetChatSettings::PATH, tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The caller's chat settings", body = ChatSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<ChatSettings>> {
    let s = repo::settings(&mut *state.db.read.acquire().await?, user.id)
        .await?
        .unwrap_or_else(|| ChatSettings::defaults_for(user.role));
    Ok(Json(s))
}

#[utoipa::path(put, path = endpoint::PutChatSettings::PATH, tag = "chat", security(("bearer" = [])),
    request_body = ChatSettings,
    responses(
        (status = 200, description = "Saved", body = ChatSettings),
        (status = 422, description = "Invalid body", body = ErrorEnvelope),
    ))]
pub async fn put_settings(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(req): ValidJson<ChatSettings>,
) -> ApiResult<Json<ChatSettings>> {
    let mut tx = state.db.begin_write().await?;
    repo::put_settings(&mut tx, user.id, req, Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(req))
}
