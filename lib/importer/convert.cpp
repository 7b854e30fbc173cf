// convert(): the tool ran a file as one transaction, as one message, or
// statement by statement (RunMode); dbmig runs a step as one transaction,
// or, named -danger-non-transactional, statement by statement. So a file
// becomes one step, except where the file itself says otherwise:
// - each BEGIN ... COMMIT block is a unit of atomicity: its own step;
// - a statement that cannot run in a transaction block (a concurrent build)
//   is its own step, because sharing a step's transaction would fail;
// - statements the tool ran outside any transaction stay together in a
//   -danger-non-transactional step, where dbmig also runs each on its own.
// Only the bytes of the tool's transaction-control statements (with their
// `;`) and of its section markers are removed; nothing else changes.
#include "importer/convert.h"

#include <algorithm>

#include "sql/classify.h"
#include "sql/scanner.h"
#include "sql/splitter.h"

namespace dbmig::importer {
namespace {

struct Position {
  int line = 1;
  int column = 1;
};

// Line and byte column of offsets in one text, each in O(log lines).
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  [[nodiscard]] Position at(std::size_t offset) const {
    const auto next = std::upper_bound(starts_.begin(), starts_.end(), offset);
    const std::size_t line_start = *(next - 1);
    return {static_cast<int>(next - starts_.begin()), static_cast<int>(offset - line_start) + 1};
  }

 private:
  std::vector<std::size_t> starts_{0};
};

enum class Role { statement, open_block, close_block };

struct Item {
  const sql::Statement* statement;
  sql::Classification classification;
  Role role = Role::statement;
  ByteRange bytes;  // the statement with its `;`
};

// A run of statements that becomes one step.
struct Unit {
  enum class Kind { transaction, non_transactional, alone } kind = Kind::transaction;
  std::size_t first_item = 0;
  std::size_t last_item = 0;  // inclusive; the item after which the step ends
  bool has_statement = false;
  std::string reason;  // why it is a step of its own
};

class Converter {
 public:
  Converter(const SourceMigration& migration, const std::string& src_root)
      : m_(migration), text_(migration.text), src_root_(src_root), lines_(migration.text) {}

