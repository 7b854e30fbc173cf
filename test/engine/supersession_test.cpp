#include "engine/supersession.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sql/scanner.h"

namespace dbmig::engine {
namespace {

using sql::ChangeKind;
using sql::QualifiedName;

sql::Statement statement_of(std::string_view source) {
  auto tokens = sql::scan(source);
  EXPECT_TRUE(tokens.has_value()) << source;
  sql::Statement statement;
  statement.end = source.size();
  if (tokens) statement.tokens = *tokens;
  return statement;
}

QualifiedName name(std::string schema, std::string object) {
  return {.database = {}, .schema = std::move(schema), .name = std::move(object)};
}

sql::Change change(ChangeKind kind, QualifiedName table, QualifiedName object) {
  sql::Change result;
  result.kind = kind;
  result.table = std::move(table);
  result.object = std::move(object);
  return result;
}

const sql::Change kIndexOnT = change(ChangeKind::create_index, name("", "t"), name("", "idx"));
const sql::Change kIndexOnPublicT =
    change(ChangeKind::create_index, name("public", "t"), name("public", "idx"));
const sql::Change kQuotedIndex = change(ChangeKind::create_index, name("", "t"), name("", "Idx"));
const sql::Change kIndexInApp =
    change(ChangeKind::create_index, name("app", "t"), name("app", "idx"));
const sql::Change kConstraintC = change(ChangeKind::add_constraint, name("", "t"), name("", "c"));
const sql::Change kUniqueConstraintIdx =
    change(ChangeKind::add_constraint, name("", "t"), name("", "idx"));
const sql::Change kReindexIdx =
    change(ChangeKind::reindex_concurrently, name("", ""), name("", "idx"));

struct SupersedeRow {
  std::string statement;
  sql::Change change;
  bool superseded;
};

TEST(Supersession, LaterStatementsThatDropOrRenameTheProvedObject) {
  const std::vector<SupersedeRow> rows = {
      {"DROP INDEX idx", kIndexOnT, true},
      {"DROP INDEX IF EXISTS public.idx", kIndexOnPublicT, true},
      {"DROP INDEX other.idx", kIndexOnPublicT, false},
      {"DROP INDEX CONCURRENTLY IF EXISTS a, idx CASCADE", kIndexOnT, true},
      {"DROP INDEX \"Idx\"", kIndexOnT, false},
      {"DROP INDEX \"Idx\"", kQuotedIndex, true},
      {"drop index IDX", kIndexOnT, true},
      {"DROP INDEX IF EXISTS t@idx CASCADE", kIndexOnT, true},
      {"DROP INDEX u@idx", kIndexOnT, false},
      {"DROP INDEX other_idx", kIndexOnT, false},
      {"DROP TABLE IF EXISTS t", kIndexOnT, true},
      {"DROP TABLE s, t CASCADE", kConstraintC, true},
      {"DROP TABLE t2", kIndexOnT, false},
      {"DROP TABLE other.t", kIndexOnPublicT, false},
      {"ALTER TABLE t RENAME TO t_old", kIndexOnT, true},
      {"ALTER TABLE IF EXISTS ONLY public.t SET SCHEMA archive", kIndexOnPublicT, true},
      {"ALTER TABLE t RENAME COLUMN a TO b", kIndexOnT, false},
      {"ALTER TABLE t RENAME a TO b", kConstraintC, false},
      {"ALTER TABLE t DROP CONSTRAINT IF EXISTS c", kConstraintC, true},
      {"ALTER TABLE u DROP CONSTRAINT c", kConstraintC, false},
      {"ALTER TABLE t ADD COLUMN x int DEFAULT f(1, 2), DROP CONSTRAINT c", kConstraintC, true},
      {"ALTER TABLE t DROP COLUMN c", kConstraintC, false},
      {"ALTER TABLE t RENAME CONSTRAINT c TO d", kConstraintC, true},
      {"ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)", kConstraintC, false},
      {"ALTER TABLE t DROP CONSTRAINT idx", kIndexOnT, true},
      {"ALTER TABLE t DROP CONSTRAINT idx", kReindexIdx, false},
      {"DROP INDEX idx", kUniqueConstraintIdx, true},
      {"DROP INDEX idx", kReindexIdx, true},
      {"ALTER INDEX idx RENAME TO idx2", kIndexOnT, true},
      {"ALTER INDEX IF EXISTS t@idx RENAME TO idx2", kIndexOnT, true},
      {"ALTER INDEX idx SET TABLESPACE fast", kIndexOnT, false},
      {"DROP SCHEMA IF EXISTS app CASCADE", kIndexInApp, true},
      {"DROP SCHEMA app CASCADE", kIndexOnT, false},
      {"CREATE INDEX idx2 ON t (x)", kIndexOnT, false},
      {"SELECT 'DROP INDEX idx'", kIndexOnT, false},
      {"-- drop it\nDROP /* really */ INDEX idx", kIndexOnT, true},
  };
  for (const SupersedeRow& row : rows) {
    const sql::Statement statement = statement_of(row.statement);
    bool superseded = false;
    for (const Removal& removal : removals_of(statement, row.statement)) {
      superseded = superseded || supersedes(removal, row.change);
    }
    EXPECT_EQ(superseded, row.superseded)
        << "statement: " << row.statement << "\nchange object: " << row.change.object.schema << "."
        << row.change.object.name << " on " << row.change.table.schema << "."
        << row.change.table.name;
  }
}

struct RemovalRow {
  std::string statement;
  std::vector<Removal> expected;
};

TEST(Supersession, ReadsEveryRemovedNameOfAStatement) {
  using Kind = Removal::Kind;
  const std::vector<RemovalRow> rows = {
      {"DROP INDEX a, s.b", {{Kind::index, name("", "a"), {}}, {Kind::index, name("s", "b"), {}}}},
      {"DROP INDEX s.t@i", {{Kind::index, name("s", "i"), name("s", "t")}}},
      {"DROP TABLE \"My\"\"T\"", {{Kind::table, name("", "My\"T"), {}}}},
      {"DROP SCHEMA x", {{Kind::schema, name("", "x"), {}}}},
      {"ALTER TABLE t DROP CONSTRAINT a, DROP CONSTRAINT IF EXISTS b",
       {{Kind::constraint, name("", "a"), name("", "t")},
        {Kind::constraint, name("", "b"), name("", "t")}}},
      {"ALTER TABLE t RENAME TO u",
       {{Kind::table, name("", "t"), {}}, {Kind::index, name("", "t"), {}}}},
      {"CREATE TABLE t (x int)", {}},
      {"DROP VIEW v", {}},
      {"DROP INDEX", {}},
  };
  for (const RemovalRow& row : rows) {
    EXPECT_EQ(removals_of(statement_of(row.statement), row.statement), row.expected)
        << "statement: " << row.statement;
  }
}

}  // namespace
}  // namespace dbmig::engine
