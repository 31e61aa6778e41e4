-- The delivery outbox: one row per (notification, channel, target), written in the
-- notification's own transaction, so a notification and its deliveries commit together. Workers
-- lease due rows (`leased_until`), send, and record the outcome; a crash leaves the row pending
-- and another worker takes it when the lease runs out.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    recipient_id TEXT NOT NULL REFERENCES users(id),
    -- The notification channel (push, email, whatsapp) and who carries it (fcm, apns, expo,
    -- email, whatsapp): each lane has its own worker.
    channel TEXT NOT NULL,
    lane TEXT NOT NULL,
    -- Push: the device (its token is read at send time; a removed device is not sent to).
    device_id TEXT,
    priority TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL,
    leased_until TEXT,
    -- Urgent alerts are skipped after this rather than delivered late.
    expires_at TEXT,
    last_error TEXT,
    -- The carrier's id for what it accepted (FCM's message name, APNs' apns-id...).
    provider_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(lane, state, due_at);
CREATE INDEX deliveries_notification ON deliveries(notification_id);
CREATE INDEX deliveries_device ON deliveries(device_id);

-- The lanes this deployment can carry, written by each instance at start from its
-- configuration (instances of one deployment share it). A notification is planned against it in
-- its own transaction: a channel no lane can carry is `skipped` from the start, never `pending`.
CREATE TABLE delivery_lanes (
    lane TEXT PRIMARY KEY,
    configured_at TEXT NOT NULL
);
