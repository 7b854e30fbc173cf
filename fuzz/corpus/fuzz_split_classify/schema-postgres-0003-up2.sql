-- Step 2: backfill. Idempotent: only rows not yet backfilled are touched.
UPDATE accounts
   SET email_normalized = lower(btrim(email))
 WHERE email_normalized IS NULL;
