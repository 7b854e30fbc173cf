// compare_plan (lib/engine/compare.cpp): the one comparison of a plan with
// the recorded state, without a server.
#include "engine/compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace dbmig::engine {
namespace {

// A numbered plan by hand: "0001-a" (two steps), "0002-b", "0003-c"; each
// step's sha256 is its label ("0001-a/1", ...).
migration::Plan three_versions() {
  migration::Plan plan;
  plan.root = "/migrations";
  const std::vector<std::pair<std::string, int>> versions = {
      {"0001-a", 2}, {"0002-b", 1}, {"0003-c", 1}};
  for (std::size_t v = 0; v < versions.size(); ++v) {
    migration::PlannedVersion version;
    version.name = versions[v].first;
    version.number = static_cast<std::int64_t>(v + 1);
    for (int s = 1; s <= versions[v].second; ++s) {
      migration::PlannedStep step;
      step.file.number = s;
      step.file.file_name = "up" + std::to_string(s) + ".sql";
      step.sha256 = version.name + "/" + std::to_string(s);
      version.steps.push_back(std::move(step));
    }
    plan.version_index.emplace(version.name, v);
    plan.versions.push_back(std::move(version));
  }
  return plan;
}

struct Recorded {
  std::string version;
  int step;
  StepState state;
  std::string sha256 = "";  // "" = the step's sha256 in three_versions()
};

DatabaseState state_of(std::optional<std::string> current, const std::vector<Recorded>& rows) {
  DatabaseState state;
  state.tables_exist = current.has_value() || !rows.empty();
  state.version = std::move(current);
  for (const Recorded& row : rows) {
    StepRecord record;
    record.version = row.version;
    record.step = row.step;
    record.file = "up" + std::to_string(row.step) + ".sql";
    record.sha256 = row.sha256.empty() ? row.version + "/" + std::to_string(row.step) : row.sha256;
    record.state = row.state;
    state.steps.push_back(std::move(record));
  }
  return state;
}

// "<version>/<step number>" of each position, in order.
std::vector<std::string> labels(const migration::Plan& plan,
                                const std::vector<StepPosition>& positions) {
  std::vector<std::string> out;
  for (const StepPosition& position : positions) {
    out.push_back(plan.versions[position.version].name + "/" +
                  std::to_string(plan.versions[position.version].steps[position.step].file.number));
  }
  return out;
}

std::vector<std::string> drift_lines(const PlanComparison& comparison) {
  std::vector<std::string> out;
  for (const DriftedStep& drift : comparison.drifted) out.push_back(describe_drift(drift));
  return out;
}

struct Row {
  std::string label;
  std::optional<std::string> current;
  std::vector<Recorded> recorded;
  std::size_t first_pending;
  std::vector<std::string> pending;
  std::vector<std::string> applied;
  std::vector<std::string> drifted;
  std::vector<std::string> unknown;
  std::string problem;  // substring of unknown_version_problem's message; "" = none
};

constexpr auto kVerified = StepState::verified;
constexpr auto kApplied = StepState::applied;
constexpr auto kFailed = StepState::failed;
constexpr auto kStarted = StepState::started;

const std::vector<Row> kRows = {
    {.label = "empty state: everything pending, nothing applied",
     .current = std::nullopt,
     .recorded = {},
     .first_pending = 0,
     .pending = {"0001-a/1", "0001-a/2", "0002-b/1", "0003-c/1"},
     .applied = {},
     .drifted = {},
     .unknown = {},
     .problem = ""},
    {.label = "everything applied",
     .current = "0003-c",
     .recorded = {{"0003-c", 1, kVerified},
                  {"0001-a", 2, kVerified},
                  {"0002-b", 1, kVerified},
                  {"0001-a", 1, kVerified}},
     .first_pending = 3,
     .pending = {},
     .applied = {"0001-a/1", "0001-a/2", "0002-b/1", "0003-c/1"},
     .drifted = {},
     .unknown = {},
     .problem = ""},
    {.label = "a version half done: its verified step is not pending, the others are",
     .current = std::nullopt,
     .recorded = {{"0001-a", 1, kVerified}, {"0001-a", 2, kFailed}},
     .first_pending = 0,
     .pending = {"0001-a/2", "0002-b/1", "0003-c/1"},
     .applied = {"0001-a/1"},
     .drifted = {},
     .unknown = {},
     .problem = ""},
    {.label = "applied (awaiting its proof) counts as applied and stays pending",
     .current = "0001-a",
     .recorded = {{"0001-a", 1, kVerified},
                  {"0001-a", 2, kVerified},
                  {"0002-b", 1, kApplied},
                  {"0003-c", 1, kStarted}},
     .first_pending = 1,
     .pending = {"0002-b/1", "0003-c/1"},
     .applied = {"0001-a/1", "0001-a/2", "0002-b/1"},
     .drifted = {},
     .unknown = {},
     .problem = ""},
    {.label = "drift: changed files, in plan order whatever the row order; failed rows never drift",
     .current = "0002-b",
     .recorded = {{"0002-b", 1, kVerified, "old-b"},
                  {"0001-a", 2, kVerified, "old-a2"},
                  {"0001-a", 1, kVerified},
                  {"0003-c", 1, kFailed, "old-c"}},
     .first_pending = 2,
     .pending = {"0003-c/1"},
     .applied = {"0001-a/1", "0001-a/2", "0002-b/1"},
     .drifted = {"0001-a/up2.sql changed since it was applied (recorded sha256 old-a2, file "
                 "0001-a/2)",
                 "0002-b/up1.sql changed since it was applied (recorded sha256 old-b, file "
                 "0002-b/1)"},
     .unknown = {},
     .problem = ""},
    {.label = "drift: a step that no longer exists comes after the version's steps",
     .current = "0002-b",
     .recorded = {{"0002-b", 3, kVerified},
                  {"0002-b", 2, kApplied},
                  {"0002-b", 1, kVerified},
                  {"0001-a", 1, kVerified},
                  {"0001-a", 2, kVerified}},
     .first_pending = 2,
     .pending = {"0003-c/1"},
     .applied = {"0001-a/1", "0001-a/2", "0002-b/1"},
     .drifted = {"0002-b/up2.sql was applied but no longer exists",
                 "0002-b/up3.sql was applied but no longer exists"},
     .unknown = {},
     .problem = ""},
    {.label = "unknown current version, newer than the directory",
     .current = "0009-z",
     .recorded = {{"0001-a", 1, kVerified}},
     .first_pending = 0,
     .pending = {"0001-a/2", "0002-b/1", "0003-c/1"},
     .applied = {"0001-a/1"},
     .drifted = {},
     .unknown = {"0009-z"},
     .problem = "the database is newer than the directory: it is at version 0009-z, newer than "
                "the newest version in the directory (0003-c)"},
    {.label = "unknown versions of history rows: each once, current first, then in row order",
     .current = "0001-x",
     .recorded = {{"0002-y", 1, kVerified},
                  {"0001-x", 1, kVerified},
                  {"0002-y", 2, kVerified},
                  {"0000-w", 1, kFailed}},
     .first_pending = 0,
     .pending = {"0001-a/1", "0001-a/2", "0002-b/1", "0003-c/1"},
     .applied = {},
     .drifted = {},
     .unknown = {"0001-x", "0002-y", "0000-w"},
     .problem = "the database is at version 0001-x, which the directory does not contain"},
    {.label = "an unknown version only in the history",
     .current = "0001-a",
     .recorded = {{"0001-a", 1, kVerified}, {"0001-a", 2, kVerified}, {"0002-gone", 1, kFailed}},
     .first_pending = 1,
     .pending = {"0002-b/1", "0003-c/1"},
     .applied = {"0001-a/1", "0001-a/2"},
     .drifted = {},
     .unknown = {"0002-gone"},
     .problem = "the database records a step of version 0002-gone, which the directory does not "
                "contain"},
};

TEST(ComparePlan, SortsEveryRecordedStepIntoItsCategory) {
  const migration::Plan plan = three_versions();
  for (const Row& row : kRows) {
    SCOPED_TRACE(row.label);
    const DatabaseState state = state_of(row.current, row.recorded);
    const PlanComparison comparison = compare_plan(plan, state);
    EXPECT_EQ(comparison.first_pending, row.first_pending);
    EXPECT_EQ(labels(plan, comparison.pending), row.pending);
    EXPECT_EQ(labels(plan, comparison.applied), row.applied);
    EXPECT_EQ(drift_lines(comparison), row.drifted);
    EXPECT_EQ(comparison.unknown_versions, row.unknown);
    if (row.problem.empty()) {
      EXPECT_FALSE(comparison.unknown_version_problem.has_value());
    } else {
      ASSERT_TRUE(comparison.unknown_version_problem.has_value());
      EXPECT_EQ(comparison.unknown_version_problem->message, row.problem);
      EXPECT_EQ(comparison.unknown_version_problem->file, "/migrations");
    }
    EXPECT_FALSE(comparison.dialect_mismatch.has_value()) << "no server dialect was given";
  }
}

TEST(ComparePlan, RecordOfFindsEachRowByPlanPosition) {
  const migration::Plan plan = three_versions();
  const DatabaseState state =
      state_of("0001-a", {{"0002-b", 1, kApplied}, {"0001-a", 2, kVerified}});
  const PlanComparison comparison = compare_plan(plan, state);
  EXPECT_EQ(comparison.record_of(0, 0), nullptr);
  ASSERT_NE(comparison.record_of(0, 1), nullptr);
  EXPECT_EQ(comparison.record_of(0, 1), &state.steps[1]);
  EXPECT_EQ(comparison.record_of(1, 0), &state.steps[0]);
  EXPECT_EQ(comparison.record_of(2, 0), nullptr);
  EXPECT_EQ(comparison.record_of(7, 0), nullptr) << "outside the plan";
  EXPECT_EQ(comparison.record_of(0, 9), nullptr) << "outside the version";
  EXPECT_EQ(comparison.recorded_version, std::optional<std::size_t>{0});
}

struct DialectRow {
  sql::Dialect directory;
  sql::Dialect plan;  // --dialect, or the directory's
  sql::Dialect server;
  std::string message;  // "" = no mismatch
  std::string hint;     // substring
};

TEST(ComparePlan, SaysADialectMismatchOnlyWhenTheServerDiffers) {
  using sql::Dialect;
  const std::vector<DialectRow> rows = {
      {Dialect::postgres, Dialect::postgres, Dialect::postgres, "", ""},
      {Dialect::cockroach, Dialect::cockroach, Dialect::cockroach, "", ""},
      {Dialect::postgres, Dialect::cockroach, Dialect::postgres,
       "dialect mismatch: the server speaks postgres but --dialect says cockroach",
       "leave out --dialect cockroach"},
      {Dialect::postgres, Dialect::postgres, Dialect::cockroach,
       "dialect mismatch: the server speaks cockroach but /migrations is written for postgres",
       "point --db at a postgres server"},
  };
  for (const DialectRow& row : rows) {
    migration::Plan plan = three_versions();
    plan.directory_dialect = row.directory;
    plan.dialect = row.plan;
    const PlanComparison comparison = compare_plan(plan, state_of(std::nullopt, {}), row.server);
    SCOPED_TRACE(row.message);
    if (row.message.empty()) {
      EXPECT_FALSE(comparison.dialect_mismatch.has_value());
      continue;
    }
    ASSERT_TRUE(comparison.dialect_mismatch.has_value());
    EXPECT_EQ(std::string(comparison.dialect_mismatch->what()), row.message);
    EXPECT_NE(comparison.dialect_mismatch->hint().find(row.hint), std::string::npos)
        << comparison.dialect_mismatch->hint();
    EXPECT_EQ(comparison.dialect_mismatch->code(), ExitCode::usage_error);
  }
}

// A numbered plan of `count` versions of two steps each, every step
// recorded verified.
struct History {
  migration::Plan plan;
  DatabaseState state;
};

History verified_history(int count) {
  History history;
  history.plan.root = "/migrations";
  for (int v = 0; v < count; ++v) {
    migration::PlannedVersion version;
    version.name = std::to_string(100000 + v) + "-v";
    for (int s = 1; s <= 2; ++s) {
      migration::PlannedStep step;
      step.file.number = s;
      step.file.file_name = "up" + std::to_string(s) + ".sql";
      step.sha256 = version.name + std::to_string(s);
      history.state.steps.push_back({.version = version.name,
                                     .step = s,
                                     .file = step.file.file_name,
                                     .sha256 = step.sha256,
                                     .state = StepState::verified});
      version.steps.push_back(std::move(step));
    }
    history.plan.version_index.emplace(version.name, history.plan.versions.size());
    history.plan.versions.push_back(std::move(version));
  }
  history.state.version = history.plan.versions.back().name;
  return history;
}

// A long history is compared completely: every recorded step is found as
// applied, none pending or drifted. (How the time grows with the history is
// a benchmark figure, not a test: BENCHMARKS.md, "The everyday deploy"; a
// timed ratio here failed under CI load.)
TEST(ComparePlan, ALongHistoryIsComparedCompletely) {
  const History large = verified_history(16000);
  const PlanComparison comparison = compare_plan(large.plan, large.state);
  EXPECT_EQ(comparison.applied.size(), large.state.steps.size());
  EXPECT_TRUE(comparison.pending.empty());
  EXPECT_TRUE(comparison.drifted.empty());
  EXPECT_TRUE(comparison.unknown_versions.empty());
}

}  // namespace
}  // namespace dbmig::engine
