// Runs of operator characters: the one part of PostgreSQL's lexer whose cost
// is not linear in its input.
//
// PostgreSQL's flex scanner matches `/*` as `/\*{op_chars}*` and an operator
// as `{op_chars}+`, then gives back all but the bytes it keeps (`yyless`).
// Every token that starts inside a run of operator characters therefore reads
// to the run's end: nested comments written `/*/*/* ... */*/*/`, or `+-+-+-`,
// cost time quadratic in the run's length (an 800 KB file of nesting depth
// 200,000 took over two minutes in pg_query_scan). find_operator_regions()
// walks the text once, follows quotes, dollar quotes, identifiers and
// comments the way the scanner does, and computes itself the tokens of every
// stretch where the scanner would re-read a run more than a few times; the
// scanner (scanner.cpp) then reads the text with each such stretch replaced
// by one plain comment and confirms the stretch started where a comment can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dbmig::sql::detail {

// The tokens the scanner would return for one stretch, as libpg_query Token
// codes (ASCII for one-character tokens, 265 Op, 271-274 for => <= >= <>/!=,
// 275 SQL_COMMENT, 276 C_COMMENT) with byte offsets into the text.
struct RawToken {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  int raw = 0;
};

struct OperatorRegion {
  std::size_t begin = 0;  // first byte: an operator character in the scanner's initial state
  std::size_t end = 0;    // one past the last byte (the text's end when unterminated)
  std::vector<RawToken> tokens;
  // Offset of a /* comment that never closes (the region then runs to the
  // end of the text), or npos.
  std::size_t unterminated_comment = static_cast<std::size_t>(-1);
};

// The stretches of `source`, 4 bytes or longer, that the scanner would read
// more than `cost_factor` times over (and at least `min_cost` bytes in all),
// in text order. Linear in the size of `source`. The walk stops at the first
// unterminated quote or dollar quote (the scanner reports it). Thread-safe.
[[nodiscard]] std::vector<OperatorRegion> find_operator_regions(std::string_view source,
                                                                std::size_t cost_factor = 8,
                                                                std::size_t min_cost = 256);

}  // namespace dbmig::sql::detail
