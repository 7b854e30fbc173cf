// Issue 13 item 4: step-rule warnings are printed by apply only for the steps
// it is about to run, and by status not at all.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig {
namespace {

using test::FileRow;

class StepWarningsTest : public test::DatabaseTest {};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(StepWarningsTest, ApplyReportsOnlyTheStepsItRunsAndStatusNone) {
  DBMIG_REQUIRE_SERVER();
  const test::MigrationTree tree(std::vector<FileRow>{
      {"1-a/up.sql", "CREATE TABLE t (a int, b int);\nINSERT INTO t VALUES (1, 2);"},
      {"2-b/up.sql",
       "-- dbmig:allow ddl-mixed-with-dml\nCREATE TABLE u (a int);\nINSERT INTO u VALUES (1);"},
      {"3-c/up.sql", "CREATE TABLE v (a int);\nINSERT INTO v VALUES (1);"},
  });
  engine::ApplyOptions options = test::fast_apply_options();
  options.to = "1";
  const test::ApplyOutcome first = test::run_apply(tree.plan(), conninfo(), options);
  ASSERT_EQ(first.code, ExitCode::ok) << first.describe();
  EXPECT_TRUE(contains(first.err,
                       "1-a/up.sql:1:1: warning: step mixes DDL with DML (data changes) "
                       "[ddl-mixed-with-dml]"))
      << first.err;
  EXPECT_FALSE(contains(first.err, "3-c")) << "3-c is beyond --to\n" << first.err;

  const test::ApplyOutcome second = test::run_apply(tree.plan(), conninfo());
  ASSERT_EQ(second.code, ExitCode::ok) << second.describe();
  EXPECT_FALSE(contains(second.err, "1-a")) << "1-a is verified already\n" << second.err;
  EXPECT_FALSE(contains(second.err, "2-b")) << "2-b's warning is allowed\n" << second.err;
  EXPECT_TRUE(contains(second.err, "3-c/up.sql:1:1: warning:")) << second.err;

  test::ProcessOptions status =
      test::dbmig_command(tree.tree().root(), {"status", "--db", conninfo()});
  const test::ProcessResult result = test::Process::spawn(status).wait();
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_FALSE(contains(result.err, "warning")) << result.err;
}

}  // namespace
}  // namespace dbmig
