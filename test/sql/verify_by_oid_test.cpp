// The OID side of PostgreSQL proofs (contract section 9): the step history's "T:O,..."
// text, and proofs by OID in which every operator is pg_catalog's.
#include <gtest/gtest.h>

#include <regex>

#include "sql/verify_query.h"

namespace dbmig::sql {
namespace {

Change change_of(ChangeKind kind) {
  Change change;
  change.kind = kind;
  change.table = {"", "", "t"};
  change.object = {"", "", kind == ChangeKind::add_constraint ? "t_check" : "t_idx"};
  return change;
}

TEST(ObjectOids, FormatAndParseRoundTrip) {
  const std::vector<ObjectOids> oids = {{"16384", "16390"}, {"16384", "0"}};
  EXPECT_EQ(format_oids(oids), "16384:16390,16384:0");
  EXPECT_EQ(parse_oids("16384:16390,16384:0"), oids);
  EXPECT_EQ(parse_oids(""), std::vector<ObjectOids>{});
  for (const char* bad : {"1", "1:", ":2", "1:2,", "1:x", "1;2:3", "1:2:3"}) {
    EXPECT_EQ(parse_oids(bad), std::nullopt) << bad;
  }
}

// Every operator of dbmig's PostgreSQL SQL is written OPERATOR(pg_catalog.op):
// removing those leaves no comparison operator behind.
void expect_only_qualified_operators(const std::string& query) {
  const std::string bare =
      std::regex_replace(query, std::regex(R"(OPERATOR\(pg_catalog\.[^)]+\))"), "");
  const std::string outside_literals = std::regex_replace(bare, std::regex("'[^']*'"), "''");
  EXPECT_EQ(outside_literals.find_first_of("=<>~"), std::string::npos) << query;
}

TEST(VerifyQueryByOids, NamesOnlyTheRecordedOidsAndQualifiesEveryOperator) {
  for (const ChangeKind kind : {ChangeKind::create_index, ChangeKind::create_index_on_only,
                                ChangeKind::reindex_concurrently, ChangeKind::add_constraint,
                                ChangeKind::validate_constraint}) {
    const Change change = change_of(kind);
    const std::string query = verify_query_by_oids(change, {"16384", "16390"});
    SCOPED_TRACE(query);
    EXPECT_NE(query.find("'16390'"), std::string::npos);
    EXPECT_EQ(query.find("to_regclass"), std::string::npos);
    expect_only_qualified_operators(query);
    expect_only_qualified_operators(resolve_oids_query(change));
    expect_only_qualified_operators(verify_query(change, Dialect::postgres));
  }
}

TEST(VerifyQueryByOids, AnythingButDigitsIsOidZero) {
  const std::string query =
      verify_query_by_oids(change_of(ChangeKind::create_index), {"1) OR (true", "2'; --"});
  EXPECT_EQ(query.find("OR (true"), std::string::npos) << query;
  EXPECT_EQ(query.find("--"), std::string::npos) << query;
  EXPECT_NE(query.find("CAST('0' AS pg_catalog.oid)"), std::string::npos) << query;
}

}  // namespace
}  // namespace dbmig::sql
