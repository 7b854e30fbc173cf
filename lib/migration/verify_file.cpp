#include "migration/verify_file.h"

#include <algorithm>

#include "sql/verify_query.h"

namespace dbmig::migration {
namespace {

// A comment line must stay one line whatever describe_change() returns.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

}  // namespace

std::optional<std::string> render_verify_file(std::string_view step_file_name,
                                              std::string_view step_sha256,
                                              const std::vector<sql::Change>& changes,
                                              sql::Dialect dialect) {
  if (changes.empty()) return std::nullopt;
  std::string out(kVerifyHeaderPrefix);
  out.append(step_file_name).append(" (sha256 ").append(step_sha256).append("). DO NOT EDIT.\n");
  for (const sql::Change& change : changes) {
    out.append("-- ").append(one_line(sql::describe_change(change, dialect))).append("\n");
    out.append(sql::verify_query(change, dialect)).append(";\n");
  }
  return out;
}

bool is_generated_verify_file(std::string_view content) {
  return content.starts_with(kVerifyHeaderPrefix);
}

}  // namespace dbmig::migration
