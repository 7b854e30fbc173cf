#include "engine/timestamp.h"

#include <gtest/gtest.h>

namespace dbmig::engine {
namespace {

struct Row {
  std::string server_text;
  std::string expected;
};

TEST(Timestamp, ServerTimestampsBecomeTheEventTimeFormat) {
  const std::vector<Row> rows = {
      {"2026-12-01 08:34:04.588123+00", "2026-12-01T08:34:04.588Z"},
      {"2026-12-01 08:34:04+00", "2026-12-01T08:34:04.000Z"},
      {"2026-12-01 08:34:04.5+00:00", "2026-12-01T08:34:04.500Z"},
      {"2026-12-01 01:04:04.25+05:30", "2026-11-30T19:34:04.250Z"},
      {"2026-12-31 23:00:00.999-02", "2027-01-01T01:00:00.999Z"},
      {"2026-12-01T08:34:04.588Z", "2026-12-01T08:34:04.588Z"},
      {"1850-01-01 00:00:00+00:09:21", "1849-12-31T23:50:39.000Z"},
      // Another DateStyle, or anything else: unchanged.
      {"12/01/2026 08:34:04.588 UTC", "12/01/2026 08:34:04.588 UTC"},
      {"2026-12-01 08:34:04", "2026-12-01 08:34:04"},
      {"", ""},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(iso_utc(row.server_text), row.expected) << row.server_text;
  }
}

}  // namespace
}  // namespace dbmig::engine
