-- Verified staff: an account's state replaces the on/off `is_active`. A provider who registers
-- themselves waits, `unverified`, until an admin verifies them; existing providers wait too, since
-- nobody checked them (demo providers are verified again by `--demo`). The per-account lock
-- columns go: sign-in throttling counts per client address (0008), never per account.
ALTER TABLE users ADD COLUMN account_state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN verified_at TEXT;
UPDATE users SET account_state = 'disabled' WHERE is_active = 0;
UPDATE users SET account_state = 'unverified' WHERE role = 'provider' AND account_state = 'active';
ALTER TABLE users DROP COLUMN is_active;
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;
CREATE INDEX users_state_role ON users(account_state, role);

-- Where a user is signed in: what the device said it was, and when the session was last used
-- (signed in or refreshed). No address is kept.
ALTER TABLE sessions ADD COLUMN device_label TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_used_at TEXT;
UPDATE sessions SET last_used_at = created_at;

-- Every admin decision about an account: who, what, to whom, when, why. Never deleted.
CREATE TABLE admin_audit (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users(id),
    action TEXT NOT NULL,
    target_id TEXT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit(at);
CREATE INDEX admin_audit_target ON admin_audit(target_id, at);
