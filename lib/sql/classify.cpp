// classify_statement() reads a statement's scanner tokens (comments dropped)
// the way a person skims SQL: by its leading words. It does not parse
// expressions. It recognises the few statement shapes whose completion dbmig
// must prove (CREATE INDEX, REINDEX INDEX CONCURRENTLY, ALTER TABLE ... ADD
// CONSTRAINT / VALIDATE CONSTRAINT), the statements that cannot run in a
// transaction block, and syntax the target dialect cannot run.
//
// Kind decisions where SPEC section 4 is silent:
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

#include <pg_query.h>

#include <algorithm>
#include <array>
#include <optional>

#include "core/text.h"
#include "sql/lint_rules.h"
#include "sql/quoting.h"

namespace dbmig::sql {
namespace {

constexpr std::size_t kPostgresMaxNameBytes = 63;  // NAMEDATALEN - 1
constexpr int kUnicodeIdentifier = 259;            // libpg_query's UIDENT token

// The statement's tokens without comments, with word/punctuation tests.
class Words {
 public:
  Words(const Statement& statement, std::string_view source) : source_(source) {
    for (const Token& token : statement.tokens) {
      if (token.kind != TokenKind::comment) tokens_.push_back(token);
    }
  }
  [[nodiscard]] std::size_t size() const { return tokens_.size(); }
  [[nodiscard]] const Token& at(std::size_t i) const { return tokens_[i]; }
  [[nodiscard]] std::string_view source() const { return source_; }
  [[nodiscard]] bool word(std::size_t i, std::string_view lower) const {
    return i < tokens_.size() && is_word(tokens_[i], source_, lower);
  }
  // True when the words starting at i are exactly `lowers`.
  [[nodiscard]] bool words(std::size_t i, std::initializer_list<std::string_view> lowers) const {
    for (std::string_view w : lowers) {
      if (!word(i++, w)) return false;
    }
    return true;
  }
  [[nodiscard]] bool punct(std::size_t i, char c) const {
    return i < tokens_.size() && tokens_[i].is(c);
  }
  [[nodiscard]] bool name_at(std::size_t i) const {
    return i < tokens_.size() && (tokens_[i].kind == TokenKind::identifier ||
                                  tokens_[i].kind == TokenKind::keyword);
  }
  [[nodiscard]] std::string_view text(std::size_t i) const { return tokens_[i].text(source_); }
  // The whole text of an identifier token. libpg_query reports a U&"..."
  // identifier as the single byte `U`, so its extent is recovered here.
  [[nodiscard]] std::string_view identifier_text(std::size_t i) const {
    const Token& token = tokens_[i];
    if (token.raw != kUnicodeIdentifier || source_.substr(token.begin, 3).size() < 3 ||
        source_[token.begin + 1] != '&' || source_[token.begin + 2] != '"') {
      return text(i);
    }
    std::size_t end = token.begin + 3;
    while (end < source_.size()) {
      if (source_[end] == '"' && (end + 1 >= source_.size() || source_[end + 1] != '"')) break;
      end += source_[end] == '"' ? 2 : 1;
    }
    return source_.substr(token.begin, std::min(end + 1, source_.size()) - token.begin);
  }
  [[nodiscard]] std::size_t offset(std::size_t i) const {
    return i < tokens_.size() ? tokens_[i].begin : (tokens_.empty() ? 0 : tokens_.back().end);
  }
  // Index one past the `)` or `]` matching the opener at i (size() if none).
  [[nodiscard]] std::size_t skip_group(std::size_t i) const {
    int depth = 0;
    for (; i < tokens_.size(); ++i) {
      if (punct(i, '(') || punct(i, '[')) ++depth;
      if ((punct(i, ')') || punct(i, ']')) && --depth == 0) return i + 1;
    }
    return tokens_.size();
  }

 private:
  std::string_view source_;
  std::vector<Token> tokens_;
};

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<std::uint32_t> parse_hex(std::string_view text) {
  std::uint32_t value = 0;
  for (char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<std::uint32_t>(digit);
  }
  return value;
}

// Decodes the body of U&"..." with escape character `escape`: \XXXX,
// \+XXXXXX and a doubled escape. Nullopt on a malformed escape.
std::optional<std::string> decode_unicode_escapes(std::string_view body, char escape) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != escape) {
      out += body[i];
      continue;
    }
    if (i + 1 < body.size() && body[i + 1] == escape) {
      out += escape;
      ++i;
      continue;
    }
    const bool wide = i + 1 < body.size() && body[i + 1] == '+';
    const std::size_t digits = wide ? 6 : 4;
    const std::size_t start = i + (wide ? 2 : 1);
    if (start + digits > body.size()) return std::nullopt;
    auto cp = parse_hex(body.substr(start, digits));
    if (!cp || *cp > 0x10FFFF || *cp == 0) return std::nullopt;
    append_utf8(out, *cp);
    i = start + digits - 1;
  }
  return out;
}

