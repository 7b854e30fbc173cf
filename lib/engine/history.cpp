#include "engine/history.h"

#include <string_view>
#include <unordered_map>

#include "engine/timestamp.h"

namespace dbmig::engine {

std::vector<AppliedVersion> applied_history(const migration::Plan& plan,
                                            const DatabaseState& state) {
  std::vector<AppliedVersion> history;
  if (!state.version) return history;
  const auto last = plan.find_version(*state.version);
  if (!last) return history;
  history.reserve(*last + 1);
  std::unordered_map<std::string_view, std::size_t> position;  // version name -> history index
  position.reserve(*last + 1);
  for (std::size_t index = 0; index <= *last; ++index) {
    history.push_back({.version = plan.versions[index].name});
    position.emplace(history.back().version, index);
  }
  // One pass over the step rows; each version keeps its latest finished step
  // (finished_at as the server wrote it, in UTC) and that step's runner.
  std::vector<std::string> latest(history.size());
  for (const StepRecord& record : state.steps) {
    if (record.state != StepState::verified) continue;
    const auto found = position.find(record.version);
    if (found == position.end()) continue;
    AppliedVersion& applied = history[found->second];
    ++applied.steps;
    applied.duration_ms += record.duration_ms.value_or(0);
    std::string finished = iso_utc(record.finished_at.value_or(record.started_at));
    if (finished >= latest[found->second]) {
      latest[found->second] = std::move(finished);
      applied.runner = record.runner;
    }
  }
  for (std::size_t index = 0; index < history.size(); ++index) {
    if (!latest[index].empty()) history[index].applied_at = std::move(latest[index]);
  }
  return history;
}

}  // namespace dbmig::engine
