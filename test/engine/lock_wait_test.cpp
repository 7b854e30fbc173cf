// lock_wait.h's texts and cancel.h's same-index rule, without a server.
#include "engine/lock_wait.h"

#include <gtest/gtest.h>

#include "engine/cancel.h"

namespace dbmig::engine {
namespace {

TEST(ShownQuery, MasksPasswordsCollapsesWhitespaceAndTruncates) {
  EXPECT_EQ(shown_query("SELECT 1"), "SELECT 1");
  EXPECT_EQ(shown_query("  UPDATE t\n\tSET x = 1\n  WHERE id = 2;\n"),
            "UPDATE t SET x = 1 WHERE id = 2;");
  const std::string role = shown_query("ALTER ROLE app PASSWORD 'hunter2-secret'");
  EXPECT_EQ(role.find("hunter2-secret"), std::string::npos) << role;
  EXPECT_NE(role.find("ALTER ROLE app PASSWORD"), std::string::npos) << role;
  const std::string dblink =
      shown_query("SELECT dblink_connect('host=db user=u password=sekrit-value')");
  EXPECT_EQ(dblink.find("sekrit-value"), std::string::npos) << dblink;
  const std::string long_query = "SELECT " + std::string(300, 'x');
  const std::string shown = shown_query(long_query);
  EXPECT_EQ(shown.size(), kShownQueryChars + 3);
  EXPECT_TRUE(shown.ends_with("...")) << shown;
}

TEST(ShownQuery, APasswordCutByTheTruncationIsStillMasked) {
  // The secret straddles the 120-character cut: redaction runs first.
  const std::string query = "SELECT " + std::string(100, 'x') +
                            " FROM t; ALTER ROLE app PASSWORD 'abcdefghijklmnopqrstuvwxyz'";
  const std::string shown = shown_query(query);
  EXPECT_EQ(shown.find("abcdefgh"), std::string::npos) << shown;
}

TEST(ShownQuery, TruncationNeverCutsAUtf8Character) {
  std::string query;
  for (int i = 0; i < 100; ++i) query += "\xc3\xa9";  // é, two bytes
  const std::string shown = shown_query(query);
  ASSERT_TRUE(shown.ends_with("..."));
  const std::string kept = shown.substr(0, shown.size() - 3);
  EXPECT_EQ(kept.size() % 2, 0U) << "a whole number of two-byte characters";
}

TEST(DescribeLockWait, NamesTheLockAndEveryHolderAndSaysWhatIsHidden) {
  LockWait wait;
  wait.locktype = "relation";
  wait.mode = "AccessExclusiveLock";
  wait.relation = "public.t";
  wait.holders.push_back({.pid = 41,
                          .user = "alice",
                          .hidden = false,
                          .state = "idle in transaction",
                          .query = "LOCK TABLE t",
                          .age_ms = 12000});
  wait.holders.push_back({.pid = 42, .user = "bob", .hidden = true});
  EXPECT_EQ(describe_lock_wait(wait),
            "waiting for an AccessExclusiveLock on public.t, held by pid 41 (alice, idle in "
            "transaction for 12s): LOCK TABLE t; and by pid 42 (bob, query and age hidden: they "
            "need pg_read_all_stats)");
  const nlohmann::json holders = holders_json(wait.holders);
  EXPECT_EQ(holders[0]["query"], "LOCK TABLE t");
  EXPECT_EQ(holders[0]["age_ms"], 12000);
  EXPECT_TRUE(holders[1]["query"].is_null());
  EXPECT_TRUE(holders[1]["age_ms"].is_null());
  EXPECT_EQ(holders[1]["hidden"], true);
}

TEST(DescribeLockWait, ALockNotOnARelationNamesItsTypeAndNoHolderIsSaid) {
  LockWait wait;
  wait.locktype = "virtualxid";
  wait.mode = "ShareLock";
  EXPECT_EQ(describe_lock_wait(wait),
            "waiting for a ShareLock (virtualxid); no blocking backend is visible");
}

struct OwnCancelRow {
  const char* what;
  std::optional<std::string> recorded;
  IndexState index;
  sql::ObjectOids by_name;
  bool own;
};

TEST(OwnCancelledBuild, OnlyTheSameOidOnTheSameTableUnderTheSameNameIsRebuiltWithoutRepair) {
  const IndexState invalid{.oid = "500", .table_oid = "400", .valid = false};
  IndexState valid = invalid;
  valid.valid = true;
  const std::vector<OwnCancelRow> rows = {
      {"the index dbmig cancelled", "500", invalid, {"400", "500"}, true},
      {"nothing recorded", std::nullopt, invalid, {"400", "500"}, false},
      {"an empty record", "", invalid, {"400", "500"}, false},
      {"another OID (dropped and made again by someone else)",
       "499",
       invalid,
       {"400", "500"},
       false},
      {"the name now resolves to another index (renamed)", "500", invalid, {"400", "501"}, false},
      {"the name resolves on another table", "500", invalid, {"401", "500"}, false},
      {"the index is valid", "500", valid, {"400", "500"}, false},
  };
  for (const OwnCancelRow& row : rows) {
    EXPECT_EQ(is_own_cancelled_build(row.recorded, row.index, row.by_name), row.own) << row.what;
  }
}

TEST(InterruptedFailure, NamesTheStepAndTheIndexLeftInvalid) {
  EXPECT_STREQ(interrupted_failure("", std::nullopt).what(), "interrupted");
  EXPECT_STREQ(interrupted_failure("0002-i/up.sql", std::nullopt).what(),
               "interrupted during 0002-i/up.sql");
  const Failure failure =
      interrupted_failure("0002-i/up.sql", CancelledBuild{"\"t_x_idx\"", "\"t\"", "16390"});
  EXPECT_STREQ(failure.what(),
               "interrupted during 0002-i/up.sql: dbmig cancelled its build of index \"t_x_idx\" "
               "on \"t\", which is left INVALID (OID 16390)");
  EXPECT_NE(failure.hint().find("no --repair needed"), std::string::npos) << failure.hint();
  EXPECT_EQ(failure.code(), ExitCode::runtime_failure);
}

}  // namespace
}  // namespace dbmig::engine
