// The walk mirrors scan.l (PostgreSQL 15) where it decides what a byte means:
//
//   - '...', E'...' (backslash escapes), B'', X'', N'', U&'...', "...",
//     U&"..." and $tag$...$tag$ are skipped whole; identifiers (which may hold
//     `$`) are skipped whole, so that E' or $$ inside a word is not a quote;
//   - `--` starts a comment to the end of the line;
//   - in the initial state an operator character starts a *unit*: operator
//     tokens, /* comments (nested, as in the xc state: `/*` opens, `*+/`
//     closes) and at most one final `--` comment, until the initial state
//     reaches a byte that is not an operator character.
//
// For each unit the walk computes the tokens the scanner returns and what the
// scanner pays for them: each token that starts in the initial state inside
// a run of operator characters, and each `/*` inside a comment, reads to the
// end of that run. A unit whose cost exceeds cost_factor times its own
// operator bytes becomes a region. Operator tokens follow scan.l's {operator}
// rule: cut before the first `/*` or `--`, then, unless the token holds one
// of ~ ! @ # ^ & | ` ? %, trailing + and - are dropped (at least one byte is
// kept).
#include "sql/operator_runs.h"

#include <algorithm>
#include <string>

namespace dbmig::sql::detail {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr int kOp = 265;
constexpr int kEqualsGreater = 271;
constexpr int kLessEquals = 272;
constexpr int kGreaterEquals = 273;
constexpr int kNotEquals = 274;
constexpr int kSqlComment = 275;
constexpr int kCComment = 276;

bool is_op_char(char c) {
  return std::string_view("~!@#^&|`?+-*/%<>=").find(c) != std::string_view::npos;
}

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_ident_cont(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }

bool is_dolq_cont(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

bool is_plus_minus(char c) { return c == '+' || c == '-'; }

bool is_operator_keeper(char c) {
  return std::string_view("~!@#^&|`?%").find(c) != std::string_view::npos;
}

int operator_code(std::string_view text) {
  if (text.size() == 1 &&
      std::string_view(",()[].;:+-*/%^<>=").find(text[0]) != std::string_view::npos) {
    return static_cast<unsigned char>(text[0]);
  }
  if (text == "=>") return kEqualsGreater;
  if (text == "<=") return kLessEquals;
  if (text == ">=") return kGreaterEquals;
  if (text == "<>" || text == "!=") return kNotEquals;
  return kOp;
}

class Walker {
 public:
  Walker(std::string_view source, std::size_t cost_factor, std::size_t min_cost)
      : s_(source), cost_factor_(cost_factor), min_cost_(min_cost) {}

  std::vector<OperatorRegion> run() {
    std::size_t i = 0;
    while (i < s_.size()) {
      const std::size_t next = step(i);
      if (next == kNone) break;  // unterminated quote: the scanner reports it
      i = next;
    }
    return std::move(regions_);
  }

 private:
  // Skips the token at `i` (initial state); kNone when it never ends.
  std::size_t step(std::size_t i) {
    const char c = s_[i];
    const char next = at(i + 1);
    if (c == '-' && next == '-') return line_end(i);
    if (is_op_char(c)) return unit(i);
    if (c == '\'') return quoted(i + 1, '\'', false);
    if (c == '"') return quoted(i + 1, '"', false);
    if ((c == 'e' || c == 'E') && next == '\'') return quoted(i + 2, '\'', true);
    if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && next == '\'') {
      return quoted(i + 2, '\'', false);
    }
    if ((c == 'u' || c == 'U') && next == '&' && (at(i + 2) == '\'' || at(i + 2) == '"')) {
      return quoted(i + 3, at(i + 2), false);
    }
    if (c == '$') return dollar(i);
    if (is_ident_cont(c)) {
      while (i < s_.size() && is_ident_cont(s_[i])) ++i;
      return i;
    }
    return i + 1;
  }

  [[nodiscard]] char at(std::size_t i) const { return i < s_.size() ? s_[i] : '\0'; }

  std::size_t line_end(std::size_t i) const {
    const std::size_t newline = s_.find('\n', i);
    return newline == std::string_view::npos ? s_.size() : newline;
  }

  // Past the closing `quote` of a quote whose body starts at `i`; a doubled
  // quote is one character, and in E'' strings a backslash escapes the next byte.
  std::size_t quoted(std::size_t i, char quote, bool backslash_escapes) const {
    while (i < s_.size()) {
      const char c = s_[i];
      if (backslash_escapes && c == '\\') {
        i += 2;
      } else if (c == quote) {
        if (at(i + 1) != quote) return i + 1;
        i += 2;
      } else {
        ++i;
      }
    }
    return kNone;
  }

  // A $tag$ dollar quote, a $1 parameter or a lone $.
  std::size_t dollar(std::size_t i) const {
    std::size_t j = i + 1;
    if (j < s_.size() && is_ident_start(s_[j]) && s_[j] != '$') {
      while (j < s_.size() && is_dolq_cont(s_[j])) ++j;
    }
    if (at(j) != '$') return i + 1;  // $1, $name without closing $, lone $
    const std::string_view tag = s_.substr(i, j - i + 1);
    const std::size_t close = s_.find(tag, j + 1);
    return close == std::string_view::npos ? kNone : close + tag.size();
  }

  // End of the run of operator characters containing `i` (cached: the walk
  // asks in increasing order).
  std::size_t run_end(std::size_t i) {
    if (i >= run_begin_ && i < run_end_) return run_end_;
    run_begin_ = i;
    run_end_ = i;
    while (run_end_ < s_.size() && is_op_char(s_[run_end_])) ++run_end_;
    return run_end_;
  }

  // First `/*` or `--` in [i, limit); limit when none. Queries come in
  // increasing order of `i`, so a found cut is reused until `i` passes it.
  std::size_t next_cut(std::size_t i, std::size_t limit) {
    if (cut_limit_ == limit && cut_ != kNone && cut_ >= i) return cut_;
    std::size_t j = i;
    while (j + 1 < limit &&
           !((s_[j] == '/' && s_[j + 1] == '*') || (s_[j] == '-' && s_[j + 1] == '-'))) {
      ++j;
    }
    cut_limit_ = limit;
    cut_ = j + 1 < limit ? j : limit;
    return cut_;
  }

  // First of ~ ! @ # ^ & | ` ? % in [i, limit); limit when none (cached as next_cut).
  std::size_t next_keeper(std::size_t i, std::size_t limit) {
    if (keeper_limit_ == limit && keeper_ != kNone && keeper_ >= i) return keeper_;
    std::size_t j = i;
    while (j < limit && !is_operator_keeper(s_[j])) ++j;
    keeper_limit_ = limit;
    keeper_ = j;
    return keeper_;
  }

  // One past the last byte in [from, to) that is not + or -; `from` or less
  // when there is none. Cached per `to`: later calls for the same `to` come
  // with a larger `from`, and the bytes after the answer stay + and -.
  std::size_t after_last_non_plus_minus(std::size_t from, std::size_t to) {
    if (pm_to_ != to || pm_from_ > from) {
      std::size_t j = to;
      while (j > from && is_plus_minus(s_[j - 1])) --j;
      pm_to_ = to;
      pm_from_ = from;
      pm_answer_ = j;
    }
    return pm_answer_;
  }

  // One operator token at `i` (initial state, not at `/*` or `--`).
  RawToken operator_token(std::size_t i, std::size_t run_end) {
    const std::size_t cut = next_cut(i, run_end);
    std::size_t end = cut;
    if (end - i > 1 && is_plus_minus(s_[end - 1]) && next_keeper(i, end - 1) >= end - 1) {
      end = std::max(i + 1, after_last_non_plus_minus(i, end - 1));
    }
    return {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(end),
            operator_code(s_.substr(i, end - i))};
  }

  // A /* comment at `i`: its end, or kNone when it never closes.
  std::size_t block_comment(std::size_t i) {
    int depth = 0;
    std::size_t j = i + 2;
    while (j < s_.size()) {
      const char c = s_[j];
      if (c == '/' && at(j + 1) == '*') {
        cost_ += run_end(j) - j;
        ++depth;
        j += 2;
      } else if (c == '*') {
        std::size_t k = j;
        while (k < s_.size() && s_[k] == '*') ++k;
        if (at(k) == '/') {
          if (depth == 0) return k + 1;
          --depth;
          j = k + 1;
        } else {
          j = k;
        }
      } else if (c == '/') {
        ++j;
      } else {
        const std::size_t special = s_.find_first_of("*/", j);
        j = special == std::string_view::npos ? s_.size() : special;
      }
    }
    return kNone;
  }

  // A unit starting at the operator character `i` (see the top of the file).
  std::size_t unit(std::size_t begin) {
    OperatorRegion region;
    region.begin = begin;
    cost_ = 0;
    std::size_t op_bytes = 0;
    std::size_t i = begin;
    while (i < s_.size() && is_op_char(s_[i])) {
      const std::size_t end_of_run = run_end(i);
      if (i == run_begin_) op_bytes += end_of_run - i;
      cost_ += end_of_run - i;
      if (s_[i] == '-' && at(i + 1) == '-') {
        const std::size_t end = line_end(i);
        region.tokens.push_back(
            {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(end), kSqlComment});
        i = end;
        break;
      }
      if (s_[i] == '/' && at(i + 1) == '*') {
        const std::size_t end = block_comment(i);
        if (end == kNone) {
          region.unterminated_comment = i;
          i = s_.size();
          break;
        }
        region.tokens.push_back(
            {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(end), kCComment});
        i = end;
        continue;
      }
      const RawToken token = operator_token(i, end_of_run);
      region.tokens.push_back(token);
      i = token.end;
    }
    region.end = i;
    const bool unterminated = region.unterminated_comment != kNone;
    // A region must hold the 4-byte `/**/` that stands in for it.
    const bool fits = i - begin >= 4;
    if (fits && cost_ >= min_cost_ && cost_ > cost_factor_ * std::max<std::size_t>(op_bytes, 1)) {
      regions_.push_back(std::move(region));
    }
    return unterminated ? kNone : i;
  }

  std::string_view s_;
  std::size_t cost_factor_;
  std::size_t min_cost_;
  std::vector<OperatorRegion> regions_;
  std::size_t cost_ = 0;
  std::size_t run_begin_ = kNone;
  std::size_t run_end_ = kNone;
  std::size_t cut_ = kNone;
  std::size_t cut_limit_ = kNone;
  std::size_t keeper_ = kNone;
  std::size_t keeper_limit_ = kNone;
  std::size_t pm_to_ = kNone;
  std::size_t pm_from_ = 0;
  std::size_t pm_answer_ = 0;
};

}  // namespace

std::vector<OperatorRegion> find_operator_regions(std::string_view source, std::size_t cost_factor,
                                                  std::size_t min_cost) {
  return Walker(source, cost_factor, min_cost).run();
}

}  // namespace dbmig::sql::detail
