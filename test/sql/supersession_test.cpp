#include "sql/supersession.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sql/dialect.h"
#include "sql/scanner.h"
#include "sql/step_lint.h"

namespace dbmig::sql {
namespace {

Statement statement_of(std::string_view source) {
  auto tokens = scan(source);
  EXPECT_TRUE(tokens.has_value()) << source;
  Statement statement;
  statement.end = source.size();
  if (tokens) statement.tokens = *tokens;
  return statement;
}

QualifiedName name(std::string schema, std::string object) {
  return {.database = {}, .schema = std::move(schema), .name = std::move(object)};
}

Change change(ChangeKind kind, QualifiedName table, QualifiedName object) {
  Change result;
  result.kind = kind;
  result.table = std::move(table);
  result.object = std::move(object);
  return result;
}

const Change kIndexOnT = change(ChangeKind::create_index, name("", "t"), name("", "idx"));
const Change kIndexOnPublicT =
    change(ChangeKind::create_index, name("public", "t"), name("public", "idx"));
const Change kQuotedIndex = change(ChangeKind::create_index, name("", "t"), name("", "Idx"));
const Change kIndexInApp = change(ChangeKind::create_index, name("app", "t"), name("app", "idx"));
const Change kConstraintC = change(ChangeKind::add_constraint, name("", "t"), name("", "c"));
const Change kUniqueConstraintIdx =
    change(ChangeKind::add_constraint, name("", "t"), name("", "idx"));
const Change kReindexIdx = change(ChangeKind::reindex_concurrently, name("", ""), name("", "idx"));

struct SupersedeRow {
  std::string statement;
  Change change;
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
      {"ALTER TABLE t DROP COLUMN x", kIndexOnT, false},  // only explains a failed proof
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
      {"ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX idx", kIndexOnT, true},
      {"ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX idx", kIndexOnT, true},
      {"ALTER TABLE ONLY t ADD UNIQUE USING INDEX \"idx\"", kIndexOnT, true},
      {"ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX other", kIndexOnT, false},
      {"ALTER TABLE u ADD CONSTRAINT k PRIMARY KEY USING INDEX idx", kIndexOnT, false},
      {"ALTER TABLE t ADD CONSTRAINT idx UNIQUE (x)", kIndexOnT, false},
  };
  for (const SupersedeRow& row : rows) {
    const Statement statement = statement_of(row.statement);
    bool superseded = false;
    for (const Removal& removal : removals_of(statement, row.statement, Dialect::postgres)) {
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
      {"ALTER TABLE t DROP COLUMN IF EXISTS a CASCADE, DROP b, DROP CONSTRAINT c",
       {{Kind::column, name("", "a"), name("", "t")},
        {Kind::column, name("", "b"), name("", "t")},
        {Kind::constraint, name("", "c"), name("", "t")}}},
      {"ALTER TABLE s.t DROP \"Col\"", {{Kind::column, name("", "Col"), name("s", "t")}}},
      {"CREATE TABLE t (x int)", {}},
      {"DROP VIEW v", {}},
      {"DROP INDEX", {}},
  };
  for (const RemovalRow& row : rows) {
    EXPECT_EQ(removals_of(statement_of(row.statement), row.statement, Dialect::postgres),
              row.expected)
        << "statement: " << row.statement;
  }
}

struct ColumnRow {
  std::string step;          // the step that makes the change (its first statement's change)
  std::string later;         // a later statement
  bool drops_a_used_column;  // drops_column_of for some removal of `later`
  std::vector<std::string> words;
};

TEST(Supersession, ColumnDropsThatRemoveAnIndexOrConstraint) {
  const std::vector<ColumnRow> rows = {
      {"CREATE INDEX CONCURRENTLY i ON t USING btree (a, lower(b)) INCLUDE (c) WHERE d > 0",
       "ALTER TABLE t DROP COLUMN d",
       true,
       {"a", "lower", "b", "include", "c", "where", "d"}},
      {"CREATE INDEX i ON t (a)", "ALTER TABLE t DROP COLUMN b", false, {"a"}},
      {"CREATE INDEX i ON t (a)", "ALTER TABLE u DROP COLUMN a", false, {"a"}},
      {"CREATE INDEX i ON public.t (\"A\")", "ALTER TABLE t DROP \"A\" CASCADE", true, {"A"}},
      {"CREATE INDEX i ON t (\"A\")", "ALTER TABLE t DROP COLUMN a", false, {"A"}},
      {"ALTER TABLE t ADD CONSTRAINT other CHECK (z > 0), ADD CONSTRAINT c CHECK (x > 0),"
       " ADD COLUMN y int",
       "ALTER TABLE t DROP COLUMN x",
       true,
       {"check", "x"}},
      {"ALTER TABLE t ADD CONSTRAINT other CHECK (z > 0), ADD CONSTRAINT c CHECK (x > 0)",
       "ALTER TABLE t DROP COLUMN z",
       false,
       {"check", "x"}},
      {"ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES u (id)",
       "ALTER TABLE t DROP COLUMN id",
       false,
       {"foreign", "key", "a"}},
      {"ALTER TABLE t ADD CONSTRAINT c UNIQUE (a, b)",
       "ALTER TABLE t DROP COLUMN b",
       true,
       {"unique", "a", "b"}},
      {"ALTER TABLE t VALIDATE CONSTRAINT c", "ALTER TABLE t DROP COLUMN x", false, {}},
  };
  for (const ColumnRow& row : rows) {
    auto analysis = analyze_step(row.step, StepRules{});
    ASSERT_TRUE(analysis.has_value()) << row.step;
    ASSERT_FALSE(analysis->changes.empty()) << row.step;
    const Change& change = analysis->changes.back();
    const std::vector<std::string> words =
        definition_words(change, analysis->statements, row.step, Dialect::postgres);
    EXPECT_EQ(words, row.words) << row.step;
    bool drops = false;
    for (const Removal& removal :
         removals_of(statement_of(row.later), row.later, Dialect::postgres)) {
      drops = drops || drops_column_of(removal, change, words);
    }
    EXPECT_EQ(drops, row.drops_a_used_column) << row.step << "\nlater: " << row.later;
  }
}

// Classification (the proof's names) and supersession (a later statement's
// names) read names through one TokenReader. They used to disagree on the
// two rows' shapes below: supersession kept a 70-byte name whole where
// classification cut it to 63 bytes, and read U&"..." as the word `u`. The
// proof of such an object was then reported INCOMPLETE instead of
// superseded. Each row is read in both dialects, the way
// engine::superseding_step reads a plan: the later step with the dialect its
// own analysis was made for.
struct AgreementRow {
  std::string make;       // the step that makes the proof (its last change)
  std::string remove;     // a later step that drops or renames the object
  std::string postgres;   // the object's name both read on postgres
  std::string cockroach;  // ... and on cockroach
};

std::string seventy_bytes() { return "ix_" + std::string(67, 'a'); }

TEST(Supersession, ClassificationAndSupersessionReadTheSameName) {
  const std::string long_name = seventy_bytes();
  const std::vector<AgreementRow> rows = {
      {"CREATE INDEX " + long_name + " ON t (a)", "DROP INDEX " + long_name,
       long_name.substr(0, 63), long_name},
      {"CREATE INDEX \"" + long_name + "\" ON t (a)", "ALTER INDEX " + long_name + " RENAME TO x",
       long_name.substr(0, 63), long_name},
      {"ALTER TABLE t ADD CONSTRAINT " + long_name +
           " CHECK (a > 0) NOT VALID;\n"
           "ALTER TABLE t VALIDATE CONSTRAINT " +
           long_name,
       "ALTER TABLE t DROP CONSTRAINT " + long_name, long_name.substr(0, 63), long_name},
      // 62 ASCII bytes and then the 2-byte é: a cut at 63 bytes would split it.
      {"CREATE INDEX \"" + std::string(62, 'b') + "\u00e9tail\" ON t (a)",
       "DROP INDEX \"" + std::string(62, 'b') + "\u00e9tail\"", std::string(62, 'b'),
       std::string(62, 'b') + "\u00e9tail"},
      {"CREATE INDEX U&\"d\\0061ta\" ON t (a)", "DROP INDEX data", "data", "data"},
      {"CREATE INDEX data ON t (a)", "DROP INDEX U&\"d\\0061t\\+000061\"", "data", "data"},
      {"CREATE INDEX U&\"d!0061ta\" UESCAPE '!' ON t (a)", "DROP INDEX U&\"\\0064ata\"", "data",
       "data"},
      {"CREATE INDEX U&\"\\00e9\" ON t (a)", "ALTER TABLE t DROP CONSTRAINT \"\u00e9\"", "\u00e9",
       "\u00e9"},
      {"ALTER TABLE t ADD CONSTRAINT U&\"k\\0031\" UNIQUE (a)", "ALTER TABLE t DROP CONSTRAINT k1",
       "k1", "k1"},
      {"CREATE INDEX U&\"" + std::string(60, 'c') + "\\0064\\0064\\0064\\0064\" ON t (a)",
       "DROP INDEX " + std::string(60, 'c') + "dddd", std::string(60, 'c') + "ddd",
       std::string(60, 'c') + "dddd"},
  };
  for (const AgreementRow& row : rows) {
    for (const Dialect dialect : {Dialect::postgres, Dialect::cockroach}) {
      const std::string& expected = dialect == Dialect::postgres ? row.postgres : row.cockroach;
      const auto made = analyze_step(row.make, StepRules{.dialect = dialect});
      ASSERT_TRUE(made.has_value()) << row.make;
      ASSERT_FALSE(made->changes.empty()) << row.make;
      const Change& change = made->changes.back();
      EXPECT_EQ(change.object.name, expected) << to_string(dialect) << ": " << row.make;
      const auto later = analyze_step(row.remove, StepRules{.dialect = dialect});
      ASSERT_TRUE(later.has_value()) << row.remove;
      ASSERT_EQ(later->statements.size(), 1u) << row.remove;
      const std::vector<Removal> removals =
          removals_of(later->statements[0], row.remove, later->dialect);
      ASSERT_FALSE(removals.empty()) << row.remove;
      EXPECT_EQ(removals.front().name.name, expected) << to_string(dialect) << ": " << row.remove;
      EXPECT_TRUE(supersedes(removals.front(), change))
          << to_string(dialect) << ": " << row.remove << " after " << row.make;
    }
  }
}

}  // namespace
}  // namespace dbmig::sql
