// No secret is printed (contract sections 7, 9), run as an operator runs dbmig: every
// command that connects, text, --json and --verbose, over malformed and
// well-formed-but-failing connection strings (from --db or DATABASE_URL),
// wrong passwords from the URL, PGPASSWORD and a password file, and steps
// whose failing statement holds a password (output and the steps table).
// Also the warning for a password on the command line and the hint of each
// kind of connection failure.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/file_tree.h"
#include "support/pg_server.h"
#include "support/process.h"
#include "support/secret_conninfos.h"

namespace dbmig {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::FileRow;
using test::holds_secret;
using test::ProcessResult;
using test::TempTree;

using Env = std::vector<std::pair<std::string, std::string>>;
using Arguments = std::vector<std::string>;

const std::string kPassword = std::string(test::kSecretHead) + std::string(test::kSecretTail);
const std::string kPasswordWarning = "--db holds a password";

ProcessResult dbmig(const Arguments& arguments, const Env& env = {}) {
  test::ProcessOptions options;
  options.argv = {DBMIG_EXECUTABLE};
  options.argv.insert(options.argv.end(), arguments.begin(), arguments.end());
  options.env = env;
  options.unset_env = {"DATABASE_URL", "DBMIG_DIR",  "PGHOST",    "PGPORT",     "PGUSER",
                       "PGDATABASE",   "PGPASSWORD", "PGSERVICE", "PGPASSFILE", "PGHOSTADDR"};
  return test::run_process(options, 2min);
}

std::string joined(const Arguments& arguments) {
  std::string text;
  for (const std::string& argument : arguments) text += argument + " ";
  return text;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::size_t count(std::string_view text, std::string_view part) {
  std::size_t found = 0;
  for (std::size_t at = text.find(part); at != std::string_view::npos;
       at = text.find(part, at + 1)) {
    ++found;
  }
  return found;
}

// The JSON lines of stdout; adds a failure when one does not parse.
std::vector<json> json_lines(const ProcessResult& result) {
  std::vector<json> lines;
  std::istringstream stream(result.out);
  for (std::string line; std::getline(stream, line);) {
    json object = json::parse(line, nullptr, false);
    EXPECT_FALSE(object.is_discarded()) << "not JSON: " << line;
    lines.push_back(std::move(object));
  }
  return lines;
}

// The error object of a JSON run: the `error` event of apply's stream, or
// the document's `error`; null when there is none.
json json_error(const ProcessResult& result) {
  const std::vector<json> lines = json_lines(result);
  if (lines.empty()) return nullptr;
  const json& last = lines.back();
  if (last.value("event", "") == "error") return last;
  return last.contains("error") ? last.at("error") : json(nullptr);
}

const std::vector<Arguments> kModes = {{}, {"--json"}, {"--verbose"}, {"--json", "--verbose"}};
const std::vector<std::string> kConnectingCommands = {"apply", "status", "verify"};

const std::vector<FileRow> kTree = {
    {"0001-t/up.sql", "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY);\n"}};

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(dbmig({"generate-verify", "--dir", dir()}).exit_code, 0); }
  [[nodiscard]] std::string dir() const { return tree_.root().string(); }

  // Runs `command` with `mode` against `conninfo` (as --db, or as
  // DATABASE_URL when `from_env`), plus `env`; checks that no part of the
  // password is printed and returns the result.
  ProcessResult run_checked(const std::string& command, const Arguments& mode,
                            const std::string& conninfo, bool from_env, const Env& env = {}) {
    Arguments arguments = {command, "--dir", dir()};
    arguments.insert(arguments.end(), mode.begin(), mode.end());
    Env full_env = env;
    if (from_env) {
      full_env.emplace_back("DATABASE_URL", conninfo);
    } else {
      arguments.insert(arguments.end(), {"--db", conninfo});
    }
    const ProcessResult result = dbmig(arguments, full_env);
    ++runs_;
    EXPECT_FALSE(holds_secret(result.out + result.err))
        << joined(arguments) << (from_env ? " (DATABASE_URL)" : "") << "\nstdout: " << result.out
        << "\nstderr: " << result.err;
    return result;
  }

  TempTree tree_{kTree};
  int runs_ = 0;
};

