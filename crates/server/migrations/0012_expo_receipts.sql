-- Expo answers a push with a ticket at once and with a receipt later (whether Apple or Google
-- took it). When the receipt was read; NULL while it is still to be fetched.
ALTER TABLE deliveries ADD COLUMN receipt_checked_at TEXT;
CREATE INDEX deliveries_receipts ON deliveries(lane, state, receipt_checked_at);
