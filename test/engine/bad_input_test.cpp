// The bad-input matrix of SPEC section 8: every malformed input given to
// `dbmig apply` (the binary, DBMIG_EXECUTABLE) gets exit 2 (3 for a stale
// verify file, 1 for connection problems), a message naming the file and its
// position, and leaves the database exactly as it was: no `dbmig` schema and
// no application table on a fresh database, and no further change on a
// database seeded by an earlier, longer tree.
#include <gtest/gtest.h>
#include <unistd.h>

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
  int exit_code = 2;
  std::string message{};   // a substring of stderr
  std::string position{};  // "<relative path>[:line:col]" expected in stderr; "" when none
};

const std::string kTable = "CREATE TABLE a (x INT);\n";
const std::string kIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x_idx ON a (x);\n";

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

TEST(BadInput, EveryMalformedInputFailsWithItsPositionAndLeavesTheDatabaseUntouched) {
  DBMIG_REQUIRE_SERVER();
  // One password-auth server for the wrong-credentials row, started once.
  std::unique_ptr<test::PgServer> password_server;
  int fresh = 0;
  for (const BadInputRow& row : rows()) {
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

    std::vector<std::string> arguments{"apply", "--db", conninfo};
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
