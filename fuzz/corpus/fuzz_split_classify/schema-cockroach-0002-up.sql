-- A unique covering index: the backfill runs as an asynchronous schema-change
-- job, and dbmig waits until the index is public before advancing.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email) STORING (created_at);
