// engine::apply against a real PostgreSQL (test/support/pg_server.h), each
// test in its own database. The scenarios are the ones docs/contract.md section 6 is
// about: a version is recorded only when every step's change is complete,
// INVALID indexes fail fast, builds of earlier runs are waited for, lock
// timeouts are retried, and runs resume after failures.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "db/error.h"
#include "engine/commands.h"
#include "support/apply_harness.h"
#include "support/json_schema.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using namespace std::chrono_literals;
using test::ApplyOutcome;
using test::MigrationTree;
using test::query_value;
using test::run_apply;

const std::string kCreateTable = "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT);\n";
const std::string kConcurrentIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n";

class ApplyTest : public test::DatabaseTest {
 protected:
  std::string value(const std::string& sql) { return query_value(state(), sql); }
  db::Connection& state() {
    if (!connection_) connection_ = test::connect_to(conninfo());
    return *connection_;
  }
  std::string step_state(const std::string& version, int step) {
    return value("SELECT state FROM dbmig.steps WHERE version = '" + version +
                 "' AND step = " + std::to_string(step));
  }
  std::string recorded_version() { return value("SELECT version FROM dbmig.state"); }
  std::string index_validity(const std::string& index) {
    return value("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('" + index + "')");
  }
  ApplyOutcome apply(const MigrationTree& tree, ApplyOptions options = test::fast_apply_options()) {
    return run_apply(tree.plan(), conninfo(), options);
  }
  ApplyOutcome apply_to(const MigrationTree& tree, const std::string& to) {
    ApplyOptions options = test::fast_apply_options();
    options.to = to;
    return run_apply(tree.plan(), conninfo(), options);
  }

  std::unique_ptr<db::Connection> connection_;
};

// Runs CREATE INDEX CONCURRENTLY on its own connection while an open
// REPEATABLE READ snapshot on another connection holds the build back in
// "waiting for old snapshots" (the index then exists, ready but not valid).
class HeldBackIndexBuild {
 public:
  HeldBackIndexBuild(const std::string& conninfo, const std::string& statement)
      : holder_(test::connect_to(conninfo)), builder_(test::connect_to(conninfo)) {
    test::hold_snapshot(*holder_);
    pid_ = builder_->backend_pid();
    result_ = std::async(std::launch::async, [this, statement]() -> std::string {
      try {
        builder_->exec(statement);
        return "ok";
      } catch (const db::DbError& error) {
        return error.sqlstate() + " " + error.fields().message;
      }
    });
    wait_for_phase(conninfo);
  }
  ~HeldBackIndexBuild() {
    release();
    if (result_.valid()) result_.wait();
  }
  [[nodiscard]] int pid() const { return pid_; }
  // Ends the snapshot: the build completes.
  void release() {
    if (holder_) holder_->exec("ROLLBACK");
    holder_.reset();
  }
  // "ok" or "<sqlstate> <message>" once the build statement returned.
  std::string outcome() { return result_.get(); }

 private:
  void wait_for_phase(const std::string& conninfo) {
    auto observer = test::connect_to(conninfo);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string phase =
          query_value(*observer, "SELECT phase FROM pg_stat_progress_create_index WHERE pid = " +
                                     std::to_string(pid_));
      if (phase == "waiting for old snapshots") return;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "the index build never reached 'waiting for old snapshots'";
  }

  std::unique_ptr<db::Connection> holder_;
  std::unique_ptr<db::Connection> builder_;
  int pid_ = 0;
  std::future<std::string> result_;
};

TEST_F(ApplyTest, AppliesTransactionalConcurrentAndValidatingStepsThenRecordsTheVersion) {
  MigrationTree tree({
      {"0001-users/up.sql", "CREATE TABLE users (id INT PRIMARY KEY, email TEXT, org INT);\n"},
      {"0002-email/up1.sql",
       "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"},
      {"0002-email/up2.sql",
       "ALTER TABLE users ADD CONSTRAINT users_org_positive CHECK (org > 0) NOT VALID;\n"},
      {"0002-email/up3.sql", "ALTER TABLE users VALIDATE CONSTRAINT users_org_positive;\n"},
  });
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(recorded_version(), "0002-email");
  EXPECT_EQ(value("SELECT count(*) FROM dbmig.steps WHERE state = 'verified'"), "4");
  EXPECT_EQ(
      value("SELECT transactional FROM dbmig.steps WHERE version = '0002-email' AND step = 1"),
      "f");
  EXPECT_EQ(index_validity("users_email_idx"), "t");
  EXPECT_EQ(value("SELECT convalidated FROM pg_constraint WHERE conname = 'users_org_positive'"),
            "t");
  EXPECT_EQ(value("SELECT lease_owner FROM dbmig.state"), "NULL") << "the lease is released";
  EXPECT_NE(outcome.out.find("0002-email up1.sql applied and verified"), std::string::npos)
      << outcome.out;
}

