-- Step 2: scan the existing rows under a SHARE UPDATE EXCLUSIVE lock, which
-- does not block reads or writes.
ALTER TABLE orders VALIDATE CONSTRAINT orders_account_id_fkey;
