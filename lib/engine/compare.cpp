#include "engine/compare.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "engine/dialect_check.h"

namespace dbmig::engine {
namespace {

bool is_applied(StepState state) {
  return state == StepState::applied || state == StepState::verified;
}

// N of "<N>-name" / "<N>_name" (or a bare "<N>"); nullopt otherwise.
std::optional<std::int64_t> leading_number(std::string_view name) {
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (error != std::errc{} || end == name.data()) return std::nullopt;
  if (end != name.data() + name.size() && *end != '-' && *end != '_') return std::nullopt;
  return number;
}

bool newer_than_plan(const migration::Plan& plan, std::string_view version) {
  if (plan.versions.empty()) return true;
  const auto newest = plan.versions.back().number;
  const auto recorded = leading_number(version);
  return newest && recorded && *recorded > *newest;
}

Diagnostic unknown_version_problem(const migration::Plan& plan, const std::string& unknown,
                                   bool is_current) {
  Diagnostic problem;
  problem.file = plan.root.string();
  if (newer_than_plan(plan, unknown)) {
    problem.message = "the database is newer than the directory: it " +
                      std::string(is_current ? "is at version " : "records a step of version ") +
                      unknown + ", newer than the newest version in the directory" +
                      (plan.versions.empty() ? "" : " (" + plan.versions.back().name + ")");
    problem.hint = "use the migration directory of the release that applied " + unknown;
  } else {
    problem.message = (is_current ? "the database is at version " + unknown
                                  : "the database records a step of version " + unknown) +
                      ", which the directory does not contain";
    problem.hint = "restore " + unknown +
                   " in the directory (versions must never be renamed or removed once applied)";
  }
  return problem;
}

// Sorts the history rows into comparison.records by plan position; rows of
// unknown versions go to unknown_versions, rows whose step number the
// version no longer has to `vanished` (per version).
void index_records(const migration::Plan& plan, const DatabaseState& state,
                   PlanComparison& comparison,
                   std::vector<std::vector<const StepRecord*>>& vanished) {
  comparison.records.resize(plan.versions.size());
  vanished.resize(plan.versions.size());
  for (std::size_t v = 0; v < plan.versions.size(); ++v) {
    comparison.records[v].assign(plan.versions[v].steps.size(), nullptr);
  }
  std::unordered_set<std::string> unknown;
  if (state.version && !plan.find_version(*state.version)) {
    unknown.insert(*state.version);
    comparison.unknown_versions.push_back(*state.version);
  }
  for (const StepRecord& record : state.steps) {
    const auto version = plan.find_version(record.version);
    if (!version) {
      if (unknown.insert(record.version).second)
        comparison.unknown_versions.push_back(record.version);
      continue;
    }
    std::vector<const StepRecord*>& steps = comparison.records[*version];
    if (record.step >= 1 && static_cast<std::size_t>(record.step) <= steps.size()) {
      const StepRecord*& slot = steps[static_cast<std::size_t>(record.step) - 1];
      if (slot == nullptr) slot = &record;  // the first row read, as find_step
    } else {
      vanished[*version].push_back(&record);
    }
  }
}

void find_applied_and_drift(const migration::Plan& plan, PlanComparison& comparison,
                            std::vector<std::vector<const StepRecord*>>& vanished) {
  for (std::size_t v = 0; v < plan.versions.size(); ++v) {
    const auto& steps = plan.versions[v].steps;
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const StepRecord* record = comparison.records[v][s];
      if (record == nullptr || !is_applied(record->state)) continue;
      comparison.applied.push_back({v, s});
      if (record->sha256 != steps[s].sha256) comparison.drifted.push_back({record, &steps[s]});
    }
    std::sort(vanished[v].begin(), vanished[v].end(),
              [](const StepRecord* a, const StepRecord* b) { return a->step < b->step; });
    for (const StepRecord* record : vanished[v]) {
      if (is_applied(record->state)) comparison.drifted.push_back({record, nullptr});
    }
  }
}

void find_pending(const migration::Plan& plan, PlanComparison& comparison) {
  for (std::size_t v = comparison.first_pending; v < plan.versions.size(); ++v) {
    for (std::size_t s = 0; s < plan.versions[v].steps.size(); ++s) {
      const StepRecord* record = comparison.records[v][s];
      if (record != nullptr && record->state == StepState::verified) continue;
      comparison.pending.push_back({v, s});
    }
  }
}

}  // namespace

const StepRecord* PlanComparison::record_of(std::size_t version, std::size_t step) const {
  if (version >= records.size() || step >= records[version].size()) return nullptr;
  return records[version][step];
}

PlanComparison compare_plan(const migration::Plan& plan, const DatabaseState& state,
                            std::optional<sql::Dialect> server) {
  PlanComparison comparison;
  std::vector<std::vector<const StepRecord*>> vanished;
  index_records(plan, state, comparison, vanished);
  if (state.version) comparison.recorded_version = plan.find_version(*state.version);
  comparison.first_pending = comparison.recorded_version ? *comparison.recorded_version + 1 : 0;
  find_applied_and_drift(plan, comparison, vanished);
  find_pending(plan, comparison);
  if (!comparison.unknown_versions.empty()) {
    const std::string& first = comparison.unknown_versions.front();
    comparison.unknown_version_problem =
        unknown_version_problem(plan, first, state.version == first);
  }
  if (server) comparison.dialect_mismatch = dialect_mismatch(plan, *server);
  return comparison;
}

std::string describe_drift(const DriftedStep& drift) {
  const std::string label = drift.record->version + "/" + drift.record->file;
  if (drift.step == nullptr) return label + " was applied but no longer exists";
  return label + " changed since it was applied (recorded sha256 " + drift.record->sha256 +
         ", file " + drift.step->sha256 + ")";
}

}  // namespace dbmig::engine
