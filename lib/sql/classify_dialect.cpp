// Syntax the target dialect cannot run (docs/contract.md section 8). On postgres,
// PostgreSQL's own grammar (libpg_query) decides first; on cockroach, the
// PostgreSQL-only statements are errors.
#include <pg_query.h>

#include <algorithm>
#include <optional>
#include <string>

#include "core/text.h"
#include "sql/classify_parts.h"
#include "sql/lint_rules.h"

namespace dbmig::sql::classify_detail {
namespace {

class DialectChecker : ClassifierPart {
 public:
  using ClassifierPart::ClassifierPart;

  void run() {
    if (dialect_ == Dialect::postgres) check_postgres();
    if (dialect_ == Dialect::cockroach) check_cockroach();
  }

 private:
  void cockroach_only(std::size_t i, std::string_view what) {
    error(rule::cockroach_syntax, i,
          std::string(what) + " is CockroachDB syntax that PostgreSQL cannot run",
          "set \"dialect\": \"cockroach\" in dbmig.json (or pass --dialect cockroach) if this "
          "directory targets CockroachDB");
  }

  // PostgreSQL's own grammar decides first (docs/contract.md section 8): a statement it
  // accepts is never rejected as CockroachDB syntax, whatever words it holds
  // (`FROM t family`, `family(inet)`, `a @ b`, a column named `index`). Only a
  // statement the grammar rejects is searched for the CockroachDB construct
  // that explains the rejection; when none does, the rejection itself is a
  // warning, because the server may be newer than the grammar.
  void check_postgres() {
    const std::optional<Finding> rejection = pg_grammar_rejection();
    if (!rejection) {
      for (std::size_t i = 0; i < w_.size(); ++i) warn_column_lookalike(i);
      return;
    }
    const std::size_t before = out_.findings.size();
    if (w_.word(0, "upsert")) cockroach_only(0, "UPSERT");
    if (w_.words(0, {"set", "cluster", "setting"})) cockroach_only(0, "SET CLUSTER SETTING");
    for (std::string_view object : {"type", "view"}) {
      if (w_.word(0, "create") && w_.word(1, object) && w_.words(2, {"if", "not", "exists"})) {
        cockroach_only(2, "CREATE " + ascii_upper(object) + " IF NOT EXISTS");
      }
    }
    for (std::size_t i = 0; i < w_.size(); ++i) check_postgres_token(i);
    if (!has_errors_since(before)) out_.findings.push_back(*rejection);
  }

  bool has_errors_since(std::size_t first) const {
    return std::any_of(out_.findings.begin() + static_cast<std::ptrdiff_t>(first),
                       out_.findings.end(),
                       [](const Finding& f) { return f.severity == Severity::error; });
  }

  // Runs only on a statement the grammar rejected, so each pattern may be loose.
  void check_postgres_token(std::size_t i) {
    if (w_.word(i, "storing") && w_.punct(i + 1, '(')) cockroach_only(i, "STORING (...)");
    if (w_.words(i, {"using", "hash"}) && !w_.punct(i + 2, '(')) cockroach_only(i, "USING HASH");
    if (w_.words(i, {"inverted", "index"})) cockroach_only(i, "INVERTED INDEX");
    if (w_.words(i, {"alter", "primary", "key"})) cockroach_only(i, "ALTER PRIMARY KEY");
    if (w_.words(i, {"add", "constraint", "if", "not", "exists"})) {
      cockroach_only(i + 1, "ADD CONSTRAINT IF NOT EXISTS");
    }
    if (w_.word(i, "family") && i > 0 && !w_.word(i - 1, "operator") &&
        (w_.punct(i + 1, '(') || w_.name_at(i + 1))) {
      cockroach_only(i, "FAMILY");
    }
    if (inline_index_at(i)) cockroach_only(i, "an index defined inside CREATE TABLE");
    const Token& token = w_.at(i);
    if (token.kind == TokenKind::op && w_.text(i) == "@" && i > 0 && w_.name_at(i - 1) &&
        w_.name_at(i + 1)) {
      cockroach_only(i, "an index hint table@index");
    }
    if (token.kind == TokenKind::op && w_.text(i) == "::" && w_.punct(i + 1, ':') &&
        w_.at(i + 1).begin == token.end) {
      cockroach_only(i, "the ::: cast");
    }
  }

  // CREATE TABLE t (..., [UNIQUE|INVERTED] INDEX ...): a table element
  // (after `(` or `,`) that starts with INDEX.
  bool inline_index_at(std::size_t i) const {
    if (!w_.words(0, {"create", "table"}) || i == 0) return false;
    const bool qualified = w_.word(i, "unique") || w_.word(i, "inverted");
    if (!w_.word(qualified ? i + 1 : i, "index")) return false;
    return w_.punct(i - 1, '(') || w_.punct(i - 1, ',');
  }

