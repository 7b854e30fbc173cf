// The PostgreSQL verification queries (sql/verify_query.h) run against a real
// server in every state that matters: each must return exactly one row with
// one boolean column, true only when the change is complete. States that
// need concurrency (an index still being built, a REINDEX CONCURRENTLY
// cancelled half-way) are produced for real: a second session holds an old
// snapshot, so the build waits in "waiting for old snapshots".
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "db/connection.h"
#include "sql/classify.h"
#include "sql/quoting.h"
#include "sql/splitter.h"
#include "sql/verify_query.h"
#include "support/pg_server.h"

namespace dbmig::sql {
namespace {

QualifiedName qualified(std::string schema, std::string name) {
  return QualifiedName{.database = "", .schema = std::move(schema), .name = std::move(name)};
}

// CREATE INDEX (or ON ONLY) `index` ON `table`; the index lives in the table's schema.
Change index_change(QualifiedName table, std::string index,
                    ChangeKind kind = ChangeKind::create_index) {
  Change change;
  change.kind = kind;
  change.object = qualified(table.schema, std::move(index));
  change.table = std::move(table);
  return change;
}

Change reindex_change(QualifiedName index) {
  Change change;
  change.kind = ChangeKind::reindex_concurrently;
  change.concurrently = true;
  change.object = std::move(index);
  return change;
}

Change constraint_change(QualifiedName table, std::string constraint,
                         ChangeKind kind = ChangeKind::add_constraint) {
  Change change;
  change.kind = kind;
  change.object = qualified(table.schema, std::move(constraint));
  change.table = std::move(table);
  return change;
}

// Runs change's PostgreSQL proof on `connection` and checks its shape (one
// row, one boolean column, not NULL) and its value.
::testing::AssertionResult proves(db::Connection& connection, const Change& change, bool expected) {
  const std::string query = verify_query(change, Dialect::postgres);
  try {
    db::Result result = connection.exec(query);
    if (result.rows() != 1 || result.columns() != 1) {
      return ::testing::AssertionFailure()
             << result.rows() << " rows x " << result.columns() << " columns from\n"
             << query;
    }
    db::Result type =
        connection.exec("SELECT pg_catalog.pg_typeof(v)::text FROM (" + query + ") AS q(v)");
    if (type.get(0, 0) != "boolean" || result.is_null(0, 0)) {
      return ::testing::AssertionFailure()
             << "not a non-NULL boolean (" << type.get(0, 0) << ") from\n"
             << query;
    }
    const bool actual = result.get(0, 0) == "t";
    if (actual != expected) {
      return ::testing::AssertionFailure()
             << "returned " << actual << ", expected " << expected << ", from\n"
             << query;
    }
    return ::testing::AssertionSuccess();
  } catch (const db::DbError& error) {
    return ::testing::AssertionFailure()
           << "query failed (" << error.sqlstate() << "): " << error.what() << "\n"
           << query;
  }
}

struct Row {
  std::string what;
  std::vector<std::string> setup;  // each statement run on its own, in autocommit
  // A last setup statement that must fail with this SQLSTATE (e.g. a CIC over duplicates).
  std::optional<std::pair<std::string, std::string>> failing;
  Change change;
  bool expected;
};

// Drops every user schema and recreates an empty public: each row starts
// from an empty database (cheaper than a CREATE DATABASE per row).
void reset_schemas(db::Connection& connection) {
  db::Result schemas = connection.exec(
      "SELECT pg_catalog.quote_ident(nspname) FROM pg_catalog.pg_namespace"
      " WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'");
  for (int i = 0; i < schemas.rows(); ++i) {
    connection.exec("DROP SCHEMA " + std::string(schemas.get(i, 0)) + " CASCADE");
  }
  connection.exec("CREATE SCHEMA public");
}

void run_rows(const std::vector<Row>& rows) {
  const auto database = test::TestDatabase::create();
  db::Connection connection = database.connect();
  for (const auto& row : rows) {
    SCOPED_TRACE(row.what);
    reset_schemas(connection);
    for (const auto& statement : row.setup) connection.exec(statement);
    if (row.failing) {
      try {
        connection.exec(row.failing->first);
        ADD_FAILURE() << "setup statement should have failed: " << row.failing->first;
      } catch (const db::DbError& error) {
        EXPECT_EQ(error.sqlstate(), row.failing->second) << error.what();
      }
    }
    EXPECT_TRUE(proves(connection, row.change, row.expected));
  }
}

const std::string kTable = "CREATE TABLE t (x int)";
const std::string kDuplicates = "INSERT INTO t VALUES (1), (1)";
const QualifiedName kT = qualified("public", "t");

class VerifyQueryPg : public ::testing::Test {
 protected:
  void SetUp() override { DBMIG_REQUIRE_SERVER(); }
};

TEST_F(VerifyQueryPg, CreateIndexIsTrueOnlyForAValidIndexOnTheNamedTable) {
  run_rows({
      {"plain index", {kTable, "CREATE INDEX t_x ON t (x)"}, {}, index_change(kT, "t_x"), true},
      {"built concurrently",
       {kTable, "CREATE INDEX CONCURRENTLY t_x ON t (x)"},
       {},
       index_change(kT, "t_x"),
       true},
      {"unique, concurrently",
       {kTable, "CREATE UNIQUE INDEX CONCURRENTLY t_x ON t (x)"},
       {},
       index_change(kT, "t_x"),
       true},
      {"INVALID after a failed unique CIC",
       {kTable, kDuplicates},
       std::pair<std::string, std::string>{"CREATE UNIQUE INDEX CONCURRENTLY t_x ON t (x)",
                                           "23505"},
       index_change(kT, "t_x"),
       false},
      {"index missing", {kTable}, {}, index_change(kT, "t_x"), false},
      {"table missing", {}, {}, index_change(kT, "t_x"), false},
      {"same name on another table",
       {kTable, "CREATE TABLE u (x int)", "CREATE INDEX t_x ON u (x)"},
       {},
       index_change(kT, "t_x"),
       false},
      {"same name in another schema",
       {kTable, "CREATE SCHEMA other", "CREATE TABLE other.t (x int)",
        "CREATE INDEX t_x ON other.t (x)"},
       {},
       index_change(kT, "t_x"),
       false},
      {"unqualified table resolves to the current schema",
       {kTable, "CREATE INDEX t_x ON t (x)"},
       {},
       index_change(qualified("", "t"), "t_x"),
       true},
      {"unqualified table, index missing",
       {kTable},
       {},
       index_change(qualified("", "t"), "t_x"),
       false},
  });
}

TEST_F(VerifyQueryPg, CreateIndexHandlesQuotedMixedCaseAndSchemaQualifiedNames) {
  const std::vector<std::string> setup = {
      "CREATE SCHEMA \"App\"",
      "CREATE TABLE \"App\".\"Users\" (\"Email\" text)",
      "CREATE INDEX \"Users_Email_idx\" ON \"App\".\"Users\" (\"Email\")",
      "CREATE SCHEMA app",
      "CREATE TABLE app.users (email text)",
      "CREATE TABLE \"we\"\"ird\" (x int)",
      "CREATE INDEX \"it's\" ON \"we\"\"ird\" (x)",
  };
  run_rows({
      {"mixed case, qualified",
       setup,
       {},
       index_change(qualified("App", "Users"), "Users_Email_idx"),
       true},
      {"folded name is another table",
       setup,
       {},
       index_change(qualified("app", "users"), "Users_Email_idx"),
       false},
      {"folded index name",
       setup,
       {},
       index_change(qualified("App", "Users"), "users_email_idx"),
       false},
      {"quote characters in names",
       setup,
       {},
       index_change(qualified("public", "we\"ird"), "it's"),
       true},
  });
}

TEST_F(VerifyQueryPg, CreateIndexOnOnlyIsTrueOnceTheInvalidParentIndexExists) {
  const std::vector<std::string> partitioned = {
      "CREATE TABLE p (x int) PARTITION BY RANGE (x)",
      "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10)",
  };
  std::vector<std::string> with_index = partitioned;
  with_index.push_back("CREATE INDEX p_x ON ONLY p (x)");
  const QualifiedName p = qualified("public", "p");
  run_rows({
      {"ON ONLY index exists (INVALID)",
       with_index,
       {},
       index_change(p, "p_x", ChangeKind::create_index_on_only),
       true},
      {"the same index is not a valid plain index", with_index, {}, index_change(p, "p_x"), false},
      {"ON ONLY index missing",
       partitioned,
       {},
       index_change(p, "p_x", ChangeKind::create_index_on_only),
       false},
      {"ON ONLY, table missing",
       {},
       {},
       index_change(p, "p_x", ChangeKind::create_index_on_only),
       false},
  });
}

TEST_F(VerifyQueryPg, ReindexConcurrentlyIsTrueForAValidIndexWithoutLeftovers) {
  const std::vector<std::string> reindexed = {kTable, "CREATE INDEX t_x ON t (x)",
                                              "REINDEX INDEX CONCURRENTLY t_x"};
  std::vector<std::string> ccold = reindexed;
  ccold.push_back("CREATE INDEX t_x_ccold ON t (x)");
  std::vector<std::string> ccnew_setup = reindexed;
  ccnew_setup.push_back(kDuplicates);
  const std::vector<std::string> app = {"CREATE SCHEMA \"App\"", "CREATE TABLE \"App\".t (x int)",
                                        "CREATE INDEX \"T_x\" ON \"App\".t (x)",
                                        "REINDEX INDEX CONCURRENTLY \"App\".\"T_x\""};
  run_rows({
      {"reindexed", reindexed, {}, reindex_change(qualified("public", "t_x")), true},
      {"reindexed, unqualified", reindexed, {}, reindex_change(qualified("", "t_x")), true},
      {"INVALID _ccnew leftover", ccnew_setup,
       std::pair<std::string, std::string>{"CREATE UNIQUE INDEX CONCURRENTLY t_x_ccnew ON t (x)",
                                           "23505"},
       reindex_change(qualified("public", "t_x")), false},
      {"_ccold leftover", ccold, {}, reindex_change(qualified("public", "t_x")), false},
      {"index missing", {kTable}, {}, reindex_change(qualified("public", "t_x")), false},
      {"mixed case, qualified", app, {}, reindex_change(qualified("App", "T_x")), true},
      {"other schema does not count", app, {}, reindex_change(qualified("public", "T_x")), false},
  });
}

TEST_F(VerifyQueryPg, ConstraintIsTrueOnlyOnceValidated) {
  const std::string not_valid = "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (x > 0) NOT VALID";
  const std::vector<std::string> pending = {kTable, not_valid};
  const std::vector<std::string> validated = {kTable, not_valid,
                                              "ALTER TABLE t VALIDATE CONSTRAINT t_pos"};
  const std::vector<std::string> foreign_key = {
      "CREATE TABLE parent (id int PRIMARY KEY)", "CREATE TABLE child (pid int)",
      "ALTER TABLE child ADD CONSTRAINT child_fk FOREIGN KEY (pid) REFERENCES parent NOT VALID"};
  std::vector<std::string> foreign_key_validated = foreign_key;
  foreign_key_validated.push_back("ALTER TABLE child VALIDATE CONSTRAINT child_fk");
  const QualifiedName child = qualified("public", "child");
  run_rows({
      {"NOT VALID check, add", pending, {}, constraint_change(kT, "t_pos"), false},
      {"NOT VALID check, validate",
       pending,
       {},
       constraint_change(kT, "t_pos", ChangeKind::validate_constraint),
       false},
      {"validated check, add", validated, {}, constraint_change(kT, "t_pos"), true},
      {"validated check, validate",
       validated,
       {},
       constraint_change(kT, "t_pos", ChangeKind::validate_constraint),
       true},
      {"added valid",
       {kTable, "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (x > 0)"},
       {},
       constraint_change(kT, "t_pos"),
       true},
      {"unique constraint",
       {kTable, "ALTER TABLE t ADD CONSTRAINT t_uq UNIQUE (x)"},
       {},
       constraint_change(kT, "t_uq"),
       true},
      {"NOT VALID foreign key", foreign_key, {}, constraint_change(child, "child_fk"), false},
      {"validated foreign key",
       foreign_key_validated,
       {},
       constraint_change(child, "child_fk", ChangeKind::validate_constraint),
       true},
      {"constraint missing", {kTable}, {}, constraint_change(kT, "t_pos"), false},
      {"table missing", {}, {}, constraint_change(kT, "t_pos"), false},
      {"same name on another table",
       {kTable, "CREATE TABLE u (x int)", "ALTER TABLE u ADD CONSTRAINT t_pos CHECK (x > 0)"},
       {},
       constraint_change(kT, "t_pos"),
       false},
      {"unqualified table", validated, {}, constraint_change(qualified("", "t"), "t_pos"), true},
      {"mixed case, qualified",
       {"CREATE SCHEMA \"App\"", "CREATE TABLE \"App\".\"T\" (x int)",
        "ALTER TABLE \"App\".\"T\" ADD CONSTRAINT \"T_Pos\" CHECK (x > 0)"},
       {},
       constraint_change(qualified("App", "T"), "T_Pos"),
       true},
  });
}

// End to end: real statements are classified, and the proof of every change
// classification finds is false before the statement runs (where the object
// does not exist yet) and true after, so that classification's name folding
// and the queries agree with the server.
TEST_F(VerifyQueryPg, ClassifiedStatementsAreProvedAfterTheyRun) {
  struct StatementRow {
    std::vector<std::string> setup;
    std::string statement;
    std::size_t changes;
    std::optional<bool> before;  // nullopt: the proof may already hold (REINDEX)
  };
  const std::vector<std::string> app_users = {"CREATE SCHEMA \"App\"",
                                              "CREATE TABLE \"App\".\"Users\" (\"Email\" text)"};
  const std::vector<std::string> folded_users = {"CREATE SCHEMA app",
                                                 "CREATE TABLE app.users (email text)"};
  const std::vector<StatementRow> rows = {
      {app_users,
       "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"Users_Email_idx\" ON \"App\".\"Users\" "
       "(\"Email\")",
       1, false},
      {folded_users, "CREATE UNIQUE INDEX Users_Email ON App.Users (Email)", 1, false},
      {{kTable}, "create index concurrently t_x on t using btree (x)", 1, false},
      {{"CREATE TABLE p (x int) PARTITION BY RANGE (x)",
        "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10)"},
       "CREATE INDEX p_x ON ONLY p (x)",
       1,
       false},
      {{kTable, "CREATE INDEX t_x ON t (x)"},
       "REINDEX INDEX CONCURRENTLY public.t_x",
       1,
       std::nullopt},
      {{kTable}, "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (x > 0)", 1, false},
      {{"CREATE TABLE \"T\" (x int)",
        "ALTER TABLE \"T\" ADD CONSTRAINT \"Pos\" CHECK (x > 0) NOT VALID"},
       "ALTER TABLE \"T\" VALIDATE CONSTRAINT \"Pos\"",
       1,
       false},
      {{kTable}, "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (x > 0) NOT VALID", 0, std::nullopt},
  };
  const auto database = test::TestDatabase::create();
  db::Connection connection = database.connect();
  for (const auto& row : rows) {
    SCOPED_TRACE(row.statement);
    reset_schemas(connection);
    for (const auto& statement : row.setup) connection.exec(statement);
    const auto statements = split_statements(row.statement);
    ASSERT_TRUE(statements.has_value() && statements->size() == 1u);
    const Classification classification =
        classify_statement(statements->front(), row.statement, Dialect::postgres);
    ASSERT_EQ(classification.changes.size(), row.changes);
    for (const auto& change : classification.changes) {
      if (row.before) {
        EXPECT_TRUE(proves(connection, change, *row.before)) << "before";
      }
    }
    connection.exec(row.statement);
    for (const auto& change : classification.changes) {
      EXPECT_TRUE(proves(connection, change, true)) << "after";
    }
  }
}

// A fresh database with table t (1000 rows) and a second session whose
// REPEATABLE READ snapshot makes any concurrent index build wait in
// "waiting for old snapshots" until release_snapshot().
class ConcurrentBuild : public test::DatabaseTest {
 protected:
  void SetUp() override {
    test::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    connection_.emplace(connect());
    connection_->exec_script(
        "CREATE TABLE t (x int); INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
    connection_->exec("CREATE TABLE unrelated (y int)");
    snapshot_holder_.emplace(connect());
    snapshot_holder_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
    snapshot_holder_->exec("SELECT count(*) FROM unrelated");
  }

  void release_snapshot() { snapshot_holder_->exec("COMMIT"); }

  // Waits until a build on t is in `phase` (pg_stat_progress_create_index).
  ::testing::AssertionResult wait_for_phase(const std::string& phase) {
    for (int attempt = 0; attempt < 3000; ++attempt) {
      db::Result result = connection_->exec_params(
          "SELECT 1 FROM pg_catalog.pg_stat_progress_create_index"
          " WHERE relid = 'public.t'::regclass AND phase = $1",
          {phase});
      if (result.rows() == 1) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return ::testing::AssertionFailure() << "no build reached phase " << phase;
  }

  std::optional<db::Connection> connection_;
  std::optional<db::Connection> snapshot_holder_;
};

TEST_F(ConcurrentBuild, IndexIsFalseWhileBuiltConcurrentlyThenTrue) {
  db::Connection builder = connect();
  auto build = std::async(std::launch::async,
                          [&] { builder.exec("CREATE INDEX CONCURRENTLY t_x ON t (x)"); });
  ASSERT_TRUE(wait_for_phase("waiting for old snapshots"));
  db::Result row = connection_->exec(
      "SELECT indisready, indisvalid FROM pg_catalog.pg_index WHERE indexrelid = "
      "'public.t_x'::regclass");
  ASSERT_EQ(row.rows(), 1) << "the index row exists while it is being built";
  EXPECT_EQ(row.get(0, 1), "f");
  EXPECT_TRUE(proves(*connection_, index_change(kT, "t_x"), false));
  release_snapshot();
  build.get();
  EXPECT_TRUE(proves(*connection_, index_change(kT, "t_x"), true));
}

// Index names that REINDEX CONCURRENTLY's leftovers are derived from: plain,
// mixed case (quoted), and 63 bytes (PostgreSQL clips it to fit "_ccnew").
class CancelledReindex : public ConcurrentBuild,
                         public ::testing::WithParamInterface<std::string> {};

TEST_P(CancelledReindex, IsFalseWhileRunningAndWhileItsCcnewIsLeftOver) {
  const std::string& index = GetParam();
  const std::string quoted = quote_identifier(index);
  const Change change = reindex_change(qualified("public", index));
  connection_->exec("CREATE INDEX " + quoted + " ON t (x)");
  // The snapshot must predate the REINDEX's own: retake it now that the index exists.
  snapshot_holder_->exec("COMMIT");
  snapshot_holder_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  snapshot_holder_->exec("SELECT count(*) FROM unrelated");
  db::Connection reindexer = connect();
  auto reindex = std::async(std::launch::async, [&]() -> std::string {
    try {
      reindexer.exec("REINDEX INDEX CONCURRENTLY " + quoted);
      return "completed";
    } catch (const db::DbError& error) {
      return error.sqlstate();
    }
  });
  ASSERT_TRUE(wait_for_phase("waiting for old snapshots"));
  EXPECT_TRUE(proves(*connection_, change, false)) << "while running";
  reindexer.cancel();
  EXPECT_EQ(reindex.get(), "57014");
  release_snapshot();
  db::Result leftover = connection_->exec(
      "SELECT pg_catalog.quote_ident(c.relname), i.indisvalid FROM pg_catalog.pg_index i"
      " JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
      " WHERE i.indrelid = 'public.t'::regclass AND c.relname ~ '_ccnew[0-9]*$'");
  ASSERT_EQ(leftover.rows(), 1) << "a cancelled REINDEX CONCURRENTLY leaves a _ccnew index";
  EXPECT_EQ(leftover.get(0, 1), "f");
  EXPECT_TRUE(proves(*connection_, change, false)) << "with leftover " << leftover.get(0, 0);
  connection_->exec("DROP INDEX " + std::string(leftover.get(0, 0)));
  EXPECT_TRUE(proves(*connection_, change, true)) << "leftover dropped";
  connection_->exec("REINDEX INDEX CONCURRENTLY " + quoted);
  EXPECT_TRUE(proves(*connection_, change, true)) << "reindexed";
}

INSTANTIATE_TEST_SUITE_P(IndexNames, CancelledReindex,
                         ::testing::Values("t_x", "T_Mixed Case", std::string(63, 'i')));

}  // namespace
}  // namespace dbmig::sql
