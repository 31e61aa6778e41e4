//! `notifications/*` endpoints. Every query is scoped to the caller: another user's
//! notification does not exist for them.

use axum::extract::State;
use axum::Json;
use kintara_api::endpoint;
use kintara_api::{
    Channel, ChannelPreference, ErrorEnvelope, MarkedAll, MarkedOne, Notification,
    NotificationPage, NotificationParams, NotificationPreferences, NotificationType, Priority,
    UnreadCount, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::repo::{self, Filter};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::query::{Param, QueryParam};
use crate::extract::{IdPath, ValidJson, ValidQuery};
use crate::openapi::MAX_PAGE;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `true` or `false`.
    pub is_read: Option<String>,
    pub notification_type: Option<String>,
    /// Only notifications about this incident.
    pub incident: Option<String>,
    /// From 1.
    pub page: Option<String>,
    /// 1 to 100, default 20.
    pub page_size: Option<String>,
}

struct Parsed {
    filter: Filter,
    page: u32,
    page_size: u32,
}

const IS_READ: QueryParam = QueryParam::optional("is_read", Param::Flag);
const TYPE: QueryParam =
    QueryParam::optional("notification_type", Param::Choice(NotificationType::WIRE));
const INCIDENT: QueryParam = QueryParam::optional("incident", Param::Id);
const PAGE: QueryParam = QueryParam::optional("page", Param::Number(MAX_PAGE));
const PAGE_SIZE: QueryParam = QueryParam::optional("page_size", Param::Number(MAX_PAGE_SIZE));
/// The feed's query, as `ListQuery` reads it.
pub const QUERY: &[QueryParam] = &[IS_READ, TYPE, INCIDENT, PAGE, PAGE_SIZE];

fn parse(q: &ListQuery) -> ApiResult<Parsed> {
    Ok(Parsed {
        filter: Filter {
            is_read: IS_READ.flag(q.is_read.as_deref())?,
            kind: TYPE.choice(q.notification_type.as_deref(), NotificationType::parse)?,
            incident: INCIDENT.id(q.incident.as_deref())?,
        },
        page: PAGE.number(q.page.as_deref())?.map_or(1, |n| n as u32),
        page_size: PAGE_SIZE
            .number(q.page_size.as_deref())?
            .map_or(DEFAULT_PAGE_SIZE, |n| n as u32),
    })
}

fn page_url(p: &Parsed, page: u32) -> String {
    let mut parts = vec![format!("page={page}"), format!("page_size={}", p.page_size)];
    if let Some(r) = p.filter.is_read {
        parts.push(format!("is_read={r}"));
    }
    if let Some(k) = p.filter.kind {
        parts.push(format!("notification_type={k}"));
    }
    if let Some(i) = p.filter.incident {
        parts.push(format!("incident={i}"));
    }
    format!("{}?{}", endpoint::Notifications::PATH, parts.join("&"))
}

async fn list_page(state: &AppState, user: &AuthUser, p: Parsed) -> ApiResult<NotificationPage> {
    let (count, results) = repo::page(
        &mut *state.db.read.acquire().await?,
        user.id,
        &p.filter,
        p.page,
        p.page_size,
    )
    .await?;
    let last_page = ((count as u64).div_ceil(p.page_size as u64)).max(1) as u32;
    Ok(NotificationPage {
        count,
        next: (p.page < last_page).then(|| page_url(&p, p.page + 1)),
        previous: (p.page > 1).then(|| page_url(&p, (p.page - 1).min(last_page))),
        results,
    })
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = endpoint::Notifications::PATH, tag = "notifications", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 422, description = "Invalid filter", body = ErrorEnvelope),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<ListQuery>,
) -> ApiResult<Json<NotificationPage>> {
    Ok(Json(list_page(&state, &user, parse(&q)?).await?))
}

/// The caller's unread notifications (the same as `?is_read=false`).
#[utoipa::path(get, path = endpoint::UnreadNotifications::PATH, tag = "notifications", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of unread notifications", body = NotificationPage)))]
pub async fn unread(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<ListQuery>,
) -> ApiResult<Json<NotificationPage>> {
    let mut p = parse(&q)?;
    p.filter.is_read = Some(false);
    Ok(Json(list_page(&state, &user, p).await?))
}

