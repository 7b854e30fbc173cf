// redact_password (declared in connection.h). Two syntaxes, as libpq reads
// them: a URL (postgres:// or postgresql://) whose password is the part of
// the userinfo after the first ':' or a `password` query parameter; and a
// key=value string whose `password` value is a bare word or a single-quoted
// string with backslash escapes. Where the input is ambiguous it errs toward
// hiding more: the userinfo ends at the LAST '@' before the query.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "db/connection.h"

namespace dbmig::db {
namespace {

constexpr std::string_view kMask = "********";

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string redact_query(std::string_view query) {
  std::string out;
  std::size_t begin = 0;
  while (begin <= query.size()) {
    std::size_t end = query.find('&', begin);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(begin, end - begin);
    if (pair.starts_with("password=")) {
      out += "password=";
      out += kMask;
    } else {
      out += pair;
    }
    if (end == query.size()) break;
    out += '&';
    begin = end + 1;
  }
  return out;
}

std::string redact_url(std::string_view url, std::size_t after_scheme) {
  const std::size_t query_start = std::min(url.find('?', after_scheme), url.size());
  std::string_view head = url.substr(0, query_start);
  std::string out;
  const std::size_t at = head.rfind('@');
  const std::size_t colon = head.find(':', after_scheme);
  if (at != std::string_view::npos && at >= after_scheme && colon != std::string_view::npos &&
      colon < at) {
    out += head.substr(0, colon + 1);
    out += kMask;
    out += head.substr(at);
  } else {
    out += head;
  }
  if (query_start < url.size()) {
    out += '?';
    out += redact_query(url.substr(query_start + 1));
  }
  return out;
}

// Length of the value starting at `text[begin]`: a quoted string (with
// backslash escapes) or a bare word up to whitespace.
std::size_t value_length(std::string_view text, std::size_t begin) {
  std::size_t i = begin;
  if (i < text.size() && text[i] == '\'') {
    ++i;
    while (i < text.size() && text[i] != '\'') i += text[i] == '\\' ? 2 : 1;
    return std::min(i + 1, text.size()) - begin;
  }
  while (i < text.size() && !is_space(text[i])) i += text[i] == '\\' ? 2 : 1;
  return std::min(i, text.size()) - begin;
}

std::string redact_key_value(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      out += text[i++];
      continue;
    }
    std::size_t key_end = i;
    while (key_end < text.size() && text[key_end] != '=' && !is_space(text[key_end])) ++key_end;
    const std::string_view key = text.substr(i, key_end - i);
    std::size_t equals = key_end;
    while (equals < text.size() && is_space(text[equals])) ++equals;
    if (equals >= text.size() || text[equals] != '=') {  // malformed: keep as is
      out += text.substr(i, equals - i);
      i = equals;
      continue;
    }
    std::size_t value = equals + 1;
    while (value < text.size() && is_space(text[value])) ++value;
    const std::size_t length = value_length(text, value);
    out += text.substr(i, value - i);
    if (key == "password") {
      out += kMask;
    } else {
      out += text.substr(value, length);
    }
    i = value + length;
  }
  return out;
}

}  // namespace

std::string redact_password(std::string_view conninfo) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (conninfo.starts_with(scheme)) return redact_url(conninfo, scheme.size());
  }
  return redact_key_value(conninfo);
}

}  // namespace dbmig::db
