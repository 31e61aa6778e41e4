-- The per-user event log that realtime delivery (long-poll now, the socket later) reads.
-- Portable like the rest (see src/db.rs): TEXT ids and timestamps, BIGINT counters.

-- event_seq is each user's counter: bumping it inside the change's transaction locks the user's
-- row, so concurrent writers queue (PostgreSQL) and a user's seqs are gap-free and ordered.
-- event_floor is the highest seq retention has pruned: a cursor below it has missed events.
ALTER TABLE users ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN event_floor BIGINT NOT NULL DEFAULT 0;

-- data is the frame's JSON payload as text.
CREATE TABLE user_events (
    user_id TEXT NOT NULL REFERENCES users(id),
    seq BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, seq)
);
CREATE INDEX user_events_created_at ON user_events(created_at);
