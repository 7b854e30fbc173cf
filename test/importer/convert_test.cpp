// convert(): each migration becomes its up section, verbatim except the
// tool's transaction control and markers, cut into steps where atomicity or
// a concurrent build requires it (docs/import.md).
#include "importer/convert.h"

#include <gtest/gtest.h>

namespace dbmig::importer {
namespace {

SourceMigration migration(std::string text, RunMode mode) {
  SourceMigration m;
  m.version = "1";
  m.name = "1_x";
  m.file = "1_x.sql";
  m.text = std::move(text);
  m.up = {0, m.text.size()};
  m.mode = mode;
  m.mode_reason = "test";
  return m;
}

struct Row {
  std::string label;
  std::string text;
  RunMode mode;
  std::vector<std::pair<std::string, std::string>> steps;  // file name, bytes
  std::vector<std::string> removed;                        // bytes removed, in order
};

const Row kRows[] = {
    {"a whole-file block loses only BEGIN; and COMMIT;",
     "BEGIN;\nCREATE TABLE a (x int);\nCREATE TABLE b (x int);\nCOMMIT;\n",
     RunMode::one_message,
     {{"up.sql", "\nCREATE TABLE a (x int);\nCREATE TABLE b (x int);\n\n"}},
     {"BEGIN;", "COMMIT;"}},
    {"the rest of a line stays: comments after BEGIN; and COMMIT;",
     "BEGIN; -- one\nSELECT 1;\nCOMMIT; -- two\n",
     RunMode::transaction,
     {{"up.sql", " -- one\nSELECT 1;\n -- two\n"}},
     {"BEGIN;", "COMMIT;"}},
    {"two blocks are two steps; END is COMMIT",
     "BEGIN;\nSELECT 1;\nCOMMIT; -- first\nBEGIN;\nSELECT 2;\nEND;\n",
     RunMode::one_message,
     {{"up1.sql", "\nSELECT 1;\n -- first\n"}, {"up2.sql", "\nSELECT 2;\n\n"}},
     {"BEGIN;", "COMMIT;", "BEGIN;", "END;"}},
    {"a concurrent build among other statements is its own step",
     "ALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY i ON t (a);\nSELECT 1;\n",
     RunMode::transaction,
     {{"up1.sql", "ALTER TABLE t ADD COLUMN a int;\n"},
      {"up2.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n"},
      {"up3.sql", "SELECT 1;\n"}},
     {}},
    {"statements the tool runs one by one stay one non-transactional step",
     "CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b);\n",
     RunMode::each_statement,
     {{"up-danger-non-transactional.sql",
       "CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b);\n"}},
     {}},
    {"one by one, but a build mixed with others: split, the others keep a transaction",
     "BEGIN;\nALTER TABLE t ADD a int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
     "UPDATE t SET a = 1;\n",
     RunMode::each_statement,
     {{"up1.sql", "\nALTER TABLE t ADD a int;\n\n"},
      {"up2.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n"},
      {"up3.sql", "UPDATE t SET a = 1;\n"}},
     {"BEGIN;", "COMMIT;"}},
    {"COMMIT; CREATE INDEX CONCURRENTLY; BEGIN; inside a wrapped file",
     "SELECT 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\nBEGIN;\nSELECT 2;\n",
     RunMode::transaction,
     {{"up1.sql", "SELECT 1;\n\n"},
      {"up2.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n"},
      {"up3.sql", "\nSELECT 2;\n"}},
     {"COMMIT;", "BEGIN;"}},
    {"BEGIN inside a dollar quote or a string is no statement",
     "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n"
     "SELECT 'BEGIN; COMMIT;';\n",
     RunMode::transaction,
     {{"up.sql",
       "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n"
       "SELECT 'BEGIN; COMMIT;';\n"}},
     {}},
    {"comments only: kept as a no-op step",
     "-- nothing yet\n",
     RunMode::transaction,
     {{"up.sql", "-- nothing yet\n"}},
     {}},
    {"empty: a comment is added",
     "\n",
     RunMode::transaction,
     {{"up.sql", "\n-- imported by dbmig: 1_x.sql holds no statement\n"}},
     {}},
};

TEST(Convert, KeepsTheBytesAndSplitsWhereAtomicityRequires) {
  for (const Row& row : kRows) {
    SCOPED_TRACE(row.label);
    auto converted = convert(migration(row.text, row.mode), "src");
    ASSERT_TRUE(converted.has_value()) << converted.error().format();
    std::vector<std::pair<std::string, std::string>> steps;
    for (const ConvertedStep& step : converted->steps)
      steps.emplace_back(step.file_name, step.text);
    EXPECT_EQ(steps, row.steps);
    std::vector<std::string> removed;
    for (const Edit& edit : converted->edits) {
      if (edit.kind == Edit::Kind::removed) removed.push_back(edit.text);
    }
    EXPECT_EQ(removed, row.removed);
  }
}

TEST(Convert, RemovesMarkersAndDropsTheDownSection) {
  SourceMigration m =
      migration("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n", RunMode::transaction);
  m.up = {0, m.text.find("-- +goose Down")};
  m.markers = {{0, 12}};
  auto converted = convert(m, "src");
  ASSERT_TRUE(converted.has_value());
  ASSERT_EQ(converted->steps.size(), 1u);
  EXPECT_EQ(converted->steps[0].text, "\nSELECT 1;\n");
  ASSERT_EQ(converted->edits.size(), 2u);
  EXPECT_EQ(converted->edits[0].text, "-- +goose Up");
  EXPECT_EQ(converted->edits[1].kind, Edit::Kind::dropped_down_section);
  EXPECT_EQ(converted->edits[1].line, 3);
}

TEST(Convert, CountsDdlPerStep) {
  auto converted = convert(
      migration("CREATE TABLE a (x int);\nCREATE TABLE b (x int);\nINSERT INTO a VALUES (1);\n",
                RunMode::transaction),
      "src");
  ASSERT_TRUE(converted.has_value());
  EXPECT_EQ(converted->steps.at(0).ddl_count, 2);
}

struct BadRow {
  std::string text;
  std::string message;
  int line;
};

TEST(Convert, RefusesWhatItCannotConvertWithItsPosition) {
  const BadRow rows[] = {
      {"BEGIN;\nSELECT 1;\nROLLBACK;\n", "ROLLBACK cannot be converted", 3},
      {"SELECT 1;\nSAVEPOINT s;\n", "SAVEPOINT cannot be converted", 2},
      {"BEGIN;\nBEGIN;\nCOMMIT;\n", "BEGIN inside a BEGIN", 2},
      {"BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\n", "cannot run inside BEGIN", 2},
      {"SELECT 'open;\n", "unterminated", 1},
  };
  for (const BadRow& row : rows) {
    SCOPED_TRACE(row.text);
    auto converted = convert(migration(row.text, RunMode::transaction), "src");
    ASSERT_FALSE(converted.has_value());
    EXPECT_NE(converted.error().message.find(row.message), std::string::npos)
        << converted.error().format();
    EXPECT_EQ(converted.error().line, row.line);
    EXPECT_EQ(converted.error().file, "src/1_x.sql");
  }
}

}  // namespace
}  // namespace dbmig::importer
