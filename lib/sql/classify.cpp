// classify_statement() reads a statement's scanner tokens (comments dropped)
// the way a person skims SQL: by its leading words. It does not parse
// expressions. It recognises the few statement shapes whose completion dbmig
// must prove (CREATE INDEX, REINDEX INDEX CONCURRENTLY, ALTER TABLE ... ADD
// CONSTRAINT / VALIDATE CONSTRAINT), the statements that cannot run in a
// transaction block, and syntax the target dialect cannot run.
//
// Kind decisions behind the table of docs/contract.md section 4:
// - CREATE/DROP DATABASE, TABLESPACE, ROLE, USER: ddl (they create or drop
//   objects; the database/tablespace ones are also non-transactional).
// - ALTER SYSTEM, ALTER DEFAULT PRIVILEGES: other (configuration and
//   privileges, like GRANT; not schema objects).
// - VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW, LOCK, LISTEN/NOTIFY, EXPLAIN,
//   CHECKPOINT, IMPORT...: other (they change data layout or nothing).
// - DISCARD: session. SET TRANSACTION / SET SESSION CHARACTERISTICS: session.
// - PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED: transaction control.
// - A leading `(` (a parenthesised SELECT) and TABLE: dml.
#include "sql/classify.h"

#include <array>
#include <string>

#include "core/text.h"
#include "sql/classify_parts.h"
#include "sql/lint_rules.h"

