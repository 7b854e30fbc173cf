// The dbmig binary (DBMIG_EXECUTABLE) as an operator runs it: exit codes and
// messages of docs/contract.md section 7 for usage errors, invalid directories (the
// database untouched), verify-file checks, unreachable servers, passwords
// that must never be printed, and the JSON documents of docs/json.md.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/cli_run.h"
#include "support/file_tree.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::FileRow;
using test::ProcessResult;
using test::TempTree;

using Env = std::vector<std::pair<std::string, std::string>>;

// Every --json run's output is validated against docs/json-schema.
ProcessResult dbmig(const std::vector<std::string>& arguments, const Env& env = {}) {
  return test::run_dbmig(arguments, env);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string joined(const std::vector<std::string>& arguments) {
  std::string text;
  for (const std::string& argument : arguments) text += argument + " ";
  return text;
}

const std::string kCreateTable = "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT);\n";
const std::string kIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n";

const std::vector<FileRow> kValidTree = {{"0001-t/up.sql", kCreateTable},
                                         {"0002-index/up.sql", kIndex}};

struct ExitRow {
  std::vector<std::string> arguments;
  Env env;
  int exit_code;
  std::string expected;  // in stderr (exit != 0) or stdout (exit 0)
};

void expect_rows(const std::vector<ExitRow>& rows) {
  for (const ExitRow& row : rows) {
    const ProcessResult result = dbmig(row.arguments, row.env);
    EXPECT_EQ(result.exit_code, row.exit_code) << "dbmig " << joined(row.arguments) << "\n"
                                               << result.describe() << result.out;
    const std::string& output = row.exit_code == 0 ? result.out : result.err;
    EXPECT_TRUE(contains(output, row.expected))
        << "dbmig " << joined(row.arguments) << "\nexpected: " << row.expected
        << "\nstdout: " << result.out << "\nstderr: " << result.err;
  }
}

TEST(Cli, UsageErrorsExitTwoWithAMessage) {
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  expect_rows({
      {{}, {}, 2, "dbmig: error: A subcommand is required"},
      {{"frobnicate"}, {}, 2, "dbmig: error: unknown command 'frobnicate'"},
      {{"--bogus", "status"}, {}, 2, "--bogus"},
      {{"status", "--bogus"}, {}, 2, "hint: run 'dbmig status --help'"},
      {{"apply", "--dir", dir, "--verify-timeout", "5x"}, {}, 2, "--verify-timeout: "},
      {{"apply", "--dir", dir, "--lease-ttl", "-1s"}, {}, 2, "--lease-ttl: "},
      {{"apply", "--dir", dir, "--lock-timeout", ""}, {}, 2, "--lock-timeout"},
      {{"status"}, {}, 2, "no migration directory given\n  hint: pass --dir DIR or set DBMIG_DIR"},
      {{"--dialect", "oracle", "status", "--dir", dir}, {}, 2, "oracle"},
      {{"status", "--dir"}, {}, 2, "--dir"},
      {{"status", "--dir", dir, "--state-schema", ""}, {}, 2, "--state-schema: "},
  });
}

TEST(Cli, VersionAndHelpExitZero) {
  expect_rows({
      {{"--version"}, {}, 0, "dbmig 0.1.0"},
      {{"status", "--version"}, {}, 0, "dbmig 0.1.0"},
      {{"--help"}, {}, 0, "generate-verify"},
      {{"apply", "--help"}, {}, 0, "--verify-timeout DUR"},
      {{"status", "--help"}, {}, 0, "--exit-code"},
      {{"generate-verify", "--help"}, {}, 0, "--check"},
  });
}

TEST(Cli, TheDirectoryComesFromDbmigDirWhenNotGiven) {
  TempTree tree(kValidTree);
  const ProcessResult result =
      dbmig({"generate-verify", "--check"}, {{"DBMIG_DIR", tree.root().string()}});
  EXPECT_EQ(result.exit_code, 3) << result.describe();
  EXPECT_TRUE(contains(result.out, "missing 0002-index/up.verify.sql")) << result.out;
}

std::string expected_verify_file(const std::string& step, const std::string& step_text) {
  TempTree scratch({{"0001-x/" + step, step_text}});
  const ProcessResult result = dbmig({"generate-verify", "--dir", scratch.root().string()});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  const std::string stem = step.substr(0, step.size() - 4);
  return scratch.read("0001-x/" + stem + ".verify.sql");
}

TEST(Cli, GenerateVerifyCheckListsEveryMissingStaleAndSpuriousFile) {
  const std::string generated = expected_verify_file("up.sql", kIndex);
  std::string stale = generated;
  stale.replace(stale.find("sha256 ") + 7, 4, "0000");
  TempTree tree({{"0001-t/up.sql", kCreateTable},
                 {"0001-t/up.verify.sql", generated},
                 {"0002-index/up.sql", kIndex},
                 {"0003-index/up.sql", kIndex},
                 {"0003-index/up.verify.sql", stale}});
  const std::string dir = tree.root().string();
  const ProcessResult text = dbmig({"generate-verify", "--check", "--dir", dir});
  EXPECT_EQ(text.exit_code, 3) << text.describe();
  for (const std::string expected :
       {"spurious 0001-t/up.verify.sql\n", "missing 0002-index/up.verify.sql\n",
        "stale 0003-index/up.verify.sql\n", "3 verify file problems"}) {
    EXPECT_TRUE(contains(text.out, expected)) << expected << "\n" << text.out;
  }
  // Common options may also come before the subcommand.
  const ProcessResult as_json = dbmig({"--json", "--dir", dir, "generate-verify", "--check"});
  EXPECT_EQ(as_json.exit_code, 3);
  const json document = json::parse(as_json.out);
  EXPECT_EQ(document.at("command"), "generate-verify");
  EXPECT_EQ(document.at("check"), true);
  EXPECT_EQ(document.at("problems"),
            json::parse(R"([{"problem":"spurious","path":"0001-t/up.verify.sql"},
                            {"problem":"missing","path":"0002-index/up.verify.sql"},
                            {"problem":"stale","path":"0003-index/up.verify.sql"}])"));
  EXPECT_EQ(document.at("exit_code"), 3);
  EXPECT_EQ(tree.read("0003-index/up.verify.sql"), stale) << "--check wrote a file";
}

TEST(Cli, GenerateVerifyThenCheckPasses) {
  const std::string generated = expected_verify_file("up.sql", kIndex);
  TempTree tree({{"0001-t/up.sql", kCreateTable},
                 {"0001-t/up.verify.sql", generated},
                 {"0002-index/up.sql", kIndex}});
  const std::string dir = tree.root().string();
  const ProcessResult generate = dbmig({"generate-verify", "--dir", dir});
  EXPECT_EQ(generate.exit_code, 0) << generate.describe();
  EXPECT_EQ(generate.out,
            "wrote 0002-index/up.verify.sql\nremoved 0001-t/up.verify.sql\n"
            "1 file written, 1 file removed\n");
  const ProcessResult check = dbmig({"generate-verify", "--check", "--dir", dir});
  EXPECT_EQ(check.exit_code, 0) << check.describe() << check.out;
  EXPECT_EQ(check.out, "verify files are up to date\n");
  const ProcessResult again = dbmig({"generate-verify", "--json", "--dir", dir});
  EXPECT_EQ(again.exit_code, 0);
  const json document = json::parse(again.out);
  EXPECT_TRUE(document.at("written").empty()) << again.out;
  EXPECT_TRUE(document.at("removed").empty()) << again.out;
}

TEST(Cli, RefusedConnectionExitsOneWithAClearMessage) {
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0);
  const std::string port = std::to_string(test::pick_free_port());
  const std::string conninfo = "host=127.0.0.1 port=" + port + " user=postgres dbname=x";
  for (const std::string command : {"apply", "status", "verify"}) {
    const ProcessResult result = dbmig({command, "--dir", dir, "--db", conninfo});
    EXPECT_EQ(result.exit_code, 1) << command << ": " << result.describe();
    EXPECT_TRUE(result.err.starts_with("dbmig: error: ")) << result.err;
    EXPECT_TRUE(contains(result.err, port)) << result.err;
    EXPECT_TRUE(contains(result.err, "  database: " + conninfo + "\n")) << result.err;
    EXPECT_FALSE(contains(result.err, "\t")) << result.err;
  }
  const ProcessResult as_json = dbmig({"apply", "--json", "--dir", dir, "--db", conninfo});
  EXPECT_EQ(as_json.exit_code, 1);
  const std::string last_line =
      as_json.out.substr(as_json.out.rfind('\n', as_json.out.size() - 2) + 1);
  const json error = json::parse(last_line);
  EXPECT_EQ(error.at("event"), "error") << as_json.out;
  EXPECT_EQ(error.at("exit_code"), 1) << as_json.out;
  EXPECT_EQ(error.at("database"), conninfo) << as_json.out;
  EXPECT_TRUE(contains(error.at("message"), port)) << as_json.out;
}

