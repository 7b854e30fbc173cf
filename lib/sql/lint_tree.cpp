// Reading libpg_query's JSON parse tree for the lint rules (lint.cpp).
#include "sql/lint_tree.h"

#include <pg_query.h>

#include <algorithm>
#include <array>

namespace dbmig::sql::lint_tree {
namespace {

// Functions a DEFAULT may call without forcing a rewrite (PostgreSQL 11+
// stores a non-volatile default in the catalog): stable or immutable ones.
bool is_non_volatile_function(std::string_view name) {
  static constexpr std::array kNonVolatile = {"now",
                                              "statement_timestamp",
                                              "transaction_timestamp",
                                              "current_database",
                                              "lower",
                                              "upper",
                                              "length",
                                              "coalesce",
                                              "jsonb_build_object",
                                              "json_build_object",
                                              "jsonb_build_array",
                                              "json_build_array",
                                              "to_jsonb",
                                              "to_json",
                                              "array_fill",
                                              "make_date",
                                              "make_interval",
                                              "date_trunc",
                                              "concat",
                                              "md5",
                                              "abs",
                                              "round",
                                              "int4",
                                              "int8",
                                              "text",
                                              "to_timestamp",
                                              "to_date",
                                              "current_setting"};
  return std::find(kNonVolatile.begin(), kNonVolatile.end(), name) != kNonVolatile.end();
}

// Length-limit widening: every (old) modifier at most the new one, or the new
// type unlimited.
bool widens(const std::vector<long>& from, const std::vector<long>& to) {
  if (to.empty()) return true;
  if (from.empty() || from.size() != to.size()) return false;
  return std::equal(from.begin(), from.end(), to.begin(), [](long a, long b) { return a <= b; });
}

}  // namespace

const Json& field(const Json& node, std::string_view key) {
  static const Json kNull;
  if (!node.is_object()) return kNull;
  const auto found = node.find(key);
  return found == node.end() ? kNull : *found;
}

std::string text_of(const Json& node, std::string_view key) {
  const Json& value = field(node, key);
  return value.is_string() ? value.get<std::string>() : std::string{};
}

bool flag(const Json& node, std::string_view key) {
  const Json& value = field(node, key);
  return value.is_boolean() && value.get<bool>();
}

std::size_t location_of(const Json& node) {
  const Json& value = field(node, "location");
  return value.is_number_integer() && value.get<long>() >= 0 ? value.get<std::size_t>()
                                                             : kNoLocation;
}

// The one statement node of `text` ({"AlterTableStmt": {...}}); nullopt when
// the grammar rejects the text.
std::optional<Json> parse_statement(std::string_view text) {
  const std::string query(text);
  PgQueryParseResult result = pg_query_parse(query.c_str());
  std::optional<Json> statement;
  if (result.error == nullptr && result.parse_tree != nullptr) {
    Json tree = Json::parse(result.parse_tree, nullptr, false);
    const Json& statements = field(tree, "stmts");
    if (statements.is_array() && statements.size() == 1) statement = field(statements[0], "stmt");
  }
  pg_query_free_parse_result(result);
  return statement;
}

// "schema.table", or "table" when unqualified or in public.
std::string table_key(const Json& range_var) {
  const std::string schema = text_of(range_var, "schemaname");
  const std::string name = text_of(range_var, "relname");
  return schema.empty() || schema == "public" ? name : schema + "." + name;
}

// The names of a List of String nodes joined with '.'.
std::string dotted(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const Json& item : list) {
    const std::string part = text_of(field(item, "String"), "sval");
    if (part.empty()) continue;
    if (!out.empty()) out += '.';
    out += part;
  }
  return out;
}

ColumnType column_type(const Json& type_name) {
  ColumnType type;
  const Json& names = field(type_name, "names");
  if (names.is_array() && !names.empty())
    type.name = text_of(field(names.back(), "String"), "sval");
  const Json& mods = field(type_name, "typmods");
  if (!mods.is_array()) return type;
  for (const Json& mod : mods) {
    const Json& value = field(field(field(mod, "A_Const"), "ival"), "ival");
    type.mods.push_back(value.is_number_integer() ? value.get<long>() : 0);
  }
  return type;
}

// The constraints of a ColumnDef, by contype ("CONSTR_NOTNULL", ...).
std::vector<const Json*> column_constraints(const Json& column) {
  std::vector<const Json*> out;
  const Json& list = field(column, "constraints");
  if (!list.is_array()) return out;
  for (const Json& item : list) out.push_back(&field(item, "Constraint"));
  return out;
}

// The column c of CHECK (c IS NOT NULL); "" for any other check.
std::string not_null_check_column(const Json& constraint) {
  const Json& test = field(field(constraint, "raw_expr"), "NullTest");
  if (text_of(test, "nulltesttype") != "IS_NOT_NULL") return {};
  const Json& fields = field(field(field(test, "arg"), "ColumnRef"), "fields");
  if (!fields.is_array() || fields.size() != 1) return {};
  return text_of(field(fields[0], "String"), "sval");
}

// True when the expression calls a function not known to be non-volatile
// (random(), gen_random_uuid(), clock_timestamp(), nextval(), a user
// function whose volatility the linter cannot see).
bool may_be_volatile(const Json& node) {
  if (node.is_array()) {
    return std::any_of(node.begin(), node.end(), [](const Json& n) { return may_be_volatile(n); });
  }
  if (!node.is_object()) return false;
  for (const auto& [key, value] : node.items()) {
    if (key == "FuncCall") {
      const Json& names = field(value, "funcname");
      const std::string name =
          names.is_array() && !names.empty() ? text_of(field(names.back(), "String"), "sval") : "";
      if (!is_non_volatile_function(name)) return true;
    }
    if (may_be_volatile(value)) return true;
  }
  return false;
}

bool is_serial(std::string_view type) {
  static constexpr std::array kSerial = {"serial",  "bigserial", "smallserial",
                                         "serial2", "serial4",   "serial8"};
  return std::find(kSerial.begin(), kSerial.end(), type) != kSerial.end();
}

// The ALTER COLUMN TYPE changes PostgreSQL makes without rewriting the table
// (the 9.2 release notes and ALTER TABLE's notes: binary-coercible types,
// wider varchar/varbit/numeric/timestamp limits). Unknown old type: unsafe.
bool rewrite_free(const std::optional<ColumnType>& from, const ColumnType& to, bool using_clause) {
  if (!from || using_clause) return false;
  if (from->name == to.name && from->mods == to.mods) return true;
  if (from->name == "varchar" && to.name == "text") return true;
  if (from->name == "text" && to.name == "varchar" && to.mods.empty()) return true;
  if (from->name != to.name) return false;
  if (to.name == "numeric") {
    if (to.mods.empty()) return true;
    const long from_scale = from->mods.size() > 1 ? from->mods[1] : 0;
    const long to_scale = to.mods.size() > 1 ? to.mods[1] : 0;
    return !from->mods.empty() && from_scale == to_scale && from->mods[0] <= to.mods[0];
  }
  static constexpr std::array kWidenable = {"varchar", "varbit", "timestamp", "timestamptz"};
  if (std::find(kWidenable.begin(), kWidenable.end(), to.name) == kWidenable.end()) return false;
  return widens(from->mods, to.mods);
}

}  // namespace dbmig::sql::lint_tree
