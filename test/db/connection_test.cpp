#include "db/connection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "support/pg_server.h"

namespace dbmig::db {
namespace {

using test::DatabaseTest;

// Runs `action`, which must throw DbError, and returns the error.
template <typename Action>
DbError expect_db_error(Action&& action) {
  try {
    action();
  } catch (const DbError& error) {
    return error;
  }
  ADD_FAILURE() << "expected a DbError";
  return DbError({});
}

void wait_until_backend_gone(Connection& observer, int pid) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    auto result = observer.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1",
                                       {std::to_string(pid)});
    if (result.rows() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "backend " << pid << " did not exit";
}

class ConnectionTest : public DatabaseTest {};

TEST_F(ConnectionTest, ExecReturnsRowsColumnsNullsAndCommandTag) {
  Connection connection = connect();
  Result result = connection.exec("SELECT 1 AS a, NULL::text AS b UNION ALL SELECT 2, 'x'");
  ASSERT_EQ(result.rows(), 2);
  ASSERT_EQ(result.columns(), 2);
  EXPECT_EQ(result.get(0, 0), "1");
  EXPECT_TRUE(result.is_null(0, 1));
  EXPECT_EQ(result.get(0, 1), "");
  EXPECT_EQ(result.get_optional(0, 1), std::nullopt);
  EXPECT_EQ(result.get_optional(1, 1), "x");
  EXPECT_EQ(result.command_tag(), "SELECT 2");

  connection.exec("CREATE TABLE t (id int)");
  Result insert = connection.exec("INSERT INTO t VALUES (1), (2), (3)");
  EXPECT_EQ(insert.affected_rows(), 3);
  EXPECT_EQ(insert.command_tag(), "INSERT 0 3");
  EXPECT_EQ(connection.exec("CREATE INDEX t_id ON t (id)").command_tag(), "CREATE INDEX");
}

TEST_F(ConnectionTest, ExecParamsSendsTextValuesAndNulls) {
  Connection connection = connect();
  Result result = connection.exec_params("SELECT $1::int + 1, $2::text IS NULL, $3::text",
                                         {"41", std::nullopt, "it's; -- not SQL"});
  EXPECT_EQ(result.get(0, 0), "42");
  EXPECT_EQ(result.get(0, 1), "t");
  EXPECT_EQ(result.get(0, 2), "it's; -- not SQL");
  const std::vector<std::optional<std::string>> params = {"a", "b"};
  EXPECT_EQ(connection.exec_params("SELECT $1 || $2", params).get(0, 0), "ab");
}

TEST_F(ConnectionTest, ExecScriptReturnsEveryResultInOrder) {
  Connection connection = connect();
  std::vector<Result> results = connection.exec_script(
      "CREATE TABLE s (id int); INSERT INTO s VALUES (7); SELECT id FROM s;");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].command_tag(), "CREATE TABLE");
  EXPECT_EQ(results[1].affected_rows(), 1);
  EXPECT_EQ(results[2].get(0, 0), "7");
}

TEST_F(ConnectionTest, ExecScriptThrowsTheFirstErrorAndLeavesTheConnectionUsable) {
  Connection connection = connect();
  const std::string script = "SELECT 1; SELECT * FROM missing_one; SELECT * FROM missing_two;";
  DbError error = expect_db_error([&] { connection.exec_script(script); });
  EXPECT_EQ(error.sqlstate(), "42P01");
  EXPECT_NE(error.fields().message.find("missing_one"), std::string::npos) << error.what();
  EXPECT_EQ(error.fields().statement, script);
  EXPECT_FALSE(error.connection_lost());
  EXPECT_TRUE(connection.ok());
  EXPECT_EQ(connection.exec("SELECT 5").get(0, 0), "5");
}

