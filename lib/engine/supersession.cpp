#include "engine/supersession.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "core/text.h"
#include "engine/inspect.h"

namespace dbmig::engine {
namespace {

using sql::QualifiedName;
using sql::Token;
using sql::TokenKind;

// The statement's tokens without comments, read front to back.
class Cursor {
 public:
  Cursor(const sql::Statement& statement, std::string_view source) : source_(source) {
    for (const Token& token : statement.tokens) {
      if (token.kind != TokenKind::comment) tokens_.push_back(token);
    }
  }

  [[nodiscard]] bool done() const { return position_ >= tokens_.size(); }

  // Consumes the words (lower case) when they come next, in order.
  bool accept(std::initializer_list<std::string_view> words) {
    std::size_t at = position_;
    for (std::string_view word : words) {
      if (at >= tokens_.size() || !sql::is_word(tokens_[at], source_, word)) return false;
      ++at;
    }
    position_ = at;
    return true;
  }

  bool accept(char punctuation) {
    if (done() || !tokens_[position_].is(punctuation)) return false;
    ++position_;
    return true;
  }

  bool accept_operator(std::string_view op) {
    if (done() || tokens_[position_].kind != TokenKind::op ||
        tokens_[position_].text(source_) != op) {
      return false;
    }
    ++position_;
    return true;
  }

  // One name part (identifier or keyword), folded as the server does.
  std::optional<std::string> name_part() {
    if (done()) return std::nullopt;
    const Token& token = tokens_[position_];
    if (token.kind != TokenKind::identifier && token.kind != TokenKind::keyword) {
      return std::nullopt;
    }
    ++position_;
    return fold(token.text(source_));
  }

  // A possibly qualified name: part(.part){0,2}.
  std::optional<QualifiedName> qualified_name() {
    std::vector<std::string> parts;
    auto first = name_part();
    if (!first) return std::nullopt;
    parts.push_back(*first);
    while (parts.size() < 3 && accept('.')) {
      auto next = name_part();
      if (!next) return std::nullopt;
      parts.push_back(*next);
    }
    QualifiedName name;
    name.name = parts.back();
    if (parts.size() >= 2) name.schema = parts[parts.size() - 2];
    if (parts.size() == 3) name.database = parts[0];
    return name;
  }

  // Steps over one token.
  void skip() {
    if (!done()) ++position_;
  }

  // True when the next token is the punctuation `c` (not consumed).
  [[nodiscard]] bool at(char c) const { return !done() && tokens_[position_].is(c); }

  // True when the next token is the word `word` (lower case; not consumed).
  [[nodiscard]] bool at_word(std::string_view word) const {
    return !done() && sql::is_word(tokens_[position_], source_, word);
  }

  // The words (name_part) of the tokens up to the end, or up to the first
  // token where stop(*this, parenthesis depth so far) holds.
  template <typename Stop>
  std::vector<std::string> words_until(Stop stop) {
    std::vector<std::string> words;
    for (int depth = 0; !done() && !stop(*this, depth);) {
      if (at('(')) ++depth;
      if (at(')')) --depth;
      if (auto word = name_part()) {
        words.push_back(std::move(*word));
      } else {
        skip();
      }
    }
    return words;
  }

  // Skips to just after the next top-level comma; false at the end.
  bool skip_past_comma() {
    int depth = 0;
    while (!done()) {
      const Token& token = tokens_[position_++];
      if (token.is('(')) ++depth;
      if (token.is(')')) --depth;
      if (depth == 0 && token.is(',')) return true;
    }
    return false;
  }

 private:
  static std::string fold(std::string_view text) {
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
      std::string unquoted;
      for (std::size_t i = 1; i + 1 < text.size(); ++i) {
        unquoted += text[i];
        if (text[i] == '"') ++i;
      }
      return unquoted;
    }
    return ascii_lower(text);
  }

