// Fault injection against a real PostgreSQL, with `dbmig apply` run as a
// process (DBMIG_EXECUTABLE): the server restarted (immediate: a crash) in
// the middle of a transactional step and of a verification wait, the server
// stopped for good, a runner paused (SIGSTOP) past its lease and resumed,
// `statement_timeout` on the role cancelling a concurrent index build, and a
// step's table dropped while apply waits on its build. Each run must end with
// a clear exit 1 (never a hang), and a re-run must leave every effect applied
// exactly once. Tests that restart or stop the server use their own PgServer;
// the others use a fresh database on the shared one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "support/apply_harness.h"
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

// An upper bound for any single dbmig run here; generous for a loaded CI box.
constexpr auto kRunBound = 60s;

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { DBMIG_REQUIRE_SERVER(); }

  // A fresh database on the shared server for this test.
  void use_shared_database() {
    database_ = test::TestDatabase::create();
    conninfo_ = database_.conninfo();
  }

  // A private server (the test restarts or stops it) and a database on it.
  void use_own_server() {
    server_ = std::make_unique<test::PgServer>();
    conninfo_ = server_->create_database("fault");
  }

  // Writes the tree and its verify files (dbmig generate-verify).
  void write_tree(const std::vector<FileRow>& rows) {
    test::write_tree_with_verify_files(tree_, rows, kRunBound);
  }

  ProcessOptions dbmig(std::vector<std::string> arguments) const {
    return test::dbmig_command(tree_.root(), std::move(arguments));
  }

  // dbmig apply --db <conninfo> with a 3 s lease TTL (the shortest allowed).
  ProcessOptions apply(const std::vector<std::string>& extra = {},
                       std::string conninfo = "") const {
    return test::apply_command(tree_.root(), conninfo.empty() ? conninfo_ : conninfo, extra);
  }

  // The first column of the first row of `sql`, on a fresh connection (the
  // server may have restarted since the last query).
  std::string value(const std::string& sql) const {
    auto connection = test::connect_to(conninfo_);
    return test::query_value(*connection, sql);
  }

  // Polls `sql` until it returns "t" or 30 s pass.
  bool eventually(const std::string& sql) const {
    return test::eventually(
        [&] {
          try {
            return value(sql) == "t";
          } catch (const std::exception&) {
            return false;  // the server may be starting; poll again
          }
        },
        30s, 50ms);
  }

  // True once dbmig's step connection runs a statement containing `text`.
  bool dbmig_runs(const std::string& text) const {
    return eventually(
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dbmig'"
        " AND state = 'active' AND query LIKE '%" +
        text + "%'");
  }

  // True once dbmig's concurrent index build waits for an old snapshot.
  bool build_waits_for_old_snapshot() const {
    return eventually(
        "SELECT count(*) > 0 FROM pg_stat_progress_create_index p JOIN pg_stat_activity a"
        " USING (pid) WHERE a.application_name = 'dbmig'"
        " AND p.phase = 'waiting for old snapshots'");
  }

  // "value:count,..." of the log table: every INSERT's number of effects.
  std::string log_counts() const {
    return value(
        "SELECT string_agg(v || ':' || n, ',' ORDER BY v) FROM"
        " (SELECT v, count(*) AS n FROM log GROUP BY v) c");
  }

  // The whole recorded state: the singleton row and every step row.
  std::string recorded_state() const {
    return value(
        "SELECT (SELECT row(s.*)::text FROM dbmig.state s) || ' | ' ||"
        " (SELECT string_agg(row(st.*)::text, ',' ORDER BY version, step)"
        " FROM dbmig.steps st)");
  }

  test::TestDatabase database_;
  std::unique_ptr<test::PgServer> server_;
  std::string conninfo_;
  test::TempTree tree_;
};

// Runs `runner` to its end and checks it exited 1 (or finished, 0) with a
// message, within kRunBound: a crash of the server must never hang dbmig.
void expect_clear_exit(Process& runner, const std::string& context) {
  const ProcessResult result = runner.wait(kRunBound);
  EXPECT_FALSE(result.timed_out) << context << ": dbmig hung\n" << result.describe();
  EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 1) << context << "\n"
                                                              << result.describe();
  if (result.exit_code == 1) {
    EXPECT_NE(result.err.find("dbmig: error:"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("connection"), std::string::npos) << result.describe();
  }
  ::testing::Test::RecordProperty(context, result.err);
}

