-- A report filed with a client id (the app's outbox gives every report one) is stored once: a
-- retry after a lost answer finds the first report instead of filing a second.
ALTER TABLE incidents ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX incidents_survivor_client_id ON incidents (survivor_id, client_id);
