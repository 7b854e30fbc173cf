// Issue 13, items 1 and 7, with the dbmig binary (DBMIG_EXECUTABLE): SIGINT
// during a concurrent build names the step and the index it left INVALID,
// records that index's OID, and the next plain apply rebuilds exactly that
// index (any other INVALID index still needs --repair); status shows the
// step's runner as gone; a step waiting for a lock reports who holds it.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "support/apply_harness.h"
#include "support/cli_run.h"
#include "support/dbmig_process_test.h"
#include "support/file_tree.h"
#include "support/json_schema.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig::engine {
namespace {

using namespace std::chrono_literals;
using test::contains;
using test::FileRow;
using test::Process;
using test::ProcessOptions;
using test::ProcessResult;
using test::query_value;

const std::vector<FileRow> kIndexTree = {
    {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
    {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
};

class InterruptProcessTest : public test::DbmigProcessTest {
 protected:
  // Applies 0001-t, then starts `apply` while `holder` holds a snapshot, so
  // that the build of t_x_idx sits in "waiting for old snapshots" (its
  // INVALID index already in the catalog), and interrupts it with SIGINT.
  ProcessResult interrupt_the_build(db::Connection& holder) {
    const ProcessResult first = test::run_process(apply_options({"--to", "0001-t"}), 60s);
    EXPECT_EQ(first.exit_code, 0) << first.describe();
    observer_->exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
    test::hold_snapshot(holder);
    Process victim = Process::spawn(apply_options());
    EXPECT_TRUE(
        eventually("SELECT count(*) > 0 FROM pg_stat_progress_create_index p JOIN"
                   " pg_stat_activity a USING (pid) WHERE a.application_name = 'dbmig'"
                   " AND p.phase = 'waiting for old snapshots'"))
        << victim.wait(1s).describe();
    victim.kill(SIGINT);
    return victim.wait(20s);
  }
};

TEST_F(InterruptProcessTest,
       SigintDuringABuildRecordsItsIndexAndTheNextApplyRebuildsItWithoutRepair) {
  write_tree(kIndexTree);
  auto holder = test::connect_to(conninfo());
  const ProcessResult stopped = interrupt_the_build(*holder);
  EXPECT_EQ(stopped.exit_code, 1) << stopped.describe();
  EXPECT_TRUE(contains(stopped.err, "interrupted during 0002-i/up.sql")) << stopped.err;
  EXPECT_TRUE(contains(stopped.err, "index \"t_x_idx\" on \"t\", which is left INVALID"))
      << stopped.err;
  EXPECT_TRUE(contains(stopped.err, "no --repair needed")) << stopped.err;
  const std::string left_oid = value("SELECT 't_x_idx'::regclass::oid");
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "f");
  EXPECT_EQ(value("SELECT cancelled_index_oid FROM dbmig.steps WHERE version = '0002-i'"),
            left_oid);
  EXPECT_EQ(value("SELECT lease_owner IS NULL FROM dbmig.state"), "t");
  holder->exec("ROLLBACK");

  const ProcessResult status =
      test::run_dbmig({"status", "--dir", tree_.root().string(), "--db", conninfo()});
  EXPECT_TRUE(contains(status.out, "interrupted: 0002-i/up.sql started at")) << status.out;
  EXPECT_TRUE(contains(status.out, "which is gone")) << status.out;
  EXPECT_FALSE(contains(status.out, "in progress")) << status.out;
  EXPECT_TRUE(contains(status.out,
                       "INVALID index: public.t_x_idx on public.t (left by dbmig's interrupted "
                       "build: the next dbmig apply rebuilds it)"))
      << status.out;
  const ProcessResult status_json =
      test::run_dbmig({"status", "--json", "--dir", tree_.root().string(), "--db", conninfo()});
  const nlohmann::json document = test::last_line_json(status_json.out);
  ASSERT_EQ(document["in_progress"].size(), 1U) << status_json.out;
  EXPECT_EQ(document["in_progress"][0]["runner_gone"], true) << status_json.out;
  EXPECT_EQ(document["in_progress"][0]["cancelled_index_oid"], left_oid) << status_json.out;
  ASSERT_EQ(document["invalid_indexes"].size(), 1U) << status_json.out;
  EXPECT_EQ(document["invalid_indexes"][0]["cancelled_by_dbmig"], true) << status_json.out;

  const ProcessResult resumed = test::run_process(apply_options(), 60s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_TRUE(contains(resumed.out,
                       "dropped INVALID index \"t_x_idx\" that dbmig's interrupted "
                       "run left (OID " +
                           left_oid + ")"))
      << resumed.out;
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "t");
  EXPECT_NE(value("SELECT 't_x_idx'::regclass::oid"), left_oid) << "rebuilt, not kept";
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-i");
  EXPECT_EQ(value("SELECT cancelled_index_oid IS NULL FROM dbmig.steps WHERE version = '0002-i'"),
            "t");
}

TEST_F(InterruptProcessTest, AnInvalidIndexOfTheSameNameThatDbmigDidNotCancelStillNeedsRepair) {
  write_tree(kIndexTree);
  auto holder = test::connect_to(conninfo());
  const ProcessResult stopped = interrupt_the_build(*holder);
  ASSERT_EQ(stopped.exit_code, 1) << stopped.describe();
  holder->exec("ROLLBACK");
  const std::string cancelled = value("SELECT 't_x_idx'::regclass::oid");
  // Someone else's failed build of the same name on the same table: another OID.
  observer_->exec("DROP INDEX t_x_idx");
  observer_->exec("INSERT INTO t VALUES (1001, 1)");
  EXPECT_THROW(observer_->exec("CREATE UNIQUE INDEX CONCURRENTLY t_x_idx ON t (x)"), db::DbError);
  ASSERT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "f");
  ASSERT_NE(value("SELECT 't_x_idx'::regclass::oid"), cancelled);
  const ProcessResult status =
      test::run_dbmig({"status", "--json", "--dir", tree_.root().string(), "--db", conninfo()});
  const nlohmann::json document = test::last_line_json(status.out);
  ASSERT_EQ(document["invalid_indexes"].size(), 1U) << status.out;
  EXPECT_EQ(document["invalid_indexes"][0]["cancelled_by_dbmig"], false) << status.out;

  const ProcessResult refused = test::run_process(apply_options(), 60s);
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_TRUE(contains(refused.err, "is INVALID")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "--repair")) << refused.err;
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t");