  std::string_view source_;
  std::vector<Token> tokens_;
  std::size_t position_ = 0;
};

// DROP INDEX [CONCURRENTLY] [IF EXISTS] name [, ...]; CockroachDB: t@name.
std::vector<Removal> drop_indexes(Cursor& cursor) {
  std::vector<Removal> removals;
  cursor.accept({"concurrently"});
  cursor.accept({"if", "exists"});
  do {
    auto name = cursor.qualified_name();
    if (!name) break;
    Removal removal{.kind = Removal::Kind::index, .name = *name, .table = {}};
    if (cursor.accept_operator("@")) {
      auto index = cursor.name_part();
      if (!index) break;
      removal.table = *name;
      removal.name = QualifiedName{.database = {}, .schema = name->schema, .name = *index};
    }
    removals.push_back(removal);
  } while (cursor.accept(','));
  return removals;
}

// DROP TABLE|SCHEMA [IF EXISTS] name [, ...].
std::vector<Removal> drop_objects(Cursor& cursor, Removal::Kind kind) {
  std::vector<Removal> removals;
  cursor.accept({"if", "exists"});
  do {
    auto name = cursor.qualified_name();
    if (!name) break;
    removals.push_back({.kind = kind, .name = *name, .table = {}});
  } while (cursor.accept(','));
  return removals;
}

// After ADD: [CONSTRAINT c] PRIMARY KEY|UNIQUE USING INDEX i. PostgreSQL
// renames index i to the constraint's name (and the constraint owns it), so
// i's earlier proof is superseded by this statement.
void add_using_index(Cursor& cursor, const QualifiedName& table, std::vector<Removal>& removals) {
  if (cursor.accept({"constraint"})) cursor.name_part();
  if (!cursor.accept({"primary", "key", "using", "index"}) &&
      !cursor.accept({"unique", "using", "index"})) {
    return;
  }
  if (auto index = cursor.name_part()) {
    removals.push_back(
        {.kind = Removal::Kind::index,
         .name = QualifiedName{.database = {}, .schema = table.schema, .name = *index},
         .table = table});
  }
}

// The actions of ALTER TABLE t: RENAME TO, SET SCHEMA, RENAME CONSTRAINT c,
// DROP CONSTRAINT [IF EXISTS] c, ADD ... USING INDEX i (several,
// comma-separated).
std::vector<Removal> alter_table(Cursor& cursor) {
  std::vector<Removal> removals;
  cursor.accept({"if", "exists"});
  cursor.accept({"only"});
  auto table = cursor.qualified_name();
  if (!table) return removals;
  do {
    if (cursor.accept({"rename", "to"}) || cursor.accept({"set", "schema"})) {
      // ALTER TABLE also renames indexes and sequences in PostgreSQL.
      removals.push_back({.kind = Removal::Kind::table, .name = *table, .table = {}});
      removals.push_back({.kind = Removal::Kind::index, .name = *table, .table = {}});
    } else if (cursor.accept({"rename", "constraint"}) || cursor.accept({"drop", "constraint"})) {
      cursor.accept({"if", "exists"});
      if (auto constraint = cursor.name_part()) {
        removals.push_back(
            {.kind = Removal::Kind::constraint,
             .name = QualifiedName{.database = {}, .schema = {}, .name = *constraint},
             .table = *table});
      }
    } else if (cursor.accept({"add"})) {
      add_using_index(cursor, *table, removals);
    } else if (cursor.accept({"drop", "column"}) || cursor.accept({"drop"})) {
      cursor.accept({"if", "exists"});
      if (auto column = cursor.name_part()) {
        removals.push_back({.kind = Removal::Kind::column,
                            .name = QualifiedName{.database = {}, .schema = {}, .name = *column},
                            .table = *table});
      }
    }
  } while (cursor.skip_past_comma());
  return removals;
}

// ALTER INDEX [IF EXISTS] name|t@name RENAME TO / SET SCHEMA.
std::vector<Removal> alter_index(Cursor& cursor) {
  cursor.accept({"if", "exists"});
  std::vector<Removal> named = drop_indexes(cursor);
  if (named.size() != 1) return {};
  if (cursor.accept({"rename", "to"}) || cursor.accept({"set", "schema"})) return named;
  return {};
}

// Names match when the names are equal and, where both give one, the schemas.
bool same_name(const QualifiedName& a, const QualifiedName& b) {
  if (a.name != b.name) return false;
  return a.schema.empty() || b.schema.empty() || a.schema == b.schema;
}

// The change's index/constraint, with the table's schema for an index.
bool removes_object(const Removal& removal, const sql::Change& change) {
  if (!same_name(removal.name, change.object)) return false;
  const bool table_known = !removal.table.name.empty() && !change.table.name.empty();
  if (table_known && !same_name(removal.table, change.table)) return false;
  // A constraint is named within its table: the tables must be known and equal.
  return removal.kind == Removal::Kind::index || table_known;
}

// The label of the first applied step after `index` with a removal for
// which `matches` holds.
std::optional<std::string> first_later_step_removing(
    const std::vector<StepRef>& steps, std::size_t index,
    const std::function<bool(const Removal&)>& matches) {
  for (std::size_t later = index + 1; later < steps.size(); ++later) {
    const migration::PlannedStep& step = *steps[later].step;
    for (const sql::Statement& statement : step.analysis.statements) {
      for (const Removal& removal : removals_of(statement, step.text)) {
        if (matches(removal)) return step_label(steps[later].version->name, step.file.file_name);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<Removal> removals_of(const sql::Statement& statement, std::string_view source) {
  Cursor cursor(statement, source);
  if (cursor.accept({"drop", "index"})) return drop_indexes(cursor);
  if (cursor.accept({"drop", "table"})) return drop_objects(cursor, Removal::Kind::table);
  if (cursor.accept({"drop", "schema"})) return drop_objects(cursor, Removal::Kind::schema);
  if (cursor.accept({"alter", "table"})) return alter_table(cursor);
  if (cursor.accept({"alter", "index"})) return alter_index(cursor);
  return {};
}

bool supersedes(const Removal& removal, const sql::Change& change) {
  switch (removal.kind) {
    case Removal::Kind::schema:
      return removal.name.name == change.table.schema || removal.name.name == change.object.schema;
    case Removal::Kind::table:
      return !change.table.name.empty() && same_name(removal.name, change.table);
    case Removal::Kind::index:
    case Removal::Kind::constraint: return removes_object(removal, change);
    case Removal::Kind::column: return false;
  }
  return false;
}

std::vector<std::string> definition_words(const sql::Change& change,
                                          const std::vector<sql::Statement>& statements,
                                          std::string_view source) {
  const sql::Statement* statement = nullptr;
  for (const sql::Statement& candidate : statements) {
    if (candidate.begin <= change.offset && change.offset < candidate.end) statement = &candidate;
  }
  if (statement == nullptr) return {};
  Cursor cursor(*statement, source);
  switch (change.kind) {
    case sql::ChangeKind::create_index:
    case sql::ChangeKind::create_index_on_only:
      while (!cursor.done() && !cursor.accept('(')) cursor.skip();
      return cursor.words_until([](const Cursor&, int) { return false; });
    case sql::ChangeKind::add_constraint:
      // The action that names the constraint, to its top-level comma.
      while (!cursor.done()) {
        if (cursor.accept({"constraint"})) {
          if (auto name = cursor.name_part(); name && *name == change.object.name) break;
        } else {
          cursor.skip();
        }
      }
      return cursor.words_until([](const Cursor& at, int depth) {
        return depth == 0 && (at.at(',') || at.at_word("references"));
      });
    case sql::ChangeKind::reindex_concurrently:
    case sql::ChangeKind::validate_constraint: break;
  }
  return {};
}

bool drops_column_of(const Removal& removal, const sql::Change& change,
                     const std::vector<std::string>& words) {
  if (removal.kind != Removal::Kind::column || change.table.name.empty()) return false;
  if (!same_name(removal.table, change.table)) return false;
  return std::find(words.begin(), words.end(), removal.name.name) != words.end();
}

// The first applied step after `index` that drops or renames `change`'s object.
std::optional<std::string> superseding_step(const std::vector<StepRef>& steps, std::size_t index,
                                            const sql::Change& change) {
  return first_later_step_removing(
      steps, index, [&change](const Removal& removal) { return supersedes(removal, change); });
}

// The first applied step after `index` that drops a column `change`'s
// definition uses (the server dropped the index or constraint with it).
std::optional<std::string> column_dropping_step(const std::vector<StepRef>& steps,
                                                std::size_t index, const sql::Change& change) {
  const migration::PlannedStep& own = *steps[index].step;
  const std::vector<std::string> words =
      definition_words(change, own.analysis.statements, own.text);
  if (words.empty()) return std::nullopt;
  return first_later_step_removing(steps, index, [&](const Removal& removal) {
    return drops_column_of(removal, change, words);
  });
}

}  // namespace dbmig::engine
