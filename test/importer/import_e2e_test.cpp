// End to end, per format, against the test PostgreSQL: the fixture applied
// with psql the way the tool runs each file (wrapped in one transaction,
// sent as one message, or statement by statement: docs/import.md) gives the
// same `pg_dump --schema-only` as `dbmig import` + `dbmig apply`; the
// imported directory passes `generate-verify --check` and `verify`.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/file_tree.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace dbmig {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

enum class Run { transaction, one_message, each_statement };
enum class Section { whole, goose, dbmate };

struct ToolFile {
  std::string path;  // relative to the fixture
  Run run;
};

struct Oracle {
  std::string format;
  std::string source;  // the fixture directory, relative to test/importer/fixtures
  Section section;
  std::vector<ToolFile> files;  // in the tool's order, written out by hand from its rules
};

const Oracle kOracles[] = {
    {"goose",
     "goose",
     Section::goose,
     {{"00001_create_users.sql", Run::transaction},
      {"00002_touch_function.sql", Run::transaction},
      {"00003_concurrent_indexes.sql", Run::each_statement},
      {"00004_block_then_index.sql", Run::each_statement},
      {"9_seed_note.sql", Run::transaction},
      {"00010_audit.sql", Run::transaction}}},
    {"golang-migrate",
     "golang-migrate",
     Section::whole,
     {{"1_init.up.sql", Run::one_message},
      {"2_two_blocks.up.sql", Run::one_message},
      {"3_add email column.up.sql", Run::one_message},
      {"10_concurrent_index.up.sql", Run::one_message}}},
    {"dbmate",
     "dbmate",
     Section::dbmate,
     {{"20240101090000_create_projects.sql", Run::transaction},
      {"20240102090000_slug_index.sql", Run::one_message},
      {"20240103090000_placeholder.sql", Run::transaction},
      {"20240104090000_tasks.sql", Run::transaction}}},
    {"prisma",
     "prisma",
     Section::whole,
     {{"20240101120000_add_tags/migration.sql", Run::one_message},
      {"20240101120000_init/migration.sql", Run::one_message},
      {"20240215093000_post_title/migration.sql", Run::one_message},
      {"20240215_manual_fix/migration.sql", Run::one_message},
      {"20240301000000_concurrent/migration.sql", Run::one_message}}},
    {"diesel",
     "diesel",
     Section::whole,
     {{"2024-01-01-000000_create_users/up.sql", Run::transaction},
      {"2024-01-02-000000_users_name_index/up.sql", Run::one_message},
      {"2024-01-03-000000_posts/up.sql", Run::transaction},
      {"2024-01-04-000000_add post body/up.sql", Run::transaction}}},
    {"flyway",
     "flyway/sql",
     Section::whole,
     {{"v1/V1__init.sql", Run::transaction},
      {"v1/V1.1__customer_email.sql", Run::transaction},
      {"v1/V1.2__orders_customer_index.sql", Run::each_statement},
      {"V1.10__orders_fk.sql", Run::transaction},
      {"V2__add status and index.sql", Run::each_statement},
      {"V2_1__audit.sql", Run::transaction}}},
};

// The up section as the tool reads it: the lines after its up marker and
// before its down marker (line-based, as goose and dbmate document them).
std::string up_section(const std::string& text, Section section) {
  if (section == Section::whole) return text;
  const std::string up = section == Section::goose ? "-- +goose up" : "-- migrate:up";
  const std::string down = section == Section::goose ? "-- +goose down" : "-- migrate:down";
  std::istringstream in(text);
  std::string out;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    std::string lower = line;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.starts_with(down)) break;
    if (inside) out += line + "\n";
    if (lower.starts_with(up)) inside = true;
  }
  return out;
}

test::ProcessResult run(std::vector<std::string> argv) {
  test::ProcessOptions options;
  options.argv = std::move(argv);
  options.unset_env = {"PGHOST",     "PGPORT",    "PGUSER",       "PGDATABASE",
                       "PGPASSWORD", "PGSERVICE", "DATABASE_URL", "DBMIG_DIR"};
  return test::run_process(options, 5min);
}

