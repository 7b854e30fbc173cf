// contract section 9, fencing covers every commit: a runner stopped (SIGSTOP, as a VM
// freeze or a long GC pause would) past its lease, while a second runner
// takes over, finishes the step and applies a later version, must not
// commit anything once resumed: neither the rest of a multi-statement
// non-transactional step, nor a transactional step, nor the record of a
// concurrent build. `dbmig apply` runs as a process (DBMIG_EXECUTABLE) with
// a 3 s lease (the shortest allowed).
#include <gtest/gtest.h>

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

constexpr auto kRunBound = 90s;

class PausedRunnerTest : public test::DatabaseTest {
 protected:
  void write_tree(const std::vector<FileRow>& rows) {
    test::write_tree_with_verify_files(tree_, rows, kRunBound);
  }
  ProcessOptions apply() const { return test::apply_command(tree_.root(), conninfo()); }
  std::string value(const std::string& sql) const {
    auto connection = test::connect_to(conninfo());
    return test::query_value(*connection, sql);
  }
  bool eventually(const std::string& sql) const {
    return test::eventually([&] { return value(sql) == "t"; }, 30s, 50ms);
  }
  bool dbmig_runs(const std::string& text) const {
    return eventually(
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dbmig'"
        " AND state = 'active' AND query LIKE '%" +
        text + "%'");
  }
  std::string recorded_state() const {
    return value(
        "SELECT (SELECT row(s.*)::text FROM dbmig.state s) || ' | ' ||"
        " (SELECT string_agg(row(st.*)::text, ',' ORDER BY version, step)"
        " FROM dbmig.steps st)");
  }
  std::string effects() const {
    return value(
        "SELECT (SELECT n FROM counters) || ' ' || COALESCE((SELECT string_agg(v, ',' ORDER BY "
        "v) FROM log), '')");
  }

  // Pauses `paused` once it runs `running`, lets a second runner finish
  // everything, resumes the first and checks that it committed nothing.
  void expect_paused_runner_fenced_off(Process& paused, const std::string& running,
                                       const std::string& effects_by_second) {
    ASSERT_TRUE(dbmig_runs(running)) << paused.wait(1s).describe();
    paused.kill(SIGSTOP);
    const ProcessResult second = test::run_process(apply(), kRunBound);
    if (second.exit_code != 0) paused.kill(SIGCONT);
    ASSERT_EQ(second.exit_code, 0) << second.describe();
    EXPECT_EQ(effects(), effects_by_second);
    EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0003-later");
    const std::string left_by_second = recorded_state();

    paused.kill(SIGCONT);
    const ProcessResult resumed = paused.wait(kRunBound);
    EXPECT_EQ(resumed.exit_code, 1) << resumed.describe();
    EXPECT_EQ(recorded_state(), left_by_second) << "the resumed runner wrote state";
    EXPECT_EQ(effects(), effects_by_second) << "the resumed runner overwrote later work";
  }

  test::TempTree tree_;
};

const FileRow kTables = {"0001-tables/up1.sql", "CREATE TABLE counters (n INT NOT NULL);\n"};
const FileRow kLog = {"0001-tables/up2.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"};
const FileRow kSeed = {"0001-tables/up3.sql", "INSERT INTO counters VALUES (0);\n"};
const FileRow kLater = {"0003-later/up.sql",
                        "UPDATE counters SET n = 100;\nINSERT INTO log VALUES ('later');\n"};

TEST_F(PausedRunnerTest, InAMultiStatementNonTransactionalStepItCommitsNothingMore) {
  write_tree({kTables,
              kLog,
              kSeed,
              {"0002-multi/up-danger-non-transactional.sql",
               "INSERT INTO log VALUES ('first');\n"
               "SELECT pg_sleep(3);\n"
               "UPDATE counters SET n = n + 1;\n"
               "INSERT INTO log VALUES ('third');\n"},
              kLater});
  Process paused = Process::spawn(apply());
  // The second runner skips 'first' (committed under the paused runner's
  // fence), runs the rest once, then the later version.
  expect_paused_runner_fenced_off(paused, "pg_sleep(3)", "100 first,later,third");
}

TEST_F(PausedRunnerTest, InATransactionalStepItCommitsNothing) {
  write_tree({kTables,
              kLog,
              kSeed,
              {"0002-tx/up.sql",
               "INSERT INTO log VALUES ('tx');\nSELECT pg_sleep(3);\n"
               "UPDATE counters SET n = n + 1;\n"},
              kLater});
  Process paused = Process::spawn(apply());
  expect_paused_runner_fenced_off(paused, "pg_sleep(3)", "100 later,tx");
}

TEST_F(PausedRunnerTest, DuringAConcurrentBuildItRecordsNothing) {
  write_tree({kTables,
              kLog,
              kSeed,
              {"0002-index/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS log_v ON log (v);\n"},
              kLater});
  auto holder = test::connect_to(conninfo());
  // The build waits for this snapshot until the second runner has taken
  // over (it then waits for that same build rather than starting another).
  test::hold_snapshot(*holder);
  Process paused = Process::spawn(apply());
  ASSERT_TRUE(dbmig_runs("CREATE INDEX CONCURRENTLY")) << paused.wait(1s).describe();
  std::thread release([&holder] {
    std::this_thread::sleep_for(4s);
    holder->exec("ROLLBACK");
  });
  expect_paused_runner_fenced_off(paused, "CREATE INDEX CONCURRENTLY", "100 later");
  release.join();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'log_v'::regclass"), "t");
}

}  // namespace
}  // namespace dbmig::engine
