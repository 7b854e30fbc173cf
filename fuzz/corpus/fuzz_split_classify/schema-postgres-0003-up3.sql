-- Step 3: a unique index built without blocking writes. CREATE INDEX
-- CONCURRENTLY cannot run in a transaction block, so it is the only statement
-- of its step; dbmig runs it alone and then proves the index valid.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_normalized_key
    ON accounts (email_normalized);
