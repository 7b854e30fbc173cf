-- Users, with a column family for the rarely read profile.
CREATE TABLE IF NOT EXISTS users (
    id         UUID NOT NULL DEFAULT gen_random_uuid(),
    email      STRING NOT NULL,
    tags       STRING ARRAY NOT NULL DEFAULT ARRAY[]:::STRING[],
    profile    JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    FAMILY f_hot (id, email, tags, created_at),
    FAMILY f_profile (profile)
);