  std::expected<ConvertedVersion, Diagnostic> run() {
    out_.tool_version = m_.version;
    out_.name = m_.name;
    out_.source = m_.file;
    out_.mode = m_.mode_reason;
    if (auto failed = read_items()) return std::unexpected(*failed);
    if (auto failed = form_units()) return std::unexpected(*failed);
    for (const ByteRange& marker : m_.markers) remove(marker, "section marker of the tool");
    write_steps();
    if (m_.up.end < text_.size()) {
      const Position at = lines_.at(m_.up.end);
      out_.edits.push_back(
          {Edit::Kind::dropped_down_section, m_.file, at.line, at.column,
           "lines " + std::to_string(at.line) + "-" + std::to_string(lines_.at(text_.size()).line),
           "dbmig applies up sections only"});
    }
    std::stable_sort(out_.edits.begin(), out_.edits.end(), [](const Edit& a, const Edit& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(out_);
  }

 private:
  Diagnostic error_at(std::size_t offset, std::string message, std::string hint) const {
    const Position at = lines_.at(offset);
    return {.severity = Severity::error,
            .file = src_root_ + "/" + m_.file,
            .line = at.line,
            .column = at.column,
            .message = std::move(message),
            .hint = std::move(hint)};
  }

  std::optional<Diagnostic> read_items() {
    const std::string_view up = std::string_view(text_).substr(0, m_.up.end);
    auto statements = sql::split_statements(up);
    if (!statements) {
      return error_at(statements.error().offset, statements.error().message,
                      statements.error().hint);
    }
    statements_ = std::move(*statements);
    auto tokens = sql::scan(up);
    if (!tokens) return error_at(tokens.error().offset, tokens.error().message, "");
    for (const sql::Statement& statement : statements_) {
      if (!m_.markers.empty() && statement.begin < m_.markers.front().begin) {
        return error_at(statement.begin, "statement before the up marker",
                        "the tool does not run it; move it below the marker or delete it");
      }
      Item item{&statement,
                sql::classify_statement(statement, up, sql::Dialect::postgres),
                Role::statement,
                {statement.begin, statement.end}};
      if (statement.terminated) item.bytes.end = semicolon_after(*tokens, statement.end);
      if (item.classification.kind == sql::StatementKind::transaction_control) {
        auto role = transaction_role(item);
        if (!role) return role.error();
        item.role = *role;
      }
      items_.push_back(std::move(item));
    }
    return std::nullopt;
  }

  // The end of the `;` after a statement ending at `end` (tokens are in
  // offset order; only whitespace and comments lie between).
  static std::size_t semicolon_after(const std::vector<sql::Token>& tokens, std::size_t end) {
    auto it = std::lower_bound(tokens.begin(), tokens.end(), end,
                               [](const sql::Token& t, std::size_t at) { return t.begin < at; });
    for (; it != tokens.end(); ++it) {
      if (it->is(';')) return it->end;
      if (it->kind != sql::TokenKind::comment) break;
    }
    return end;
  }

  std::expected<Role, Diagnostic> transaction_role(const Item& item) const {
    const sql::Statement& s = *item.statement;
    const std::string_view first = s.tokens.empty() ? "" : s.tokens.front().text(text_);
    const std::string verb = ascii_lower_copy(first);
    if (verb == "begin" || verb == "start") return Role::open_block;
    if (verb == "commit" || verb == "end") return Role::close_block;
    return std::unexpected(
        error_at(s.begin, item.classification.command + " cannot be converted",
                 "dbmig owns transactions and has no partial rollback; rewrite the migration "
                 "without it"));
  }

  static std::string ascii_lower_copy(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }

  void close_unit() {
    if (open_) units_.push_back(*open_);
    open_.reset();
  }

  void extend(Unit::Kind kind, std::size_t index, std::string reason) {
    if (!open_ || open_->kind != kind) {
      close_unit();
      open_ = Unit{kind, index, index, false, std::move(reason)};
    }
    open_->last_item = index;
    if (items_[index].role == Role::statement) open_->has_statement = true;
  }

  // A file the tool runs statement by statement that mixes a concurrent
  // build with other statements outside BEGIN ... COMMIT: those others get
  // transactional steps (atomicity dbmig can add), the build its own step.
  bool mixes_builds_with_others() const {
    bool builds = false;
    bool others = false;
    bool in_block = false;
    for (const Item& item : items_) {
      if (item.role != Role::statement) {
        in_block = item.role == Role::open_block;
        continue;
      }
      if (in_block) continue;
      (item.classification.non_transactional ? builds : others) = true;
    }
    return builds && others;
  }

  std::optional<Diagnostic> form_units() {
    split_each_statement_ = m_.mode == RunMode::each_statement && mixes_builds_with_others();
    bool in_block = false;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item& item = items_[i];
      switch (item.role) {
        case Role::open_block:
          if (in_block)
            return error_at(item.bytes.begin, "BEGIN inside a BEGIN ... COMMIT block", "");
          close_unit();
          in_block = true;
          open_ = Unit{Unit::Kind::transaction, i, i, false, "a BEGIN ... COMMIT block"};
          break;
        case Role::close_block:
          if (open_) open_->last_item = i;
          close_unit();
          in_block = false;
          break;
        case Role::statement: add_statement(i, in_block); break;
      }
      if (in_block && item.role == Role::statement && item.classification.non_transactional) {
        return error_at(item.bytes.begin,
                        item.classification.command + " cannot run inside BEGIN ... COMMIT",
                        "the tool fails on it too; move it out of the block");
      }
    }
    close_unit();
    return std::nullopt;
  }

  void add_statement(std::size_t i, bool in_block) {
    const Item& item = items_[i];
    if (in_block) {
      extend(Unit::Kind::transaction, i, "a BEGIN ... COMMIT block");
    } else if (m_.mode == RunMode::each_statement && !split_each_statement_) {
      extend(Unit::Kind::non_transactional, i,
             "the tool runs these statements outside a transaction (" + m_.mode_reason + ")");
    } else if (item.classification.non_transactional) {
      close_unit();
      open_ = Unit{Unit::Kind::alone, i, i, true,
                   item.classification.command +
                       " ... CONCURRENTLY (or the like) cannot run in a transaction block"};
      close_unit();
    } else {
      extend(Unit::Kind::transaction, i,
             "the statements after a non-transactional one keep a transaction");
    }
  }

  void remove(const ByteRange& range, std::string reason) {
    removed_.push_back(range);
    const Position at = lines_.at(range.begin);
    out_.edits.push_back({Edit::Kind::removed, m_.file, at.line, at.column,
                          text_.substr(range.begin, range.end - range.begin), std::move(reason)});
  }

  // Where a step that ends after `offset` is cut: after the rest of its
  // line when that holds only blanks and perhaps a `--` comment (which
  // stays with the statement it follows).
  std::size_t cut_after(std::size_t offset) const {
    std::size_t at = offset;
    while (at < m_.up.end && (text_[at] == ' ' || text_[at] == '\t' || text_[at] == '\r')) ++at;
    if (text_.compare(at, 2, "--") == 0) {
      while (at < m_.up.end && text_[at] != '\n') ++at;
    }
    if (at < m_.up.end && text_[at] == '\n') return at + 1;
    return offset;
  }

  // Bytes [begin, end) without the removed ranges inside; `removed_` is
  // sorted by write_steps, so each call costs the bytes it copies.
  std::string bytes_without_removals(std::size_t begin, std::size_t end) const {
    std::string out;
    std::size_t at = begin;
    auto r =
        std::lower_bound(removed_.begin(), removed_.end(), begin,
                         [](const ByteRange& range, std::size_t b) { return range.begin < b; });
    for (; r != removed_.end() && r->end <= end; ++r) {
      out.append(text_, at, r->begin - at);
      at = r->end;
    }
    out.append(text_, at, end - at);
    return out;
  }

  void write_steps() {
    for (const Item& item : items_) {
      if (item.role != Role::statement) {
        remove(item.bytes, "transaction control of the tool's file; dbmig owns transactions");
      }
    }
    std::sort(removed_.begin(), removed_.end(),
              [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
    std::vector<Unit> units;
    for (const Unit& unit : units_) {
      if (unit.has_statement) units.push_back(unit);
    }
    const bool several = units.size() > 1;
    std::size_t begin = 0;
    for (std::size_t k = 0; k < std::max<std::size_t>(units.size(), 1); ++k) {
      const bool last = k + 1 >= units.size();
      const std::size_t end = last ? m_.up.end : cut_after(items_[units[k].last_item].bytes.end);
      ConvertedStep step;
      const bool danger = !units.empty() && units[k].kind == Unit::Kind::non_transactional;
      step.file_name = "up" + (several ? std::to_string(k + 1) : std::string()) +
                       (danger ? "-danger-non-transactional" : "") + ".sql";
      step.text = bytes_without_removals(begin, end);
      if (!units.empty()) step.ddl_count = ddl_count(units[k]);
      if (k > 0) {
        const Position at = lines_.at(items_[units[k].first_item].bytes.begin);
        out_.edits.push_back({Edit::Kind::split, m_.file, at.line, at.column,
                              "step " + step.file_name + " starts here", units[k].reason});
      }
      out_.steps.push_back(std::move(step));
      begin = end;
    }
    ConvertedStep& first = out_.steps.front();
    if (units.empty() && first.text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
      first.text += "-- imported by dbmig: " + m_.file + " holds no statement\n";
      out_.edits.push_back({Edit::Kind::added, m_.file, 1, 1, "a comment line",
                            "a dbmig step of whitespace only is an error"});
    }
  }

  int ddl_count(const Unit& unit) const {
    int count = 0;
    for (std::size_t i = unit.first_item; i <= unit.last_item; ++i) {
      if (items_[i].role == Role::statement &&
          items_[i].classification.kind == sql::StatementKind::ddl) {
        ++count;
      }
    }
    return count;
  }

  const SourceMigration& m_;
  const std::string& text_;
  const std::string& src_root_;
  LineIndex lines_;
  std::vector<sql::Statement> statements_;
  std::vector<Item> items_;
  std::vector<Unit> units_;
  std::optional<Unit> open_;
  bool split_each_statement_ = false;
  std::vector<ByteRange> removed_;
  ConvertedVersion out_;
};

}  // namespace

std::string_view to_string(Edit::Kind kind) {
  switch (kind) {
    case Edit::Kind::removed: return "removed";
    case Edit::Kind::dropped_down_section: return "dropped down section";
    case Edit::Kind::split: return "split";
    case Edit::Kind::added: return "added";
  }
  return "removed";
}

std::expected<ConvertedVersion, Diagnostic> convert(const SourceMigration& migration,
                                                    const std::string& src_root) {
  return Converter(migration, src_root).run();
}

}  // namespace dbmig::importer
