// Superseded proofs (docs/contract.md section 7, `dbmig verify`).
//
// A step's proof names an index or constraint (and its table). When a later
// applied step drops or renames that object -- DROP INDEX, DROP TABLE,
// DROP SCHEMA, ALTER TABLE/INDEX ... RENAME TO / SET SCHEMA, ALTER TABLE ...
// DROP CONSTRAINT / RENAME CONSTRAINT / ADD [CONSTRAINT c] PRIMARY KEY|UNIQUE
// USING INDEX i (which renames index i to c) -- the proof is expected to be false
// and `verify` reports it as superseded instead of failed. A later ALTER
// TABLE ... DROP [COLUMN] of a column the index or constraint uses removes it
// too; that one is only used to explain a proof that failed. This file reads
// those statements from their tokens through TokenReader (token_reader.h), so
// a name reads exactly as classification read it in the step that made the
// proof (folded, U&"..." decoded, cut to 63 bytes on PostgreSQL only); it
// also reads CockroachDB's `table@index`. An unqualified name matches an
// object in any schema. Which applied step supersedes a proof is
// engine/superseded_proofs.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sql/classify.h"
#include "sql/dialect.h"
#include "sql/splitter.h"

namespace dbmig::sql {

// An object that a statement drops or renames away.
struct Removal {
  enum class Kind { index, table, constraint, schema, column };
  Kind kind = Kind::index;
  QualifiedName name;   // the index, table, constraint or column (name only) or schema
  QualifiedName table;  // for a constraint or column: its table; for `t@i` index: t
  friend bool operator==(const Removal&, const Removal&) = default;
};

// The objects `statement` (of the step file `source`, written for
// `dialect`) drops or renames, their names folded for `dialect`. Empty for
// every other statement. Never fails: a statement it cannot read removes
// nothing.
[[nodiscard]] std::vector<Removal> removals_of(const Statement& statement, std::string_view source,
                                               Dialect dialect);

// True when `removal` makes the proof of `change` meaningless: the change's
// index or constraint (by name, on the same table when both are known), its
// table, or its schema is gone or renamed. An index and a constraint of the
// same name count as one object (unique constraints are indexes).
// A column removal (ALTER TABLE t DROP [COLUMN] c) never supersedes here.
[[nodiscard]] bool supersedes(const Removal& removal, const Change& change);

// The words (identifiers and keywords, folded for `dialect` as the server
// folds names) of `change`'s definition in its step `source` (whose
// statements are `statements`): after the first `(` of a CREATE INDEX; from CONSTRAINT
// <name> to the end of that action, stopping at REFERENCES, for ADD
// CONSTRAINT. A superset of the columns the index or constraint uses (it
// also holds function names and keywords). Empty for other changes.
[[nodiscard]] std::vector<std::string> definition_words(const Change& change,
                                                        const std::vector<Statement>& statements,
                                                        std::string_view source, Dialect dialect);

// True when `removal` drops a column of `change`'s table that the change's
// definition names (`words`, from definition_words). PostgreSQL and
// CockroachDB drop the indexes and constraints that use a dropped column,
// so this explains a proof that no longer holds. It is a superset test
// (a column named like a function in the definition also matches): verify
// consults it only after the proof failed, never to skip a proof.
[[nodiscard]] bool drops_column_of(const Removal& removal, const Change& change,
                                   const std::vector<std::string>& words);

}  // namespace dbmig::sql
