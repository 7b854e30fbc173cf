#include "migration/lint.h"

#include <algorithm>

#include "sql/lint.h"

namespace dbmig::migration {

std::vector<Diagnostic> lint_plan(const Plan& plan) {
  std::vector<Diagnostic> out;
  sql::HistoryLinter linter(plan.dialect);
  for (const PlannedVersion& version : plan.versions) {
    for (const PlannedStep& step : version.steps) {
      std::vector<Diagnostic> found = step.warnings;
      const auto locks = sql::without_allowed(step.text, step.analysis.statements,
                                              linter.lint_step(step.text, step.analysis));
      for (const sql::Finding& finding : locks) {
        const bool allowed = std::find(version.lint_allowed.begin(), version.lint_allowed.end(),
                                       finding.rule) != version.lint_allowed.end();
        if (!allowed) found.push_back(step_diagnostic(step, finding));
      }
      std::stable_sort(found.begin(), found.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
      });
      std::move(found.begin(), found.end(), std::back_inserter(out));
    }
  }
  return out;
}

}  // namespace dbmig::migration