TEST(Cli, APasswordNeverAppearsInAnyOutput) {
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0);
  const std::string secret = "Sup3rS3cretPw";
  const std::string port = std::to_string(test::pick_free_port());
  const std::string url = "postgres://alice:" + secret + "@127.0.0.1:" + port + "/db";
  const std::string keywords =
      "host=127.0.0.1 port=" + port + " user=alice password=" + secret + " dbname=db";
  const std::vector<std::pair<std::vector<std::string>, Env>> runs = {
      {{"apply", "--db", url}, {}},
      {{"status", "--db", url, "--json"}, {}},
      {{"verify", "--db", url, "--verbose"}, {}},
      {{"apply", "--db", keywords, "--json", "--verbose"}, {}},
      {{"status", "--db", keywords}, {}},
      {{"apply"}, {{"DATABASE_URL", url}}},
      {{"status", "--json"}, {{"DATABASE_URL", keywords}}},
  };
  for (const auto& [arguments, env] : runs) {
    std::vector<std::string> full = arguments;
    full.insert(full.end(), {"--dir", dir});
    const ProcessResult result = dbmig(full, env);
    EXPECT_EQ(result.exit_code, 1) << joined(full) << result.describe();
    EXPECT_FALSE(contains(result.out + result.err, secret))
        << joined(full) << "\nstdout: " << result.out << "\nstderr: " << result.err;
    EXPECT_TRUE(contains(result.err, "********")) << joined(full) << result.err;
  }
}