TEST_F(SecretsTest, NoCommandPrintsAnyPartOfAMalformedOrRefusedConninfosPassword) {
  const int port = test::pick_free_port();
  const auto& templates = test::secret_conninfo_templates();
  const auto& separators = test::secret_separators();
  for (std::size_t i = 0; i < templates.size(); ++i) {
    const std::string conninfo =
        test::secret_conninfo(templates[i], separators[i % separators.size()], port);
    for (const std::string& command : kConnectingCommands) {
      for (std::size_t m = 0; m < kModes.size(); ++m) {
        const bool from_env = (i + m) % 2 == 1;
        const ProcessResult result = run_checked(command, kModes[m], conninfo, from_env);
        EXPECT_EQ(result.exit_code, 1) << command << " " << conninfo << result.describe();
        EXPECT_TRUE(result.err.starts_with("dbmig: error: ") ||
                    result.err.starts_with("warning: " + kPasswordWarning))
            << result.err;
        EXPECT_TRUE(contains(result.err, "dbmig: error: ")) << result.err;
        if (!kModes[m].empty() && kModes[m].front() == "--json") {
          const json error = json_error(result);
          ASSERT_TRUE(error.is_object()) << result.out;
          EXPECT_FALSE(error.at("message").get<std::string>().empty()) << result.out;
          EXPECT_TRUE(contains(error.value("database", ""), "********")) << result.out;
        }
      }
    }
  }
  // Every separator with the two shapes that libpq quotes whole.
  for (const std::string& separator : separators) {
    for (const std::string shape :
         {"postgresql://alice:{PW}@[::1/db", "host=127.0.0.1 port={PORT} 'password={PW}'"}) {
      const std::string conninfo = test::secret_conninfo(shape, separator, port);
      run_checked("status", {"--json", "--verbose"}, conninfo, false);
      run_checked("apply", {"--verbose"}, conninfo, true);
    }
  }
  EXPECT_GE(runs_, 300);
}

TEST_F(SecretsTest, APasswordInDbWarnsOnceInTextAndJsonAndNotFromDatabaseUrl) {
  const std::string url = "postgresql://alice:" + kPassword +
                          "@127.0.0.1:" + std::to_string(test::pick_free_port()) + "/db";
  // generate-verify takes no --db (it never connects).
  for (const std::string command : {"apply", "status", "verify"}) {
    const ProcessResult text = run_checked(command, {}, url, false);
    EXPECT_EQ(count(text.err, "warning: " + kPasswordWarning), 1u) << command << text.err;
    EXPECT_TRUE(contains(text.err, "DATABASE_URL")) << text.err;
    EXPECT_FALSE(contains(text.out, kPasswordWarning)) << text.out;

    const ProcessResult as_json = run_checked(command, {"--json"}, url, false);
    std::size_t warnings = 0;
    for (const json& line : json_lines(as_json)) {
      std::vector<json> diagnostics;
      if (line.value("event", "") == "diagnostic") diagnostics.push_back(line);
      if (line.contains("diagnostics")) {
        for (const json& diagnostic : line.at("diagnostics")) diagnostics.push_back(diagnostic);
      }
      for (const json& diagnostic : diagnostics) {
        if (!contains(diagnostic.value("message", ""), kPasswordWarning)) continue;
        ++warnings;
        EXPECT_EQ(diagnostic.at("severity"), "warning") << diagnostic;
        EXPECT_TRUE(contains(diagnostic.value("hint", ""), "PGPASSWORD")) << diagnostic;
      }
    }
    EXPECT_EQ(warnings, 1u) << command << as_json.out;

    const ProcessResult from_env = run_checked(command, {}, url, true);
    EXPECT_FALSE(contains(from_env.out + from_env.err, kPasswordWarning)) << from_env.err;
  }
  const ProcessResult no_password = run_checked(
      "status", {}, "host=127.0.0.1 port=" + std::to_string(test::pick_free_port()), false);
  EXPECT_FALSE(contains(no_password.err, kPasswordWarning)) << no_password.err;
}