TEST_F(FaultInjectionTest, ServerCrashDuringATransactionalStepExitsOneAndTheRerunAppliesItOnce) {
  use_own_server();
  write_tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-slow/up.sql", "SELECT pg_sleep(2);\nINSERT INTO log VALUES ('slow');\n"},
      {"0003-after/up.sql", "INSERT INTO log VALUES ('after');\n"},
  });
  Process victim = Process::spawn(apply());
  ASSERT_TRUE(dbmig_runs("pg_sleep(2)")) << victim.wait(1s).describe();
  server_->restart(/*immediate=*/true);
  expect_clear_exit(victim, "crash during step");

  const ProcessResult rerun = test::run_process(apply(), kRunBound);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.describe();
  EXPECT_EQ(log_counts(), "after:1,slow:1");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0003-after");
  EXPECT_EQ(value("SELECT string_agg(version || ':' || state, ',' ORDER BY version)"
                  " FROM dbmig.steps"),
            "0001-log:verified,0002-slow:verified,0003-after:verified");
}

TEST_F(FaultInjectionTest, ServerCrashDuringAVerificationWaitLeavesNothingRecordedThatIsNotTrue) {
  use_own_server();
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
      {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
      {"0003-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0004-after/up.sql", "INSERT INTO log VALUES ('after');\n"},
  });
  const ProcessResult first = test::run_process(apply({"--to", "0001-t"}), kRunBound);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  auto holder = test::connect_to(conninfo_);
  holder->exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
  test::hold_snapshot(*holder);

  Process victim = Process::spawn(apply());
  ASSERT_TRUE(build_waits_for_old_snapshot()) << victim.wait(1s).describe();
  server_->restart(/*immediate=*/true);  // also ends the holder's snapshot
  expect_clear_exit(victim, "crash during verification wait");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t")
      << "no version may be recorded past a build that did not finish";

  // The crash left the index INVALID (it was built but not yet marked
  // valid): the re-run must say so, and --repair must rebuild it.
  ProcessResult rerun = test::run_process(apply(), kRunBound);
  RecordProperty("rerun", rerun.err);
  if (rerun.exit_code == 1) {
    EXPECT_NE(rerun.err.find("INVALID"), std::string::npos) << rerun.describe();
    EXPECT_NE(rerun.err.find("t_x_idx"), std::string::npos) << rerun.describe();
    rerun = test::run_process(apply({"--repair"}), kRunBound);
  }
  ASSERT_EQ(rerun.exit_code, 0) << rerun.describe();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "t");
  EXPECT_EQ(value("SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass"), "2");
  EXPECT_EQ(value("SELECT count(*) FROM t"), "1000");
  EXPECT_EQ(log_counts(), "after:1");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0004-after");
}

TEST_F(FaultInjectionTest, ServerStoppedForGoodApplyExitsOneWithinABoundedTime) {
  use_own_server();
  write_tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-slow/up.sql", "SELECT pg_sleep(30);\nINSERT INTO log VALUES ('slow');\n"},
  });
  Process victim = Process::spawn(apply());
  ASSERT_TRUE(dbmig_runs("pg_sleep(30)")) << victim.wait(1s).describe();
  const auto stopped_at = std::chrono::steady_clock::now();
  server_->stop(/*immediate=*/true);
  // Bound: connect_timeout 10 s per reconnection attempt and keepalives
  // (10 s idle + 3 x 5 s) for a silent peer; a refused connection is at once.
  const ProcessResult result = victim.wait(kRunBound);
  const auto elapsed = std::chrono::steady_clock::now() - stopped_at;
  ASSERT_FALSE(result.timed_out) << "dbmig hung after the server stopped\n" << result.describe();
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  EXPECT_NE(result.err.find("connection"), std::string::npos) << result.describe();
  EXPECT_LT(elapsed, 45s);
  RecordProperty(
      "exit_after_stop_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}

TEST_F(FaultInjectionTest, PausedRunnerPastItsLeaseIsFencedOffWhenResumed) {
  use_shared_database();
  write_tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-first/up.sql", "INSERT INTO log VALUES ('first');\n"},
      {"0003-slow/up-danger-non-transactional.sql", "SELECT pg_sleep(3);\n"},
      {"0004-second/up.sql", "INSERT INTO log VALUES ('second');\n"},
  });
  Process paused = Process::spawn(apply());
  ASSERT_TRUE(dbmig_runs("pg_sleep(3)")) << paused.wait(1s).describe();
  paused.kill(SIGSTOP);

  // The paused runner's heartbeat stops too: its lease expires after 3 s and
  // a second runner takes it over and finishes.
  const ProcessResult second = test::run_process(apply(), kRunBound);
  if (second.exit_code != 0) paused.kill(SIGCONT);
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  const std::string left_by_second = recorded_state();
  EXPECT_EQ(log_counts(), "first:1,second:1");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0004-second");

  paused.kill(SIGCONT);
  const ProcessResult resumed = paused.wait(kRunBound);
  EXPECT_EQ(resumed.exit_code, 1) << resumed.describe();
  EXPECT_NE(resumed.err.find("lease lost"), std::string::npos) << resumed.describe();
  EXPECT_EQ(recorded_state(), left_by_second) << "the resumed runner wrote state";
  EXPECT_EQ(log_counts(), "first:1,second:1");
}

