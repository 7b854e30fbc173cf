// engine::status against a real PostgreSQL, each test in its own database:
// what it reports (JSON document, docs/json.md) for every state the tables
// can be in, its exit codes (contract section 7), and that it never writes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/commands.h"
#include "engine/state.h"
#include "support/apply_harness.h"
#include "support/json_schema.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using nlohmann::json;
using test::MigrationTree;

using test::last_line_json;

const std::vector<test::FileRow> kTwoVersions = {
    {"0001-create-t/up.sql", "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT);\n"},
    {"0002-index/up1.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS y INT;\n"},
    {"0002-index/up2.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"},
};

struct StatusRun {
  ExitCode code = ExitCode::ok;
  json document;
  std::string text;
  std::string out;  // everything printed to stdout
};

class StatusTest : public test::DatabaseTest {
 protected:
  StatusRun status(const migration::Plan& plan, bool exit_code = false, bool as_json = true) {
    std::ostringstream out;
    std::ostringstream err;
    OutputOptions output;
    output.format = as_json ? OutputFormat::json : OutputFormat::text;
    Reporter reporter(output, out, err);
    StatusRun run;
    run.code = engine::status(plan, {.conninfo = conninfo(), .state_schema = "dbmig"},
                              {.exit_code = exit_code}, reporter);
    if (as_json) {
      test::expect_valid_engine_json(out.str());
      run.document = last_line_json(out.str());
    } else {
      run.text = out.str();
    }
    run.out = out.str();
    return run;
  }
  void apply(const MigrationTree& tree) {
    const test::ApplyOutcome outcome = test::run_apply(tree.plan(), conninfo());
    ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  }
  std::string value(const std::string& sql) {
    db::Connection connection = connect();
    return test::query_value(connection, sql);
  }
  // The state tables with version `version` recorded and the given history rows.
  void record(const std::string& version, const std::string& history_values) {
    db::Connection connection = connect();
    StateTables(std::string("dbmig")).ensure(connection);
    connection.exec("UPDATE dbmig.state SET version = '" + version + "'");
    if (!history_values.empty()) {
      connection.exec(
          "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, error, "
          "runner) VALUES " +
          history_values);
    }
  }
};

// Writes every verify file the plan wants, so that verify files are current.
void write_verify_files(MigrationTree& tree) {
  const migration::Plan plan = tree.plan();
  for (const auto& version : plan.versions) {
    for (const auto& step : version.steps) {
      if (!step.expected_verify) continue;
      tree.write(version.name + "/" + step.file.stem + ".verify.sql", *step.expected_verify);
    }
  }
}

std::vector<std::string> labels(const json& steps) {
  std::vector<std::string> result;
  for (const json& step : steps) {
    result.push_back(step.at("version").get<std::string>() + "/" +
                     step.at("file").get<std::string>());
  }
  return result;
}

TEST_F(StatusTest, ReportsEverythingPendingAndWritesNothingWhenNoStateTables) {
  MigrationTree tree(kTwoVersions);
  const StatusRun run = status(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok);
  EXPECT_EQ(run.document.at("command"), "status");
  EXPECT_EQ(run.document.at("state_tables"), false);
  EXPECT_TRUE(run.document.at("current_version").is_null());
  EXPECT_EQ(run.document.at("up_to_date"), false);
  EXPECT_EQ(labels(run.document.at("pending")),
            (std::vector<std::string>{"0001-create-t/up.sql", "0002-index/up1.sql",
                                      "0002-index/up2.sql"}));
  EXPECT_EQ(run.document.at("pending_versions"), (json::array({"0001-create-t", "0002-index"})));
  EXPECT_EQ(status(tree.plan(), true).code, ExitCode::check_failed);
  EXPECT_EQ(value("SELECT count(*) FROM pg_namespace WHERE nspname = 'dbmig'"), "0");
}

TEST_F(StatusTest, UpToDateAfterApply) {
  MigrationTree tree(kTwoVersions);
  write_verify_files(tree);
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const StatusRun run = status(tree.plan(), true);
  EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
  EXPECT_EQ(run.document.at("current_version"), "0002-index");
  EXPECT_EQ(run.document.at("up_to_date"), true);
  EXPECT_TRUE(run.document.at("pending").empty());
  EXPECT_TRUE(run.document.at("drift").empty());
  EXPECT_TRUE(run.document.at("failed").empty());
  EXPECT_TRUE(run.document.at("lease").is_null());
  EXPECT_TRUE(run.document.at("invalid_indexes").empty());
  EXPECT_TRUE(run.document.at("verify_files").empty());
  EXPECT_EQ(run.document.at("exit_code"), 0);
}

