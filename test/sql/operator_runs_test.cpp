// scan() computes the tokens of long runs of operator characters itself
// (sql/operator_runs.h). The oracle is pg_query_scan on the unchanged text
// (detail::scan_unchanged): on every input, with thresholds that make every
// run a region, scan() must give the same tokens, or the same error at the
// same offset. Then: the quadratic inputs are read in linear time.
#include "sql/operator_runs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "sql/scanner.h"
#include "sql/splitter.h"
#include "sql/step_lint.h"

namespace dbmig::sql {
namespace {

std::string describe(const std::expected<std::vector<Token>, ScanError>& result,
                     std::string_view source) {
  if (!result) {
    return "error at " + std::to_string(result.error().offset) + ": " +
           result.error().message.substr(0, result.error().message.find(" at or near"));
  }
  std::string out;
  // Appended piece by piece: g++ 12 -O2 misreads `"[" + std::string(...)` as
  // a memcpy of an impossible size (-Wstringop-overflow, a known false positive).
  for (const Token& token : *result) {
    out.append("[").append(token.text(source)).append("|");
    out.append(std::to_string(token.raw)).append("|");
    out.append(std::to_string(static_cast<int>(token.kind))).append("]");
  }
  return out;
}

void expect_same_as_scanner(const std::string& source) {
  const auto oracle = detail::scan_unchanged(source);
  const auto regions = detail::scan_with_regions(source, 0, 0);
  EXPECT_EQ(describe(regions, source), describe(oracle, source)) << "input: " << source;
}

TEST(OperatorRuns, EveryRunAsARegionGivesTheScannersTokens) {
  const std::vector<std::string> rows = {
      "select 1 +-+-+-+- 2;",
      "select 1 ++++ 2;",
      "select a <> b, a != b, a >= b, a <= b, a => b, a ~~ b, a @> b;",
      "select 1 +/**/+/**/- 2;",
      "select 1 */*/*/ 2 */;",
      "/*/*/*/**/*/*/*/ select 1;",
      "/* a /* b */ c */ select 1 /****/;",
      "select 1 -- +-+-/* x\n;",
      "select 1 +-- x\n;",
      "select x @-+ 1, x ~+- 1, x %- 1, x +%- 1, x -+@ 1;",
      "select '+-+-/*' || $$/*/*$$ || $a$ */ $ $a$ || E'\\'/*' || \"/*\" /* ' */;",
      "select a$b /*x*/ , U&'/*' , B'01' +-+ X'0f', N'/*';",
      "select 1e-+-+1;",
      "select 1 + /* unterminated /* nested */ ...",
      "select 1 +-+ /*/*/*",
      "select '/* not a comment' +-+- 1;",
      "select $1 +-+ $2, $$ +-+-+- $$;",
      "select 'a'\n-- +-+-+-+-\n'b' +-+- 1;",
      "select 1 ***/ 2;",
      "select x::int+-+-1, y[1]-+-1;",
  };
  for (const std::string& row : rows) expect_same_as_scanner(row);
}

TEST(OperatorRuns, RandomTextsGiveTheScannersTokens) {
  // Mostly operator characters, with enough quotes, words and newlines to
  // move the scanner between its states.
  const std::string alphabet = "+-*/<>=~!@#%^&|`?  \n ab e'\"$1;";
  std::mt19937 random(
      static_cast<unsigned>(std::getenv("SEED") ? std::atoi(std::getenv("SEED")) : 12345));
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(1, 60);
  for (int i = 0; i < (std::getenv("SEED") ? 100000 : 4000); ++i) {
    std::string text = "select ";
    const int n = length(random);
    for (int j = 0; j < n; ++j) text += alphabet[pick(random)];
    expect_same_as_scanner(text);
    if (HasFailure()) return;
  }
}

TEST(OperatorRuns, OrdinaryRunsAreLeftToTheScanner) {
  EXPECT_TRUE(detail::find_operator_regions("select a <> b; /* ====== */ select 1 @> 2;").empty());
  EXPECT_TRUE(
      detail::find_operator_regions("select '/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*';").empty());
  EXPECT_FALSE(detail::find_operator_regions(std::string(2000, '+')).empty());
}

// Seconds to split `text`.
double seconds_to_split(const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  const auto statements = split_statements(text);
  const auto stop = std::chrono::steady_clock::now();
  EXPECT_TRUE(statements.has_value()) << statements.error().message;
  return std::chrono::duration<double>(stop - start).count();
}

std::string repeated(std::string_view unit, std::size_t times) {
  std::string text;
  text.reserve(unit.size() * times);
  for (std::size_t i = 0; i < times; ++i) text += unit;
  return text;
}

// The bounds below are ten times what a loaded machine needs (0.08 s here)
// and a tenth of what the quadratic scanner took (over 120 s): they catch
// the quadratic case without failing on a busy CI machine.
TEST(OperatorRuns, NestingDepth200000IsReadInSeconds) {
  const std::string text = repeated("/*", 200'000) + repeated("*/", 200'000) + "\nSELECT 1;\n";
  EXPECT_LT(seconds_to_split(text), 10.0);
}

TEST(OperatorRuns, LongOperatorAndCommentRunsAreReadInSeconds) {
  // The long input must be read in seconds: the quadratic scanner needed
  // minutes for runs this long. (A ratio of two timings, 8x allowed for 4x
  // the input, failed under ASan with five tests running beside it: 14x.)
  // Best of three.
  for (const std::string_view unit : {"+-", "+/**/", "/*/**/*/"}) {
    SCOPED_TRACE(std::string(unit));
    const auto best_of_three = [&](std::size_t times) {
      const std::string text = "SELECT 1 " + repeated(unit, times) + " 1;\n";
      double best = 1e9;
      for (int i = 0; i < 3; ++i) best = std::min(best, seconds_to_split(text));
      return best;
    };
    const double large = best_of_three(160'000);
    EXPECT_LT(large, 10.0) << large << " s";
  }
}

// The PostgreSQL grammar check lexes each statement again: a deep comment
// inside a statement must not bring the quadratic cost back, and a comment
// must not hide a grammar problem.
TEST(OperatorRuns, GrammarCheckOfAStatementHoldingADeepCommentStaysLinear) {
  const std::string text =
      "SELECT 1 " + repeated("/*", 200'000) + repeated("*/", 200'000) + " + 1;\n";
  const auto start = std::chrono::steady_clock::now();
  const auto step = analyze_step(text, {Dialect::postgres});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  ASSERT_TRUE(step.has_value());
  EXPECT_TRUE(step->findings.empty());

  const std::string bad = "SELECT 1 /* a /* b */ */ FROM WHERE;";
  const auto rejected = analyze_step(bad, {Dialect::postgres});
  ASSERT_TRUE(rejected.has_value());
  ASSERT_EQ(rejected->findings.size(), 1u);
  EXPECT_NE(rejected->findings[0].message.find("grammar rejects"), std::string::npos);
  EXPECT_EQ(rejected->findings[0].offset, bad.find("WHERE"));
}

}  // namespace
}  // namespace dbmig::sql
