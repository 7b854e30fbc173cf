#include "migration/lint.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "migration/directory.h"
#include "migration/plan.h"
#include "support/file_tree.h"
#include "support/process.h"

namespace dbmig::migration {
namespace {

using test::FileRow;
using test::TempTree;

// "<version>/<file>:<line>:<col> <rule>" for each diagnostic, root removed.
std::vector<std::string> summary(const TempTree& tree, const std::vector<Diagnostic>& found) {
  std::vector<std::string> out;
  const std::string root = tree.root().string() + "/";
  for (const Diagnostic& d : found) {
    const std::string file = d.file.starts_with(root) ? d.file.substr(root.size()) : d.file;
    out.push_back(file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + " " +
                  d.rule);
  }
  return out;
}

const std::vector<FileRow> kHistory = {
    {"1-t/up.sql", "CREATE TABLE t (a int, b text);"},
    {"2-index/up.sql", "CREATE INDEX t_a ON t (a);"},
    {"3-rename/up.sql", "ALTER TABLE t RENAME COLUMN b TO c;"},
    {"4-unnamed/up.sql", "CREATE INDEX CONCURRENTLY ON t (a);"},
};

TEST(LintPlan, ReportsLockAndStepRulesInHistoryOrder) {
  const TempTree tree(kHistory);
  const auto plan = build_plan(tree.root(), {});
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(summary(tree, lint_plan(*plan)),
            (std::vector<std::string>{"2-index/up.sql:1:1 require-concurrent-index-creation",
                                      "3-rename/up.sql:1:1 renaming-column",
                                      "4-unnamed/up.sql:1:1 unnamed-index"}));
  ASSERT_EQ(plan->warnings.size(), 1u) << "lock rules are not step warnings";
  EXPECT_EQ(plan->warnings[0].rule, "unnamed-index");
  EXPECT_EQ(plan->versions[3].steps[0].warnings.size(), 1u);
}

TEST(LintPlan, DbmigJsonAllowSilencesRulesPerVersion) {
  std::vector<FileRow> files = kHistory;
  files.push_back(
      {"dbmig.json", R"({"lint": {"allow": {"2-index": ["require-concurrent-index-creation"],
                                       "4": ["unnamed-index"]}}})"});
  const TempTree tree(files);
  const auto plan = build_plan(tree.root(), {});
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(summary(tree, lint_plan(*plan)),
            std::vector<std::string>{"3-rename/up.sql:1:1 renaming-column"});
  EXPECT_TRUE(plan->versions[3].steps[0].warnings.empty()) << "apply would not print it either";
}

TEST(LintPlan, AllowCommentsSilenceStepRulesTooAndUnknownNamesAreReported) {
  const TempTree tree({
      {"1-a/up.sql", "-- dbmig:allow unnamed-index\nCREATE INDEX CONCURRENTLY ON t (a);"},
      {"2-b/up.sql", "-- dbmig:allow unamed-index\nCREATE INDEX CONCURRENTLY ON t (a);"},
  });
  const auto plan = build_plan(tree.root(), {});
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(summary(tree, lint_plan(*plan)),
            (std::vector<std::string>{"2-b/up.sql:1:1 ", "2-b/up.sql:2:1 unnamed-index"}));
}

struct BadSettingsRow {
  std::string label;
  std::string json;
  std::string message;
  int line;
  int column;
};

