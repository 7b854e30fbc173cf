// contract section 9: what the server reads is what dbmig read, and dbmig stays who it
// is. A step that changes client_encoding, standard_conforming_strings, role
// or session_authorization (SET, SET NAMES, SET SESSION AUTHORIZATION,
// set_config) is an error at the setting's position; SET LOCAL ROLE in a
// transactional step is the one exception.
#include <gtest/gtest.h>

#include "core/text.h"
#include "sql/step_lint.h"

namespace dbmig::sql {
namespace {

constexpr Dialect pg = Dialect::postgres;

struct Row {
  std::string_view sql;
  StepRules rules;
  std::string_view setting;  // "" = accepted
  int line;
  int column;
};

const Row kRows[] = {
    {"SET client_encoding = 'LATIN1';\nINSERT INTO t VALUES (1);", {pg}, "client_encoding", 1, 5},
    {"SET NAMES 'LATIN1';", {pg}, "client_encoding", 1, 5},
    {"SET SESSION standard_conforming_strings TO off;", {pg}, "standard_conforming_strings", 1, 13},
    {"SET LOCAL \"standard_conforming_strings\" = off;",
     {pg},
     "standard_conforming_strings",
     1,
     11},
    {"INSERT INTO t VALUES (1);\nSET ROLE app;", {pg}, "role", 2, 5},
    {"SET SESSION ROLE app;", {pg}, "role", 1, 13},
    {"SET LOCAL ROLE app;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);",
     {pg, true},
     "role",
     1,
     11},
    {"SET SESSION AUTHORIZATION app;", {pg}, "session_authorization", 1, 5},
    {"SET session_authorization = app;", {pg}, "session_authorization", 1, 5},
    {"SELECT pg_catalog.set_config('role', 'app', false);", {pg}, "role", 1, 19},
    {"SELECT set_config('standard_conforming_strings', 'off', true);",
     {pg},
     "standard_conforming_strings",
     1,
     8},
    {"SET LOCAL ROLE app;\nCREATE TABLE t (a int);", {pg}, "", 0, 0},
    {"SET search_path = s1;\nCREATE TABLE t (a int);", {pg}, "", 0, 0},
    {"RESET ROLE;\nSELECT set_config('app.flag', 'on', true);", {pg}, "", 0, 0},
    {"INSERT INTO t (a) VALUES ('SET ROLE x');", {pg}, "", 0, 0},
};

TEST(StepSettings, ChangingWhatTheServerReadsOrWhoDbmigIsIsAnError) {
  for (const Row& row : kRows) {
    SCOPED_TRACE(row.sql);
    const auto step = analyze_step(row.sql, row.rules);
    ASSERT_TRUE(step.has_value());
    const Finding* found = nullptr;
    for (const Finding& finding : step->findings) {
      if (finding.message.find("the step changes ") != std::string::npos) found = &finding;
    }
    if (row.setting.empty()) {
      EXPECT_EQ(found, nullptr) << found->message;
      continue;
    }
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->severity, Severity::error);
    EXPECT_NE(found->message.find("changes " + std::string(row.setting) + ","), std::string::npos)
        << found->message;
    const TextPosition at = position_at(row.sql, found->offset);
    EXPECT_EQ(at.line, row.line);
    EXPECT_EQ(at.column, row.column);
  }
}

}  // namespace
}  // namespace dbmig::sql
