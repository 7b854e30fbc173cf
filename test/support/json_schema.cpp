#include "support/json_schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace dbmig::test {
namespace {

using nlohmann::json;

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

const std::set<std::string> kKeywords = {
    "type", "required", "properties", "additionalProperties", "items",
    "enum", "$ref",     "title",      "description"};

}  // namespace

JsonSchemas::JsonSchemas(std::filesystem::path directory) : directory_(std::move(directory)) {}

const json* JsonSchemas::load(const std::string& file, std::vector<std::string>& errors) {
  if (const auto found = loaded_.find(file); found != loaded_.end()) return &found->second;
  std::ifstream in(directory_ / file);
  if (!in) {
    errors.push_back("no schema file " + (directory_ / file).string());
    return nullptr;
  }
  json schema = json::parse(in, nullptr, false);
  if (schema.is_discarded()) {
    errors.push_back("schema file " + file + " is not JSON");
    return nullptr;
  }
  return &(loaded_[file] = std::move(schema));
}

std::vector<std::string> JsonSchemas::validate(const json& value, const std::string& file) {
  std::vector<std::string> errors;
  if (const json* schema = load(file, errors)) check(value, *schema, "", errors);
  return errors;
}

void JsonSchemas::check(const json& value, const json& schema, const std::string& where,
                        std::vector<std::string>& errors) {
  const std::string at = where.empty() ? "/" : where;
  if (!schema.is_object()) {
    errors.push_back(at + ": the schema is not an object");
    return;
  }
  for (const auto& [keyword, ignored] : schema.items()) {
    if (!kKeywords.contains(keyword)) errors.push_back(at + ": unsupported keyword " + keyword);
  }
  if (schema.contains("$ref")) {
    if (const json* target = load(schema.at("$ref").get<std::string>(), errors)) {
      check(value, *target, where, errors);
    }
  }
  if (schema.contains("type")) {
    const json& type = schema.at("type");
    const json types = type.is_array() ? type : json::array({type});
    bool any = false;
    for (const json& name : types) any = any || has_type(value, name.get<std::string>());
    if (!any) {
      errors.push_back(at + ": " + value.dump() + " is not of type " + type.dump());
      return;
    }
  }
  if (schema.contains("enum")) {
    const json& allowed = schema.at("enum");
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      errors.push_back(at + ": " + value.dump() + " is not one of " + allowed.dump());
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      check(value[i], schema.at("items"), where + "/" + std::to_string(i), errors);
    }
  }
  if (value.is_object()) check_object(value, schema, where, errors);
}

void JsonSchemas::check_object(const json& value, const json& schema, const std::string& where,
                               std::vector<std::string>& errors) {
  const std::string at = where.empty() ? "/" : where;
  if (schema.contains("required")) {
    for (const json& name : schema.at("required")) {
      if (!value.contains(name.get<std::string>())) {
        errors.push_back(at + ": required property " + name.get<std::string>() + " is missing");
      }
    }
  }
  const json properties = schema.value("properties", json::object());
  for (const auto& [name, member] : value.items()) {
    if (properties.contains(name)) {
      check(member, properties.at(name), where + "/" + name, errors);
    } else if (schema.contains("additionalProperties")) {
      const json& additional = schema.at("additionalProperties");
      if (additional.is_boolean()) {
        if (!additional.get<bool>()) {
          errors.push_back(at + ": property " + name + " is not in the schema");
        }
      } else {
        check(member, additional, where + "/" + name, errors);
      }
    }
  }
}

void expect_valid_engine_json(const std::string& out) {
  std::istringstream lines(out);
  std::string completed;
  for (std::string line; std::getline(lines, line);) {
    json value = json::parse(line, nullptr, false);
    if (value.is_object() && value.contains("command") && !value.contains("diagnostics")) {
      value["diagnostics"] = json::array();
    }
    completed += value.dump() + '\n';
  }
  for (const std::string& violation : json_output_violations(completed)) {
    ADD_FAILURE() << "engine output does not match docs/json-schema: " << violation;
  }
}

JsonSchemas& published_schemas() {
  static JsonSchemas schemas(std::filesystem::path(DBMIG_SOURCE_DIR) / "docs" / "json-schema");
  return schemas;
}

std::string schema_file_for(const json& line) {
  if (!line.is_object()) return "not-an-object.json";
  if (line.contains("event")) return "event-" + line.value("event", std::string("?")) + ".json";
  const std::set<std::string> failed = {"command", "error", "diagnostics", "exit_code"};
  bool only_failed_fields = line.size() == failed.size();
  for (const auto& [name, ignored] : line.items()) only_failed_fields &= failed.contains(name);
  if (only_failed_fields) return "failed-document.json";
  return line.value("command", std::string("?")) + ".json";
}

std::vector<std::string> json_output_violations(const std::string& out) {
  std::vector<std::string> violations;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const json value = json::parse(line, nullptr, false);
    if (value.is_discarded()) {
      violations.push_back(line + ": not JSON");
      continue;
    }
    const std::string file = schema_file_for(value);
    for (const std::string& error : published_schemas().validate(value, file)) {
      violations.push_back(line + ": " + file + ": " + error);
    }
  }
  return violations;
}

}  // namespace dbmig::test
