// The secrets of a SQL text (redact.h): PASSWORD literals and the
// passwords of connection strings inside literals, found by one tolerant pass
// that never copies the text (a failing 50 MB step is read once).
#include <strings.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/redact.h"
#include "db/redact_detail.h"

namespace dbmig::db {
namespace {

using namespace redact_detail;

enum class SqlKind { word, literal, other };

// A token of a SQL text, by position only (a failing 50 MB step is scanned
// without copying it): a literal's content is [content_begin, content_end),
// decoded by literal_content().
struct SqlToken {
  SqlKind kind = SqlKind::other;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t content_begin = 0;
  std::size_t content_end = 0;
  bool quoted = false;   // '...' ('' doubles a quote), else $tag$...$tag$
  bool escapes = false;  // E'...': backslash escapes too
};

std::size_t skip_comment(std::string_view sql, std::size_t i) {
  if (sql.substr(i, 2) == "--") {
    const std::size_t end = sql.find('\n', i);
    return end == std::string_view::npos ? sql.size() : end + 1;
  }
  int depth = 0;
  while (i < sql.size()) {
    if (sql.substr(i, 2) == "/*") {
      ++depth;
      i += 2;
    } else if (sql.substr(i, 2) == "*/") {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

// A quoted literal whose quote is at `quote`; to the end when unterminated.
SqlToken quoted_literal(std::string_view sql, std::size_t begin, std::size_t quote, bool escapes) {
  SqlToken token{SqlKind::literal, begin, sql.size(), quote + 1, sql.size(), true, escapes};
  std::size_t i = quote + 1;
  while (i < sql.size()) {
    if ((escapes && sql[i] == '\\') ||
        (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'')) {
      i += 2;
    } else if (sql[i] == '\'') {
      token.content_end = i;
      token.end = i + 1;
      return token;
    } else {
      ++i;
    }
  }
  return token;
}

// $tag$ ... $tag$ from `begin`, or nullopt when `begin` starts no tag.
std::optional<SqlToken> dollar_literal(std::string_view sql, std::size_t begin) {
  std::size_t i = begin + 1;
  while (i < sql.size() && is_word_char(sql[i]) && sql[i] != '$') ++i;
  if (i >= sql.size() || sql[i] != '$') return std::nullopt;
  const std::string_view tag = sql.substr(begin, i + 1 - begin);
  const std::size_t close = sql.find(tag, i + 1);
  SqlToken token{SqlKind::literal, begin, sql.size(), i + 1, sql.size(), false, false};
  if (close != std::string_view::npos) {
    token.content_end = close;
    token.end = close + tag.size();
  }
  return token;
}

std::string literal_content(std::string_view sql, const SqlToken& token) {
  const std::string_view raw =
      sql.substr(token.content_begin, token.content_end - token.content_begin);
  if (!token.quoted) return std::string(raw);
  std::string content;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if ((token.escapes && raw[i] == '\\') || (raw[i] == '\'' && i + 1 < raw.size())) ++i;
    if (i < raw.size()) content += raw[i];
  }
  return content;
}

// The token that starts at `i` (not a space or comment).
SqlToken token_at(std::string_view sql, std::size_t i) {
  const char c = sql[i];
  if (c == '\'') return quoted_literal(sql, i, i, false);
  if ((c == 'e' || c == 'E') && i + 1 < sql.size() && sql[i + 1] == '\'') {
    return quoted_literal(sql, i, i + 1, true);
  }
  if (c == '$') {
    if (auto literal = dollar_literal(sql, i)) return *literal;
  }
  if (c == '"') {
    const std::size_t close = sql.find('"', i + 1);
    return {SqlKind::other, i, close == std::string_view::npos ? sql.size() : close + 1};
  }
  if (is_word_char(c)) {
    std::size_t end = i;
    while (end < sql.size() && is_word_char(sql[end])) ++end;
    return {SqlKind::word, i, end};
  }
  return {SqlKind::other, i, i + 1};
}

bool is_word(std::string_view sql, const SqlToken& token, std::string_view lower_word) {
  if (token.kind != SqlKind::word || token.end - token.begin != lower_word.size()) return false;
  return strncasecmp(sql.data() + token.begin, lower_word.data(), lower_word.size()) == 0;
}

// What a statement scan found: the spans after PASSWORD that hold a
// password (literal or bare word) and every secret in the forms to mask.
struct PasswordSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool literal = false;
};

struct StatementScan {
  std::vector<PasswordSpan> spans;
  std::vector<std::string> secrets;
};

StatementScan scan_statement(std::string_view sql);

// One pass over `sql`: a PASSWORD followed by a literal (or, in a statement
// naming a ROLE, USER or GROUP, by a bare word other than NULL), and every
// literal that holds a connection string.
StatementScan scan_statement(std::string_view sql) {
  StatementScan scan;
  if (!looks_like_connection_string(sql)) return scan;
  bool after_password = false;
  bool role_statement = false;
  std::size_t i = 0;
  while (i < sql.size()) {
    if (is_space(sql[i])) {
      ++i;
      continue;
    }
    if (sql.substr(i, 2) == "--" || sql.substr(i, 2) == "/*") {
      i = skip_comment(sql, i);
      continue;
    }
    const SqlToken token = token_at(sql, i);
    const std::string_view raw = sql.substr(token.begin, token.end - token.begin);
    if (after_password && token.kind == SqlKind::literal) {
      scan.spans.push_back({token.begin, token.end, true});
      add_forms(scan.secrets, literal_content(sql, token));
      add_forms(scan.secrets, raw);
    } else if (after_password && token.kind == SqlKind::word && role_statement &&
               !is_word(sql, token, "null")) {
      scan.spans.push_back({token.begin, token.end, false});
      add_forms(scan.secrets, raw);
    }
    after_password = is_word(sql, token, "password");
    if (is_word(sql, token, "role") || is_word(sql, token, "user") ||
        is_word(sql, token, "group")) {
      role_statement = true;
    }
    if (token.kind == SqlKind::other && raw == ";") role_statement = false;
    if (token.kind == SqlKind::literal && looks_like_connection_string(raw)) {
      const std::string content = literal_content(sql, token);
      for (const std::string& secret : secrets_of(content, SecretKeys::password_only)) {
        add_forms(scan.secrets, secret);
      }
      // A connection string anywhere inside a longer text.
      for (std::size_t at = content.find("postgres"); at != std::string::npos;
           at = content.find("postgres", at + 1)) {
        for (const std::string& secret :
             secrets_of(std::string_view(content).substr(at), SecretKeys::password_only)) {
          add_forms(scan.secrets, secret);
        }
      }
    }
    i = std::max(token.end, i + 1);
  }
  return scan;
}

}  // namespace

std::vector<std::string> statement_secrets(std::string_view sql) {
  return scan_statement(sql).secrets;
}

RedactedStatement redact_statement_with_secrets(std::string_view sql) {
  StatementScan scan = scan_statement(sql);
  if (scan.spans.empty() && scan.secrets.empty()) return {std::string(sql), {}};
  std::string out;
  std::size_t copied = 0;
  for (const PasswordSpan& span : scan.spans) {
    out += sql.substr(copied, span.begin - copied);
    out += span.literal ? "'" + std::string(kSecretMask) + "'" : std::string(kSecretMask);
    copied = span.end;
  }
  out += sql.substr(std::min(copied, sql.size()));
  return {hide_secrets(out, scan.secrets), std::move(scan.secrets)};
}

std::string redact_statement(std::string_view sql) {
  return redact_statement_with_secrets(sql).text;
}

}  // namespace dbmig::db
