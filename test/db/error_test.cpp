// DbError holds no secret (contract sections 7, 9) and describe() is the one rendering of
// it: every malformed or failing connection string, every statement with a
// password, the hint for each kind of connection failure.
#include "db/error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "db/connection.h"
#include "db/redact.h"
#include "support/pg_server.h"
#include "support/secret_conninfos.h"

namespace dbmig::db {
namespace {

using test::holds_secret;

const std::string kPassword = std::string(test::kSecretHead) + std::string(test::kSecretTail);

// Every text of the error and of its description, for one assertion.
std::string everything(const DbError& error, std::string_view conninfo) {
  const DbError::Fields& fields = error.fields();
  const ErrorDescription description = describe(error, conninfo);
  return std::string(error.what()) + "|" + fields.message + "|" + fields.detail + "|" +
         fields.hint + "|" + fields.statement + "|" + description.message + "|" +
         description.detail + "|" + description.hint + "|" + description.statement + "|" +
         description.database;
}

std::optional<DbError> open_error(const std::string& conninfo) {
  ConnectOptions options;
  options.conninfo = conninfo;
  options.connect_timeout = std::chrono::seconds(2);
  try {
    (void)Connection::open(options);
  } catch (const DbError& error) {
    return error;
  }
  return std::nullopt;
}

// Sets an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ConnectionSecrets, NoFailedOpenOfAnyConninfoHoldsAnyPartOfThePassword) {
  const int port = test::pick_free_port();
  int attempts = 0;
  for (const std::string& conninfo_template : test::secret_conninfo_templates()) {
    for (const std::string& separator : test::secret_separators()) {
      const std::string conninfo = test::secret_conninfo(conninfo_template, separator, port);
      const std::optional<DbError> error = open_error(conninfo);
      ASSERT_TRUE(error.has_value()) << conninfo;
      ++attempts;
      EXPECT_TRUE(error->connection_lost()) << conninfo;
      EXPECT_FALSE(error->fields().message.empty()) << conninfo;
      EXPECT_FALSE(holds_secret(everything(*error, conninfo))) << conninfo << "\n"
                                                               << everything(*error, conninfo);
    }
  }
  EXPECT_EQ(attempts, static_cast<int>(test::secret_conninfo_templates().size() *
                                       test::secret_separators().size()));
}

TEST(ConnectionSecrets, PgpasswordIsNeverEchoed) {
  const ScopedEnv password("PGPASSWORD", kPassword);
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(test::pick_free_port()) + " bogus_option=1";
  const std::optional<DbError> error = open_error(conninfo);
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(holds_secret(everything(*error, conninfo))) << everything(*error, conninfo);
}

TEST(DbErrorSecrets, TheConstructorMasksTheStatementsPasswordInEveryField) {
  DbError::Fields fields;
  fields.sqlstate = "42601";
  fields.message = "unterminated quoted string at or near \"'" + kPassword + "\"";
  fields.detail = "the detail says " + kPassword;
  fields.hint = "and so does the hint: " + kPassword;
  fields.statement = "CREATE ROLE r LOGIN PASSWORD '" + kPassword;
  const DbError error(fields);
  EXPECT_FALSE(holds_secret(everything(error, ""))) << everything(error, "");
  EXPECT_EQ(error.fields().message, "unterminated quoted string at or near \"********\"");
  EXPECT_EQ(error.fields().statement, "CREATE ROLE r LOGIN PASSWORD '********'");
  EXPECT_EQ(error.sqlstate(), "42601");
}

TEST(DbErrorSecrets, TheGivenSecretsAreMaskedToo) {
  DbError::Fields fields;
  fields.message = "token \"" + kPassword + "\" is wrong";
  const DbError error(fields, {kPassword});
  EXPECT_EQ(std::string(error.what()), "token \"********\" is wrong");
}

class StatementSecretsTest : public test::DatabaseTest {};

// The server quotes a statement's text in its messages: none of them may
// keep the password, whichever way the statement was sent.
TEST_F(StatementSecretsTest, FailingStatementsWithPasswordsLeaveThemOutOfTheError) {
  const std::string statements[] = {
      "CREATE ROLE secret_r LOGIN PASSWORD '" + kPassword,
      "CREATE ROLE secret_r PASSWORD " + kPassword,
      "ALTER ROLE no_such_role WITH ENCRYPTED PASSWORD '" + kPassword + "'",
      "ALTER ROLE postgres PASSWORD '" + kPassword + "' VALID UNTIL 'not a time'",
      "SELECT 'host=127.0.0.1 password=" + kPassword + "'::int",
      "SELECT 'postgresql://u:" + kPassword + "@127.0.0.1/db'::int",
      "SELECT E'password=" + kPassword + "'::int",
      "CREATE SUBSCRIPTION secret_s CONNECTION 'host=127.0.0.1 port=" +
          std::to_string(test::pick_free_port()) + " password=" + kPassword +
          " dbname=x' PUBLICATION p",
      "CREATE SUBSCRIPTION secret_s CONNECTION 'host=127.0.0.1 password=''" + kPassword +
          "' PUBLICATION p",
  };
  Connection connection = connect();
  for (const std::string& statement : statements) {
    for (int way = 0; way < 3; ++way) {
      std::optional<DbError> caught;
      try {
        if (way == 0) (void)connection.exec(statement);
        if (way == 1) (void)connection.exec_script("SELECT 1;\n" + statement);
        if (way == 2) (void)connection.exec_params(statement, {});
      } catch (const DbError& error) {
        caught = error;
      }
      ASSERT_TRUE(caught.has_value()) << statement;
      EXPECT_FALSE(caught->fields().statement.empty()) << statement;
      EXPECT_FALSE(holds_secret(everything(*caught, "")))
          << "way " << way << ": " << statement << "\n"
          << everything(*caught, "");
    }
  }
}

TEST(ConnectionHint, NamesWhatToCheckForEachKindOfFailure) {
  struct Row {
    std::string sqlstate;
    std::string message;
    bool defaults;
    std::string expected;  // a part of the hint; "" = no hint
  };
  const std::vector<Row> rows = {
      {"",
       "connection to server at \"h\", port 1 failed: FATAL:  password authentication failed "
       "for user \"u\"",
       false, "check the user and password"},
      {"28P01", "anything", false, "check the user and password"},
      {"", "connection to server at \"h\", port 1 failed: fe_sendauth: no password supplied", false,
       "PGPASSWORD or ~/.pgpass"},
      {"", "connection to server at \"h\", port 1 failed: FATAL:  no pg_hba.conf entry for host",
       false, "pg_hba.conf"},
      {"", "connection to server at \"h\", port 1 failed: FATAL:  role \"x\" does not exist", false,
       "no such user"},
      {"28000", "anything", false, "pg_hba.conf"},
      {"", "connection to server at \"h\", port 1 failed: FATAL:  database \"x\" does not exist",
       false, "no such database"},
      {"3D000", "anything", false, "no such database"},
      {"", "connection to server at \"127.0.0.1\", port 1 failed: Connection refused", false,
       "check that the server is running"},
      {"", "could not translate host name \"nowhere\" to address: Name or service not known", false,
       "the host name cannot be resolved"},
      {"", "connection to server at \"h\", port 1 failed: timeout expired", false,
       "did not answer in time"},
      {"",
       "connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: No such file "
       "or directory",
       true,
       "no --db and no DATABASE_URL were given, so dbmig used libpq's "
       "defaults"},
      {"", "connection to server at \"127.0.0.1\", port 1 failed: Connection refused", true,
       "pass --db URL, or set DATABASE_URL or the PG* variables"},
      {"", "server closed the connection unexpectedly", false, ""},
      {"", "server closed the connection unexpectedly", true, ""},
  };
  for (const Row& row : rows) {
    const std::string hint = connection_hint(row.sqlstate, row.message, row.defaults);
    if (row.expected.empty()) {
      EXPECT_EQ(hint, "") << row.message;
    } else {
      EXPECT_NE(hint.find(row.expected), std::string::npos) << row.message << "\nhint: " << hint;
    }
  }
}

TEST(Describe, AFailedConnectionNamesTheDatabaseAndHintsAndKeepsTheServersHint) {
  DbError::Fields fields;
  fields.message = "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n";
  fields.connection_lost = true;
  const ErrorDescription refused =
      describe(DbError(fields), "postgres://u:" + kPassword + "@127.0.0.1:1/db");
  EXPECT_EQ(refused.message,
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused");
  EXPECT_EQ(refused.database, "postgres://u:********@127.0.0.1:1/db");
  EXPECT_NE(refused.hint.find("check that the server is running"), std::string::npos);

  const ErrorDescription defaults = describe(DbError(fields), "");
  EXPECT_EQ(defaults.database, "libpq defaults (PGHOST, PGPORT, ...)");
  EXPECT_NE(defaults.hint.find("DATABASE_URL"), std::string::npos) << defaults.hint;

  DbError::Fields server;
  server.sqlstate = "42P01";
  server.message = "relation \"t\" does not exist";
  server.hint = "the server's own hint";
  server.statement = "SELECT * FROM t\n";
  const ErrorDescription plain = describe(DbError(server), "host=h");
  EXPECT_EQ(plain.hint, "the server's own hint");
  EXPECT_EQ(plain.database, "");
  EXPECT_EQ(plain.statement, "SELECT * FROM t");
}

}  // namespace
}  // namespace dbmig::db
