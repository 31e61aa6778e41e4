//! What a room's people and messages look like to one viewer: an anonymous survivor stays
//! anonymous to providers, and read receipts come only from those who share them.

use std::collections::HashMap;

use kintara_api::{ChatMessage, ChatParticipant, Role, RoomType};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::repo::{self, MessageRow, ParticipantRow, RoomRow};
use crate::auth::AuthUser;
use crate::error::ApiResult;

pub use crate::naming::ANONYMOUS;

/// The people of one room as one viewer may see them.
pub(super) struct Cast {
    pub people: Vec<ParticipantRow>,
    pub shown: HashMap<Uuid, ChatParticipant>,
}

/// Whose eyes a view is shaped for: the caller, or a recipient of an event frame.
#[derive(Clone, Copy)]
pub(super) struct Viewer {
    pub id: Uuid,
    pub role: Role,
}

impl From<&AuthUser> for Viewer {
    fn from(u: &AuthUser) -> Viewer {
        Viewer {
            id: u.id,
            role: u.role,
        }
    }
}

impl Cast {
    pub async fn load(conn: &mut AnyConnection, viewer: Viewer, room: &RoomRow) -> ApiResult<Cast> {
        let people = repo::participants(conn, room.id).await?;
        Cast::of(conn, viewer, room, people).await
    }

    /// The cast from participants already read in this transaction (a message fans out to
    /// several viewers from one read).
    pub async fn of(
        conn: &mut AnyConnection,
        viewer: Viewer,
        room: &RoomRow,
        people: Vec<ParticipantRow>,
    ) -> ApiResult<Cast> {
        let mut shown = HashMap::new();
        for p in &people {
            let hidden = p.role == Role::Survivor
                && viewer.role == Role::Provider
                && p.id != viewer.id
                && match room.kind {
                    RoomType::Case => room.incident_anonymous,
                    RoomType::Direct => {
                        p.account_anonymous || repo::anonymous_to(conn, p.id, viewer.id).await?
                    }
                };
            let full_name = crate::naming::shown_name(&p.first_name, &p.last_name, hidden);
            shown.insert(
                p.id,
                ChatParticipant {
                    id: p.id,
                    full_name,
                    role: p.role,
                    provider_type: p.provider_type,
                },
            );
        }
        Ok(Cast { people, shown })
    }

    pub fn message(&self, viewer: Uuid, m: &MessageRow) -> ChatMessage {
        // Receipts only from people who share them, and never the sender's own.
        let read_by: Vec<Uuid> = self
            .people
            .iter()
            .filter(|p| {
                Some(p.id) != m.sender && p.settings.read_receipts && p.last_read_seq >= m.seq
            })
            .map(|p| p.id)
            .collect();
        let is_read = if m.sender == Some(viewer) {
            !read_by.is_empty()
        } else {
            self.people
                .iter()
                .any(|p| p.id == viewer && p.last_read_seq >= m.seq)
        };
        let deleted = m.deleted_at.is_some();
        ChatMessage {
            id: m.id,
            room: m.room,
            seq: m.seq,
            sender: m.sender.and_then(|s| self.shown.get(&s).cloned()),
            message_type: m.message_type,
            content: (!deleted).then(|| m.content.clone()),
            client_id: m.client_id.clone(),
            is_deleted: deleted,
            is_read,
            read_by,
            created_at: m.created_at,
        }
    }
}