TEST_F(ApplyTest, SecondApplyIsANoOpThatTakesNoLease) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ASSERT_EQ(apply(tree).code, ExitCode::ok);
  const std::string token = value("SELECT lease_token FROM dbmig.state");
  const std::string updated = value("SELECT updated_at FROM dbmig.state");
  const ApplyOutcome again = apply(tree);
  ASSERT_EQ(again.code, ExitCode::ok) << again.describe();
  EXPECT_NE(again.out.find("up to date at 0002-i"), std::string::npos) << again.out;
  EXPECT_EQ(value("SELECT lease_token FROM dbmig.state"), token);
  EXPECT_EQ(value("SELECT updated_at FROM dbmig.state"), updated);
}

TEST_F(ApplyTest, VersionAdvancesOnlyAfterItsLastStep) {
  MigrationTree tree({
      {"0001-t/up.sql", kCreateTable},
      {"0002-two/up1.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS y INT;\n"},
      {"0002-two/up2.sql", "ALTER TABLE t ADD COLUMN z no_such_type;\n"},
  });
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("no_such_type"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("0002-two/up2.sql"), std::string::npos) << outcome.message;
  EXPECT_EQ(recorded_version(), "0001-t");
  EXPECT_EQ(step_state("0002-two", 1), "verified");
  EXPECT_EQ(step_state("0002-two", 2), "failed");
  EXPECT_NE(value("SELECT error FROM dbmig.steps WHERE step = 2").find("no_such_type"),
            std::string::npos);

  tree.write("0002-two/up2.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS z INT;\n");
  const ApplyOutcome fixed = apply(tree);
  ASSERT_EQ(fixed.code, ExitCode::ok) << fixed.describe();
  EXPECT_EQ(recorded_version(), "0002-two");
  EXPECT_NE(fixed.out.find("up1.sql skipped"), std::string::npos) << fixed.out;
}

TEST_F(ApplyTest, FailsFastOnAnInvalidIndexThatIfNotExistsWouldSkipThenRepairs) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  state().exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
  {
    HeldBackIndexBuild build(conninfo(), "CREATE INDEX CONCURRENTLY t_x_idx ON t (x)");
    state().exec("SELECT pg_terminate_backend(" + std::to_string(build.pid()) + ")");
    EXPECT_NE(build.outcome(), "ok");
  }
  ASSERT_EQ(index_validity("t_x_idx"), "f") << "the interrupted build leaves an INVALID index";

  ApplyOptions options = test::fast_apply_options();
  options.verify_timeout = 5min;
  const ApplyOutcome outcome = apply(tree, options);
  ASSERT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("\"t_x_idx\""), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("INVALID"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.hint.find("--repair"), std::string::npos) << outcome.hint;
  EXPECT_LT(outcome.elapsed, 5s) << "a definite failure must not wait for the verify timeout";
  EXPECT_EQ(step_state("0002-i", 1), "failed");
  EXPECT_EQ(recorded_version(), "0001-t");
  {
    std::ostringstream out;
    std::ostringstream err;
    Reporter reporter(OutputOptions{}, out, err);
    EXPECT_EQ(engine::status(tree.plan(), {.conninfo = conninfo(), .state_schema = "dbmig"},
                             {.exit_code = true}, reporter),
              ExitCode::check_failed)
        << "status --exit-code must report the failed step as pending work\n"
        << out.str();
    EXPECT_NE(out.str().find("INVALID"), std::string::npos) << out.str();
  }

  options.repair = true;
  const ApplyOutcome repaired = apply(tree, options);
  ASSERT_EQ(repaired.code, ExitCode::ok) << repaired.describe();
  EXPECT_NE(repaired.out.find("dropped INVALID index"), std::string::npos) << repaired.out;
  EXPECT_EQ(index_validity("t_x_idx"), "t");
  EXPECT_EQ(step_state("0002-i", 1), "verified");
  EXPECT_EQ(recorded_version(), "0002-i");
}

