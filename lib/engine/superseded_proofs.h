// Which later applied step supersedes a proof (docs/contract.md section 7, `dbmig
// verify` and `dbmig baseline`): the steps of the plan are read in order
// with sql::removals_of (sql/supersession.h), each with the dialect its
// analysis was made for, so that names fold as they did in the proof.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "migration/plan.h"
#include "sql/classify.h"
#include "sql/supersession.h"

namespace dbmig::engine {

// A step of the plan with its version.
struct StepRef {
  const migration::PlannedVersion* version;
  const migration::PlannedStep* step;
};

// The label ("<version>/<file>") of the first step of `steps` after
// `index` that drops or renames `change`'s object (sql::supersedes), or nullopt.
[[nodiscard]] std::optional<std::string> superseding_step(const std::vector<StepRef>& steps,
                                                          std::size_t index,
                                                          const sql::Change& change);

// The label of the first step of `steps` after `index` that drops a column
// `change`'s definition uses (sql::drops_column_of; only to explain a failed
// proof), or nullopt.
[[nodiscard]] std::optional<std::string> column_dropping_step(const std::vector<StepRef>& steps,
                                                              std::size_t index,
                                                              const sql::Change& change);

}  // namespace dbmig::engine
