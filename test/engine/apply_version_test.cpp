// engine::apply of statements that only some supported PostgreSQL majors
// accept. CI runs this file against 13, 15 and 18 (scripts/test.sh), so each
// row is exercised on both sides of its version boundary: from the major that
// introduced the feature the step applies and its effect (and, where the step
// has one, its proof) holds; on an older server the step fails with the
// server's syntax error, is recorded as failed, and the version stays where
// it was. The branch is on the server's own version, read once, never on an
// expected error text alone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using test::ApplyOutcome;
using test::FileRow;
using test::MigrationTree;

struct VersionedFeatureRow {
  std::string label;
  int since_major = 0;         // the first PostgreSQL major that accepts the feature
  std::vector<FileRow> files;  // the last version uses the feature
  std::string before;          // the version recorded before the last one
  std::string last;            // the last version
  std::string failing_step;    // file of the step that an older server rejects
  std::string check;           // once applied, this query ...
  std::string expected;        // ... returns this
};

const std::string kTable = "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n";

const VersionedFeatureRow kVersionedFeatureRows[] = {
    {"CREATE FUNCTION with a BEGIN ATOMIC body of several statements",
     14,
     {{"0001-t/up.sql", kTable},
      {"0002-f/up.sql",
       "CREATE FUNCTION add_one(i INT) RETURNS INT LANGUAGE sql\n"
       "BEGIN ATOMIC\n"
       "  SELECT i + 0;\n"
       "  SELECT i + 1;\n"
       "END;\n"}},
     "0001-t",
     "0002-f",
     "0002-f/up.sql",
     "SELECT add_one(41)",
     "42"},
    {"ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (a non-transactional step)",
     14,
     {{"0001-p/up.sql", "CREATE TABLE p (id INT) PARTITION BY RANGE (id);\n"},
      {"0002-p1/up.sql", "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);\n"},
      {"0003-detach/up.sql", "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;\n"}},
     "0002-p1",
     "0003-detach",
     "0003-detach/up.sql",
     "SELECT count(*) FROM pg_inherits WHERE inhparent = 'p'::regclass",
     "0"},
    {"a NOT NULL constraint added NOT VALID, then validated (proved by pg_constraint)",
     18,
     {{"0001-t/up.sql", kTable},
      {"0002-nn/up1.sql", "ALTER TABLE t ADD CONSTRAINT t_x_not_null NOT NULL x NOT VALID;\n"},
      {"0002-nn/up2.sql", "ALTER TABLE t VALIDATE CONSTRAINT t_x_not_null;\n"}},
     "0001-t",
     "0002-nn",
     "0002-nn/up1.sql",
     "SELECT convalidated AND attnotnull FROM pg_constraint"
     " JOIN pg_attribute ON attrelid = conrelid AND attname = 'x'"
     " WHERE conname = 't_x_not_null'",
     "t"},
};

class ApplyVersionTest : public test::DatabaseTest {};

TEST_F(ApplyVersionTest, FeatureAppliesFromItsMajorAndFailsCleanlyBeforeIt) {
  const int major = test::shared_server_version() / 10000;
  ASSERT_GE(major, 13) << "dbmig supports PostgreSQL 13 and later";
  for (const VersionedFeatureRow& row : kVersionedFeatureRows) {
    SCOPED_TRACE(row.label + " on PostgreSQL " + std::to_string(major));
    const test::TestDatabase database = test::TestDatabase::create();
    const MigrationTree tree(row.files);
    const ApplyOutcome outcome = test::run_apply(tree.plan(), database.conninfo());
    auto state = test::connect_to(database.conninfo());
    const std::string recorded = test::query_value(*state, "SELECT version FROM dbmig.state");
    if (major >= row.since_major) {
      ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
      EXPECT_EQ(recorded, row.last);
      EXPECT_EQ(test::query_value(*state,
                                  "SELECT count(*) FROM dbmig.steps"
                                  " WHERE state <> 'verified'"),
                "0");
      EXPECT_EQ(test::query_value(*state, row.check), row.expected);
    } else {
      ASSERT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
      EXPECT_NE(outcome.message.find("syntax error"), std::string::npos) << outcome.message;
      EXPECT_NE(outcome.message.find(row.failing_step), std::string::npos) << outcome.message;
      EXPECT_EQ(recorded, row.before);
      EXPECT_EQ(test::query_value(*state,
                                  "SELECT count(*) FROM dbmig.steps WHERE state = 'failed'"
                                  " AND version = '" +
                                      row.last + "'"),
                "1");
    }
  }
}

}  // namespace
}  // namespace dbmig::engine