// A transactional step's proof is checked inside its own transaction, in
// the same message as its COMMIT: a false proof must abort that transaction
// (nothing of the step, no 'verified' row, no version advance).
TEST_F(ApplyTest, FalseProofInsideATransactionalStepRollsItBack) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable},
                      {"0002-i/up.sql", "CREATE TABLE marker (id INT);\n"},
                      {"0003-i/up.sql", "CREATE INDEX IF NOT EXISTS t_x_idx ON t (x);\n"}});
  ASSERT_EQ(apply_to(tree, "0002-i").code, ExitCode::ok);
  state().exec("DROP TABLE marker");
  state().exec("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
  {
    HeldBackIndexBuild build(conninfo(), "CREATE INDEX CONCURRENTLY t_x_idx ON t (x)");
    state().exec("SELECT pg_terminate_backend(" + std::to_string(build.pid()) + ")");
    EXPECT_NE(build.outcome(), "ok");
  }
  ASSERT_EQ(index_validity("t_x_idx"), "f");

  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("\"t_x_idx\""), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("INVALID"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("dbmig proof"), std::string::npos) << outcome.message;
  EXPECT_EQ(step_state("0003-i", 1), "failed");
  EXPECT_EQ(recorded_version(), "0002-i");
  EXPECT_EQ(value("SELECT count(*) FROM dbmig.steps WHERE state = 'verified'"), "2");
}

// A transactional step over 1 MiB is sent in several messages within one
// transaction: all of it commits, or (an error in its last statement) none.
std::string large_insert_step() {
  std::string rows;
  for (int i = 1; i <= 1500; ++i) {
    rows += "INSERT INTO big (id, v) VALUES (" + std::to_string(i) + ", '" +
            std::string(1000, 'x') + "');\n";
  }
  return rows;
}

TEST_F(ApplyTest, StepLargerThanOneMessageCommitsWhole) {
  MigrationTree tree({{"0001-t/up.sql", "CREATE TABLE big (id INT PRIMARY KEY, v TEXT);\n"},
                      {"0002-rows/up.sql", large_insert_step()}});
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT count(*) FROM big"), "1500");
  EXPECT_EQ(step_state("0002-rows", 1), "verified");
  EXPECT_EQ(recorded_version(), "0002-rows");
}

TEST_F(ApplyTest, StepLargerThanOneMessageFailingAtItsEndCommitsNothing) {
  MigrationTree tree(
      {{"0001-t/up.sql", "CREATE TABLE big (id INT PRIMARY KEY, v TEXT);\n"},
       {"0002-rows/up.sql", large_insert_step() + "INSERT INTO no_such_table VALUES (1);\n"}});
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("no_such_table"), std::string::npos) << outcome.message;
  EXPECT_EQ(value("SELECT count(*) FROM big"), "0");
  EXPECT_EQ(step_state("0002-rows", 1), "failed");
  EXPECT_EQ(recorded_version(), "0001-t");
}

