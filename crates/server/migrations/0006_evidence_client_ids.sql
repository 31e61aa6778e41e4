-- An upload sent with a client id (the app's outbox gives every attachment one) is stored once:
-- a retry after a lost answer finds the first file instead of storing a second copy.
ALTER TABLE evidence ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX evidence_uploader_client_id ON evidence (incident_id, uploaded_by, client_id);
