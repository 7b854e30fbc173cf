// scan() decodes libpg_query's protobuf ScanResult by hand: the message has
// two fields we need (repeated ScanToken tokens = 2, each with start = 1,
// end = 2, token = 4, keyword_kind = 5), and decoding five varints is simpler
// and lighter than linking protobuf-c's generated code for the whole
// PostgreSQL parse tree.
//
// Large texts are scanned in pieces of about 1 MiB: pg_query_scan holds a
// copy of its input, every downcased identifier and literal, and the
// protobuf of every token until it returns, about 4x the input, which made a
// 50 MB step cost 300 MB (BENCHMARKS.md). A piece ends just after a `;`; the
// cut is kept only when the scanner itself returns that `;` as the piece's
// last token (so the cut was not inside a string, quoted identifier, dollar
// quote or comment, and the scanner was in its initial state there, as it is
// after every `;`). Otherwise a later `;` is tried, and after a few tries the
// rest of the text is scanned in one piece. Either way the tokens are those
// of one whole scan.
//
// Runs of operator characters (`/*/*/*...`, `+-+-...`) cost the scanner time
// quadratic in their length (operator_runs.h). Where a text has such a
// stretch, the scanner reads a copy in which each stretch is one plain
// `/*   */` comment of the same length, and the stretch's tokens, computed by
// find_operator_regions, take that comment's place. The scanner confirms
// each stretch: it must return exactly that comment there, which it does only
// if it was in its initial state at the stretch's first byte; the bytes
// before are the same in both texts, so the original reaches the stretch in
// that state too, and from there the stretch's tokens follow scan.l's rules.
// A stretch the scanner does not confirm sends the original text to the
// scanner unchanged.
#include "sql/scanner.h"

#include <pg_query.h>

#include <algorithm>
#include <optional>

#include "sql/operator_runs.h"

namespace dbmig::sql {
namespace {

// libpg_query's Token enum values (pg_query.proto).
constexpr int kIdent = 258;
constexpr int kUIdent = 259;
constexpr int kFConst = 260;
constexpr int kSConst = 261;
constexpr int kUSConst = 262;
constexpr int kBConst = 263;
constexpr int kXConst = 264;
constexpr int kOp = 265;
constexpr int kIConst = 266;
constexpr int kParam = 267;
constexpr int kTypecast = 268;
constexpr int kNotEquals = 274;
constexpr int kSqlComment = 275;
constexpr int kCComment = 276;

class ProtoReader {
 public:
  ProtoReader(const unsigned char* data, std::size_t size) : p_(data), end_(data + size) {}
  [[nodiscard]] bool done() const { return p_ >= end_; }

  std::optional<std::uint64_t> varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const unsigned char byte = *p_++;
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return std::nullopt;
  }

  // Skips a field of the given wire type; false on malformed input.
  bool skip(std::uint64_t wire_type) {
    switch (wire_type) {
      case 0: return varint().has_value();
      case 1: return advance(8);
      case 2: {
        auto len = varint();
        return len && advance(*len);
      }
      case 5: return advance(4);
      default: return false;
    }
  }

  std::optional<ProtoReader> sub_message() {
    auto len = varint();
    if (!len || *len > static_cast<std::uint64_t>(end_ - p_)) return std::nullopt;
    ProtoReader sub(p_, *len);
    p_ += *len;
    return sub;
  }