TEST_F(ApplyTest, FailedUniqueBuildIsReportedThenRebuiltByRepairOnceDataIsFixed) {
  MigrationTree tree({
      {"0001-t/up.sql", kCreateTable},
      {"0002-u/up.sql", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_key ON t (x);\n"},
  });
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  state().exec("INSERT INTO t VALUES (1, 7), (2, 7), (3, 8)");

  const ApplyOutcome first = apply(tree);
  ASSERT_EQ(first.code, ExitCode::runtime_failure) << first.describe();
  EXPECT_NE(first.message.find("23505"), std::string::npos) << first.message;
  EXPECT_EQ(step_state("0002-u", 1), "failed");
  EXPECT_EQ(index_validity("t_x_key"), "f");

  const ApplyOutcome again = apply(tree);
  ASSERT_EQ(again.code, ExitCode::runtime_failure) << again.describe();
  EXPECT_NE(again.message.find("\"t_x_key\""), std::string::npos) << again.message;
  EXPECT_NE(again.message.find("INVALID"), std::string::npos) << again.message;
  EXPECT_LT(again.elapsed, 5s);

  state().exec("DELETE FROM t WHERE id = 2");
  ApplyOptions options = test::fast_apply_options();
  options.repair = true;
  const ApplyOutcome repaired = apply(tree, options);
  ASSERT_EQ(repaired.code, ExitCode::ok) << repaired.describe();
  EXPECT_EQ(index_validity("t_x_key"), "t");
  EXPECT_EQ(recorded_version(), "0002-u");
}

TEST_F(ApplyTest, WaitsForConcurrentIndexBuildBeforeAdvancing) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  const migration::PlannedStep& step = tree.plan().versions[1].steps[0];
  state().exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner)"
      " VALUES ('0002-i', 1, 'up.sql', '" +
      step.sha256 + "', 'started', false, 'killed')");

  HeldBackIndexBuild build(conninfo(), "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x)");
  auto releaser = std::async(std::launch::async, [&build] {
    std::this_thread::sleep_for(1500ms);
    build.release();
  });
  const ApplyOutcome outcome = apply(tree);
  releaser.wait();
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_GE(outcome.elapsed, 1s) << "apply must wait for the running build";
  EXPECT_NE(outcome.out.find("waiting for the running build"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("0002-i up.sql verified"), std::string::npos)
      << "the statement is not issued again\n"
      << outcome.out;
  EXPECT_EQ(build.outcome(), "ok") << "the earlier build was not disturbed";
  EXPECT_EQ(index_validity("t_x_idx"), "t");
  EXPECT_EQ(recorded_version(), "0002-i");
}

TEST_F(ApplyTest, ReportsProgressWhileItsOwnConcurrentBuildRuns) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  auto holder = test::connect_to(conninfo());
  test::hold_snapshot(*holder);
  auto releaser = std::async(std::launch::async, [&holder] {
    std::this_thread::sleep_for(2500ms);
    holder->exec("ROLLBACK");
  });
  const ApplyOutcome outcome = apply(tree);
  releaser.wait();
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_NE(outcome.out.find("0002-i/up.sql: waiting for old snapshots"), std::string::npos)
      << outcome.out;
  EXPECT_EQ(index_validity("t_x_idx"), "t");
}

TEST_F(ApplyTest, CountsAHiddenProgressRowAsTheRunningBuild) {
  // dbmig runs as a role without pg_read_all_stats: the superuser's build
  // shows up in pg_stat_progress_create_index without relid or phase.
  const std::string role = "m_" + database_.name().substr(0, 40);
  state().exec("CREATE ROLE " + role + " LOGIN");
  state().exec("GRANT CREATE ON DATABASE " + database_.name() + " TO " + role);
  state().exec("GRANT ALL ON SCHEMA public TO " + role);
  const std::string as_role = conninfo() + " user=" + role;
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ApplyOptions options = test::fast_apply_options();
  options.to = "0001-t";
  ASSERT_EQ(run_apply(tree.plan(), as_role, options).code, ExitCode::ok);
  const migration::PlannedStep& step = tree.plan().versions[1].steps[0];
  state().exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner)"
      " VALUES ('0002-i', 1, 'up.sql', '" +
      step.sha256 + "', 'started', false, 'killed')");

  HeldBackIndexBuild build(conninfo(), "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x)");
  auto releaser = std::async(std::launch::async, [&build] {
    std::this_thread::sleep_for(1500ms);
    build.release();
  });
  options.to.reset();
  const ApplyOutcome outcome = run_apply(tree.plan(), as_role, options);
  releaser.wait();
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_NE(outcome.out.find("details need pg_read_all_stats"), std::string::npos) << outcome.out;
  EXPECT_EQ(build.outcome(), "ok");
  EXPECT_EQ(index_validity("t_x_idx"), "t");
}

