// The parts of classify_statement() (classify.h), one file per concern:
// classify.cpp reads the kind, the command and whether the statement can run
// in a transaction block; classify_changes.cpp the changes that need proof
// and the unnamed-object warnings; classify_dialect.cpp the syntax the target
// dialect cannot run. Internal to lib/sql.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "sql/classify.h"
#include "sql/token_reader.h"

namespace dbmig::sql::classify_detail {

// What every part reads and writes: the statement's tokens and the
// classification being built. Findings are placed at a token's offset.
class ClassifierPart {
 public:
  // Reads `w` (the tokens of `statement`, names folded for w.dialect()) into `out`.
  ClassifierPart(const TokenReader& w, const Statement& statement, Classification& out)
      : w_(w), statement_(statement), dialect_(w.dialect()), out_(out) {}

 protected:
  // Adds a warning with rule id `rule` at token i.
  void warn(std::string_view rule, std::size_t i, std::string message, std::string hint);
  // Adds an error with rule id `rule` at token i.
  void error(std::string_view rule, std::size_t i, std::string message, std::string hint);
  // Adds a rerun hazard (a warning that matters only outside a transaction) at token i.
  void rerun_hazard(std::size_t i, std::string message, std::string hint);

  const TokenReader& w_;
  const Statement& statement_;
  Dialect dialect_;
  Classification& out_;
};

// ASCII upper case of `text` (other bytes unchanged).
[[nodiscard]] std::string ascii_upper(std::string_view text);

// True when token i is one of the lower-case words in `list`.
template <std::size_t N>
[[nodiscard]] bool word_in(const TokenReader& w, std::size_t i,
                           const std::array<const char*, N>& list) {
  return std::any_of(list.begin(), list.end(), [&](const char* x) { return w.word(i, x); });
}

// The position of INDEX in CREATE [UNIQUE|INVERTED...] INDEX, or 0 when the
// statement does not create an index this way.
[[nodiscard]] std::size_t index_word_position(const TokenReader& w);

// Adds the changes of CREATE INDEX, REINDEX ... CONCURRENTLY and ALTER TABLE
// ... ADD/VALIDATE CONSTRAINT to `out` (with their unnamed-object warnings
// and rerun hazards). Never fails: an unrecognised statement adds nothing.
void read_changes(const TokenReader& w, const Statement& statement, Classification& out);

// Adds an error for syntax that w.dialect() cannot run (and, on postgres, a
// warning when PostgreSQL's grammar rejects the statement without such a
// reason, or reads a CockroachDB look-alike differently) to `out`.
void check_dialect(const TokenReader& w, const Statement& statement, Classification& out);

}  // namespace dbmig::sql::classify_detail
