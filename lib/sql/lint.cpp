// HistoryLinter: the lock rules of docs/lint.md on libpg_query's parse tree.
//
// Only statements that can take a lock on an existing table are parsed
// (ALTER, CREATE, DROP, REINDEX): parsing to JSON costs far more than the
// split, and a pre-commit hook must stay fast. A statement the PostgreSQL 15
// grammar rejects (CockroachDB-only syntax, a newer server's syntax) is read
// from its tokens instead, for the rules that can be told from them.
#include "sql/lint.h"

#include <algorithm>
#include <optional>

#include "core/text.h"
#include "sql/lint_rules.h"
#include "sql/lint_tree.h"
#include "sql/scanner.h"
#include "sql/token_reader.h"

namespace dbmig::sql {
namespace {

using namespace lint_tree;
using Memory = HistoryLinter::Memory;

// The rules that hold on CockroachDB, whose other schema changes run online
// as background jobs (docs/lint.md).
bool applies(std::string_view rule, Dialect dialect) {
  if (dialect == Dialect::postgres) return true;
  return rule == rule::renaming_column || rule == rule::renaming_table ||
         rule == rule::adding_required_field;
}

// What one step has done so far: a statement on a table created earlier in
// the same step is exempt (an empty table nobody else can see yet).
struct StepState {
  std::set<std::string> created_tables;
  std::set<std::string> created_indexes;
  std::set<std::string> not_valid_constraints;  // "table.constraint" added NOT VALID here
};

// The rules for one statement.
class StatementLinter {
 public:
  StatementLinter(Memory& memory, StepState& step, Dialect dialect, const Statement& statement,
                  std::vector<Finding>& out)
      : memory_(memory), step_(step), dialect_(dialect), statement_(statement), out_(out) {}

  void lint(const Json& node) {
    for (const auto& [kind, body] : node.items()) {
      if (kind == "CreateStmt") create_table(body);
      if (kind == "CreateTableAsStmt")
        step_.created_tables.insert(table_key(field(field(body, "into"), "rel")));
      if (kind == "IndexStmt") create_index(body);
      if (kind == "DropStmt") drop(body);
      if (kind == "ReindexStmt") reindex(body);
      if (kind == "AlterTableStmt") alter_table(body);
      if (kind == "RenameStmt") rename(body);
    }
  }

  // CREATE INDEX found by the classifier in a statement the grammar rejects.
  void create_index_change(const Change& change) {
    if (change.kind != ChangeKind::create_index || change.concurrently) return;
    const std::string table = change.table.schema.empty() || change.table.schema == "public"
                                  ? change.table.name
                                  : change.table.schema + "." + change.table.name;
    if (step_.created_tables.contains(table)) return;
    require_concurrent_index(kNoLocation);
  }

  void report(std::string_view rule, std::size_t location, std::string message, std::string hint) {
    if (!applies(rule, dialect_)) return;
    const bool again = std::any_of(reported_.begin(), reported_.end(),
                                   [&](std::string_view r) { return r == rule; });
    if (again) return;
    reported_.push_back(rule);
    const std::size_t offset =
        location == kNoLocation ? statement_.begin : statement_.begin + location;
    out_.push_back({Severity::warning, std::min(offset, statement_.end), std::move(message),
                    std::move(hint), std::string(rule)});
  }

 private:
  void create_table(const Json& body) {
    const std::string table = table_key(field(body, "relation"));
    step_.created_tables.insert(table);
    const Json& elements = field(body, "tableElts");
    if (!elements.is_array()) return;
    for (const Json& element : elements) {
      const Json& column = field(element, "ColumnDef");
      if (column.is_null()) continue;
      memory_.column_types[table + "." + text_of(column, "colname")] =
          column_type(field(column, "typeName"));
    }
  }

  void require_concurrent_index(std::size_t location) {
    report(rule::require_concurrent_index_creation, location,
           "CREATE INDEX without CONCURRENTLY blocks writes to the table while the index builds",
           "write CREATE INDEX CONCURRENTLY IF NOT EXISTS ... alone in its step: dbmig runs it "
           "outside a transaction and proves the index valid");
  }

  void create_index(const Json& body) {
    const Json& relation = field(body, "relation");
    const std::string table = table_key(relation);
    const std::string index = text_of(body, "idxname");
    if (!index.empty()) step_.created_indexes.insert(index);
    if (flag(body, "concurrent") || step_.created_tables.contains(table)) return;
    if (!flag(relation, "inh")) return;  // ON ONLY a partitioned parent: catalog only
    require_concurrent_index(kNoLocation);
  }

