// The bad-input matrix of docs/contract.md section 8: every malformed input given to
// `dbmig apply` (the binary, DBMIG_EXECUTABLE) gets exit 2 (3 for a stale
// verify file, 1 for connection problems), a message naming the file and its
// position, and leaves the database exactly as it was: no `dbmig` schema and
// no application table on a fresh database, and no further change on a
// database seeded by an earlier, longer tree.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/apply_harness.h"
#include "support/file_tree.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig::engine {
namespace {

using namespace std::chrono_literals;
using test::FileRow;
using test::ProcessOptions;
using test::ProcessResult;

// Which database the row's `dbmig apply` is pointed at.
enum class Target {
  fresh,           // a fresh database on the shared server
  unreachable,     // a loopback port nothing listens on
  wrong_password,  // a password-auth server, given the wrong password
};

struct BadInputRow {
  std::string name{};
  std::vector<FileRow> tree{};
  // When non-empty: `generate-verify` runs over `tree`, then these files are
  // written over it (a step changed after its verify file was generated).
  std::vector<FileRow> after_generate{};
  // When non-empty: applied first (exit 0) to seed the database's state.
  std::vector<FileRow> seed{};
  Target target = Target::fresh;
  std::vector<std::string> extra_args{};
  // When set: run after `tree` is written (links, FIFOs), given its root.
  std::function<void(const std::filesystem::path&)> prepare{};
  // When set: the value given to --db instead of the database's conninfo.
  std::optional<std::string> db_argument{};
  int exit_code = 2;
  std::string message{};   // a substring of stderr
  std::string position{};  // "<relative path>[:line:col]" expected in stderr; "" when none
};

const std::string kTable = "CREATE TABLE a (x INT);\n";
const std::string kIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x_idx ON a (x);\n";

namespace fs = std::filesystem;

std::function<void(const fs::path&)> make_fifo(std::string path) {
  return [path](const fs::path& root) {
    fs::remove(root / path);
    ASSERT_EQ(::mkfifo((root / path).c_str(), 0600), 0) << path;
  };
}

std::function<void(const fs::path&)> make_directory_link(std::string link, std::string target) {
  return
      [link, target](const fs::path& root) { fs::create_directory_symlink(target, root / link); };
}

std::function<void(const fs::path&)> make_file_link(std::string link, std::string target) {
  return [link, target](const fs::path& root) { fs::create_symlink(target, root / link); };
}

std::string repeated(std::string_view unit, std::size_t times) {
  std::string text;
  for (std::size_t i = 0; i < times; ++i) text += unit;
  return text;
}

// docs/contract.md section 8, "Also refused" (issue 10): input that must be refused
// while reading the directory or the options, before any connection.
const std::vector<BadInputRow>& unusual_rows() {
  static const std::vector<BadInputRow> table{
      {.name = "1. version directory name that is not UTF-8",
       .tree = {{"0001-caf\xe9/up.sql", kTable}},
       .message = "file name is not valid UTF-8",
       .position = "0001-caf\\xe9"},
      {.name = "1. step file name that is not UTF-8",
       .tree = {{"0001-a/up.sql", kTable}, {"0001-a/n\xf6te.sql", kTable}},
       .message = "file name is not valid UTF-8",
       .position = "0001-a/n\\xf6te.sql"},
      {.name = "2. step starting with a UTF-8 byte-order mark",
       .tree = {{"0001-a/up.sql", "\xEF\xBB\xBF" + kTable}},
       .message = "byte-order mark (BOM",
       .position = "0001-a/up.sql:1:1"},
      {.name = "3. psql meta-command \\connect",
       .tree = {{"0001-a/up.sql", kTable + "\\connect other\n"}},
       .message = "psql meta-command \\connect",
       .position = "0001-a/up.sql:2:1"},
      {.name = "3. psql meta-command \\i",
       .tree = {{"0001-a/up.sql", "\\i other.sql\n"}},
       .message = "psql meta-command \\i",
       .position = "0001-a/up.sql:1:1"},
      {.name = "3. psql meta-command \\gset",
       .tree = {{"0001-a/up.sql", "SELECT 1 AS x \\gset\n"}},
       .message = "psql meta-command \\gset",
       .position = "0001-a/up.sql:1:15"},
      {.name = "4. COPY FROM stdin with inline data",
       .tree = {{"0001-a/up1.sql", kTable},
                {"0001-a/up2.sql", "COPY a (x) FROM stdin;\n1\n2\n\\.\n"}},
       .message = "COPY ... FROM STDIN",
       .position = "0001-a/up2.sql:1:1"},
      {.name = "5. symbolic link duplicating a version",
       .tree = {{"0001-a/up.sql", kTable}},
       .prepare = make_directory_link("0002-b", "0001-a"),
       .message = "is a symbolic link to version \"0001-a\"",
       .position = "0002-b"},
      {.name = "6. symbolic link loop as a version directory",
       .tree = {{"0001-a/up.sql", kTable}},
       .prepare = make_directory_link("0002-loop", "0002-loop"),
       .message = "symbolic link loop",
       .position = "0002-loop"},
      {.name = "7. FIFO as up.sql",
       .tree = {{"0001-a/up.sql", kTable}},
       .prepare = make_fifo("0001-a/up.sql"),
       .message = "is a FIFO, not a regular file",
       .position = "0001-a/up.sql"},
      {.name = "8. --to with an empty value",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--to", ""},
       .message = "--to: the value is empty"},
      {.name = "9. --lease-ttl 0",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--lease-ttl", "0"},
       .message = "--lease-ttl 0ms: must be at least 3s"},
      {.name = "9. --lease-ttl below 3s",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--lease-ttl", "2999ms"},
       .message = "--lease-ttl 2.9s: must be at least 3s"},
      {.name = "9. --verify-timeout 0",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--verify-timeout", "0s"},
       .message = "--verify-timeout 0ms: must be above 0"},
      {.name = "9. --ddl-lock-timeout 0",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--ddl-lock-timeout", "0"},
       .message = "--ddl-lock-timeout 0ms: must be above 0"},
      {.name = "10. block comment nested 200,000 deep that never closes",
       .tree = {{"0001-a/up.sql", kTable + repeated("/*", 200'000) + repeated("*/", 199'999)}},
       .message = "unterminated /* comment",
       .position = "0001-a/up.sql:2:1"},
      {.name = "empty --db",
       .tree = {{"0001-a/up.sql", kTable}},
       .db_argument = "",
       .message = "--db: the value is empty"},
      {.name = "empty --state-schema",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--state-schema", ""},
       .message = "--state-schema: the value is empty"},
      {.name = "empty --verify-timeout",
       .tree = {{"0001-a/up.sql", kTable}},
       .extra_args = {"--verify-timeout", ""},
       .message = "--verify-timeout: the value is empty"},
      {.name = "dangling symbolic link as up.sql (a file that cannot be read)",
       .tree = {{"0001-a/", ""}},
       .prepare = make_file_link("0001-a/up.sql", "missing.sql"),
       .message = "cannot follow: No such file or directory",
       .position = "0001-a/up.sql"},
      {.name = "directory named up.sql",
       .tree = {{"0001-a/up.sql/", ""}},
       .message = "is a directory, not a regular file",
       .position = "0001-a/up.sql"},
      {.name = "FIFO as a verify file",
       .tree = {{"0001-a/up.sql", kIndex}, {"0001-a/up.verify.sql", ""}},
       .prepare = make_fifo("0001-a/up.verify.sql"),
       .message = "is a FIFO, not a regular file",
       .position = "0001-a/up.verify.sql"},
      {.name = "dbmig.json that is a directory",
       .tree = {{"dbmig.json/", ""}, {"0001-a/up.sql", kTable}},
       .message = "cannot read dbmig.json: not a regular file (directory)",
       .position = "dbmig.json"},
      {.name = "dbmig.json that is a FIFO",
       .tree = {{"0001-a/up.sql", kTable}},
       .prepare = make_fifo("dbmig.json"),
       .message = "cannot read dbmig.json: not a regular file (FIFO)",
       .position = "dbmig.json"},
      {.name = "step hard-linked to another version's step",
       .tree = {{"0001-a/up.sql", kTable}, {"0002-b/", ""}},
       .prepare =
           [](const fs::path& root) {
             fs::create_hard_link(root / "0001-a/up.sql", root / "0002-b/up.sql");
           },
       .message = "is the same file as",
       .position = "0002-b/up.sql"},
      {.name = "step symlinked to another step",
       .tree = {{"0001-a/up1.sql", kTable}},
       .prepare = make_file_link("0001-a/up2.sql", "up1.sql"),
       .message = "is the same file as",
       .position = "0001-a/up2.sql"},
  };
  return table;
}

const std::vector<BadInputRow>& rows() {
  static const std::vector<BadInputRow> table{
      {.name = "bad version directory name",
       .tree = {{"abc/up.sql", kTable}},
       .message = "version directory name \"abc\" does not start with a number",
       .position = "abc"},
      {.name = "gap in step numbers",
       .tree = {{"0001-a/up1.sql", kTable}, {"0001-a/up3.sql", "CREATE TABLE b (x INT);\n"}},
       .message = "step 2 is missing",
       .position = "0001-a"},
      {.name = "duplicate step numbers up1 and up01",
       .tree = {{"0001-a/up1.sql", kTable}, {"0001-a/up01.sql", "CREATE TABLE b (x INT);\n"}},
       .message = "are the same step",
       .position = "0001-a/up1.sql"},
      {.name = "orphan verify file",
       .tree = {{"0001-a/up.sql", kTable}, {"0001-a/up2.verify.sql", "SELECT true;\n"}},
       .message = "orphan verify file",
       .position = "0001-a/up2.verify.sql"},
      {.name = "file that is not UTF-8",
       .tree = {{"0001-a/up.sql", kTable + "-- \xff\xfe\n"}},
       .message = "not valid UTF-8",
       .position = "0001-a/up.sql:2:4"},
      {.name = "empty step",
       .tree = {{"0001-a/up.sql", "\n  \n"}},
       .message = "empty step",
       .position = "0001-a/up.sql:1:1"},
      {.name = "unterminated quote",
       .tree = {{"0001-a/up.sql", kTable + "INSERT INTO a VALUES ('x);\n"}},
       .message = "unterminated quoted string",
       .position = "0001-a/up.sql:2:23"},
      {.name = "unterminated block comment",
       .tree = {{"0001-a/up.sql", kTable + "/* open\n"}},
       .message = "unterminated /* comment",
       .position = "0001-a/up.sql:2:1"},
      {.name = "unterminated dollar quote",
       .tree = {{"0001-a/up.sql", kTable + "SELECT $$abc;\n"}},
       .message = "unterminated dollar-quoted string",
       .position = "0001-a/up.sql:2:8"},
      {.name = "transaction control in a step",
       .tree = {{"0001-a/up.sql", "BEGIN;\n" + kTable + "COMMIT;\n"}},
       .message = "BEGIN is transaction control",
       .position = "0001-a/up.sql:1:1"},
      {.name = "two DDL statements in one step",
       .tree = {{"0001-a/up.sql", kTable + "CREATE TABLE b (x INT);\n"}},
       .message = "step has 2 DDL statements",
       .position = "0001-a/up.sql:2:1"},
      {.name = "CockroachDB syntax under the postgres dialect",
       .tree = {{"0001-a/up.sql", kTable + "SET CLUSTER SETTING sql.defaults.foo = 1;\n"}},
       .message = "CockroachDB syntax that PostgreSQL cannot run",
       .position = "0001-a/up.sql:2:1"},
      {.name = "dbmig.json syntax error",
       .tree = {{"dbmig.json", "{\"dialect\": \"postgres\","}, {"0001-a/up.sql", kTable}},
       .message = "dbmig.json is not valid JSON",
       .position = "dbmig.json:1:24"},
      {.name = "dbmig.json unknown key",
       .tree = {{"dbmig.json", "{\"dialect\": \"postgres\", \"bogus\": 1}"},
                {"0001-a/up.sql", kTable}},
       .message = "unknown key \"bogus\"",
       .position = "dbmig.json:1:25"},
      {.name = "stale verify file",
       .tree = {{"0001-a/up1.sql", kTable}, {"0001-a/up2.sql", kIndex}},
       .after_generate = {{"0001-a/up2.sql",
                           "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_y_idx ON a (x);\n"}},
       .exit_code = 3,
       .message = "verify file is stale",
       .position = "0001-a/up2.verify.sql"},
      {.name = "database at a version the directory does not contain",
       .tree = {{"0001-a/up.sql", kTable}, {"0002-renamed/up.sql", "INSERT INTO a VALUES (1);\n"}},
       .seed = {{"0001-a/up.sql", kTable}, {"0002-b/up.sql", "INSERT INTO a VALUES (1);\n"}},
       .message = "the database is at version 0002-b, which"},
      {.name = "database newer than the directory",
       .tree = {{"0001-a/up.sql", kTable}},
       .seed = {{"0001-a/up.sql", kTable}, {"0002-b/up.sql", "INSERT INTO a VALUES (1);\n"}},
       .message = "the database is newer than the directory"},
      {.name = "unreachable server",
       .tree = {{"0001-a/up.sql", kTable}},
       .target = Target::unreachable,
       .exit_code = 1,
       .message = "Connection refused"},
      {.name = "wrong credentials",
       .tree = {{"0001-a/up.sql", kTable}},
       .target = Target::wrong_password,
       .exit_code = 1,
       .message = "password authentication failed"},
  };
  return table;
}

ProcessOptions dbmig(const test::TempTree& tree, std::vector<std::string> arguments) {
  return test::dbmig_command(tree.root(), std::move(arguments));
}

// Everything a failed apply must leave as it was: the state schema, the
// recorded version and step history, and the application's tables.
std::string database_snapshot(db::Connection& connection) {
  std::string snapshot =
      "tables=" + test::query_value(connection,
                                    "SELECT coalesce(string_agg(n.nspname || '.' || c.relname, ','"
                                    " ORDER BY n.nspname, c.relname), '') FROM pg_class c"
                                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                                    " WHERE c.relkind IN ('r', 'i', 'S', 'v') AND n.nspname NOT IN"
                                    " ('pg_catalog', 'information_schema')"
                                    " AND n.nspname NOT LIKE 'pg_toast%'");
  const bool has_state =
      test::query_value(connection, "SELECT count(*) FROM pg_namespace WHERE nspname = 'dbmig'") ==
      "1";
  if (!has_state) return snapshot + " state=absent";
  snapshot += " version=" + test::query_value(connection, "SELECT version FROM dbmig.state");
  snapshot += " steps=" + test::query_value(connection,
                                            "SELECT string_agg(version || '/' || step || ':' ||"
                                            " state || ':' || sha256, ',' ORDER BY version, step)"
                                            " FROM dbmig.steps");
  snapshot +=
      " rows_in_a=" + test::query_value(connection,
                                        "SELECT CASE WHEN to_regclass('public.a') IS NULL"
                                        " THEN '-' ELSE (SELECT count(*)::text FROM a) END");
  return snapshot;
}

void expect_refused_and_database_untouched(const std::vector<BadInputRow>& rows);

TEST(BadInput, EveryMalformedInputFailsWithItsPositionAndLeavesTheDatabaseUntouched) {
  DBMIG_REQUIRE_SERVER();
  expect_refused_and_database_untouched(rows());
}

TEST(BadInput, UnusualFilesLinksBytesAndOptionValuesAreRefusedBeforeAnyConnection) {
  DBMIG_REQUIRE_SERVER();
  expect_refused_and_database_untouched(unusual_rows());
}

// A deeply nested comment is valid SQL: it is read in linear time, and a
// step holding one validates quickly (the whole process, Debug build).
TEST(BadInput, CommentsNested200000DeepAreReadInWellUnderASecond) {
  const test::TempTree tree(
      {{"0001-a/up.sql", repeated("/*", 200'000) + repeated("*/", 200'000) + "\n" + kTable}});
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult result = test::run_process(dbmig(tree, {"generate-verify", "--check"}), 60s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_LT(elapsed, 2s) << "validation of an 800 KB step nested 200,000 deep";
}

void expect_refused_and_database_untouched(const std::vector<BadInputRow>& rows) {
  // One password-auth server for the wrong-credentials row, started once.
  std::unique_ptr<test::PgServer> password_server;
  static int fresh = 0;
  for (const BadInputRow& row : rows) {
    SCOPED_TRACE("row: " + row.name);
    std::string conninfo;
    std::string check_conninfo;
    const std::string database_name =
        "t_bad_input_" + std::to_string(::getpid()) + "_" + std::to_string(fresh++);
    switch (row.target) {
      case Target::fresh:
        conninfo = test::shared_server()->create_database(database_name);
        check_conninfo = conninfo;
        break;
      case Target::unreachable:
        conninfo = "host=127.0.0.1 port=" + std::to_string(test::pick_free_port()) +
                   " dbname=postgres user=postgres connect_timeout=5";
        break;
      case Target::wrong_password:
        if (!password_server) {
          test::PgServerOptions password_auth;
          password_auth.superuser_password = "right-secret";
          password_server = std::make_unique<test::PgServer>(password_auth);
        }
        check_conninfo = password_server->create_database(database_name);
        conninfo = "host=127.0.0.1 port=" + std::to_string(password_server->port()) +
                   " dbname=" + database_name + " user=postgres password=wrong-secret";
        break;
    }

    if (!row.seed.empty()) {
      const test::TempTree seed(row.seed);
      const ProcessResult seeded = test::run_process(dbmig(seed, {"apply", "--db", conninfo}), 60s);
      ASSERT_EQ(seeded.exit_code, 0) << seeded.describe();
    }
    const test::TempTree tree(row.tree);
    if (row.prepare) row.prepare(tree.root());
    if (!row.after_generate.empty()) {
      const ProcessResult generated = test::run_process(dbmig(tree, {"generate-verify"}), 60s);
      ASSERT_EQ(generated.exit_code, 0) << generated.describe();
      for (const FileRow& file : row.after_generate) tree.write(file.path, file.content);
    }

    std::string before;
    std::unique_ptr<db::Connection> checker;
    if (!check_conninfo.empty()) {
      checker = test::connect_to(check_conninfo);
      before = database_snapshot(*checker);
      if (row.seed.empty()) {
        EXPECT_EQ(before, "tables= state=absent");
      }
    }

    std::vector<std::string> arguments{"apply", "--db", row.db_argument.value_or(conninfo)};
    arguments.insert(arguments.end(), row.extra_args.begin(), row.extra_args.end());
    const ProcessResult result = test::run_process(dbmig(tree, arguments), 60s);
    EXPECT_EQ(result.exit_code, row.exit_code) << result.describe();
    EXPECT_NE(result.err.find(row.message), std::string::npos) << result.describe();
    if (!row.position.empty()) {
      const std::string where = (tree.root() / row.position).string() + ":";
      EXPECT_NE(result.err.find(where), std::string::npos) << "expected " << where << " in\n"
                                                           << result.describe();
    }
    EXPECT_EQ(result.err.find("wrong-secret"), std::string::npos) << "password leaked";
    EXPECT_EQ(result.out.find("wrong-secret"), std::string::npos) << "password leaked";
    if (checker) {
      EXPECT_EQ(database_snapshot(*checker), before);
    }
  }
}

}  // namespace
}  // namespace dbmig::engine