std::string tool(std::string_view name) { return (test::pg_bin_dir() / name).string(); }

void apply_like_the_tool(const Oracle& oracle, const std::string& conninfo, const fs::path& tmp) {
  const fs::path root = fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures" / oracle.source;
  for (const ToolFile& file : oracle.files) {
    const std::string sql = up_section(test::read_file(root / file.path), oracle.section);
    const fs::path script = tmp / "step.sql";
    std::ofstream(script, std::ios::binary | std::ios::trunc) << sql;
    std::vector<std::string> argv = {tool("psql"),      "-X", "-q",    "-v",
                                     "ON_ERROR_STOP=1", "-d", conninfo};
    switch (file.run) {
      case Run::transaction: argv.insert(argv.end(), {"-1", "-f", script.string()}); break;
      case Run::one_message: argv.insert(argv.end(), {"-c", sql}); break;
      case Run::each_statement: argv.insert(argv.end(), {"-f", script.string()}); break;
    }
    const test::ProcessResult result = run(argv);
    ASSERT_EQ(result.exit_code, 0) << file.path << "\n" << result.describe();
  }
}

// pg_dump --schema-only without dbmig's own schema and pg_dump's random
// \restrict keys.
std::string schema_of(const std::string& conninfo) {
  const test::ProcessResult dump = run(
      {tool("pg_dump"), "--schema-only", "--no-owner", "--exclude-schema=dbmig", "-d", conninfo});
  EXPECT_EQ(dump.exit_code, 0) << dump.describe();
  std::istringstream in(dump.out);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("\\restrict") || line.starts_with("\\unrestrict")) continue;
    out += line + "\n";
  }
  return out;
}

test::ProcessResult dbmig(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), DBMIG_EXECUTABLE);
  return run(arguments);
}

class ImportEndToEnd : public test::DatabaseTest {};

TEST_F(ImportEndToEnd, EachFormatAppliesToTheSchemaTheToolGives) {
  for (const Oracle& oracle : kOracles) {
    SCOPED_TRACE(oracle.format);
    std::string base = "e2e_" + oracle.format;
    std::replace(base.begin(), base.end(), '-', '_');
    const std::string by_tool = server().create_database(base + "_tool");
    const std::string by_dbmig = server().create_database(base + "_dbmig");
    const test::TempTree tmp;
    ASSERT_NO_FATAL_FAILURE(apply_like_the_tool(oracle, by_tool, tmp.root()));

    const fs::path out = tmp.root() / "imported";
    const fs::path src = fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures" / oracle.source;
    const test::ProcessResult imported =
        dbmig({"import", "--from", oracle.format, "--out", out.string(), src.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.describe();
    const test::ProcessResult check = dbmig({"generate-verify", "--check", "--dir", out.string()});
    EXPECT_EQ(check.exit_code, 0) << check.describe();
    const test::ProcessResult applied = dbmig({"apply", "--dir", out.string(), "--db", by_dbmig});
    ASSERT_EQ(applied.exit_code, 0) << applied.describe();
    const test::ProcessResult verified = dbmig({"verify", "--dir", out.string(), "--db", by_dbmig});
    EXPECT_EQ(verified.exit_code, 0) << verified.describe();

    const std::string expected = schema_of(by_tool);
    EXPECT_NE(expected.find("CREATE TABLE"), std::string::npos) << "the oracle built a schema";
    EXPECT_EQ(schema_of(by_dbmig), expected);
  }
}

TEST_F(ImportEndToEnd, TheReportListsEveryRemovalAsJson) {
  const test::TempTree tmp;
  const fs::path src = fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures/golang-migrate";
  const test::ProcessResult imported = dbmig({"import", "--json", "--from", "golang-migrate",
                                              "--out", (tmp.root() / "o").string(), src.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();
  const std::string& out = imported.out;
  EXPECT_NE(out.find("\"command\":\"import\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"kind\":\"removed\",\"line\":7,\"reason\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"text\":\"END;\""), std::string::npos) << out;
}

}  // namespace
}  // namespace dbmig
