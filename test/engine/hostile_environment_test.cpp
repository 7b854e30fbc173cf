// contract section 9 against a real PostgreSQL: the proof and the lease hold whatever the
// database, the role or another role has set. Each test builds the hostile
// environment first (a planted operator, a LATIN1 database, database and role
// defaults) and then applies an ordinary history through engine::apply.
// Role-setting cases run on every supported server: idle_session_timeout
// only exists from PostgreSQL 14, so on 13 that case sets what 13 has.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "db/error.h"
#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using namespace std::chrono_literals;
using test::ApplyOutcome;
using test::MigrationTree;
using test::query_value;
using test::run_apply;

class HostileEnvironmentTest : public test::DatabaseTest {
 protected:
  std::string value(const std::string& sql) { return query_value(admin(), sql); }
  db::Connection& admin() {
    if (!admin_) admin_ = test::connect_to(conninfo());
    return *admin_;
  }
  // A superuser login role (dbmig migrating as superuser, the worst case)
  // whose settings in this database are `settings`; its conninfo.
  std::string role_with(const std::vector<std::string>& settings) {
    static int counter = 0;
    const std::string role =
        "migrator_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    admin().exec("CREATE ROLE " + role + " LOGIN SUPERUSER");
    for (const std::string& setting : settings) {
      admin().exec("ALTER ROLE " + role + " IN DATABASE " + database_.name() + " SET " + setting);
    }
    return conninfo() + " user=" + role;
  }
  static int server_major() { return test::shared_server_version() / 10000; }

  std::unique_ptr<db::Connection> admin_;
};

// A role with CREATE on public plants `public.=(oid, regclass)`: an exact
// match for the comparison a proof makes between pg_index.indrelid and
// to_regclass(...), which pg_catalog lacks (it has oid = oid). A planted
// operator that answers true would make an INVALID index "prove" valid; this
// one also logs every call, as the migrator, into a table anyone may write.
TEST_F(HostileEnvironmentTest, AnOperatorPlantedInPublicIsNeverCalledByDbmig) {
  const std::string planter = "planter_" + std::to_string(::getpid());
  admin().exec_script(
      "CREATE ROLE " + planter + ";\nGRANT CREATE ON SCHEMA public TO " + planter + ";\nSET ROLE " +
      planter +
      ";\n"
      "CREATE TABLE public.calls (who text);\n"
      "GRANT INSERT ON public.calls TO PUBLIC;\n"
      "CREATE FUNCTION public.planted_eq(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS\n"
      "  $$BEGIN INSERT INTO public.calls VALUES (current_user); RETURN true; END$$;\n"
      "CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass,"
      " FUNCTION = public.planted_eq);\n"
      "CREATE FUNCTION public.planted_eq(name, text) RETURNS boolean LANGUAGE plpgsql AS\n"
      "  $$BEGIN INSERT INTO public.calls VALUES (current_user); RETURN true; END$$;\n"
      "CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = text,"
      " FUNCTION = public.planted_eq);\n"
      "RESET ROLE");
  MigrationTree tree({
      {"0001-t/up.sql",
       "CREATE TABLE t (id INT PRIMARY KEY, x INT);\nINSERT INTO t VALUES (1, 1), (2, 1);\n"},
      {"0002-i/up-danger-non-transactional.sql",
       "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
      {"0003-c/up.sql", "ALTER TABLE t ADD CONSTRAINT t_x_positive CHECK (x > 0);\n"},
  });
  const ApplyOutcome failed = run_apply(tree.plan(), conninfo());
  EXPECT_EQ(failed.code, ExitCode::runtime_failure) << failed.describe();
  EXPECT_NE(failed.message.find("INVALID"), std::string::npos) << failed.describe();
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t");

  const ApplyOutcome detected = run_apply(tree.plan(), conninfo());
  EXPECT_EQ(detected.code, ExitCode::runtime_failure) << detected.describe();
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-t");

  admin().exec("DELETE FROM t WHERE id = 2");
  ApplyOptions repair = test::fast_apply_options();
  repair.repair = true;
  const ApplyOutcome repaired = run_apply(tree.plan(), conninfo(), repair);
  ASSERT_EQ(repaired.code, ExitCode::ok) << repaired.describe();
  // Read first: this test's own `indexrelid = ...::regclass` below would call it.
  EXPECT_EQ(value("SELECT count(*) FROM public.calls"), "0")
      << "dbmig called the planted operator as " << value("SELECT min(who) FROM public.calls");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0003-c");
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid OPERATOR(pg_catalog.=)"
                  " 't_x_idx'::regclass"),
            "t");
}

