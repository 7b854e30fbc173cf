#include "sql/step_lint.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/text.h"
#include "support/corpus.h"

namespace dbmig::sql {
namespace {

constexpr Dialect pg = Dialect::postgres;
constexpr Dialect crdb = Dialect::cockroach;

std::string dump(const StepAnalysis& step, std::string_view source) {
  std::string out;
  for (const Finding& f : step.findings) {
    const TextPosition at = position_at(source, f.offset);
    out += std::to_string(at.line) + ":" + std::to_string(at.column) +
           (f.severity == Severity::error ? " error: " : " warning: ") + f.message + " | " +
           f.hint + "\n";
  }
  return out;
}

StepAnalysis analyze(std::string_view sql, StepRules rules) {
  auto step = analyze_step(sql, rules);
  EXPECT_TRUE(step.has_value()) << sql;
  return step ? *step : StepAnalysis{};
}

// ---- steps that must pass ------------------------------------------------

struct GoodRow {
  std::string_view sql;
  StepRules rules;
  bool transactional;
  int ddl_count;
  std::size_t changes;
};

const GoodRow kGoodRows[] = {
    {"CREATE TABLE t (a int);", {pg}, true, 1, 0},
    {"CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);", {pg}, false, 1, 1},
    {"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0), VALIDATE CONSTRAINT d;", {pg}, true, 1, 2},
    {"INSERT INTO t VALUES (1); UPDATE t SET a = 2;", {pg}, true, 0, 0},
    {"SET LOCAL lock_timeout = '1s'; CREATE INDEX i ON t (a);", {pg}, true, 1, 1},
    {"CREATE TABLE a (x int); CREATE TABLE b (x int);", {pg, false, true}, true, 2, 0},
    {"CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\n"
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS j ON t (b);",
     {pg, true, true},
     false,
     2,
     2},
    {"CREATE INDEX IF NOT EXISTS i ON t (a) STORING (b);", {crdb}, false, 1, 1},
    {"UPSERT INTO t VALUES (1);", {crdb}, true, 0, 0},
    {"SET CLUSTER SETTING kv.rangefeed.enabled = true;", {crdb}, false, 0, 0},
    {"CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; SELECT 2; END;", {pg}, true, 1, 0},
    {"-- only the table\nCREATE TABLE t (a int)  -- no semicolon", {pg}, true, 1, 0},
};

TEST(AnalyzeStep, AcceptsValidSteps) {
  for (const GoodRow& row : kGoodRows) {
    SCOPED_TRACE(row.sql);
    const StepAnalysis step = analyze(row.sql, row.rules);
    EXPECT_EQ(step.transactional, row.transactional);
    EXPECT_EQ(step.ddl_count, row.ddl_count);
    EXPECT_EQ(step.changes.size(), row.changes);
    EXPECT_EQ(step.classifications.size(), step.statements.size());
    for (const Finding& f : step.findings) {
      EXPECT_NE(f.severity, Severity::error) << dump(step, row.sql);
    }
  }
}

// ---- findings: errors and warnings with their positions -------------------

struct FindingRow {
  std::string_view sql;
  StepRules rules;
  Severity severity;
  std::string_view text;  // substring of "message | hint"
  int line;
  int column;
};

constexpr Severity error = Severity::error;
constexpr Severity warning = Severity::warning;

const FindingRow kFindingRows[] = {
    {"", {pg}, error, "empty step", 1, 1},
    {"  \n\t\r\n", {pg}, error, "empty step", 1, 1},
    {"  -- nothing here\n", {pg}, warning, "only comments: it is a no-op step", 1, 1},
    {"/* a /* nested */ note */\n-- and another\n", {crdb}, warning, "no-op step", 1, 1},
    {"BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;", {pg}, error, "BEGIN is transaction control", 1, 1},
    {"BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;",
     {pg},
     error,
     "dbmig runs each step in its own transaction",
     3,
     1},
    {"START TRANSACTION; SELECT 1;", {pg}, error, "START TRANSACTION is transaction control", 1, 1},
    {"SELECT 1;\n  SAVEPOINT s;", {pg}, error, "SAVEPOINT", 2, 3},
    {"CREATE TABLE a (x int);\nCREATE TABLE b (x int);\nCREATE TABLE c (x int);",
     {pg},
     error,
     "step has 3 DDL statements",
     2,
     1},
    {"CREATE TABLE a (x int);\nCREATE TABLE b (x int);",
     {pg},
     error,
     "split the step into up1.sql",
     2,
     1},
    {"CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);",
     {pg},
     warning,
     "mixes DDL with DML",
     1,
     1},
    {"SELECT 1;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);",
     {pg},
     error,
     "cannot run inside a transaction block",
     2,
     1},
    {"SELECT 1;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);",
     {pg},
     error,
     "-danger-non-transactional",
     2,
     1},
    {"UPDATE t SET a = 1;\nCOMMIT;", {pg, true}, error, "COMMIT is transaction control", 2, 1},
    {"VACUUM t; ANALYZE t;", {pg}, error, "VACUUM cannot run inside a transaction block", 1, 1},
    {"SET CLUSTER SETTING a = 1; SELECT 1;", {crdb}, error, "SET CLUSTER SETTING cannot run", 1, 1},
    {"DO $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$;", {pg}, warning, "DO contains COMMIT", 1, 1},
    {"CALL p(); COMMIT;", {pg}, error, "COMMIT is transaction control", 1, 11},
    {"CREATE INDEX CONCURRENTLY i ON t (a);",
     {pg},
     warning,
     "CREATE INDEX without IF NOT EXISTS",
     1,
     1},
    {"ALTER TABLE t ADD COLUMN a INT;", {crdb}, warning, "ADD COLUMN without IF NOT EXISTS", 1, 15},
    {"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
     {crdb},
     warning,
     "ADD CONSTRAINT without IF NOT EXISTS",
     1,
     15},
    {"ALTER TABLE t ADD COLUMN a INT;",
     {pg, true},
     warning,
     "ADD COLUMN without IF NOT EXISTS",
     1,
     15},
    {"SELECT 1;\nCREATE INDEX i ON t (a) STORING (b);", {pg}, error, "STORING", 2, 25},
    {"SELECT 1;\n\nVACUUM t;", {crdb}, error, "VACUUM is PostgreSQL-only", 3, 1},
    {"CREATE INDEX ON t (a);", {pg}, warning, "t_a_idx", 1, 1},
    {"CREATE TABLE t (a int);\n\\connect other\n",
     {pg},
     error,
     "psql meta-command \\connect",
     2,
     1},
    {"\\i other.sql\n", {pg}, error, "psql meta-command \\i in a step", 1, 1},
    {"SELECT 1 AS a \\gset\n", {pg}, error, "psql meta-command \\gset", 1, 15},
    {"SELECT 1;\n\\", {pg}, error, "without psql", 2, 1},
    {"CREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n", {pg}, error, "COPY ... FROM STDIN", 2, 1},
    {"COPY t FROM STDIN WITH (FORMAT csv);", {pg}, error, "INSERT ... VALUES", 1, 1},
    {"/* c */ copy public.t from Stdin;", {crdb}, error, "COPY ... FROM STDIN", 1, 9},
};

TEST(AnalyzeStep, ReportsRuleViolationsAtTheirPosition) {
  for (const FindingRow& row : kFindingRows) {
    SCOPED_TRACE(testing::Message() << to_string(row.rules.dialect) << ": " << row.sql);
    const StepAnalysis step = analyze(row.sql, row.rules);
    bool found = false;
    for (const Finding& f : step.findings) {
      if (f.severity != row.severity) continue;
      if ((f.message + " | " + f.hint).find(row.text) == std::string::npos) continue;
      const TextPosition at = position_at(row.sql, f.offset);
      if (at.line == row.line && at.column == row.column) found = true;
    }
    EXPECT_TRUE(found) << "findings:\n" << dump(step, row.sql);
  }
}

// Warnings that must NOT appear.
const std::pair<std::string_view, StepRules> kQuietRows[] = {
    // A transactional step re-runs cleanly: no idempotency warning.
    {"CREATE INDEX i ON t (a);", {pg}},
    {"ALTER TABLE t ADD COLUMN a int;", {pg}},
    // PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS: nothing to suggest.
    {"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);", {pg, true}},
    // A step marked non-transactional may hold several statements.
    {"CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\nANALYZE t;", {pg, true}},
    // DO with COMMIT in a non-transactional step is fine.
    {"DO $$ BEGIN COMMIT; END $$;", {pg, true}},
    // Backslashes and STDIN inside strings, names, comments and dollar quotes.
    {"SELECT '\\connect x', E'\\\\i', $$\\gset$$, \"a\\b\"; -- \\c db\n/* \\i f */", {pg}},
    {"COPY t TO '/tmp/stdin'; SELECT 'COPY t FROM STDIN';", {pg}},
    {"COPY t FROM '/srv/data.csv';", {pg}},
};

TEST(AnalyzeStep, StaysQuietWhereNoRuleApplies) {
  for (const auto& [sql, rules] : kQuietRows) {
    SCOPED_TRACE(sql);
    const StepAnalysis step = analyze(sql, rules);
    EXPECT_TRUE(step.findings.empty()) << dump(step, sql);
  }
}

TEST(AnalyzeStep, OrdersFindingsByOffset) {
  const std::string_view sql =
      "CREATE INDEX ON t (a);\nBEGIN;\nCREATE TABLE u (a int);\nINSERT INTO u VALUES (1);";
  const StepAnalysis step = analyze(sql, {pg});
  ASSERT_GE(step.findings.size(), 3u) << dump(step, sql);
  for (std::size_t i = 1; i < step.findings.size(); ++i) {
    EXPECT_LE(step.findings[i - 1].offset, step.findings[i].offset) << dump(step, sql);
  }
}

TEST(AnalyzeStep, CockroachStepWithDdlRunsNonTransactionally) {
  EXPECT_FALSE(analyze("CREATE TABLE t (a INT);", {crdb}).transactional);
  EXPECT_TRUE(analyze("INSERT INTO t VALUES (1);", {crdb}).transactional);
  EXPECT_FALSE(analyze("INSERT INTO t VALUES (1);", {crdb, true}).transactional);
}

TEST(AnalyzeStep, NamesCopyFromStdinWhenItsInlineDataDoesNotLex) {
  const std::string_view sql = "CREATE TABLE t (a text);\nCOPY t FROM stdin;\nit's\n\\.\n";
  auto step = analyze_step(sql, {pg});
  ASSERT_FALSE(step.has_value());
  EXPECT_NE(step.error().message.find("COPY ... FROM STDIN"), std::string::npos)
      << step.error().message;
  EXPECT_EQ(step.error().line, 2);
  EXPECT_EQ(step.error().column, 1);
}

TEST(AnalyzeStep, FailsOnLexicalError) {
  auto step = analyze_step("SELECT 'abc", {pg});
  ASSERT_FALSE(step.has_value());
  EXPECT_EQ(step.error().offset, 7u);
}

// ---- the real CockroachDB corpus ---------------------------------------------

struct CorpusStep {
  std::filesystem::path path;
  bool marked = false;
  bool multi_ddl_allowed = false;
};

// Step files of one version directory, ordered by their number.
std::vector<CorpusStep> version_steps(const std::filesystem::path& dir, bool multi_ddl) {
  static const std::regex step_name(R"(up(\d*)(-danger-non-transactional)?\.sql)");
  std::map<int, CorpusStep> by_number;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, step_name)) continue;
    const int number = m[1].length() == 0 ? 0 : std::stoi(m[1].str());
    by_number[number] = {entry.path(), m[2].matched, multi_ddl};
  }
  std::vector<CorpusStep> steps;
  for (auto& [number, step] : by_number) steps.push_back(step);
  return steps;
}