  void drop(const Json& body) {
    if (text_of(body, "removeType") != "OBJECT_INDEX" || flag(body, "concurrent")) return;
    const Json& objects = field(body, "objects");
    if (!objects.is_array()) return;
    const bool all_new = std::all_of(objects.begin(), objects.end(), [&](const Json& object) {
      return step_.created_indexes.contains(dotted(field(field(object, "List"), "items")));
    });
    if (all_new) return;
    report(rule::require_concurrent_index_deletion, kNoLocation,
           "DROP INDEX without CONCURRENTLY blocks reads and writes of the table",
           "write DROP INDEX CONCURRENTLY IF EXISTS ... alone in its step");
  }

  void reindex(const Json& body) {
    const Json& params = field(body, "params");
    if (params.is_array()) {
      for (const Json& param : params) {
        if (text_of(field(param, "DefElem"), "defname") == "concurrently") return;
      }
    }
    const Json& relation = field(body, "relation");
    if (!relation.is_null() && step_.created_tables.contains(table_key(relation))) return;
    report(rule::require_concurrent_reindex, kNoLocation,
           "REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index)",
           "write REINDEX INDEX CONCURRENTLY name (PostgreSQL 12+) alone in its step");
  }

  void alter_table(const Json& body) {
    if (text_of(body, "objtype") != "OBJECT_TABLE") return;
    table_ = table_key(field(body, "relation"));
    exempt_ = step_.created_tables.contains(table_);
    const Json& commands = field(body, "cmds");
    if (!commands.is_array()) return;
    for (const Json& item : commands) {
      const Json& command = field(item, "AlterTableCmd");
      const std::string subtype = text_of(command, "subtype");
      const Json& definition = field(command, "def");
      const std::string name = text_of(command, "name");
      if (subtype == "AT_AddColumn") add_column(field(definition, "ColumnDef"));
      if (subtype == "AT_AddConstraint") add_constraint(field(definition, "Constraint"));
      if (subtype == "AT_ValidateConstraint") validate(name);
      if (subtype == "AT_AlterColumnType") alter_type(name, field(definition, "ColumnDef"));
      if (subtype == "AT_SetNotNull") set_not_null(name);
    }
  }

  void add_column(const Json& column) {
    const ColumnType type = column_type(field(column, "typeName"));
    memory_.column_types[table_ + "." + text_of(column, "colname")] = type;
    if (exempt_) return;
    const std::size_t at = location_of(column);
    bool not_null = false;
    bool has_default = false;
    bool volatile_default = false;
    bool primary = false;
    const bool serial = is_serial(type.name);
    bool generated = serial;
    for (const Json* constraint : column_constraints(column)) {
      const std::string kind = text_of(*constraint, "contype");
      if (kind == "CONSTR_NOTNULL") not_null = true;
      if (kind == "CONSTR_DEFAULT") {
        has_default = true;
        volatile_default = may_be_volatile(field(*constraint, "raw_expr"));
      }
      if (kind == "CONSTR_IDENTITY" || kind == "CONSTR_GENERATED") generated = true;
      if (kind == "CONSTR_PRIMARY") primary = true;
      if (kind == "CONSTR_UNIQUE") unique_constraint(location_of(*constraint));
      if (kind == "CONSTR_FOREIGN") foreign_key(location_of(*constraint));
    }
    if (primary) {
      report(rule::adding_serial_primary_key_field, at,
             "ADD COLUMN ... PRIMARY KEY builds the key's index while holding ACCESS EXCLUSIVE, "
             "blocking reads and writes",
             "add the column, CREATE UNIQUE INDEX CONCURRENTLY on it in a later step, then ADD "
             "CONSTRAINT ... PRIMARY KEY USING INDEX");
    } else if (generated || volatile_default) {
      report(rule::adding_field_with_default, at,
             std::string(serial || generated ? "a serial, identity or generated column"
                                             : "a volatile DEFAULT") +
                 " rewrites the whole table under ACCESS EXCLUSIVE, blocking reads and writes",
             "add the column without a default (or with a constant one), set the default in a "
             "later step and backfill existing rows in batches");
    }
    if (not_null && !has_default && !generated) {
      report(rule::adding_required_field, at,
             "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows, and "
             "breaks running code that inserts without the column",
             "add the column with a non-volatile DEFAULT, or add it nullable and backfill");
    }
  }

