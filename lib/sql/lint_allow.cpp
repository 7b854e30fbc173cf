// `-- dbmig:allow rule[, rule ...]` comments (docs/lint.md): which rules the
// comment on the line just before a statement silences.
#include <algorithm>
#include <optional>

#include "sql/lint.h"
#include "sql/lint_rules.h"
#include "sql/scanner.h"

namespace dbmig::sql {
namespace {

struct AllowComment {
  std::size_t offset = 0;
  std::vector<std::string> rules;
};

constexpr std::string_view kAllowMarker = "dbmig:allow";

// `-- dbmig:allow a, b` on the line just before statement `index`.
std::optional<AllowComment> allow_comment(std::string_view source,
                                          const std::vector<Statement>& statements,
                                          std::size_t index) {
  const std::size_t gap_begin = index == 0 ? 0 : statements[index - 1].end;
  const std::size_t begin = statements[index].begin;
  const std::string_view gap = source.substr(gap_begin, begin - gap_begin);
  const auto tokens = scan(gap);
  if (!tokens) return std::nullopt;
  for (const Token& token : *tokens) {
    const std::string_view text = token.text(gap);
    if (token.kind != TokenKind::comment || !text.starts_with("--")) continue;
    const std::string_view rest = gap.substr(token.begin);
    if (std::count(rest.begin(), rest.end(), '\n') != 1) continue;
    std::string_view body = text.substr(2);
    while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
    if (!body.starts_with(kAllowMarker)) continue;
    body.remove_prefix(kAllowMarker.size());
    AllowComment comment{gap_begin + token.begin, {}};
    std::string name;
    for (const char c : std::string(body) + ' ') {
      if (c == ' ' || c == ',' || c == '\t' || c == '\r') {
        if (!name.empty()) comment.rules.push_back(std::move(name));
        name.clear();
      } else {
        name += c;
      }
    }
    return comment;
  }
  return std::nullopt;
}

// Index of the statement whose span holds `offset` (the last one beginning
// at or before it).
std::size_t statement_at(const std::vector<Statement>& statements, std::size_t offset) {
  const auto after = std::upper_bound(
      statements.begin(), statements.end(), offset,
      [](std::size_t value, const Statement& statement) { return value < statement.begin; });
  return after == statements.begin() ? 0 : static_cast<std::size_t>(after - statements.begin() - 1);
}

}  // namespace

std::set<std::string> allowed_rules(std::string_view source,
                                    const std::vector<Statement>& statements,
                                    std::size_t statement_index) {
  const auto comment = allow_comment(source, statements, statement_index);
  if (!comment) return {};
  return {comment->rules.begin(), comment->rules.end()};
}

std::vector<Finding> without_allowed(std::string_view source,
                                     const std::vector<Statement>& statements,
                                     std::vector<Finding> findings) {
  if (statements.empty()) return findings;
  std::vector<Finding> kept;
  for (Finding& finding : findings) {
    const bool silenced =
        finding.severity == Severity::warning && !finding.rule.empty() &&
        allowed_rules(source, statements, statement_at(statements, finding.offset))
            .contains(finding.rule);
    if (!silenced) kept.push_back(std::move(finding));
  }
  return kept;
}

std::vector<Finding> unknown_allowed_rules(std::string_view source,
                                           const std::vector<Statement>& statements) {
  std::vector<Finding> out;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const auto comment = allow_comment(source, statements, i);
    if (!comment) continue;
    for (const std::string& name : comment->rules) {
      if (is_known_rule(name)) continue;
      out.push_back({Severity::warning, comment->offset,
                     "dbmig:allow names unknown rule \"" + name + "\"",
                     "use a rule id from docs/lint.md, e.g. renaming-column", ""});
    }
  }
  return out;
}

}  // namespace dbmig::sql
