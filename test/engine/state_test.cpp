#include "engine/state.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "db/error.h"
#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using test::query_value;

class StateTablesTest : public test::DatabaseTest {};

TEST(StepState, NamesRoundTrip) {
  const StepState states[] = {StepState::started, StepState::applied, StepState::verified,
                              StepState::failed};
  for (StepState state : states) {
    EXPECT_EQ(parse_step_state(to_string(state)), state) << to_string(state);
  }
  EXPECT_EQ(parse_step_state("done"), std::nullopt);
}

TEST(StateTables, QuotesTheSchemaEverywhere) {
  const StateTables tables("My \"odd\" schema");
  EXPECT_EQ(tables.state_table(), "\"My \"\"odd\"\" schema\".\"state\"");
  EXPECT_EQ(tables.steps_table(), "\"My \"\"odd\"\" schema\".\"steps\"");
  EXPECT_NE(tables.create_script().find("CREATE SCHEMA IF NOT EXISTS \"My \"\"odd\"\" schema\""),
            std::string::npos);
}

TEST_F(StateTablesTest, ReadingAbsentTablesGivesAnEmptyState) {
  auto connection = test::connect_to(conninfo());
  const DatabaseState state = StateTables().read(*connection);
  EXPECT_FALSE(state.tables_exist);
  EXPECT_FALSE(state.version.has_value());
  EXPECT_TRUE(state.steps.empty());
}

TEST_F(StateTablesTest, SixRunnersCreatingTheTablesAtOnceAllSucceed) {
  std::vector<std::future<std::string>> creators;
  for (int i = 0; i < 6; ++i) {
    creators.push_back(std::async(std::launch::async, [this]() -> std::string {
      try {
        auto connection = test::connect_to(conninfo());
        StateTables().ensure(*connection);
        return "ok";
      } catch (const db::DbError& error) {
        return error.sqlstate() + " " + error.what();
      }
    }));
  }
  for (auto& creator : creators) EXPECT_EQ(creator.get(), "ok");
  auto connection = test::connect_to(conninfo());
  EXPECT_EQ(query_value(*connection, "SELECT count(*) FROM dbmig.state"), "1");
  const DatabaseState state = StateTables().read(*connection);
  EXPECT_TRUE(state.tables_exist);
  EXPECT_FALSE(state.lease.held());
  EXPECT_EQ(state.lease.token, 0);
}

TEST_F(StateTablesTest, StepWritesUpsertAndReadBack) {
  auto connection = test::connect_to(conninfo());
  const StateTables tables("custom_state");
  tables.ensure(*connection);
  StepWrite write{"0001-a",           2,     "up2.sql",    "abc",
                  StepState::started, false, std::nullopt, std::nullopt,
                  "host:1:deadbeef"};
  connection->exec(tables.write_step_sql(write));
  write.state = StepState::failed;
  write.error = "it's broken";
  write.duration_ms = 1234;
  connection->exec(tables.write_step_sql(write));
  connection->exec(tables.advance_version_sql("0001-a"));

  const DatabaseState state = tables.read(*connection);
  ASSERT_EQ(state.steps.size(), 1U);
  const StepRecord* record = state.find_step("0001-a", 2);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->file, "up2.sql");
  EXPECT_EQ(record->sha256, "abc");
  EXPECT_EQ(record->state, StepState::failed);
  EXPECT_FALSE(record->transactional);
  EXPECT_EQ(record->error, "it's broken");
  EXPECT_EQ(record->duration_ms, 1234);
  EXPECT_TRUE(record->finished_at.has_value());
  EXPECT_EQ(record->runner, "host:1:deadbeef");
  EXPECT_EQ(state.find_step("0001-a", 1), nullptr);
  EXPECT_EQ(state.version, "0001-a");
}

}  // namespace
}  // namespace dbmig::engine
