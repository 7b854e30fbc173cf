// The verification query of a Change (docs/contract.md sections 4 and 5): one SELECT that
// returns exactly one row with one boolean column, true when the change is
// complete. Pure string generation; every identifier and literal quoted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/classify.h"

namespace dbmig::sql {

// The objects a PostgreSQL proof is about, as the step made them: the
// table's pg_class OID and the index's (pg_class) or the constraint's
// (pg_constraint) OID, as decimal text; "0" when absent.
struct ObjectOids {
  std::string table = "0";
  std::string object = "0";
  friend bool operator==(const ObjectOids&, const ObjectOids&) = default;
};

// PostgreSQL: a SELECT of one text column, "<table oid>:<object oid>",
// resolving `change`'s names under the session's search_path (0 for a name
// that resolves to nothing). Every function and operator is qualified.
[[nodiscard]] std::string resolve_oids_query(const Change& change);
// The same as an expression (no SELECT), for use inside another statement.
[[nodiscard]] std::string resolve_oids_expression(const Change& change);

// "T:O,T:O" for a step's changes in order (how the step history stores
// them), and back; nullopt when `text` is not of that form.
[[nodiscard]] std::string format_oids(const std::vector<ObjectOids>& oids);
[[nodiscard]] std::optional<std::vector<ObjectOids>> parse_oids(std::string_view text);

// PostgreSQL: the proof of `change` about the objects `oids` names, whatever
// their names are now and whatever the search_path: one row, one boolean,
// false when an OID no longer exists. Deterministic.
[[nodiscard]] std::string verify_query_by_oids(const Change& change, const ObjectOids& oids);

// One line (no newline, no "--") saying what the query proves, e.g.
// `index "public"."users_email_idx" on "public"."users" is valid, ready and live`.
[[nodiscard]] std::string describe_change(const Change& change, Dialect dialect);

// The SELECT proving `change` for `dialect`, without a trailing `;`.
// Deterministic: the same change always gives the same bytes.
[[nodiscard]] std::string verify_query(const Change& change, Dialect dialect);

}  // namespace dbmig::sql