TEST_F(StatusTest, ShowsStepsInProgressFailedStepsAndTheLeaseHolder) {
  MigrationTree tree(kTwoVersions);
  const std::string up1_sha = tree.plan().versions[1].steps[0].sha256;
  const std::string up2_sha = tree.plan().versions[1].steps[1].sha256;
  record("0001-create-t", "('0002-index', 1, 'up1.sql', '" + up1_sha +
                              "', 'applied', false, NULL, 'host:1:aa'), "
                              "('0002-index', 2, 'up2.sql', '" +
                              up2_sha + "', 'failed', false, 'index is INVALID', 'host:1:aa')");
  db::Connection connection = connect();
  connection.exec(
      "UPDATE dbmig.state SET lease_owner = 'host:2:bb', "
      "lease_expires_at = now() + interval '1 minute'");
  const StatusRun run = status(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok);
  EXPECT_EQ(run.document.at("current_version"), "0001-create-t");
  EXPECT_EQ(labels(run.document.at("in_progress")),
            (std::vector<std::string>{"0002-index/up1.sql"}));
  EXPECT_EQ(run.document.at("in_progress").at(0).at("state"), "applied");
  ASSERT_EQ(run.document.at("failed").size(), 1U);
  EXPECT_EQ(run.document.at("failed").at(0).at("error"), "index is INVALID");
  EXPECT_EQ(run.document.at("pending").at(1).at("state"), "failed");
  EXPECT_EQ(run.document.at("lease").at("owner"), "host:2:bb");
  EXPECT_EQ(status(tree.plan(), true).code, ExitCode::check_failed);

  const StatusRun text = status(tree.plan(), false, false);
  for (const std::string expected :
       {"current version: 0001-create-t", "pending: 1 version, 2 steps",
        "in progress: 0002-index/up1.sql applied, awaiting verification",
        "failed: 0002-index/up2.sql: index is INVALID", "lease: held by host:2:bb until"}) {
    EXPECT_NE(text.text.find(expected), std::string::npos) << expected << "\n" << text.text;
  }
}

TEST_F(StatusTest, AnExpiredLeaseIsNotShown) {
  MigrationTree tree(kTwoVersions);
  record("0002-index", "");
  db::Connection connection = connect();
  connection.exec(
      "UPDATE dbmig.state SET lease_owner = 'host:2:bb', "
      "lease_expires_at = now() - interval '1 second'");
  EXPECT_TRUE(status(tree.plan()).document.at("lease").is_null());
}

// Issue 13: a started/applied step whose runner's lease expired (a crash, a
// kill -9) is shown as interrupted, not "in progress".
TEST_F(StatusTest, AStepWhoseRunnersLeaseExpiredIsInterruptedNotInProgress) {
  MigrationTree tree(kTwoVersions);
  const std::string up1_sha = tree.plan().versions[1].steps[0].sha256;
  record("0001-create-t",
         "('0002-index', 1, 'up1.sql', '" + up1_sha + "', 'started', false, NULL, 'host:1:aa')");
  db::Connection connection = connect();
  connection.exec(
      "UPDATE dbmig.state SET lease_owner = 'host:1:aa', "
      "lease_expires_at = now() - interval '1 second'");
  const StatusRun run = status(tree.plan());
  ASSERT_EQ(run.document.at("in_progress").size(), 1U) << run.document.dump(2);
  EXPECT_EQ(run.document.at("in_progress").at(0).at("runner_gone"), true);
  EXPECT_TRUE(run.document.at("in_progress").at(0).at("cancelled_index_oid").is_null());
  const StatusRun text = status(tree.plan(), false, false);
  EXPECT_NE(text.text.find("interrupted: 0002-index/up1.sql started at "), std::string::npos)
      << text.text;
  EXPECT_NE(text.text.find("by host:1:aa, which is gone (its lease was released or expired); the "
                           "next dbmig apply continues it"),
            std::string::npos)
      << text.text;
  EXPECT_EQ(text.text.find("in progress"), std::string::npos) << text.text;

  connection.exec("UPDATE dbmig.state SET lease_expires_at = now() + interval '1 minute'");
  const StatusRun held = status(tree.plan());
  EXPECT_EQ(held.document.at("in_progress").at(0).at("runner_gone"), false)
      << "while its runner holds the lease the step is in progress";
}

