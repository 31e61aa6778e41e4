-- Failed sign-ins, counted per (e-mail, client address) and per client address, instead of a
-- lock on the account that anyone could set off for its owner. Keys are hashes: neither the
-- e-mails tried nor the addresses are kept in clear. A row is forgotten an hour after its last
-- failure.
CREATE TABLE sign_in_failures (
    counter_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failed_at TEXT NOT NULL,
    blocked_until TEXT
);
