// The shape of an index's or constraint's definition, without its name: what
// `verify` compares to tell "the object was renamed" from "the object is
// gone" (docs/contract.md section 7, issue 12). PostgreSQL's own grammar (libpg_query)
// reads both sides, so a step's `CREATE INDEX CONCURRENTLY IF NOT EXISTS i
// ON t (x)` and the server's `pg_get_indexdef` text `CREATE INDEX j ON
// public.t USING btree (x)` have the same shape.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dbmig::sql {

// The definition of index or constraint `name` in `statement` (a CREATE
// INDEX, or an ALTER TABLE whose ADD CONSTRAINT action names `name`), as a
// canonical JSON text of its parse tree with every name of the object, the
// table, source positions, CONCURRENTLY, IF NOT EXISTS and NOT VALID
// removed. Two definitions are identical when their shapes are equal.
// nullopt when the grammar rejects the statement or it defines no such
// object. Expressions are compared as written: `lower(email)` and the
// server's `lower((email)::text)` differ, which errs towards "not found".
[[nodiscard]] std::optional<std::string> definition_shape(std::string_view statement,
                                                          std::string_view name);

}  // namespace dbmig::sql
