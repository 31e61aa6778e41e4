-- The case workflow: assignments, the notification feed and preferences, push devices, evidence.

-- A provider asked to take a case. At most one live (pending or accepted) assignment per
-- provider and case. assigned_by is NULL for automatic assignment.
CREATE TABLE case_assignments (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    provider_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    assigned_by TEXT REFERENCES users(id),
    notes TEXT,
    rejection_reason TEXT,
    assigned_at TEXT NOT NULL,
    responded_at TEXT,
    -- Seconds from assignment to the provider's answer (accept or decline), for averages.
    response_seconds BIGINT
);
CREATE UNIQUE INDEX case_assignments_live ON case_assignments(incident_id, provider_id)
    WHERE status IN ('pending', 'accepted');
CREATE INDEX case_assignments_provider ON case_assignments(provider_id, status);
CREATE INDEX case_assignments_incident ON case_assignments(incident_id, status);
CREATE INDEX case_assignments_answered ON case_assignments(assigned_at)
    WHERE response_seconds IS NOT NULL;

-- The dispatcher dashboard counts live incidents by status and urgency and today's arrivals
-- and completions; these keep it off full scans.
CREATE INDEX incidents_live_status ON incidents(status, urgency_level) WHERE deleted_at IS NULL;
CREATE INDEX incidents_live_created ON incidents(created_at) WHERE deleted_at IS NULL;
CREATE INDEX incident_status_history_to ON incident_status_history(to_status, created_at);

-- The stored feed: one row per recipient and event. channels holds the per-channel delivery
-- state as JSON: {"websocket": {"state": "pending", "attempts": 0, "last_error": null}, ...}.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES users(id),
    notification_type TEXT NOT NULL,
    priority TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents(id),
    conversation_id TEXT,
    channels TEXT NOT NULL,
    is_read BIGINT NOT NULL DEFAULT 0,
    read_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX notifications_recipient ON notifications(recipient_id, created_at);
CREATE INDEX notifications_unread ON notifications(recipient_id, is_read);

-- Which channels a user wants per event type; no row means the defaults.
CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL REFERENCES users(id),
    notification_type TEXT NOT NULL,
    channels TEXT NOT NULL,
    PRIMARY KEY (user_id, notification_type)
);

-- Push tokens, one row per token; removed when the session that registered it ends.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    session_id TEXT REFERENCES sessions(id),
    token TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX devices_user ON devices(user_id);

-- Evidence files: metadata here, the encrypted bytes under <data-dir>/evidence/<id>.
CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX evidence_incident ON evidence(incident_id, created_at);

-- Case conversations, opened when a provider accepts; messages come with the realtime work.
-- is_active = 0 makes a conversation read-only (its case is closed).
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    incident_id TEXT UNIQUE REFERENCES incidents(id),
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE conversation_participants (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    joined_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_participants_user ON conversation_participants(user_id);
