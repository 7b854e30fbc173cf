#include "sql/lint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "sql/lint_rules.h"

namespace dbmig::sql {
namespace {

constexpr Dialect pg = Dialect::postgres;
constexpr Dialect crdb = Dialect::cockroach;

// The table every history below starts from (step 0), so that later steps
// work on an existing table.
constexpr std::string_view kTable =
    "CREATE TABLE t (id int, a int, b text, name varchar(20), price numeric(10,2));";

// One history (steps, oldest first) and the lock warnings lint must give:
// "<step index> <line>:<col> <rule>", after allow comments.
struct Row {
  std::string what;  // positive, negative, exempt or suppressed case of `rule`
  std::string_view rule;
  Dialect dialect;
  std::vector<std::string> steps;
  std::vector<std::string> expected;
};

std::vector<std::string> lint_history(const std::vector<std::string>& steps, Dialect dialect) {
  std::vector<std::string> out;
  HistoryLinter linter(dialect);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto step = analyze_step(steps[i], {dialect, false, true});
    EXPECT_TRUE(step.has_value()) << steps[i];
    if (!step) continue;
    const auto findings =
        without_allowed(steps[i], step->statements, linter.lint_step(steps[i], *step));
    for (const Finding& finding : findings) {
      EXPECT_EQ(finding.severity, Severity::warning);
      EXPECT_FALSE(finding.message.empty());
      EXPECT_FALSE(finding.hint.empty()) << finding.rule;
      const TextPosition at = position_at(steps[i], finding.offset);
      out.push_back(std::to_string(i) + " " + std::to_string(at.line) + ":" +
                    std::to_string(at.column) + " " + finding.rule);
    }
  }
  return out;
}

std::vector<std::string> with_table(std::vector<std::string> steps) {
  steps.insert(steps.begin(), std::string(kTable));
  return steps;
}

std::string allow(std::string_view rule, std::string_view statement) {
  return "-- dbmig:allow " + std::string(rule) + "\n" + std::string(statement);
}

// A rule's four cases: `statement` on the existing table t warns at `at`
// ("line:col" of step 1), `safe` does not, `statement` after CREATE TABLE of
// the same table in the same step (and `exempt_setup`) is exempt, and an
// allow comment silences it.
std::vector<Row> four_cases(std::string_view rule, const std::string& statement,
                            const std::string& at, const std::string& safe,
                            const std::string& exempt_setup = "") {
  const std::string name(rule);
  const std::string exempt_step =
      "CREATE TABLE t (id int, a int, b text, name varchar(20));\n" + exempt_setup + statement;
  return {
      {"positive", rule, pg, with_table({statement}), {"1 " + at + " " + name}},
      {"negative", rule, pg, with_table({safe}), {}},
      {"exempt", rule, pg, {exempt_step}, {}},
      {"suppressed", rule, pg, with_table({allow(rule, statement)}), {}},
  };
}

std::vector<Row> rows() {
  using namespace std::string_literals;
  std::vector<Row> all;
  const auto add = [&all](std::vector<Row> more) {
    all.insert(all.end(), more.begin(), more.end());
  };
  add(four_cases(rule::require_concurrent_index_creation, "CREATE INDEX i ON t (a);", "1:1",
                 "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);"));
  add(four_cases(rule::require_concurrent_index_deletion, "DROP INDEX t_a_idx;", "1:1",
                 "DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;", "CREATE INDEX t_a_idx ON t (a);\n"));
  add(four_cases(rule::require_concurrent_reindex, "REINDEX TABLE t;", "1:1",
                 "REINDEX INDEX CONCURRENTLY t_a_idx;"));
  add(four_cases(rule::constraint_missing_not_valid,
                 "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);", "1:19",
                 "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;"));
  add(four_cases(rule::adding_foreign_key_constraint,
                 "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES t (id);", "1:19",
                 "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES t (id) NOT VALID;"));
  add(four_cases(rule::changing_column_type, "ALTER TABLE t ALTER COLUMN a TYPE bigint;", "1:28",
                 "ALTER TABLE t ALTER COLUMN name TYPE varchar(40);"));
  add(four_cases(rule::adding_field_with_default,
                 "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();", "1:26",
                 "ALTER TABLE t ADD COLUMN u timestamptz DEFAULT now();"));
  add(four_cases(rule::adding_not_nullable_field, "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
                 "1:1", "ALTER TABLE t ALTER COLUMN a DROP NOT NULL;"));
  add(four_cases(rule::adding_required_field, "ALTER TABLE t ADD COLUMN e int NOT NULL;", "1:26",
                 "ALTER TABLE t ADD COLUMN e int NOT NULL DEFAULT 0;"));
  add(four_cases(rule::disallowed_unique_constraint, "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a);",
                 "1:19", "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX k_idx;"));
  add(four_cases(rule::adding_serial_primary_key_field,
                 "ALTER TABLE t ADD COLUMN sid serial PRIMARY KEY;", "1:26",
                 "ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_idx;"));
  add(four_cases(rule::renaming_column, "ALTER TABLE t RENAME COLUMN a TO a2;", "1:1",
                 "ALTER TABLE t RENAME CONSTRAINT c TO c2;"));
  add(four_cases(rule::renaming_table, "ALTER TABLE t RENAME TO t2;", "1:1",
                 "ALTER INDEX t_a_idx RENAME TO t_a_idx2;"));

  const auto row = [&all](std::string what, std::string_view rule, Dialect dialect,
                          std::vector<std::string> steps, std::vector<std::string> expected) {
    all.push_back({std::move(what), rule, dialect, std::move(steps), std::move(expected)});
  };
  // Exemption holds within a step only: steps commit separately.
  row("exempt only in the same step", rule::require_concurrent_index_creation, pg,
      {"CREATE TABLE u (a int);", "CREATE INDEX i ON u (a);"},
      {"1 1:1 require-concurrent-index-creation"});
  row("ON ONLY a partitioned parent is catalog only", rule::require_concurrent_index_creation, pg,
      with_table({"CREATE INDEX i ON ONLY t (a);"}), {});
  row("an allow comment for another rule silences nothing", rule::require_concurrent_index_creation,
      pg, with_table({allow(rule::renaming_column, "CREATE INDEX i ON t (a);")}),
      {"1 2:1 require-concurrent-index-creation"});
  row("an allow comment two lines up silences nothing", rule::require_concurrent_index_creation, pg,
      with_table({"-- dbmig:allow require-concurrent-index-creation\n\nCREATE INDEX i ON t (a);"}),
      {"1 3:1 require-concurrent-index-creation"});
  row("an allow comment names several rules", rule::adding_required_field, pg,
      with_table({"-- dbmig:allow renaming-column, adding-required-field\n"
                  "ALTER TABLE t ADD COLUMN e int NOT NULL;"}),
      {});
  row("the grammar rejects STORING: the classifier's index",
      rule::require_concurrent_index_creation, pg,
      with_table({"CREATE INDEX i ON t (a) STORING (b);"}),
      {"1 1:1 require-concurrent-index-creation"});
  row("DROP INDEX of an index created on a new table", rule::require_concurrent_index_deletion, pg,
      {"CREATE TABLE u (a int);\nCREATE INDEX j ON u (a);\nDROP INDEX j;"}, {});
  row("REINDEX INDEX", rule::require_concurrent_reindex, pg, with_table({"REINDEX INDEX t_a_idx;"}),
      {"1 1:1 require-concurrent-reindex"});
  row("VALIDATE in the same step as its ADD ... NOT VALID", rule::constraint_missing_not_valid, pg,
      with_table({"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
                  "ALTER TABLE t VALIDATE CONSTRAINT c;"}),
      {"1 2:1 constraint-missing-not-valid"});
  row("VALIDATE in a later step", rule::constraint_missing_not_valid, pg,
      with_table({"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
                  "ALTER TABLE t VALIDATE CONSTRAINT c;"}),
      {});
  row("REFERENCES on a new column", rule::adding_foreign_key_constraint, pg,
      with_table({"ALTER TABLE t ADD COLUMN r int REFERENCES t (id);"}),
      {"1 1:32 adding-foreign-key-constraint"});
  row("varchar -> text is free", rule::changing_column_type, pg,
      with_table({"ALTER TABLE t ALTER COLUMN name TYPE text;"}), {});
  row("varchar narrowing rewrites", rule::changing_column_type, pg,
      with_table({"ALTER TABLE t ALTER COLUMN name TYPE varchar(10);"}),
      {"1 1:28 changing-column-type"});
  row("numeric precision up, same scale, is free", rule::changing_column_type, pg,
      with_table({"ALTER TABLE t ALTER COLUMN price TYPE numeric(12,2);"}), {});
  row("numeric scale change rewrites", rule::changing_column_type, pg,
      with_table({"ALTER TABLE t ALTER COLUMN price TYPE numeric(12,3);"}),
      {"1 1:28 changing-column-type"});
  row("a USING clause rewrites", rule::changing_column_type, pg,
      with_table({"ALTER TABLE t ALTER COLUMN name TYPE varchar(40) USING upper(name);"}),
      {"1 1:28 changing-column-type"});
  row("widening is judged against the type an earlier step set", rule::changing_column_type, pg,
      with_table({"ALTER TABLE t ALTER COLUMN name TYPE varchar(40);",
                  "ALTER TABLE t ALTER COLUMN name TYPE varchar(30);"}),
      {"2 1:28 changing-column-type"});
  row("a column whose type the history does not show", rule::changing_column_type, pg,
      {"ALTER TABLE elsewhere ALTER COLUMN c TYPE text;"}, {"0 1:36 changing-column-type"});
  for (const std::string& constant :
       {"0"s, "'x'::text"s, "current_timestamp"s, "now()"s, "ARRAY[1, 2]"s, "-1"s}) {
    row("non-volatile DEFAULT " + constant, rule::adding_field_with_default, pg,
        with_table({"ALTER TABLE t ADD COLUMN d int DEFAULT " + constant + ";"}), {});
  }
  for (const std::string& volatile_default :
       {"clock_timestamp()"s, "random()"s, "nextval('s')"s, "my_function()"s}) {
    row("volatile DEFAULT", rule::adding_field_with_default, pg,
        with_table({"ALTER TABLE t ADD COLUMN d int DEFAULT " + volatile_default + ";"}),
        {"1 1:26 adding-field-with-default"});
  }
  row("a serial column without a key", rule::adding_field_with_default, pg,
      with_table({"ALTER TABLE t ADD COLUMN s bigserial;"}), {"1 1:26 adding-field-with-default"});
  row("a stored generated column", rule::adding_field_with_default, pg,
      with_table({"ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED;"}),
      {"1 1:26 adding-field-with-default"});
  row("SET NOT NULL after a CHECK validated in an earlier version", rule::adding_not_nullable_field,
      pg,
      with_table({"ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;",
                  "ALTER TABLE t VALIDATE CONSTRAINT a_nn;",
                  "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"}),
      {});
  row("SET NOT NULL after a CHECK that was never validated", rule::adding_not_nullable_field, pg,
      with_table({"ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;",
                  "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"}),
      {"2 1:1 adding-not-nullable-field"});
  row("SET NOT NULL after a check of another column", rule::adding_not_nullable_field, pg,
      with_table({"ALTER TABLE t ADD CONSTRAINT b_nn CHECK (b IS NOT NULL) NOT VALID;",
                  "ALTER TABLE t VALIDATE CONSTRAINT b_nn;",
                  "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"}),
      {"3 1:1 adding-not-nullable-field"});
  row("a nullable column is not required", rule::adding_required_field, pg,
      with_table({"ALTER TABLE t ADD COLUMN e int;"}), {});
  row("a generated NOT NULL column is not required", rule::adding_required_field, pg,
      with_table({"ALTER TABLE t ADD COLUMN e int NOT NULL GENERATED ALWAYS AS IDENTITY;"}),
      {"1 1:26 adding-field-with-default"});
  row("a UNIQUE column", rule::disallowed_unique_constraint, pg,
      with_table({"ALTER TABLE t ADD COLUMN z int UNIQUE;"}),
      {"1 1:32 disallowed-unique-constraint"});
  row("ADD PRIMARY KEY without USING INDEX", rule::adding_serial_primary_key_field, pg,
      with_table({"ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id);"}),
      {"1 1:19 adding-serial-primary-key-field"});

  // CockroachDB: schema changes run online; only what breaks running code.
  row("CockroachDB builds indexes online", rule::require_concurrent_index_creation, crdb,
      with_table({"CREATE INDEX i ON t (a) STORING (b);"}), {});
  row("CockroachDB validates constraints online", rule::constraint_missing_not_valid, crdb,
      with_table({"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);"}), {});
  row("CockroachDB backfills a new default online", rule::adding_field_with_default, crdb,
      with_table({"ALTER TABLE t ADD COLUMN u UUID DEFAULT gen_random_uuid();"}), {});
  row("CockroachDB: a rename still breaks running code", rule::renaming_column, crdb,
      with_table({"ALTER TABLE t RENAME COLUMN a TO a2;"}), {"1 1:1 renaming-column"});
  row("CockroachDB: a table rename too", rule::renaming_table, crdb,
      with_table({"ALTER TABLE t RENAME TO t2;"}), {"1 1:1 renaming-table"});
  row("CockroachDB: a required column fails on rows", rule::adding_required_field, crdb,
      with_table({"ALTER TABLE t ADD COLUMN e INT8 NOT NULL;"}), {"1 1:26 adding-required-field"});
  row("CockroachDB-only syntax falls back to tokens", rule::adding_required_field, crdb,
      with_table({"ALTER TABLE t ADD COLUMN e INT8 NOT NULL FAMILY f1, RENAME COLUMN b TO b2;"}),
      {"1 1:1 adding-required-field", "1 1:1 renaming-column"});
  row("CockroachDB-only syntax: a rename on a new table", rule::renaming_column, crdb,
      {"CREATE TABLE u (a INT8) ;\nALTER TABLE u RENAME COLUMN a TO a2, ADD COLUMN x INT8 FAMILY "
       "f;"},
      {});
  return all;
}

TEST(Lint, EveryRuleWithItsPositiveNegativeExemptAndSuppressedCases) {
  for (const Row& row : rows()) {
    EXPECT_EQ(lint_history(row.steps, row.dialect), row.expected)
        << row.rule << ": " << row.what << "\n"
        << row.steps.back();
  }
}

TEST(Lint, EveryLockRuleHasCasesAndIsKnown) {
  const std::vector<Row> all = rows();
  for (const RuleInfo& info : all_rules()) {
    EXPECT_TRUE(is_known_rule(info.name));
    if (info.kind != RuleKind::lock) continue;
    const auto cases = std::count_if(all.begin(), all.end(), [&](const Row& row) {
      return row.rule == info.name && !row.expected.empty();
    });
    EXPECT_GE(cases, 1) << info.name << " has no positive case";
  }
  EXPECT_FALSE(is_known_rule("require-lock-timeout"));
  EXPECT_FALSE(is_known_rule(""));
}

TEST(Lint, OneWarningPerRuleAndStatement) {
  EXPECT_EQ(lint_history(with_table({"ALTER TABLE t ADD CONSTRAINT c1 CHECK (a > 0), "
                                     "ADD CONSTRAINT c2 CHECK (a < 9);"}),
                         pg),
            std::vector<std::string>{"1 1:19 constraint-missing-not-valid"});
}

TEST(Lint, AllowCommentsNamingUnknownRulesAreReported) {
  const std::string source = "-- dbmig:allow renaming-colum\nALTER TABLE t RENAME COLUMN a TO b;";
  auto step = analyze_step(source, {pg, false, false});
  ASSERT_TRUE(step.has_value());
  const auto unknown = unknown_allowed_rules(source, step->statements);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].offset, 0u);
  EXPECT_NE(unknown[0].message.find("renaming-colum"), std::string::npos);
  EXPECT_EQ(allowed_rules(source, step->statements, 0), (std::set<std::string>{"renaming-colum"}));
}

TEST(Lint, ErrorsAreNeverSilenced) {
  const std::string source = "-- dbmig:allow transaction-control\nBEGIN;";
  auto step = analyze_step(source, {pg, false, false});
  ASSERT_TRUE(step.has_value());
  const auto kept = without_allowed(source, step->statements, step->findings);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].rule, rule::transaction_control);
  EXPECT_EQ(kept[0].severity, Severity::error);
}

TEST(Lint, StepRuleWarningsCarryTheirRuleAndAreSilenced) {
  const std::string source = "CREATE INDEX ON t (a);";
  auto step = analyze_step(source, {pg, false, false});
  ASSERT_TRUE(step.has_value());
  ASSERT_EQ(step->findings.size(), 1u);
  EXPECT_EQ(step->findings[0].rule, rule::unnamed_index);
  const std::string allowed = allow(rule::unnamed_index, source);
  auto silenced = analyze_step(allowed, {pg, false, false});
  ASSERT_TRUE(silenced.has_value());
  EXPECT_TRUE(without_allowed(allowed, silenced->statements, silenced->findings).empty());
}

}  // namespace
}  // namespace dbmig::sql
