// `dbmig lint` over a plan: every step's step-rule warnings and lock-rule
// warnings (sql/lint.h), oldest version first, minus what `-- dbmig:allow`
// comments and dbmig.json "lint.allow" silence.
#pragma once

#include <vector>

#include "core/diagnostic.h"
#include "migration/plan.h"

namespace dbmig::migration {

// Every warning of every step of `plan`, in version, step and offset order,
// each with its rule id. Empty when the history is lint-clean.
[[nodiscard]] std::vector<Diagnostic> lint_plan(const Plan& plan);

}  // namespace dbmig::migration
