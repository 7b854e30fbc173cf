-- Lookups of an account's recent orders.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_account_id_created_at_idx
    ON orders (account_id, created_at DESC);
