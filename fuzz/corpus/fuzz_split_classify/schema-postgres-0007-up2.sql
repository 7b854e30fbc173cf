-- Step 2: fill it from the existing orders. Idempotent through ON CONFLICT.
INSERT INTO account_summaries (account_id, order_count, total_cents)
SELECT a.id, count(o.id), account_order_total(a.id)
  FROM accounts AS a
  LEFT JOIN orders AS o ON o.account_id = a.id
 GROUP BY a.id
    ON CONFLICT (account_id) DO NOTHING;
