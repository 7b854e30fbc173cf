// `dbmig apply` as a process (DBMIG_EXECUTABLE): killed with SIGKILL in the
// middle of a step or of a verification wait, stopped with SIGTERM, and six
// of them started at once. Each run must leave the database so that the next
// one finishes the work with every effect applied exactly once.
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <thread>

#include "support/apply_harness.h"
#include "support/dbmig_process_test.h"
#include "support/file_tree.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig::engine {
namespace {

using namespace std::chrono_literals;
using test::FileRow;
using test::Process;
using test::ProcessOptions;
using test::ProcessResult;
using test::query_value;

class ApplyProcessTest : public test::DbmigProcessTest {
 protected:
  void SetUp() override {
    test::DbmigProcessTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const ProcessResult help = test::run_process(options({"apply", "--help"}), 30s);
    if (help.out.find("--lease-ttl") == std::string::npos) {
      if (test::running_in_ci()) FAIL() << "dbmig apply --help: " << help.describe();
      GTEST_SKIP() << "this build's dbmig has no apply command yet";
    }
  }
};

TEST_F(ApplyProcessTest, KilledDuringATransactionalStepTheNextApplyAppliesItOnce) {
  write_tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-slow/up.sql", "INSERT INTO log VALUES ('slow');\nSELECT pg_sleep(3);\n"},
      {"0003-after/up.sql", "INSERT INTO log VALUES ('after');\n"},
  });
  Process victim = Process::spawn(apply_options());
  ASSERT_TRUE(
      eventually("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name ="
                 " 'dbmig' AND state = 'active' AND query LIKE '%pg_sleep(3)%'"))
      << victim.wait(1s).describe();
  victim.kill(SIGKILL);
  EXPECT_EQ(victim.wait(10s).signal, SIGKILL);
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-log");

  const ProcessResult resumed = test::run_process(apply_options(), 60s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_EQ(value("SELECT string_agg(v || ':' || n, ',' ORDER BY v) FROM"
                  " (SELECT v, count(*) AS n FROM log GROUP BY v) c"),
            "after:1,slow:1");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0003-after");
}

TEST_F(ApplyProcessTest, KilledDuringAVerificationWaitTheNextApplyWaitsForTheSameBuild) {
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
      {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
  });
  const ProcessResult first = test::run_process(apply_options({"--to", "0001-t"}), 60s);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  observer_->exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
  auto holder = test::connect_to(conninfo());
  test::hold_snapshot(*holder);

  Process victim = Process::spawn(apply_options());
  ASSERT_TRUE(
      eventually("SELECT count(*) > 0 FROM pg_stat_progress_create_index p JOIN"
                 " pg_stat_activity a USING (pid) WHERE a.application_name = 'dbmig'"
                 " AND p.phase = 'waiting for old snapshots'"))
      << victim.wait(1s).describe();
  victim.kill(SIGKILL);
  EXPECT_EQ(victim.wait(10s).signal, SIGKILL);
  EXPECT_EQ(value("SELECT state FROM dbmig.steps WHERE version = '0002-i'"), "started");

  Process resumed = Process::spawn(apply_options());
  std::this_thread::sleep_for(4s);  // past the dead runner's lease TTL (3 s)
  EXPECT_TRUE(resumed.running()) << "apply must wait for the build, not finish or fail";
  holder->exec("ROLLBACK");
  const ProcessResult outcome = resumed.wait(60s);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.describe();
  EXPECT_NE(outcome.out.find("waiting for the running build"), std::string::npos) << outcome.out;
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "t");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-i");
}

TEST_F(ApplyProcessTest, SigtermStopsTheRunAndReleasesTheLease) {
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
  EXPECT_NE(stopped.err.find("interrupted"), std::string::npos) << stopped.describe();
  EXPECT_EQ(value("SELECT lease_owner IS NULL FROM dbmig.state"), "t");
  EXPECT_EQ(value("SELECT count(*) FROM log"), "0");
}

TEST_F(ApplyProcessTest, SixProcessesOnAnEmptyDatabaseApplyEachInsertOnce) {
  write_tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-a/up.sql", "INSERT INTO log VALUES ('a');\n"},
      {"0003-b/up1.sql", "INSERT INTO log VALUES ('b1');\n"},
      {"0003-b/up2.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS log_v_idx ON log (v);\n"},
      {"0004-c/up.sql", "INSERT INTO log VALUES ('c');\n"},
  });
  std::vector<Process> runners;
  for (int i = 0; i < 6; ++i) runners.push_back(Process::spawn(apply_options()));
  for (Process& runner : runners) {
    const ProcessResult result = runner.wait(60s);
    EXPECT_EQ(result.exit_code, 0) << result.describe();
  }
  EXPECT_EQ(value("SELECT string_agg(v || ':' || n, ',' ORDER BY v) FROM"
                  " (SELECT v, count(*) AS n FROM log GROUP BY v) c"),
            "a:1,b1:1,c:1");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0004-c");
}

}  // namespace
}  // namespace dbmig::engine