  void unique_constraint(std::size_t at) {
    report(rule::disallowed_unique_constraint, at,
           "adding a UNIQUE constraint builds its index while holding ACCESS EXCLUSIVE, blocking "
           "reads and writes",
           "CREATE UNIQUE INDEX CONCURRENTLY in its own step, then ADD CONSTRAINT ... UNIQUE "
           "USING INDEX in a later one");
  }

  void foreign_key(std::size_t at) {
    report(rule::adding_foreign_key_constraint, at,
           "adding a FOREIGN KEY without NOT VALID scans the table while blocking writes to it "
           "and to the referenced table",
           "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a later "
           "version");
  }

  void add_constraint(const Json& constraint) {
    const std::string kind = text_of(constraint, "contype");
    const std::string name = text_of(constraint, "conname");
    const bool not_valid = flag(constraint, "skip_validation");
    const std::size_t at = location_of(constraint);
    if (not_valid && !name.empty()) step_.not_valid_constraints.insert(table_ + "." + name);
    if (kind == "CONSTR_CHECK") check_constraint(constraint, name, not_valid, at);
    if (exempt_) return;
    if (kind == "CONSTR_FOREIGN" && !not_valid) foreign_key(at);
    const bool using_index = !text_of(constraint, "indexname").empty();
    if (kind == "CONSTR_UNIQUE" && !using_index) unique_constraint(at);
    if (kind == "CONSTR_PRIMARY" && !using_index) {
      report(rule::adding_serial_primary_key_field, at,
             "ADD PRIMARY KEY builds its index while holding ACCESS EXCLUSIVE, blocking reads and "
             "writes",
             "CREATE UNIQUE INDEX CONCURRENTLY in its own step, then ADD CONSTRAINT ... PRIMARY "
             "KEY USING INDEX in a later one");
    }
  }

  void check_constraint(const Json& constraint, const std::string& name, bool not_valid,
                        std::size_t at) {
    const std::string column = not_null_check_column(constraint);
    if (!column.empty() && not_valid && !name.empty()) {
      memory_.not_null_checks[table_ + "." + name] = table_ + "." + column;
    }
    if (!column.empty() && !not_valid) memory_.not_null_proved.insert(table_ + "." + column);
    if (not_valid || exempt_) return;
    report(rule::constraint_missing_not_valid, at,
           "adding a CHECK constraint without NOT VALID scans the whole table while holding "
           "ACCESS EXCLUSIVE, blocking reads and writes",
           "ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a later version "
           "(it scans under SHARE UPDATE EXCLUSIVE, which blocks neither)");
  }

  void validate(const std::string& name) {
    const std::string key = table_ + "." + name;
    if (const auto check = memory_.not_null_checks.find(key);
        check != memory_.not_null_checks.end()) {
      memory_.not_null_proved.insert(check->second);
    }
    if (exempt_ || !step_.not_valid_constraints.contains(key)) return;
    report(rule::constraint_missing_not_valid, kNoLocation,
           "VALIDATE CONSTRAINT in the same step as its ADD ... NOT VALID runs in the same "
           "transaction, which still holds ACCESS EXCLUSIVE from the ADD while it scans",
           "move VALIDATE CONSTRAINT " + name + " to a later version");
  }

  void alter_type(const std::string& column, const Json& definition) {
    const std::string key = table_ + "." + column;
    const ColumnType to = column_type(field(definition, "typeName"));
    std::optional<ColumnType> from;
    if (const auto known = memory_.column_types.find(key); known != memory_.column_types.end()) {
      from = known->second;
    }
    memory_.column_types[key] = to;
    if (exempt_ || rewrite_free(from, to, !field(definition, "raw_default").is_null())) return;
    report(rule::changing_column_type, location_of(definition),
           "ALTER COLUMN TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE, blocking "
           "reads and writes" +
               std::string(from ? "" : " (the column's old type is not in this history)"),
           "add a column of the new type, backfill it in batches and switch the application "
           "over; only widening varchar/numeric/varbit limits or varchar -> text is free");
  }

  void set_not_null(const std::string& column) {
    if (exempt_ || memory_.not_null_proved.contains(table_ + "." + column)) return;
    report(rule::adding_not_nullable_field, kNoLocation,
           "SET NOT NULL scans the whole table while holding ACCESS EXCLUSIVE, blocking reads and "
           "writes",
           "first ADD CONSTRAINT " + column + "_not_null CHECK (" + column +
               " IS NOT NULL) NOT VALID, VALIDATE it in a later version, then SET NOT NULL "
               "(PostgreSQL 12+ skips the scan)");
  }

