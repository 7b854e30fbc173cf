#include "engine/superseded_proofs.h"

#include <functional>

#include "engine/inspect.h"

namespace dbmig::engine {
namespace {

// The label of the first applied step after `index` with a removal for
// which `matches` holds.
std::optional<std::string> first_later_step_removing(
    const std::vector<StepRef>& steps, std::size_t index,
    const std::function<bool(const sql::Removal&)>& matches) {
  for (std::size_t later = index + 1; later < steps.size(); ++later) {
    const migration::PlannedStep& step = *steps[later].step;
    for (const sql::Statement& statement : step.analysis.statements) {
      for (const sql::Removal& removal :
           sql::removals_of(statement, step.text, step.analysis.dialect)) {
        if (matches(removal)) return step_label(steps[later].version->name, step.file.file_name);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> superseding_step(const std::vector<StepRef>& steps, std::size_t index,
                                            const sql::Change& change) {
  return first_later_step_removing(steps, index, [&change](const sql::Removal& removal) {
    return sql::supersedes(removal, change);
  });
}

// The server dropped the index or constraint with the column.
std::optional<std::string> column_dropping_step(const std::vector<StepRef>& steps,
                                                std::size_t index, const sql::Change& change) {
  const migration::PlannedStep& own = *steps[index].step;
  const std::vector<std::string> words =
      sql::definition_words(change, own.analysis.statements, own.text, own.analysis.dialect);
  if (words.empty()) return std::nullopt;
  return first_later_step_removing(steps, index, [&](const sql::Removal& removal) {
    return sql::drops_column_of(removal, change, words);
  });
}

}  // namespace dbmig::engine
