// Classifying statements (docs/contract.md section 4).
//
// classify_statement() reads one statement's tokens and says what kind of
// statement it is, whether it can run inside a transaction block, and which
// schema changes it makes whose completion must be proved (a Change). It
// never rewrites the statement: what runs is always the original bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "sql/dialect.h"
#include "sql/splitter.h"
#include "sql/token_reader.h"

namespace dbmig::sql {

enum class StatementKind { ddl, dml, other, session, transaction_control };

// "ddl", "dml", "other", "session", "transaction control".
[[nodiscard]] std::string_view to_string(StatementKind kind);

enum class ChangeKind {
  create_index,          // CREATE [UNIQUE|INVERTED] INDEX [CONCURRENTLY] name ON t
  create_index_on_only,  // CREATE INDEX name ON ONLY parent (PostgreSQL, partitioned)
  reindex_concurrently,  // REINDEX INDEX CONCURRENTLY name (PostgreSQL)
  add_constraint,        // ALTER TABLE t ADD CONSTRAINT c ... (without NOT VALID)
  validate_constraint,   // ALTER TABLE t VALIDATE CONSTRAINT c
};

// A schema change whose completion must be proved by a verification query.
struct Change {
  ChangeKind kind = ChangeKind::create_index;
  QualifiedName table;   // the table the index/constraint is on; empty name for reindex
  QualifiedName object;  // the index or constraint; an index takes the table's database/schema
  bool concurrently = false;
  bool if_not_exists = false;
  bool unique = false;
  std::size_t offset = 0;  // byte offset in the file where the change's statement begins

  friend bool operator==(const Change&, const Change&) = default;
};

// A finding about one statement: offset is a byte offset in the file;
// rule is its id (docs/lint.md), by which `-- dbmig:allow` silences a warning.
struct Finding {
  Severity severity = Severity::warning;
  std::size_t offset = 0;
  std::string message;
  std::string hint;
  std::string rule;
};

struct Classification {
  StatementKind kind = StatementKind::other;
  std::string command;             // upper-case leading words, e.g. "CREATE INDEX", "ALTER TABLE"
  bool non_transactional = false;  // cannot run inside a transaction block
  std::vector<Change> changes;     // changes that need proof
  std::vector<Finding> findings;   // per-statement warnings/errors (unnamed index, ...)
  // Warnings that matter only when the statement runs outside a transaction
  // (a failed non-transactional step is re-run): CREATE INDEX / ADD COLUMN /
  // ADD CONSTRAINT without IF NOT EXISTS where the dialect has it. analyze_step
  // moves them into the step's findings when the step is non-transactional.
  std::vector<Finding> rerun_hazards;
  bool commits_inside = false;  // DO/CALL whose text contains the word COMMIT
};

// Classifies one statement of `source` (the whole step file) for `dialect`.
// Never fails: an unrecognised statement is `other`. Findings: a warning for
// an unnamed index or constraint (with PostgreSQL's own name for it as the
// suggestion); an error for syntax the dialect cannot run (CockroachDB-only
// syntax on postgres, PostgreSQL-only statements on cockroach); on postgres a
// warning when the PostgreSQL 15 grammar (libpg_query) rejects the statement
// and no error was found already. Names are folded as the server folds them
// (on postgres also truncated to 63 bytes).
[[nodiscard]] Classification classify_statement(const Statement& statement, std::string_view source,
                                                Dialect dialect);

}  // namespace dbmig::sql
