// Superseded proofs (SPEC section 7, `dbmig verify`).
//
// A step's proof names an index or constraint (and its table). When a later
// applied step drops or renames that object -- DROP INDEX, DROP TABLE,
// DROP SCHEMA, ALTER TABLE/INDEX ... RENAME TO / SET SCHEMA, ALTER TABLE ...
// DROP CONSTRAINT / RENAME CONSTRAINT / ADD [CONSTRAINT c] PRIMARY KEY|UNIQUE
// USING INDEX i (which renames index i to c) -- the proof is expected to be false
// and `verify` reports it as superseded instead of failed. A later ALTER
// TABLE ... DROP [COLUMN] of a column the index or constraint uses removes it
// too; that one is only used to explain a proof that failed. This file reads
// those statements from their tokens; it recognises names the way the server
// folds them (unquoted lower-cased, quoted kept) and CockroachDB's
// `table@index`. An unqualified name matches an object in any schema.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migration/plan.h"
#include "sql/classify.h"
#include "sql/splitter.h"

namespace dbmig::engine {

// An object that a statement drops or renames away.
struct Removal {
  enum class Kind { index, table, constraint, schema, column };
  Kind kind = Kind::index;
  sql::QualifiedName name;   // the index, table, constraint or column (name only) or schema
  sql::QualifiedName table;  // for a constraint or column: its table; for `t@i` index: t
  friend bool operator==(const Removal&, const Removal&) = default;
};

// The objects `statement` (of the step file `source`) drops or renames.
// Empty for every other statement. Never fails: a statement it cannot read
// removes nothing.
[[nodiscard]] std::vector<Removal> removals_of(const sql::Statement& statement,
                                               std::string_view source);

// True when `removal` makes the proof of `change` meaningless: the change's
// index or constraint (by name, on the same table when both are known), its
// table, or its schema is gone or renamed. An index and a constraint of the
// same name count as one object (unique constraints are indexes).
// A column removal (ALTER TABLE t DROP [COLUMN] c) never supersedes here.
[[nodiscard]] bool supersedes(const Removal& removal, const sql::Change& change);

// The words (identifiers and keywords, folded as the server folds names)
// of `change`'s definition in its step `source` (whose statements are
// `statements`): after the first `(` of a CREATE INDEX; from CONSTRAINT
// <name> to the end of that action, stopping at REFERENCES, for ADD
// CONSTRAINT. A superset of the columns the index or constraint uses (it
// also holds function names and keywords). Empty for other changes.
[[nodiscard]] std::vector<std::string> definition_words(
    const sql::Change& change, const std::vector<sql::Statement>& statements,
    std::string_view source);

// True when `removal` drops a column of `change`'s table that the change's
// definition names (`words`, from definition_words). PostgreSQL and
// CockroachDB drop the indexes and constraints that use a dropped column,
// so this explains a proof that no longer holds. It is a superset test
// (a column named like a function in the definition also matches): verify
// consults it only after the proof failed, never to skip a proof.
[[nodiscard]] bool drops_column_of(const Removal& removal, const sql::Change& change,
                                   const std::vector<std::string>& words);

// A step of the plan with its version.
struct StepRef {
  const migration::PlannedVersion* version;
  const migration::PlannedStep* step;
};

// The label ("<version>/<file>") of the first step of `steps` after
// `index` that drops or renames `change`'s object (supersedes), or nullopt.
[[nodiscard]] std::optional<std::string> superseding_step(const std::vector<StepRef>& steps,
                                                          std::size_t index,
                                                          const sql::Change& change);

// The label of the first step of `steps` after `index` that drops a column
// `change`'s definition uses (drops_column_of; only to explain a failed
// proof), or nullopt.
[[nodiscard]] std::optional<std::string> column_dropping_step(const std::vector<StepRef>& steps,
                                                              std::size_t index,
                                                              const sql::Change& change);

}  // namespace dbmig::engine
