// analyze_step(): the step-level rules of docs/contract.md section 4 on top of
// classify_statement().
//
// Idempotency warnings (CREATE INDEX / ADD COLUMN / ADD CONSTRAINT without
// IF NOT EXISTS) are reported only for steps that run non-transactionally: a
// transactional step is atomic, so after a failure nothing of it remains and
// a re-run starts clean; only a step whose statements commit one by one can
// be left half-applied and must tolerate being run again.
#include "sql/step_lint.h"

#include <algorithm>
#include <array>
#include <string>

#include "core/text.h"
#include "sql/lint_rules.h"
#include "sql/scanner.h"

namespace dbmig::sql {
namespace {

constexpr std::string_view kNonTransactionalHint =
    "move it to its own step, or name the file upN-danger-non-transactional.sql";

void add(StepAnalysis& step, Severity severity, std::string_view rule, std::size_t offset,
         std::string message, std::string hint) {
  step.findings.push_back(
      {severity, offset, std::move(message), std::move(hint), std::string(rule)});
}

// dbmig owns transactions (contract section 4): a transactional step runs in the one
// transaction that also records it, and a step marked non-transactional runs
// each statement in autocommit; a BEGIN/COMMIT of the author's would break
// either, so it is an error in every step.
void check_transaction_control(StepAnalysis& step) {
  for (std::size_t i = 0; i < step.statements.size(); ++i) {
    const Classification& c = step.classifications[i];
    if (c.kind != StatementKind::transaction_control) continue;
    add(step, Severity::error, rule::transaction_control, step.statements[i].begin,
        c.command + " is transaction control, which a step may not contain",
        "remove it: dbmig runs each step in its own transaction, or each statement of a "
        "-danger-non-transactional step on its own; for another tool's migrations, "
        "`dbmig import --from FORMAT --out DIR SRC` removes it and splits the file where "
        "atomicity requires");
  }
}

void check_ddl_count(StepAnalysis& step, const StepRules& rules) {
  std::vector<std::size_t> ddl;
  bool has_dml = false;
  for (std::size_t i = 0; i < step.statements.size(); ++i) {
    if (step.classifications[i].kind == StatementKind::ddl) ddl.push_back(i);
    if (step.classifications[i].kind == StatementKind::dml) has_dml = true;
  }
  step.ddl_count = static_cast<int>(ddl.size());
  if (ddl.size() > 1 && !rules.multi_ddl_allowed) {
    add(step, Severity::error, rule::one_ddl_per_step, step.statements[ddl[1]].begin,
        "step has " + std::to_string(ddl.size()) +
            " DDL statements; at most one is allowed (this is the second)",
        "split the step into up1.sql, up2.sql, ... with one DDL statement each");
  }
  if (!ddl.empty() && has_dml) {
    add(step, Severity::warning, rule::ddl_mixed_with_dml, step.statements[ddl[0]].begin,
        "step mixes DDL with DML (data changes)",
        "move the data change into its own step so each step does one thing");
  }
}

void check_non_transactional(StepAnalysis& step, const StepRules& rules) {
  if (rules.marked_non_transactional || step.statements.size() < 2) return;
  for (std::size_t i = 0; i < step.statements.size(); ++i) {
    const Classification& c = step.classifications[i];
    if (!c.non_transactional) continue;
    add(step, Severity::error, rule::non_transactional_not_alone, step.statements[i].begin,
        c.command +
            " cannot run inside a transaction block, so it must be the only "
            "statement of its step",
        std::string(kNonTransactionalHint));
  }
}

void check_opaque_commits(StepAnalysis& step) {
  if (!step.transactional) return;
  for (std::size_t i = 0; i < step.statements.size(); ++i) {
    if (!step.classifications[i].commits_inside) continue;
    add(step, Severity::warning, rule::commit_in_code_block, step.statements[i].begin,
        step.classifications[i].command +
            " contains COMMIT, which fails or breaks atomicity inside the step's transaction",
        "move the transaction handling out of the block, or name the file "
        "-danger-non-transactional");
  }
}

// The settings a step may not change (contract section 9): what the server reads
// (client_encoding, standard_conforming_strings) must be what dbmig read,
// and who dbmig is (role, session_authorization) must stay dbmig's.
constexpr std::array kGuardedSettings{"client_encoding", "standard_conforming_strings", "role",
                                      "session_authorization"};

bool is_guarded(std::string_view name) {
  return std::find(kGuardedSettings.begin(), kGuardedSettings.end(), name) !=
         kGuardedSettings.end();
}

// The statement's tokens without comments.
std::vector<Token> words_of(const Statement& statement, std::string_view source) {
  std::vector<Token> words;
  auto tokens = scan(statement.text(source));
  if (!tokens) return words;
  for (Token token : *tokens) {
    if (token.kind == TokenKind::comment) continue;
    token.begin += static_cast<std::uint32_t>(statement.begin);
    token.end += static_cast<std::uint32_t>(statement.begin);
    words.push_back(token);
  }
  return words;
}

// A setting's name as the server folds it: "Name" kept, name lower-cased;
// a string literal's content ('role' in set_config).
std::string setting_name(const Token& token, std::string_view source) {
  std::string_view text = token.text(source);
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'')) {
    std::string inner(text.substr(1, text.size() - 2));
    return token.kind == TokenKind::string ? ascii_lower(inner) : inner;
  }
  return ascii_lower(text);
}

