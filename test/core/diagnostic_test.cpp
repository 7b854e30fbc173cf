#include "core/diagnostic.h"

#include <gtest/gtest.h>

namespace dbmig {
namespace {

TEST(Diagnostic, FormatsFileLineColumnMessageAndHint) {
  Diagnostic d{Severity::error, "dir/0001-a/up.sql", 3, 7, "unterminated quoted string",
               "close it"};
  EXPECT_EQ(d.format(),
            "dir/0001-a/up.sql:3:7: error: unterminated quoted string\n  hint: close it");
}

TEST(Diagnostic, OmitsAbsentPosition) {
  Diagnostic d{Severity::warning, "dir/x", 0, 0, "empty", ""};
  EXPECT_EQ(d.format(), "dir/x: warning: empty");
}

TEST(PositionAt, CountsLinesAndColumnsFromOne) {
  struct Row {
    std::string_view text;
    std::size_t offset;
    int line;
    int column;
  };
  const Row rows[] = {
      {"", 0, 1, 1}, {"abc", 2, 1, 3}, {"a\nb", 2, 2, 1}, {"a\n\nxyz", 5, 3, 3}, {"ab", 99, 1, 3},
  };
  for (const auto& row : rows) {
    const auto pos = position_at(row.text, row.offset);
    EXPECT_EQ(pos.line, row.line) << "text=" << row.text << " offset=" << row.offset;
    EXPECT_EQ(pos.column, row.column) << "text=" << row.text << " offset=" << row.offset;
  }
}

}  // namespace
}  // namespace dbmig
