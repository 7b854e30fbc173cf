// Reading libpg_query's JSON parse tree (pg_query_parse) for the lint rules
// of lint.cpp: null-safe field access, names as the rules key them, column
// types and the facts about defaults and type changes the rules need.
// Internal to lib/sql.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/lint.h"

namespace dbmig::sql::lint_tree {

using Json = nlohmann::json;
using ColumnType = HistoryLinter::ColumnType;

// A location the tree does not give (the rule reports the statement's start).
constexpr std::size_t kNoLocation = static_cast<std::size_t>(-1);

// node[key], or a null Json when node is not an object or has no `key`.
[[nodiscard]] const Json& field(const Json& node, std::string_view key);
// The string node[key], or "" when it is absent or not a string.
[[nodiscard]] std::string text_of(const Json& node, std::string_view key);
// The boolean node[key], false when it is absent or not a boolean.
[[nodiscard]] bool flag(const Json& node, std::string_view key);
// The node's byte location in the statement, or kNoLocation.
[[nodiscard]] std::size_t location_of(const Json& node);

// The one statement node of `text` ({"AlterTableStmt": {...}}); nullopt when
// the grammar rejects the text (or it holds more than one statement).
[[nodiscard]] std::optional<Json> parse_statement(std::string_view text);

// "schema.table" of a RangeVar, or "table" when unqualified or in public.
[[nodiscard]] std::string table_key(const Json& range_var);
// The names of a List of String nodes joined with '.'.
[[nodiscard]] std::string dotted(const Json& list);
// The type of a TypeName node: its last name part and its integer modifiers.
[[nodiscard]] ColumnType column_type(const Json& type_name);
// The constraints of a ColumnDef, by contype ("CONSTR_NOTNULL", ...).
[[nodiscard]] std::vector<const Json*> column_constraints(const Json& column);
// The column c of CHECK (c IS NOT NULL); "" for any other check.
[[nodiscard]] std::string not_null_check_column(const Json& constraint);

// True when the expression calls a function not known to be non-volatile
// (random(), gen_random_uuid(), clock_timestamp(), nextval(), a user
// function whose volatility the linter cannot see).
[[nodiscard]] bool may_be_volatile(const Json& node);
// True for serial, bigserial, smallserial and serial2/4/8.
[[nodiscard]] bool is_serial(std::string_view type);
// True when ALTER COLUMN TYPE from `from` to `to` needs no table rewrite
// (binary-coercible types, wider varchar/varbit/numeric/timestamp limits);
// false for an unknown old type or a USING clause.
[[nodiscard]] bool rewrite_free(const std::optional<ColumnType>& from, const ColumnType& to,
                                bool using_clause);

}  // namespace dbmig::sql::lint_tree