TEST(Cli, WrongCredentialsExitOneAndNeverPrintThePassword) {
  DBMIG_REQUIRE_SERVER();
  test::PgServer server({.superuser_password = "right-pw", .settings = {}});
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0);
  const std::string wrong =
      "postgresql://postgres:Wr0ngPassw0rd@127.0.0.1:" + std::to_string(server.port()) +
      "/postgres";
  for (const std::string command : {"status", "verify", "apply"}) {
    const ProcessResult result = dbmig({command, "--dir", dir, "--db", wrong});
    EXPECT_EQ(result.exit_code, 1) << command << result.describe();
    EXPECT_TRUE(contains(result.err, "password authentication failed")) << result.err;
    EXPECT_FALSE(contains(result.out + result.err, "Wr0ngPassw0rd")) << result.err;
  }
  const std::string right =
      "postgresql://postgres:right-pw@127.0.0.1:" + std::to_string(server.port()) + "/postgres";
  const ProcessResult status = dbmig({"status", "--dir", dir, "--db", right, "--verbose"});
  EXPECT_EQ(status.exit_code, 0) << status.describe();
  EXPECT_FALSE(contains(status.out + status.err, "right-pw")) << status.out;
}

class CliDatabaseTest : public test::DatabaseTest {
 protected:
  ProcessResult run(std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--db", conninfo()});
    return dbmig(arguments);
  }
  bool state_schema_exists() {
    db::Connection connection = connect();
    return connection.exec("SELECT 1 FROM pg_namespace WHERE nspname = 'dbmig'").rows() == 1;
  }
};

struct InvalidTreeRow {
  std::vector<FileRow> files;
  std::string expected;  // in stderr: file:line:col and message
};

TEST_F(CliDatabaseTest, InvalidDirectoriesExitTwoAndLeaveTheDatabaseUntouched) {
  const std::vector<InvalidTreeRow> rows = {
      {{{"0001-a/up.sql", "CREATE TABLE t (x text DEFAULT 'oops);\n"}},
       "0001-a/up.sql:1:32: error: unterminated quoted string"},
      {{{"0001-a/up.sql", "BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n"}}, "0001-a/up.sql:1:1: "},
      {{{"0001-a/up1.sql", kCreateTable}, {"0001-a/up3.sql", kCreateTable}}, "0001-a"},
      {{{"0001-a/up.sql", kCreateTable}, {"0001-a/up2.verify.sql", "SELECT true;\n"}},
       "0001-a/up2.verify.sql"},
      {{{"not-a-version/up.sql", kCreateTable}}, "not-a-version"},
  };
  for (const InvalidTreeRow& row : rows) {
    TempTree tree(row.files);
    for (const std::string command : {"apply", "status", "verify"}) {
      const ProcessResult result = run({command, "--dir", tree.root().string()});
      EXPECT_EQ(result.exit_code, 2) << command << " " << row.expected << result.describe();
      EXPECT_TRUE(contains(result.err, row.expected))
          << command << "\nexpected: " << row.expected << "\nstderr: " << result.err;
      EXPECT_TRUE(contains(result.err, "is not a valid migration directory")) << result.err;
    }
    EXPECT_FALSE(state_schema_exists()) << row.expected;
  }
}

