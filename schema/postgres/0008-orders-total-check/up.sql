-- A CHECK constraint in the safe form: NOT VALID makes it hold for new and
-- updated rows at once without scanning the existing ones, so ACCESS
-- EXCLUSIVE is held only for the catalog update. 0009 validates it.
ALTER TABLE orders
    ADD CONSTRAINT orders_total_cents_nonnegative CHECK (total_cents >= 0) NOT VALID;
