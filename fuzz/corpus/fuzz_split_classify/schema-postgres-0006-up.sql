-- Total of an account's orders that were not cancelled, in cents.
CREATE OR REPLACE FUNCTION account_order_total(p_account_id bigint)
    RETURNS bigint
    LANGUAGE plpgsql
    STABLE
AS $$
DECLARE
    total bigint;
BEGIN
    SELECT coalesce(sum(o.total_cents), 0)
      INTO total
      FROM orders AS o
     WHERE o.account_id = p_account_id
       AND o.status <> 'cancelled';  -- a ';' inside the body does not end the statement
    RETURN total;
END;
$$;
