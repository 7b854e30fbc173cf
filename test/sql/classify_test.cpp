#include "sql/classify.h"

#include <gtest/gtest.h>
#include <pg_query.h>

#include <ostream>

#include "sql/scanner.h"

namespace dbmig::sql {

void PrintTo(const Change& c, std::ostream* os) {
  *os << "{kind " << static_cast<int>(c.kind) << ", table " << c.table.quoted() << ", object "
      << c.object.quoted() << ", concurrently " << c.concurrently << ", if_not_exists "
      << c.if_not_exists << ", unique " << c.unique << ", offset " << c.offset << "}";
}

namespace {

constexpr Dialect pg = Dialect::postgres;
constexpr Dialect crdb = Dialect::cockroach;

// The whole text as one statement (a trailing `;` excluded), built from the
// scanner's tokens so that these tests do not depend on the splitter.
Statement whole(std::string_view sql) {
  auto tokens = scan(sql);
  EXPECT_TRUE(tokens.has_value()) << sql;
  Statement statement;
  if (!tokens) return statement;
  std::vector<Token> all = *tokens;
  while (!all.empty() && (all.back().is(';') || all.back().kind == TokenKind::comment)) {
    all.pop_back();
  }
  statement.tokens = all;
  for (const Token& t : all) {
    if (t.kind == TokenKind::comment) continue;
    statement.begin = t.begin;
    break;
  }
  statement.end = all.empty() ? 0 : all.back().end;
  const TextPosition at = position_at(sql, statement.begin);
  statement.line = at.line;
  statement.column = at.column;
  return statement;
}

Classification classify(std::string_view sql, Dialect dialect) {
  return classify_statement(whole(sql), sql, dialect);
}

std::string dump_findings(const Classification& c) {
  std::string out;
  for (const auto& f : c.findings) {
    out += (f.severity == Severity::error ? "error@" : "warning@") + std::to_string(f.offset) +
           ": " + f.message + " | " + f.hint + "\n";
  }
  return out;
}

// ---- kind, command, non-transactional ------------------------------------

struct KindRow {
  Dialect dialect;
  std::string_view sql;
  StatementKind kind;
  std::string_view command;
  bool non_transactional;
};

constexpr StatementKind ddl = StatementKind::ddl;
constexpr StatementKind dml = StatementKind::dml;
constexpr StatementKind other = StatementKind::other;
constexpr StatementKind session = StatementKind::session;
constexpr StatementKind txn = StatementKind::transaction_control;

const KindRow kKindRows[] = {
    {pg, "CREATE TABLE t (a int)", ddl, "CREATE TABLE", false},
    {pg, "create temp table t (a int)", ddl, "CREATE TABLE", false},
    {pg, "CREATE UNLOGGED TABLE t (a int)", ddl, "CREATE TABLE", false},
    {pg, "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ select 1 $$ LANGUAGE sql", ddl,
     "CREATE FUNCTION", false},
    {pg, "CREATE OR REPLACE VIEW v AS SELECT 1", ddl, "CREATE VIEW", false},
    {pg, "CREATE MATERIALIZED VIEW mv AS SELECT 1", ddl, "CREATE MATERIALIZED VIEW", false},
    {pg, "CREATE UNIQUE INDEX i ON t (a)", ddl, "CREATE INDEX", false},
    {pg, "CREATE INDEX CONCURRENTLY i ON t (a)", ddl, "CREATE INDEX", true},
    {pg, "create unique index concurrently if not exists i on t (a)", ddl, "CREATE INDEX", true},
    {pg, "DROP INDEX CONCURRENTLY IF EXISTS i", ddl, "DROP INDEX", true},
    {pg, "DROP INDEX i", ddl, "DROP INDEX", false},
    {pg, "CREATE TYPE mood AS ENUM ('a')", ddl, "CREATE TYPE", false},
    {pg, "CREATE SCHEMA s", ddl, "CREATE SCHEMA", false},
    {pg, "CREATE EXTENSION IF NOT EXISTS pgcrypto", ddl, "CREATE EXTENSION", false},
    {pg, "CREATE SEQUENCE s", ddl, "CREATE SEQUENCE", false},
    {pg, "ALTER TABLE t ADD COLUMN a int", ddl, "ALTER TABLE", false},
    {pg, "ALTER TABLE t DETACH PARTITION p CONCURRENTLY", ddl, "ALTER TABLE", true},
    {pg, "ALTER TABLE t DETACH PARTITION p", ddl, "ALTER TABLE", false},
    {pg, "ALTER TABLE t DETACH PARTITION p FINALIZE", ddl, "ALTER TABLE", false},
    {pg, "DROP TABLE IF EXISTS t CASCADE", ddl, "DROP TABLE", false},
    {pg, "TRUNCATE t", ddl, "TRUNCATE", false},
    {pg, "REINDEX INDEX i", ddl, "REINDEX INDEX", false},
    {pg, "REINDEX INDEX CONCURRENTLY i", ddl, "REINDEX INDEX", true},
    {pg, "REINDEX TABLE CONCURRENTLY t", ddl, "REINDEX TABLE", true},
    {pg, "REINDEX (CONCURRENTLY) INDEX i", ddl, "REINDEX INDEX", true},
    {pg, "REINDEX (VERBOSE) TABLE t", ddl, "REINDEX TABLE", false},
    {pg, "REINDEX (CONCURRENTLY false) TABLE t", ddl, "REINDEX TABLE", false},
    {pg, "REINDEX SCHEMA s", ddl, "REINDEX SCHEMA", true},
    {pg, "REINDEX DATABASE d", ddl, "REINDEX DATABASE", true},
    {pg, "REINDEX SYSTEM d", ddl, "REINDEX SYSTEM", true},
    {pg, "CREATE DATABASE d", ddl, "CREATE DATABASE", true},
    {pg, "DROP DATABASE d", ddl, "DROP DATABASE", true},
    {pg, "CREATE TABLESPACE ts LOCATION '/x'", ddl, "CREATE TABLESPACE", true},
    {pg, "DROP TABLESPACE ts", ddl, "DROP TABLESPACE", true},
    {pg, "CREATE ROLE bob", ddl, "CREATE ROLE", false},
    {pg, "CREATE USER bob", ddl, "CREATE USER", false},
    {pg, "VACUUM ANALYZE t", other, "VACUUM", true},
    {pg, "ALTER SYSTEM SET work_mem = '64MB'", other, "ALTER SYSTEM", true},
    {pg, "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob", other,
     "ALTER DEFAULT PRIVILEGES", false},
    {pg, "SELECT 1", dml, "SELECT", false},
    {pg, "(SELECT 1)", dml, "SELECT", false},
    {pg, "INSERT INTO t VALUES (1)", dml, "INSERT", false},
    {pg, "UPDATE t SET a = 1", dml, "UPDATE", false},
    {pg, "DELETE FROM t", dml, "DELETE", false},
    {pg, "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", dml, "MERGE", false},
    {pg, "WITH x AS (SELECT 1) SELECT * FROM x", dml, "WITH", false},
    {pg, "COPY t FROM STDIN", dml, "COPY", false},
    {pg, "VALUES (1)", dml, "VALUES", false},
    {pg, "TABLE t", dml, "TABLE", false},
    {crdb, "UPSERT INTO t VALUES (1)", dml, "UPSERT", false},
    {pg, "COMMENT ON TABLE t IS 'x'", other, "COMMENT", false},
    {pg, "GRANT SELECT ON t TO bob", other, "GRANT", false},
    {pg, "REVOKE SELECT ON t FROM bob", other, "REVOKE", false},
    {pg, "SECURITY LABEL ON TABLE t IS 'x'", other, "SECURITY LABEL", false},
    {pg, "DO $$ BEGIN PERFORM 1; END $$", other, "DO", false},
    {pg, "CALL p()", other, "CALL", false},
    {pg, "ANALYZE t", other, "ANALYZE", false},
    {pg, "CLUSTER t USING i", other, "CLUSTER", false},
    {pg, "REFRESH MATERIALIZED VIEW mv", other, "REFRESH", false},
    {pg, "SET search_path = s", session, "SET", false},
    {pg, "SET LOCAL lock_timeout = '1s'", session, "SET LOCAL", false},
    {pg, "RESET ALL", session, "RESET", false},
    {pg, "SHOW search_path", session, "SHOW", false},
    {pg, "DISCARD ALL", session, "DISCARD", false},
    {crdb, "SET CLUSTER SETTING kv.rangefeed.enabled = true", session, "SET CLUSTER SETTING", true},
    {crdb, "SET LOCAL disallow_full_table_scans = off", session, "SET LOCAL", false},
    {pg, "BEGIN", txn, "BEGIN", false},
    {pg, "begin transaction isolation level serializable", txn, "BEGIN", false},
    {pg, "START TRANSACTION", txn, "START TRANSACTION", false},
    {pg, "COMMIT", txn, "COMMIT", false},
    {pg, "END", txn, "END", false},
    {pg, "ROLLBACK", txn, "ROLLBACK", false},
    {pg, "ABORT", txn, "ABORT", false},
    {pg, "SAVEPOINT s", txn, "SAVEPOINT", false},
    {pg, "RELEASE SAVEPOINT s", txn, "RELEASE", false},
    {pg, "ROLLBACK TO SAVEPOINT s", txn, "ROLLBACK", false},
    {pg, "PREPARE TRANSACTION 'x'", txn, "PREPARE TRANSACTION", false},
    {pg, "COMMIT PREPARED 'x'", txn, "COMMIT PREPARED", false},
    {pg, "ROLLBACK PREPARED 'x'", txn, "ROLLBACK PREPARED", false},
    // CockroachDB: only SET CLUSTER SETTING is non-transactional.
    {crdb, "CREATE INDEX CONCURRENTLY i ON t (a)", ddl, "CREATE INDEX", false},
    {crdb, "CREATE DATABASE d", ddl, "CREATE DATABASE", false},
    {crdb, "CREATE INVERTED INDEX i ON t (j)", ddl, "CREATE INDEX", false},
    {crdb, "ALTER TABLE t ALTER PRIMARY KEY USING COLUMNS (a)", ddl, "ALTER TABLE", false},
    {crdb, "SELECT * FROM t@i WHERE a = 1:::INT", dml, "SELECT", false},
};

TEST(ClassifyStatement, KindCommandAndTransactionality) {
  for (const KindRow& row : kKindRows) {
    SCOPED_TRACE(testing::Message() << to_string(row.dialect) << ": " << row.sql);
    const Classification c = classify(row.sql, row.dialect);
    EXPECT_EQ(to_string(c.kind), to_string(row.kind));
    EXPECT_EQ(c.command, row.command);
    EXPECT_EQ(c.non_transactional, row.non_transactional);
    EXPECT_EQ(dump_findings(c).find("error@"), std::string::npos) << dump_findings(c);
  }
}

TEST(ToString, NamesEveryStatementKind) {
  EXPECT_EQ(to_string(StatementKind::ddl), "ddl");
  EXPECT_EQ(to_string(StatementKind::dml), "dml");
  EXPECT_EQ(to_string(StatementKind::other), "other");
  EXPECT_EQ(to_string(StatementKind::session), "session");
  EXPECT_EQ(to_string(StatementKind::transaction_control), "transaction control");
}

// ---- changes ---------------------------------------------------------------

QualifiedName qn(std::string schema, std::string name, std::string database = "") {
  return QualifiedName{std::move(database), std::move(schema), std::move(name)};
}

Change index(QualifiedName table, std::string name, bool concurrently = false,
             bool if_not_exists = false, bool unique = false) {
  Change c;
  c.kind = ChangeKind::create_index;
  c.object = QualifiedName{table.database, table.schema, std::move(name)};
  c.table = std::move(table);
  c.concurrently = concurrently;
  c.if_not_exists = if_not_exists;
  c.unique = unique;
  return c;
}

Change constraint(ChangeKind kind, QualifiedName table, std::string name,
                  bool if_not_exists = false) {
  Change c;
  c.kind = kind;
  c.table = std::move(table);
  c.object = qn("", std::move(name));
  c.if_not_exists = if_not_exists;
  return c;
}

Change with_kind(Change c, ChangeKind kind) {
  c.kind = kind;
  return c;
}

Change reindex(QualifiedName name) {
  Change c;
  c.kind = ChangeKind::reindex_concurrently;
  c.object = std::move(name);
  c.concurrently = true;
  return c;
}

constexpr ChangeKind add = ChangeKind::add_constraint;
constexpr ChangeKind validate = ChangeKind::validate_constraint;

const std::string kLong64 = std::string(64, 'a');

struct ChangeRow {
  Dialect dialect;
  std::string sql;
  std::vector<Change> changes;
};

const ChangeRow kChangeRows[] = {
    {pg,
     "CREATE INDEX users_email_idx ON users (email)",
     {index(qn("", "users"), "users_email_idx")}},
    {pg,
     "create index Users_Idx on Public.Users (email)",
     {index(qn("public", "users"), "users_idx")}},
    {pg, R"(CREATE INDEX "Weird""Name" ON "S"."T" (a))", {index(qn("S", "T"), "Weird\"Name")}},
    {pg,
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
     {index(qn("", "t"), "i", true, true)}},
    {pg,
     "CREATE UNIQUE INDEX CONCURRENTLY i ON ONLY_t (a)",
     {index(qn("", "only_t"), "i", true, false, true)}},
    {pg,
     "CREATE INDEX i ON ONLY parent (a)",
     {with_kind(index(qn("", "parent"), "i"), ChangeKind::create_index_on_only)}},
    {pg, "CREATE INDEX i ON t USING gin (a)", {index(qn("", "t"), "i")}},
    {pg, "CREATE INDEX " + kLong64 + " ON t (a)", {index(qn("", "t"), std::string(63, 'a'))}},
    {crdb, "CREATE INDEX " + kLong64 + " ON t (a)", {index(qn("", "t"), kLong64)}},
    {pg, "CREATE INDEX U&\"d\\0061t\\+000061\" ON t (a)", {index(qn("", "t"), "data")}},
    {pg, "CREATE INDEX U&\"d!0061t\" UESCAPE '!' ON t (a)", {index(qn("", "t"), "dat")}},
    {pg, "CREATE INDEX \"caf\xC3\xA9\" ON t (a)", {index(qn("", "t"), "caf\xC3\xA9")}},
    {crdb,
     "CREATE INDEX IF NOT EXISTS lookup ON omicron.public.sled (serial) STORING (x)",
     {index(qn("public", "sled", "omicron"), "lookup", false, true)}},
    {crdb,
     "CREATE UNIQUE INDEX IF NOT EXISTS u ON t (a) USING HASH",
     {index(qn("", "t"), "u", false, true, true)}},
    {crdb,
     "CREATE INVERTED INDEX IF NOT EXISTS j ON t (doc)",
     {index(qn("", "t"), "j", false, true)}},
    {pg, "CREATE INDEX ON t (a)", {}},
    {pg, "REINDEX INDEX CONCURRENTLY s.i", {reindex(qn("s", "i"))}},
    {pg, "REINDEX (CONCURRENTLY, VERBOSE) INDEX \"I\"", {reindex(qn("", "I"))}},
    {pg, "REINDEX INDEX i", {}},
    {pg, "REINDEX TABLE CONCURRENTLY t", {}},
    {pg, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", {constraint(add, qn("", "t"), "c")}},
    {pg,
     "ALTER TABLE IF EXISTS ONLY S.T ADD CONSTRAINT \"C\" FOREIGN KEY (a) REFERENCES u (id)",
     {constraint(add, qn("s", "t"), "C")}},
    {pg, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", {}},
    {pg, "ALTER TABLE t VALIDATE CONSTRAINT c", {constraint(validate, qn("", "t"), "c")}},
    {pg, "ALTER TABLE t ADD COLUMN a int UNIQUE CHECK (a > 0)", {}},
    {pg, "ALTER TABLE t ADD a int, ALTER COLUMN b SET NOT NULL", {}},
    {pg,
     "ALTER TABLE t ADD CONSTRAINT a UNIQUE (x, y), ADD CONSTRAINT b CHECK (f(x, y) > 0) NOT VALID,"
     " VALIDATE CONSTRAINT c, ADD COLUMN d int",
     {constraint(add, qn("", "t"), "a"), constraint(validate, qn("", "t"), "c")}},
    {crdb,
     "ALTER TABLE omicron.public.t ADD CONSTRAINT IF NOT EXISTS c CHECK (a > 0)",
     {constraint(add, qn("public", "t", "omicron"), "c", true)}},
    {crdb, "ALTER TABLE t ALTER PRIMARY KEY USING COLUMNS (a)", {}},
    {crdb, "CREATE TABLE t (a INT, INDEX i (a), FAMILY f (a))", {}},
    {pg, "ALTER INDEX i RENAME TO j", {}},
};

TEST(ClassifyStatement, FindsChangesThatNeedProof) {
  for (const ChangeRow& row : kChangeRows) {
    SCOPED_TRACE(testing::Message() << to_string(row.dialect) << ": " << row.sql);
    const Classification c = classify(row.sql, row.dialect);
    EXPECT_EQ(c.changes, row.changes);
  }
}

TEST(ClassifyStatement, ChangeOffsetIsTheStatementStart) {
  const std::string sql = "-- note\n  CREATE INDEX i ON t (a)";
  const Classification c = classify(sql, pg);
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].offset, 10u);
}

// ---- findings ----------------------------------------------------------------

struct FindingRow {
  Dialect dialect;
  std::string_view sql;
  Severity severity;
  std::string_view message;  // substring of message + " | " + hint
  int line;
  int column;
};

constexpr Severity error = Severity::error;
constexpr Severity warning = Severity::warning;

const FindingRow kFindingRows[] = {
    {pg, "CREATE INDEX ON t (a, lower(b))", warning, "cannot be verified by name", 1, 1},
    {pg, "CREATE INDEX ON t (a, lower(b))", warning, "t_a_expr_idx", 1, 1},
    {pg, "CREATE UNIQUE INDEX ON s.t USING btree (a, b)", warning, "t_a_b_idx", 1, 1},
    {pg, "ALTER TABLE t\n  ADD UNIQUE (a, b)", warning, "t_a_b_key", 2, 7},
    {pg, "ALTER TABLE t ADD CHECK (amount > 0)", warning, "t_amount_check", 1, 19},
    {pg, "ALTER TABLE t ADD FOREIGN KEY (u_id) REFERENCES u (id)", warning, "t_u_id_fkey", 1, 19},
    {pg, "ALTER TABLE t ADD PRIMARY KEY (id)", warning, "t_pkey", 1, 19},
    {pg, "ALTER TABLE t ADD UNIQUE (a)", warning, "cannot be verified by name", 1, 19},
    {pg, "CREATE INDEX i ON t (a) STORING (b)", error, "STORING", 1, 25},
    {pg, "CREATE INDEX i ON t (a) STORING (b)", error, "dialect\": \"cockroach", 1, 25},
    {pg, "CREATE INDEX i ON t (a) USING HASH", error, "USING HASH", 1, 25},
    {pg, "CREATE INVERTED INDEX i ON t (j)", error, "INVERTED INDEX", 1, 8},
    {pg, "SELECT * FROM t@i", error, "index hint", 1, 16},
    {pg, "UPSERT INTO t VALUES (1)", error, "UPSERT", 1, 1},
    {pg, "ALTER INDEX t @ t_pkey RENAME TO k", error, "index hint", 1, 15},
    {pg, "CREATE TYPE IF NOT EXISTS e AS ENUM ('a')", error, "CREATE TYPE IF NOT EXISTS", 1, 13},
    {pg, "CREATE VIEW IF NOT EXISTS v AS SELECT 1", error, "CREATE VIEW IF NOT EXISTS", 1, 13},
    {pg, "SELECT 1:::INT", error, ":::", 1, 9},
    {pg, "ALTER TABLE t ALTER PRIMARY KEY USING COLUMNS (a)", error, "ALTER PRIMARY KEY", 1, 15},
    {pg, "SET CLUSTER SETTING x = 1", error, "SET CLUSTER SETTING", 1, 1},
    {pg, "ALTER TABLE t ADD CONSTRAINT IF NOT EXISTS c CHECK (a > 0)", error,
     "ADD CONSTRAINT IF NOT EXISTS", 1, 19},
    {pg, "CREATE TABLE t (a INT, FAMILY f (a))", warning, "a column named family of type f", 1, 24},
    {pg, "CREATE TABLE t (a INT, INDEX i (a))", warning, "CockroachDB reads it as an index", 1, 24},
    {pg, "CREATE TABLE t (a INT, FAMILY (a))", error, "FAMILY", 1, 24},
    {pg, "CREATE TABLE t (a INT,\n  UNIQUE INDEX (a))", error, "index defined inside", 2, 3},
    {pg, "CREATE TABLE t (a INT,\n  b INT UNIQ)", warning, "PostgreSQL 15 grammar rejects", 2, 9},
    {crdb, "VACUUM t", error, "VACUUM is PostgreSQL-only", 1, 1},
    {crdb, "CLUSTER t USING i", error, "CLUSTER is PostgreSQL-only", 1, 1},
    {crdb, "REINDEX INDEX i", error, "REINDEX is PostgreSQL-only", 1, 1},
    {crdb, "ALTER SYSTEM SET x = 1", error, "ALTER SYSTEM is PostgreSQL-only", 1, 1},
    {crdb, "CREATE INDEX i ON ONLY p (a)", error, "ON ONLY is PostgreSQL-only", 1, 16},
    {crdb, "CREATE INDEX ON ONLY p (a)", error, "ON ONLY is PostgreSQL-only", 1, 14},
    {crdb, "CREATE TABLESPACE ts LOCATION '/x'", error, "CREATE TABLESPACE", 1, 1},
    {crdb, "DROP TABLESPACE ts", error, "DROP TABLESPACE", 1, 1},
    {crdb, "LISTEN c", error, "LISTEN is PostgreSQL-only", 1, 1},
    {crdb, "NOTIFY c", error, "NOTIFY is PostgreSQL-only", 1, 1},
};

TEST(ClassifyStatement, ReportsFindingsWithPositions) {
  for (const FindingRow& row : kFindingRows) {
    SCOPED_TRACE(testing::Message() << to_string(row.dialect) << ": " << row.sql);
    const Classification c = classify(row.sql, row.dialect);
    bool found = false;
    for (const Finding& f : c.findings) {
      const std::string text = f.message + " | " + f.hint;
      if (f.severity != row.severity || text.find(row.message) == std::string::npos) continue;
      const TextPosition at = position_at(row.sql, f.offset);
      EXPECT_EQ(at.line, row.line);
      EXPECT_EQ(at.column, row.column);
      found = true;
    }
    EXPECT_TRUE(found) << "findings:\n" << dump_findings(c);
  }
}

// Statements that must classify without any finding in their dialect.
const std::pair<Dialect, std::string_view> kCleanRows[] = {
    {pg, "CREATE INDEX i ON t USING hash (a)"},
    {pg, "CREATE OPERATOR FAMILY f USING btree"},
    {pg, "SELECT @ -5"},
    {pg, "SELECT a::int FROM t"},
    {pg, "ALTER TABLE t ADD CONSTRAINT c UNIQUE (a)"},
    {pg, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"},
    {pg, "ALTER TABLE t ADD CHECK (a > 0) NOT VALID"},
    {crdb, "CREATE INDEX IF NOT EXISTS i ON omicron.public.t (a) STORING (b)"},
    {crdb, "CREATE TABLE t (a INT PRIMARY KEY, b STRING ARRAY, INDEX (b), FAMILY (a, b))"},
    {crdb, "SELECT * FROM t@i WHERE a = 1:::INT8"},
    {crdb, "ALTER TABLE t ADD CONSTRAINT IF NOT EXISTS c CHECK (a > 0)"},
    {crdb, "CREATE TYPE IF NOT EXISTS e AS ENUM ('a')"},
    {crdb, "ALTER INDEX t @ t_pkey RENAME TO k"},
};

TEST(ClassifyStatement, AcceptsEachDialectsOwnSyntax) {
  for (const auto& [dialect, sql] : kCleanRows) {
    SCOPED_TRACE(testing::Message() << to_string(dialect) << ": " << sql);
    const Classification c = classify(sql, dialect);
    EXPECT_TRUE(c.findings.empty()) << dump_findings(c);
  }
}

// docs/contract.md section 8: in the postgres dialect nothing PostgreSQL's grammar accepts
// is rejected as CockroachDB syntax. Each row holds the words one
// CockroachDB-only check looks for, in a statement the grammar accepts (the
// oracle, pg_query_parse, confirms it); classification must raise no error.
const std::string_view kGrammarAcceptedLookalikes[] = {
    // FAMILY
    "SELECT * FROM t family WHERE a = 1",
    "SELECT a AS family FROM t",
    "SELECT family('10.0.0.1'::inet)",
    "SELECT pg_catalog.family('10.0.0.1'::inet)",
    "CREATE VIEW v AS SELECT CASE WHEN family(ip) = 4 THEN 'v4' ELSE 'v6' END AS family FROM t",
    "CREATE TABLE family (family int)",
    "ALTER TABLE t ADD COLUMN family int",
    "CREATE TABLE t (a int, family varchar(10))",
    "CREATE OPERATOR FAMILY f USING btree",
    // STORING
    "CREATE TABLE t (a int, storing int)",
    "SELECT storing (1) FROM t",
    "SELECT storing FROM t",
    // USING HASH
    "CREATE INDEX i ON t USING hash (a)",
    "CREATE INDEX i ON t USING HASH (a) WHERE a > 0",
    // INVERTED INDEX
    "CREATE TABLE inverted (index int)",
    "SELECT inverted index FROM t",
    // index defined inside CREATE TABLE
    "CREATE TABLE t (a int, index int)",
    "CREATE TABLE t (id int, index text, unique (index))",
    // table@index
    "SELECT a @ b FROM t",
    "SELECT * FROM t WHERE a@b",
    "SELECT @ -5",
    "SELECT x FROM t WHERE box1 @ box2",
    // ADD CONSTRAINT IF NOT EXISTS / ALTER PRIMARY KEY
    "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)",
    "SELECT 'ALTER PRIMARY KEY' AS alter",
    "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT 'ADD CONSTRAINT IF NOT EXISTS' $$",
    // ARRAY types and ::: casts
    "CREATE TABLE t (a int ARRAY, b text[])",
    "SELECT a::int, b:: text FROM t",
    "SELECT arr[1:2] FROM t",
    // UPSERT, SET CLUSTER SETTING, CREATE TYPE/VIEW IF NOT EXISTS as words
    "SELECT upsert FROM t",
    "CREATE TABLE upsert (a int)",
    "SET cluster_setting = 1",
    "CREATE VIEW ifne AS SELECT 'CREATE TYPE IF NOT EXISTS' AS x",
};

bool pg_grammar_accepts(std::string_view sql) {
  const std::string text(sql);
  PgQueryParseResult result = pg_query_parse(text.c_str());
  const bool accepted = result.error == nullptr;
  pg_query_free_parse_result(result);
  return accepted;
}

TEST(ClassifyStatement, NeverRejectsWhatThePostgresGrammarAcceptsAsCockroachSyntax) {
  for (std::string_view sql : kGrammarAcceptedLookalikes) {
    SCOPED_TRACE(sql);
    ASSERT_TRUE(pg_grammar_accepts(sql)) << "the oracle must accept the row";
    const Classification c = classify(sql, pg);
    EXPECT_EQ(dump_findings(c).find("error@"), std::string::npos) << dump_findings(c);
    EXPECT_EQ(dump_findings(c).find("CockroachDB syntax"), std::string::npos) << dump_findings(c);
  }
}

// The other direction: each check still names the CockroachDB construct of a
// statement the grammar rejects.
TEST(ClassifyStatement, NamesTheCockroachConstructOfEachStatementTheGrammarRejects) {
  for (const FindingRow& row : kFindingRows) {
    if (row.dialect != pg || row.severity != error) continue;
    SCOPED_TRACE(row.sql);
    EXPECT_FALSE(pg_grammar_accepts(row.sql)) << "an error row must be one the grammar rejects";
  }
}

TEST(ClassifyStatement, RerunHazardsNameMissingIfNotExists) {
  const struct {
    Dialect dialect;
    std::string_view sql;
    std::size_t hazards;
  } rows[] = {
      {pg, "CREATE INDEX CONCURRENTLY i ON t (a)", 1},
      {pg, "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", 0},
      {pg, "CREATE INDEX CONCURRENTLY ON t (a)", 0},  // unnamed: its own warning says it all
      {pg, "ALTER TABLE t ADD COLUMN a int", 1},
      {pg, "ALTER TABLE t ADD COLUMN IF NOT EXISTS a int", 0},
      {pg, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", 0},  // PostgreSQL has no IF NOT EXISTS
      {crdb, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", 1},
      {crdb, "ALTER TABLE t ADD CONSTRAINT IF NOT EXISTS c CHECK (a > 0), ADD COLUMN b INT", 1},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.sql);
    EXPECT_EQ(classify(row.sql, row.dialect).rerun_hazards.size(), row.hazards);
  }
}

TEST(ClassifyStatement, DetectsCommitInsideDoAndCall) {
  EXPECT_TRUE(classify("DO $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$", pg).commits_inside);
  EXPECT_FALSE(classify("DO $$ BEGIN PERFORM committed_rows(); END $$", pg).commits_inside);
  EXPECT_FALSE(classify("SELECT 'commit'", pg).commits_inside);
}

// Every prefix of every statement above (cut after any token) classifies
// without reading past the statement: offsets stay inside the text.
TEST(ClassifyStatement, HandlesEveryTruncatedStatement) {
  std::vector<std::string> sqls;
  for (const KindRow& row : kKindRows) sqls.emplace_back(row.sql);
  for (const ChangeRow& row : kChangeRows) sqls.push_back(row.sql);
  for (const FindingRow& row : kFindingRows) sqls.emplace_back(row.sql);
  std::size_t classified = 0;
  for (const std::string& sql : sqls) {
    const Statement full = whole(sql);
    for (std::size_t n = 1; n <= full.tokens.size(); ++n) {
      Statement cut = full;
      cut.tokens.resize(n);
      cut.end = cut.tokens.back().end;
      for (Dialect dialect : {pg, crdb}) {
        const Classification c = classify_statement(cut, sql, dialect);
        for (const Finding& f : c.findings) EXPECT_LE(f.offset, cut.end) << sql << " / " << n;
        for (const Change& ch : c.changes) EXPECT_EQ(ch.offset, cut.begin) << sql << " / " << n;
        ++classified;
      }
    }
  }
  EXPECT_GT(classified, 1000u);
}

TEST(QualifiedName, QuotesEveryPart) {
  EXPECT_EQ(qn("", "t").quoted(), "\"t\"");
  EXPECT_EQ(qn("public", "We\"ird").quoted(), "\"public\".\"We\"\"ird\"");
  EXPECT_EQ(qn("public", "t", "omicron").quoted(), "\"omicron\".\"public\".\"t\"");
}

}  // namespace
}  // namespace dbmig::sql