TEST_F(CliDatabaseTest, StatusJsonOfAnInvalidDirectoryIsOneDocumentWithTheProblems) {
  TempTree tree(
      std::vector<FileRow>{{"0001-a/up.sql", "CREATE TABLE t (x text DEFAULT 'oops);\n"}});
  const ProcessResult result = run({"status", "--json", "--dir", tree.root().string()});
  EXPECT_EQ(result.exit_code, 2);
  const json document = json::parse(result.out);
  EXPECT_EQ(document.at("command"), "status");
  EXPECT_EQ(document.at("exit_code"), 2);
  EXPECT_TRUE(contains(document.at("error").at("message"), "is not a valid migration directory"));
  ASSERT_EQ(document.at("diagnostics").size(), 1U) << result.out;
  EXPECT_EQ(document.at("diagnostics").at(0).at("line"), 1);
  EXPECT_EQ(document.at("diagnostics").at(0).at("severity"), "error");
}

TEST_F(CliDatabaseTest, ApplyRefusesMissingOrStaleVerifyFilesBeforeWritingAnything) {
  const std::string generated = expected_verify_file("up.sql", kIndex);
  struct Row {
    std::vector<FileRow> files;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {{{"0001-t/up.sql", kCreateTable}, {"0002-index/up.sql", kIndex}},
       "0002-index/up.verify.sql: error: verify file is missing"},
      {{{"0001-t/up.sql", kCreateTable},
        {"0002-index/up.sql", kIndex + "-- changed after generating\n"},
        {"0002-index/up.verify.sql", generated}},
       "0002-index/up.verify.sql: error: verify file is stale"},
  };
  for (const Row& row : rows) {
    TempTree tree(row.files);
    const ProcessResult result = run({"apply", "--dir", tree.root().string()});
    EXPECT_EQ(result.exit_code, 3) << result.describe();
    EXPECT_TRUE(contains(result.err, row.expected)) << row.expected << "\n" << result.err;
    EXPECT_TRUE(contains(result.err, "1 verify file is missing or stale; nothing was applied"))
        << result.err;
    EXPECT_FALSE(state_schema_exists());
  }
}

// contract section 7: apply and status do not analyse a step recorded verified with the
// same sha256, nor read its verify file; generate-verify --check still does.
// Every other check stays: a pending step's verify file, bytes and structure.
TEST_F(CliDatabaseTest, VerifiedStepsAreNotAnalysedAgainByApplyAndStatus) {
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0);
  ASSERT_EQ(run({"apply", "--dir", dir}).exit_code, 0);
  tree.write("0002-index/up.verify.sql", "-- edited by hand\nSELECT false;\n");

  const ProcessResult up_to_date = run({"apply", "--dir", dir});
  EXPECT_EQ(up_to_date.exit_code, 0) << up_to_date.describe();
  EXPECT_FALSE(contains(up_to_date.err, "stale")) << up_to_date.err;
  const ProcessResult status = run({"status", "--exit-code", "--dir", dir});
  EXPECT_EQ(status.exit_code, 0) << status.describe() << status.out;
  const ProcessResult check = dbmig({"generate-verify", "--check", "--dir", dir});
  EXPECT_EQ(check.exit_code, 3) << check.describe();
  EXPECT_TRUE(contains(check.err + check.out, "0002-index/up.verify.sql")) << check.err;

  // A pending step is analysed: its stale verify file stops apply (exit 3),
  // its SQL error exits 2, both before anything is written.
  tree.write("0003-more/up.sql", kIndex + "-- changed after generating\n");
  tree.write("0003-more/up.verify.sql", expected_verify_file("up.sql", kIndex));
  const ProcessResult stale = run({"apply", "--dir", dir});
  EXPECT_EQ(stale.exit_code, 3) << stale.describe();
  EXPECT_TRUE(contains(stale.err, "0003-more/up.verify.sql: error: verify file is stale"))
      << stale.err;
  tree.write("0003-more/up.sql", "CREATE TABLE u (x text DEFAULT 'oops);\n");
  std::filesystem::remove(tree.root() / "0003-more/up.verify.sql");
  for (const std::string command : {"apply", "status"}) {
    const ProcessResult invalid = run({command, "--dir", dir});
    EXPECT_EQ(invalid.exit_code, 2) << command << invalid.describe();
    EXPECT_TRUE(contains(invalid.err, "0003-more/up.sql:1:32: error: unterminated quoted string"))
        << invalid.err;
  }
  // Bytes are still checked for every step, verified or not.
  tree.write("0001-t/up.sql", "\xEF\xBB\xBF" + kCreateTable);
  const ProcessResult bom = run({"apply", "--dir", dir});
  EXPECT_EQ(bom.exit_code, 2) << bom.describe();
  EXPECT_TRUE(contains(bom.err, "0001-t/up.sql:1:1: error: step file starts with a UTF-8"))
      << bom.err;
}

