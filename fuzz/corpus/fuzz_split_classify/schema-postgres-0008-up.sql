-- A validating CHECK constraint: dbmig proves it validated before advancing.
ALTER TABLE orders
    ADD CONSTRAINT orders_total_cents_nonnegative CHECK (total_cents >= 0);
