-- Step 1: the foreign key, enforced for new rows only.
ALTER TABLE events
    ADD CONSTRAINT IF NOT EXISTS events_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