// Directory errors win over connection errors (contract section 8), also for the SQL of
// steps that apply analyses only once it has read the recorded state.
TEST(Cli, SqlErrorsOfStepsWinOverAnUnreachableServer) {
  TempTree tree(
      std::vector<FileRow>{{"0001-a/up.sql", "CREATE TABLE u (x text DEFAULT 'oops);\n"}});
  const std::string unreachable =
      "host=127.0.0.1 port=" + std::to_string(test::pick_free_port()) + " connect_timeout=5";
  for (const std::string command : {"apply", "status"}) {
    const ProcessResult result =
        dbmig({command, "--dir", tree.root().string(), "--db", unreachable});
    EXPECT_EQ(result.exit_code, 2) << command << result.describe();
    EXPECT_TRUE(contains(result.err, "unterminated quoted string")) << result.err;
  }
}

// Every line of apply --json is an event object; returns them.
std::vector<json> event_lines(const std::string& out) {
  std::vector<json> events;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    events.push_back(json::parse(line));
    EXPECT_TRUE(events.back().contains("event")) << line;
    EXPECT_TRUE(events.back().contains("time")) << line;
  }
  return events;
}

TEST_F(CliDatabaseTest, ApplyStatusAndVerifyJsonCarryTheDocumentedFields) {
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0);

  const ProcessResult applied = run({"apply", "--json", "--dir", dir});
  ASSERT_EQ(applied.exit_code, 0) << applied.describe() << applied.out;
  int steps = 0;
  for (const json& event : event_lines(applied.out)) {
    if (event.at("event") == "step") {
      ++steps;
      for (const char* field : {"version", "step", "file", "action", "duration_ms"}) {
        EXPECT_TRUE(event.contains(field)) << field << " in " << event.dump();
      }
    }
  }
  EXPECT_EQ(steps, 2) << applied.out;
  EXPECT_EQ(event_lines(applied.out).back().at("event"), "done");

  const ProcessResult status = run({"status", "--json", "--exit-code", "--dir", dir});
  EXPECT_EQ(status.exit_code, 0) << status.describe() << status.out;
  const json document = json::parse(status.out);
  for (const char* field :
       {"command", "dialect", "server_dialect", "state_schema", "state_tables", "current_version",
        "up_to_date", "pending_versions", "pending", "in_progress", "failed", "lease", "drift",
        "verify_files", "invalid_indexes", "error", "diagnostics", "exit_code"}) {
    EXPECT_TRUE(document.contains(field)) << field << " in " << status.out;
  }
  EXPECT_EQ(document.at("current_version"), "0002-index");

  const ProcessResult verified = run({"verify", "--json", "--dir", dir});
  EXPECT_EQ(verified.exit_code, 0) << verified.describe() << verified.out;
  const json proofs = json::parse(verified.out);
  for (const char* field : {"command", "dialect", "current_version", "proofs", "summary", "error",
                            "diagnostics", "exit_code"}) {
    EXPECT_TRUE(proofs.contains(field)) << field << " in " << verified.out;
  }
  ASSERT_EQ(proofs.at("proofs").size(), 1U) << verified.out;
  EXPECT_EQ(proofs.at("proofs").at(0).at("status"), "proved");
  for (const char* field : {"version", "file", "change", "status"}) {
    EXPECT_TRUE(proofs.at("proofs").at(0).contains(field)) << field;
  }
}

TEST_F(CliDatabaseTest, StatusExitCodeIsThreeWhilePendingAndTextNamesTheSteps) {
  TempTree tree(kValidTree);
  const std::string dir = tree.root().string();
  ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0);
  const ProcessResult plain = run({"status", "--dir", dir});
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_EQ(plain.out,
            "current version: none (no migrations applied)\n"
            "pending: 2 versions, 2 steps\n"
            "  0001-t/up.sql\n"
            "  0002-index/up.sql\n"
            "not up to date\n");
  EXPECT_EQ(run({"status", "--exit-code", "--dir", dir}).exit_code, 3);
  EXPECT_FALSE(state_schema_exists()) << "status wrote to the database";
}

}  // namespace
}  // namespace dbmig