TEST_F(FaultInjectionTest, RoleStatementTimeoutCancellingAConcurrentBuildIsDetectedAndRepaired) {
  use_shared_database();
  const std::string role = "fault_timeout_" + std::to_string(::getpid());
  {
    auto admin = test::connect_to(conninfo_);
    admin->exec("CREATE ROLE " + role + " LOGIN SUPERUSER");
  }
  const std::string role_conninfo = conninfo_ + " user=" + role;
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
      {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
  });
  const ProcessResult first =
      test::run_process(apply({"--to", "0001-t"}, role_conninfo), kRunBound);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  auto holder = test::connect_to(conninfo_);
  holder->exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
  holder->exec("ALTER ROLE " + role + " IN DATABASE " + database_.name() +
               " SET statement_timeout = '1s'");
  test::hold_snapshot(*holder);

  const ProcessResult cancelled = test::run_process(apply({}, role_conninfo), kRunBound);
  holder->exec("ROLLBACK");
  EXPECT_EQ(cancelled.exit_code, 1) << cancelled.describe();
  EXPECT_NE(cancelled.err.find("statement timeout"), std::string::npos) << cancelled.describe();
  EXPECT_NE(cancelled.err.find("left index \"t_x_idx\" on \"t\" INVALID"), std::string::npos)
      << cancelled.describe();
  EXPECT_NE(cancelled.err.find("--repair"), std::string::npos) << cancelled.describe();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "f");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t");

  // The cancelled run reports the server's error and names the INVALID
  // index it left (with the --repair remedy); so does the next run, which
  // must not record the step verified over it.
  holder->exec("ALTER ROLE " + role + " IN DATABASE " + database_.name() +
               " RESET statement_timeout");
  const ProcessResult detected = test::run_process(apply({}, role_conninfo), kRunBound);
  EXPECT_EQ(detected.exit_code, 1) << detected.describe();
  EXPECT_NE(detected.err.find("t_x_idx"), std::string::npos) << detected.describe();
  EXPECT_NE(detected.err.find("INVALID"), std::string::npos) << detected.describe();
  EXPECT_NE(detected.err.find("--repair"), std::string::npos) << detected.describe();
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t");

  const ProcessResult repaired = test::run_process(apply({"--repair"}, role_conninfo), kRunBound);
  ASSERT_EQ(repaired.exit_code, 0) << repaired.describe();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "t");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-i");
}

// On PostgreSQL a proof over a missing table is false, not an error, so the
// honest "verification that cannot succeed" is this: a runner waits for the
// build an earlier (killed) runner left running, and that build dies and its
// table is dropped meanwhile. apply must fail clearly, long before its
// --verify-timeout, instead of polling a proof that can never hold.
TEST_F(FaultInjectionTest, StepTableDroppedDuringAVerificationWaitIsAClearFailureNotAHang) {
  use_shared_database();
  write_tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
      {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
  });
  const ProcessResult first = test::run_process(apply({"--to", "0001-t"}), kRunBound);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  auto holder = test::connect_to(conninfo_);
  holder->exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
  test::hold_snapshot(*holder);
  const std::string token_before = value("SELECT lease_token FROM dbmig.state");

  Process killed = Process::spawn(apply());
  ASSERT_TRUE(build_waits_for_old_snapshot()) << killed.wait(1s).describe();
  killed.kill(SIGKILL);
  EXPECT_EQ(killed.wait(10s).signal, SIGKILL);

  Process waiting = Process::spawn(apply({"--verify-timeout", "10m"}));
  // The waiting runner holds the lease once it took it over (two acquisitions
  // after the first run's: the killed runner's and its own).
  ASSERT_TRUE(eventually("SELECT lease_token >= " + token_before + " + 2 FROM dbmig.state"))
      << waiting.wait(1s).describe();
  auto dropper = test::connect_to(conninfo_);
  dropper->exec("BEGIN");
  dropper->exec(
      "SELECT pg_terminate_backend(p.pid) FROM pg_stat_progress_create_index p"
      " WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())");
  dropper->exec("DROP TABLE t");  // waits until the terminated build has released t
  dropper->exec("COMMIT");
  holder->exec("ROLLBACK");

  const auto dropped_at = std::chrono::steady_clock::now();
  const ProcessResult result = waiting.wait(kRunBound);
  ASSERT_FALSE(result.timed_out) << "apply kept waiting on a proof that can never hold\n"
                                 << result.describe();
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  EXPECT_NE(result.err.find("0002-i"), std::string::npos) << result.describe();
  EXPECT_NE(result.err.find("t_x_idx"), std::string::npos) << result.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - dropped_at, 45s);
  RecordProperty("failure", result.err);
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t");
}

}  // namespace
}  // namespace dbmig::engine
