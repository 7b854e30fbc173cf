// The one comparison of a migration plan with what the database recorded
// (contract section 7): which steps are pending, which are applied, which applied steps
// drifted (their file changed or vanished), which recorded versions the
// directory does not contain, and whether the server's dialect is the
// plan's. apply, status and verify all read it; it is a pure function of its
// arguments (no server, no clock), every look-up by index, so it costs
// O(versions + steps + history rows).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/failure.h"
#include "engine/state.h"
#include "migration/plan.h"
#include "sql/dialect.h"

namespace dbmig::engine {

// A step of the plan: plan.versions[version].steps[step].
struct StepPosition {
  std::size_t version = 0;
  std::size_t step = 0;
  friend bool operator==(const StepPosition&, const StepPosition&) = default;
};

// An applied (or verified) step whose file is not the one recorded.
struct DriftedStep {
  const StepRecord* record = nullptr;            // the history row
  const migration::PlannedStep* step = nullptr;  // the step of that number now; nullptr: gone
};

struct PlanComparison {
  // Per version of the plan, per step: its history row, nullptr when none.
  std::vector<std::vector<const StepRecord*>> records;
  // Index in plan.versions of the recorded version; nullopt when none is
  // recorded or the plan does not contain it.
  std::optional<std::size_t> recorded_version;
  // Index of the first version after the recorded one (0 when none).
  std::size_t first_pending = 0;
  // The steps of versions from first_pending on that are not recorded
  // 'verified', in plan order.
  std::vector<StepPosition> pending;
  // The steps recorded 'applied' or 'verified', in plan order.
  std::vector<StepPosition> applied;
  // Applied or verified steps whose file changed or vanished, in plan order
  // (a vanished step after the version's remaining ones, by number).
  std::vector<DriftedStep> drifted;
  // Recorded versions the plan does not contain, each once: the current
  // version first, then those of history rows in the order they were read.
  std::vector<std::string> unknown_versions;
  // The usage-class problem (exit 2) said about unknown_versions.front():
  // "the database is at version X, which DIR does not contain", "... records
  // a step of version X ...", or "the database is newer than the directory"
  // when X's number is above the newest in a numbered tree; nullopt when
  // every recorded version is in the plan.
  std::optional<Diagnostic> unknown_version_problem;
  // dialect_mismatch() of the plan and the server's dialect, when it was given.
  std::optional<Failure> dialect_mismatch;

  // The history row of plan.versions[version].steps[step], nullptr when
  // none (or the position is outside the plan).
  [[nodiscard]] const StepRecord* record_of(std::size_t version, std::size_t step) const;
};

// Compares `plan` with `state` (and with `server`, the server's dialect, when
// known). Never fails. The result points into `plan` and `state`, which
// must outlive it.
[[nodiscard]] PlanComparison compare_plan(const migration::Plan& plan, const DatabaseState& state,
                                          std::optional<sql::Dialect> server = std::nullopt);

// One drifted step as every command says it: "<version>/<file> changed
// since it was applied (recorded sha256 R, file F)" or "<version>/<file> was
// applied but no longer exists" (the file as recorded).
[[nodiscard]] std::string describe_drift(const DriftedStep& drift);

}  // namespace dbmig::engine
