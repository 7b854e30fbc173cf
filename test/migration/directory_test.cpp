#include "migration/directory.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/corpus.h"
#include "support/file_tree.h"

namespace dbmig::migration {
namespace {

using test::FileRow;
using test::TempTree;

// "name[step,step+v,step!]" per version (+v: has a verify file, !: marked
// non-transactional, *: multi DDL allowed after the name), then "orphans:N".
std::string summarize(const MigrationDir& dir) {
  std::string out;
  for (const Version& v : dir.versions) {
    if (!out.empty()) out += ' ';
    out += v.name;
    if (v.multi_ddl_allowed) out += '*';
    out += '[';
    for (std::size_t i = 0; i < v.steps.size(); ++i) {
      const StepFile& s = v.steps[i];
      if (i > 0) out += ',';
      out += std::to_string(s.number) + ':' + s.file_name;
      if (s.verify_path) out += "+v";
      if (s.marked_non_transactional) out += '!';
    }
    out += ']';
  }
  if (!dir.orphan_verify_files.empty()) {
    out += " orphans:";
    for (const auto& p : dir.orphan_verify_files) out += ' ' + p.filename().string();
  }
  return out;
}

std::string format_all(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.format() + '\n';
  return out;
}

struct GoodRow {
  std::string label;
  std::vector<FileRow> files;
  std::string expected;
};

TEST(LoadDirectory, AcceptsValidTrees) {
  const GoodRow rows[] = {
      {"numbered, ordered numerically",
       {{"10-ten/up.sql", "x"}, {"2_two/up.sql", "x"}, {"0001-one/up.sql", "x"}},
       "0001-one[1:up.sql] 2_two[1:up.sql] 10-ten[1:up.sql]"},
      {"upN with leading zeros, ordered numerically",
       {{"1-a/up02.sql", "x"},
        {"1-a/up1.sql", "x"},
        {"1-a/up10.sql", "x"},
        {"1-a/up3.sql", "x"},
        {"1-a/up4.sql", "x"},
        {"1-a/up5.sql", "x"},
        {"1-a/up6.sql", "x"},
        {"1-a/up7.sql", "x"},
        {"1-a/up8.sql", "x"},
        {"1-a/up09.sql", "x"}},
       "1-a[1:up1.sql,2:up02.sql,3:up3.sql,4:up4.sql,5:up5.sql,6:up6.sql,7:up7.sql,8:up8.sql,"
       "9:up09.sql,10:up10.sql]"},
      {"danger files mark steps",
       {{"1-a/up-danger-non-transactional.sql", "x"},
        {"2-b/up1.sql", "x"},
        {"2-b/up2-danger-non-transactional.sql", "x"}},
       "1-a[1:up-danger-non-transactional.sql!] "
       "2-b[1:up1.sql,2:up2-danger-non-transactional.sql!]"},
      {"verify files attach to their step",
       {{"1-a/up1.sql", "x"},
        {"1-a/up1.verify.sql", "v"},
        {"1-a/up2-danger-non-transactional.sql", "x"},
        {"1-a/up2-danger-non-transactional.verify.sql", "v"}},
       "1-a[1:up1.sql+v,2:up2-danger-non-transactional.sql+v!]"},
      {"orphan verify files are collected, not errors",
       {{"1-a/up.sql", "x"}, {"1-a/up2.verify.sql", "v"}},
       "1-a[1:up.sql] orphans: up2.verify.sql"},
      {"ignored: hidden entries, top-level files, non-sql files in versions, subdirs",
       {{".git/config", "x"},
        {".hidden.sql", "x"},
        {"README.md", "x"},
        {"LICENSE", "x"},
        {"1-a/up.sql", "x"},
        {"1-a/README.md", "x"},
        {"1-a/.up1.sql.swp", "x"},
        {"1-a/notes/old.sql", "x"}},
       "1-a[1:up.sql]"},
      {"listed in dbmig.json, list order, multi DDL through",
       {{"dbmig.json",
         R"({"dialect": "cockroach", "versions": ["zeta", "alpha", "mid"],
             "multi_ddl_allowed_through": "alpha"})"},
        {"zeta/up.sql", "x"},
        {"alpha/up1.sql", "x"},
        {"mid/up.sql", "x"}},
       "zeta*[1:up.sql] alpha*[1:up1.sql] mid[1:up.sql]"},
      {"multi DDL through N alone in a numbered tree",
       {{"dbmig.json", R"({"multi_ddl_allowed_through": "2"})"},
        {"001-a/up.sql", "x"},
        {"002-b/up.sql", "x"},
        {"003-c/up.sql", "x"}},
       "001-a*[1:up.sql] 002-b*[1:up.sql] 003-c[1:up.sql]"},
  };
  for (const auto& row : rows) {
    const TempTree tree(row.files);
    const auto dir = load_directory(tree.root());
    ASSERT_TRUE(dir.has_value()) << row.label << "\n" << format_all(dir.error());
    EXPECT_EQ(summarize(*dir), row.expected) << row.label;
  }
}

TEST(LoadDirectory, ReadsSettings) {
  const TempTree tree({{"dbmig.json", R"({"dialect": "cockroach"})"}, {"1-a/up.sql", "x"}});
  const auto dir = load_directory(tree.root());
  ASSERT_TRUE(dir.has_value()) << format_all(dir.error());
  EXPECT_EQ(dir->settings.dialect, sql::Dialect::cockroach);
  EXPECT_TRUE(dir->settings.versions.empty());
  EXPECT_FALSE(dir->settings.multi_ddl_allowed_through.has_value());
}

TEST(LoadDirectory, FindsVersionsByNameOrNumber) {
  const TempTree tree({{"0002-b/up.sql", "x"}, {"1-a/up.sql", "x"}});
  const auto dir = load_directory(tree.root());
  ASSERT_TRUE(dir.has_value()) << format_all(dir.error());
  struct Row {
    std::string query;
    std::string expected;
  };
  const Row rows[] = {{"0002-b", "0002-b"}, {"2", "0002-b"}, {"002", "0002-b"}, {"1", "1-a"},
                      {"1-a", "1-a"},       {"3", ""},       {"b", ""}};
  for (const auto& row : rows) {
    const Version* v = dir->find_version(row.query);
    EXPECT_EQ(v ? v->name : "", row.expected) << row.query;
  }
}

struct BadRow {
  std::string label;
  std::vector<FileRow> files;
  std::string file;     // expected Diagnostic::file, relative to the root ("" = root itself)
  std::string message;  // substring of the message
  int line = 0;
  int column = 0;
};

TEST(LoadDirectory, RejectsInvalidTrees) {
  const BadRow rows[] = {
      {"version name without number", {{"abc/up.sql", "x"}}, "abc", "does not start with a number"},
      {"version number 0", {{"0-zero/up.sql", "x"}}, "0-zero", "version number 0"},
      {"version without name", {{"12-/up.sql", "x"}}, "12-", "no name after the number"},
      {"duplicate version number",
       {{"1-a/up.sql", "x"}, {"01_b/up.sql", "x"}},
       "1-a",
       "\"01_b\" and \"1-a\" have the same number 1"},
      {"top-level sql file",
       {{"1-a/up.sql", "x"}, {"up.sql", "x"}},
       "up.sql",
       "outside any version directory"},
      {"empty version", {{"1-a/", ""}}, "1-a", "has no step file"},
      {"version with only a README", {{"1-a/README.md", "x"}}, "1-a", "has no step file"},
      {"up0", {{"1-a/up0.sql", "x"}}, "1-a/up0.sql", "step numbers start at 1"},
      {"gap", {{"1-a/up1.sql", "x"}, {"1-a/up3.sql", "x"}}, "1-a", "step 2 is missing"},
      {"not starting at 1", {{"1-a/up2.sql", "x"}}, "1-a", "step 1 is missing"},
      {"gap of several steps",
       {{"1-a/up1.sql", "x"}, {"1-a/up5.sql", "x"}},
       "1-a",
       "steps 2 to 4 are missing (up2.sql..up4.sql) before \"up5.sql\""},
      {"highest step number alone (found by fuzz_directory: was one diagnostic per number)",
       {{"1-a/up1000000.sql", "x"}},
       "1-a",
       "steps 1 to 999999 are missing"},
      {"up1 + up01",
       {{"1-a/up1.sql", "x"}, {"1-a/up01.sql", "x"}},
       "1-a/up1.sql",
       "\"up1.sql\" and \"up01.sql\" are the same step"},
      {"up1 + danger up1",
       {{"1-a/up1.sql", "x"}, {"1-a/up1-danger-non-transactional.sql", "x"}},
       "1-a/up1.sql",
       "are the same step"},
      {"up + danger up",
       {{"1-a/up.sql", "x"}, {"1-a/up-danger-non-transactional.sql", "x"}},
       "1-a/up.sql",
       "are the same step"},
      {"up mixed with upN",
       {{"1-a/up.sql", "x"}, {"1-a/up1.sql", "x"}},
       "1-a/up.sql",
       "mixed with numbered steps"},
      {"upper-case name", {{"1-a/UP.sql", "x"}}, "1-a/UP.sql", "not a step file"},
      {"upper-case extension",
       {{"1-a/up.sql", "x"}, {"1-a/up2.SQL", "x"}},
       "1-a/up2.SQL",
       "not a step file"},
      {"typo", {{"1-a/up.sql", "x"}, {"1-a/down.sql", "x"}}, "1-a/down.sql", "not a step file"},
      {"misspelled danger", {{"1-a/up1-danger.sql", "x"}}, "1-a/up1-danger.sql", "not a step file"},
      {"listed but missing",
       {{"dbmig.json", "{\n  \"versions\": [\"a\", \"b\"]\n}"}, {"a/up.sql", "x"}},
       "dbmig.json",
       "listed version \"b\" has no directory",
       2,
       21},
      {"unlisted directory",
       {{"dbmig.json", R"({"versions": ["a"]})"}, {"a/up.sql", "x"}, {"b/up.sql", "x"}},
       "b",
       "is not listed"},
      {"listed twice",
       {{"dbmig.json", R"({"versions": ["a", "a"]})"}, {"a/up.sql", "x"}},
       "dbmig.json",
       "listed more than once",
       1,
       20},
      {"json syntax error",
       {{"dbmig.json", "{\n  \"dialect\": \"postgres\",\n}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "not valid JSON",
       3,
       1},
      {"json number beyond double range (found by fuzz_dbmig_json)",
       {{"dbmig.json", "{\"dialect\":\n  1e999}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "not valid JSON: number overflow parsing '1e999'",
       2,
       3},
      {"json not an object",
       {{"dbmig.json", "[1]"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "must hold a JSON object",
       1,
       1},
      {"unknown key",
       {{"dbmig.json", "{\"dialect\": \"postgres\",\n \"dialekt\": 1}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "unknown key \"dialekt\"",
       2,
       2},
      {"duplicate key",
       {{"dbmig.json",
         "{\"versions\": [\"dialect\"],\n \"dialect\": \"postgres\",\n  \"dialect\" : "
         "\"cockroach\"}"},
        {"dialect/up.sql", "x"}},
       "dbmig.json",
       "duplicate key \"dialect\" in dbmig.json",
       3,
       3},
      {"bad dialect",
       {{"dbmig.json", "{ \"dialect\": \"mysql\" }"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "\"dialect\" must be",
       1,
       3},
      {"versions wrong type",
       {{"dbmig.json", "{\"versions\": [1]}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "array of strings",
       1,
       2},
      {"multi ddl wrong type",
       {{"dbmig.json", "{\"multi_ddl_allowed_through\": 3}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "must be a string",
       1,
       2},
      {"multi ddl unknown version",
       {{"dbmig.json", "{\n\"multi_ddl_allowed_through\": \"9\"}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "unknown version \"9\"",
       2,
       1},
      {"imported_from wrong shape",
       {{"dbmig.json", "{\"imported_from\": {\"format\": \"goose\"}}"}, {"1-a/up.sql", "x"}},
       "dbmig.json",
       "\"imported_from\" must be",
       1,
       2},
      {"imported_from map value not a string",
       {{"dbmig.json", R"({"imported_from": {"format": "goose", "versions": {"1": 1}}})"},
        {"1-a/up.sql", "x"}},
       "dbmig.json",
       "\"imported_from\" must be",
       1,
       2},
      {"imported_from names an unknown directory",
       {{"dbmig.json",
         "{\"imported_from\": {\"format\": \"goose\",\n \"versions\": {\"1\": "
         "\"1-a\", \"2\": \"2-b\"}}}"},
        {"1-a/up.sql", "x"}},
       "dbmig.json",
       "maps 2 to unknown version \"2-b\"",
       2,
       32},
      {"imported_from maps two versions to one directory",
       {{"dbmig.json",
         R"({"imported_from": {"format": "goose", "versions": {"1": "1-a", "01": "1-a"}}})"},
        {"1-a/up.sql", "x"}},
       "dbmig.json",
       "maps two versions to \"1-a\"",
       1,
       70},
  };
  for (const auto& row : rows) {
    const TempTree tree(row.files);
    const auto dir = load_directory(tree.root());
    ASSERT_FALSE(dir.has_value()) << row.label << " was accepted: " << summarize(*dir);
    const auto& problems = dir.error();
    const std::string expected_file = (tree.root() / row.file).string();
    const auto match = std::find_if(problems.begin(), problems.end(), [&](const Diagnostic& d) {
      return d.file == expected_file && d.message.find(row.message) != std::string::npos;
    });
    ASSERT_NE(match, problems.end()) << row.label << "\n" << format_all(problems);
    EXPECT_EQ(match->severity, Severity::error) << row.label;
    EXPECT_EQ(match->line, row.line) << row.label << "\n" << match->format();
    EXPECT_EQ(match->column, row.column) << row.label << "\n" << match->format();
    EXPECT_EQ(problems.size(), 1U) << row.label << "\n" << format_all(problems);
  }
}

TEST(LoadDirectory, EveryRepeatOfAKeyIsReportedAtItsOwnPosition) {
  const TempTree tree({{"dbmig.json",
                        "{\"dialect\": \"postgres\", \"dialect\": \"postgres\",\n"
                        "\"dialect\"\n  : \"postgres\"}"},
                       {"1-a/up.sql", "x"}});
  const auto dir = load_directory(tree.root());
  ASSERT_FALSE(dir.has_value());
  std::vector<std::string> found;
  for (const Diagnostic& d : dir.error()) found.push_back(d.format());
  const std::string file = (tree.root() / "dbmig.json").string();
  const std::string hint = "\n  hint: keep one of them: JSON readers disagree on which one counts";
  EXPECT_EQ(found, (std::vector<std::string>{
                       file + ":1:25: error: duplicate key \"dialect\" in dbmig.json" + hint,
                       file + ":2:1: error: duplicate key \"dialect\" in dbmig.json" + hint}));
}

TEST(LoadDirectory, ReportsEveryProblemAtOnce) {
  const TempTree tree({{"dbmig.json", R"({"bogus": true})"},
                       {"stray.sql", "x"},
                       {"1-a/up1.sql", "x"},
                       {"1-a/up3.sql", "x"},
                       {"2-b/", ""},
                       {"3-c/upx.sql", "x"},
                       {"3-c/up.sql", "x"},
                       {"nonumber/up.sql", "x"}});
  const auto dir = load_directory(tree.root());
  ASSERT_FALSE(dir.has_value());
  const std::string all = format_all(dir.error());
  for (const std::string needle : {"unknown key \"bogus\"", "stray.sql", "step 2 is missing",
                                   "2-b: error: version directory has no step file",
                                   "\"upx.sql\" is not a step file", "\"nonumber\""}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle << "\n" << all;
  }
  EXPECT_EQ(dir.error().size(), 6U) << all;
}

TEST(LoadDirectory, HintsListAcceptedStepNames) {
  const TempTree tree({{"1-a/up.sql", "x"}, {"1-a/upgrade.sql", "x"}});
  const auto dir = load_directory(tree.root());
  ASSERT_FALSE(dir.has_value());
  ASSERT_EQ(dir.error().size(), 1U);
  EXPECT_NE(dir.error()[0].hint.find("up1.sql..upK.sql"), std::string::npos);
}

TEST(LoadDirectory, MissingRootIsAnError) {
  const auto dir = load_directory("/nonexistent/dbmig-test-dir");
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error().at(0).message.find("does not exist"), std::string::npos);
}

TEST(LoadDirectory, ReadsTheOmicronCorpus) {
  DBMIG_REQUIRE_CORPUS(corpus, "omicron-crdb");
  const auto started = std::chrono::steady_clock::now();
  const auto dir = load_directory(corpus);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(dir.has_value()) << format_all(dir.error());
  std::size_t steps = 0;
  std::size_t multi = 0;
  for (const Version& v : dir->versions) {
    steps += v.steps.size();
    multi += v.multi_ddl_allowed ? 1 : 0;
  }
  EXPECT_EQ(dir->versions.size(), 147U);
  EXPECT_EQ(steps, 664U);
  EXPECT_EQ(dir->settings.dialect, sql::Dialect::cockroach);
  EXPECT_EQ(dir->versions.front().name, "clean-misplaced-m2s");
  EXPECT_EQ(dir->versions.back().name, "external-service-ip-pool");
  EXPECT_GT(multi, 0U);
  EXPECT_LT(multi, dir->versions.size());
  std::cout << "corpus: " << dir->versions.size() << " versions, " << steps << " steps, " << multi
            << " multi-DDL versions, load_directory "
            << std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count() << " us\n";
}

}  // namespace
}  // namespace dbmig::migration
