-- Customer accounts.
CREATE TABLE IF NOT EXISTS accounts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        text NOT NULL,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