// In a LATIN1 database a UTF-8 step's 'café' is four characters, as written;
// a client that left client_encoding at the database's stores the two bytes
// of é as two LATIN1 characters.
TEST_F(HostileEnvironmentTest, AUtf8StepInALatin1DatabaseIsStoredAsWritten) {
  const std::string name = "latin1_" + std::to_string(::getpid());
  admin().exec("CREATE DATABASE " + name +
               " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  const std::string latin1 = test::shared_server()->conninfo(name);
  MigrationTree tree(std::vector<test::FileRow>{
      {"0001-t/up.sql", "CREATE TABLE t (s TEXT);\nINSERT INTO t VALUES ('caf\xc3\xa9');\n"},
  });
  const ApplyOutcome outcome = run_apply(tree.plan(), latin1);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  auto reader = test::connect_to(latin1);
  EXPECT_EQ(query_value(*reader, "SELECT length(s) FROM t"), "4");
  EXPECT_EQ(query_value(*reader, "SELECT s = 'caf\xc3\xa9' FROM t"), "t");
  EXPECT_EQ(query_value(*reader, "SELECT encode(convert_to(s, 'LATIN1'), 'hex') FROM t"),
            "636166e9");
}

// dbmig reads `'\'` as one backslash (standard conforming strings). With the
// database default standard_conforming_strings = off, the server would read
// `\'` as an escaped quote, and this one INSERT as INSERT; COMMIT; SELECT 1/0
// (committing a row on every failed try).
TEST_F(HostileEnvironmentTest, StandardConformingStringsOffCannotChangeHowTheServerReadsAStep) {
  admin().exec("ALTER DATABASE " + database_.name() + " SET standard_conforming_strings = off");
  const std::string step = "INSERT INTO t (a) VALUES ('\\' || '); COMMIT; SELECT 1/0; --');\n";
  MigrationTree tree({
      {"0001-t/up.sql", "CREATE TABLE t (a TEXT);\n"},
      {"0002-row/up.sql", step},
  });
  const ApplyOutcome outcome = run_apply(tree.plan(), conninfo());
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT count(*) FROM t"), "1");
  auto reader = test::connect_to(conninfo());
  EXPECT_EQ(query_value(*reader, "SELECT a FROM t"), "\\); COMMIT; SELECT 1/0; --");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-row");
}

// A role's lock_timeout (RESET ALL restores role defaults) would cancel a
// concurrent build waiting for an old snapshot and leave an INVALID index.
TEST_F(HostileEnvironmentTest, ARolesLockTimeoutCannotCancelAConcurrentBuild) {
  const std::string migrator = role_with({"lock_timeout = '200ms'"});
  MigrationTree tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"},
      {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
  });
  ApplyOptions first = test::fast_apply_options();
  first.to = "0001-t";
  ASSERT_EQ(run_apply(tree.plan(), migrator, first).code, ExitCode::ok);
  auto holder = test::connect_to(conninfo());
  test::hold_snapshot(*holder);
  auto apply = std::async(std::launch::async, [&] { return run_apply(tree.plan(), migrator); });
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (value("SELECT count(*) FROM pg_stat_progress_create_index WHERE phase = 'waiting for "
               "old snapshots'") != "1" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(1s);  // five times the role's lock_timeout
  holder->exec("ROLLBACK");
  const ApplyOutcome outcome = apply.get();
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "t");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0002-i");
}

