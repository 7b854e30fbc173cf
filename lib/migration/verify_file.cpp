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
  out.append(step_file_name).append(" (sha256 ").append(step_sha256);
  out.append(", format ").append(std::to_string(kVerifyFormat)).append("). DO NOT EDIT.\n");
  for (const sql::Change& change : changes) {
    out.append("-- ").append(one_line(sql::describe_change(change, dialect))).append("\n");
    out.append(sql::verify_query(change, dialect)).append(";\n");
  }
  return out;
}

bool is_generated_verify_file(std::string_view content) {
  return content.starts_with(kVerifyHeaderPrefix);
}

namespace {

std::string_view first_line(std::string_view content) {
  return content.substr(0, content.find('\n'));
}

}  // namespace

std::optional<int> verify_file_format(std::string_view content) {
  if (!is_generated_verify_file(content)) return std::nullopt;
  const std::string_view header = first_line(content);
  constexpr std::string_view kFormat = ", format ";
  const std::size_t at = header.rfind(kFormat);
  if (at == std::string_view::npos) return 1;
  int format = 0;
  for (std::size_t i = at + kFormat.size();
       i < header.size() && header[i] >= '0' && header[i] <= '9'; ++i) {
    format = format * 10 + (header[i] - '0');
  }
  return format;
}

bool is_outdated_verify_file(std::string_view content, std::string_view step_sha256) {
  const auto format = verify_file_format(content);
  if (!format || *format >= kVerifyFormat) return false;
  const std::string hash = " (sha256 " + std::string(step_sha256);
  return first_line(content).find(hash) != std::string_view::npos;
}

}  // namespace dbmig::migration
