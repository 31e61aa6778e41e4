//! The HTTP surface: every route with its OpenAPI description, and the fallbacks that keep even
//! unknown paths inside the error envelope.

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin;
use crate::auth::handlers as auth;
use crate::chat::blocks;
use crate::chat::handlers as chat;
use crate::delivery::webhook;
use crate::devices;
use crate::error::ApiError;
use crate::events::handlers as events;
use crate::evidence::handlers as evidence;
use crate::extract::MAX_JSON_BODY;
use crate::incidents::handlers as incidents;
use crate::notifications::handlers as notifications;
use crate::state::AppState;
use crate::workflow::{dispatch, provider};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kintara API", description = "Survivors, providers and dispatchers of GBV cases."),
    modifiers(&BearerAuth),
    components(schemas(kintara_api::CasePage)),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "admin", description = "Account verification, suspension and the audit log"),
        (name = "incidents", description = "Survivors' reports"),
        (name = "providers", description = "Providers' cases and availability"),
        (name = "dispatch", description = "Triage and assignment"),
        (name = "notifications", description = "The notification feed"),
        (name = "devices", description = "Push tokens"),
        (name = "evidence", description = "Photos, voice recordings and documents of a case"),
        (name = "chat", description = "Case and direct conversations, presence"),
        (name = "events", description = "Realtime frames by long-poll, from the per-user event log"),
        (name = "webhooks", description = "Delivery services reporting back (signed by them)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::update_me))
        .routes(routes!(auth::health))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::end_session))
        .routes(routes!(auth::revoke_other_sessions))
        // Administration.
        .routes(routes!(admin::list_users, admin::create_staff))
        .routes(routes!(admin::verify))
        .routes(routes!(admin::suspend))
        .routes(routes!(admin::disable))
        .routes(routes!(admin::reinstate))
        .routes(routes!(admin::audit_log))
        .routes(routes!(crate::delivery::health::get))
        .routes(routes!(incidents::create, incidents::list))
        .routes(routes!(incidents::get, incidents::patch, incidents::delete))
        .routes(routes!(incidents::timeline))
        // The case workflow.
        .routes(routes!(provider::assigned_cases))
        .routes(routes!(provider::accept))
        .routes(routes!(provider::reject))
        .routes(routes!(provider::update_status))
        .routes(routes!(
            provider::get_availability,
            provider::set_availability
        ))
        .routes(routes!(dispatch::dashboard))
        .routes(routes!(dispatch::cases))
        .routes(routes!(dispatch::case))
        .routes(routes!(dispatch::assign))
        .routes(routes!(dispatch::reassign))
        .routes(routes!(dispatch::close))
        .routes(routes!(dispatch::reopen))
        .routes(routes!(dispatch::providers))
        .routes(routes!(dispatch::recommendations))
        // The notification feed and push devices.
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::unread))
        .routes(routes!(notifications::unread_count))
        .routes(routes!(notifications::mark_as_read))
        .routes(routes!(notifications::mark_all_as_read))
        .routes(routes!(
            notifications::get_preferences,
            notifications::put_preferences
        ))
        .routes(routes!(notifications::send_test))
        .routes(routes!(devices::register))
        .routes(routes!(devices::remove))
        // Evidence. Only the upload takes a large body; the global limit stays at the JSON size.
        .routes({
            let (schemas, paths, method) = routes!(evidence::upload, evidence::list);
            let limit = DefaultBodyLimit::max(crate::evidence::MAX_UPLOAD_BODY);
            (schemas, paths, method.layer(limit))
        })
        .routes(routes!(evidence::download))
        .routes(routes!(evidence::delete))
        // Chat.
        .routes(routes!(chat::rooms))
        .routes(routes!(chat::create_direct_chat))
        .routes(routes!(chat::leave_room))
        .routes(routes!(chat::join_case_room))
        .routes(routes!(chat::messages, chat::send))
        .routes(routes!(chat::delete_message))
        .routes(routes!(chat::mark_room_read))
        .routes(routes!(chat::mark_message_read))
        .routes(routes!(chat::typing))
        .routes(routes!(chat::heartbeat))
        .routes(routes!(chat::online_users))
        .routes(routes!(chat::mark_offline))
        .routes(routes!(chat::get_settings, chat::put_settings))
        .routes(routes!(blocks::list, blocks::block))
        .routes(routes!(blocks::unblock))
        // Realtime.
        .routes(routes!(events::poll))
        // Delivery services reporting back.
        .routes({
            let (schemas, paths, method) = routes!(webhook::check, webhook::receive);
            let limit = DefaultBodyLimit::max(webhook::MAX_BODY);
            (schemas, paths, method.layer(limit))
        })
}

/// The OpenAPI document, as checked into `gen/openapi.json`: what the handlers describe,
/// completed by `crate::openapi::contract`.
pub fn openapi() -> serde_json::Value {
    crate::openapi::contract(api().split_for_parts().1)
}

pub fn router(state: AppState) -> Router {
    let (router, _) = api().split_for_parts();
    router
        // The WebSocket has no OpenAPI description; its protocol is `kintara_api::socket`.
        .merge(crate::socket::routes())
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::from(kintara_api::Refusal::MethodNotAllowed {})
        })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        // Wakes the users whose event logs a request wrote, after its handler (and so its
        // transaction) finished: nothing is published before commit.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::events::publish_after_commit,
        ))
        // Spans name the route pattern, never the raw URI: ids and query strings stay out of logs.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "unmatched".into());
            tracing::info_span!("http", method = %req.method(), route)
        }))
        .with_state(state)
}
