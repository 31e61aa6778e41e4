//! Chat over REST: case rooms (opened when a provider accepts a case) and direct rooms, messages
//! with strict per-room order and idempotent sends, read positions, typing, presence, and each
//! user's choice of what others may see. Message content is never logged.

pub mod blocks;
mod cast;
pub mod handlers;
pub mod repo;
pub mod send;

pub use cast::ANONYMOUS;
pub use send::SendQueue;

use crate::error::ApiError;
use kintara_api::Refusal;

/// Why a chat request was refused. Converted to the error envelope at the handler boundary.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Not a participant, or no such room or message: the same to the caller.
    #[error("not found")]
    NotFound,
    #[error("the room is read-only")]
    ReadOnly,
    #[error("case rooms cannot be left")]
    CaseRoom,
    #[error("the case has no conversation yet")]
    NoCaseRoomYet,
    #[error("not allowed to start this chat")]
    NotAllowed,
    #[error("only the sender may delete a message")]
    NotSender,
    #[error("cannot chat with yourself")]
    WithSelf,
    #[error("someone in the room blocked the sender")]
    Blocked,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::NotFound => ApiError::not_found(),
            ChatError::ReadOnly => ApiError::from(Refusal::RoomReadOnly {}),
            ChatError::CaseRoom => ApiError::from(Refusal::CaseRoomStays {}),
            ChatError::NoCaseRoomYet => ApiError::from(Refusal::NoCaseRoomYet {}),
            ChatError::NotAllowed => ApiError::from(Refusal::NoSharedCase {}),
            ChatError::NotSender => ApiError::from(Refusal::NotTheSender {}),
            ChatError::WithSelf => ApiError::from(Refusal::NotWithYourself {}),
            ChatError::Blocked => ApiError::from(Refusal::CannotWriteHere {}),
            ChatError::Db(e) => ApiError::Db(e),
        }
    }
}
