// split_statements() is one pass over the scanner's tokens with three pieces
// of state: the parenthesis depth, psql's BEGIN ... END heuristic for SQL
// function bodies (RoutineBodyTracker) and the token range of the statement
// being collected. It mirrors psqlscan.l (PostgreSQL 14+) exactly where psql
// decides whether a `;` ends a command:
//
//   - `(` and `)` nest; a `;` inside parentheses belongs to the statement
//     (`CREATE RULE ... DO ALSO (INSERT ...; INSERT ...)` is one statement);
//   - a statement whose first words are CREATE [OR REPLACE] FUNCTION|PROCEDURE
//     counts BEGIN (+1), CASE (+1 only inside a BEGIN) and END (-1) at
//     parenthesis depth 0, and a `;` inside that count does not end it.
//
// Where psql tolerates broken input and keeps reading, dbmig reports an error
// instead: a `)` without its `(` (psql ignores it), and a `(` or BEGIN body
// still open at end of file (psql would wait for more input).
//
// Cost: scan() (libpg_query's pg_query_scan) dominates; the pass here adds
// about a tenth and allocates only the statement vectors.
#include "sql/splitter.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "core/diagnostic.h"

namespace dbmig::sql {
namespace {

// True for an unquoted word: psql's {identifier}, i.e. a keyword or an
// identifier that is not "quoted" or U&"quoted".
bool is_unquoted_word(const Token& token, std::string_view source) {
  if (token.kind == TokenKind::keyword) return true;
  if (token.kind != TokenKind::identifier) return false;
  const char first = source[token.begin];
  if (first == '"') return false;
  const bool unicode_quoted = (first == 'u' || first == 'U') && token.end - token.begin > 1 &&
                              source[token.begin + 1] == '&';
  return !unicode_quoted;
}

// psql's heuristic for `BEGIN ATOMIC ... END` bodies of SQL functions and
// procedures. Fed every unquoted word of one statement in order.
class RoutineBodyTracker {
 public:
  void on_word(const Token& word, std::string_view source, int paren_depth) {
    record_leading_word(word, source);
    if (paren_depth != 0 || !defines_routine()) return;
    if (is_word(word, source, "begin")) {
      if (depth_ == 0) outermost_begin_ = word.begin;
      ++depth_;
    } else if (is_word(word, source, "case")) {
      if (depth_ >= 1) ++depth_;
    } else if (is_word(word, source, "end")) {
      if (depth_ > 0) --depth_;
    }
  }

  // True while a `;` would fall inside a function body.
  [[nodiscard]] bool inside_body() const { return depth_ > 0; }
  // Offset of the BEGIN that opened the current body.
  [[nodiscard]] std::size_t body_begin() const { return outermost_begin_; }

 private:
  // Like psql: the first letter of each of the first four words, kept only
  // for the words create/function/procedure/or/replace.
  void record_leading_word(const Token& word, std::string_view source) {
    if (words_seen_ < leading_.size()) {
      for (std::string_view w : {"create", "function", "procedure", "or", "replace"}) {
        if (is_word(word, source, w)) {
          leading_[words_seen_] = w.front();
          break;
        }
      }
    }
    ++words_seen_;
  }

  // CREATE FUNCTION, CREATE PROCEDURE, CREATE OR REPLACE FUNCTION|PROCEDURE.
  [[nodiscard]] bool defines_routine() const {
    if (leading_[0] != 'c') return false;
    if (leading_[1] == 'f' || leading_[1] == 'p') return true;
    return leading_[1] == 'o' && leading_[2] == 'r' && (leading_[3] == 'f' || leading_[3] == 'p');
  }

  std::array<char, 4> leading_{};
  std::size_t words_seen_ = 0;
  int depth_ = 0;
  std::size_t outermost_begin_ = 0;
};

// Turns increasing byte offsets into 1-based line/column positions without
// rescanning the text from its start each time.
class LineTracker {
 public:
  explicit LineTracker(std::string_view source) : source_(source) {}

  TextPosition at(std::size_t offset) {
    const auto from = source_.begin() + static_cast<std::ptrdiff_t>(scanned_);
    const auto to = source_.begin() + static_cast<std::ptrdiff_t>(offset);
    for (auto it = std::find(from, to, '\n'); it != to; it = std::find(it + 1, to, '\n')) {
      ++line_;
      line_start_ = static_cast<std::size_t>(it - source_.begin()) + 1;
    }
    scanned_ = offset;
    return {line_, static_cast<int>(offset - line_start_) + 1};
  }

