-- Step 1: an append-mostly event table.
CREATE TABLE IF NOT EXISTS events (
    id      UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    kind    STRING NOT NULL,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT events_pkey PRIMARY KEY (id)
);
