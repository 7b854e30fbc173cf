// engine::verify against a real PostgreSQL: every applied step's proofs are
// re-run; a proof of an object a later applied step drops is superseded; a
// false proof exits 3 (contract section 7); the JSON document is docs/json.md's.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/commands.h"
#include "engine/state.h"
#include "support/apply_harness.h"
#include "support/json_schema.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using nlohmann::json;
using test::MigrationTree;

using test::last_line_json;

const std::string kCreateTable = "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT);\n";
const std::string kIndex = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n";
const std::string kConstraint = "ALTER TABLE t ADD CONSTRAINT t_x_positive CHECK (x > 0);\n";

struct VerifyRun {
  ExitCode code = ExitCode::ok;
  json document;
  std::string text;
};

class VerifyTest : public test::DatabaseTest {
 protected:
  VerifyRun verify(const migration::Plan& plan, bool as_json = true) {
    std::ostringstream out;
    std::ostringstream err;
    OutputOptions output;
    output.format = as_json ? OutputFormat::json : OutputFormat::text;
    Reporter reporter(output, out, err);
    VerifyRun run;
    run.code = engine::verify(plan, {.conninfo = conninfo(), .state_schema = "dbmig"}, reporter);
    if (as_json) {
      test::expect_valid_engine_json(out.str());
      run.document = last_line_json(out.str());
    } else {
      run.text = out.str();
    }
    return run;
  }
  void apply(const MigrationTree& tree) {
    const test::ApplyOutcome outcome = test::run_apply(tree.plan(), conninfo());
    ASSERT_EQ(outcome.code, ExitCode::ok) << outcome.describe();
  }
  void exec(const std::string& sql) {
    db::Connection connection = connect();
    connection.exec(sql);
  }
};

// "<version>/<file>: <status>" of every proof, in order.
std::vector<std::string> outcomes(const json& document) {
  std::vector<std::string> result;
  for (const json& proof : document.at("proofs")) {
    result.push_back(proof.at("version").get<std::string>() + "/" +
                     proof.at("file").get<std::string>() + ": " +
                     proof.at("status").get<std::string>());
  }
  return result;
}

TEST_F(VerifyTest, ProvesEveryAppliedChange) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable},
                      {"0002-index/up.sql", kIndex},
                      {"0003-check/up.sql", kConstraint}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document),
            (std::vector<std::string>{"0002-index/up.sql: proved", "0003-check/up.sql: proved"}));
  EXPECT_EQ(run.document.at("summary"),
            (json{{"proved", 2}, {"incomplete", 0}, {"superseded", 0}, {"error", 0}}));
  EXPECT_EQ(run.document.at("current_version"), "0003-check");
  EXPECT_EQ(run.document.at("proofs").at(0).at("change"),
            "index \"t_x_idx\" on \"t\" is valid, ready and live");
}