// A role's idle_session_timeout (PostgreSQL >= 14) would end dbmig's state
// connection while a long step runs on the step connection; the run then
// failed and left the lease row held. On 13 the role gets the timeouts 13
// has, which dbmig's connections override as well.
TEST_F(HostileEnvironmentTest, ARolesIdleSessionTimeoutCannotEndDbmigsIdleConnections) {
  std::vector<std::string> settings = {"statement_timeout = '5min'",
                                       "idle_in_transaction_session_timeout = '300ms'"};
  if (server_major() >= 14) settings.emplace_back("idle_session_timeout = '300ms'");
  const std::string migrator = role_with(settings);
  MigrationTree tree({
      {"0001-t/up.sql", "CREATE TABLE t (id INT PRIMARY KEY, x INT);\nSELECT pg_sleep(1.5);\n"},
      {"0002-i/up.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
      {"0003-u/up.sql", "SELECT pg_sleep(1.5);\nINSERT INTO t VALUES (1, 1);\n"},
  });
  const ApplyOutcome outcome = run_apply(tree.plan(), migrator);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0003-u");
  EXPECT_EQ(value("SELECT lease_owner FROM dbmig.state"), "NULL") << "the lease is released";
  EXPECT_EQ(value("SELECT count(*) FROM t"), "1");
}

// The step sets its own search_path: its index is s1.idx on s1.t (whose
// duplicates fail the build), while public.idx on public.t is valid. The
// proof must be about s1.idx, resolved on the step connection right after
// the statement, not about whatever "idx" names on another connection.
TEST_F(HostileEnvironmentTest, AStepsOwnSearchPathCannotFoolTheProof) {
  admin().exec_script(
      "CREATE SCHEMA s1;\n"
      "CREATE TABLE public.t (x INT);\nCREATE UNIQUE INDEX idx ON public.t (x);\n"
      "CREATE TABLE s1.t (x INT);\nINSERT INTO s1.t VALUES (1), (1);\n");
  MigrationTree tree(std::vector<test::FileRow>{
      {"0001-i/up-danger-non-transactional.sql",
       "SET search_path = s1;\n"
       "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx ON t (x);\n"}});
  const ApplyOutcome failed = run_apply(tree.plan(), conninfo());
  EXPECT_EQ(failed.code, ExitCode::runtime_failure) << failed.describe();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 's1.idx'::regclass"), "f");

  // The re-run's IF NOT EXISTS skips over the INVALID s1.idx.
  const ApplyOutcome rerun = run_apply(tree.plan(), conninfo());
  EXPECT_EQ(rerun.code, ExitCode::runtime_failure) << rerun.describe();
  EXPECT_NE(rerun.message.find("INVALID"), std::string::npos) << rerun.describe();
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "NULL") << "nothing may be recorded";

  admin().exec("DELETE FROM s1.t WHERE ctid = (SELECT max(ctid) FROM s1.t)");
  ApplyOptions repair = test::fast_apply_options();
  repair.repair = true;
  const ApplyOutcome repaired = run_apply(tree.plan(), conninfo(), repair);
  ASSERT_EQ(repaired.code, ExitCode::ok) << repaired.describe();
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 's1.idx'::regclass"), "t");
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.idx'::regclass"),
            "t");
  EXPECT_EQ(value("SELECT object_oids = ('s1.t'::regclass::oid || ':' || 's1.idx'::regclass::oid)"
                  " FROM dbmig.steps"),
            "t");
}

// The database's search_path is s1, public: the step's table t is public.t,
// whose INVALID public.idx --repair must drop, and s1.idx (on another
// table) must survive, though "idx" alone names it first.
TEST_F(HostileEnvironmentTest, RepairDropsOnlyTheIndexWhoseOidItChecked) {
  admin().exec_script(
      "CREATE SCHEMA s1;\n"
      "CREATE TABLE s1.other (x INT);\nCREATE INDEX idx ON s1.other (x);\n"
      "CREATE TABLE public.t (id INT, x INT);\nINSERT INTO public.t VALUES (1, 1), (2, 1);\n");
  try {
    admin().exec("CREATE UNIQUE INDEX CONCURRENTLY idx ON public.t (x)");
  } catch (const db::DbError&) {
    // The duplicates leave public.idx INVALID, as a failed earlier run would.
  }
  admin().exec("DELETE FROM public.t WHERE id = 2");
  admin().exec("ALTER DATABASE " + database_.name() + " SET search_path = s1, public");
  MigrationTree tree(std::vector<test::FileRow>{
      {"0001-i/up.sql", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx ON t (x);\n"}});
  const ApplyOutcome detected = run_apply(tree.plan(), conninfo());
  EXPECT_EQ(detected.code, ExitCode::runtime_failure) << detected.describe();
  EXPECT_NE(detected.message.find("INVALID"), std::string::npos) << detected.describe();

  ApplyOptions repair = test::fast_apply_options();
  repair.repair = true;
  const ApplyOutcome repaired = run_apply(tree.plan(), conninfo(), repair);
  ASSERT_EQ(repaired.code, ExitCode::ok) << repaired.describe();
  EXPECT_EQ(value("SELECT count(*) FROM pg_class WHERE oid = 's1.idx'::regclass"), "1")
      << "the unrelated s1.idx was dropped";
  EXPECT_EQ(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.idx'::regclass"),
            "t");
  EXPECT_EQ(value("SELECT version FROM dbmig.state"), "0001-i");
}

}  // namespace
}  // namespace dbmig::engine
