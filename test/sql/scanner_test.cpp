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
      {"SELECT", TokenKind::keyword},  {"\"Ab\"", TokenKind::identifier},
      {",", TokenKind::punctuation},   {"'x''y'", TokenKind::string},
      {"-- c", TokenKind::comment},    {"/* d */", TokenKind::comment},
      {"FROM", TokenKind::keyword},    {"t", TokenKind::identifier},
      {"@", TokenKind::op},            {"i", TokenKind::identifier},
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