// contract section 8: a step holding only comments is a no-op step, recorded like any
// other; verify has nothing to prove for it and the version after it applies.
TEST_F(VerifyTest, ACommentOnlyStepIsRecordedAndHasNothingToProve) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable},
                      {"0002-note/up.sql", "-- this version was reverted upstream\n/* kept */\n"},
                      {"0003-index/up.sql", kIndex}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  db::Connection connection = connect();
  EXPECT_EQ(
      test::query_value(connection, "SELECT state FROM dbmig.steps WHERE version = '0002-note'"),
      "verified");
  EXPECT_EQ(test::query_value(connection, "SELECT version FROM dbmig.state"), "0003-index");
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0003-index/up.sql: proved"}));
  std::ostringstream out;
  std::ostringstream err;
  Reporter reporter({}, out, err);
  EXPECT_EQ(engine::status(tree.plan(), {.conninfo = conninfo(), .state_schema = "dbmig"},
                           {.exit_code = false}, reporter),
            ExitCode::ok)
      << out.str();
  EXPECT_NE(out.str().find("current version: 0003-index"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("up to date"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("pending"), std::string::npos) << out.str();
}

// ADD CONSTRAINT ... PRIMARY KEY / UNIQUE USING INDEX renames the index to
// the constraint's name: its earlier proof is superseded, not INCOMPLETE.
TEST_F(VerifyTest, AnIndexAConstraintTakesOverUsingIndexIsSuperseded) {
  struct Row {
    std::string constraint;
  };
  const std::vector<Row> rows = {
      {"ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY USING INDEX u_id_key;\n"},
      {"ALTER TABLE u ADD CONSTRAINT u_id_unique UNIQUE USING INDEX u_id_key;\n"},
  };
  for (const Row& row : rows) {
    SetUp();
    MigrationTree tree(
        {{"0001-u/up.sql", "CREATE TABLE u (id INT NOT NULL);\n"},
         {"0002-index/up.sql", "CREATE UNIQUE INDEX CONCURRENTLY u_id_key ON u (id);\n"},
         {"0003-pkey/up.sql", row.constraint}});
    ASSERT_NO_FATAL_FAILURE(apply(tree));
    const VerifyRun run = verify(tree.plan());
    EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
    ASSERT_EQ(outcomes(run.document).at(0), "0002-index/up.sql: superseded") << row.constraint;
    EXPECT_EQ(run.document.at("proofs").at(0).at("superseded_by"), "0003-pkey/up.sql");
  }
}

// A rename dbmig cannot read (EXECUTE inside DO): the object is found under
// its new name by its identical definition, with a warning naming both.
TEST_F(VerifyTest, AnObjectRenamedOutOfSightIsFoundByItsDefinition) {
  const std::string rename_both =
      "DO $$ BEGIN\n"
      "  EXECUTE format('ALTER INDEX %I RENAME TO %I', 't_x_idx', 't_x_index');\n"
      "  EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', 't', 't_x_positive',"
      " 't_x_check');\n"
      "END $$;\n";
  MigrationTree tree({{"0001-t/up.sql", kCreateTable},
                      {"0002-index/up.sql", kIndex},
                      {"0003-check/up.sql", kConstraint},
                      {"0004-rename/up.sql", rename_both}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document),
            (std::vector<std::string>{"0002-index/up.sql: proved", "0003-check/up.sql: proved"}));
  EXPECT_EQ(run.document.at("proofs").at(0).at("found_as"), "t_x_index");
  EXPECT_EQ(run.document.at("proofs").at(1).at("found_as"), "t_x_check");
  const VerifyRun text = verify(tree.plan(), false);
  EXPECT_NE(text.text.find("ok, found as \"t_x_index\""), std::string::npos) << text.text;
}

// A different definition under another name is not the proved object.
TEST_F(VerifyTest, AnotherDefinitionUnderAnotherNameIsStillIncomplete) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-index/up.sql", kIndex}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  exec("DROP INDEX t_x_idx");
  exec("CREATE INDEX t_other_idx ON t (x, id)");
  exec("CREATE INDEX t_desc_idx ON t (x DESC)");
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::check_failed) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0002-index/up.sql: incomplete"}));
}

TEST_F(VerifyTest, AnIndexThatIsGoneOrInvalidIsIncomplete) {
  struct Row {
    std::string sabotage;
  };
  const std::vector<Row> rows = {
      {"DROP INDEX t_x_idx"},
      {"UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_x_idx'::regclass"},
  };
  for (const Row& row : rows) {
    SetUp();
    MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-index/up.sql", kIndex}});
    ASSERT_NO_FATAL_FAILURE(apply(tree));
    exec(row.sabotage);
    const VerifyRun run = verify(tree.plan());
    EXPECT_EQ(run.code, ExitCode::check_failed) << row.sabotage;
    EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0002-index/up.sql: incomplete"}))
        << row.sabotage;
    const VerifyRun text = verify(tree.plan(), false);
    EXPECT_NE(text.text.find("0002-index/up.sql: index \"t_x_idx\" on \"t\""
                             " is valid, ready and live: INCOMPLETE"),
              std::string::npos)
        << text.text;
  }
}

TEST_F(VerifyTest, AProofOfAnObjectALaterVersionDropsIsSuperseded) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable},
                      {"0002-index/up.sql", kIndex},
                      {"0003-check/up.sql", kConstraint},
                      {"0004-drop-index/up.sql", "DROP INDEX CONCURRENTLY IF EXISTS t_x_idx;\n"},
                      {"0005-drop-check/up.sql", "ALTER TABLE t DROP CONSTRAINT t_x_positive;\n"}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0002-index/up.sql: superseded",
                                                              "0003-check/up.sql: superseded"}));
  EXPECT_EQ(run.document.at("proofs").at(0).at("superseded_by"), "0004-drop-index/up.sql");
  EXPECT_EQ(run.document.at("proofs").at(1).at("superseded_by"), "0005-drop-check/up.sql");
}

