// The JSON Schema subset validator of test/support (json_schema.h), and the
// published schemas themselves: every file uses only that subset, and the
// examples docs/json.md shows are valid.
#include "support/json_schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/file_tree.h"

namespace dbmig::test {
namespace {

using nlohmann::json;

struct Row {
  std::string value;
  std::string schema;
  std::string violation;  // "" = valid; else a part of the one expected violation
};

TEST(JsonSchema, ValidatesTheSubsetItDocuments) {
  const std::vector<Row> rows = {
      {R"("x")", R"({"type": "string"})", ""},
      {R"(1)", R"({"type": "string"})", "is not of type"},
      {R"(null)", R"({"type": ["string", "null"]})", ""},
      {R"(1.5)", R"({"type": "integer"})", "is not of type"},
      {R"(1.5)", R"({"type": "number"})", ""},
      {R"("b")", R"({"enum": ["a", "b"]})", ""},
      {R"("c")", R"({"enum": ["a", "b"]})", "is not one of"},
      {R"({"a": 1})", R"({"type": "object", "required": ["a", "b"]})", "required property b"},
      {R"({"a": 1, "z": 2})",
       R"({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false})",
       "property z is not in the schema"},
      {R"({"a": "x"})", R"({"type": "object", "properties": {"a": {"type": "integer"}}})",
       "/a: \"x\" is not of type"},
      {R"({"z": "x"})", R"({"type": "object", "additionalProperties": {"type": "integer"}})",
       "/z:"},
      {R"([1, "x"])", R"({"type": "array", "items": {"type": "integer"}})", "/1:"},
      {R"({"a": 1})", R"({"$ref": "other.json"})", "required property b"},
      {R"(1)", R"({"minimum": 0})", "unsupported keyword minimum"},
  };
  for (const Row& row : rows) {
    TempTree tree(
        {{"schema.json", row.schema}, {"other.json", R"({"type": "object", "required": ["b"]})"}});
    JsonSchemas schemas(tree.root());
    const std::vector<std::string> violations =
        schemas.validate(json::parse(row.value), "schema.json");
    if (row.violation.empty()) {
      EXPECT_TRUE(violations.empty())
          << row.value << " against " << row.schema << ": " << violations.front();
      continue;
    }
    ASSERT_EQ(violations.size(), 1U) << row.value << " against " << row.schema;
    EXPECT_NE(violations.front().find(row.violation), std::string::npos)
        << row.value << " against " << row.schema << ": " << violations.front();
  }
}

TEST(JsonSchema, TheExamplesOfDocsJsonMdAreValid) {
  std::ifstream in(std::string(DBMIG_SOURCE_DIR) + "/docs/json.md");
  ASSERT_TRUE(in);
  int examples = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("{\"")) continue;
    ++examples;
    const json value = json::parse(line);
    const std::string file = schema_file_for(value);
    for (const std::string& violation : published_schemas().validate(value, file)) {
      ADD_FAILURE() << line << ": " << file << ": " << violation;
    }
  }
  EXPECT_GE(examples, 4);
}

}  // namespace
}  // namespace dbmig::test
