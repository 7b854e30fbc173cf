// definition_shape(): a step's CREATE INDEX / ADD CONSTRAINT and the
// server's pg_get_indexdef / pg_get_constraintdef text of the same object
// under another name have equal shapes; different definitions do not.
#include "sql/definition.h"

#include <gtest/gtest.h>

namespace dbmig::sql {
namespace {

struct ShapeRow {
  std::string_view step;       // the statement as the step wrote it
  std::string_view step_name;  // the object it names
  std::string_view server;     // the definition as the server prints it back
  std::string_view server_name;
  bool same;
};

const ShapeRow kRows[] = {
    {"CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x)", "t_x_idx",
     "CREATE INDEX t_x_index ON public.t USING btree (x)", "t_x_index", true},
    {"create unique index \"T_x\" on app.t (x, y)", "T_x",
     "CREATE UNIQUE INDEX t_x_key ON app.t USING btree (x, y)", "t_x_key", true},
    {"CREATE INDEX i ON t (x) WHERE x > 0", "i",
     "CREATE INDEX j ON public.t USING btree (x) "
     "WHERE (x > 0)",
     "j", true},
    {"CREATE INDEX i ON t (x)", "i", "CREATE UNIQUE INDEX j ON public.t USING btree (x)", "j",
     false},
    {"CREATE INDEX i ON t (x)", "i", "CREATE INDEX j ON public.t USING btree (x DESC)", "j", false},
    {"CREATE INDEX i ON t (x)", "i", "CREATE INDEX j ON public.t USING hash (x)", "j", false},
    {"ALTER TABLE t ADD COLUMN y int, ADD CONSTRAINT c CHECK (x > 0)", "c",
     "ALTER TABLE t ADD CONSTRAINT d CHECK ((x > 0))", "d", true},
    {"ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)", "c",
     "ALTER TABLE t ADD CONSTRAINT d CHECK ((x >= 0))", "d", false},
    {"ALTER TABLE t ADD CONSTRAINT c UNIQUE (a, b)", "c",
     "ALTER TABLE t ADD CONSTRAINT k UNIQUE "
     "(a, b)",
     "k", true},
    {"ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (u) REFERENCES u (id)", "c",
     "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u(id)", "f", true},
};

TEST(DefinitionShape, EqualExactlyForTheSameDefinitionUnderAnotherName) {
  for (const ShapeRow& row : kRows) {
    SCOPED_TRACE(testing::Message() << row.step << " <-> " << row.server);
    const auto step = definition_shape(row.step, row.step_name);
    const auto server = definition_shape(row.server, row.server_name);
    ASSERT_TRUE(step.has_value());
    ASSERT_TRUE(server.has_value());
    EXPECT_EQ(*step == *server, row.same) << *step << "\n" << *server;
  }
}

TEST(DefinitionShape, NothingForAnotherObjectOrAStatementTheGrammarRejects) {
  EXPECT_FALSE(definition_shape("CREATE INDEX i ON t (x)", "j").has_value());
  EXPECT_FALSE(definition_shape("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)", "d").has_value());
  EXPECT_FALSE(definition_shape("CREATE INDEX i ON t (x) STORING (y)", "i").has_value());
  EXPECT_FALSE(definition_shape("SELECT 1", "i").has_value());
}

}  // namespace
}  // namespace dbmig::sql