TEST(LintPlan, BadLintSettingsAreErrorsAtTheirPosition) {
  const BadSettingsRow rows[] = {
      {"unknown rule", "{\"lint\": {\"allow\": {\"1-a\":\n [\"renaming-colum\"]}}}",
       "unknown lint rule \"renaming-colum\"", 2, 3},
      {"unknown version", "{\"lint\": {\"allow\": {\n\"9-z\": [\"renaming-column\"]}}}",
       "\"lint.allow\" names unknown version \"9-z\"", 2, 1},
      {"squawk rule dbmig does not have",
       "{\"lint\": {\"allow\": {\"1-a\": [\"require-lock-timeout\"]}}}",
       "unknown lint rule \"require-lock-timeout\"", 1, 29},
      {"lint not an object", "{\"lint\": []}", "\"lint\" must be an object", 1, 2},
      {"unknown key in lint", "{\"lint\": {\"deny\": {}}}", "unknown key \"deny\" in \"lint\"", 1,
       11},
      {"rules not an array", "{\"lint\": {\"allow\": {\"1-a\": \"renaming-column\"}}}",
       "must be an array of rule names", 1, 21},
  };
  for (const BadSettingsRow& row : rows) {
    const TempTree tree({{"dbmig.json", row.json}, {"1-a/up.sql", "SELECT 1;"}});
    const auto dir = load_directory(tree.root());
    ASSERT_FALSE(dir.has_value()) << row.label;
    ASSERT_EQ(dir.error().size(), 1u) << row.label << ": " << dir.error()[0].format();
    const Diagnostic& d = dir.error()[0];
    EXPECT_NE(d.message.find(row.message), std::string::npos) << row.label << ": " << d.format();
    EXPECT_EQ(d.severity, Severity::error) << row.label;
    EXPECT_EQ(d.line, row.line) << row.label << ": " << d.format();
    EXPECT_EQ(d.column, row.column) << row.label << ": " << d.format();
  }
}

test::ProcessResult run_dbmig(const std::vector<std::string>& args) {
  test::ProcessOptions options;
  options.argv = {DBMIG_EXECUTABLE};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.unset_env = {"DBMIG_DIR", "DATABASE_URL"};
  return test::Process::spawn(options).wait(std::chrono::minutes(1));
}

TEST(LintCommand, ExitsThreeWithPositionsRulesAndHints) {
  const TempTree tree(kHistory);
  const auto result = run_dbmig({"lint", "--dir", tree.root().string()});
  EXPECT_EQ(result.exit_code, 3) << result.describe();
  const std::string file = (tree.root() / "3-rename/up.sql").string();
  EXPECT_NE(result.err.find(file + ":1:1: warning: renaming a column breaks running code that "
                                   "still uses the old name [renaming-column]\n  hint: "),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.out.find("3 warning(s)"), std::string::npos) << result.out;
}

TEST(LintCommand, ExitsZeroWhenCleanAndTwoForAnInvalidDirectory) {
  const TempTree clean(std::vector<FileRow>{{"1-t/up.sql", "CREATE TABLE t (a int);"}});
  const auto ok = run_dbmig({"lint", "--dir", clean.root().string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.describe();
  EXPECT_EQ(ok.err, "");
  const TempTree bad(std::vector<FileRow>{{"1-t/up.sql", "BEGIN;"}});
  const auto invalid = run_dbmig({"lint", "--dir", bad.root().string()});
  EXPECT_EQ(invalid.exit_code, 2) << invalid.describe();
  EXPECT_NE(invalid.err.find("[transaction-control]"), std::string::npos) << invalid.err;
  const auto missing = run_dbmig({"lint", "--dir", (clean.root() / "nope").string()});
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
}

TEST(LintCommand, JsonIsOneDocumentWithARuleOnEveryDiagnostic) {
  const TempTree tree(kHistory);
  const auto result = run_dbmig({"lint", "--json", "--dir", tree.root().string()});
  EXPECT_EQ(result.exit_code, 3) << result.describe();
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document["command"], "lint");
  EXPECT_EQ(document["exit_code"], 3);
  EXPECT_EQ(document["warnings"], 3);
  EXPECT_EQ(document["rules"]["renaming-column"], 1);
  ASSERT_EQ(document["diagnostics"].size(), 3u);
  for (const auto& d : document["diagnostics"]) {
    EXPECT_EQ(d["severity"], "warning");
    EXPECT_TRUE(d["rule"].is_string()) << d.dump();
    EXPECT_GT(d["line"].get<int>(), 0);
  }
}

TEST(LintCommand, StatusAndGenerateVerifyNoLongerRepeatStepWarnings) {
  const TempTree tree(std::vector<FileRow>{{"1-t/up.sql", "CREATE INDEX CONCURRENTLY ON t (a);"}});
  const auto result = run_dbmig({"generate-verify", "--check", "--dir", tree.root().string()});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.err.find("unnamed-index"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace dbmig::migration
