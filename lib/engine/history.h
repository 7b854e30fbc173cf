// The applied history (contract section 7, `status --history`): the versions the
// database records as applied, oldest first, each with when it was
// completed, how long its steps ran and which runner completed it. Read
// from the step history rows; shared by status's text and its JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/state.h"
#include "migration/plan.h"

namespace dbmig::engine {

struct AppliedVersion {
  std::string version;                    // directory name
  std::optional<std::string> applied_at;  // UTC, iso_utc(); nullopt when no step row records it
  std::int64_t duration_ms = 0;           // sum of its steps' recorded durations
  std::string runner;                     // runner of its last finished step ("" when none)
  int steps = 0;                          // its step rows recorded verified
};

// Every version of `plan` up to and including the recorded one
// (`state.version`), in the plan's order; empty when none is recorded.
// A version without verified step rows (adopted by other means) is listed
// with applied_at nullopt.
[[nodiscard]] std::vector<AppliedVersion> applied_history(const migration::Plan& plan,
                                                          const DatabaseState& state);

}  // namespace dbmig::engine
