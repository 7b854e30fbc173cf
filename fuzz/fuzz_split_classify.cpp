// Fuzz target: statement splitting, classification and step lint.
//
// The input is a step file's bytes. split_statements() must either succeed
// with spans that reproduce the input byte for byte (statements plus the gaps
// between them), are ordered, disjoint and stable when the statements are
// split again, or fail at a valid position. analyze_step() (both dialects)
// must fail exactly when splitting fails, and everything it returns -- the
// classifications, changes, findings and the verification queries generated
// from the changes -- must point into the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "fuzz/fuzz_check.h"
#include "sql/classify.h"
#include "sql/scanner.h"
#include "sql/splitter.h"
#include "sql/step_lint.h"
#include "sql/verify_query.h"

namespace {

using namespace dbmig;

bool same_position(const sql::Statement& statement, std::string_view source) {
  const TextPosition at = position_at(source, statement.begin);
  return at.line == statement.line && at.column == statement.column;
}

void check_tokens(const sql::Statement& statement, std::size_t size) {
  std::size_t previous_end = statement.begin;
  for (const sql::Token& token : statement.tokens) {
    FUZZ_CHECK(token.begin < token.end, "token is empty");
    FUZZ_CHECK(token.begin >= previous_end, "tokens overlap or are out of order");
    FUZZ_CHECK(token.end <= statement.end && token.end <= size, "token beyond its statement");
    previous_end = token.end;
  }
  FUZZ_CHECK(!statement.tokens.empty(), "statement without tokens");
  FUZZ_CHECK(statement.tokens.front().begin == statement.begin,
             "statement does not begin at its first token");
  FUZZ_CHECK(statement.tokens.back().end == statement.end,
             "statement does not end at its last token");
}

// Spans ordered, disjoint, within the input; statements and gaps rejoin to the input.
void check_spans(std::string_view source, const std::vector<sql::Statement>& statements) {
  std::string rejoined;
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const sql::Statement& statement = statements[i];
    FUZZ_CHECK(statement.begin >= cursor, "statements overlap or are out of order");
    FUZZ_CHECK(statement.begin < statement.end, "empty statement");
    FUZZ_CHECK(statement.end <= source.size(), "statement beyond the input");
    FUZZ_CHECK(same_position(statement, source), "statement line/column is not position_at(begin)");
    const std::string_view gap = source.substr(cursor, statement.begin - cursor);
    if (i > 0) {
      FUZZ_CHECK(statements[i - 1].terminated, "an unterminated statement is not the last");
      FUZZ_CHECK(gap.find(';') != std::string_view::npos, "no `;` between two statements");
    }
    rejoined += gap;
    rejoined += statement.text(source);
    check_tokens(statement, source.size());
    cursor = statement.end;
  }
  rejoined += source.substr(cursor);
  FUZZ_CHECK(rejoined == source, "statements and gaps do not reproduce the input");
}

// The statements joined with ";\n" split into the same statement texts.
void check_stable(std::string_view source, const std::vector<sql::Statement>& statements) {
  std::string joined;
  for (const sql::Statement& statement : statements) {
    joined += statement.text(source);
    joined += ";\n";
  }
  const auto again = sql::split_statements(joined);
  FUZZ_CHECK(again.has_value(), "rejoined statements fail to split");
  FUZZ_CHECK(again->size() == statements.size(), "rejoined statements split differently");
  for (std::size_t i = 0; i < statements.size(); ++i) {
    FUZZ_CHECK((*again)[i].text(joined) == statements[i].text(source),
               "a rejoined statement splits to a different text");
  }
}

void check_error(std::string_view source, const sql::SplitError& error) {
  FUZZ_CHECK(error.offset <= source.size(), "split error offset beyond the input");
  const TextPosition at = position_at(source, error.offset);
  FUZZ_CHECK(at.line == error.line && at.column == error.column,
             "split error line/column is not position_at(offset)");
  FUZZ_CHECK(!error.message.empty(), "split error without message");
}

void check_findings(const std::vector<sql::Finding>& findings, std::size_t size) {
  for (const sql::Finding& finding : findings) {
    FUZZ_CHECK(finding.offset <= size, "finding offset beyond the input");
    FUZZ_CHECK(!finding.message.empty(), "finding without message");
  }
}