TEST_F(VerifyTest, AProofThatFailsAfterALaterColumnDropIsSupersededByIt) {
  MigrationTree tree({{"0001-t/up.sql",
                       "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT, y INT, z INT);\n"},
                      {"0002-index/up.sql", kIndex},
                      {"0003-check/up.sql", kConstraint},
                      {"0004-y-index/up.sql", "CREATE INDEX IF NOT EXISTS t_y_idx ON t (y);\n"},
                      {"0005-drop-x/up.sql", "ALTER TABLE t DROP COLUMN x;\n"},
                      {"0006-drop-z/up.sql", "ALTER TABLE t DROP COLUMN IF EXISTS z;\n"}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok) << run.document.dump(2);
  // The index and the check on x went with the column; the index on y is
  // still proved (a later drop of another column does not touch it).
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0002-index/up.sql: superseded",
                                                              "0003-check/up.sql: superseded",
                                                              "0004-y-index/up.sql: proved"}));
  EXPECT_EQ(run.document.at("proofs").at(0).at("superseded_by"), "0005-drop-x/up.sql");
  EXPECT_EQ(run.document.at("proofs").at(1).at("superseded_by"), "0005-drop-x/up.sql");
}

TEST_F(VerifyTest, ALaterColumnDropNeverHidesAnIndexThatIsStillMissing) {
  // The index on y is dropped by hand (not by a step); the later step drops
  // x, which the index does not use: the proof fails and verify says so.
  MigrationTree tree(
      {{"0001-t/up.sql", "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, x INT, y INT);\n"},
       {"0002-y-index/up.sql", "CREATE INDEX IF NOT EXISTS t_y_idx ON t (y);\n"},
       {"0003-drop-x/up.sql", "ALTER TABLE t DROP COLUMN x;\n"}});
  ASSERT_NO_FATAL_FAILURE(apply(tree));
  exec("DROP INDEX t_y_idx");
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::check_failed) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0002-y-index/up.sql: incomplete"}));
}

TEST_F(VerifyTest, ADropNotYetAppliedSupersedesNothing) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable},
                      {"0002-index/up.sql", kIndex},
                      {"0003-drop-index/up.sql", "DROP INDEX CONCURRENTLY IF EXISTS t_x_idx;\n"}});
  engine::ApplyOptions options = test::fast_apply_options();
  options.to = "0002-index";
  ASSERT_EQ(test::run_apply(tree.plan(), conninfo(), options).code, ExitCode::ok);
  exec("DROP INDEX t_x_idx");
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::check_failed);
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0002-index/up.sql: incomplete"}));
}

TEST_F(VerifyTest, AProofQueryThatFailsIsReportedAndExitsOne) {
  // A cross-database name: PostgreSQL's to_regclass raises 0A000 for it. The
  // step is recorded as verified without running, as an old tool might have.
  MigrationTree tree(std::vector<test::FileRow>{
      {"0001-far/up.sql", "CREATE INDEX far_idx ON otherdb.public.t (x);\n"}});
  const migration::PlannedStep& step = tree.plan().versions.at(0).steps.at(0);
  ASSERT_EQ(step.analysis.changes.size(), 1U);
  db::Connection connection = connect();
  StateTables(std::string("dbmig")).ensure(connection);
  connection.exec("UPDATE dbmig.state SET version = '0001-far'");
  connection.exec(
      "INSERT INTO dbmig.steps (version, step, file, sha256, state, transactional, runner) "
      "VALUES ('0001-far', 1, 'up.sql', '" +
      step.sha256 + "', 'verified', true, 'test')");
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::runtime_failure) << run.document.dump(2);
  EXPECT_EQ(outcomes(run.document), (std::vector<std::string>{"0001-far/up.sql: error"}));
  EXPECT_EQ(run.document.at("proofs").at(0).at("error").at("sqlstate"), "0A000");
  EXPECT_EQ(run.document.at("summary").at("error"), 1);
}

TEST_F(VerifyTest, NothingAppliedVerifiesNothing) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}, {"0002-index/up.sql", kIndex}});
  const VerifyRun run = verify(tree.plan());
  EXPECT_EQ(run.code, ExitCode::ok);
  EXPECT_TRUE(run.document.at("proofs").empty());
  EXPECT_TRUE(run.document.at("current_version").is_null());
}

TEST_F(VerifyTest, ARecordedVersionTheDirectoryLacksIsAUsageError) {
  MigrationTree tree({{"0001-t/up.sql", kCreateTable}});
  db::Connection connection = connect();
  StateTables(std::string("dbmig")).ensure(connection);
  connection.exec("UPDATE dbmig.state SET version = '0007-future'");
  try {
    (void)verify(tree.plan());
    FAIL() << "verify accepted a database at an unknown version";
  } catch (const Failure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::usage_error);
    EXPECT_NE(std::string(failure.what()).find("0007-future"), std::string::npos) << failure.what();
  }
}

}  // namespace
}  // namespace dbmig::engine