TEST_F(ApplyTest, JsonModePrintsOneEventObjectPerLine) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  OutputOptions output;
  output.format = OutputFormat::json;
  const ApplyOutcome outcome =
      run_apply(tree.plan(), conninfo(), test::fast_apply_options(), "dbmig", output);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  test::expect_valid_engine_json(outcome.out);
  std::vector<nlohmann::json> events;
  std::istringstream lines(outcome.out);
  for (std::string line; std::getline(lines, line);) {
    events.push_back(nlohmann::json::parse(line));
    EXPECT_TRUE(events.back().contains("time")) << line;
  }
  ASSERT_FALSE(events.empty());
  const auto step = std::find_if(events.begin(), events.end(), [](const nlohmann::json& e) {
    return e["event"] == "step" && e["version"] == "0002-i";
  });
  ASSERT_NE(step, events.end()) << outcome.out;
  EXPECT_EQ((*step)["file"], "up.sql");
  EXPECT_EQ((*step)["step"], 1);
  EXPECT_EQ((*step)["action"], "applied and verified");
  EXPECT_TRUE((*step)["duration_ms"].is_number());
  EXPECT_EQ(events.back()["event"], "done");
  EXPECT_EQ(events.back()["version"], "0002-i");
  EXPECT_EQ(events.back()["steps_applied"], 2);
}

TEST_F(ApplyTest, ToAcceptsTheVersionNumberAndRejectsAnUnknownOne) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-y/up.sql", "SELECT 1;\n"}});
  const ApplyOutcome first = apply_to(tree, "1");
  ASSERT_EQ(first.code, ExitCode::ok) << first.describe();
  EXPECT_EQ(recorded_version(), "0001-t");
  const ApplyOutcome unknown = apply_to(tree, "7");
  EXPECT_EQ(unknown.code, ExitCode::usage_error) << unknown.describe();
  EXPECT_NE(unknown.message.find("--to 7"), std::string::npos) << unknown.message;
}

TEST_F(ApplyTest, KeepsItsStateInTheConfiguredSchema) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}});
  const ApplyOutcome outcome =
      run_apply(tree.plan(), conninfo(), test::fast_apply_options(), "Release State");
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT version FROM \"Release State\".state"), "0001-t");
  EXPECT_EQ(value("SELECT count(*) FROM pg_namespace WHERE nspname = 'dbmig'"), "0");
}

TEST_F(ApplyTest, TransactionalStepOverAnInvalidIndexFailsItsProofAndRollsBack) {
  MigrationTree tree({
      {"0001-t/up.sql", kCreateTable},
      {"0002-i/up.sql", "CREATE INDEX IF NOT EXISTS t_x_idx ON t (x);\n"},
  });
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  state().exec("INSERT INTO t VALUES (1, 5), (2, 5)");
  EXPECT_THROW(state().exec("CREATE UNIQUE INDEX CONCURRENTLY t_x_idx ON t (x)"), db::DbError);
  ASSERT_EQ(index_validity("t_x_idx"), "f");

  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("\"t_x_idx\""), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("INVALID"), std::string::npos) << outcome.message;
  EXPECT_EQ(step_state("0002-i", 1), "failed");
  EXPECT_EQ(recorded_version(), "0001-t");

  ApplyOptions options = test::fast_apply_options();
  options.repair = true;
  const ApplyOutcome repaired = apply(tree, options);
  ASSERT_EQ(repaired.code, ExitCode::ok) << repaired.describe();
  EXPECT_EQ(index_validity("t_x_idx"), "t");
  EXPECT_EQ(recorded_version(), "0002-i");
}

TEST_F(ApplyTest, AppliedStepIsOnlyVerifiedOnResume) {
  MigrationTree tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT);\n"},
      {"0002-i/up-danger-non-transactional.sql",
       "INSERT INTO log VALUES ('once');\n"
       "CREATE INDEX CONCURRENTLY IF NOT EXISTS log_v_idx ON log (v);\n"},
  });
  ASSERT_EQ(apply_to(tree, "0001-log").code, ExitCode::ok);
  const migration::PlannedStep& step = tree.plan().versions[1].steps[0];
  state().exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner)"
      " VALUES ('0002-i', 1, '" +
      step.file.file_name + "', '" + step.sha256 + "', 'applied', false, 'killed')");
  state().exec("CREATE INDEX log_v_idx ON log (v)");
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_NE(outcome.out.find("up-danger-non-transactional.sql verified"), std::string::npos)
      << outcome.out;
  EXPECT_EQ(value("SELECT count(*) FROM log"), "0") << "an applied step is not run again";
  EXPECT_EQ(step_state("0002-i", 1), "verified");
}

