// Self-tests of the shared test support (support/process.h, support/pg_server.h)
// that the database and engine tests rely on.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig::test {
namespace {

TEST(Process, CapturesOutputExitCodeAndEnvironment) {
  ProcessOptions options;
  options.argv = {"sh", "-c", "echo out-$DBMIG_X; echo err >&2; cat; exit 3"};
  options.env = {{"DBMIG_X", "value"}};
  options.stdin_text = "from-stdin\n";
  const ProcessResult result = run_process(options);
  EXPECT_EQ(result.exit_code, 3) << result.describe();
  EXPECT_EQ(result.signal, 0);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.out, "out-value\nfrom-stdin\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST(Process, TimeoutKillsTheChild) {
  ProcessOptions options;
  options.argv = {"sleep", "30"};
  const auto started = std::chrono::steady_clock::now();
  const ProcessResult result = run_process(options, std::chrono::milliseconds(200));
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(Process, KillByPidReportsTheSignalAndKeepsOutputWrittenSoFar) {
  const auto dir = make_temp_dir("dbmig-proc-test");
  ProcessOptions options;
  options.argv = {"sh", "-c", "echo started; exec sleep 30"};
  options.stdout_path = dir / "out.txt";
  Process process = Process::spawn(options);
  EXPECT_GT(process.pid(), 0);
  for (int i = 0; i < 400 && read_file(dir / "out.txt").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(process.running());
  process.kill(SIGKILL);
  const ProcessResult result = process.wait();
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_EQ(result.out, "started\n");
  EXPECT_FALSE(process.running());
  std::filesystem::remove_all(dir);
}

TEST(Process, MissingProgramExits127) {
  ProcessOptions options;
  options.argv = {"/nonexistent/dbmig-no-such-program"};
  EXPECT_EQ(run_process(options).exit_code, 127);
}

TEST(PgServer, RestartKeepsDataAndBreaksOpenConnections) {
  DBMIG_REQUIRE_SERVER();
  PgServer server;
  server.exec("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)");
  db::Connection before = server.connect();
  for (bool immediate : {false, true}) {
    server.restart(immediate);
    EXPECT_TRUE(server.running());
    EXPECT_THROW(before.exec("SELECT 1"), db::DbError) << "immediate=" << immediate;
    EXPECT_EQ(server.connect().exec("SELECT count(*) FROM kept").get(0, 0), "1");
  }
  server.stop();
  EXPECT_FALSE(server.running());
  EXPECT_THROW((void)server.connect(), db::DbError);
  server.start();
  EXPECT_EQ(server.connect().exec("SELECT 1").get(0, 0), "1");
}

TEST(PgServer, DestructorStopsTheServerAndRemovesItsDirectory) {
  DBMIG_REQUIRE_SERVER();
  std::filesystem::path data_dir;
  std::string conninfo;
  {
    PgServer server;
    data_dir = server.data_dir();
    conninfo = server.conninfo();
    EXPECT_TRUE(std::filesystem::exists(data_dir / "PG_VERSION"));
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir));
  db::ConnectOptions options;
  options.conninfo = conninfo;
  EXPECT_THROW((void)db::Connection::open(options), db::DbError);
}

class TestDatabaseTest : public DatabaseTest {};

TEST_F(TestDatabaseTest, EachTestGetsItsOwnFreshDatabaseNamedAfterIt) {
  EXPECT_TRUE(database_.name().starts_with("t_testdatabasetest_eachtestgetsitsownfresh"))
      << database_.name();
  EXPECT_LE(database_.name().size(), 63u);
  db::Connection connection = connect();
  EXPECT_EQ(connection.exec("SELECT current_database()").get(0, 0), database_.name());
  EXPECT_EQ(connection.exec("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").get(0, 0),
            "0");
  const TestDatabase second = TestDatabase::create();
  EXPECT_NE(second.name(), database_.name());
}

}  // namespace
}  // namespace dbmig::test
