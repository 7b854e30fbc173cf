// Superseded proofs (SPEC section 7, `dbmig verify`).
//
// A step's proof names an index or constraint (and its table). When a later
// applied step drops or renames that object -- DROP INDEX, DROP TABLE,
// DROP SCHEMA, ALTER TABLE/INDEX ... RENAME TO / SET SCHEMA, ALTER TABLE ...
// DROP CONSTRAINT / RENAME CONSTRAINT -- the proof is expected to be false
// and `verify` reports it as superseded instead of failed. This file reads
// those statements from their tokens; it recognises names the way the server
// folds them (unquoted lower-cased, quoted kept) and CockroachDB's
// `table@index`. An unqualified name matches an object in any schema.
#pragma once

#include <string_view>
#include <vector>

#include "sql/classify.h"
#include "sql/splitter.h"

namespace dbmig::engine {

// An object that a statement drops or renames away.
struct Removal {
  enum class Kind { index, table, constraint, schema };
  Kind kind = Kind::index;
  sql::QualifiedName name;   // the index, table, constraint (name only) or schema (in name)
  sql::QualifiedName table;  // for a constraint: its table; for `t@i` index: t
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
[[nodiscard]] bool supersedes(const Removal& removal, const sql::Change& change);

}  // namespace dbmig::engine
