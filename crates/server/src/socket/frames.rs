//! Client frames: each is validated by the same rules and carried out by the same handler as its
//! REST call, inside an event collector so that the frames it writes are published only after its
//! transaction committed. The answer is an `ack` with what REST would have returned, or an
//! `error` with the REST error envelope.

use axum::extract::State;
use axum::http::StatusCode;
use kintara_api::{
    codes, AcceptRequest, ClientEnvelope, ClientFrame, ControlFrame, RejectRequest, TypingRequest,
    Validate,
};
use serde::Serialize;

use crate::auth::{self, tokens::Claims, AuthUser};
use crate::chat::handlers as chat;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::extract::{IdPath, ValidJson};
use crate::state::AppState;
use crate::workflow::provider;

pub(super) async fn handle(state: &AppState, claims: &Claims, text: &str) -> ControlFrame {
    let envelope = match ClientEnvelope::parse(text) {
        Ok(e) => e,
        Err(bad) => {
            let e = ApiError::client(StatusCode::BAD_REQUEST, codes::INVALID_JSON, bad.message);
            return error(bad.reference, e);
        }
    };
    let reference = envelope.reference;
    if envelope.frame == ClientFrame::Ping {
        return ControlFrame::Pong {};
    }
    let result = async {
        envelope.frame.validate().map_err(ApiError::validation)?;
        // Acting needs a live session, checked now rather than at the handshake.
        let user = auth::session_user(state, claims).await?;
        let (out, published) = events::collect(act(state, user, envelope.frame)).await;
        published.publish(&state.events);
        out
    }
    .await;
    match result {
        Ok(result) => ControlFrame::Ack { reference, result },
        Err(e) => error(reference, e),
    }
}

fn error(reference: Option<String>, e: ApiError) -> ControlFrame {
    ControlFrame::Error {
        reference,
        error: e.envelope().1,
    }
}

async fn act(state: &AppState, user: AuthUser, frame: ClientFrame) -> ApiResult<serde_json::Value> {
    let st = || State(state.clone());
    match frame {
        ClientFrame::Ping => Ok(serde_json::json!({})),
        ClientFrame::SendMessage(m) => json(chat::send(st(), user, ValidJson(m)).await?.1 .0),
        ClientFrame::Typing(t) => {
            let req = TypingRequest {
                is_typing: t.is_typing,
            };
            json(
                chat::typing(st(), user, IdPath(t.room), ValidJson(req))
                    .await?
                    .0,
            )
        }
        ClientFrame::MarkRead(m) => match m.message_id {
            Some(id) => json(chat::mark_message_read(st(), user, IdPath(id)).await?.0),
            None => json(chat::mark_room_read(st(), user, IdPath(m.room)).await?.0),
        },
        ClientFrame::AssignmentResponse(a) => {
            let id = IdPath(a.incident_id);
            let view = if a.accepted {
                let req = AcceptRequest { notes: a.reason };
                provider::accept(st(), user, id, ValidJson(req)).await?
            } else {
                let req = RejectRequest {
                    reason: a.reason.unwrap_or_default(),
                };
                provider::reject(st(), user, id, ValidJson(req)).await?
            };
            json(view.0)
        }
    }
}

fn json<T: Serialize>(v: T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}
