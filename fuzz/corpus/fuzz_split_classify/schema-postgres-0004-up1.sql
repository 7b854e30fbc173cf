-- Step 1: the constraint applies to new rows at once; existing rows are not
-- scanned, so the table lock is held only briefly.
ALTER TABLE orders
    ADD CONSTRAINT orders_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;