  // `CREATE TABLE t (a INT, FAMILY f (a))` is valid PostgreSQL grammar: a
  // column named family of type f with the type modifier (a). No real type
  // takes a column name as its modifier, so this is almost surely
  // CockroachDB's column family (or inline index) and the server will say
  // "type f does not exist": a warning, never an error (the grammar accepts it).
  void warn_column_lookalike(std::size_t i) {
    if (!w_.words(0, {"create", "table"}) || i == 0) return;
    if (!w_.punct(i - 1, '(') && !w_.punct(i - 1, ',')) return;
    if (!w_.word(i, "family") && !w_.word(i, "index")) return;
    if (!w_.name_at(i + 1) || !w_.punct(i + 2, '(') || !w_.name_at(i + 3)) return;
    warn(rule::cockroach_syntax, i,
         "PostgreSQL reads `" + ascii_upper(w_.text(i)) + " " + std::string(w_.text(i + 1)) +
             " (...)` as a column named " + ascii_lower(w_.text(i)) + " of type " +
             std::string(w_.text(i + 1)) + "; CockroachDB reads it as " +
             (w_.word(i, "family") ? "a column family" : "an index"),
         "set \"dialect\": \"cockroach\" in dbmig.json if this directory targets "
         "CockroachDB; otherwise quote the column name");
  }

  // The PostgreSQL 15 grammar's rejection of this statement, or nothing when
  // it accepts it. pg_query_split_with_parser runs the same raw parser as
  // pg_query_parse_protobuf but returns only statement boundaries:
  // serialising the parse tree to protobuf cost ~30x the parse itself
  // (BENCHMARKS.md).
  //
  // The parser lexes the text again, with the scanner's cost in runs of
  // operator characters (operator_runs.h): comments, which the grammar reads
  // as whitespace, are given to it as spaces of the same length, and a
  // statement still holding such a run of over 256 bytes is not checked: it
  // counts as accepted (never rejected as CockroachDB syntax; the server
  // parses it anyway).
  std::optional<Finding> pg_grammar_rejection() const {
    const std::string text = with_comments_as_spaces();
    if (longest_operator_run(text) > 256) return std::nullopt;
    PgQuerySplitResult result = pg_query_split_with_parser(text.c_str());
    std::optional<Finding> rejection;
    if (result.error != nullptr) {
      const std::size_t at = byte_offset_of_char(text, result.error->cursorpos);
      rejection =
          Finding{Severity::warning, statement_.begin + at,
                  std::string("the PostgreSQL 15 grammar rejects this statement: ") +
                      (result.error->message != nullptr ? result.error->message : "syntax error"),
                  "check the statement; a server newer than PostgreSQL 15 may still accept it",
                  std::string(rule::grammar_rejects)};
    }
    pg_query_free_split_result(result);
    return rejection;
  }

  std::string with_comments_as_spaces() const {
    std::string text(statement_.text(w_.source()));
    for (const Token& token : statement_.tokens) {
      if (token.kind != TokenKind::comment || token.begin < statement_.begin ||
          token.end > statement_.end) {
        continue;
      }
      std::fill_n(text.begin() + static_cast<std::ptrdiff_t>(token.begin - statement_.begin),
                  token.end - token.begin, ' ');
    }
    return text;
  }

  static std::size_t longest_operator_run(std::string_view text) {
    std::size_t longest = 0;
    std::size_t run = 0;
    for (const char c : text) {
      run = std::string_view("~!@#^&|`?+-*/%<>=").find(c) != std::string_view::npos ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    return longest;
  }

  // PostgreSQL reports a 1-based character position; convert to bytes.
  static std::size_t byte_offset_of_char(std::string_view text, int cursorpos) {
    if (cursorpos <= 1) return 0;
    int chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++chars == cursorpos) return i;
    }
    return text.size();
  }

  void postgres_only(std::size_t i, std::string_view what) {
    error(rule::postgres_only_syntax, i,
          std::string(what) + " is PostgreSQL-only; CockroachDB cannot run it",
          "remove it, or set \"dialect\": \"postgres\" if this directory targets PostgreSQL");
  }

  void check_cockroach() {
    static constexpr std::array kPostgresOnly = {"vacuum", "cluster",  "reindex",    "listen",
                                                 "notify", "unlisten", "checkpoint", "load"};
    if (word_in(w_, 0, kPostgresOnly)) postgres_only(0, ascii_upper(w_.text(0)));
    if (w_.words(0, {"alter", "system"})) postgres_only(0, "ALTER SYSTEM");
    if ((w_.word(0, "create") || w_.word(0, "drop")) && w_.word(1, "tablespace")) {
      postgres_only(0, ascii_upper(w_.text(0)) + " TABLESPACE");
    }
    if (w_.word(0, "create") && index_word_position(w_) != 0) {
      for (std::size_t i = 0; i + 1 < w_.size(); ++i) {
        if (w_.words(i, {"on", "only"})) postgres_only(i, "CREATE INDEX ... ON ONLY");
      }
    }
  }
};

}  // namespace

void check_dialect(const TokenReader& w, const Statement& statement, Classification& out) {
  DialectChecker(w, statement, out).run();
}

}  // namespace dbmig::sql::classify_detail
