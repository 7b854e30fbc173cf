#include "sql/verify_query.h"

#include <gtest/gtest.h>

namespace dbmig::sql {
namespace {

QualifiedName qn(std::string schema, std::string name, std::string database = "") {
  return QualifiedName{std::move(database), std::move(schema), std::move(name)};
}

Change make(ChangeKind kind, QualifiedName table, QualifiedName object) {
  Change c;
  c.kind = kind;
  c.table = std::move(table);
  c.object = std::move(object);
  return c;
}

struct GoldenRow {
  std::string_view label;
  Change change;
  Dialect dialect;
  std::string description;
  std::string query;
};

const GoldenRow kGolden[] =
    {
        {"pg index",
         make(ChangeKind::create_index, qn("public", "users"), qn("public", "users_email_idx")),
         Dialect::postgres,
         R"(index "public"."users_email_idx" on "public"."users" is valid, ready and live)",
         R"(SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid WHERE i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('"public"."users"') AND c.relname OPERATOR(pg_catalog.=) 'users_email_idx'), false) AS complete)"},
        {"pg index, quoting", make(ChangeKind::create_index, qn("", "Weird\"Name"), qn("", "it's")),
         Dialect::postgres, R"(index "it's" on "Weird""Name" is valid, ready and live)",
         R"(SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid WHERE i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('"Weird""Name"') AND c.relname OPERATOR(pg_catalog.=) 'it''s'), false) AS complete)"},
        {"pg index on only",
         make(ChangeKind::create_index_on_only, qn("s", "parent"), qn("s", "parent_a_idx")),
         Dialect::postgres,
         R"(index "s"."parent_a_idx" exists on "s"."parent" (it stays invalid until every partition's index is attached))",
         R"(SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid WHERE i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('"s"."parent"') AND c.relname OPERATOR(pg_catalog.=) 'parent_a_idx') AS complete)"},
        {"pg reindex concurrently",
         make(ChangeKind::reindex_concurrently, qn("", ""), qn("s", "i_x")), Dialect::postgres,
         R"(index "s"."i_x" is valid after REINDEX CONCURRENTLY, with no _ccnew/_ccold leftovers)",
         R"(SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class o WHERE o.relnamespace OPERATOR(pg_catalog.=) c.relnamespace AND o.oid OPERATOR(pg_catalog.<>) c.oid AND (pg_catalog.starts_with(o.relname, 'i_x_ccnew') OR pg_catalog.starts_with(o.relname, 'i_x_ccold'))) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('"s"."i_x"')), false) AS complete)"},
        {"pg reindex concurrently, long name",
         make(ChangeKind::reindex_concurrently, qn("", ""), qn("", std::string(60, 'n'))),
         Dialect::postgres,
         "index \"" + std::string(60, 'n') +
             "\" is valid after REINDEX CONCURRENTLY, with no _ccnew/_ccold leftovers",
         "SELECT COALESCE((SELECT i.indisvalid AND i.indisready AND i.indislive AND NOT EXISTS "
         "(SELECT 1 FROM pg_catalog.pg_class o WHERE o.relnamespace OPERATOR(pg_catalog.=) "
         "c.relnamespace AND o.oid OPERATOR(pg_catalog.<>) c.oid AND "
         "(pg_catalog.starts_with(o.relname, '" +
             std::string(53, 'n') +
             "') AND o.relname OPERATOR(pg_catalog.~) '_cc(new|old)[0-9]*$')) FROM "
             "pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) "
             "i.indexrelid WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('\"" +
             std::string(60, 'n') + "\"')), false) AS complete"},
        {"pg add constraint",
         make(ChangeKind::add_constraint, qn("public", "t"), qn("", "t_a_check")),
         Dialect::postgres, R"(constraint "t_a_check" on "public"."t" is validated)",
         R"(SELECT COALESCE((SELECT con.convalidated FROM pg_catalog.pg_constraint con WHERE con.conrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('"public"."t"') AND con.conname OPERATOR(pg_catalog.=) 't_a_check'), false) AS complete)"},
        {"pg validate constraint",
         make(ChangeKind::validate_constraint, qn("", "O'Brien"), qn("", "C\"1")), Dialect::postgres, R"(constraint "C""1" on "O'Brien" is validated)", R"(SELECT COALESCE((SELECT con.convalidated FROM pg_catalog.pg_constraint con WHERE con.conrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('"O''Brien"') AND con.conname OPERATOR(pg_catalog.=) 'C"1'), false) AS complete)"},
        {"crdb index", make(ChangeKind::create_index, qn("", "sled"), qn("", "lookup")),
         Dialect::cockroach, R"(index "lookup" on "sled" is public (its backfill completed))",
         R"(SELECT EXISTS (SELECT 1 FROM crdb_internal.table_indexes WHERE descriptor_id = pg_catalog.to_regclass('"sled"')::OID::INT8 AND index_name = 'lookup') AS complete)"},
        {"crdb index, three-part name",
         make(ChangeKind::create_index, qn("public", "sled", "omicron"),
              qn("public", "it's", "omicron")),
         Dialect::cockroach,
         R"(index "public"."it's" on "omicron"."public"."sled" is public (its backfill completed))",
         R"(SELECT EXISTS (SELECT 1 FROM "omicron".crdb_internal.table_indexes WHERE descriptor_id = pg_catalog.to_regclass('"omicron"."public"."sled"')::OID::INT8 AND index_name = 'it''s') AS complete)"},
        {"crdb add constraint",
         make(ChangeKind::add_constraint, qn("public", "We\"ird", "omicron"), qn("", "c'1")),
         Dialect::cockroach, R"(constraint "c'1" on "omicron"."public"."We""ird" is validated)",
         R"(SELECT EXISTS (SELECT 1 FROM [SHOW CONSTRAINTS FROM "omicron"."public"."We""ird"] WHERE constraint_name = 'c''1' AND validated) AS complete)"},
        {"crdb validate constraint",
         make(ChangeKind::validate_constraint, qn("", "t"), qn("", "c")), Dialect::cockroach,
         R"(constraint "c" on "t" is validated)",
         R"(SELECT EXISTS (SELECT 1 FROM [SHOW CONSTRAINTS FROM "t"] WHERE constraint_name = 'c' AND validated) AS complete)"},
};

TEST(VerifyQuery, GeneratesTheExactProofForEveryChangeKind) {
  for (const GoldenRow& row : kGolden) {
    SCOPED_TRACE(row.label);
    EXPECT_EQ(describe_change(row.change, row.dialect), row.description);
    EXPECT_EQ(verify_query(row.change, row.dialect), row.query);
  }
}

// A quoted name may hold a line break; the description goes after `--` in a
// verify file, so it must stay one line (found by fuzz_split_classify).
TEST(VerifyQuery, DescriptionIsOneLineWhenNamesHoldLineBreaks) {
  const struct {
    std::string_view label;
    Change change;
    Dialect dialect;
    std::string description;
  } rows[] = {
      {"index name with \\n", make(ChangeKind::create_index, qn("", "t"), qn("", "a\nb")),
       Dialect::postgres, R"(index "a\nb" on "t" is valid, ready and live)"},
      {"table name with \\r\\n", make(ChangeKind::create_index, qn("", "t\r\nDROP"), qn("", "i")),
       Dialect::cockroach, R"(index "i" on "t\r\nDROP" is public (its backfill completed))"},
      {"constraint name with \\n",
       make(ChangeKind::add_constraint, qn("s", "t"), qn("", "c\n;DROP TABLE t; --")),
       Dialect::postgres, R"(constraint "c\n;DROP TABLE t; --" on "s"."t" is validated)"},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(describe_change(row.change, row.dialect), row.description) << row.label;
  }
}

TEST(VerifyQuery, IsDeterministicAndIgnoresFlagsAndOffset) {
  Change a = make(ChangeKind::create_index, qn("", "t"), qn("", "i"));
  Change b = a;
  b.offset = 99;
  b.concurrently = true;
  b.if_not_exists = true;
  for (Dialect dialect : {Dialect::postgres, Dialect::cockroach}) {
    EXPECT_EQ(verify_query(a, dialect), verify_query(b, dialect));
  }
}

TEST(VerifyQuery, EveryQueryReturnsOneColumnNamedComplete) {
  for (const GoldenRow& row : kGolden) {
    const std::string query = verify_query(row.change, row.dialect);
    EXPECT_TRUE(query.starts_with("SELECT ")) << row.label;
    EXPECT_TRUE(query.ends_with(" AS complete")) << row.label;
    EXPECT_EQ(query.find(';'), std::string::npos) << row.label;
  }
}

}  // namespace
}  // namespace dbmig::sql