TEST_F(StatusTest, ReportsDriftWhenAnAppliedStepFileChanged) {
  MigrationTree tree(kTwoVersions);
  write_verify_files(tree);
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const std::string recorded = tree.plan().versions[1].steps[0].sha256;
  tree.write("0002-index/up1.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS z INT;\n");
  const StatusRun run = status(tree.plan(), true);
  EXPECT_EQ(run.code, ExitCode::check_failed);
  ASSERT_EQ(run.document.at("drift").size(), 1U) << run.document.dump(2);
  const json& drift = run.document.at("drift").at(0);
  EXPECT_EQ(drift.at("version"), "0002-index");
  EXPECT_EQ(drift.at("file"), "up1.sql");
  EXPECT_EQ(drift.at("recorded_sha256"), recorded);
  EXPECT_EQ(drift.at("file_sha256"), tree.plan().versions[1].steps[0].sha256);
  EXPECT_EQ(status(tree.plan(), false).code, ExitCode::ok);
}

TEST_F(StatusTest, ReportsVerifyFileProblems) {
  MigrationTree tree(kTwoVersions);
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const StatusRun run = status(tree.plan(), true);
  ASSERT_EQ(run.document.at("verify_files").size(), 1U) << run.document.dump(2);
  EXPECT_EQ(run.document.at("verify_files").at(0),
            (json{{"problem", "missing"}, {"path", "0002-index/up2.verify.sql"}}));
  EXPECT_EQ(run.code, ExitCode::check_failed);
}

struct UnknownVersionRow {
  std::string recorded;
  std::string message;
};

TEST_F(StatusTest, ARecordedVersionTheDirectoryLacksIsAUsageError) {
  const std::vector<UnknownVersionRow> rows = {
      {"0009-later", "newer than the newest version in the directory"},
      {"0001-renamed", "which the directory does not contain"},
  };
  MigrationTree tree(kTwoVersions);
  for (const UnknownVersionRow& row : rows) {
    record(row.recorded, "");
    const StatusRun run = status(tree.plan());
    EXPECT_EQ(run.code, ExitCode::usage_error) << row.recorded;
    const std::string message = run.document.at("error").at("message");
    EXPECT_NE(message.find(row.message), std::string::npos) << row.recorded << ": " << message;
    const json diagnostic = json::parse(run.out.substr(0, run.out.find('\n')));
    EXPECT_EQ(diagnostic.at("event"), "diagnostic") << run.out;
    EXPECT_EQ(diagnostic.at("severity"), "error") << run.out;
    EXPECT_NE(diagnostic.at("message").get<std::string>().find(row.recorded), std::string::npos)
        << run.out;
  }
}

TEST_F(StatusTest, ListsInvalidIndexesOfTheDatabase) {
  MigrationTree tree(kTwoVersions);
  db::Connection connection = connect();
  connection.exec("CREATE TABLE dup (v INT)");
  connection.exec("INSERT INTO dup VALUES (1), (1)");
  EXPECT_THROW(connection.exec("CREATE UNIQUE INDEX CONCURRENTLY dup_v_key ON dup (v)"),
               db::DbError);
  const StatusRun run = status(tree.plan());
  ASSERT_EQ(run.document.at("invalid_indexes").size(), 1U) << run.document.dump(2);
  EXPECT_EQ(run.document.at("invalid_indexes").at(0), (json{{"schema", "public"},
                                                            {"index", "dup_v_key"},
                                                            {"table_schema", "public"},
                                                            {"table", "dup"},
                                                            {"partitioned", false},
                                                            {"being_built", false},
                                                            {"cancelled_by_dbmig", false}}));
  const StatusRun text = status(tree.plan(), false, false);
  EXPECT_NE(text.text.find("INVALID index: public.dup_v_key on public.dup"), std::string::npos)
      << text.text;
}

}  // namespace
}  // namespace dbmig::engine