TEST_F(ConnectionTest, ServerErrorsCarrySqlstateMessageDetailHintAndStatement) {
  Connection connection = connect();
  connection.exec("CREATE TABLE u (id int PRIMARY KEY)");
  connection.exec("INSERT INTO u VALUES (1)");
  struct Row {
    std::string statement;
    std::string sqlstate;
    bool has_detail;
    bool has_hint;
  };
  const Row rows[] = {
      {"SELECT * FROM no_such_table", "42P01", false, false},
      {"INSERT INTO u VALUES (1)", "23505", true, false},
      {"SELECT no_such_function(1)", "42883", false, true},
      {"SELECT 1/0", "22012", false, false},
  };
  for (const auto& row : rows) {
    DbError error = expect_db_error([&] { connection.exec(row.statement); });
    EXPECT_EQ(error.sqlstate(), row.sqlstate) << row.statement;
    EXPECT_FALSE(error.fields().message.empty()) << row.statement;
    EXPECT_EQ(error.what(), error.fields().message) << row.statement;
    EXPECT_EQ(!error.fields().detail.empty(), row.has_detail) << row.statement;
    EXPECT_EQ(!error.fields().hint.empty(), row.has_hint) << row.statement;
    EXPECT_EQ(error.fields().statement, row.statement);
    EXPECT_FALSE(error.connection_lost()) << row.statement;
    EXPECT_FALSE(error.is_retryable()) << row.statement;
    EXPECT_FALSE(error.fields().during_commit) << row.statement;
  }
  DbError duplicate = expect_db_error([&] { connection.exec("INSERT INTO u VALUES (1)"); });
  EXPECT_EQ(duplicate.fields().detail, "Key (id)=(1) already exists.");
}

TEST_F(ConnectionTest, CopyToOrFromClientIsAnErrorThatLeavesTheConnectionUsable) {
  Connection connection = connect();
  connection.exec_script("CREATE TABLE c (x int); INSERT INTO c VALUES (1), (2)");
  const std::string statements[] = {"COPY c FROM STDIN", "COPY c TO STDOUT"};
  for (const auto& statement : statements) {
    DbError error = expect_db_error([&] { connection.exec(statement); });
    EXPECT_NE(std::string(error.what()).find("COPY"), std::string::npos) << statement;
    EXPECT_FALSE(error.connection_lost()) << statement;
    EXPECT_EQ(connection.exec("SELECT count(*) FROM c").get(0, 0), "2") << statement;
    DbError in_script = expect_db_error([&] { connection.exec_script(statement + "; SELECT 1"); });
    EXPECT_NE(std::string(in_script.what()).find("COPY"), std::string::npos) << statement;
    EXPECT_EQ(connection.exec("SELECT count(*) FROM c").get(0, 0), "2") << statement;
  }
}

TEST_F(ConnectionTest, LockTimeoutIsRetryable) {
  Connection holder = connect();
  Connection waiter = connect();
  holder.exec("CREATE TABLE locked (id int)");
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
  waiter.exec("SET lock_timeout = '50ms'");
  DbError error = expect_db_error([&] { waiter.exec("SELECT * FROM locked"); });
  EXPECT_EQ(error.sqlstate(), "55P03");
  EXPECT_TRUE(error.is_retryable());
  EXPECT_FALSE(error.connection_lost());
  holder.exec("ROLLBACK");
}

TEST_F(ConnectionTest, SerializationFailureIsRetryable) {
  Connection reader = connect();
  Connection writer = connect();
  reader.exec_script(
      "CREATE TABLE rows_ (id int PRIMARY KEY, v int); INSERT INTO rows_ VALUES (1, 0)");
  reader.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  reader.exec("SELECT * FROM rows_");
  writer.exec("UPDATE rows_ SET v = 1 WHERE id = 1");
  DbError error = expect_db_error([&] { reader.exec("UPDATE rows_ SET v = 2 WHERE id = 1"); });
  EXPECT_EQ(error.sqlstate(), "40001");
  EXPECT_TRUE(error.is_retryable());
  reader.exec("ROLLBACK");
}

