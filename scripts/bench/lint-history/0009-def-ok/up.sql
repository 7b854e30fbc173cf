ALTER TABLE t ADD COLUMN d timestamptz DEFAULT now();
