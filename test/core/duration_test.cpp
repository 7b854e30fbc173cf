#include "core/duration.h"

#include <gtest/gtest.h>

namespace dbmig {
namespace {

TEST(ParseDuration, AcceptsUnitsAndBareSeconds) {
  struct Row {
    std::string_view text;
    long long millis;
  };
  const Row rows[] = {{"250ms", 250},    {"5s", 5000}, {"30", 30000}, {"1.5m", 90000},
                      {"2h", 7'200'000}, {"0", 0},     {"0.25s", 250}};
  for (const auto& row : rows) {
    const auto got = parse_duration(row.text);
    ASSERT_TRUE(got.has_value()) << row.text << ": " << got.error();
    EXPECT_EQ(got->count(), row.millis) << row.text;
  }
}

TEST(ParseDuration, RejectsMalformedWithMessage) {
  struct Row {
    std::string_view text;
    std::string_view message;
  };
  const Row rows[] = {{"", "expected a number"},          {"-5s", "expected a number"},
                      {"5d", "unknown unit 'd'"},         {"s", "expected a number"},
                      {"1e400h", "unknown unit 'e400h'"}, {"999999999999h", "too large"},
                      {"5 s", "unknown unit ' s'"}};
  for (const auto& row : rows) {
    const auto got = parse_duration(row.text);
    ASSERT_FALSE(got.has_value()) << row.text;
    EXPECT_NE(got.error().find(row.message), std::string::npos) << row.text << ": " << got.error();
  }
}

TEST(FormatDuration, IsShortAndExact) {
  EXPECT_EQ(format_duration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(5000)), "5s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(90000)), "1m30s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(7'200'000)), "2h");
}

}  // namespace
}  // namespace dbmig