TEST_F(SecretsTest, ConnectionFailuresWithoutAServerHintWhatToCheck) {
  const std::string port = std::to_string(test::pick_free_port());
  const TempTree no_socket;  // an empty directory: no server socket in it
  struct Row {
    std::string conninfo;  // "" = neither --db nor DATABASE_URL
    Env env;
    std::string hint;
  };
  const std::vector<Row> rows = {
      {"", {{"PGHOST", no_socket.root().string()}}, "so dbmig used libpq's defaults"},
      {"", {{"PGHOST", no_socket.root().string()}}, "DATABASE_URL"},
      {"", {{"PGHOST", "127.0.0.1"}, {"PGPORT", port}}, "pass --db URL"},
      {"host=127.0.0.1 port=" + port, {}, "check that the server is running"},
      {"postgresql://127.0.0.1:" + port + "/db", {}, "check that the server is running"},
      {"host=nonexistent.invalid", {}, "the host name cannot be resolved"},
  };
  for (const Row& row : rows) {
    for (const std::string& command : kConnectingCommands) {
      Arguments arguments = {command, "--dir", dir()};
      if (!row.conninfo.empty()) arguments.insert(arguments.end(), {"--db", row.conninfo});
      const ProcessResult text = dbmig(arguments, row.env);
      EXPECT_EQ(text.exit_code, 1) << joined(arguments) << text.describe();
      EXPECT_TRUE(contains(text.err, "  hint: ") && contains(text.err, row.hint))
          << joined(arguments) << "\nexpected hint: " << row.hint << "\n"
          << text.err;
      arguments.push_back("--json");
      const ProcessResult as_json = dbmig(arguments, row.env);
      const json error = json_error(as_json);
      ASSERT_TRUE(error.is_object()) << as_json.out;
      EXPECT_TRUE(contains(error.value("hint", ""), row.hint)) << as_json.out;
      if (row.conninfo.empty()) {
        EXPECT_EQ(error.value("database", ""), "libpq defaults (PGHOST, PGPORT, ...)");
      }
    }
  }
}

TEST_F(SecretsTest, UsageErrorsThatQuoteAMisplacedConnectionStringHideItsPassword) {
  const std::string port = std::to_string(test::pick_free_port());
  for (std::size_t i = 0; i < test::secret_conninfo_templates().size(); ++i) {
    const std::string conninfo = test::secret_conninfo(
        test::secret_conninfo_templates()[i],
        test::secret_separators()[i % test::secret_separators().size()], std::stoi(port));
    const std::vector<Arguments> runs = {
        {"status", "--dir", dir(), conninfo},
        {"apply", "--dir", dir(), "--dialect", conninfo},
        {conninfo},
        {"verify", "--dir", dir(), "--json", "--db", conninfo, "--db", "x"},
    };
    for (const Arguments& arguments : runs) {
      const ProcessResult result = dbmig(arguments);
      EXPECT_EQ(result.exit_code, 2) << joined(arguments) << result.describe();
      EXPECT_TRUE(contains(result.err, "dbmig: error: ")) << result.err;
      EXPECT_FALSE(holds_secret(result.out + result.err))
          << joined(arguments) << "\nstdout: " << result.out << "\nstderr: " << result.err;
    }
  }
}

// A server whose superuser needs a password: wrong passwords from every
// source, and right ones that fail later, never printed.
class PasswordServerTest : public SecretsTest {
 protected:
  static void SetUpTestSuite() {
    if (test::shared_server() == nullptr) return;  // the test itself skips or fails
    server_ = new test::PgServer({.superuser_password = kRight, .settings = {}});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    DBMIG_REQUIRE_SERVER();
    ASSERT_NE(server_, nullptr);
    SecretsTest::SetUp();
  }
  static std::string url(const std::string& user, const std::string& password,
                         const std::string& database) {
    return "postgresql://" + user + (password.empty() ? "" : ":" + password) +
           "@127.0.0.1:" + std::to_string(server_->port()) + "/" + database;
  }
  static inline const std::string kRight = "R1ghtPw" + kPassword;
  static inline test::PgServer* server_ = nullptr;
};

