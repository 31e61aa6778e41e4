-- Accounts, sessions and survivors' reports. See src/db.rs for the portable column conventions.
-- One set of migrations for SQLite and PostgreSQL: the types used (TEXT, BIGINT) mean the same on both.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    provider_type TEXT,
    is_anonymous BIGINT NOT NULL DEFAULT 0,
    biometric_enabled BIGINT NOT NULL DEFAULT 0,
    is_active BIGINT NOT NULL DEFAULT 1,
    last_login TEXT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Availability and load of providers, used by assignment.
CREATE TABLE provider_profiles (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    is_currently_available BIGINT NOT NULL DEFAULT 1,
    current_case_load BIGINT NOT NULL DEFAULT 0,
    max_case_load BIGINT NOT NULL DEFAULT 10,
    avg_response_minutes BIGINT NOT NULL DEFAULT 30
);

-- A login session: the family of refresh tokens born from one sign-in.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoke_reason TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Refresh tokens are stored only as SHA-256 hashes. A rotated token has rotated_at set; presenting
-- it again revokes the whole session.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    rotated_at TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL UNIQUE,
    survivor_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    urgency_level TEXT NOT NULL,
    incident_date TEXT NOT NULL,
    incident_time TEXT,
    description TEXT NOT NULL,
    location TEXT NOT NULL,
    support_services TEXT NOT NULL,
    provider_preferences TEXT,
    is_anonymous BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX incidents_survivor ON incidents(survivor_id, created_at);
CREATE INDEX incidents_status ON incidents(status, created_at);

-- The last case number issued per UTC day: KIN-YYYYMMDD-NNN.
CREATE TABLE case_counters (
    day TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

-- Every status change, for the survivor's timeline and audit.
CREATE TABLE incident_status_history (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id TEXT REFERENCES users(id),
    reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX incident_status_history_incident ON incident_status_history(incident_id, created_at);