 private:
  bool advance(std::uint64_t n) {
    if (n > static_cast<std::uint64_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }
  const unsigned char* p_;
  const unsigned char* end_;
};

TokenKind kind_of(int raw, int keyword_kind) {
  if (keyword_kind != 0) return TokenKind::keyword;
  switch (raw) {
    case kIdent:
    case kUIdent: return TokenKind::identifier;
    case kSConst:
    case kUSConst:
    case kBConst:
    case kXConst: return TokenKind::string;
    case kFConst:
    case kIConst: return TokenKind::number;
    case kParam: return TokenKind::parameter;
    case kSqlComment:
    case kCComment: return TokenKind::comment;
    default: break;
  }
  if (raw == kOp || (raw >= kTypecast && raw <= kNotEquals)) return TokenKind::op;
  return raw < 256 ? TokenKind::punctuation : TokenKind::keyword;
}

std::optional<Token> decode_token(ProtoReader reader) {
  Token token;
  int keyword_kind = 0;
  while (!reader.done()) {
    auto key = reader.varint();
    if (!key) return std::nullopt;
    const std::uint64_t field = *key >> 3;
    const std::uint64_t wire = *key & 7;
    if (wire != 0 || field == 3 || field > 5) {
      if (!reader.skip(wire)) return std::nullopt;
      continue;
    }
    auto value = reader.varint();
    if (!value) return std::nullopt;
    const auto v = static_cast<std::uint32_t>(*value);
    if (field == 1) token.begin = v;
    if (field == 2) token.end = v;
    if (field == 4) token.raw = static_cast<int>(v);
    if (field == 5) keyword_kind = static_cast<int>(v);
  }
  token.kind = kind_of(token.raw, keyword_kind);
  return token;
}

std::optional<std::vector<Token>> decode_scan_result(const PgQueryProtobuf& pbuf) {
  std::vector<Token> tokens;
  ProtoReader reader(reinterpret_cast<const unsigned char*>(pbuf.data), pbuf.len);
  while (!reader.done()) {
    auto key = reader.varint();
    if (!key) return std::nullopt;
    if ((*key >> 3) == 2 && (*key & 7) == 2) {
      auto sub = reader.sub_message();
      if (!sub) return std::nullopt;
      auto token = decode_token(*sub);
      if (!token) return std::nullopt;
      tokens.push_back(*token);
    } else if (!reader.skip(*key & 7)) {
      return std::nullopt;
    }
  }
  return tokens;
}

// PostgreSQL reports an error position as a 1-based *character* position
// (pg_mbstrlen_with_len over UTF-8); this converts it to a byte offset by
// counting UTF-8 lead bytes. 0 ("unknown") maps to offset 0.
std::size_t byte_offset_of_character(std::string_view source, int cursor) {
  if (cursor <= 1) return 0;
  const auto wanted = static_cast<std::size_t>(cursor - 1);
  std::size_t characters = 0;
  for (std::size_t i = 0; i < source.size(); ++i) {
    const auto byte = static_cast<unsigned char>(source[i]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte
    if (characters == wanted) return i;
    ++characters;
  }
  return source.size();
}

// pg_query_scan reports U&'...' strings and U&"..." identifiers with an end
// offset equal to their start. Since only whitespace separates tokens, such a
// token ends at the last non-whitespace byte before the next token (this also
// covers a U&'...' string continued on the next line).
void repair_unicode_quoted_ends(std::vector<Token>& tokens, std::string_view source) {
  constexpr std::string_view kWhitespace = " \t\n\r\f\v";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].raw != kUSConst && tokens[i].raw != kUIdent) continue;
    const std::size_t limit = i + 1 < tokens.size() ? tokens[i + 1].begin : source.size();
    const std::size_t last = source.substr(0, limit).find_last_not_of(kWhitespace);
    if (last != std::string_view::npos && last >= tokens[i].begin) {
      tokens[i].end = static_cast<std::uint32_t>(last + 1);
    }
  }
}

// One pg_query_scan over all of `source`.
std::expected<std::vector<Token>, ScanError> scan_whole(std::string_view source) {
  const std::string terminated(source);  // libpg_query wants a NUL-terminated string
  PgQueryScanResult result = pg_query_scan(terminated.c_str());
  std::expected<std::vector<Token>, ScanError> out;
  if (result.error != nullptr) {
    std::string message = result.error->message != nullptr ? result.error->message : "syntax error";
    out = std::unexpected(
        ScanError{byte_offset_of_character(source, result.error->cursorpos), std::move(message)});
  } else if (auto tokens = decode_scan_result(result.pbuf)) {
    repair_unicode_quoted_ends(*tokens, source);
    out = std::move(*tokens);
  } else {
    out = std::unexpected(ScanError{0, "internal error: cannot decode libpg_query scan result"});
  }
  pg_query_free_scan_result(result);
  return out;
}

constexpr std::size_t kPieceBytes = std::size_t{1} << 20;
constexpr int kCutAttempts = 8;

// Where the piece starting at `from` may end: just past the first `;` that
// ends a line at or after from + kPieceBytes; npos when there is none.
std::size_t candidate_cut(std::string_view source, std::size_t from) {
  const std::size_t at = source.find(";\n", from + kPieceBytes);
  return at == std::string_view::npos ? at : at + 1;
}

void append_shifted(std::vector<Token>& out, const std::vector<Token>& piece, std::size_t shift) {
  for (Token token : piece) {
    token.begin += static_cast<std::uint32_t>(shift);
    token.end += static_cast<std::uint32_t>(shift);
    out.push_back(token);
  }
}

