//! Client frames: each is validated by the same rules and carried out by the same handler as its
//! REST call, inside an event collector so that the frames it writes are published only after its
//! transaction committed. The answer is an `ack` with what REST would have returned, or an
//! `error` with the REST error envelope. Answers go out in the order of the frames.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use axum::extract::State;
use kintara_api::{
    AcceptRequest, ClientEnvelope, ClientFrame, ControlFrame, Refusal, RejectRequest,
    TypingRequest, Validate,
};
use serde::Serialize;

use crate::auth::{self, tokens::Claims, AuthUser};
use crate::chat::handlers as chat;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::extract::{IdPath, ValidJson};
use crate::limits::Action;
use crate::state::AppState;
use crate::workflow::provider;

/// How long a socket trusts its last look at the session before an acting frame looks again.
/// A sign-out wakes the user's sockets (on other instances through the broker), which look at
/// once; this bounds only what a sign-out the broker could not carry allows. Looking for every
/// frame cost a database read per chat message.
const FRESH: Duration = Duration::from_secs(1);

/// The socket's user as of its last look at the session and account.
pub(super) struct Session {
    claims: Claims,
    user: AuthUser,
    checked: Instant,
}

impl Session {
    /// A session just checked (at the handshake).
    pub fn checked(claims: Claims, user: AuthUser) -> Session {
        Session {
            claims,
            user,
            checked: Instant::now(),
        }
    }

    /// Looks at the session and account now.
    pub async fn check(&mut self, state: &AppState) -> ApiResult<&AuthUser> {
        self.user = auth::session_user(state, &self.claims).await?;
        self.checked = Instant::now();
        Ok(&self.user)
    }

    /// The user, if the session is still open: looked at again when the last look is older
    /// than `FRESH`.
    async fn live(&mut self, state: &AppState) -> ApiResult<AuthUser> {
        if self.checked.elapsed() >= FRESH {
            self.check(state).await?;
        }
        Ok(self.user.clone())
    }
}

/// An answer still to come: ready at once, or when a queued send is stored.
pub(super) type Reply = Pin<Box<dyn Future<Output = ControlFrame> + Send>>;

/// What a client frame needs next.
pub(super) enum Next {
    /// Its answer, to be sent after the answers of the frames before it. A chat message is
    /// already queued (behind the socket's earlier ones, in order): its answer comes once it is
    /// stored, and the socket reads on meanwhile.
    Reply(Reply),
    /// Anything else that acts: carried out by `act_now` once every earlier frame is answered,
    /// so it sees what they did (a `mark_read` of a message sent just before, say).
    Act(ClientEnvelope),
}

/// Reads one client frame: an answer for what needs no action (or cannot be carried out), a
/// queued send, or an action to carry out in turn.
pub(super) async fn read(state: &AppState, session: &mut Session, text: &str) -> Next {
    let envelope = match ClientEnvelope::parse(text) {
        Ok(e) => e,
        Err(bad) => {
            let e = ApiError::from(Refusal::InvalidJson {
                detail: bad.message,
            });
            return ready(error(bad.reference, e));
        }
    };
    let reference = envelope.reference.clone();
    if envelope.frame == ClientFrame::Ping {
        return ready(ControlFrame::Pong {});
    }
    if let Err(e) = envelope.frame.validate() {
        return ready(error(reference, ApiError::validation(e)));
    }
    let ClientFrame::SendMessage(req) = envelope.frame else {
        return Next::Act(envelope);
    };
    // Acting needs a live session, not only one that was live at the handshake.
    let queued = match session.live(state).await {
        Ok(user) => match state.limits.per_account(Action::Message, user.id) {
            Ok(()) => state.sends.enqueue(user, req).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match queued {
        // The send queue publishes its frames after its commit.
        Ok(queued) => Next::Reply(Box::pin(async move {
            answer(reference, queued.answer().await.and_then(|(_, m)| json(m)))
        })),
        Err(e) => ready(error(reference, e)),
    }
}

/// Carries out a frame `read` left to act on, inside an event collector.
pub(super) async fn act_now(
    state: &AppState,
    session: &mut Session,
    envelope: ClientEnvelope,
) -> ControlFrame {
    let result = async {
        let user = session.live(state).await?;
        let (out, published) = events::collect(act(state, user, envelope.frame)).await;
        published.publish(&state.events);
        out
    }
    .await;
    answer(envelope.reference, result)
}

/// Whether `reply` says the session is over (the socket then closes).
pub(super) fn ends_session(reply: &ControlFrame) -> bool {
    matches!(reply, ControlFrame::Error { error, .. }
        if matches!(error.refusal, Refusal::SessionRevoked {} | Refusal::AccountDisabled {}))
}

fn ready(frame: ControlFrame) -> Next {
    Next::Reply(Box::pin(std::future::ready(frame)))
}

fn answer(reference: Option<String>, result: ApiResult<serde_json::Value>) -> ControlFrame {
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
        // `read` answers pings and queues sends itself, so `act_now` never gets them; were it
        // to, they would do the same here.
        ClientFrame::Ping => Ok(serde_json::json!({})),
        ClientFrame::SendMessage(m) => {
            state.limits.per_account(Action::Message, user.id)?;
            json(state.sends.send(user, m).await?.1)
        }
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
