// `dbmig lint`'s lock and compatibility rules (docs/contract.md section 7, docs/lint.md):
// a warning per statement that blocks reads or writes of an existing table for
// longer than a catalog update, or breaks the running application (renames,
// required columns), with the safe form as its hint.
//
// PostgreSQL statements are read through libpg_query's parse tree (the real
// PostgreSQL 15 grammar); statements it rejects (CockroachDB-only syntax) fall
// back to the statement's tokens for the rules that hold there.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sql/classify.h"
#include "sql/step_lint.h"

namespace dbmig::sql {

// Lints a history one step at a time, oldest first: it remembers what earlier
// steps established (column types, validated CHECK (c IS NOT NULL)
// constraints), so that a later step's ALTER COLUMN TYPE or SET NOT NULL is
// judged against them. Not thread-safe; one linter per history.
class HistoryLinter {
 public:
  explicit HistoryLinter(Dialect dialect) : dialect_(dialect) {}

  // Lock-rule warnings of one step (`source` is the step file's text and
  // `step` its analysis), in statement order, each with its rule id.
  // A statement on a table created earlier in the same step is exempt.
  [[nodiscard]] std::vector<Finding> lint_step(std::string_view source, const StepAnalysis& step);

  // What the linter knows across steps (exposed for its implementation's
  // helpers; callers do not need it).
  struct ColumnType {
    std::string name;        // PostgreSQL's internal name: "varchar", "numeric", "int4", ...
    std::vector<long> mods;  // type modifiers as written: varchar(20) -> {20}
  };
  struct Memory {
    std::map<std::string, ColumnType> column_types;  // "table.column" -> its current type
    std::set<std::string> not_null_proved;  // "table.column" with a validated CHECK (c IS NOT NULL)
    std::map<std::string, std::string> not_null_checks;  // "table.constraint" -> "table.column"
  };

 private:
  Dialect dialect_;
  Memory memory_;
};

// The rules named by a `-- dbmig:allow rule[, rule ...]` comment on the line
// just before statement `statement_index` (looked for between the previous
// statement and this one only).
[[nodiscard]] std::set<std::string> allowed_rules(std::string_view source,
                                                  const std::vector<Statement>& statements,
                                                  std::size_t statement_index);

// `findings` without the warnings an allow comment silences; a finding
// belongs to the last statement that begins at or before its offset. Errors
// are never silenced.
[[nodiscard]] std::vector<Finding> without_allowed(std::string_view source,
                                                   const std::vector<Statement>& statements,
                                                   std::vector<Finding> findings);

// A warning (without rule id) for every rule name an allow comment gives that
// is not a known rule (a typo would silently silence nothing).
[[nodiscard]] std::vector<Finding> unknown_allowed_rules(std::string_view source,
                                                         const std::vector<Statement>& statements);

}  // namespace dbmig::sql
