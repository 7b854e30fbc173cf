#include "core/text.h"

#include <gtest/gtest.h>

namespace dbmig {
namespace {

TEST(Sha256Hex, MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(FirstInvalidUtf8, AcceptsValidAndPointsAtFirstBadByte) {
  struct Row { std::string text; std::optional<std::size_t> expected; };
  const Row rows[] = {
      {"plain ascii", std::nullopt},
      {"caf\xc3\xa9", std::nullopt},
      {"\xe2\x82\xac euro", std::nullopt},
      {"\xf0\x9f\x98\x80", std::nullopt},
      {"ab\xff", 2},
      {"a\xc3", 1},               // truncated
      {"\xc0\xaf", 0},            // overlong
      {"x\xed\xa0\x80", 1},       // surrogate
      {"\xf4\x90\x80\x80", 0},    // above U+10FFFF
      {std::string("a\0b", 3), 1},  // NUL
  };
  for (const auto& row : rows) {
    EXPECT_EQ(first_invalid_utf8(row.text), row.expected) << "input: " << row.text;
  }
}

TEST(AsciiLower, FoldsOnlyAscii) {
  EXPECT_EQ(ascii_lower("AbC_\xc3\x89"), "abc_\xc3\x89");
}

}  // namespace
}  // namespace dbmig