/// How many unread, in all and per type: the bell's badge.
#[utoipa::path(get, path = endpoint::UnreadCount::PATH, tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "Unread counts", body = UnreadCount)))]
pub async fn unread_count(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<UnreadCount>> {
    let by_type = repo::unread_by_type(&mut *state.db.read.acquire().await?, user.id).await?;
    Ok(Json(UnreadCount {
        count: by_type.values().sum(),
        by_type,
    }))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(post, path = endpoint::MarkNotificationRead::PATH, tag = "notifications", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Notification id")),
    responses(
        (status = 200, description = "Marked read", body = MarkedOne),
        (status = 404, description = "No such notification of yours", body = ErrorEnvelope),
    ))]
pub async fn mark_as_read(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<MarkedOne>> {
    let mut tx = state.db.begin_write().await?;
    let notification = repo::mark_read(&mut tx, user.id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    Ok(Json(MarkedOne {
        message: "Notification marked as read".into(),
        notification,
    }))
}

/// Mark all the caller's unread notifications read, optionally only of one type or incident.
#[utoipa::path(post, path = endpoint::MarkAllNotificationsRead::PATH, tag = "notifications", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "How many were marked", body = MarkedAll)))]
pub async fn mark_all_as_read(
    State(state): State<AppState>,
    user: AuthUser,
    ValidQuery(q): ValidQuery<ListQuery>,
) -> ApiResult<Json<MarkedAll>> {
    let p = parse(&q)?;
    let mut tx = state.db.begin_write().await?;
    let count = repo::mark_all_read(&mut tx, user.id, &p.filter).await?;
    tx.commit().await?;
    Ok(Json(MarkedAll {
        message: format!("{count} notification(s) marked as read"),
        count,
    }))
}

/// The types a user chooses channels for (a test goes wherever any of them does).
fn chosen_types() -> impl Iterator<Item = NotificationType> {
    NotificationType::ALL
        .iter()
        .copied()
        .filter(|k| *k != NotificationType::Test)
}

async fn load_preferences(state: &AppState, user: &AuthUser) -> ApiResult<NotificationPreferences> {
    let mut conn = state.db.read.acquire().await?;
    let mut preferences = Vec::new();
    for kind in chosen_types() {
        let channels = repo::preference(&mut conn, user.id, kind).await?;
        preferences.push(ChannelPreference {
            notification_type: kind,
            channels,
        });
    }
    let lanes = crate::delivery::outbox::lanes(&mut conn).await?;
    let offered = Channel::ALL
        .iter()
        .copied()
        .filter(|c| *c == Channel::Websocket || lanes.iter().any(|l| l.channel() == *c))
        .collect();
    Ok(NotificationPreferences {
        preferences,
        offered,
    })
}

/// Send me a test: one notification on every channel the caller chose for any type. Limited
/// per account: each one may cost a paid message (WhatsApp) and lands on a phone.
#[utoipa::path(post, path = endpoint::SendTestNotification::PATH, tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 201, description = "Made; its channels are `pending` where it goes out, `skipped` (and why) elsewhere", body = Notification),
        (status = 429, description = "Too many tests", body = ErrorEnvelope),
    ))]
pub async fn send_test(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<(axum::http::StatusCode, Json<Notification>)> {
    state
        .limits
        .per_account(crate::limits::Action::TestNotification, user.id)?;
    let mut tx = state.db.begin_write().await?;
    let mut chosen: Vec<Channel> = Vec::new();
    for kind in chosen_types() {
        for c in repo::preference(&mut tx, user.id, kind).await? {
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
    }
    let draft = super::Draft {
        recipient: user.id,
        kind: NotificationType::Test,
        priority: Priority::Normal,
        subject: kintara_i18n::text(kintara_i18n::Lang::En, "notif.test_title").into(),
        message: kintara_i18n::text(kintara_i18n::Lang::En, "notif.test_body").into(),
        params: NotificationParams::default(),
        incident: None,
        conversation: None,
    };
    let reach = crate::delivery::plan::Reach::load(&mut tx, &[user.id]).await?;
    let mut stored = super::Stored::default();
    stored.add(super::to_store(&draft, Some(&chosen), &reach));
    super::store(&mut tx, &stored).await?;
    tx.commit().await?;
    let n = stored.notifications.remove(0);
    Ok((axum::http::StatusCode::CREATED, Json(n)))
}

/// The channels each event type goes to (the in-app feed always keeps every notification).
#[utoipa::path(get, path = endpoint::GetNotificationPreferences::PATH, tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "Per-type channels", body = NotificationPreferences)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<NotificationPreferences>> {
    Ok(Json(load_preferences(&state, &user).await?))
}

/// Choose the channels of some event types; types not named keep their setting.
#[utoipa::path(put, path = endpoint::PutNotificationPreferences::PATH, tag = "notifications", security(("bearer" = [])),
    request_body = NotificationPreferences,
    responses(
        (status = 200, description = "The preferences now", body = NotificationPreferences),
        (status = 422, description = "Invalid", body = ErrorEnvelope),
    ))]
pub async fn put_preferences(
    State(state): State<AppState>,
    user: AuthUser,
    ValidJson(body): ValidJson<NotificationPreferences>,
) -> ApiResult<Json<NotificationPreferences>> {
    let mut tx = state.db.begin_write().await?;
    for p in &body.preferences {
        repo::set_preference(&mut tx, user.id, p.notification_type, &p.channels).await?;
    }
    tx.commit().await?;
    Ok(Json(load_preferences(&state, &user).await?))
}
