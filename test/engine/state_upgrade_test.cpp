// contract section 6: the state schema is versioned. Tables that dbmig created before
// the version existed (layout 1, the fixture below is the exact DDL it ran)
// are upgraded under the lease by the next apply, keeping their history; a
// layout newer than this dbmig knows is refused, naming the version.
#include <gtest/gtest.h>

#include "engine/state.h"
#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using test::ApplyOutcome;
using test::MigrationTree;
using test::query_value;
using test::run_apply;

// StateTables::create_script() of dbmig before state schema versions, for
// the schema "dbmig", byte for byte (BEGIN/COMMIT around it as ensure() ran it).
const std::string kLayoutOneDdl =
    "BEGIN;\n"
    "CREATE SCHEMA IF NOT EXISTS \"dbmig\";\n"
    "CREATE TABLE IF NOT EXISTS \"dbmig\".\"state\" (\n"
    "  id INT NOT NULL PRIMARY KEY CHECK (id = 1),\n"
    "  version TEXT,\n"
    "  lease_owner TEXT,\n"
    "  lease_expires_at TIMESTAMPTZ,\n"
    "  lease_token BIGINT NOT NULL DEFAULT 0,\n"
    "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"dbmig\".\"steps\" (\n"
    "  version TEXT NOT NULL,\n"
    "  step INT NOT NULL,\n"
    "  file TEXT NOT NULL,\n"
    "  sha256 TEXT NOT NULL,\n"
    "  state TEXT NOT NULL CHECK (state IN ('started', 'applied', 'verified', 'failed')),\n"
    "  transactional BOOL NOT NULL,\n"
    "  error TEXT,\n"
    "  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  finished_at TIMESTAMPTZ,\n"
    "  duration_ms BIGINT,\n"
    "  runner TEXT NOT NULL,\n"
    "  PRIMARY KEY (version, step)\n"
    ");\n"
    "INSERT INTO \"dbmig\".\"state\" (id) VALUES (1) ON CONFLICT DO NOTHING;\n"
    "COMMIT";

class StateUpgradeTest : public test::DatabaseTest {
 protected:
  std::string value(const std::string& sql) { return query_value(admin(), sql); }
  db::Connection& admin() {
    if (!admin_) admin_ = test::connect_to(conninfo());
    return *admin_;
  }
  // Layout-1 tables recording `tree`'s first version as applied and
  // verified, as the older dbmig wrote them (its index built too).
  void old_dbmig_applied_first_version(const MigrationTree& tree) {
    admin().exec_script(kLayoutOneDdl);
    admin().exec_script(tree.plan().versions[0].steps[0].text);
    admin().exec_params(
        "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, error,"
        " started_at, finished_at, duration_ms, runner) VALUES ($1, 1, 'up.sql', $2,"
        " 'verified', false, NULL, now(), clock_timestamp(), 12, 'old-host:1:00000000')",
        {tree.plan().versions[0].name, tree.plan().versions[0].steps[0].sha256});
    admin().exec_params("UPDATE dbmig.state SET version = $1, updated_at = now() WHERE id = 1",
                        {tree.plan().versions[0].name});
  }
  std::unique_ptr<db::Connection> admin_;
};

const std::vector<test::FileRow> kHistory = {
    {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
    {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
};

TEST_F(StateUpgradeTest, ApplyUpgradesTablesAnOlderDbmigCreatedAndKeepsTheirHistory) {
  MigrationTree tree(kHistory);
  old_dbmig_applied_first_version(tree);
  const ApplyOutcome outcome = run_apply(tree.plan(), conninfo());
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT schema_version FROM dbmig.state"), std::to_string(kStateSchemaVersion));
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-i");
  EXPECT_EQ(value("SELECT runner || ' ' || state FROM dbmig.steps WHERE version = '0001-t'"),
            "old-host:1:00000000 verified");
  EXPECT_EQ(value("SELECT object_oids = (SELECT 't'::regclass::oid || ':' ||"
                  " 't_x_idx'::regclass::oid) FROM dbmig.steps WHERE version = '0002-i'"),
            "t");
  EXPECT_EQ(value("SELECT lease_owner FROM dbmig.state"), "NULL");
  const DatabaseState state = StateTables().read(admin());
  EXPECT_EQ(state.schema_version, kStateSchemaVersion);
}

// Layout 2 is layout 3 without steps.cancelled_index_oid (issue 13: the
// index whose build dbmig cancelled itself).
TEST_F(StateUpgradeTest, ApplyUpgradesLayoutTwoTablesWithTheCancelledBuildColumn) {
  MigrationTree tree(kHistory);
  ASSERT_EQ(run_apply(tree.plan(), conninfo()).code, ExitCode::ok);
  admin().exec("ALTER TABLE dbmig.steps DROP COLUMN cancelled_index_oid");
  admin().exec("UPDATE dbmig.state SET schema_version = 2");
  const DatabaseState before = StateTables().read(admin());
  EXPECT_EQ(before.schema_version, 2);
  ASSERT_EQ(before.steps.size(), 2U);
  EXPECT_EQ(before.steps[0].cancelled_index_oid, std::nullopt);

  tree.write("0003-u/up.sql", "INSERT INTO t VALUES (1, 1);\n");
  const ApplyOutcome outcome = run_apply(tree.plan(), conninfo());
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT schema_version FROM dbmig.state"), "3");
  EXPECT_EQ(value("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dbmig'"
                  " AND table_name = 'steps' AND column_name = 'cancelled_index_oid'"),
            "1");
  EXPECT_EQ(value("SELECT count(*) FROM dbmig.steps WHERE cancelled_index_oid IS NULL"), "3");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0003-u");
}

TEST_F(StateUpgradeTest, ReadingTablesOfTheOlderLayoutNeedsNoUpgrade) {
  MigrationTree tree(kHistory);
  old_dbmig_applied_first_version(tree);
  const DatabaseState state = StateTables().read(admin());
  EXPECT_EQ(state.schema_version, 1);
  ASSERT_EQ(state.steps.size(), 1U);
  EXPECT_EQ(state.steps[0].object_oids, std::nullopt);
  EXPECT_EQ(state.version, "0001-t");
}

TEST_F(StateUpgradeTest, ALayoutNewerThanThisDbmigKnowsIsRefusedNamingTheVersion) {
  MigrationTree tree(kHistory);
  ASSERT_EQ(run_apply(tree.plan(), conninfo()).code, ExitCode::ok);
  const std::string newer = std::to_string(kStateSchemaVersion + 1);
  admin().exec("UPDATE dbmig.state SET schema_version = " + newer);
  tree.write("0003-u/up.sql", "INSERT INTO t VALUES (1, 1);\n");
  const ApplyOutcome outcome = run_apply(tree.plan(), conninfo());
  EXPECT_EQ(outcome.code, ExitCode::usage_error) << outcome.describe();
  EXPECT_NE(outcome.message.find("version " + newer), std::string::npos) << outcome.describe();
  EXPECT_NE(outcome.hint.find("state schema version " + newer), std::string::npos)
      << outcome.describe();
  EXPECT_EQ(value("SELECT count(*) FROM t"), "0") << "nothing was applied";
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-i");
}

}  // namespace
}  // namespace dbmig::engine