std::vector<CorpusStep> corpus_steps(const std::filesystem::path& root) {
  const auto config = nlohmann::json::parse(*read_file((root / "dbmig.json").string()));
  const std::string last_multi = config.value("multi_ddl_allowed_through", "");
  bool multi = !last_multi.empty();
  std::vector<CorpusStep> steps;
  for (const auto& version : config.at("versions")) {
    const std::string name = version.get<std::string>();
    for (auto& step : version_steps(root / name, multi)) steps.push_back(step);
    if (name == last_multi) multi = false;
  }
  return steps;
}

TEST(AnalyzeStep, OmicronCorpusHasNoErrorsOnCockroach) {
  DBMIG_REQUIRE_CORPUS(root, "omicron-crdb");
  ASSERT_TRUE(std::filesystem::exists(root / "dbmig.json")) << root;
  const auto steps = corpus_steps(root);
  std::size_t statements = 0;
  std::size_t warnings = 0;
  std::size_t non_transactional = 0;
  std::map<ChangeKind, std::size_t> changes;
  for (const CorpusStep& file : steps) {
    const auto source = read_file(file.path.string());
    ASSERT_TRUE(source.has_value()) << file.path;
    auto step = analyze_step(*source, {crdb, file.marked, file.multi_ddl_allowed});
    ASSERT_TRUE(step.has_value()) << file.path << ": " << step.error().message;
    statements += step->statements.size();
    if (!step->transactional) ++non_transactional;
    for (const Change& change : step->changes) ++changes[change.kind];
    for (const Finding& f : step->findings) {
      if (f.severity == Severity::warning) ++warnings;
      const TextPosition at = position_at(*source, f.offset);
      EXPECT_NE(f.severity, Severity::error)
          << file.path.string() << ":" << at.line << ":" << at.column << ": " << f.message;
    }
  }
  std::printf(
      "omicron corpus: %zu steps, %zu statements, %zu non-transactional steps, changes: "
      "create_index %zu, add_constraint %zu, validate_constraint %zu; %zu warnings\n",
      steps.size(), statements, non_transactional, changes[ChangeKind::create_index],
      changes[ChangeKind::add_constraint], changes[ChangeKind::validate_constraint], warnings);
  // Observed: 664 steps, 782 statements, 597 non-transactional steps, 130
  // create_index and 53 add_constraint changes, 18 warnings.
  EXPECT_GE(steps.size(), 600u);
  EXPECT_GE(statements, 700u);
  EXPECT_GE(non_transactional, 500u);
  EXPECT_GE(changes[ChangeKind::create_index], 120u);
  EXPECT_GE(changes[ChangeKind::add_constraint], 40u);
}

}  // namespace
}  // namespace dbmig::sql
