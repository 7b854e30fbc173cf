-- Step 1: a per-account summary table.
CREATE TABLE IF NOT EXISTS account_summaries (
    account_id  bigint PRIMARY KEY REFERENCES accounts (id),
    order_count bigint NOT NULL,
    total_cents bigint NOT NULL
);
