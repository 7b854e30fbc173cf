#include "sql/supersession.h"

#include <algorithm>
#include <optional>

#include "sql/token_reader.h"

namespace dbmig::sql {
namespace {

// A statement's words read front to back, through TokenReader.
class Cursor {
 public:
  Cursor(const Statement& statement, std::string_view source, Dialect dialect)
      : reader_(statement, source, dialect) {}

  [[nodiscard]] bool done() const { return position_ >= reader_.size(); }

  // Consumes the words (lower case) when they come next, in order.
  bool accept(std::initializer_list<std::string_view> words) {
    if (!reader_.words(position_, words)) return false;
    position_ += words.size();
    return true;
  }

  bool accept(char punctuation) {
    if (!reader_.punct(position_, punctuation)) return false;
    ++position_;
    return true;
  }

  bool accept_operator(std::string_view op) {
    if (!reader_.op(position_, op)) return false;
    ++position_;
    return true;
  }

  // One name part (identifier or keyword, with an optional UESCAPE clause),
  // folded as the server does.
  std::optional<std::string> name_part() {
    if (!reader_.name_at(position_)) return std::nullopt;
    auto [name, next] = reader_.identifier(position_);
    position_ = next;
    return name;
  }

  // A possibly qualified name: part(.part){0,2}; nullopt when a `.` is not
  // followed by a name.
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
  [[nodiscard]] bool at(char c) const { return reader_.punct(position_, c); }

  // True when the next token is the word `word` (lower case; not consumed).
  [[nodiscard]] bool at_word(std::string_view word) const { return reader_.word(position_, word); }

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
      const Token& token = reader_.at(position_++);
      if (token.is('(')) ++depth;
      if (token.is(')')) --depth;
      if (depth == 0 && token.is(',')) return true;
    }
    return false;
  }

 private:
  TokenReader reader_;
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
bool removes_object(const Removal& removal, const Change& change) {
  if (!same_name(removal.name, change.object)) return false;
  const bool table_known = !removal.table.name.empty() && !change.table.name.empty();
  if (table_known && !same_name(removal.table, change.table)) return false;
  // A constraint is named within its table: the tables must be known and equal.
  return removal.kind == Removal::Kind::index || table_known;
}

}  // namespace

std::vector<Removal> removals_of(const Statement& statement, std::string_view source,
                                 Dialect dialect) {
  Cursor cursor(statement, source, dialect);
  if (cursor.accept({"drop", "index"})) return drop_indexes(cursor);
  if (cursor.accept({"drop", "table"})) return drop_objects(cursor, Removal::Kind::table);
  if (cursor.accept({"drop", "schema"})) return drop_objects(cursor, Removal::Kind::schema);
  if (cursor.accept({"alter", "table"})) return alter_table(cursor);
  if (cursor.accept({"alter", "index"})) return alter_index(cursor);
  return {};
}

bool supersedes(const Removal& removal, const Change& change) {
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

std::vector<std::string> definition_words(const Change& change,
                                          const std::vector<Statement>& statements,
                                          std::string_view source, Dialect dialect) {
  const Statement* statement = nullptr;
  for (const Statement& candidate : statements) {
    if (candidate.begin <= change.offset && change.offset < candidate.end) statement = &candidate;
  }
  if (statement == nullptr) return {};
  Cursor cursor(*statement, source, dialect);
  switch (change.kind) {
    case ChangeKind::create_index:
    case ChangeKind::create_index_on_only:
      while (!cursor.done() && !cursor.accept('(')) cursor.skip();
      return cursor.words_until([](const Cursor&, int) { return false; });
    case ChangeKind::add_constraint:
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
    case ChangeKind::reindex_concurrently:
    case ChangeKind::validate_constraint: break;
  }
  return {};
}

bool drops_column_of(const Removal& removal, const Change& change,
                     const std::vector<std::string>& words) {
  if (removal.kind != Removal::Kind::column || change.table.name.empty()) return false;
  if (!same_name(removal.table, change.table)) return false;
  return std::find(words.begin(), words.end(), removal.name.name) != words.end();
}

}  // namespace dbmig::sql
