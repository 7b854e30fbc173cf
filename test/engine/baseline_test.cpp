// engine::baseline against a real PostgreSQL: it records exactly the
// versions the other tool's history table marks applied (or up to --to),
// only after their proofs hold, refusing gaps, dirty/failed records and a
// database dbmig already manages; a following apply finishes the rest.
#include "engine/baseline.h"

#include <gtest/gtest.h>

#include <sstream>

#include "engine/commands.h"
#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using test::MigrationTree;

const std::string kTable = "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT);\n";
const std::string kIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n";
const std::string kColumn = "ALTER TABLE t ADD COLUMN IF NOT EXISTS y INT;\n";

// A goose-imported tree: versions 1, 2, 3 in dbmig.json's map.
std::vector<test::FileRow> goose_tree() {
  return {{"dbmig.json", R"({"imported_from": {"format": "goose", "versions": )"
                         R"({"1": "00001_t", "2": "00002_index", "3": "00003_column"}}})"},
          {"00001_t/up.sql", kTable},
          {"00002_index/up.sql", kIndex},
          {"00003_column/up.sql", kColumn}};
}

struct Outcome {
  ExitCode code = ExitCode::ok;
  std::string message;
  std::string out;
};

class BaselineTest : public test::DatabaseTest {
 protected:
  Outcome baseline(const migration::Plan& plan, BaselineOptions options) {
    std::ostringstream out;
    std::ostringstream err;
    Reporter reporter({}, out, err);
    Outcome outcome;
    try {
      outcome.code = engine::baseline(plan, {.conninfo = conninfo(), .state_schema = "dbmig"},
                                      options, reporter);
    } catch (const Failure& failure) {
      outcome.code = failure.code();
      outcome.message = failure.what();
    }
    outcome.out = out.str();
    return outcome;
  }
  void exec(const std::string& sql) {
    db::Connection connection = connect();
    connection.exec_script(sql);
  }
  std::string value(const std::string& sql) {
    db::Connection connection = connect();
    return test::query_value(connection, sql);
  }
  void goose_history(const std::string& rows) {
    exec(
        "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, "
        "is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())");
    exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES " + rows);
  }
};

TEST_F(BaselineTest, RecordsWhatGooseAppliedAfterItsProofsThenApplyFinishes) {
  MigrationTree tree(goose_tree());
  exec(kTable);
  exec(kIndex);
  goose_history("(0, true), (1, true), (2, true), (3, true), (3, false)");
  const Outcome outcome =
      baseline(tree.plan(), {.to = {}, .from_tool = "goose", .history_table = {}});
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.message;
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "00002_index");
  EXPECT_EQ(value("SELECT count(*) FROM dbmig.steps WHERE state = 'verified'"), "2");
  EXPECT_NE(outcome.out.find("recorded without proof: 00001_t"), std::string::npos) << outcome.out;
  const test::ApplyOutcome applied = test::run_apply(tree.plan(), conninfo());
  ASSERT_EQ(applied.code, ExitCode::ok) << applied.describe();
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "00003_column");
  EXPECT_EQ(value("SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND "
                  "attname = 'y'"),
            "1");
}

TEST_F(BaselineTest, RefusesAGapAProofThatFailsAndADatabaseDbmigManages) {
  struct Row {
    std::string label;
    std::vector<std::string> setup;  // after the table exists
    std::string history;
    ExitCode code;
    std::string message;
  };
  const std::vector<Row> rows = {
      {"gap",
       {kIndex, kColumn},
       "(1, true), (3, true)",
       ExitCode::usage_error,
       "00002_index is not applied but a later version is"},
      {"index missing",
       {},
       "(1, true), (2, true)",
       ExitCode::check_failed,
       "00002_index/up.sql: index \"t_x_idx\" on \"t\" is valid, ready and live does not hold"},
      {"unknown version", {}, "(1, true), (7, true)", ExitCode::usage_error, "records version 7"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.label);
    SetUp();
    MigrationTree tree(goose_tree());
    exec(kTable);
    for (const std::string& sql : row.setup) exec(sql);
    goose_history(row.history);
    const Outcome outcome =
        baseline(tree.plan(), {.to = {}, .from_tool = "goose", .history_table = {}});
    EXPECT_EQ(outcome.code, row.code) << outcome.message;
    EXPECT_NE(outcome.message.find(row.message), std::string::npos) << outcome.message;
    EXPECT_EQ(value("SELECT to_regclass('dbmig.steps') IS NULL"), "t")
        << "nothing recorded: the state tables were not even created";
  }
}

