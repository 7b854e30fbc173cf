#include "migration/version_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbmig::migration {
namespace {

struct VersionRow {
  std::string written;  // as in V<written>__x.sql or flyway_schema_history.version
  bool is_version;
  std::string name;  // flyway_version_name(flyway_version_parts(written))
};

TEST(FlywayVersion, NormalisesAsImportAndBaselineRecordIt) {
  const std::vector<VersionRow> rows = {
      {"1", true, "1"},
      {"1.0", true, "1"},
      {"1.01_0", true, "1.1"},
      {"007", true, "7"},
      {"000", true, "0"},
      {"0.0.0", true, "0"},
      {"2_10.3", true, "2.10.3"},
      {"1.0.2", true, "1.0.2"},
      {"20240101120000", true, "20240101120000"},
      {"", false, ""},
      {"1.", false, "1."},
      {".1", false, "1"},  // an empty first part joins to nothing, as baseline always read it
      {"1..2", false, "1..2"},
      {"1a", false, "1a"},
      {".1", false, "1"},  // an empty first part joins to nothing, as baseline always read it
  };
  for (const VersionRow& row : rows) {
    EXPECT_EQ(is_flyway_version(row.written), row.is_version) << row.written;
    EXPECT_EQ(flyway_version_name(flyway_version_parts(row.written)), row.name) << row.written;
  }
}

struct OrderRow {
  std::string a;
  std::string b;
  bool less;
};

TEST(FlywayVersion, OrdersPartByPartAsNumbers) {
  const std::vector<OrderRow> rows = {
      {"1", "2", true},
      {"2", "10", true},
      {"10", "2", false},
      {"1.9", "1.10", true},
      {"1.10", "1.9", false},
      {"1", "1.1", true},
      {"1.0", "1", false},
      {"1", "1.0", false},
      {"01.2", "1.02", false},
      {"1.2", "1.2.1", true},
      {"99999999999999999999", "100000000000000000000", true},
  };
  for (const OrderRow& row : rows) {
    EXPECT_EQ(flyway_version_less(flyway_version_parts(row.a), flyway_version_parts(row.b)),
              row.less)
        << row.a << " < " << row.b;
  }
}

}  // namespace
}  // namespace dbmig::migration
