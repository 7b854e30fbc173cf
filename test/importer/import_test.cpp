// import_tree() and read_source(): every format's fixture imports in the
// tool's order into a directory dbmig accepts; what cannot be converted is
// refused, each named; SRC is never written; a non-empty OUT is refused.
#include "importer/import.h"

#include <gtest/gtest.h>

#include "migration/directory.h"
#include "support/file_tree.h"
#include "support/process.h"

namespace dbmig::importer {
namespace {

namespace fs = std::filesystem;
using test::TempTree;

fs::path fixture(std::string_view format) {
  fs::path root = fs::path(DBMIG_SOURCE_DIR) / "test/importer/fixtures" / format;
  return format == "flyway" ? root / "sql" : root;
}

struct OrderRow {
  Format format;
  std::vector<std::string> directories;  // in the tool's order
  std::vector<std::string> tool_versions;
  bool lists_versions;  // dbmig.json "versions" needed
};

const OrderRow kOrderRows[] = {
    {Format::goose,
     {"00001_create_users", "00002_touch_function", "00003_concurrent_indexes",
      "00004_block_then_index", "9_seed_note", "00010_audit"},
     {"1", "2", "3", "4", "9", "10"},
     false},
    {Format::golang_migrate,
     {"1_init", "2_two_blocks", "3_add email column", "10_concurrent_index"},
     {"1", "2", "3", "10"},
     false},
    {Format::dbmate,
     {"20240101090000_create_projects", "20240102090000_slug_index", "20240103090000_placeholder",
      "20240104090000_tasks"},
     {"20240101090000", "20240102090000", "20240103090000", "20240104090000"},
     false},
    {Format::prisma,
     {"20240101120000_add_tags", "20240101120000_init", "20240215093000_post_title",
      "20240215_manual_fix", "20240301000000_concurrent"},
     {"20240101120000_add_tags", "20240101120000_init", "20240215093000_post_title",
      "20240215_manual_fix", "20240301000000_concurrent"},
     true},
    {Format::diesel,
     {"2024-01-01-000000_create_users", "2024-01-02-000000_users_name_index",
      "2024-01-03-000000_posts", "2024-01-04-000000_add post body"},
     {"20240101000000", "20240102000000", "20240103000000", "20240104000000"},
     true},
    {Format::flyway,
     {"V1__init", "V1.1__customer_email", "V1.2__orders_customer_index", "V1.10__orders_fk",
      "V2__add status and index", "V2_1__audit"},
     {"1", "1.1", "1.2", "1.10", "2", "2.1"},
     true},
};

TEST(ImportTree, EveryFormatImportsInTheToolsOrderIntoAValidDirectory) {
  for (const OrderRow& row : kOrderRows) {
    SCOPED_TRACE(std::string(to_string(row.format)));
    const TempTree out;
    auto result = import_tree(row.format, fixture(to_string(row.format)), out.root() / "out");
    ASSERT_TRUE(result.has_value()) << (result ? "" : result.error().front().format());
    std::vector<std::string> names;
    std::vector<std::string> versions;
    for (const ConvertedVersion& v : result->versions) {
      names.push_back(v.name);
      versions.push_back(v.tool_version);
    }
    EXPECT_EQ(names, row.directories);
    EXPECT_EQ(versions, row.tool_versions);
    EXPECT_EQ(result->settings.contains("versions"), row.lists_versions);
    auto dir = migration::load_directory(out.root() / "out");
    ASSERT_TRUE(dir.has_value());
    std::vector<std::string> loaded;
    for (const migration::Version& v : dir->versions) loaded.push_back(v.name);
    EXPECT_EQ(loaded, row.directories) << "dbmig reads the tool's order";
    ASSERT_TRUE(dir->settings.imported_from.has_value());
    EXPECT_EQ(dir->settings.imported_from->format, to_string(row.format));
    EXPECT_EQ(dir->settings.imported_from->versions.size(), row.directories.size());
    const nlohmann::json report = report_json(*result);
    EXPECT_EQ(report.at("versions").size(), row.directories.size());
  }
}

TEST(ImportTree, NeverWritesIntoSrcAndRefusesANonEmptyOut) {
  const TempTree src(std::vector<test::FileRow>{{"1_a.up.sql", "SELECT 1;\n"}});
  auto inside = import_tree(Format::golang_migrate, src.root(), src.root() / "out");
  ASSERT_FALSE(inside.has_value());
  EXPECT_NE(inside.error().front().message.find("inside the source tree"), std::string::npos);
  EXPECT_FALSE(fs::exists(src.root() / "out"));
  const TempTree out(std::vector<test::FileRow>{{"existing.txt", "x"}});
  auto occupied = import_tree(Format::golang_migrate, src.root(), out.root());
  ASSERT_FALSE(occupied.has_value());
  EXPECT_NE(occupied.error().front().message.find("not empty"), std::string::npos);
}

struct RefusalRow {
  Format format;
  std::vector<test::FileRow> tree;
  std::vector<std::string> messages;  // one per refused file, each naming it
};

TEST(ImportTree, RefusesEachFeatureItCannotConvertNamingEveryFile) {
  const RefusalRow rows[] = {
      {Format::flyway,
       {{"V1__a.sql", "SELECT 1;\n"},
        {"R__views.sql", "CREATE VIEW v AS SELECT 1;\n"},
        {"afterMigrate.sql", "SELECT 1;\n"},
        {"V2__b.sql", "CREATE TABLE ${schema}.t (x int);\n"},
        {"V3__c.sql", "-- ${only in a comment} is left alone\nSELECT '${x}';\n"}},
       {"R__views.sql: error: Flyway repeatable", "afterMigrate.sql: error: Flyway callback",
        "V2__b.sql:1:1: error: Flyway placeholder", "V3__c.sql:2:1: error: Flyway placeholder"}},
      {Format::flyway,
       {{"V1__a.sql", "SELECT 1;\n"}, {"V1.0__b.sql", "SELECT 2;\n"}},
       {"version 1 is also"}},
      {Format::goose,
       {{"00001_a.sql", "-- +goose Up\nSELECT 1;\n"},
        {"00002_b.go", "package migrations\n"},
        {"00003_c.sql", "-- +goose ENVSUB ON\n-- +goose Up\nSELECT '${X}';\n"},
        {"00004_d.sql", "SELECT 1;\n"}},
       {"00002_b.go: error: goose Go migration", "00003_c.sql:1:1: error: -- +goose ENVSUB ON",
        "00004_d.sql: error: no -- +goose Up marker"}},
      {Format::golang_migrate,
       {{"1_a.up.sql", "SELECT 1;\n"}, {"01_b.up.sql", "SELECT 2;\n"}},
       {"version 1 is also"}},
      {Format::golang_migrate,
       {{"1_a.up.sql", "SELECT 1;\n"},
        {"migrate.env", "# deploy\nDATABASE_URL=postgres://h/db?x-multi-statement=true\n"}},
       {"migrate.env:2:1: error: golang-migrate x-multi-statement"}},
      {Format::prisma,
       {{"migration_lock.toml", "provider = \"mysql\"\n"}, {"1_a/migration.sql", "SELECT 1;\n"}},
       {"provider \"mysql\" is not PostgreSQL"}},
      {Format::dbmate,
       {{"1_a.sql", "-- migrate:up\nBEGIN;\nSELECT 1;\nROLLBACK;\n"}},
       {"1_a.sql:4:1: error: ROLLBACK cannot be converted"}},
  };
  for (const RefusalRow& row : rows) {
    SCOPED_TRACE(std::string(to_string(row.format)));
    const TempTree src(row.tree);
    const TempTree out;
    auto result = import_tree(row.format, src.root(), out.root() / "out");
    ASSERT_FALSE(result.has_value());
    std::string all;
    for (const Diagnostic& d : result.error()) all += d.format() + "\n";
    for (const std::string& message : row.messages) {
      EXPECT_NE(all.find(message), std::string::npos) << message << "\n" << all;
    }
    EXPECT_EQ(result.error().size(), row.messages.size()) << all;
    EXPECT_FALSE(fs::exists(out.root() / "out")) << "nothing written";
  }
}

TEST(ImportTree, ReadsTheToolsNonTransactionalMarkers) {
  struct Row {
    Format format;
    std::vector<test::FileRow> tree;
    RunMode mode;
  };
  const Row rows[] = {
      {Format::goose,
       {{"1_a.sql", "-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n"}},
       RunMode::each_statement},
      {Format::goose, {{"1_a.sql", "-- +GOOSE UP\nSELECT 1;\n"}}, RunMode::transaction},
      {Format::dbmate,
       {{"1_a.sql", "-- migrate:up transaction:false\nSELECT 1;\n"}},
       RunMode::one_message},
      {Format::diesel,
       {{"1_a/up.sql", "SELECT 1;\n"}, {"1_a/metadata.toml", "run_in_transaction = false\n"}},
       RunMode::one_message},
      {Format::flyway,
       {{"V1__a.sql", "SELECT 1;\n"}, {"V1__a.sql.conf", "executeInTransaction=false\n"}},
       RunMode::each_statement},
      {Format::flyway,
       {{"V1__a.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n"}},
       RunMode::each_statement},
      {Format::flyway, {{"V1__a.sql", "SELECT 1;\n"}}, RunMode::transaction},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(to_string(row.format)) + " " + row.tree.front().content);
    const TempTree src(row.tree);
    auto migrations = read_source(row.format, src.root());
    ASSERT_TRUE(migrations.has_value()) << migrations.error().front().format();
    ASSERT_EQ(migrations->size(), 1u);
    EXPECT_EQ(migrations->front().mode, row.mode);
  }
}

}  // namespace
}  // namespace dbmig::importer
