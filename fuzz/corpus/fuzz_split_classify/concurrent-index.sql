CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Users_Email" ON "MySchema"."Users" (lower(email));
REINDEX INDEX CONCURRENTLY users_email;
CREATE INDEX ON ONLY parent (x);
CREATE INDEX parent_x ON ONLY parent (x);