 private:
  std::string_view source_;
  std::size_t scanned_ = 0;
  std::size_t line_start_ = 0;
  int line_ = 1;
};

SplitError error_at(std::string_view source, std::size_t offset, std::string message,
                    std::string hint) {
  const TextPosition pos = position_at(source, offset);
  return SplitError{offset, pos.line, pos.column, std::move(message), std::move(hint)};
}

// libpg_query appends ` at or near "<rest of the token>"` (which, for an
// unterminated quote, is the whole rest of the file) or ` at end of input`.
std::string without_location_suffix(std::string message) {
  for (std::string_view suffix : {" at or near \"", " at end of input"}) {
    if (const auto at = message.find(suffix); at != std::string::npos) message.resize(at);
  }
  return message;
}

// The `$tag$` that opens the dollar quote at `offset`.
std::string_view dollar_tag_at(std::string_view source, std::size_t offset) {
  const auto close = source.find('$', offset + 1);
  if (close == std::string_view::npos) return "$$";
  return source.substr(offset, close - offset + 1);
}

std::string hint_for_scan_error(std::string_view message, std::string_view source,
                                std::size_t offset) {
  if (message == "unterminated quoted string") {
    return "close the string with a matching ' (write '' for a quote inside it)";
  }
  if (message == "unterminated quoted identifier") {
    return "close the identifier with a matching \" (write \"\" for a quote inside it)";
  }
  if (message == "unterminated dollar-quoted string") {
    return "close it with the same " + std::string(dollar_tag_at(source, offset)) +
           " that opened it";
  }
  if (message == "unterminated /* comment") {
    return "block comments nest in PostgreSQL: every /* needs its */";
  }
  if (message == "unterminated bit string literal" ||
      message == "unterminated hexadecimal string literal") {
    return "close the literal with a matching '";
  }
  if (message.starts_with("invalid Unicode")) {
    return "in E'...' strings write \\uXXXX or \\UXXXXXXXX with hexadecimal digits, a high "
           "surrogate followed by a low one";
  }
  if (message.starts_with("trailing junk after")) {
    return "separate the number or parameter from the word after it with a space";
  }
  if (message == "zero-length delimited identifier") {
    return "\"\" is not an identifier: put a name between the quotes";
  }
  return {};
}

SplitError from_scan_error(std::string_view source, const ScanError& error) {
  std::string message = without_location_suffix(error.message);
  std::string hint = hint_for_scan_error(message, source, error.offset);
  return error_at(source, error.offset, std::move(message), std::move(hint));
}

class Splitter {
 public:
  Splitter(std::string_view source, const std::vector<Token>& tokens)
      : source_(source), tokens_(tokens), lines_(source) {}

  std::expected<std::vector<Statement>, SplitError> run() {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      if (auto error = consume(i)) return std::unexpected(std::move(*error));
    }
    if (auto error = unclosed_construct()) return std::unexpected(std::move(*error));
    finish_statement(false);
    return std::move(statements_);
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  std::optional<SplitError> consume(std::size_t index) {
    const Token& token = tokens_[index];
    if (token.kind == TokenKind::comment) return std::nullopt;
    if (token.is(';') && paren_depth_ == 0 && !body_.inside_body()) {
      finish_statement(true);
      return std::nullopt;
    }
    if (first_ == kNone) first_ = index;
    last_ = index;
    if (token.is('(')) {
      if (paren_depth_ == 0) outermost_paren_ = token.begin;
      ++paren_depth_;
    } else if (token.is(')')) {
      if (paren_depth_ == 0) {
        return error_at(source_, token.begin, "unmatched )",
                        "remove this ) or add the ( it closes");
      }
      --paren_depth_;
    } else if (is_unquoted_word(token, source_)) {
      body_.on_word(token, source_, paren_depth_);
    }
    return std::nullopt;
  }

  [[nodiscard]] std::optional<SplitError> unclosed_construct() const {
    if (paren_depth_ > 0) {
      return error_at(source_, outermost_paren_, "unclosed (",
                      "add the ) that closes it; a ; inside parentheses does not end a "
                      "statement");
    }
    if (body_.inside_body()) {
      return error_at(source_, body_.body_begin(), "unterminated BEGIN ATOMIC function body",
                      "end the body with END (each CASE inside it needs its own END)");
    }
    return std::nullopt;
  }

  void finish_statement(bool terminated) {
    if (first_ != kNone) {
      Statement statement;
      statement.begin = tokens_[first_].begin;
      statement.end = tokens_[last_].end;
      const TextPosition pos = lines_.at(statement.begin);
      statement.line = pos.line;
      statement.column = pos.column;
      statement.terminated = terminated;
      const auto from = tokens_.begin() + static_cast<std::ptrdiff_t>(first_);
      const auto to = tokens_.begin() + static_cast<std::ptrdiff_t>(last_) + 1;
      statement.tokens.assign(from, to);
      statements_.push_back(std::move(statement));
    }
    first_ = kNone;
    last_ = kNone;
    body_ = RoutineBodyTracker{};
  }

  std::string_view source_;
  const std::vector<Token>& tokens_;
  LineTracker lines_;
  std::vector<Statement> statements_;
  std::size_t first_ = kNone;  // index of the statement's first non-comment token
  std::size_t last_ = kNone;   // index of its last non-comment token so far
  int paren_depth_ = 0;
  std::size_t outermost_paren_ = 0;
  RoutineBodyTracker body_;
};

}  // namespace

std::expected<std::vector<Statement>, SplitError> split_statements(std::string_view source) {
  // The scanner reads a C string: a NUL would silently end the text there.
  if (const auto nul = source.find('\0'); nul != std::string_view::npos) {
    return std::unexpected(error_at(source, nul, "NUL byte in SQL text",
                                    "remove it: PostgreSQL cannot receive a NUL byte"));
  }
  auto tokens = scan(source);
  if (!tokens) return std::unexpected(from_scan_error(source, tokens.error()));
  return Splitter(source, *tokens).run();
}

}  // namespace dbmig::sql