// The text between the outer double quotes with "" unescaped.
std::string unquote(std::string_view quoted) {
  std::string out;
  const std::string_view body = quoted.substr(1, quoted.size() - 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    if (body[i] == '"' && i + 1 < body.size() && body[i + 1] == '"') ++i;
  }
  return out;
}

// Cuts `name` to PostgreSQL's 63 bytes without splitting a UTF-8 character.
std::string truncate_name(std::string name) {
  if (name.size() <= kPostgresMaxNameBytes) return name;
  std::size_t cut = kPostgresMaxNameBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  name.resize(cut);
  return name;
}

// The folded identifier at token i; `escape` is the UESCAPE character.
std::string fold_identifier(std::string_view text, char escape, Dialect dialect) {
  std::string folded;
  if (text.starts_with('"')) {
    folded = unquote(text);
  } else if (text.size() > 2 && (text[0] == 'U' || text[0] == 'u') && text[1] == '&') {
    const std::string body = unquote(text.substr(2));
    folded = decode_unicode_escapes(body, escape).value_or(body);
  } else {
    folded = ascii_lower(text);
  }
  return dialect == Dialect::postgres ? truncate_name(std::move(folded)) : folded;
}

// One identifier at i (with an optional UESCAPE 'c' clause); returns the
// folded name and the index after it.
std::pair<std::string, std::size_t> read_identifier(const Words& w, std::size_t i,
                                                    Dialect dialect) {
  char escape = '\\';
  std::size_t next = i + 1;
  if (w.word(next, "uescape") && next + 1 < w.size() &&
      w.at(next + 1).kind == TokenKind::string) {
    const std::string_view literal = w.text(next + 1);
    if (literal.size() == 3) escape = literal[1];
    next += 2;
  }
  return {fold_identifier(w.identifier_text(i), escape, dialect), next};
}

// A dotted name of one to three parts at i; nullopt when i holds no name.
std::optional<std::pair<QualifiedName, std::size_t>> read_qualified_name(const Words& w,
                                                                         std::size_t i,
                                                                         Dialect dialect) {
  if (!w.name_at(i)) return std::nullopt;
  std::vector<std::string> parts;
  auto [first, next] = read_identifier(w, i, dialect);
  parts.push_back(std::move(first));
  while (parts.size() < 3 && w.punct(next, '.') && w.name_at(next + 1)) {
    auto [part, after] = read_identifier(w, next + 1, dialect);
    parts.push_back(std::move(part));
    next = after;
  }
  QualifiedName name;
  name.name = parts.back();
  if (parts.size() >= 2) name.schema = parts[parts.size() - 2];
  if (parts.size() == 3) name.database = parts[0];
  return std::pair{name, next};
}

// ---- kind and command -------------------------------------------------

constexpr std::array kDdlVerbs = {"create", "alter", "drop", "reindex", "truncate"};
constexpr std::array kDmlVerbs = {"select", "insert", "update", "delete", "upsert",
                                  "merge",  "with",   "copy",   "values", "table"};
constexpr std::array kSessionVerbs = {"set", "reset", "show", "discard"};
constexpr std::array kTransactionVerbs = {"begin",    "start",   "commit", "end", "rollback",
                                          "abort",    "savepoint", "release"};

template <std::size_t N>
bool word_in(const Words& w, std::size_t i, const std::array<const char*, N>& list) {
  return std::any_of(list.begin(), list.end(), [&](const char* x) { return w.word(i, x); });
}

// Words between CREATE and the object type that do not name the command.
constexpr std::array kCreateModifiers = {"or",       "replace",  "unique",  "inverted",
                                         "temp",     "temporary", "unlogged", "global",
                                         "local",    "trusted",  "procedural", "default",
                                         "recursive", "constraint"};
// Object types spelled with two words.
constexpr std::array kTwoWordObjects = {"materialized", "foreign", "event",   "access",
                                        "user",         "text",    "operator", "default"};

