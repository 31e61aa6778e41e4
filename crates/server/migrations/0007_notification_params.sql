-- The values a notification's subject and message are made from (JSON), so the app can word
-- them in its user's language. NULL when there are none: survivors' notifications carry no case
-- details, and rows stored before this column existed have none.
ALTER TABLE notifications ADD COLUMN params TEXT;
