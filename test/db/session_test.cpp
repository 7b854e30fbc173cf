// dbmig's two kinds of session (state_session, step_session) against a real
// PostgreSQL whose database and role set everything dbmig must not inherit:
// what the connection shows, and still shows after RESET ALL, is dbmig's.
// Also the lib/db helpers every caller shares: the transaction guard, the
// single-value and boolean helpers, and exec refusing several commands.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "db/connection.h"
#include "support/pg_server.h"

namespace dbmig::db {
namespace {

using namespace std::chrono_literals;

class SessionTest : public test::DatabaseTest {
 protected:
  // A login role whose settings (in this database) are hostile to dbmig;
  // returns the conninfo that logs in as it.
  std::string hostile_role() {
    static int counter = 0;
    const std::string role =
        "hostile_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    Connection admin = connect();
    admin.exec("CREATE ROLE " + role + " LOGIN SUPERUSER");
    const std::string in_database = " IN DATABASE " + database_.name();
    for (const char* setting :
         {"search_path = 'public'", "lock_timeout = '1ms'", "statement_timeout = '7min'",
          "idle_in_transaction_session_timeout = '1ms'", "client_encoding = 'LATIN1'"}) {
      admin.exec("ALTER ROLE " + role + in_database + " SET " + setting);
    }
    if (server_major() >= 14) {
      admin.exec("ALTER ROLE " + role + in_database + " SET idle_session_timeout = '1ms'");
    }
    admin.exec("ALTER DATABASE " + database_.name() + " SET standard_conforming_strings = off");
    return conninfo() + " user=" + role;
  }
  static int server_major() { return test::shared_server_version() / 10000; }
  static std::string show(Connection& connection, const std::string& name) {
    return connection.query_value("SHOW " + name).value_or("(null)");
  }
};

struct Expected {
  const char* setting;
  const char* value;
};

void expect_settings(Connection& connection, const std::vector<Expected>& rows) {
  for (const Expected& row : rows) {
    EXPECT_EQ(connection.query_value(std::string("SHOW ") + row.setting).value_or("(null)"),
              row.value)
        << row.setting;
  }
}

std::vector<Expected> state_session_settings(int server_major) {
  std::vector<Expected> rows = {
      {"search_path", "pg_catalog,pg_temp"}, {"lock_timeout", "5s"},
      {"statement_timeout", "10s"},          {"idle_in_transaction_session_timeout", "10s"},
      {"client_encoding", "UTF8"},           {"standard_conforming_strings", "on"},
  };
  if (server_major >= 14) rows.push_back({"idle_session_timeout", "0"});
  if (server_major >= 17) rows.push_back({"transaction_timeout", "0"});
  return rows;
}

// The first connection to a conninfo (server version not known yet) gets the
// version-dependent settings with set_config on the same connection, or,
// when the role's 1 ms idle_session_timeout ends it first, from a second
// connection: either way the session shows dbmig's settings.
TEST_F(SessionTest, AFirstStateSessionOverridesTheRolesSettings) {
  const std::string role_conninfo = hostile_role();
  Connection connection = Connection::open(state_session(role_conninfo, 15000ms));
  expect_settings(connection, state_session_settings(server_major()));
}

TEST_F(SessionTest, StateSessionOverridesTheRolesSettingsEvenAfterResetAll) {
  const std::string role_conninfo = hostile_role();
  (void)Connection::open(state_session(role_conninfo, 15000ms));  // the version is now known
  Connection connection = Connection::open(state_session(role_conninfo, 15000ms));
  const std::vector<Expected> rows = state_session_settings(server_major());
  expect_settings(connection, rows);
  connection.exec("RESET ALL");
  expect_settings(connection, rows);
}

TEST_F(SessionTest, StepSessionKeepsTheRolesSearchPathAndStatementTimeoutOnly) {
  const std::string role_conninfo = hostile_role();
  Connection connection = Connection::open(step_session(role_conninfo, 15000ms));
  std::vector<Expected> rows = {
      {"search_path", "public"},     {"lock_timeout", "0"},
      {"statement_timeout", "7min"}, {"idle_in_transaction_session_timeout", "10s"},
      {"client_encoding", "UTF8"},   {"standard_conforming_strings", "on"},
  };
  if (server_major() >= 14) rows.push_back({"idle_session_timeout", "0"});
  expect_settings(connection, rows);
  connection.exec("RESET ALL");
  expect_settings(connection, rows);
}

TEST_F(SessionTest, AStartupOptionOfTheConninfoStillComesBeforeDbmigsOwn) {
  Connection connection = Connection::open(
      state_session(conninfo() + " options='-c lock_timeout=4321 -c work_mem=8MB'", 3000ms));
  EXPECT_EQ(show(connection, "lock_timeout"), "1s");
  EXPECT_EQ(show(connection, "work_mem"), "8MB");
}

TEST_F(SessionTest, ExecRefusesATextOfSeveralCommands) {
  Connection connection = connect();
  connection.exec("CREATE TABLE t (id int)");
  try {
    connection.exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)");
    ADD_FAILURE() << "two commands were accepted as one statement";
  } catch (const DbError& error) {
    EXPECT_EQ(error.sqlstate(), "42601") << error.what();
  }
  EXPECT_EQ(connection.query_value("SELECT count(*) FROM t"), "0");
}

TEST_F(SessionTest, TransactionGuardRollsBackUnlessCommitted) {
  Connection connection = connect();
  connection.exec("CREATE TABLE t (id int)");
  {
    Transaction transaction(connection);
    connection.exec("INSERT INTO t VALUES (1)");
  }
  EXPECT_EQ(connection.query_value("SELECT count(*) FROM t"), "0");
  {
    Transaction transaction = Transaction::adopt(connection);
    connection.exec_script("BEGIN; INSERT INTO t VALUES (2)");
  }
  EXPECT_EQ(connection.query_value("SELECT count(*) FROM t"), "0");
  {
    Transaction transaction(connection);
    connection.exec("INSERT INTO t VALUES (3)");
    transaction.commit();
  }
  EXPECT_EQ(connection.query_value("SELECT string_agg(id::text, ',') FROM t"), "3");
  EXPECT_EQ(connection.query_value("SELECT txid_current_if_assigned() IS NULL"), "t");
}

TEST_F(SessionTest, ValueAndBooleanHelpers) {
  Connection connection = connect();
  EXPECT_EQ(connection.query_value("SELECT 'a' WHERE false"), std::nullopt);
  EXPECT_EQ(connection.query_value("SELECT NULL::text"), std::nullopt);
  EXPECT_EQ(connection.query_value("SELECT $1::text || 'b'", {"a"}), "ab");
  EXPECT_TRUE(connection.query_bool("SELECT true"));
  EXPECT_FALSE(connection.query_bool("SELECT false"));
  EXPECT_FALSE(connection.query_bool("SELECT NULL::bool"));
  EXPECT_FALSE(connection.query_bool("SELECT true WHERE false"));
  EXPECT_FALSE(connection.query_bool("SELECT true UNION ALL SELECT true"));
  EXPECT_TRUE(is_true("t"));
  EXPECT_TRUE(is_true("true"));
  EXPECT_FALSE(is_true("f"));
  EXPECT_FALSE(is_true(""));
}

}  // namespace
}  // namespace dbmig::db
