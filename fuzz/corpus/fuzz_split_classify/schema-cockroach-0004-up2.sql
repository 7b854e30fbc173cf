-- Step 2: validate the existing rows (an asynchronous job; dbmig waits until
-- SHOW CONSTRAINTS reports it validated).
ALTER TABLE events VALIDATE CONSTRAINT events_user_id_fkey;