TEST_F(ConnectionTest, DeadlockIsRetryable) {
  Connection first = connect();
  Connection second = connect();
  first.exec_script(
      "CREATE TABLE d (id int PRIMARY KEY, v int); INSERT INTO d VALUES (1, 0), (2, 0)");
  for (Connection* connection : {&first, &second}) {
    connection->exec("SET deadlock_timeout = '100ms'");
    connection->exec("BEGIN");
  }
  first.exec("UPDATE d SET v = 1 WHERE id = 1");
  second.exec("UPDATE d SET v = 2 WHERE id = 2");
  auto crossing = std::async(std::launch::async, [&]() -> std::optional<std::string> {
    try {
      first.exec("UPDATE d SET v = 1 WHERE id = 2");
      return std::nullopt;
    } catch (const DbError& error) {
      EXPECT_TRUE(error.is_retryable());
      return error.sqlstate();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::optional<std::string> second_state;
  try {
    second.exec("UPDATE d SET v = 2 WHERE id = 1");
  } catch (const DbError& error) {
    EXPECT_TRUE(error.is_retryable());
    second_state = error.sqlstate();
  }
  const std::optional<std::string> first_state = crossing.get();
  EXPECT_NE(first_state.has_value(), second_state.has_value()) << "exactly one must fail";
  EXPECT_EQ(first_state.value_or(second_state.value_or("none")), "40P01");
}

TEST_F(ConnectionTest, TerminatedBackendIsConnectionLost) {
  Connection victim = connect();
  Connection killer = connect();
  const int pid = victim.backend_pid();
  EXPECT_EQ(victim.exec("SELECT pg_backend_pid()").get(0, 0), std::to_string(pid));
  killer.exec_params("SELECT pg_terminate_backend($1)", {std::to_string(pid)});
  wait_until_backend_gone(killer, pid);
  DbError error = expect_db_error([&] { victim.exec("SELECT 1"); });
  EXPECT_TRUE(error.connection_lost()) << error.what();
  EXPECT_FALSE(error.outcome_unknown());
  EXPECT_FALSE(victim.ok());
  DbError again = expect_db_error([&] { victim.exec("SELECT 1"); });
  EXPECT_TRUE(again.connection_lost());
}

TEST_F(ConnectionTest, ConnectionLostDuringCommitHasUnknownOutcome) {
  Connection victim = connect();
  Connection killer = connect();
  victim.exec("BEGIN");
  victim.exec("CREATE TABLE maybe (id int)");
  killer.exec_params("SELECT pg_terminate_backend($1)", {std::to_string(victim.backend_pid())});
  wait_until_backend_gone(killer, victim.backend_pid());
  DbError error = expect_db_error([&] { victim.exec("COMMIT"); });
  EXPECT_TRUE(error.connection_lost()) << error.what();
  EXPECT_TRUE(error.fields().during_commit);
  EXPECT_TRUE(error.outcome_unknown());
}

TEST_F(ConnectionTest, MovedFromConnectionIsClosedAndThrowsConnectionLost) {
  Connection original = connect();
  Connection moved = std::move(original);
  EXPECT_TRUE(moved.ok());
  EXPECT_FALSE(original.ok());  // NOLINT(bugprone-use-after-move): the documented state
  DbError error = expect_db_error([&] { original.exec("SELECT 1"); });
  EXPECT_TRUE(error.connection_lost());
  EXPECT_EQ(moved.exec("SELECT 1").get(0, 0), "1");
}

TEST_F(ConnectionTest, ServerNoticesAreNotPrintedToStderr) {
  Connection connection = connect();
  ::testing::internal::CaptureStderr();
  connection.exec("DROP TABLE IF EXISTS never_existed");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(ConnectionTest, ReportsServerVersionAndBackendPid) {
  Connection connection = connect();
  // The server the harness started from $DBMIG_PG_BINDIR, whichever major
  // that is (13 is the oldest dbmig supports).
  EXPECT_GE(connection.server_version(), 130000);
  EXPECT_EQ(connection.server_version() / 10000, test::pg_bin_major());
  EXPECT_EQ(connection.server_version(), test::shared_server_version());
  EXPECT_EQ(std::to_string(connection.server_version()),
            connection.exec("SHOW server_version_num").get(0, 0));
  EXPECT_GT(connection.backend_pid(), 0);
}

TEST_F(ConnectionTest, OpenSetsApplicationNameAndIdleInTransactionTimeout) {
  ConnectOptions options;
  options.conninfo = conninfo();
  options.idle_in_transaction_timeout = std::chrono::milliseconds(1500);
  Connection connection = Connection::open(options);
  EXPECT_EQ(connection.exec("SHOW application_name").get(0, 0), "dbmig");
  EXPECT_EQ(connection.exec("SHOW idle_in_transaction_session_timeout").get(0, 0), "1500ms");

  ConnectOptions plain;
  plain.conninfo = conninfo();
  Connection without = Connection::open(plain);
  EXPECT_EQ(without.exec("SHOW idle_in_transaction_session_timeout").get(0, 0), "0");
}

TEST_F(ConnectionTest, OpenKeepsTheConninfosOwnOptions) {
  ConnectOptions options;
  options.conninfo = conninfo() + " options='-c statement_timeout=4321'";
  options.idle_in_transaction_timeout = std::chrono::milliseconds(2500);
  Connection connection = Connection::open(options);
  EXPECT_EQ(connection.exec("SHOW statement_timeout").get(0, 0), "4321ms");
  EXPECT_EQ(connection.exec("SHOW idle_in_transaction_session_timeout").get(0, 0), "2500ms");
}

TEST_F(ConnectionTest, OpenAcceptsAUrl) {
  ConnectOptions options;
  options.conninfo = "postgresql://postgres@127.0.0.1:" + std::to_string(server().port()) + "/" +
                     database_.name() + "?connect_timeout=5";
  Connection connection = Connection::open(options);
  EXPECT_EQ(connection.exec("SELECT current_database()").get(0, 0), database_.name());
}

TEST_F(ConnectionTest, IdleInTransactionTimeoutEndsTheSession) {
  ConnectOptions options;
  options.conninfo = conninfo();
  options.idle_in_transaction_timeout = std::chrono::milliseconds(100);
  Connection connection = Connection::open(options);
  connection.exec("BEGIN");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  DbError error = expect_db_error([&] { connection.exec("SELECT 1"); });
  EXPECT_TRUE(error.connection_lost()) << error.what();
}

TEST_F(ConnectionTest, CancelInterruptsARunningStatementFromAnotherThread) {
  Connection connection = connect();
  const auto started = std::chrono::steady_clock::now();
  auto canceller = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    connection.cancel();
  });
  DbError error = expect_db_error([&] { connection.exec("SELECT pg_sleep(10)"); });
  canceller.get();
  EXPECT_EQ(error.sqlstate(), "57014");
  EXPECT_FALSE(error.connection_lost());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(connection.exec("SELECT 1").get(0, 0), "1");
}

TEST(ConnectionOpen, RefusedConnectionIsConnectionLostWithoutThePassword) {
  ConnectOptions options;
  options.conninfo = "host=127.0.0.1 port=" + std::to_string(test::pick_free_port()) +
                     " user=someone password=hunter2 dbname=x";
  options.connect_timeout = std::chrono::seconds(2);
  DbError error = expect_db_error([&] { (void)Connection::open(options); });
  EXPECT_TRUE(error.connection_lost());
  EXPECT_FALSE(error.fields().message.empty());
  EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
}

TEST(ConnectionOpen, MalformedConninfoIsAnErrorWithoutThePassword) {
  ConnectOptions options;
  options.conninfo = "host=127.0.0.1 password=hunter2 nonsense_option=1";
  DbError error = expect_db_error([&] { (void)Connection::open(options); });
  EXPECT_NE(std::string(error.what()).find("nonsense_option"), std::string::npos) << error.what();
  EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
}

TEST(ConnectionOpen, WrongPasswordIsRejectedWithoutThePassword) {
  DBMIG_REQUIRE_SERVER();  // same binaries; a second, password-protected server
  test::PgServerOptions server_options;
  server_options.superuser_password = "right-secret";
  test::PgServer server(server_options);
  ConnectOptions good;
  good.conninfo = server.conninfo();
  EXPECT_EQ(Connection::open(good).exec("SELECT 1").get(0, 0), "1");

  ConnectOptions bad;
  bad.conninfo = "host=127.0.0.1 port=" + std::to_string(server.port()) +
                 " user=postgres dbname=postgres password=wrong-secret";
  DbError error = expect_db_error([&] { (void)Connection::open(bad); });
  EXPECT_TRUE(error.connection_lost());
  EXPECT_NE(std::string(error.what()).find("password authentication failed"), std::string::npos)
      << error.what();
  EXPECT_EQ(std::string(error.what()).find("wrong-secret"), std::string::npos) << error.what();
}

}  // namespace
}  // namespace dbmig::db
