#include "sql/definition.h"

#include <pg_query.h>

#include <nlohmann/json.hpp>

namespace dbmig::sql {
namespace {

using nlohmann::json;

// Removes, at every depth, the keys that differ between how a step wrote an
// object and how the server prints it back.
void strip_positions(json& node) {
  if (node.is_object()) {
    node.erase("location");
    for (auto& [key, value] : node.items()) strip_positions(value);
  } else if (node.is_array()) {
    for (json& item : node) strip_positions(item);
  }
}

std::optional<json> parse_one(std::string_view statement) {
  const std::string text(statement);
  PgQueryParseResult result = pg_query_parse(text.c_str());
  std::optional<json> tree;
  if (result.error == nullptr && result.parse_tree != nullptr) {
    json document = json::parse(result.parse_tree, nullptr, false);
    if (!document.is_discarded() && document.contains("stmts") && document["stmts"].size() == 1) {
      tree = document["stmts"][0]["stmt"];
    }
  }
  pg_query_free_parse_result(result);
  return tree;
}

std::optional<json> index_shape(json index) {
  for (const char* key : {"idxname", "relation", "concurrent", "if_not_exists"}) index.erase(key);
  return index;
}

std::optional<json> constraint_shape(const json& alter, std::string_view name) {
  if (!alter.contains("cmds")) return std::nullopt;
  for (const json& command : alter["cmds"]) {
    const json* def = command.contains("AlterTableCmd") && command["AlterTableCmd"].contains("def")
                          ? &command["AlterTableCmd"]["def"]
                          : nullptr;
    if (def == nullptr || !def->contains("Constraint")) continue;
    json constraint = (*def)["Constraint"];
    if (constraint.value("conname", "") != name) continue;
    for (const char* key : {"conname", "skip_validation", "initially_valid"}) {
      constraint.erase(key);
    }
    return constraint;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> definition_shape(std::string_view statement, std::string_view name) {
  std::optional<json> tree = parse_one(statement);
  if (!tree) return std::nullopt;
  std::optional<json> shape;
  if (tree->contains("IndexStmt")) {
    if ((*tree)["IndexStmt"].value("idxname", "") == name)
      shape = index_shape((*tree)["IndexStmt"]);
  } else if (tree->contains("AlterTableStmt")) {
    shape = constraint_shape((*tree)["AlterTableStmt"], name);
  }
  if (!shape) return std::nullopt;
  strip_positions(*shape);
  return shape->dump();
}

}  // namespace dbmig::sql
