#include "migration/version_name.h"

#include <algorithm>

namespace dbmig::migration {
namespace {

bool is_separator(char c) { return c == '.' || c == '_'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Compares decimal digit strings without leading zeros as numbers.
bool number_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

}  // namespace

bool is_flyway_version(std::string_view version) {
  bool part_empty = true;
  for (const char c : version) {
    if (is_separator(c)) {
      if (part_empty) return false;
      part_empty = true;
    } else if (is_digit(c)) {
      part_empty = false;
    } else {
      return false;
    }
  }
  return !part_empty;
}

std::vector<std::string> flyway_version_parts(std::string_view version) {
  std::vector<std::string> parts(1);
  for (const char c : version) {
    if (is_separator(c)) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  for (std::string& part : parts) {
    part.erase(0, std::min(part.find_first_not_of('0'), part.size() - 1));
  }
  while (parts.size() > 1 && parts.back() == "0") parts.pop_back();
  return parts;
}

std::string flyway_version_name(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : ".") + part;
  return out;
}

bool flyway_version_less(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), number_less);
}

}  // namespace dbmig::migration