struct GuardedChange {
  std::string setting;
  std::size_t offset = 0;
  bool local_role = false;  // SET LOCAL ROLE
};

// SET [SESSION | LOCAL] <guarded> ..., SET NAMES, SET SESSION AUTHORIZATION.
std::optional<GuardedChange> guarded_set(const std::vector<Token>& words, std::string_view source) {
  if (words.empty() || !is_word(words[0], source, "set")) return std::nullopt;
  bool local = false;
  std::size_t i = 1;
  while (i < words.size() &&
         (is_word(words[i], source, "local") || is_word(words[i], source, "session"))) {
    local = local || is_word(words[i], source, "local");
    if (is_word(words[i], source, "session") && i + 1 < words.size() &&
        is_word(words[i + 1], source, "authorization")) {
      return GuardedChange{"session_authorization", words[i].begin, false};
    }
    ++i;
  }
  if (i >= words.size()) return std::nullopt;
  std::string name = setting_name(words[i], source);
  if (name == "names") name = "client_encoding";
  if (!is_guarded(name)) return std::nullopt;
  return GuardedChange{name, words[i].begin, local && name == "role"};
}

// set_config('<guarded>', ...) anywhere in the statement.
std::optional<GuardedChange> guarded_set_config(const std::vector<Token>& words,
                                                std::string_view source) {
  for (std::size_t i = 0; i + 2 < words.size(); ++i) {
    if (!is_word(words[i], source, "set_config") || !words[i + 1].is('(')) continue;
    if (words[i + 2].kind != TokenKind::string) continue;
    const std::string name = setting_name(words[i + 2], source);
    if (is_guarded(name)) return GuardedChange{name, words[i].begin, false};
  }
  return std::nullopt;
}

void check_guarded_settings(StepAnalysis& step, std::string_view source) {
  for (const Statement& statement : step.statements) {
    const std::vector<Token> words = words_of(statement, source);
    auto change = guarded_set(words, source);
    if (!change) change = guarded_set_config(words, source);
    if (!change || (change->local_role && step.transactional)) continue;
    add(step, Severity::error, rule::guarded_setting, change->offset,
        "the step changes " + change->setting +
            ", which dbmig keeps fixed on its connections (client_encoding=UTF8, "
            "standard_conforming_strings=on, its own role and session authorization)",
        change->setting == "role"
            ? "remove it, or use SET LOCAL ROLE in a transactional step"
            : "remove it: dbmig reads the step as UTF-8 with standard conforming strings, and "
              "the server must read it the same way");
  }
}

// docs/contract.md section 8: a step of whitespace only is an error; a step holding only
// comments is a no-op step (real histories contain them), recorded like any
// other, with a warning.
void check_no_statement(StepAnalysis& step, std::string_view source) {
  const bool blank = std::all_of(source.begin(), source.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
  if (blank) {
    add(step, Severity::error, rule::empty_step, 0, "empty step: the file holds no SQL statement",
        "write the step's statement, or delete the file");
    return;
  }
  add(step, Severity::warning, rule::comment_only_step, 0,
      "step holds only comments: it is a no-op step",
      "it is recorded like any other step; delete the file if the version needs no step");
}

// psql reads `\connect`, `\i file`, `\gset` itself; the server sees a
// backslash outside any string as a syntax error, after dbmig has recorded
// the step as started. The scanner returns the backslash as a token of its
// own, so a backslash inside a string, quoted name, comment or dollar quote
// is never taken for one.
void check_psql_meta_commands(StepAnalysis& step, std::string_view source) {
  for (const Statement& statement : step.statements) {
    const std::vector<Token>& tokens = statement.tokens;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].kind == TokenKind::comment || !tokens[i].is('\\')) continue;
      const bool named = i + 1 < tokens.size() && tokens[i + 1].begin == tokens[i].end;
      const std::string command =
          "\\" + std::string(named ? tokens[i + 1].text(source) : std::string_view{});
      add(step, Severity::error, rule::psql_meta_command, tokens[i].begin,
          "psql meta-command " + command + " in a step: the server cannot run it",
          "dbmig sends a step's SQL to the server itself, without psql: remove it (connect "
          "with --db, and put the SQL of an included file into the step)");
      break;
    }
  }
}