// Scans source[start, cut) and appends its tokens when the scanner confirms
// the cut (see the top of this file); false when it does not.
bool scan_confirmed_piece(std::string_view source, std::size_t start, std::size_t cut,
                          std::vector<Token>& out) {
  const auto piece = scan_whole(source.substr(start, cut - start));
  if (!piece || piece->empty() || !piece->back().is(';') || piece->back().end != cut - start) {
    return false;
  }
  append_shifted(out, *piece, start);
  return true;
}

std::expected<std::vector<Token>, ScanError> scan_in_pieces(std::string_view source) {
  std::vector<Token> tokens;
  std::size_t start = 0;
  while (true) {
    std::size_t cut = candidate_cut(source, start);
    bool confirmed = false;
    for (int attempt = 0; attempt < kCutAttempts && cut != std::string_view::npos; ++attempt) {
      confirmed = scan_confirmed_piece(source, start, cut, tokens);
      if (confirmed) break;
      cut = source.find(";\n", cut);
      if (cut != std::string_view::npos) ++cut;
    }
    if (confirmed) {
      start = cut;
      continue;
    }
    auto rest = scan_whole(source.substr(start));
    if (!rest) return std::unexpected(ScanError{start + rest.error().offset, rest.error().message});
    append_shifted(tokens, *rest, start);
    return tokens;
  }
}

// `source` with each region replaced by a comment of the same length; an
// unterminated region becomes a comment that never closes.
std::string with_regions_as_comments(std::string_view source,
                                     const std::vector<detail::OperatorRegion>& regions) {
  std::string text(source);
  for (const detail::OperatorRegion& region : regions) {
    std::fill(text.begin() + static_cast<std::ptrdiff_t>(region.begin),
              text.begin() + static_cast<std::ptrdiff_t>(region.end), ' ');
    text[region.begin] = '/';
    text[region.begin + 1] = '*';
    if (region.unterminated_comment == static_cast<std::size_t>(-1)) {
      text[region.end - 2] = '*';
      text[region.end - 1] = '/';
    }
  }
  return text;
}

// The tokens of `stand_in` with each region's comment replaced by the
// region's tokens; nullopt when a region's comment is not there.
std::optional<std::vector<Token>> substitute_regions(
    const std::vector<Token>& stand_in, const std::vector<detail::OperatorRegion>& regions) {
  std::vector<Token> tokens;
  tokens.reserve(stand_in.size());
  std::size_t next = 0;
  for (const Token& token : stand_in) {
    if (next == regions.size() || token.begin < regions[next].begin) {
      tokens.push_back(token);
      continue;
    }
    const detail::OperatorRegion& region = regions[next++];
    if (token.begin != region.begin || token.end != region.end || token.raw != kCComment) {
      return std::nullopt;
    }
    for (const detail::RawToken& raw : region.tokens) {
      tokens.push_back({raw.begin, raw.end, kind_of(raw.raw, 0), raw.raw});
    }
  }
  if (next != regions.size()) return std::nullopt;
  return tokens;
}

}  // namespace

namespace detail {

std::expected<std::vector<Token>, ScanError> scan_unchanged(std::string_view source) {
  if (source.size() <= 2 * kPieceBytes) return scan_whole(source);
  return scan_in_pieces(source);
}

std::expected<std::vector<Token>, ScanError> scan_with_regions(std::string_view source,
                                                               std::size_t cost_factor,
                                                               std::size_t min_cost) {
  const std::vector<OperatorRegion> regions = find_operator_regions(source, cost_factor, min_cost);
  if (regions.empty()) return scan_unchanged(source);
  const std::string stand_in = with_regions_as_comments(source, regions);
  auto tokens = scan_unchanged(stand_in);
  if (!tokens) {
    // The stand-in's error, at the same byte of the same text, except that a
    // region's never-closing comment is reported where it opens.
    const OperatorRegion& last = regions.back();
    if (last.unterminated_comment != static_cast<std::size_t>(-1) &&
        tokens.error().offset == last.begin &&
        tokens.error().message.starts_with("unterminated /* comment")) {
      return std::unexpected(ScanError{last.unterminated_comment, "unterminated /* comment"});
    }
    return tokens;
  }
  auto substituted = substitute_regions(*tokens, regions);
  if (!substituted) return scan_unchanged(source);
  return std::move(*substituted);
}

}  // namespace detail

std::expected<std::vector<Token>, ScanError> scan(std::string_view source) {
  return detail::scan_with_regions(source, 8, 256);
}

bool is_word(const Token& token, std::string_view source, std::string_view word) {
  if (token.kind != TokenKind::keyword && token.kind != TokenKind::identifier) return false;
  const std::string_view text = token.text(source);
  if (text.size() != word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

}  // namespace dbmig::sql
