-- Step 2: a hash-sharded index spreads sequential timestamps over ranges.
CREATE INDEX IF NOT EXISTS events_at_idx ON events (at) USING HASH;
