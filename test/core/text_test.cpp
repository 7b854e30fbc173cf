#include "core/text.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/file_tree.h"

namespace dbmig {
namespace {

TEST(Sha256Hex, MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(FirstInvalidUtf8, AcceptsValidAndPointsAtFirstBadByte) {
  struct Row {
    std::string text;
    std::optional<std::size_t> expected;
  };
  const Row rows[] = {
      {"plain ascii", std::nullopt},
      {"caf\xc3\xa9", std::nullopt},
      {"\xe2\x82\xac euro", std::nullopt},
      {"\xf0\x9f\x98\x80", std::nullopt},
      {"ab\xff", 2},
      {"a\xc3", 1},                 // truncated
      {"\xc0\xaf", 0},              // overlong
      {"x\xed\xa0\x80", 1},         // surrogate
      {"\xf4\x90\x80\x80", 0},      // above U+10FFFF
      {std::string("a\0b", 3), 1},  // NUL
  };
  for (const auto& row : rows) {
    EXPECT_EQ(first_invalid_utf8(row.text), row.expected) << "input: " << row.text;
  }
}

TEST(AsciiLower, FoldsOnlyAscii) { EXPECT_EQ(ascii_lower("AbC_\xc3\x89"), "abc_\xc3\x89"); }

TEST(ReadFile, ReadsExactBytesOfEmptySmallAndLargeFiles) {
  std::string large(200'000, 'x');
  for (std::size_t i = 0; i < large.size(); i += 997) large[i] = static_cast<char>('a' + i % 26);
  const test::TempTree tree(
      {{"empty.sql", ""}, {"small.sql", std::string("a\0b\n", 4)}, {"large.sql", large}});
  EXPECT_EQ(read_file((tree.root() / "empty.sql").string()), std::string());
  EXPECT_EQ(read_file((tree.root() / "small.sql").string()), std::string("a\0b\n", 4));
  EXPECT_EQ(read_file((tree.root() / "large.sql").string()), large);
}

TEST(ReadFile, FailsOnMissingFilesAndDirectories) {
  const test::TempTree tree(std::vector<test::FileRow>{{"dir/up.sql", "SELECT 1;\n"}});
  EXPECT_EQ(read_file((tree.root() / "missing.sql").string()), std::nullopt);
  EXPECT_EQ(read_file((tree.root() / "dir").string()), std::nullopt);
}

TEST(ReadRegularFile, RefusesFifosAndDirectoriesWithTheReasonWithoutBlocking) {
  const test::TempTree tree(std::vector<test::FileRow>{{"dir/up.sql", "SELECT 1;\n"}});
  const std::string fifo = (tree.root() / "fifo.sql").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer ever opens the FIFO: a blocking open or read would hang here.
  const auto from_fifo = read_regular_file(fifo);
  ASSERT_FALSE(from_fifo.has_value());
  EXPECT_EQ(from_fifo.error(), "not a regular file (FIFO)");
  const auto from_directory = read_regular_file((tree.root() / "dir").string());
  ASSERT_FALSE(from_directory.has_value());
  EXPECT_EQ(from_directory.error(), "not a regular file (directory)");
  const auto missing = read_regular_file((tree.root() / "missing.sql").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), "No such file or directory");
}

TEST(ReadRegularFile, TellsTwoNamesOfOneFileApart) {
  const test::TempTree tree(
      std::vector<test::FileRow>{{"a.sql", "SELECT 1;\n"}, {"b.sql", "SELECT 1;\n"}});
  std::filesystem::create_hard_link(tree.root() / "a.sql", tree.root() / "c.sql");
  FileIdentity a, b, c;
  ASSERT_TRUE(read_regular_file((tree.root() / "a.sql").string(), &a).has_value());
  ASSERT_TRUE(read_regular_file((tree.root() / "b.sql").string(), &b).has_value());
  ASSERT_TRUE(read_regular_file((tree.root() / "c.sql").string(), &c).has_value());
  EXPECT_EQ(a, c);
  EXPECT_NE(a, b);
}

TEST(ReadFile, ReadsFilesWhoseSizeIsNotKnownUpFront) {
  // /proc files report size 0 but have content: read until EOF, not st_size.
  const auto text = read_file("/proc/self/status");
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("Name:"), std::string::npos);
}

}  // namespace
}  // namespace dbmig