  void rename(const Json& body) {
    const std::string type = text_of(body, "renameType");
    const bool column = type == "OBJECT_COLUMN" && text_of(body, "relationType") == "OBJECT_TABLE";
    if (!column && type != "OBJECT_TABLE") return;
    if (step_.created_tables.contains(table_key(field(body, "relation")))) return;
    if (column) {
      rename_column();
    } else {
      rename_table();
    }
  }

 public:
  void rename_column() {
    report(rule::renaming_column, kNoLocation,
           "renaming a column breaks running code that still uses the old name",
           "add a new column and migrate readers and writers to it first, or rename only once "
           "no deployed code uses the old name");
  }

  void rename_table() {
    report(rule::renaming_table, kNoLocation,
           "renaming a table breaks running code that still uses the old name",
           "create the new table (or a view under the old name) and migrate code first, or "
           "rename only once no deployed code uses the old name");
  }

  void required_field() {
    report(rule::adding_required_field, kNoLocation,
           "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows, and breaks "
           "running code that inserts without the column",
           "add the column with a non-volatile DEFAULT, or add it nullable and backfill");
  }

 private:
  Memory& memory_;
  StepState& step_;
  Dialect dialect_;
  const Statement& statement_;
  std::vector<Finding>& out_;
  std::vector<std::string_view> reported_;
  std::string table_;
  bool exempt_ = false;
};

// ---- the token fallback (statements the PostgreSQL 15 grammar rejects) ----

class FallbackLinter {
 public:
  // Table names are compared ASCII lower-cased, as the parse-tree rules key them.
  FallbackLinter(const Statement& statement, std::string_view source, Dialect dialect)
      : w_(statement, source, dialect) {}

  // ALTER TABLE t ... RENAME [COLUMN] a TO b | RENAME TO u;
  // ADD [COLUMN] ... NOT NULL without DEFAULT in the same action.
  void lint(StatementLinter& linter, const std::set<std::string>& created) const {
    if (!word(0, "alter") || !word(1, "table")) return;
    std::size_t i = 2;
    if (word(i, "if") && word(i + 1, "exists")) i += 2;
    if (word(i, "only")) ++i;
    if (i >= w_.size() || created.contains(ascii_lower(w_.text(i)))) return;
    for (std::size_t begin = i + 1; begin < w_.size();) {
      const std::size_t end = action_end(begin);
      action(linter, begin, end);
      begin = end + 1;
    }
  }

 private:
  std::size_t action_end(std::size_t begin) const {
    int depth = 0;
    for (std::size_t i = begin; i < w_.size(); ++i) {
      if (w_.punct(i, '(')) ++depth;
      if (w_.punct(i, ')')) --depth;
      if (depth == 0 && w_.punct(i, ',')) return i;
    }
    return w_.size();
  }

  void action(StatementLinter& linter, std::size_t begin, std::size_t end) const {
    if (word(begin, "rename")) {
      if (word(begin + 1, "to")) {
        linter.rename_table();
      } else if (!word(begin + 1, "constraint")) {
        linter.rename_column();
      }
      return;
    }
    if (!word(begin, "add") || word(begin + 1, "constraint")) return;
    bool not_null = false;
    for (std::size_t i = begin; i < end; ++i) {
      if (word(i, "default") || word(i, "as") || word(i, "generated")) return;
      if (word(i, "not") && word(i + 1, "null")) not_null = true;
    }
    if (not_null) linter.required_field();
  }

  [[nodiscard]] bool word(std::size_t i, std::string_view lower) const { return w_.word(i, lower); }

  TokenReader w_;
};

bool may_lock(const Statement& statement, std::string_view source) {
  for (const Token& token : statement.tokens) {
    if (token.kind == TokenKind::comment) continue;
    for (std::string_view word : {"alter", "create", "drop", "reindex"}) {
      if (is_word(token, source, word)) return true;
    }
    return false;
  }
  return false;
}

}  // namespace

std::vector<Finding> HistoryLinter::lint_step(std::string_view source, const StepAnalysis& step) {
  std::vector<Finding> out;
  StepState state;
  for (std::size_t i = 0; i < step.statements.size(); ++i) {
    const Statement& statement = step.statements[i];
    if (!may_lock(statement, source)) continue;
    StatementLinter linter(memory_, state, dialect_, statement, out);
    if (const auto node = parse_statement(statement.text(source))) {
      linter.lint(*node);
      continue;
    }
    for (const Change& change : step.classifications[i].changes) linter.create_index_change(change);
    FallbackLinter(statement, source, dialect_).lint(linter, state.created_tables);
  }
  return out;
}

}  // namespace dbmig::sql
