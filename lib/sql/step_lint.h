// Reading a whole step: split, classify every statement, apply the step-level
// rules of docs/contract.md section 4 (one DDL per step, statements that cannot run in a
// transaction block, transaction control, DDL mixed with DML, ...).
#pragma once

#include <expected>
#include <string_view>
#include <vector>

#include "sql/classify.h"
#include "sql/splitter.h"

namespace dbmig::sql {

struct StepRules {
  Dialect dialect = Dialect::postgres;
  bool marked_non_transactional = false;  // file named up[N]-danger-non-transactional.sql
  bool multi_ddl_allowed = false;         // version is within multi_ddl_allowed_through
};

struct StepAnalysis {
  Dialect dialect = Dialect::postgres;  // the dialect the names were folded for (StepRules)
  std::vector<Statement> statements;
  std::vector<Classification> classifications;  // one per statement
  // The mode dbmig runs the step in: false when the file is marked, when a
  // statement cannot run in a transaction block, and on CockroachDB for every
  // step holding DDL (docs/contract.md section 6).
  bool transactional = true;
  int ddl_count = 0;
  std::vector<Change> changes;  // every change that needs proof, in statement order
  // Statement and step findings, ordered by offset; the statements'
  // rerun_hazards are included only when the step is not transactional.
  std::vector<Finding> findings;
};

// Analyses one step file's text. Fails only when the text cannot be split
// (lexical error); rule violations are error Findings in the result.
// A step of whitespace only is an error Finding at offset 0; a step holding
// only comments is a no-op step with a warning Finding at offset 0 (contract section 8).
[[nodiscard]] std::expected<StepAnalysis, SplitError> analyze_step(std::string_view source,
                                                                   const StepRules& rules);

}  // namespace dbmig::sql
