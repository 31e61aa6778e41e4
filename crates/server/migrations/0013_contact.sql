-- What leaves the app is written in the recipient's language, and WhatsApp messages go to the
-- number on her profile (E.164; NULL: none given).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE users ADD COLUMN whatsapp_number TEXT;
-- WhatsApp reports what became of a message (its `wamid`) through the status webhook.
CREATE INDEX deliveries_provider_id ON deliveries(lane, provider_id);