std::string ddl_command(const Words& w) {
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

std::string leading_command(const Words& w) {
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

StatementKind kind_of(const Words& w) {
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

bool reindex_is_non_transactional(const Words& w) {
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

bool detaches_concurrently(const Words& w) {
  for (std::size_t i = 0; i + 1 < w.size(); ++i) {
    if (w.words(i, {"detach", "partition"})) {
      for (std::size_t k = i + 2; k < w.size() && !w.punct(k, ','); ++k) {
        if (w.word(k, "concurrently")) return true;
      }
    }
  }
  return false;
}

std::size_t index_word_position(const Words& w) {
  std::size_t i = 1;
  while (w.word(i, "unique") || w.word(i, "inverted")) ++i;
  return w.word(i, "index") ? i : 0;
}

bool is_non_transactional(const Words& w, Dialect dialect) {
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

// ---- suggested names (PostgreSQL's own convention) ---------------------

// Column names of the parenthesised list at i: a plain column gives its
// name, anything else "expr" (as PostgreSQL's ChooseIndexColumnNames).
std::vector<std::string> column_names(const Words& w, std::size_t open, Dialect dialect) {
  std::vector<std::string> names;
  if (!w.punct(open, '(')) return names;
  const std::size_t close = w.skip_group(open) - 1;
  std::size_t i = open + 1;
  while (i < close) {
    std::size_t end = i;
    while (end < close && !w.punct(end, ',')) {
      end = (w.punct(end, '(') || w.punct(end, '[')) ? w.skip_group(end) : end + 1;
    }
    const bool plain = w.name_at(i) && !w.punct(i + 1, '(') && !w.punct(i + 1, '.');
    names.push_back(plain ? read_identifier(w, i, dialect).first : "expr");
    i = end + 1;
  }
  return names;
}

// First plain identifier inside the parenthesised expression at `open` (the
// column PostgreSQL names a CHECK constraint after), empty if none.
std::string first_column_in(const Words& w, std::size_t open, Dialect dialect) {
  const std::size_t close = w.skip_group(open);
  for (std::size_t i = open + 1; i < close; ++i) {
    if (w.at(i).kind == TokenKind::identifier && !w.punct(i + 1, '(')) {
      return read_identifier(w, i, dialect).first;
    }
  }
  return "";
}

std::string join_name(const std::string& table, const std::vector<std::string>& columns,
                      std::string_view suffix) {
  std::string name = table;
  for (const auto& column : columns) name += "_" + column;
  return name + "_" + std::string(suffix);
}

// ---- the classifier ----------------------------------------------------

class Classifier {
 public:
  Classifier(const Statement& statement, std::string_view source, Dialect dialect)
      : w_(statement, source), statement_(statement), dialect_(dialect) {}

  Classification run() {
    out_.kind = kind_of(w_);
    out_.command = leading_command(w_);
    out_.non_transactional = is_non_transactional(w_, dialect_);
    if (w_.word(0, "create") && index_word_position(w_) != 0) create_index();
    if (w_.word(0, "reindex")) reindex();
    if (w_.words(0, {"alter", "table"})) alter_table();
    if (w_.word(0, "do") || w_.word(0, "call")) out_.commits_inside = body_commits();
    if (dialect_ == Dialect::postgres) check_postgres();
    if (dialect_ == Dialect::cockroach) check_cockroach();
    return std::move(out_);
  }

 private:
  void warn(std::string_view rule, std::size_t i, std::string message, std::string hint) {
    out_.findings.push_back(
        {Severity::warning, w_.offset(i), std::move(message), std::move(hint), std::string(rule)});
  }
  void error(std::string_view rule, std::size_t i, std::string message, std::string hint) {
    out_.findings.push_back(
        {Severity::error, w_.offset(i), std::move(message), std::move(hint), std::string(rule)});
  }
  void rerun_hazard(std::size_t i, std::string message, std::string hint) {
    out_.rerun_hazards.push_back({Severity::warning, w_.offset(i), std::move(message),
                                  std::move(hint), std::string(rule::missing_if_not_exists)});
  }

  // CREATE [UNIQUE|INVERTED] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] t
  void create_index() {
    Change change;
    change.offset = statement_.begin;
    std::size_t i = index_word_position(w_);
    change.unique = w_.word(1, "unique");
    change.concurrently = w_.word(i + 1, "concurrently");
    i += change.concurrently ? 2 : 1;
    change.if_not_exists = w_.words(i, {"if", "not", "exists"});
    if (change.if_not_exists) i += 3;
    std::optional<std::string> name;
    if (!w_.word(i, "on") && w_.name_at(i)) {
      auto [folded, next] = read_identifier(w_, i, dialect_);
      name = std::move(folded);
      i = next;
    }
    if (!w_.word(i, "on")) return;
    const bool only = w_.word(i + 1, "only");
    auto table = read_qualified_name(w_, i + (only ? 2 : 1), dialect_);
    if (!table) return;
    if (!name) {
      warn_unnamed_index(table->first, table->second);
      return;
    }
    change.kind = only ? ChangeKind::create_index_on_only : ChangeKind::create_index;
    change.table = table->first;
    change.object = QualifiedName{change.table.database, change.table.schema, *name};
    record_index(std::move(change));
  }

  void record_index(Change change) {
    if (!change.if_not_exists) {
      rerun_hazard(0, "CREATE INDEX without IF NOT EXISTS fails when the step is re-run",
                   "write CREATE INDEX IF NOT EXISTS: a non-transactional step must be "
                   "idempotent");
    }
    out_.changes.push_back(std::move(change));
  }

  void warn_unnamed_index(const QualifiedName& table, std::size_t after_table) {
    std::size_t open = after_table;
    if (w_.word(open, "using")) open += 2;
    const std::string suggestion =
        join_name(table.name, column_names(w_, open, dialect_), "idx");
    warn(rule::unnamed_index, 0,
         "CREATE INDEX without a name cannot be verified by name (nor skipped by IF NOT EXISTS)",
         "name the index, e.g. CREATE INDEX " + suggestion +
             " ON ... (PostgreSQL's own name "
             "for it)");
  }

  // REINDEX [(options)] INDEX [CONCURRENTLY] name
  void reindex() {
    std::size_t i = 1;
    bool concurrently = false;
    if (w_.punct(i, '(')) {
      const std::size_t end = w_.skip_group(i);
      for (std::size_t k = i; k < end; ++k) {
        if (w_.word(k, "concurrently") && !w_.word(k + 1, "false") && !w_.word(k + 1, "off")) {
          concurrently = true;
        }
      }
      i = end;
    }
    if (!w_.word(i, "index")) return;
    ++i;
    if (w_.word(i, "concurrently")) {
      concurrently = true;
      ++i;
    }
    if (!concurrently || dialect_ != Dialect::postgres) return;
    auto name = read_qualified_name(w_, i, dialect_);
    if (!name) return;
    Change change;
    change.kind = ChangeKind::reindex_concurrently;
    change.object = name->first;
    change.concurrently = true;
    change.offset = statement_.begin;
    out_.changes.push_back(std::move(change));
  }

  // ALTER TABLE [IF EXISTS] [ONLY] t [*] action [, action ...]
  void alter_table() {
    std::size_t i = 2;
    if (w_.words(i, {"if", "exists"})) i += 2;
    if (w_.word(i, "only")) ++i;
    auto table = read_qualified_name(w_, i, dialect_);
    if (!table) return;
    i = table->second;
    if (i < w_.size() && w_.at(i).kind == TokenKind::op && w_.text(i) == "*") ++i;
    while (i < w_.size()) {
      std::size_t end = i;
      while (end < w_.size() && !w_.punct(end, ',')) {
        end = (w_.punct(end, '(') || w_.punct(end, '[')) ? w_.skip_group(end) : end + 1;
      }
      alter_table_action(table->first, i, end);
      i = end + 1;
    }
  }

  bool has_not_valid(std::size_t begin, std::size_t end) const {
    for (std::size_t k = begin; k + 1 < end; ++k) {
      if (w_.words(k, {"not", "valid"})) return true;
    }
    return false;
  }

  void alter_table_action(const QualifiedName& table, std::size_t begin, std::size_t end) {
    if (w_.words(begin, {"validate", "constraint"}) && w_.name_at(begin + 2)) {
      add_constraint_change(ChangeKind::validate_constraint, table, begin + 2, false);
      return;
    }
    if (!w_.word(begin, "add")) return;
    const std::size_t i = begin + 1;
    if (w_.word(i, "constraint")) {
      const bool if_not_exists = w_.words(i + 1, {"if", "not", "exists"});
      if (dialect_ == Dialect::cockroach && !if_not_exists) {
        rerun_hazard(begin, "ADD CONSTRAINT without IF NOT EXISTS fails when the step is re-run",
                     "write ADD CONSTRAINT IF NOT EXISTS: a non-transactional step must be "
                     "idempotent");
      }
      if (!has_not_valid(begin, end)) {
        add_constraint_change(ChangeKind::add_constraint, table, i + (if_not_exists ? 4 : 1),
                              if_not_exists);
      }
      return;
    }
    if (unnamed_constraint(table, i, end)) return;
    const std::size_t column = w_.word(i, "column") ? i + 1 : i;
    if (!w_.words(column, {"if", "not", "exists"})) {
      rerun_hazard(begin, "ADD COLUMN without IF NOT EXISTS fails when the step is re-run",
                   "write ADD COLUMN IF NOT EXISTS: a non-transactional step must be idempotent");
    }
  }

  void add_constraint_change(ChangeKind kind, const QualifiedName& table, std::size_t name_at,
                             bool if_not_exists) {
    if (!w_.name_at(name_at)) return;
    Change change;
    change.kind = kind;
    change.table = table;
    change.object = QualifiedName{"", "", read_identifier(w_, name_at, dialect_).first};
    change.if_not_exists = if_not_exists;
    change.offset = statement_.begin;
    out_.changes.push_back(std::move(change));
  }

  // ADD UNIQUE/CHECK/FOREIGN KEY/PRIMARY KEY/EXCLUDE without CONSTRAINT name.
  bool unnamed_constraint(const QualifiedName& table, std::size_t i, std::size_t end) {
    std::string suffix;
    std::vector<std::string> columns;
    if (w_.word(i, "unique")) {
      std::size_t open = i + 1;
      if (w_.words(open, {"nulls", "not", "distinct"})) open += 3;
      if (w_.words(open, {"nulls", "distinct"})) open += 2;
      columns = column_names(w_, open, dialect_);
      suffix = "key";
    } else if (w_.word(i, "check")) {
      const std::string column = first_column_in(w_, i + 1, dialect_);
      if (!column.empty()) columns.push_back(column);
      suffix = "check";
    } else if (w_.words(i, {"foreign", "key"})) {
      columns = column_names(w_, i + 2, dialect_);
      suffix = "fkey";
    } else if (w_.words(i, {"primary", "key"})) {
      suffix = "pkey";
    } else if (w_.word(i, "exclude")) {
      suffix = "excl";
    } else {
      return false;
    }
    if (has_not_valid(i, end)) return true;
    const std::string words = ascii_upper(w_.text(i)) + (suffix == "fkey" || suffix == "pkey"
                                                             ? " KEY"
                                                             : "");
    warn(rule::unnamed_constraint, i,
         "ADD " + words + " without a constraint name cannot be verified by name",
         "name the constraint, e.g. ADD CONSTRAINT " + join_name(table.name, columns, suffix) +
             " " + words + " ... (PostgreSQL's own name for it)");
    return true;
  }

  // True when a string (DO body) or word in the statement says COMMIT.
  bool body_commits() const {
    for (std::size_t i = 0; i < w_.size(); ++i) {
      if (w_.word(i, "commit")) return true;
      if (w_.at(i).kind == TokenKind::string && contains_word(w_.text(i), "commit")) return true;
    }
    return false;
  }

  static bool contains_word(std::string_view text, std::string_view lower) {
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

  // ---- dialect checks ----

  void cockroach_only(std::size_t i, std::string_view what) {
    error(rule::cockroach_syntax, i,
          std::string(what) + " is CockroachDB syntax that PostgreSQL cannot run",
          "set \"dialect\": \"cockroach\" in dbmig.json (or pass --dialect cockroach) if this "
          "directory targets CockroachDB");
  }

  // PostgreSQL's own grammar decides first (SPEC section 8): a statement it
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
    static constexpr std::array kPostgresOnly = {"vacuum", "cluster", "reindex", "listen",
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

  Words w_;
  const Statement& statement_;
  Dialect dialect_;
  Classification out_;
};

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

std::string QualifiedName::quoted() const {
  std::string out;
  for (const std::string* part : {&database, &schema}) {
    if (!part->empty()) out += quote_identifier(*part) + ".";
  }
  return out + quote_identifier(name);
}

Classification classify_statement(const Statement& statement, std::string_view source,
                                  Dialect dialect) {
  return Classifier(statement, source, dialect).run();
}

}  // namespace dbmig::sql
