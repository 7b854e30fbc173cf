// The PostgreSQL lexer, through libpg_query.
//
// scan() runs the real PostgreSQL 15 scanner (pg_query_scan) over a text and
// returns every token, comments included, with byte offsets into that text.
// Everything else in dbmig that needs to know where a string, identifier,
// comment or keyword starts and ends builds on these tokens, so that dbmig
// lexes exactly as the server does. CockroachDB-only syntax (`:::`, `@`,
// STORING, ...) is lexically PostgreSQL and scans without error.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace dbmig::sql {

enum class TokenKind {
  keyword,      // any PostgreSQL keyword, reserved or not (CREATE, INDEX, begin, ...)
  identifier,   // unquoted or "quoted" identifier (U&"..." included)
  string,       // '...', E'...', U&'...', $tag$...$tag$, B'...', X'...'
  number,       // integer or floating point constant
  parameter,    // $1
  op,           // operators, including `::` and `=>`
  punctuation,  // single characters: ( ) , ; . [ ] : = etc.
  comment,      // -- line comment or /* block comment */
};

struct Token {
  std::uint32_t begin = 0;  // byte offset of the first byte
  std::uint32_t end = 0;    // byte offset one past the last byte
  TokenKind kind = TokenKind::punctuation;
  int raw = 0;  // libpg_query's Token enum value (ASCII code for punctuation)

  [[nodiscard]] std::string_view text(std::string_view source) const {
    return source.substr(begin, end - begin);
  }
  // True for a single-character punctuation token equal to `c`.
  [[nodiscard]] bool is(char c) const { return kind == TokenKind::punctuation && raw == c; }
};

struct ScanError {
  std::size_t offset = 0;  // byte offset the scanner points at (start of the bad token)
  std::string message;     // the scanner's message, e.g. "unterminated quoted string"
};

// Tokens of `source` in order. Whitespace is not a token: the bytes between
// two tokens are whitespace only. Fails on a lexical error (unterminated
// quote, comment or dollar quote, bad escape, ...) with the scanner's message
// and the offset it reports. Thread-safe.
// Linear in the size of `source`, runs of operator characters included
// (operator_runs.h).
[[nodiscard]] std::expected<std::vector<Token>, ScanError> scan(std::string_view source);

namespace detail {
// pg_query_scan's tokens of `source` as they come (quadratic in long runs of
// operator characters); the oracle that scan() is tested against.
[[nodiscard]] std::expected<std::vector<Token>, ScanError> scan_unchanged(std::string_view source);
// scan() with find_operator_regions()'s thresholds given, so that tests can
// make every run of operator characters a region.
[[nodiscard]] std::expected<std::vector<Token>, ScanError> scan_with_regions(
    std::string_view source, std::size_t cost_factor, std::size_t min_cost);
}  // namespace detail

// True when `token` is a keyword or unquoted identifier spelled `word`
// (ASCII case-insensitive). `word` must be lower case.
[[nodiscard]] bool is_word(const Token& token, std::string_view source, std::string_view word);

}  // namespace dbmig::sql
