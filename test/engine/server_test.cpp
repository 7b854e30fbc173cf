#include "engine/server.h"

#include <gtest/gtest.h>

#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

class ServerTest : public test::DatabaseTest {};

sql::Change index_change(const std::string& schema, const std::string& table,
                         const std::string& index) {
  sql::Change change;
  change.kind = sql::ChangeKind::create_index;
  change.table = {"", schema, table};
  change.object = {"", schema, index};
  change.concurrently = true;
  return change;
}

TEST(SchemaChangeJobQuery, IsPinned) {
  EXPECT_EQ(schema_change_job_query(),
            "SELECT job_id::STRING, status, fraction_completed, COALESCE(error, '')"
            " FROM crdb_internal.jobs WHERE job_type IN ('SCHEMA CHANGE', 'NEW SCHEMA CHANGE')"
            " AND strpos(description, $1) > 0"
            " AND CAST(created AS TIMESTAMPTZ) >= CAST($2 AS TIMESTAMPTZ)"
            " ORDER BY created DESC LIMIT 1");
}

TEST(SchemaChangeJob, FailedStatuses) {
  const struct {
    std::string status;
    bool failed;
  } rows[] = {{"running", false}, {"succeeded", false},      {"paused", false},
              {"failed", true},   {"reverting", true},       {"revert-failed", true},
              {"canceled", true}, {"cancel-requested", true}};
  for (const auto& row : rows) {
    SchemaChangeJob job;
    job.status = row.status;
    EXPECT_EQ(job.failed(), row.failed) << row.status;
  }
}

TEST(DescribeBuild, ShowsPhaseAndCounters) {
  IndexBuild build;
  build.pid = 42;
  build.phase = "building index: scanning table";
  build.blocks_done = 10;
  build.blocks_total = 40;
  EXPECT_EQ(describe_build(build), "building index: scanning table, blocks 10/40 (backend 42)");
  build.hidden = true;
  EXPECT_EQ(describe_build(build),
            "index build in progress (backend 42; details need pg_read_all_stats)");
}

// A concurrent build leaves pg_stat_progress_create_index before its last
// transaction commits: apply keeps waiting while the builder's backend is
// still inside a transaction, and only then judges the index.
TEST_F(ServerTest, TellsWhetherABackendIsInsideATransaction) {
  auto observer = test::connect_to(conninfo());
  auto other = test::connect_to(conninfo());
  const int pid = std::stoi(other->query_value("SELECT pg_backend_pid()").value_or("0"));
  ASSERT_NE(pid, 0);
  EXPECT_FALSE(backend_in_transaction(*observer, pid));
  other->exec("BEGIN");
  other->exec("SELECT 1");
  EXPECT_TRUE(backend_in_transaction(*observer, pid));
  other->exec("COMMIT");
  EXPECT_FALSE(backend_in_transaction(*observer, pid));
  other.reset();
  EXPECT_FALSE(backend_in_transaction(*observer, pid));
}

TEST_F(ServerTest, DetectsPostgres) {
  auto connection = test::connect_to(conninfo());
  EXPECT_EQ(detect_dialect(*connection), sql::Dialect::postgres);
}

TEST_F(ServerTest, FindsAnIndexOnlyOnItsOwnTable) {
  auto connection = test::connect_to(conninfo());
  connection->exec("CREATE SCHEMA app");
  connection->exec("CREATE TABLE app.\"Users\" (id INT, email TEXT)");
  connection->exec("CREATE TABLE app.other (id INT)");
  connection->exec("CREATE INDEX users_email ON app.\"Users\" (email)");
  connection->exec("CREATE INDEX other_idx ON app.other (id)");

  const auto found = find_index(*connection, index_change("app", "Users", "users_email"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->usable());
  EXPECT_EQ(find_index(*connection, index_change("app", "Users", "other_idx")), std::nullopt);
  EXPECT_EQ(find_index(*connection, index_change("app", "missing", "users_email")), std::nullopt);
  EXPECT_EQ(find_index_build(*connection, index_change("app", "Users", "users_email"), found),
            std::nullopt);
}

TEST_F(ServerTest, DropsAnIndexConcurrently) {
  auto connection = test::connect_to(conninfo());
  connection->exec("CREATE TABLE t (x INT)");
  connection->exec("CREATE INDEX t_x ON t (x)");
  const sql::Change change = index_change("", "t", "t_x");
  drop_index_concurrently(*connection, change);
  EXPECT_EQ(find_index(*connection, change), std::nullopt);
  drop_index_concurrently(*connection, change);  // IF EXISTS: no error when gone
}

}  // namespace
}  // namespace dbmig::engine