// The `COPY ... FROM STDIN` among `statements`, or nullptr: a COPY whose
// FROM (outside parentheses) is followed by STDIN.
const Statement* copy_from_stdin(const std::vector<Statement>& statements,
                                 std::string_view source) {
  for (const Statement& statement : statements) {
    std::vector<const Token*> words;
    for (const Token& token : statement.tokens) {
      if (token.kind != TokenKind::comment) words.push_back(&token);
    }
    if (words.empty() || !is_word(*words.front(), source, "copy")) continue;
    int depth = 0;
    for (std::size_t i = 1; i + 1 < words.size(); ++i) {
      if (words[i]->is('(')) ++depth;
      if (words[i]->is(')')) --depth;
      if (depth == 0 && is_word(*words[i], source, "from") &&
          is_word(*words[i + 1], source, "stdin")) {
        return &statement;
      }
    }
  }
  return nullptr;
}

constexpr std::string_view kCopyFromStdin =
    "COPY ... FROM STDIN reads its rows from the client, and dbmig sends none";
constexpr std::string_view kCopyFromStdinHint =
    "load the rows with INSERT ... VALUES, or COPY FROM a file on the database server";

void check_copy_from_stdin(StepAnalysis& step, std::string_view source) {
  if (const Statement* copy = copy_from_stdin(step.statements, source)) {
    add(step, Severity::error, rule::copy_from_stdin, copy->begin, std::string(kCopyFromStdin),
        std::string(kCopyFromStdinHint));
  }
}

// Inline COPY data often does not lex as SQL (a quote in a row): when the
// text before the lexical error holds a COPY ... FROM STDIN, that is the
// error to report.
SplitError explain_split_error(std::string_view source, SplitError error) {
  const auto before = split_statements(source.substr(0, error.offset));
  if (!before) return error;
  if (const Statement* copy = copy_from_stdin(*before, source)) {
    return SplitError{copy->begin, copy->line, copy->column,
                      std::string(kCopyFromStdin) + " (its inline data follows it)",
                      std::string(kCopyFromStdinHint)};
  }
  return error;
}

bool runs_transactional(const StepAnalysis& step, const StepRules& rules) {
  if (rules.marked_non_transactional) return false;
  if (rules.dialect == Dialect::cockroach && step.ddl_count > 0) return false;
  return std::none_of(step.classifications.begin(), step.classifications.end(),
                      [](const Classification& c) { return c.non_transactional; });
}

}  // namespace

std::expected<StepAnalysis, SplitError> analyze_step(std::string_view source,
                                                     const StepRules& rules) {
  auto statements = split_statements(source);
  if (!statements)
    return std::unexpected(explain_split_error(source, std::move(statements.error())));
  StepAnalysis step;
  step.dialect = rules.dialect;
  step.statements = std::move(*statements);
  if (step.statements.empty()) check_no_statement(step, source);
  for (const Statement& statement : step.statements) {
    Classification c = classify_statement(statement, source, rules.dialect);
    step.changes.insert(step.changes.end(), c.changes.begin(), c.changes.end());
    step.findings.insert(step.findings.end(), c.findings.begin(), c.findings.end());
    step.classifications.push_back(std::move(c));
  }
  check_transaction_control(step);
  check_psql_meta_commands(step, source);
  check_copy_from_stdin(step, source);
  check_ddl_count(step, rules);
  check_non_transactional(step, rules);
  step.transactional = runs_transactional(step, rules);
  check_opaque_commits(step);
  check_guarded_settings(step, source);
  if (!step.transactional) {
    for (const Classification& c : step.classifications) {
      step.findings.insert(step.findings.end(), c.rerun_hazards.begin(), c.rerun_hazards.end());
    }
  }
  std::stable_sort(step.findings.begin(), step.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.offset < b.offset; });
  return step;
}

}  // namespace dbmig::sql
