// A throwaway PostgreSQL server for tests: initdb into a temp dir, pg_ctl on
// a free loopback port, stopped and deleted by the destructor. Binaries come
// from $DBMIG_PG_BINDIR, else /usr/lib/postgresql/15/bin (CI also runs the
// database tests against PostgreSQL 13 and 18 from scripts/pg-versions.sh).
// Running as root (as CI does), the server runs as `postgres` (else `nobody`)
// through runuser, so the binaries must be reachable by that user.
//
// Typical use:
//   TEST(Apply, Something) {
//     DBMIG_REQUIRE_SERVER();                 // skip (or FAIL when CI=true)
//     auto database = dbmig::test::TestDatabase::create();
//     db::Connection c = database.connect();   // or database.conninfo()
//   }
// or derive the fixture `dbmig::test::DatabaseTest` (SetUp does both).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"

namespace dbmig::test {

struct PgServerOptions {
  // When non-empty, the superuser `postgres` gets this password and every
  // connection must authenticate with scram-sha-256; else trust.
  std::string superuser_password;
  // Extra `-c name=value` server settings, e.g. "log_statement=all".
  std::vector<std::string> settings;
};

class PgServer {
 public:
  // initdb + start. Throws std::runtime_error with the tool's stderr when
  // the server cannot be created or started.
  explicit PgServer(PgServerOptions options = {});
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  // Stops the server (pg_ctl -m immediate) and removes the temp dir. Never throws.
  ~PgServer();

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::filesystem::path& data_dir() const { return data_dir_; }
  // `host=127.0.0.1 port=P user=postgres dbname=<dbname>` (+ password when set).
  [[nodiscard]] std::string conninfo(std::string_view dbname = "postgres") const;
  // A superuser connection to `dbname` (application_name dbmig_test).
  [[nodiscard]] db::Connection connect(std::string_view dbname = "postgres") const;
  // Runs `sql` as superuser in `dbname` (a fresh connection each call).
  void exec(std::string_view sql, std::string_view dbname = "postgres") const;

  // CREATE DATABASE "<name>"; returns its conninfo. Throws db::DbError.
  std::string create_database(std::string_view name) const;

  // pg_ctl stop: fast (clean) or immediate (crash: no shutdown checkpoint).
  void stop(bool immediate = false);
  // pg_ctl start on the same port, waiting until it accepts connections.
  void start();
  void restart(bool immediate = false);
  [[nodiscard]] bool running() const { return running_; }

 private:
  std::vector<std::string> as_server_user(std::vector<std::string> argv) const;
  std::string run_tool(std::vector<std::string> argv) const;
  void init_cluster();

  PgServerOptions options_;
  std::filesystem::path bin_dir_;
  std::filesystem::path root_;
  std::filesystem::path data_dir_;
  std::string run_as_;  // "" when not root
  int port_ = 0;
  bool running_ = false;
};

// The directory holding initdb/pg_ctl/postgres: $DBMIG_PG_BINDIR, else
// /usr/lib/postgresql/15/bin. scripts/pg-versions.sh installs other majors
// and prints their bin dirs.
std::filesystem::path pg_bin_dir();

// The major version of the server binaries in pg_bin_dir() (from
// `postgres --version`, run once); 0 when they cannot be run.
int pg_bin_major();

// The shared server's version as libpq reports it (e.g. 130023, 180004),
// read once; 0 when there is no shared server. Tests of behaviour that
// differs by version branch on this, on purpose, with the reason beside it.
int shared_server_version();

// A port on 127.0.0.1 that was free a moment ago (bind port 0, read, close).
int pick_free_port();

// The process-wide server, started on first call; nullptr when it cannot
// start (shared_server_error() says why). Stopped at process exit.
PgServer* shared_server();
const std::string& shared_server_error();

// True when env CI is "true" (a skipped database test is then a failure).
bool running_in_ci();

// A fresh database on the shared server, named t_<test name>_<n> (lower
// case, at most 63 bytes). Precondition: shared_server() != nullptr.
class TestDatabase {
 public:
  // Creates the database for the current gtest test. Throws db::DbError.
  static TestDatabase create();
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& conninfo() const { return conninfo_; }
  // A connection to this database as superuser, application_name dbmig.
  [[nodiscard]] db::Connection connect() const;

 private:
  std::string name_;
  std::string conninfo_;
};

// Fixture: SetUp requires the server (skip/fail) and creates `database`.
class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  [[nodiscard]] PgServer& server() const { return *shared_server(); }
  [[nodiscard]] const std::string& conninfo() const { return database_.conninfo(); }
  [[nodiscard]] db::Connection connect() const { return database_.connect(); }
  TestDatabase database_;
};

}  // namespace dbmig::test

// In a TEST body or SetUp: skips the test when the shared server cannot
// start, or fails it when CI=true (in CI a skip is a failure).
#define DBMIG_REQUIRE_SERVER()                                                               \
  do {                                                                                       \
    if (::dbmig::test::shared_server() == nullptr) {                                         \
      if (::dbmig::test::running_in_ci()) {                                                  \
        FAIL() << "no PostgreSQL test server: " << ::dbmig::test::shared_server_error();     \
      }                                                                                      \
      GTEST_SKIP() << "no PostgreSQL test server: " << ::dbmig::test::shared_server_error(); \
    }                                                                                        \
  } while (false)
