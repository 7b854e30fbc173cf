// A small JSON Schema validator for the schemas dbmig publishes in
// docs/json-schema/ (nlohmann_json has none). It implements exactly the
// subset those schemas use, and a schema using anything else is rejected
// (so that a keyword is never silently ignored):
//   type                  "object" | "array" | "string" | "integer" |
//                         "number" | "boolean" | "null", or an array of them
//   required              array of property names
//   properties            object: name -> schema
//   additionalProperties  false, or a schema for the properties not listed
//   items                 schema of every array element
//   enum                  array of allowed values
//   $ref                  "<file>.json": another schema file of the same directory
//   title, description    ignored (documentation)
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dbmig::test {

class JsonSchemas {
 public:
  // The schema files of `directory` (*.json), loaded on demand.
  explicit JsonSchemas(std::filesystem::path directory);

  // Every violation of `value` against schema file `file` ("status.json"),
  // each as "<json pointer>: what"; empty when it is valid. A missing or
  // unreadable schema file, or a keyword outside the subset, is a violation.
  [[nodiscard]] std::vector<std::string> validate(const nlohmann::json& value,
                                                  const std::string& file);

 private:
  const nlohmann::json* load(const std::string& file, std::vector<std::string>& errors);
  void check(const nlohmann::json& value, const nlohmann::json& schema, const std::string& where,
             std::vector<std::string>& errors);
  void check_object(const nlohmann::json& value, const nlohmann::json& schema,
                    const std::string& where, std::vector<std::string>& errors);
  std::filesystem::path directory_;
  std::map<std::string, nlohmann::json> loaded_;
};

// The schemas published in the source tree (DBMIG_SOURCE_DIR/docs/json-schema).
JsonSchemas& published_schemas();

// The schema file for one line of dbmig's JSON output: an event
// ("event" present: "event-<type>.json"), a failed document (only command,
// error, diagnostics, exit_code: "failed-document.json"), or the document of
// its command ("<command>.json").
[[nodiscard]] std::string schema_file_for(const nlohmann::json& line);

// Every violation of each stdout line of a --json run (each line must be
// one JSON value), prefixed with the line; empty when all are valid.
[[nodiscard]] std::vector<std::string> json_output_violations(const std::string& out);

// The same for the output of an engine command run in the test process:
// app/ adds "diagnostics" to a document (app/output.h), so a document line
// without it is checked with an empty list added. Each violation is also a
// gtest ADD_FAILURE.
void expect_valid_engine_json(const std::string& out);

}  // namespace dbmig::test
