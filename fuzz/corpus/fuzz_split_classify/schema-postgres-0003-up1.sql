-- Step 1: a nullable column, added without rewriting the table.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS email_normalized text;