  const ProcessResult repaired = test::run_process(apply_options({"--repair"}), 60s);
  ASSERT_EQ(repaired.exit_code, 0) << repaired.describe();
  EXPECT_TRUE(contains(repaired.out, "(--repair)")) << repaired.out;
}

TEST_F(InterruptProcessTest, SigtermDuringATransactionalStepNamesTheStep) {
  write_tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-slow/up.sql", "INSERT INTO log VALUES ('slow');\nSELECT pg_sleep(30);\n"},
  });
  Process victim = Process::spawn(apply_options());
  ASSERT_TRUE(
      eventually("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name ="
                 " 'dbmig' AND state = 'active' AND query LIKE '%pg_sleep(30)%'"))
      << victim.wait(1s).describe();
  victim.kill(SIGTERM);
  const ProcessResult stopped = victim.wait(10s);
  EXPECT_EQ(stopped.exit_code, 1) << stopped.describe();
  EXPECT_TRUE(contains(stopped.err, "interrupted during 0002-slow/up.sql")) << stopped.err;
  EXPECT_EQ(value("SELECT count(*) FROM log"), "0");
}

// The lock-wait report: another session holds a lock the step needs; the
// binary's stderr names the holder's pid and its query, without the password
// that query holds.
TEST_F(InterruptProcessTest, AStepWaitingForALockReportsItsHolderAndTheHoldersQuery) {
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n"},
      {"0002-c/up.sql", "ALTER TABLE t ADD COLUMN y INT;\n"},
  });
  const ProcessResult first = test::run_process(apply_options({"--to", "0001-t"}), 60s);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  auto holder = test::connect_to(conninfo());
  holder->exec("BEGIN");
  holder->exec("SELECT count(*) FROM t WHERE 'host=db password=sekrit-hold' IS NOT NULL");
  const std::string holder_pid = std::to_string(holder->backend_pid());

  Process runner = Process::spawn(apply_options({"--ddl-lock-timeout", "30s"}));
  ASSERT_TRUE(
      eventually("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dbmig'"
                 " AND wait_event_type = 'Lock'"))
      << runner.wait(1s).describe();
  std::this_thread::sleep_for(5s);  // past the first report (3 s into the step)
  holder->exec("ROLLBACK");
  const ProcessResult outcome = runner.wait(60s);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.describe();
  EXPECT_TRUE(contains(outcome.err, "0002-c/up.sql: running ")) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "waiting for an AccessExclusiveLock on public.t"))
      << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "held by pid " + holder_pid + " (")) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "idle in transaction for ")) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "SELECT count(*) FROM t WHERE")) << outcome.err;
  EXPECT_FALSE(contains(outcome.err, "sekrit-hold")) << outcome.err;
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-c");
}

