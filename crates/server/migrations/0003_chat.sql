-- Chat: messages, read positions, presence, typing and per-user chat privacy.
-- Portable like the rest (see src/db.rs): TEXT ids and timestamps, BIGINT flags and counters.

-- Each conversation numbers its messages 1, 2, 3, ...: last_seq is the counter. Bumping it locks
-- the conversation row, so concurrent sends to one room queue instead of racing (PostgreSQL) and
-- the order is strict and stable for cursors. direct_key ("<smaller id>:<larger id>") makes a
-- direct room between two people unique even when both open it at once.
ALTER TABLE conversations ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN direct_key TEXT;
CREATE UNIQUE INDEX conversations_direct_key ON conversations(direct_key);

-- Read position per participant (messages up to last_read_seq are read), when the participant
-- last showed the room on screen (reading_at: no notification while they are reading), and
-- when they hid a direct room (hidden_at: it returns to their list with the next message).
ALTER TABLE conversation_participants ADD COLUMN last_read_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversation_participants ADD COLUMN last_read_at TEXT;
ALTER TABLE conversation_participants ADD COLUMN reading_at TEXT;
ALTER TABLE conversation_participants ADD COLUMN hidden_at TEXT;

-- message_type: user_message | system_event | status_update. client_id makes a retried send
-- idempotent per sender and room. A deleted message keeps its place but loses its content.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq BIGINT NOT NULL,
    sender_id TEXT REFERENCES users(id),
    client_id TEXT,
    message_type TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (conversation_id, sender_id, client_id)
);
CREATE UNIQUE INDEX messages_conversation_seq ON messages(conversation_id, seq);
CREATE INDEX messages_conversation_created ON messages(conversation_id, created_at);

-- Presence: online = a heartbeat in the last 5 minutes and no explicit sign-off since.
CREATE TABLE presence (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    last_seen_at TEXT NOT NULL,
    is_online_explicit BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX presence_last_seen ON presence(last_seen_at);

-- Who is typing where, until when (a few seconds after the last keystroke report).
CREATE TABLE typing (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    until TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

-- What a user lets others see. No row means the defaults of their role (survivors: nothing).
CREATE TABLE chat_settings (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    read_receipts BIGINT NOT NULL,
    typing_indicators BIGINT NOT NULL,
    presence BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
