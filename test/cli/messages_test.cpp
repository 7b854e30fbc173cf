// What an operator reads (issue 13): every message true, every hint leading
// to the right next step. The dbmig binary is run as an operator runs it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/cli_run.h"
#include "support/file_tree.h"
#include "support/pg_server.h"

namespace dbmig {
namespace {

using nlohmann::json;
using test::contains;
using test::FileRow;
using test::ProcessResult;
using test::TempTree;

const std::string kCreateTable = "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT);\n";
const std::string kIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n";

class MessagesTest : public test::DatabaseTest {
 protected:
  ProcessResult run(std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--db", conninfo()});
    return test::run_dbmig(arguments);
  }
  // A tree with generated verify files.
  static void generate(const TempTree& tree) {
    const ProcessResult result =
        test::run_dbmig({"generate-verify", "--dir", tree.root().string()});
    ASSERT_EQ(result.exit_code, 0) << result.describe();
  }
  bool state_schema_exists() {
    db::Connection connection = connect();
    return connection.exec("SELECT 1 FROM pg_namespace WHERE nspname = 'dbmig'").rows() == 1;
  }
};

// The first line of stderr that is not a lint warning.
std::string first_error_line(const std::string& err) {
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    if (!contains(line, ": warning: ") && !line.starts_with("  ")) return line;
  }
  return "";
}

struct DialectRow {
  std::string name;
  std::vector<FileRow> files;
  bool generate;                       // write the verify files first (postgres dialect)
  std::vector<std::string> arguments;  // after "apply --dir DIR"
  std::string first_line;              // the first thing said
  std::string hint;
};

TEST_F(MessagesTest, AWrongDialectIsSaidFirstAndNeverAdvisesRewritingVerifyFiles) {
  const std::vector<DialectRow> rows = {
      {"--dialect cockroach on a postgres directory and server",
       {{"0001-t/up.sql", kCreateTable}, {"0002-index/up.sql", kIndex}},
       true,
       {"--dialect", "cockroach"},
       // apply compares the server's dialect when it connects, before it reads
       // any verify file (contract section 7 lets it skip those of verified steps).
       "dbmig: error: dialect mismatch: the server speaks postgres but --dialect says cockroach",
       "leave out --dialect cockroach"},
      {"a cockroach directory with missing verify files, on postgres",
       {{"dbmig.json", R"({"dialect": "cockroach"})"},
        {"0001-t/up.sql", kCreateTable},
        {"0002-index/up.sql", "CREATE INDEX IF NOT EXISTS t_x_idx ON t (x);\n"}},
       false,
       {},
       "dbmig: error: dialect mismatch: the server speaks postgres but",
       "point --db at a cockroach server"},
  };
  for (const DialectRow& row : rows) {
    TempTree tree(row.files);
    if (row.generate) generate(tree);
    std::vector<std::string> arguments = {"apply", "--dir", tree.root().string()};
    arguments.insert(arguments.end(), row.arguments.begin(), row.arguments.end());
    const ProcessResult result = run(arguments);
    EXPECT_EQ(result.exit_code, 2) << row.name << result.describe();
    EXPECT_TRUE(first_error_line(result.err).starts_with(row.first_line))
        << row.name << "\nexpected first: " << row.first_line << "\nstderr: " << result.err;
    EXPECT_TRUE(contains(result.err, row.hint)) << row.name << "\n" << result.err;
    EXPECT_FALSE(contains(result.err, "generate-verify")) << row.name << "\n" << result.err;
    EXPECT_FALSE(contains(result.err, "dbmig.json")) << row.name << "\n" << result.err;
    EXPECT_FALSE(contains(result.err, "verify file is")) << row.name << "\n" << result.err;
    EXPECT_FALSE(state_schema_exists()) << row.name;
  }
}

TEST_F(MessagesTest, StatusWarnsOfAWrongDialectWithoutAdvisingAnEditOfDbmigJson) {
  TempTree tree(std::vector<FileRow>{{"0001-t/up.sql", kCreateTable}});
  const ProcessResult result =
      run({"status", "--dir", tree.root().string(), "--dialect", "cockroach"});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(contains(result.err,
                       "dialect mismatch: the server speaks postgres but --dialect says "
                       "cockroach"))
      << result.err;
  EXPECT_TRUE(contains(result.err, "leave out --dialect cockroach")) << result.err;
  EXPECT_FALSE(contains(result.err, "dbmig.json")) << result.err;
}

const std::vector<FileRow> kIndexTree = {{"0001-t/up.sql", kCreateTable},
                                         {"0002-index/up.sql", kIndex}};

TEST_F(MessagesTest, StatusWithDriftIsNotUpToDateAndSaysApplyWillRefuse) {
  TempTree tree(kIndexTree);
  generate(tree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(run({"apply", "--dir", dir}).exit_code, 0);
  tree.write("0001-t/up.sql", kCreateTable + "-- edited after it was applied\n");
  const ProcessResult status = run({"status", "--dir", dir});
  EXPECT_EQ(status.exit_code, 0) << status.describe();
  EXPECT_TRUE(contains(status.out, "drift: 0001-t/up.sql changed since it was applied"))
      << status.out;
  EXPECT_TRUE(contains(status.out, "not up to date: drift: dbmig apply will refuse (exit 3)"))
      << status.out;
  EXPECT_FALSE(contains(status.out, "\nup to date")) << status.out;
  EXPECT_EQ(run({"status", "--exit-code", "--dir", dir}).exit_code, 3);
  const ProcessResult document = run({"status", "--json", "--dir", dir});
  EXPECT_EQ(json::parse(document.out).at("up_to_date"), false) << document.out;
  EXPECT_EQ(run({"apply", "--dir", dir}).exit_code, 3) << "status and apply disagree";
}

TEST_F(MessagesTest, ApplyToAnOlderVersionSaysDbmigIsForwardOnlyAndChangesNothing) {
  TempTree tree(kIndexTree);
  generate(tree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(run({"apply", "--dir", dir}).exit_code, 0);
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--dry-run"}}) {
    std::vector<std::string> arguments = {"apply", "--dir", dir, "--to", "0001-t"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    const ProcessResult result = run(arguments);
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    EXPECT_TRUE(contains(result.out,
                         "dbmig is forward-only and never undoes a version, so nothing "
                         "was changed"))
        << result.out;
  }
  const ProcessResult json_run = run({"apply", "--json", "--dir", dir, "--to", "1"});
  EXPECT_EQ(json_run.exit_code, 0) << json_run.describe();
  EXPECT_TRUE(contains(json_run.out, R"("forward_only":true)")) << json_run.out;
  db::Connection connection = connect();
  EXPECT_EQ(connection.exec("SELECT version FROM dbmig.state").get(0, 0), "0002-index");
}

TEST_F(MessagesTest, VerifyReportingIncompleteSaysWhatToDo) {
  TempTree tree(kIndexTree);
  generate(tree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(run({"apply", "--dir", dir}).exit_code, 0);
  connect().exec("DROP INDEX t_x_idx");
  const ProcessResult result = run({"verify", "--dir", dir});
  EXPECT_EQ(result.exit_code, 3) << result.describe();
  EXPECT_TRUE(contains(result.out, "INCOMPLETE")) << result.out;
  EXPECT_TRUE(contains(result.out, "hint: an INCOMPLETE change")) << result.out;
  EXPECT_TRUE(contains(result.out, "make the change again in a new version")) << result.out;
  const ProcessResult document = run({"verify", "--json", "--dir", dir});
  EXPECT_TRUE(contains(json::parse(document.out).at("hint"), "new version")) << document.out;
}

TEST_F(MessagesTest, QuietKeepsTheResultLinesAndTheDryRunPlan) {
  TempTree tree(kIndexTree);
  generate(tree);
  const std::string dir = tree.root().string();
  const ProcessResult plan = run({"apply", "--quiet", "--dry-run", "--dir", dir});
  EXPECT_EQ(plan.exit_code, 0) << plan.describe();
  EXPECT_TRUE(contains(plan.out, "would apply 0001-t/up.sql (transactional)")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "would apply 0002-index/up.sql (non-transactional)")) << plan.out;
  const ProcessResult applied = run({"apply", "--quiet", "--dir", dir});
  EXPECT_EQ(applied.exit_code, 0) << applied.describe();
  EXPECT_EQ(applied.out, "applied 2 step(s); now at 0002-index\n");
}

TEST_F(MessagesTest, VerboseAddsDebugLinesAndTheFailingStatement) {
  TempTree tree(
      {{"0001-t/up.sql", kCreateTable},
       {"0002-bad/up.sql", "INSERT INTO t VALUES (1, 1);\nSELECT missing_column FROM t;\n"}});
  const std::string dir = tree.root().string();
  const ProcessResult plain = run({"apply", "--dir", dir});
  EXPECT_FALSE(contains(plain.err, "statement: ")) << plain.err;
  connect().exec("DROP SCHEMA dbmig CASCADE");
  const ProcessResult verbose = run({"apply", "--verbose", "--dir", dir});
  EXPECT_EQ(verbose.exit_code, 1) << verbose.describe();
  EXPECT_TRUE(contains(verbose.out, "0002-bad/up.sql: one transaction, 2 statement(s), 0 proof(s)"))
      << verbose.out;
  EXPECT_TRUE(contains(verbose.out, "version(s)")) << verbose.out;
  EXPECT_TRUE(contains(verbose.err, "  statement: SELECT missing_column FROM t\n")) << verbose.err;
}

TEST_F(MessagesTest, AFailedStepRecordsAndShowsHowLongItRan) {
  TempTree tree(
      std::vector<FileRow>{{"0001-slow/up.sql", "SELECT pg_sleep(0.7);\nSELECT 1 / 0;\n"}});
  const ProcessResult result = run({"apply", "--json", "--dir", tree.root().string()});
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  std::int64_t shown = -1;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const json event = json::parse(line);
    if (event.at("event") == "step" && event.at("action") == "failed")
      shown = event.at("duration_ms");
  }
  EXPECT_GE(shown, 700) << result.out;
  const std::string recorded(
      connect().exec("SELECT duration_ms FROM dbmig.steps WHERE state = 'failed'").get(0, 0));
  EXPECT_GE(std::stoll(recorded), 700) << recorded;
  const ProcessResult text = run({"apply", "--dir", tree.root().string()});
  EXPECT_FALSE(contains(text.out, "failed 0ms")) << text.out;
  EXPECT_TRUE(contains(text.out, "0001-slow up.sql failed ")) << text.out;
}

struct PositionRow {
  std::string name;
  std::vector<FileRow> files;
  std::string location;  // after the tree root
};

TEST_F(MessagesTest, ARuntimeSqlErrorNamesItsFileLineAndColumn) {
  const std::vector<PositionRow> rows = {
      {"transactional, after a multi-byte comment",
       {{"0001-a/up.sql", "-- café, naïve\nCREATE TABLE a (x int);\nSELECT  nope FROM a;\n"}},
       "/0001-a/up.sql:3:9"},
      {"non-transactional statement",
       {{"0001-t/up.sql", kCreateTable},
        {"0002-i/up.sql", "-- é\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t ((x + nope));\n"}},
       "/0002-i/up.sql:2:54"},
  };
  for (const PositionRow& row : rows) {
    connect().exec("DROP SCHEMA IF EXISTS dbmig CASCADE");
    TempTree tree(row.files);
    generate(tree);
    const ProcessResult result = run({"apply", "--dir", tree.root().string()});
    EXPECT_EQ(result.exit_code, 1) << row.name << result.describe();
    EXPECT_TRUE(contains(result.err, "  at: " + tree.root().string() + row.location))
        << row.name << "\n"
        << result.err;
    EXPECT_TRUE(contains(result.err, "  sqlstate: 42703")) << row.name << "\n" << result.err;
    EXPECT_FALSE(contains(result.err, "(SQLSTATE")) << row.name << "\n" << result.err;
    const ProcessResult json_run = run({"apply", "--json", "--dir", tree.root().string()});
    std::string last;
    std::istringstream lines(json_run.out);
    for (std::string line; std::getline(lines, line);) last = line;
    const json error = json::parse(last);
    EXPECT_EQ(error.at("sqlstate"), "42703") << last;
    EXPECT_FALSE(contains(error.at("message"), "SQLSTATE")) << last;
    EXPECT_TRUE(contains(error.at("location"), row.location)) << last;
  }
}

TEST_F(MessagesTest, StatusHistoryListsAppliedVersionsWithTimeDurationAndRunner) {
  TempTree tree(kIndexTree);
  generate(tree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(run({"apply", "--dir", dir, "--to", "0001-t"}).exit_code, 0);
  ASSERT_EQ(run({"apply", "--dir", dir}).exit_code, 0);
  const ProcessResult text = run({"status", "--history", "--dir", dir});
  EXPECT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_TRUE(
      text.out.starts_with("history: 2 applied versions, oldest first\n  0001-t  applied 20"))
      << text.out;
  const std::size_t first = text.out.find("  0001-t  applied ");
  const std::size_t second = text.out.find("  0002-index  applied ");
  EXPECT_LT(first, second) << text.out;
  EXPECT_TRUE(contains(text.out, "Z in ")) << text.out;
  EXPECT_TRUE(contains(text.out, "(1 step) by ")) << text.out;
  EXPECT_FALSE(contains(run({"status", "--dir", dir}).out, "history:"));

  const json document = json::parse(run({"status", "--json", "--dir", dir}).out);
  const json& history = document.at("history");
  ASSERT_EQ(history.size(), 2U) << document.dump();
  EXPECT_EQ(history.at(0).at("version"), "0001-t");
  EXPECT_EQ(history.at(1).at("version"), "0002-index");
  EXPECT_EQ(history.at(1).at("steps"), 1);
  EXPECT_GE(history.at(1).at("duration_ms").get<std::int64_t>(), 0);
  EXPECT_FALSE(history.at(1).at("runner").get<std::string>().empty()) << document.dump();
  // One time format: the event "time" format for server timestamps too.
  const std::string applied_at = history.at(1).at("applied_at");
  EXPECT_EQ(applied_at.size(), 24U) << applied_at;
  EXPECT_EQ(applied_at[10], 'T') << applied_at;
  EXPECT_EQ(applied_at.back(), 'Z') << applied_at;
}

struct UsageJsonRow {
  std::vector<std::string> arguments;
  std::string expected_key;  // "command" (a failed document) or "event" (apply's error event)
  std::string message;
};

TEST(Messages, AUsageErrorWithJsonPrintsJsonOnStdout) {
  const std::vector<UsageJsonRow> rows = {
      {{"status", "--json", "--bogus"}, "command", "--bogus"},
      {{"verify", "--bogus", "--json"}, "command", "--bogus"},
      {{"apply", "--json", "--to"}, "event", "--to"},
      {{"--json", "frobnicate"}, "command", "unknown command 'frobnicate'"},
  };
  for (const UsageJsonRow& row : rows) {
    const ProcessResult result = test::run_dbmig(row.arguments);
    EXPECT_EQ(result.exit_code, 2) << result.describe();
    EXPECT_TRUE(result.err.starts_with("dbmig: error: ")) << result.err;
    const json line = json::parse(result.out);
    ASSERT_TRUE(line.contains(row.expected_key)) << result.out;
    EXPECT_EQ(line.at("exit_code"), 2) << result.out;
    const std::string message =
        row.expected_key == "event" ? line.at("message") : line.at("error").at("message");
    EXPECT_TRUE(contains(message, row.message)) << result.out;
  }
}

TEST_F(MessagesTest, DryRunEndsWithADoneEvent) {
  TempTree tree(kIndexTree);
  generate(tree);
  const ProcessResult result = run({"apply", "--json", "--dry-run", "--dir", tree.root().string()});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  const std::string last = result.out.substr(result.out.rfind('\n', result.out.size() - 2) + 1);
  const json done = json::parse(last);
  EXPECT_EQ(done.at("event"), "done") << result.out;
  EXPECT_EQ(done.at("dry_run"), true) << result.out;
  EXPECT_EQ(done.at("steps_applied"), 0) << result.out;
  EXPECT_FALSE(state_schema_exists());
}

struct NewRow {
  std::vector<FileRow> tree;
  std::string name;
  int exit_code;
  std::string expected;  // the created version, or a part of the refusal
};

TEST(Messages, NewCreatesTheNextVersionPaddedAsTheTreeIsOrRefuses) {
  const std::vector<NewRow> rows = {
      {{}, "create-users", 0, "0001-create-users"},
      {{{"0007-a/up.sql", kCreateTable}}, "add-email", 0, "0008-add-email"},
      {{{"1_a/up.sql", kCreateTable}, {"2_b/up.sql", kCreateTable}}, "c", 0, "3_c"},
      {{{"009-a/up.sql", kCreateTable}}, "x.y_z", 0, "010-x.y_z"},
      {{}, "bad name", 2, "the name holds a character other than"},
      {{}, "a/b", 2, "the name holds a character other than"},
      {{}, ".x", 2, "starts with '-' or '.'"},
      {{}, "", 2, "NAME: the value is empty"},
      {{{"dbmig.json", R"({"versions": ["a"]})"}, {"a/up.sql", kCreateTable}},
       "b",
       2,
       "dbmig new does not edit that list"},
      {{{"0001-a/up3.sql", kCreateTable}}, "b", 2, "0001-a"},
  };
  for (const NewRow& row : rows) {
    TempTree tree(row.tree);
    const ProcessResult result = test::run_dbmig({"new", row.name, "--dir", tree.root().string()});
    EXPECT_EQ(result.exit_code, row.exit_code) << row.name << result.describe();
    if (row.exit_code != 0) {
      EXPECT_TRUE(contains(result.err, row.expected)) << row.name << "\n" << result.err;
      continue;
    }
    EXPECT_EQ(result.out, "created " + (tree.root() / row.expected / "up.sql").string() + "\n");
    const std::string header = tree.read(row.expected + "/up.sql");
    EXPECT_TRUE(header.starts_with("-- " + row.expected + ": one step.")) << header;
  }
  TempTree tree({{"0001-a/up.sql", kCreateTable}});
  const ProcessResult document =
      test::run_dbmig({"new", "b", "--json", "--dir", tree.root().string()});
  EXPECT_EQ(json::parse(document.out).at("version"), "0002-b") << document.out;
}

TEST(Messages, GenerateVerifyHelpListsOnlyOptionsThatApplyToIt) {
  const ProcessResult help = test::run_dbmig({"generate-verify", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.describe();
  for (const std::string option : {"--check", "--dir", "--dialect", "--json"}) {
    EXPECT_TRUE(contains(help.out, option)) << option << "\n" << help.out;
  }
  for (const std::string option : {"--db", "--state-schema"}) {
    EXPECT_FALSE(contains(help.out, option + " ")) << option << "\n" << help.out;
  }
  EXPECT_EQ(test::run_dbmig({"generate-verify", "--db", "x", "--dir", "y"}).exit_code, 2);
}

TEST(Messages, WaitForDbRetriesUntilTheServerAcceptsConnections) {
  DBMIG_REQUIRE_SERVER();
  test::PgServer server;
  server.stop();
  TempTree tree({{"0001-t/up.sql", kCreateTable}});
  test::ProcessOptions options;
  options.argv = {DBMIG_EXECUTABLE, "apply",           "--dir",         tree.root().string(),
                  "--db",           server.conninfo(), "--wait-for-db", "90s"};
  test::Process apply = test::Process::spawn(options);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(apply.running()) << "apply did not wait for the server";
  server.start();
  const ProcessResult result = apply.wait(std::chrono::minutes(2));
  EXPECT_EQ(result.exit_code, 0) << result.describe() << result.out;
  EXPECT_TRUE(contains(result.out, "waiting up to 1m30s for the database to accept connections"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "applied 1 step(s)")) << result.out;

  server.stop();
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult gave_up = test::run_dbmig(
      {"apply", "--dir", tree.root().string(), "--db", server.conninfo(), "--wait-for-db", "1s"});
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(gave_up.exit_code, 1) << gave_up.describe();
  EXPECT_GE(waited, std::chrono::seconds(1));
  EXPECT_TRUE(contains(gave_up.err, "Connection refused")) << gave_up.err;
}

TEST_F(MessagesTest, EachStepSaysWhenItStarts) {
  TempTree tree(kIndexTree);
  generate(tree);
  const std::string dir = tree.root().string();
  const ProcessResult text = run({"apply", "--dir", dir, "--to", "1"});
  EXPECT_EQ(text.exit_code, 0) << text.describe();
  const std::size_t start = text.out.find("0001-t up.sql starting (one transaction)\n");
  EXPECT_NE(start, std::string::npos) << text.out;
  EXPECT_LT(start, text.out.find("0001-t up.sql applied and verified")) << text.out;
  const ProcessResult events = run({"apply", "--json", "--dir", dir});
  EXPECT_EQ(events.exit_code, 0) << events.describe();
  EXPECT_TRUE(contains(events.out, R"("event":"step_start")")) << events.out;
  EXPECT_TRUE(contains(events.out, R"("mode":"non-transactional")")) << events.out;
}

}  // namespace
}  // namespace dbmig