TEST_F(InterruptProcessTest, TheLockWaitEventFollowsItsSchemaAndIsNotRepeatedEveryPoll) {
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n"},
      {"0002-c/up.sql", "ALTER TABLE t ADD COLUMN y INT;\n"},
  });
  const ProcessResult first = test::run_process(apply_options({"--to", "0001-t"}), 60s);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  auto holder = test::connect_to(conninfo());
  holder->exec("BEGIN");
  holder->exec("LOCK TABLE t IN ACCESS SHARE MODE");
  const int holder_pid = holder->backend_pid();

  Process runner = Process::spawn(apply_options({"--json", "--ddl-lock-timeout", "30s"}));
  ASSERT_TRUE(
      eventually("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dbmig'"
                 " AND wait_event_type = 'Lock'"))
      << runner.wait(1s).describe();
  std::this_thread::sleep_for(9s);  // 3 s to the first report, then polled every second
  holder->exec("ROLLBACK");
  const ProcessResult outcome = runner.wait(60s);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.describe();
  test::expect_valid_engine_json(outcome.out);
  std::vector<nlohmann::json> waits;
  std::istringstream lines(outcome.out);
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json event = nlohmann::json::parse(line);
    if (event.value("event", "") == "lock_wait") waits.push_back(event);
  }
  ASSERT_EQ(waits.size(), 1U) << "one report per 10 s, not one per poll:\n" << outcome.out;
  EXPECT_EQ(waits[0]["file"], "up.sql");
  EXPECT_EQ(waits[0]["relation"], "public.t");
  EXPECT_EQ(waits[0]["mode"], "AccessExclusiveLock");
  ASSERT_EQ(waits[0]["holders"].size(), 1U) << outcome.out;
  EXPECT_EQ(waits[0]["holders"][0]["pid"], holder_pid);
  EXPECT_EQ(waits[0]["holders"][0]["hidden"], false);
  EXPECT_EQ(waits[0]["holders"][0]["query"], "LOCK TABLE t IN ACCESS SHARE MODE");
}

TEST_F(InterruptProcessTest, AHolderWhoseQueryTheRoleMayNotSeeIsShownAsHidden) {
  // dbmig runs as a role without pg_read_all_stats; the superuser holds the lock.
  const std::string role = "w_" + database_.name().substr(0, 40);
  observer_->exec("CREATE ROLE " + role + " LOGIN");
  observer_->exec("GRANT CREATE ON DATABASE " + database_.name() + " TO " + role);
  observer_->exec("GRANT ALL ON SCHEMA public TO " + role);
  const std::string as_role = conninfo() + " user=" + role;
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n"},
      {"0002-c/up.sql", "ALTER TABLE t ADD COLUMN y INT;\n"},
  });
  const ProcessResult first = test::run_process(
      options({"apply", "--db", as_role, "--lease-ttl", "3s", "--to", "0001-t"}), 60s);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  auto holder = test::connect_to(conninfo());
  holder->exec("BEGIN");
  holder->exec("LOCK TABLE t IN ACCESS SHARE MODE");
  const std::string holder_pid = std::to_string(holder->backend_pid());

  Process runner = Process::spawn(
      options({"apply", "--db", as_role, "--lease-ttl", "3s", "--ddl-lock-timeout", "30s"}));
  ASSERT_TRUE(
      eventually("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dbmig'"
                 " AND wait_event_type = 'Lock'"))
      << runner.wait(1s).describe();
  std::this_thread::sleep_for(5s);
  holder->exec("ROLLBACK");
  const ProcessResult outcome = runner.wait(60s);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.describe();
  EXPECT_TRUE(contains(outcome.err, "held by pid " + holder_pid +
                                        " (postgres, query and age hidden: they need "
                                        "pg_read_all_stats)"))
      << outcome.err;
  EXPECT_FALSE(contains(outcome.err, "LOCK TABLE")) << outcome.err;
}

}  // namespace
}  // namespace dbmig::engine
