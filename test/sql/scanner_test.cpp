#include "sql/scanner.h"

#include <gtest/gtest.h>

namespace dbmig::sql {
namespace {

TEST(Scan, ReturnsTokensWithOffsetsAndKinds) {
  const std::string_view sql = "SELECT \"Ab\", 'x''y' -- c\n/* d */ FROM t@i;";
  auto tokens = scan(sql);
  ASSERT_TRUE(tokens.has_value()) << tokens.error().message;
  std::vector<std::pair<std::string_view, TokenKind>> got;
  for (const auto& t : *tokens) got.emplace_back(t.text(sql), t.kind);
  const std::vector<std::pair<std::string_view, TokenKind>> want = {
      {"SELECT", TokenKind::keyword}, {"\"Ab\"", TokenKind::identifier},
      {",", TokenKind::punctuation},  {"'x''y'", TokenKind::string},
      {"-- c", TokenKind::comment},   {"/* d */", TokenKind::comment},
      {"FROM", TokenKind::keyword},   {"t", TokenKind::identifier},
      {"@", TokenKind::op},           {"i", TokenKind::identifier},
      {";", TokenKind::punctuation},
  };
  EXPECT_EQ(got, want);
}

TEST(Scan, ReportsUnterminatedStringAtItsStart) {
  auto tokens = scan("select 1; select 'abc");
  ASSERT_FALSE(tokens.has_value());
  EXPECT_EQ(tokens.error().offset, 17u);
  EXPECT_NE(tokens.error().message.find("unterminated quoted string"), std::string::npos);
}

TEST(Scan, ReportsErrorOffsetInBytesAfterMultiByteCharacters) {
  // PostgreSQL counts characters; "é" is two bytes, so the quote is at byte 11.
  auto tokens = scan("select \u00e9, 'abc");
  ASSERT_FALSE(tokens.has_value());
  EXPECT_EQ(tokens.error().offset, 11u);
}

TEST(Scan, GivesUnicodeQuotedTokensTheirFullExtent) {
  // libpg_query reports these with end == begin; scan() repairs them.
  const std::string_view sql = "SELECT U&'d\\0061t;a' UESCAPE '!', U&\"a\"\"b\" , U&'x'\n  'y';";
  auto tokens = scan(sql);
  ASSERT_TRUE(tokens.has_value()) << tokens.error().message;
  std::vector<std::string_view> got;
  for (const auto& t : *tokens) got.push_back(t.text(sql));
  const std::vector<std::string_view> want = {
      "SELECT", "U&'d\\0061t;a'", "UESCAPE", "'!'", ",", "U&\"a\"\"b\"", ",", "U&'x'\n  'y'", ";"};
  EXPECT_EQ(got, want);
}

// Texts over 2 MiB are scanned in pieces cut after a `;` that ends a line;
// the tokens must be those of one whole scan even when most such `;` lie
// inside strings, dollar quotes, quoted identifiers and comments. Reference:
// the tokens of one small unit (scanned whole), repeated at its offsets.
struct PieceCase {
  std::string name;
  std::string unit;
};

TEST(Scan, LargeTextsGiveTheTokensOfOneWholeScan) {
  const std::vector<PieceCase> cases = {
      {"plain statements", "INSERT INTO t (a, b) VALUES (1, 'x');\n"},
      {"cuts inside literals and comments",
       "SELECT 'a;\nb', E'c\\';\n', \"d;\ne\";\n/* f;\n /* g;\n */ */ SELECT $x$ h;\n $x$;\n"
       "-- i;\nSELECT U&'j;\n' UESCAPE '!';\n"},
  };
  for (const PieceCase& row : cases) {
    const auto unit_tokens = scan(row.unit);
    ASSERT_TRUE(unit_tokens.has_value()) << row.name << ": " << unit_tokens.error().message;
    std::string text;
    const std::size_t copies = (5u << 20) / row.unit.size() + 1;
    for (std::size_t i = 0; i < copies; ++i) text += row.unit;
    const auto tokens = scan(text);
    ASSERT_TRUE(tokens.has_value()) << row.name << ": " << tokens.error().message;
    ASSERT_EQ(tokens->size(), unit_tokens->size() * copies) << row.name;
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      const Token& want = (*unit_tokens)[i % unit_tokens->size()];
      const std::size_t shift = (i / unit_tokens->size()) * row.unit.size();
      const Token& got = (*tokens)[i];
      ASSERT_TRUE(got.begin == want.begin + shift && got.end == want.end + shift &&
                  got.kind == want.kind && got.raw == want.raw)
          << row.name << ": token " << i << " is [" << got.begin << ", " << got.end << "), want ["
          << want.begin + shift << ", " << want.end + shift << ")";
    }
  }
}

TEST(Scan, LargeTextsKeepADollarQuoteLongerThanAPieceWhole) {
  std::string body;
  while (body.size() < (5u << 20)) body += "x;\n";
  const std::string text = "SELECT $body$" + body + "$body$;\nSELECT 1;\n";
  const auto tokens = scan(text);
  ASSERT_TRUE(tokens.has_value()) << tokens.error().message;
  ASSERT_EQ(tokens->size(), 6u);
  EXPECT_EQ((*tokens)[1].kind, TokenKind::string);
  EXPECT_EQ((*tokens)[1].end - (*tokens)[1].begin, body.size() + 12);
  EXPECT_EQ((*tokens)[5].begin, text.size() - 2);
}

TEST(Scan, LargeTextsReportLexicalErrorsAtTheirOffset) {
  std::string text;
  while (text.size() < (5u << 20)) text += "INSERT INTO t VALUES ('a;\n');\n";
  const std::size_t bad = text.size() + 7;
  text += "SELECT 'never closed;\n";
  for (int i = 0; i < 100000; ++i) text += "SELECT 1;\n";
  const auto tokens = scan(text);
  ASSERT_FALSE(tokens.has_value());
  EXPECT_EQ(tokens.error().offset, bad);
  EXPECT_NE(tokens.error().message.find("unterminated quoted string"), std::string::npos);
}

TEST(IsWord, MatchesKeywordsAndUnquotedIdentifiersCaseInsensitively) {
  const std::string_view sql = "Create \"create\" storing";
  auto tokens = scan(sql);
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 3u);
  EXPECT_TRUE(is_word((*tokens)[0], sql, "create"));
  EXPECT_FALSE(is_word((*tokens)[1], sql, "create"));  // quoted: text includes quotes
  EXPECT_TRUE(is_word((*tokens)[2], sql, "storing"));
}

}  // namespace
}  // namespace dbmig::sql