TEST_F(ApplyTest, VerifyTimeoutStopsWithTheStepStillApplied) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  const migration::PlannedStep& step = tree.plan().versions[1].steps[0];
  state().exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner)"
      " VALUES ('0002-i', 1, 'up.sql', '" +
      step.sha256 + "', 'applied', false, 'killed')");
  HeldBackIndexBuild build(conninfo(), "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x)");
  ApplyOptions options = test::fast_apply_options();
  options.verify_timeout = 700ms;
  const ApplyOutcome outcome = apply(tree, options);
  EXPECT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("did not complete within 700ms"), std::string::npos)
      << outcome.message;
  EXPECT_EQ(step_state("0002-i", 1), "applied");
  EXPECT_EQ(recorded_version(), "0001-t");
  EXPECT_EQ(value("SELECT lease_owner FROM dbmig.state"), "NULL");
}

TEST_F(ApplyTest, ReindexConcurrentlyIsProvedWithoutLeftovers) {
  MigrationTree tree({
      {"0001-t/up.sql", kCreateTable},
      {"0002-i/up.sql", "CREATE INDEX IF NOT EXISTS t_x_idx ON t (x);\n"},
      {"0003-r/up.sql", "REINDEX INDEX CONCURRENTLY t_x_idx;\n"},
  });
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT transactional FROM dbmig.steps WHERE version = '0003-r'"), "f");
  EXPECT_EQ(step_state("0003-r", 1), "verified");
  EXPECT_EQ(index_validity("t_x_idx"), "t");
}

TEST_F(ApplyTest, ResumedMultiStatementStepWaitsForTheEarlierBuildThenRunsTheRest) {
  MigrationTree tree({
      {"dbmig.json", "{\"multi_ddl_allowed_through\": \"0002-i\"}\n"},
      {"0001-t/up.sql", kCreateTable},
      {"0002-i/up-danger-non-transactional.sql",
       "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"
       "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_id_x_idx ON t (id, x);\n"},
  });
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  const migration::PlannedStep& step = tree.plan().versions[1].steps[0];
  state().exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner)"
      " VALUES ('0002-i', 1, '" +
      step.file.file_name + "', '" + step.sha256 + "', 'started', false, 'killed')");
  HeldBackIndexBuild build(conninfo(), "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x)");
  auto releaser = std::async(std::launch::async, [&build] {
    std::this_thread::sleep_for(1500ms);
    build.release();
  });
  const ApplyOutcome outcome = apply(tree);
  releaser.wait();
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_NE(outcome.out.find("waiting for the running build of \"t_x_idx\""), std::string::npos)
      << outcome.out;
  EXPECT_NE(outcome.out.find("applied and verified"), std::string::npos) << outcome.out;
  EXPECT_EQ(build.outcome(), "ok");
  EXPECT_EQ(index_validity("t_x_idx"), "t");
  EXPECT_EQ(index_validity("t_id_x_idx"), "t");
  EXPECT_EQ(recorded_version(), "0002-i");
}

TEST_F(ApplyTest, RecordsHowLongATransactionalStepTook) {
  MigrationTree tree(
      {{"0001-sleep/up.sql", "SELECT pg_sleep(0.3);\n"}, {"0002-a/up.sql", kCreateTable}});
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT duration_ms BETWEEN 300 AND 10000 AND finished_at IS NOT NULL"
                  " AND runner LIKE '%:%:%' FROM dbmig.steps WHERE version = '0001-sleep'"),
            "t");
}

