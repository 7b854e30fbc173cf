// End to end, per format, against the test PostgreSQL: the fixture applied
// with psql the way the tool runs each file (wrapped in one transaction,
// sent as one message, or statement by statement: docs/import.md) gives the
// same `pg_dump --schema-only` as `dbmig import` + `dbmig apply`; the
// imported directory passes `generate-verify --check` and `verify`.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

// Applies the first `count` files (all when count is npos).
void apply_like_the_tool(const Oracle& oracle, const std::string& conninfo, const fs::path& tmp,
                         std::size_t count = std::string::npos) {
  const fs::path root = fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures" / oracle.source;
  for (std::size_t i = 0; i < oracle.files.size() && i < count; ++i) {
    const ToolFile& file = oracle.files[i];
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

// pg_dump --schema-only without dbmig's own schema (nor the tables and
// sequences named after `exclude_table`) and pg_dump's random
// \restrict keys.
std::string schema_of(const std::string& conninfo, const std::string& exclude_table = "") {
  std::vector<std::string> argv = {
      tool("pg_dump"), "--schema-only", "--no-owner", "--exclude-schema=dbmig", "-d", conninfo};
  if (!exclude_table.empty()) argv.push_back("--exclude-table=" + exclude_table + "*");
  const test::ProcessResult dump = run(argv);
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

// The tool's history table (its default name and columns, written by hand
// from each tool's schema) recording `versions` (the tool's own, oldest
// first) as applied: what `baseline --from-tool` reads.
struct History {
  std::string table;
  std::string sql;
};

std::string literal(const std::string& text) { return "'" + text + "'"; }

History history_of(const std::string& format, const std::vector<std::string>& versions) {
  std::string values;
  auto add = [&](const std::string& row) { values += (values.empty() ? "" : ", ") + row; };
  if (format == "goose") {
    add("(0, true)");
    for (const std::string& v : versions) add("(" + v + ", true)");
    return {"goose_db_version",
            "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, "
            "is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());"
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES " +
                values};
  }
  if (format == "golang-migrate") {
    return {"schema_migrations",
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean "
            "NOT NULL); INSERT INTO schema_migrations VALUES (" +
                versions.back() + ", false)"};
  }
  if (format == "dbmate") {
    for (const std::string& v : versions) add("(" + literal(v) + ")");
    return {"schema_migrations",
            "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
            "INSERT INTO schema_migrations VALUES " +
                values};
  }
  if (format == "prisma") {
    for (const std::string& v : versions) {
      add("(gen_random_uuid()::text, 'x', now(), " + literal(v) + ", NULL, NULL, now(), 1)");
    }
    return {"_prisma_migrations",
            "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) "
            "NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, "
            "rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), "
            "applied_steps_count integer NOT NULL DEFAULT 0);"
            "INSERT INTO _prisma_migrations VALUES " +
                values};
  }
  if (format == "diesel") {
    for (const std::string& v : versions) add("(" + literal(v) + ")");
    return {"__diesel_schema_migrations",
            "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on "
            "timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);"
            "INSERT INTO __diesel_schema_migrations (version) VALUES " +
                values};
  }
  int rank = 0;
  for (const std::string& v : versions) {
    ++rank;
    add("(" + std::to_string(rank) + ", " + literal(v) +
        ", 'x', 'SQL', 'x.sql', 0, 'me', now(), 1, true)");
  }
  return {"flyway_schema_history",
          "CREATE TABLE flyway_schema_history (installed_rank integer PRIMARY KEY, version "
          "varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL, script "
          "varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL, "
          "installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL, "
          "success boolean NOT NULL); INSERT INTO flyway_schema_history VALUES " +
              values};
}

// The tool's versions of the import in the directory's order, read from
// dbmig.json ("versions" when present, else numbered names by N) and its
// "imported_from" map.
std::vector<std::string> tool_versions(const fs::path& out) {
  const nlohmann::json settings = nlohmann::json::parse(test::read_file(out / "dbmig.json"));
  std::map<std::string, std::string> version_of;
  for (const auto& [version, directory] : settings["imported_from"]["versions"].items()) {
    version_of[directory.get<std::string>()] = version;
  }
  std::vector<std::string> order;
  if (settings.contains("versions")) {
    order = settings["versions"].get<std::vector<std::string>>();
  } else {
    for (const auto& [directory, version] : version_of) order.push_back(directory);
    std::sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
  }
  std::vector<std::string> versions;
  for (const std::string& directory : order) versions.push_back(version_of.at(directory));
  return versions;
}

class ImportEndToEnd : public test::DatabaseTest {};

// The tool applied all but its last migration; baseline --from-tool adopts
// the database and apply finishes it, to the schema the tool gives.
TEST_F(ImportEndToEnd, BaselineAdoptsWhatEachToolAppliedAndApplyFinishesIt) {
  for (const Oracle& oracle : kOracles) {
    SCOPED_TRACE(oracle.format);
    std::string base = "bl_" + oracle.format;
    std::replace(base.begin(), base.end(), '-', '_');
    const std::string full = server().create_database(base + "_full");
    const std::string adopted = server().create_database(base + "_adopted");
    const test::TempTree tmp;
    ASSERT_NO_FATAL_FAILURE(apply_like_the_tool(oracle, full, tmp.root()));
    const std::size_t prefix = oracle.files.size() - 1;
    ASSERT_NO_FATAL_FAILURE(apply_like_the_tool(oracle, adopted, tmp.root(), prefix));

    const fs::path out = tmp.root() / "imported";
    const fs::path src = fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures" / oracle.source;
    ASSERT_EQ(
        dbmig({"import", "--from", oracle.format, "--out", out.string(), src.string()}).exit_code,
        0);
    std::vector<std::string> versions = tool_versions(out);
    ASSERT_EQ(versions.size(), oracle.files.size());
    versions.pop_back();
    const History history = history_of(oracle.format, versions);
    const test::ProcessResult created =
        run({tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", adopted, "-c", history.sql});
    ASSERT_EQ(created.exit_code, 0) << created.describe();

    const test::ProcessResult baselined =
        dbmig({"baseline", "--from-tool", oracle.format, "--dir", out.string(), "--db", adopted});
    ASSERT_EQ(baselined.exit_code, 0) << baselined.describe();
    EXPECT_NE(baselined.out.find("baseline at "), std::string::npos) << baselined.out;
    const test::ProcessResult applied = dbmig({"apply", "--dir", out.string(), "--db", adopted});
    ASSERT_EQ(applied.exit_code, 0) << applied.describe();
    EXPECT_NE(applied.out.find("applied and verified"), std::string::npos) << applied.out;
    EXPECT_EQ(schema_of(adopted, history.table), schema_of(full));
  }
}

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

namespace dbmig {
namespace {

// Usage errors of import and baseline: exit 2, named, before any database.
TEST(ImportCommandLine, BadOptionsAreUsageErrors) {
  const test::TempTree tmp;
  const std::string src = (fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures/goose").string();
  const std::string dir = (fs::path(DBMIG_SOURCE_DIR) / "schema/postgres").string();
  struct Row {
    std::vector<std::string> arguments;
    std::string message;
  };
  const std::vector<Row> rows = {
      {{"import", "--from", "liquibase", "--out", (tmp.root() / "o").string(), src},
       "unknown format \"liquibase\""},
      {{"import", "--from", "goose", src}, "--out is required"},
      {{"import", "--from", "goose", "--out", tmp.root().string(), src + "/missing"},
       "not a directory"},
      {{"baseline", "--dir", dir, "--db", "host=127.0.0.1 port=1"}, "exactly one of --to"},
      {{"baseline", "--to", "", "--dir", dir, "--db", "host=127.0.0.1 port=1"},
       "--to: the value is empty"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.arguments.front() + " " + row.message);
    const test::ProcessResult result = dbmig(row.arguments);
    EXPECT_EQ(result.exit_code, 2) << result.describe();
    EXPECT_NE(result.err.find(row.message), std::string::npos) << result.describe();
  }
  EXPECT_FALSE(fs::exists(tmp.root() / "o"));
}

}  // namespace
}  // namespace dbmig