namespace dbmig::sql {
namespace classify_detail {

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::size_t index_word_position(const TokenReader& w) {
  std::size_t i = 1;
  while (w.word(i, "unique") || w.word(i, "inverted")) ++i;
  return w.word(i, "index") ? i : 0;
}

void ClassifierPart::warn(std::string_view rule, std::size_t i, std::string message,
                          std::string hint) {
  out_.findings.push_back(
      {Severity::warning, w_.offset(i), std::move(message), std::move(hint), std::string(rule)});
}

void ClassifierPart::error(std::string_view rule, std::size_t i, std::string message,
                           std::string hint) {
  out_.findings.push_back(
      {Severity::error, w_.offset(i), std::move(message), std::move(hint), std::string(rule)});
}

void ClassifierPart::rerun_hazard(std::size_t i, std::string message, std::string hint) {
  out_.rerun_hazards.push_back({Severity::warning, w_.offset(i), std::move(message),
                                std::move(hint), std::string(rule::missing_if_not_exists)});
}

}  // namespace classify_detail

namespace {

using namespace classify_detail;

// ---- kind and command -------------------------------------------------

constexpr std::array kDdlVerbs = {"create", "alter", "drop", "reindex", "truncate"};
constexpr std::array kDmlVerbs = {"select", "insert", "update", "delete", "upsert",
                                  "merge",  "with",   "copy",   "values", "table"};
constexpr std::array kSessionVerbs = {"set", "reset", "show", "discard"};
constexpr std::array kTransactionVerbs = {"begin",    "start", "commit",    "end",
                                          "rollback", "abort", "savepoint", "release"};

// Words between CREATE and the object type that do not name the command.
constexpr std::array kCreateModifiers = {
    "or",     "replace", "unique",  "inverted",   "temp",    "temporary", "unlogged",
    "global", "local",   "trusted", "procedural", "default", "recursive", "constraint"};
// Object types spelled with two words.
constexpr std::array kTwoWordObjects = {"materialized", "foreign", "event",    "access",
                                        "user",         "text",    "operator", "default"};

std::string ddl_command(const TokenReader& w) {
  std::string command = ascii_upper(w.text(0));
  std::size_t i = 1;
  if (w.word(0, "truncate")) return command;
  if (w.word(0, "create")) {
    while (word_in(w, i, kCreateModifiers)) ++i;
  }
  if (w.punct(i, '(')) i = w.skip_group(i);
  if (i >= w.size() || w.at(i).kind != TokenKind::keyword) return command;
  command += ' ' + ascii_upper(w.text(i));
  if (word_in(w, i, kTwoWordObjects) && i + 1 < w.size() &&
      w.at(i + 1).kind == TokenKind::keyword) {
    command += ' ' + ascii_upper(w.text(i + 1));
  }
  return command;
}

std::string leading_command(const TokenReader& w) {
  if (w.size() == 0) return "";
  if (w.punct(0, '(')) return "SELECT";
  if (w.words(0, {"set", "cluster", "setting"})) return "SET CLUSTER SETTING";
  if (w.words(0, {"set", "local"})) return "SET LOCAL";
  if (w.words(0, {"start", "transaction"})) return "START TRANSACTION";
  if (w.words(0, {"prepare", "transaction"})) return "PREPARE TRANSACTION";
  if (w.words(0, {"security", "label"})) return "SECURITY LABEL";
  if ((w.word(0, "commit") || w.word(0, "rollback")) && w.word(1, "prepared")) {
    return ascii_upper(w.text(0)) + " PREPARED";
  }
  if (word_in(w, 0, kDdlVerbs)) return ddl_command(w);
  return ascii_upper(w.text(0));
}

StatementKind kind_of(const TokenReader& w) {
  if (w.size() == 0) return StatementKind::other;
  if (w.punct(0, '(') || word_in(w, 0, kDmlVerbs)) return StatementKind::dml;
  if (w.words(0, {"prepare", "transaction"}) ||
      ((w.word(0, "commit") || w.word(0, "rollback")) && w.word(1, "prepared"))) {
    return StatementKind::transaction_control;
  }
  if (word_in(w, 0, kTransactionVerbs)) return StatementKind::transaction_control;
  if (word_in(w, 0, kSessionVerbs)) return StatementKind::session;
  if (w.words(0, {"alter", "system"}) || w.words(0, {"alter", "default", "privileges"})) {
    return StatementKind::other;
  }
  if (word_in(w, 0, kDdlVerbs)) return StatementKind::ddl;
  return StatementKind::other;
}

// ---- non-transactional statements --------------------------------------

bool reindex_is_non_transactional(const TokenReader& w) {
  std::size_t i = 1;
  if (w.punct(i, '(')) {
    const std::size_t end = w.skip_group(i);
    for (std::size_t k = i; k < end; ++k) {
      if (w.word(k, "concurrently") && !w.word(k + 1, "false") && !w.word(k + 1, "off")) {
        return true;
      }
    }
    i = end;
  }
  if (w.word(i, "schema") || w.word(i, "database") || w.word(i, "system")) return true;
  return w.word(i + 1, "concurrently");
}

bool detaches_concurrently(const TokenReader& w) {
  for (std::size_t i = 0; i + 1 < w.size(); ++i) {
    if (w.words(i, {"detach", "partition"})) {
      for (std::size_t k = i + 2; k < w.size() && !w.punct(k, ','); ++k) {
        if (w.word(k, "concurrently")) return true;
      }
    }
  }
  return false;
}

bool is_non_transactional(const TokenReader& w, Dialect dialect) {
  if (dialect == Dialect::cockroach) return w.words(0, {"set", "cluster", "setting"});
  if (w.word(0, "vacuum") || w.words(0, {"alter", "system"})) return true;
  if (w.word(0, "reindex")) return reindex_is_non_transactional(w);
  const bool create_or_drop = w.word(0, "create") || w.word(0, "drop");
  if (create_or_drop && (w.word(1, "database") || w.word(1, "tablespace"))) return true;
  if (w.word(0, "create")) {
    const std::size_t index = index_word_position(w);
    return index != 0 && w.word(index + 1, "concurrently");
  }
  if (w.words(0, {"drop", "index", "concurrently"})) return true;
  return w.words(0, {"alter", "table"}) && detaches_concurrently(w);
}

// ---- DO and CALL ---------------------------------------------------------

bool contains_word(std::string_view text, std::string_view lower) {
  const std::string folded = ascii_lower(text);
  auto is_ident = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  for (std::size_t at = folded.find(lower); at != std::string::npos;
       at = folded.find(lower, at + 1)) {
    const bool left = at == 0 || !is_ident(folded[at - 1]);
    const std::size_t after = at + lower.size();
    const bool right = after >= folded.size() || !is_ident(folded[after]);
    if (left && right) return true;
  }
  return false;
}

// True when a string (DO body) or word in the statement says COMMIT.
bool body_commits(const TokenReader& w) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w.word(i, "commit")) return true;
    if (w.at(i).kind == TokenKind::string && contains_word(w.text(i), "commit")) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(StatementKind kind) {
  switch (kind) {
    case StatementKind::ddl: return "ddl";
    case StatementKind::dml: return "dml";
    case StatementKind::other: return "other";
    case StatementKind::session: return "session";
    case StatementKind::transaction_control: return "transaction control";
  }
  return "other";
}

Classification classify_statement(const Statement& statement, std::string_view source,
                                  Dialect dialect) {
  const TokenReader w(statement, source, dialect);
  Classification out;
  out.kind = kind_of(w);
  out.command = leading_command(w);
  out.non_transactional = is_non_transactional(w, dialect);
  read_changes(w, statement, out);
  if (w.word(0, "do") || w.word(0, "call")) out.commits_inside = body_commits(w);
  check_dialect(w, statement, out);
  return out;
}

}  // namespace dbmig::sql