TEST_F(PasswordServerTest, WrongPasswordsFromAnySourceAreRefusedWithAHintAndNeverPrinted) {
  const std::string port = std::to_string(server_->port());
  const std::filesystem::path passfile = tree_.root() / "pgpass";
  {
    std::ofstream out(passfile);
    out << "127.0.0.1:" << port << ":*:postgres:" << kPassword << "\n";
  }
  ::chmod(passfile.c_str(), 0600);
  struct Row {
    std::string conninfo;
    Env env;
    std::string hint;
  };
  const std::string no_password = "host=127.0.0.1 port=" + port + " user=postgres dbname=postgres";
  const std::vector<Row> rows = {
      {url("postgres", kPassword, "postgres"), {}, "check the user and password"},
      {no_password + " password=" + kPassword, {}, "check the user and password"},
      {no_password + " password='" + kPassword + " with space'", {}, "check the user and password"},
      {no_password, {{"PGPASSWORD", kPassword}}, "check the user and password"},
      {no_password, {{"PGPASSFILE", passfile.string()}}, "check the user and password"},
      {url("postgres", kRight, "no_such_database"), {}, "no such database"},
      {url("no_such_user", kRight, "postgres"), {}, "check the user and password"},
  };
  for (const Row& row : rows) {
    for (const std::string& command : kConnectingCommands) {
      for (const Arguments& mode : {Arguments{}, Arguments{"--json", "--verbose"}}) {
        const ProcessResult result = run_checked(command, mode, row.conninfo, false, row.env);
        EXPECT_EQ(result.exit_code, 1) << command << " " << row.conninfo << result.describe();
        EXPECT_TRUE(contains(result.err, row.hint))
            << command << " " << row.conninfo << "\nexpected hint: " << row.hint << "\n"
            << result.err;
        EXPECT_FALSE(contains(result.out + result.err, kRight)) << result.err;
      }
    }
  }
  // With the right password from DATABASE_URL the commands work, still silent about it.
  const ProcessResult applied =
      run_checked("apply", {"--verbose"}, url("postgres", kRight, "postgres"), true);
  EXPECT_EQ(applied.exit_code, 0) << applied.describe();
  const ProcessResult status =
      run_checked("status", {"--json"}, url("postgres", kRight, "postgres"), true);
  EXPECT_EQ(status.exit_code, 0) << status.describe();
}

// Steps whose failing statement holds a password: neither the output
// (--verbose prints the statement) nor the steps table's error may show it.
class StatementSecretsTest : public test::DatabaseTest {};

TEST_F(StatementSecretsTest, AFailingStepsPasswordIsNeverPrintedNorRecorded) {
  const std::string steps[] = {
      "ALTER ROLE no_such_role_x WITH ENCRYPTED PASSWORD '" + kPassword + "';\n",
      "ALTER ROLE postgres PASSWORD '" + kPassword + "' VALID UNTIL 'not a time';\n",
      "SELECT 'host=127.0.0.1 password=" + kPassword + "'::int;\n",
      "SELECT 'postgresql://u:" + kPassword + "@127.0.0.1/db'::int;\n",
      "DO $$ BEGIN RAISE EXCEPTION 'password=%', '" + kPassword + "'; END $$;\n",
  };
  int index = 0;
  for (const std::string& step : steps) {
    const std::string database = "secrets_step_" + std::to_string(index++);
    const std::string conninfo = server().create_database(database);
    TempTree tree({{"0001-secret/up.sql", step}});
    const std::string dir = tree.root().string();
    ASSERT_EQ(dbmig({"generate-verify", "--dir", dir}).exit_code, 0) << step;
    for (const Arguments& mode : kModes) {
      Arguments arguments = {"apply", "--dir", dir};
      arguments.insert(arguments.end(), mode.begin(), mode.end());
      const ProcessResult result = dbmig(arguments, {{"DATABASE_URL", conninfo}});
      EXPECT_EQ(result.exit_code, 1) << step << result.describe();
      EXPECT_FALSE(holds_secret(result.out + result.err))
          << step << joined(arguments) << "\nstdout: " << result.out << "\nstderr: " << result.err;
      EXPECT_TRUE(contains(result.err, "0001-secret/up.sql")) << result.err;
    }
    for (const std::string command : {"status", "verify"}) {
      for (const Arguments& mode : kModes) {
        Arguments arguments = {command, "--dir", dir};
        arguments.insert(arguments.end(), mode.begin(), mode.end());
        const ProcessResult result = dbmig(arguments, {{"DATABASE_URL", conninfo}});
        EXPECT_FALSE(holds_secret(result.out + result.err))
            << step << joined(arguments) << "\nstdout: " << result.out;
      }
    }
    db::ConnectOptions options;
    options.conninfo = conninfo;
    db::Connection connection = db::Connection::open(options);
    const db::Result rows = connection.exec("SELECT error FROM dbmig.steps");
    ASSERT_EQ(rows.rows(), 1) << step;
    const std::string recorded(rows.get(0, 0));
    EXPECT_FALSE(recorded.empty()) << step;
    EXPECT_FALSE(holds_secret(recorded)) << step << "\nrecorded: " << recorded;
  }
}

}  // namespace
}  // namespace dbmig