TEST_F(ApplyTest, RetriesATransactionalStepAfterLockTimeout) {
  MigrationTree tree({
      {"0001-t/up.sql", kCreateTable},
      {"0002-y/up.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS y INT;\n"},
  });
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  auto locker = test::connect_to(conninfo());
  locker->exec("BEGIN");
  locker->exec("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
  auto unlocker = std::async(std::launch::async, [&locker] {
    std::this_thread::sleep_for(2s);
    locker->exec("COMMIT");
  });
  ApplyOptions options = test::fast_apply_options();
  options.ddl_lock_timeout = 200ms;
  const ApplyOutcome outcome = apply(tree, options);
  unlocker.wait();
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_NE(outcome.out.find("lock timeout"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("retrying"), std::string::npos) << outcome.out;
  EXPECT_GE(outcome.elapsed, 1500ms);
  EXPECT_EQ(value("SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"
                  " AND column_name = 'y'"),
            "1");
}

TEST_F(ApplyTest, RefusesDriftWithExit3UnlessAllowed) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-y/up.sql", "SELECT 1;\n"}});
  ASSERT_EQ(apply(tree).code, ExitCode::ok);
  tree.write("0001-t/up.sql", kCreateTable + "-- edited after it was applied\n");
  const ApplyOutcome refused = apply(tree);
  ASSERT_EQ(refused.code, ExitCode::check_failed) << refused.describe();
  EXPECT_NE(refused.message.find("0001-t/up.sql changed"), std::string::npos) << refused.message;

  ApplyOptions options = test::fast_apply_options();
  options.allow_drift = true;
  const ApplyOutcome allowed = apply(tree, options);
  ASSERT_EQ(allowed.code, ExitCode::ok) << allowed.describe();
  EXPECT_NE(allowed.err.find("drift"), std::string::npos) << allowed.err;
}

struct UnknownVersionRow {
  std::string label;
  std::string recorded;  // version written into dbmig.state
  std::string message;   // expected substring
};

TEST_F(ApplyTest, DatabaseVersionTheDirectoryDoesNotHaveIsAUsageError) {
  const UnknownVersionRow rows[] = {
      {"newer", "0009-future", "newer than the directory"},
      {"unknown", "0001b-branch", "which"},
  };
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-y/up.sql", "SELECT 1;\n"}});
  ASSERT_EQ(apply(tree).code, ExitCode::ok);
  for (const UnknownVersionRow& row : rows) {
    state().exec("UPDATE dbmig.state SET version = '" + row.recorded + "'");
    const ApplyOutcome outcome = apply(tree);
    EXPECT_EQ(outcome.code, ExitCode::usage_error) << row.label << ": " << outcome.describe();
    EXPECT_NE(outcome.message.find(row.message), std::string::npos)
        << row.label << ": " << outcome.message;
    EXPECT_NE(outcome.message.find(row.recorded), std::string::npos)
        << row.label << ": " << outcome.message;
  }
}

TEST_F(ApplyTest, StepHistoryOfAVersionTheDirectoryLacksIsAUsageError) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}});
  ASSERT_EQ(apply(tree).code, ExitCode::ok);
  state().exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner)"
      " VALUES ('0005-gone', 1, 'up.sql', 'x', 'verified', true, 'r')");
  const ApplyOutcome outcome = apply(tree);
  EXPECT_EQ(outcome.code, ExitCode::usage_error) << outcome.describe();
  EXPECT_NE(outcome.message.find("0005-gone"), std::string::npos) << outcome.message;
}

TEST_F(ApplyTest, DryRunPrintsPendingStepsAndWritesNothing) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-i/up.sql", kConcurrentIndex}});
  ApplyOptions options = test::fast_apply_options();
  options.dry_run = true;
  const ApplyOutcome outcome = apply(tree, options);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_NE(outcome.out.find("would apply 0002-i/up.sql (non-transactional)"), std::string::npos)
      << outcome.out;
  EXPECT_NE(outcome.out.find("proof: index"), std::string::npos) << outcome.out;
  EXPECT_EQ(value("SELECT count(*) FROM pg_namespace WHERE nspname = 'dbmig'"), "0");
}

TEST_F(ApplyTest, WaitsForTheLeaseThenFindsTheWorkDone) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-y/up.sql", "SELECT pg_sleep(1);\n"}});
  auto first = std::async(std::launch::async, [&] { return apply(tree); });
  std::this_thread::sleep_for(400ms);
  const ApplyOutcome second = apply(tree);
  const ApplyOutcome first_outcome = first.get();
  ASSERT_EQ(first_outcome.code, ExitCode::ok) << first_outcome.describe();
  ASSERT_EQ(second.code, ExitCode::ok) << second.describe();
  EXPECT_NE(second.out.find("waiting for the lease"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("applied by another runner"), std::string::npos) << second.out;
}

