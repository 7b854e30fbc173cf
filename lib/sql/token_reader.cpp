#include "sql/token_reader.h"

#include <algorithm>
#include <cstdint>

#include "core/text.h"
#include "sql/quoting.h"

namespace dbmig::sql {
namespace {

constexpr std::size_t kPostgresMaxNameBytes = 63;  // NAMEDATALEN - 1
constexpr int kUnicodeIdentifier = 259;            // libpg_query's UIDENT token

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<std::uint32_t> parse_hex(std::string_view text) {
  std::uint32_t value = 0;
  for (char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<std::uint32_t>(digit);
  }
  return value;
}

// Decodes the body of U&"..." with escape character `escape`: \XXXX,
// \+XXXXXX and a doubled escape. Nullopt on a malformed escape.
std::optional<std::string> decode_unicode_escapes(std::string_view body, char escape) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != escape) {
      out += body[i];
      continue;
    }
    if (i + 1 < body.size() && body[i + 1] == escape) {
      out += escape;
      ++i;
      continue;
    }
    const bool wide = i + 1 < body.size() && body[i + 1] == '+';
    const std::size_t digits = wide ? 6 : 4;
    const std::size_t start = i + (wide ? 2 : 1);
    if (start + digits > body.size()) return std::nullopt;
    auto cp = parse_hex(body.substr(start, digits));
    if (!cp || *cp > 0x10FFFF || *cp == 0) return std::nullopt;
    append_utf8(out, *cp);
    i = start + digits - 1;
  }
  return out;
}

// The text between the outer double quotes with "" unescaped.
std::string unquote(std::string_view quoted) {
  std::string out;
  const std::string_view body = quoted.substr(1, quoted.size() - 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    if (body[i] == '"' && i + 1 < body.size() && body[i + 1] == '"') ++i;
  }
  return out;
}

// Cuts `name` to PostgreSQL's 63 bytes without splitting a UTF-8 character.
std::string truncate_name(std::string name) {
  if (name.size() <= kPostgresMaxNameBytes) return name;
  std::size_t cut = kPostgresMaxNameBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  name.resize(cut);
  return name;
}

}  // namespace

std::string QualifiedName::quoted() const {
  std::string out;
  for (const std::string* part : {&database, &schema}) {
    if (!part->empty()) out += quote_identifier(*part) + ".";
  }
  return out + quote_identifier(name);
}

std::string fold_identifier(std::string_view text, char escape, Dialect dialect) {
  std::string folded;
  if (text.starts_with('"')) {
    folded = unquote(text);
  } else if (text.size() > 2 && (text[0] == 'U' || text[0] == 'u') && text[1] == '&') {
    const std::string body = unquote(text.substr(2));
    folded = decode_unicode_escapes(body, escape).value_or(body);
  } else {
    folded = ascii_lower(text);
  }
  return dialect == Dialect::postgres ? truncate_name(std::move(folded)) : folded;
}

TokenReader::TokenReader(const Statement& statement, std::string_view source, Dialect dialect)
    : source_(source), dialect_(dialect) {
  for (const Token& token : statement.tokens) {
    if (token.kind != TokenKind::comment) tokens_.push_back(token);
  }
}

std::size_t TokenReader::offset(std::size_t i) const {
  return i < tokens_.size() ? tokens_[i].begin : (tokens_.empty() ? 0 : tokens_.back().end);
}

bool TokenReader::word(std::size_t i, std::string_view lower) const {
  return i < tokens_.size() && is_word(tokens_[i], source_, lower);
}

bool TokenReader::words(std::size_t i, std::initializer_list<std::string_view> lowers) const {
  return std::all_of(lowers.begin(), lowers.end(),
                     [&](std::string_view lower) { return word(i++, lower); });
}

bool TokenReader::punct(std::size_t i, char c) const {
  return i < tokens_.size() && tokens_[i].is(c);
}

bool TokenReader::op(std::size_t i, std::string_view op) const {
  return i < tokens_.size() && tokens_[i].kind == TokenKind::op && text(i) == op;
}

bool TokenReader::name_at(std::size_t i) const {
  return i < tokens_.size() &&
         (tokens_[i].kind == TokenKind::identifier || tokens_[i].kind == TokenKind::keyword);
}

std::size_t TokenReader::skip_group(std::size_t i) const {
  int depth = 0;
  for (; i < tokens_.size(); ++i) {
    if (punct(i, '(') || punct(i, '[')) ++depth;
    if ((punct(i, ')') || punct(i, ']')) && --depth == 0) return i + 1;
  }
  return tokens_.size();
}

std::string_view TokenReader::identifier_text(std::size_t i) const {
  const Token& token = tokens_[i];
  if (token.raw != kUnicodeIdentifier || source_.substr(token.begin, 3).size() < 3 ||
      source_[token.begin + 1] != '&' || source_[token.begin + 2] != '"') {
    return text(i);
  }
  std::size_t end = token.begin + 3;
  while (end < source_.size()) {
    if (source_[end] == '"' && (end + 1 >= source_.size() || source_[end + 1] != '"')) break;
    end += source_[end] == '"' ? 2 : 1;
  }
  return source_.substr(token.begin, std::min(end + 1, source_.size()) - token.begin);
}

std::pair<std::string, std::size_t> TokenReader::identifier(std::size_t i) const {
  char escape = '\\';
  std::size_t next = i + 1;
  if (word(next, "uescape") && next + 1 < size() && at(next + 1).kind == TokenKind::string) {
    const std::string_view literal = text(next + 1);
    if (literal.size() == 3) escape = literal[1];
    next += 2;
  }
  return {fold_identifier(identifier_text(i), escape, dialect_), next};
}

std::optional<std::pair<QualifiedName, std::size_t>> TokenReader::qualified_name(
    std::size_t i) const {
  if (!name_at(i)) return std::nullopt;
  std::vector<std::string> parts;
  auto [first, next] = identifier(i);
  parts.push_back(std::move(first));
  while (parts.size() < 3 && punct(next, '.') && name_at(next + 1)) {
    auto [part, after] = identifier(next + 1);
    parts.push_back(std::move(part));
    next = after;
  }
  QualifiedName name;
  name.name = parts.back();
  if (parts.size() >= 2) name.schema = parts[parts.size() - 2];
  if (parts.size() == 3) name.database = parts[0];
  return std::pair{name, next};
}

}  // namespace dbmig::sql
