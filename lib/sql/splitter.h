// Splitting a step file into statements.
//
// split_statements() walks the PostgreSQL scanner's tokens (scanner.h) and
// cuts at every top-level `;`, exactly where psql would send a command: a
// `;` does not end a statement inside parentheses (PostgreSQL's multi-action
// `CREATE RULE ... DO ALSO (...; ...)`) or inside a `BEGIN ATOMIC ... END`
// body of CREATE [OR REPLACE] FUNCTION/PROCEDURE (psql's BEGIN/CASE/END
// counting heuristic). Statement spans exclude surrounding whitespace,
// comments and the `;`, so that the statements and the text between them
// reproduce the file byte for byte, and the text between them holds only
// whitespace, comments and `;`.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "sql/scanner.h"

namespace dbmig::sql {

struct Statement {
  std::size_t begin = 0;  // byte offset of the statement's first non-comment token
  std::size_t end = 0;    // byte offset one past its last token (before any `;`)
  int line = 1;           // 1-based position of `begin`
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
  std::string message;  // e.g. "unterminated quoted string"
  std::string hint;     // e.g. "close the string with '"
};

// Statements of `source` in order. A source holding only whitespace,
// comments and `;` yields no statement; empty statements (`;;`) yield none.
// Fails, with the position where the construct started and a hint, on:
// every lexical error of the PostgreSQL scanner (unterminated quoted string,
// quoted identifier, dollar quote or /* comment, bad Unicode escape, trailing
// junk after a number, ...); a NUL byte; a `)` without its `(` (psql would
// ignore it); a `(` or a BEGIN ATOMIC body still open at end of input (psql
// would wait for more input). Linear in the size of `source`.
[[nodiscard]] std::expected<std::vector<Statement>, SplitError> split_statements(
    std::string_view source);

}  // namespace dbmig::sql