TEST_F(ApplyTest, GivesUpWaitingForTheLeaseWithExit4) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}});
  ASSERT_EQ(apply(tree).code, ExitCode::ok);
  tree.write("0002-y/up.sql", "SELECT 1;\n");
  state().exec(
      "UPDATE dbmig.state SET lease_owner = 'other:1:abc',"
      " lease_expires_at = now() + interval '1 hour'");
  ApplyOptions options = test::fast_apply_options();
  options.lock_timeout = 300ms;
  const ApplyOutcome outcome = apply(tree, options);
  EXPECT_EQ(outcome.code, ExitCode::lease_timeout) << outcome.describe();
  EXPECT_NE(outcome.message.find("other:1:abc"), std::string::npos) << outcome.message;
}

TEST_F(ApplyTest, TakesOverAnExpiredLease) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}});
  ASSERT_EQ(apply(tree).code, ExitCode::ok);
  tree.write("0002-y/up.sql", "SELECT 1;\n");
  state().exec(
      "UPDATE dbmig.state SET lease_owner = 'dead:1:abc',"
      " lease_expires_at = now() - interval '1 second', lease_token = 41");
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT lease_token FROM dbmig.state"), "42");
  EXPECT_EQ(recorded_version(), "0002-y");
}

TEST_F(ApplyTest, RunnerWhoseTokenWasBumpedCannotWrite) {
  MigrationTree tree({
      {"0001-t/up.sql", "CREATE TABLE log (v TEXT);\n"},
      {"0002-slow/up.sql", "INSERT INTO log VALUES ('slow');\nSELECT pg_sleep(1.5);\n"},
  });
  ASSERT_EQ(apply_to(tree, "0001-t").code, ExitCode::ok);
  auto bumper = std::async(std::launch::async, [this] {
    auto connection = test::connect_to(conninfo());
    std::this_thread::sleep_for(500ms);
    connection->exec("UPDATE dbmig.state SET lease_token = lease_token + 1");
  });
  const ApplyOutcome outcome = apply(tree);
  bumper.wait();
  EXPECT_EQ(outcome.code, ExitCode::runtime_failure) << outcome.describe();
  EXPECT_NE(outcome.message.find("lease lost"), std::string::npos) << outcome.message;
  EXPECT_EQ(value("SELECT count(*) FROM log"), "0") << "the fenced step was rolled back";
  EXPECT_EQ(recorded_version(), "0001-t");
}

TEST_F(ApplyTest, SixConcurrentRunnersApplyEachStepExactlyOnce) {
  MigrationTree tree({
      {"0001-log/up.sql", "CREATE TABLE log (v TEXT NOT NULL);\n"},
      {"0002-a/up.sql", "INSERT INTO log VALUES ('a');\n"},
      {"0003-b/up1.sql", "INSERT INTO log VALUES ('b1');\n"},
      {"0003-b/up2.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS log_v_idx ON log (v);\n"},
      {"0003-b/up3.sql", "INSERT INTO log VALUES ('b3');\n"},
      {"0004-c/up.sql", "INSERT INTO log VALUES ('c');\n"},
  });
  std::vector<std::future<ApplyOutcome>> runners;
  for (int i = 0; i < 6; ++i) {
    runners.push_back(std::async(std::launch::async, [&] { return apply(tree); }));
  }
  for (auto& runner : runners) {
    const ApplyOutcome outcome = runner.get();
    EXPECT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  }
  EXPECT_EQ(value("SELECT string_agg(v || ':' || n, ',' ORDER BY v) FROM"
                  " (SELECT v, count(*) AS n FROM log GROUP BY v) c"),
            "a:1,b1:1,b3:1,c:1");
  EXPECT_EQ(recorded_version(), "0004-c");
  EXPECT_EQ(index_validity("log_v_idx"), "t");
}

TEST_F(ApplyTest, SessionSettingsOfAStepDoNotLeakIntoTheNext) {
  MigrationTree tree({
      {"0001-s/up.sql", "CREATE SCHEMA other;\n"},
      {"0002-set/up.sql", "SET search_path TO other;\n"},
      {"0003-t/up.sql", "CREATE TABLE lands_in_public (id INT);\n"},
  });
  const ApplyOutcome outcome = apply(tree);
  ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  EXPECT_EQ(value("SELECT to_regclass('public.lands_in_public') IS NOT NULL"), "t");
}

}  // namespace
}  // namespace dbmig::engine
