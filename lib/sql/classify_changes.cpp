// The changes that need proof (docs/contract.md section 4): CREATE INDEX, REINDEX INDEX
// CONCURRENTLY, ALTER TABLE ... ADD CONSTRAINT / VALIDATE CONSTRAINT, with
// their names read through TokenReader; and the warnings for an unnamed
// index or constraint, whose suggestion is PostgreSQL's own name for it.
#include <optional>
#include <string>
#include <vector>

#include "sql/classify_parts.h"
#include "sql/lint_rules.h"

namespace dbmig::sql::classify_detail {
namespace {

// ---- suggested names (PostgreSQL's own convention) ---------------------

// Column names of the parenthesised list at i: a plain column gives its
// name, anything else "expr" (as PostgreSQL's ChooseIndexColumnNames).
std::vector<std::string> column_names(const TokenReader& w, std::size_t open) {
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
    names.push_back(plain ? w.identifier(i).first : "expr");
    i = end + 1;
  }
  return names;
}

// First plain identifier inside the parenthesised expression at `open` (the
// column PostgreSQL names a CHECK constraint after), empty if none.
std::string first_column_in(const TokenReader& w, std::size_t open) {
  const std::size_t close = w.skip_group(open);
  for (std::size_t i = open + 1; i < close; ++i) {
    if (w.at(i).kind == TokenKind::identifier && !w.punct(i + 1, '(')) {
      return w.identifier(i).first;
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

class ChangeReader : ClassifierPart {
 public:
  using ClassifierPart::ClassifierPart;

  void run() {
    if (w_.word(0, "create") && index_word_position(w_) != 0) create_index();
    if (w_.word(0, "reindex")) reindex();
    if (w_.words(0, {"alter", "table"})) alter_table();
  }

 private:
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
      auto [folded, next] = w_.identifier(i);
      name = std::move(folded);
      i = next;
    }
    if (!w_.word(i, "on")) return;
    const bool only = w_.word(i + 1, "only");
    auto table = w_.qualified_name(i + (only ? 2 : 1));
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
    const std::string suggestion = join_name(table.name, column_names(w_, open), "idx");
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
    auto name = w_.qualified_name(i);
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
    auto table = w_.qualified_name(i);
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
    change.object = QualifiedName{"", "", w_.identifier(name_at).first};
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
      columns = column_names(w_, open);
      suffix = "key";
    } else if (w_.word(i, "check")) {
      const std::string column = first_column_in(w_, i + 1);
      if (!column.empty()) columns.push_back(column);
      suffix = "check";
    } else if (w_.words(i, {"foreign", "key"})) {
      columns = column_names(w_, i + 2);
      suffix = "fkey";
    } else if (w_.words(i, {"primary", "key"})) {
      suffix = "pkey";
    } else if (w_.word(i, "exclude")) {
      suffix = "excl";
    } else {
      return false;
    }
    if (has_not_valid(i, end)) return true;
    const std::string words =
        ascii_upper(w_.text(i)) + (suffix == "fkey" || suffix == "pkey" ? " KEY" : "");
    warn(rule::unnamed_constraint, i,
         "ADD " + words + " without a constraint name cannot be verified by name",
         "name the constraint, e.g. ADD CONSTRAINT " + join_name(table.name, columns, suffix) +
             " " + words + " ... (PostgreSQL's own name for it)");
    return true;
  }
};

}  // namespace

void read_changes(const TokenReader& w, const Statement& statement, Classification& out) {
  ChangeReader(w, statement, out).run();
}

}  // namespace dbmig::sql::classify_detail
