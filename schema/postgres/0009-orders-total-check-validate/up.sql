-- Scan the existing rows under SHARE UPDATE EXCLUSIVE, which blocks neither
-- reads nor writes; dbmig proves the constraint validated before advancing.
-- It is a later version than the ADD ... NOT VALID: in the same step (one
-- transaction) the scan would still hold the ADD's ACCESS EXCLUSIVE lock.
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_cents_nonnegative;
