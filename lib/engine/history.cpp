#include "engine/history.h"

#include "engine/timestamp.h"

namespace dbmig::engine {

std::vector<AppliedVersion> applied_history(const migration::Plan& plan,
                                            const DatabaseState& state) {
  std::vector<AppliedVersion> history;
  if (!state.version) return history;
  const auto last = plan.find_version(*state.version);
  if (!last) return history;
  for (std::size_t index = 0; index <= *last; ++index) {
    AppliedVersion applied;
    applied.version = plan.versions[index].name;
    std::string latest;  // finished_at of the latest step, as the server wrote it
    for (const StepRecord& record : state.steps) {
      if (record.version != applied.version || record.state != StepState::verified) continue;
      ++applied.steps;
      applied.duration_ms += record.duration_ms.value_or(0);
      const std::string finished = iso_utc(record.finished_at.value_or(record.started_at));
      if (finished >= latest) {
        latest = finished;
        applied.runner = record.runner;
      }
    }
    if (!latest.empty()) applied.applied_at = latest;
    history.push_back(std::move(applied));
  }
  return history;
}

}  // namespace dbmig::engine
