CREATE INVERTED INDEX IF NOT EXISTS ev_idx ON db.public.events (payload);
CREATE INDEX u_email ON users (email) STORING (name);
SELECT x::: INT FROM t@u_email;
ALTER TABLE t CONFIGURE ZONE USING gc.ttlseconds = 600;
SET CLUSTER SETTING sql.defaults.experimental_alter_column_type.enabled = true;