void check_change(const sql::Change& change, std::size_t size, sql::Dialect dialect) {
  FUZZ_CHECK(change.offset <= size, "change offset beyond the input");
  const std::string description = sql::describe_change(change, dialect);
  FUZZ_CHECK(!description.empty(), "empty change description");
  FUZZ_CHECK(description.find('\n') == std::string::npos, "change description is not one line");
  const std::string query = sql::verify_query(change, dialect);
  FUZZ_CHECK(query.starts_with("SELECT"), "verification query is not a SELECT");
  FUZZ_CHECK(query == sql::verify_query(change, dialect), "verification query not deterministic");
}

void check_analysis(std::string_view source, const std::vector<sql::Statement>& statements,
                    const sql::StepRules& rules) {
  const auto analysis = sql::analyze_step(source, rules);
  FUZZ_CHECK(analysis.has_value(), "analyze_step fails where split_statements succeeds");
  FUZZ_CHECK(analysis->statements.size() == statements.size(), "analyze_step splits differently");
  FUZZ_CHECK(analysis->classifications.size() == statements.size(),
             "not one classification per statement");
  check_findings(analysis->findings, source.size());
  for (std::size_t i = 1; i < analysis->findings.size(); ++i) {
    FUZZ_CHECK(analysis->findings[i - 1].offset <= analysis->findings[i].offset,
               "step findings not ordered by offset");
  }
  for (const sql::Change& change : analysis->changes) {
    check_change(change, source.size(), rules.dialect);
  }
  for (const sql::Statement& statement : statements) {
    const sql::Classification classification =
        sql::classify_statement(statement, source, rules.dialect);
    check_findings(classification.findings, source.size());
    check_findings(classification.rerun_hazards, source.size());
    for (const sql::Change& change : classification.changes) {
      FUZZ_CHECK(change.offset == statement.begin, "change offset is not its statement's begin");
      check_change(change, source.size(), rules.dialect);
    }
  }
}

// scan() computes the tokens of long runs of operator characters itself
// (sql/operator_runs.h); with every run made a region it must still agree
// with pg_query_scan on the unchanged text. Small inputs only: the oracle is
// quadratic in such runs.
void check_operator_regions(std::string_view source) {
  if (source.size() > 2048 || source.find('\0') != std::string_view::npos) return;
  const auto oracle = sql::detail::scan_unchanged(source);
  const auto regions = sql::detail::scan_with_regions(source, 0, 0);
  FUZZ_CHECK(oracle.has_value() == regions.has_value(), "operator regions change success");
  if (!oracle) {
    FUZZ_CHECK(oracle.error().offset == regions.error().offset,
               "operator regions move the lexical error");
    return;
  }
  FUZZ_CHECK(oracle->size() == regions->size(), "operator regions change the token count");
  for (std::size_t i = 0; i < oracle->size(); ++i) {
    const sql::Token& a = (*oracle)[i];
    const sql::Token& b = (*regions)[i];
    FUZZ_CHECK(a.begin == b.begin && a.end == b.end && a.raw == b.raw && a.kind == b.kind,
               "operator regions change a token");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  const auto split = sql::split_statements(source);
  check_operator_regions(source);
  for (const sql::Dialect dialect : {sql::Dialect::postgres, sql::Dialect::cockroach}) {
    // The step flags vary with the input length so that every rule path runs.
    const sql::StepRules rules{dialect, (size & 1U) != 0, (size & 2U) != 0};
    if (!split) {
      const auto analysis = sql::analyze_step(source, rules);
      FUZZ_CHECK(!analysis.has_value(), "analyze_step succeeds where split_statements fails");
      // ... at the same offset, or earlier at a COPY ... FROM STDIN whose
      // inline data is what did not lex.
      const bool copy_data = analysis.error().offset < split.error().offset &&
                             analysis.error().message.starts_with("COPY ... FROM STDIN");
      FUZZ_CHECK(analysis.error().offset == split.error().offset || copy_data,
                 "analyze_step fails elsewhere");
    } else {
      check_analysis(source, *split, rules);
    }
  }
  if (split) {
    check_spans(source, *split);
    check_stable(source, *split);
  } else {
    check_error(source, split.error());
  }
  return 0;
}
