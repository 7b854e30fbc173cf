// Splitting a step file into statements.
//
// split_statements() walks the PostgreSQL scanner's tokens (scanner.h) and
// cuts at every top-level `;`. A `;` does not end a statement inside
// parentheses or inside a `BEGIN ATOMIC ... END` body of CREATE [OR REPLACE]
// FUNCTION/PROCEDURE (the same rule psql applies). Statement spans exclude
// surrounding whitespace, comments and the `;`, so that the statements and
// the text between them reproduce the file byte for byte.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "sql/scanner.h"

namespace dbmig::sql {

struct Statement {
  std::size_t begin = 0;      // byte offset of the statement's first non-comment token
  std::size_t end = 0;        // byte offset one past its last token (before any `;`)
  int line = 1;               // 1-based position of `begin`
  int column = 1;
  bool terminated = false;    // a `;` follows (the last statement may lack one)
  std::vector<Token> tokens;  // the statement's tokens (comments included), offsets into the file

  [[nodiscard]] std::string_view text(std::string_view source) const {
    return source.substr(begin, end - begin);
  }
};

struct SplitError {
  std::size_t offset = 0;  // byte offset of the problem in the source
  int line = 1;            // 1-based position of offset
  int column = 1;
  std::string message;     // e.g. "unterminated quoted string"
  std::string hint;        // e.g. "close the string with '"
};

// Statements of `source` in order. A source holding only whitespace and
// comments yields no statement. Fails on a lexical error (unterminated
// quote/comment/dollar quote...) or an unbalanced parenthesis / BEGIN ATOMIC
// body at end of input, with the position where the construct started.
[[nodiscard]] std::expected<std::vector<Statement>, SplitError> split_statements(
    std::string_view source);

}  // namespace dbmig::sql