TEST_F(BaselineTest, ToRecordsAPrefixAndRefusesASecondBaseline) {
  MigrationTree tree(goose_tree());
  exec(kTable);
  exec(kIndex);
  ASSERT_EQ(baseline(tree.plan(), {.to = "00002_index", .from_tool = {}, .history_table = {}}).code,
            ExitCode::ok);
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "00002_index");
  const Outcome again =
      baseline(tree.plan(), {.to = "00002_index", .from_tool = {}, .history_table = {}});
  EXPECT_EQ(again.code, ExitCode::usage_error);
  EXPECT_NE(again.message.find("already recorded"), std::string::npos) << again.message;
}

TEST_F(BaselineTest, ReadsEachToolsHistoryAndRefusesItsFailedRecords) {
  struct Row {
    std::string format;
    std::string history_sql;
    ExitCode code;
    std::string message;  // "" when it succeeds
  };
  const std::vector<Row> rows = {
      {"golang-migrate",
       "CREATE TABLE schema_migrations (version bigint NOT NULL, dirty boolean NOT NULL);"
       "INSERT INTO schema_migrations VALUES (2, false)",
       ExitCode::ok, ""},
      {"golang-migrate",
       "CREATE TABLE schema_migrations (version bigint NOT NULL, dirty boolean NOT NULL);"
       "INSERT INTO schema_migrations VALUES (2, true)",
       ExitCode::usage_error, "is dirty at version 2"},
      {"dbmate",
       "CREATE TABLE schema_migrations (version bigint NOT NULL, dirty boolean NOT NULL);"
       "INSERT INTO schema_migrations VALUES (2, false)",
       ExitCode::usage_error, "it is golang-migrate's history table"},
      {"dbmate",
       "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
       "INSERT INTO schema_migrations VALUES ('1'), ('2')",
       ExitCode::ok, ""},
      {"diesel",
       "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on "
       "timestamp DEFAULT now()); INSERT INTO __diesel_schema_migrations VALUES ('1'), ('2')",
       ExitCode::ok, ""},
      {"prisma",
       "CREATE TABLE _prisma_migrations (migration_name text, finished_at timestamptz, "
       "rolled_back_at timestamptz); INSERT INTO _prisma_migrations VALUES ('1', now(), NULL), "
       "('2', NULL, now()), ('2', now(), NULL)",
       ExitCode::ok, ""},
      {"prisma",
       "CREATE TABLE _prisma_migrations (migration_name text, finished_at timestamptz, "
       "rolled_back_at timestamptz); INSERT INTO _prisma_migrations VALUES ('1', now(), NULL), "
       "('2', NULL, NULL)",
       ExitCode::usage_error, "neither finished nor rolled back"},
      {"flyway",
       "CREATE TABLE flyway_schema_history (installed_rank int, version text, type text, "
       "success boolean); INSERT INTO flyway_schema_history VALUES (1, '1', 'BASELINE', true), "
       "(2, '2.0', 'SQL', true)",
       ExitCode::ok, ""},
      {"flyway",
       "CREATE TABLE flyway_schema_history (installed_rank int, version text, type text, "
       "success boolean); INSERT INTO flyway_schema_history VALUES (1, '1', 'SQL', true), "
       "(2, '2', 'SQL', false)",
       ExitCode::usage_error, "recorded as failed"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.format + ": " + row.history_sql);
    SetUp();
    MigrationTree tree({{"dbmig.json", R"({"imported_from": {"format": ")" + row.format +
                                           R"(", "versions": {"1": "1_t", "2": "2_index"}}})"},
                        {"1_t/up.sql", kTable},
                        {"2_index/up.sql", kIndex},
                        {"3_column/up.sql", kColumn}});
    exec(kTable);
    exec(kIndex);
    exec(row.history_sql);
    const Outcome outcome =
        baseline(tree.plan(), {.to = {}, .from_tool = row.format, .history_table = {}});
    EXPECT_EQ(outcome.code, row.code) << outcome.message;
    if (row.message.empty()) {
      EXPECT_EQ(value("SELECT version FROM dbmig.state"), "2_index");
    } else {
      EXPECT_NE(outcome.message.find(row.message), std::string::npos) << outcome.message;
    }
  }
}

}  // namespace
}  // namespace dbmig::engine
