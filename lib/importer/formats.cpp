// The six readers of read_source(). Each fact about a tool (file names,
// order, how a file is run, markers) is cited in docs/import.md.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/text.h"
#include "importer/source.h"
#include "sql/classify.h"
#include "sql/scanner.h"
#include "sql/splitter.h"

namespace dbmig::importer {
namespace {

namespace fs = std::filesystem;
using Diagnostics = std::vector<Diagnostic>;

struct FormatName {
  Format format;
  std::string_view name;
};
constexpr FormatName kFormatNames[] = {
    {Format::diesel, "diesel"}, {Format::golang_migrate, "golang-migrate"},
    {Format::dbmate, "dbmate"}, {Format::prisma, "prisma"},
    {Format::flyway, "flyway"}, {Format::goose, "goose"},
};

Diagnostic problem(const fs::path& file, std::string message, std::string hint, int line = 0) {
  return {.severity = Severity::error,
          .file = file.string(),
          .line = line,
          .column = line > 0 ? 1 : 0,
          .message = std::move(message),
          .hint = std::move(hint)};
}

int line_of(std::string_view text, std::size_t offset) {
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

std::optional<std::string> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Regular files (or directories) directly in `dir`, by name, byte order.
std::vector<std::string> entries(const fs::path& dir, bool directories) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (directories ? entry.is_directory() : entry.is_regular_file()) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The digits before the first '_' of `name`, or "" when it does not start so.
std::string digit_prefix(std::string_view name) {
  const std::size_t sep = name.find('_');
  if (sep == std::string_view::npos || !all_digits(name.substr(0, sep))) return "";
  return std::string(name.substr(0, sep));
}

// "0042" -> "42": how a tool storing versions as integers records them.
std::string without_leading_zeros(std::string digits) {
  const std::size_t first = digits.find_first_not_of('0');
  return first == std::string::npos ? "0" : digits.substr(first);
}

// Compares decimal digit strings as numbers (any length).
bool numerically_less(const std::string& a, const std::string& b) {
  const std::string x = without_leading_zeros(a);
  const std::string y = without_leading_zeros(b);
  return x.size() != y.size() ? x.size() < y.size() : x < y;
}

// `key = value` lines of a TOML or Java-properties file (the only shape
// diesel's metadata.toml, Prisma's migration_lock.toml and Flyway's script
// configuration use): comments (#) and [sections] are skipped, quotes removed.
std::map<std::string, std::string> key_values(std::string_view text) {
  std::map<std::string, std::string> values;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos || line.find('#') < eq) continue;
    auto trim = [](std::string s) {
      const auto first = s.find_first_not_of(" \t\r");
      if (first == std::string::npos) return std::string();
      s = s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
      if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
        s = s.substr(1, s.size() - 2);
      }
      return s;
    };
    std::string value = line.substr(eq + 1);
    if (const std::size_t hash = value.find(" #"); hash != std::string::npos) value.resize(hash);
    values[trim(line.substr(0, eq))] = trim(value);
  }
  return values;
}

// A `--` comment at the start of a line, as the lexer sees it (a marker
// inside a string or dollar quote is no marker).
struct LineComment {
  ByteRange range;
  std::string text;  // the comment's bytes
};

std::expected<std::vector<LineComment>, Diagnostic> line_comments(const fs::path& file,
                                                                  std::string_view text) {
  auto tokens = sql::scan(text);
  if (!tokens) {
    return std::unexpected(problem(file, "cannot read the SQL: " + tokens.error().message, "",
                                   line_of(text, tokens.error().offset)));
  }
  std::vector<LineComment> comments;
  for (const sql::Token& token : *tokens) {
    if (token.kind != sql::TokenKind::comment || !token.text(text).starts_with("--")) continue;
    if (token.begin > 0 && text[token.begin - 1] != '\n') continue;
    comments.push_back({{token.begin, token.end}, std::string(token.text(text))});
  }
  return comments;
}

// A migration that is the whole file.
SourceMigration whole_file(std::string version, std::string name, std::string file,
                           std::string text, RunMode mode, std::string reason) {
  SourceMigration m{.version = std::move(version),
                    .name = std::move(name),
                    .file = std::move(file),
                    .text = std::move(text),
                    .up = {},
                    .markers = {},
                    .mode = mode,
                    .mode_reason = std::move(reason)};
  m.up = {0, m.text.size()};
  return m;
}

std::string relative_to(const fs::path& path, const fs::path& src) {
  return path.lexically_relative(src).generic_string();
}

// ---- golang-migrate: {version}_{title}.up.{extension}, numeric order -------

// x-multi-statement is a database-URL option, invisible in the migration
// files; a file of SRC that sets it (an .env, a Makefile) is refused, naming
// the line. Best effort: a URL kept elsewhere cannot be seen.
void refuse_multi_statement(const fs::path& src, const std::string& name, Diagnostics& problems) {
  auto text = read_bytes(src / name);
  if (!text) return;
  const std::size_t at = text->find("x-multi-statement=true");
  if (at == std::string::npos) return;
  problems.push_back(problem(src / name,
                             "golang-migrate x-multi-statement cannot be converted: it splits "
                             "files at every ';' and runs each part on its own",
                             "import the tree as golang-migrate runs it by default, without "
                             "x-multi-statement",
                             line_of(*text, at)));
}

void read_golang_migrate(const fs::path& src, std::vector<SourceMigration>& out,
                         Diagnostics& problems) {
  std::map<std::string, std::string> seen;  // version -> file
  for (const std::string& name : entries(src, false)) {
    refuse_multi_statement(src, name, problems);
    const std::string version = digit_prefix(name);
    const std::size_t up = name.rfind(".up.");
    if (version.empty() || up == std::string::npos || up <= version.size()) continue;
    const std::string recorded = without_leading_zeros(version);
    if (version.size() > 20 || (version.size() == 20 && recorded > "18446744073709551615")) {
      problems.push_back(problem(src / name, "version " + version + " does not fit in 64 bits",
                                 "golang-migrate reads versions as unsigned 64-bit integers"));
      continue;
    }
    if (auto [it, fresh] = seen.emplace(recorded, name); !fresh) {
      problems.push_back(problem(src / name, "version " + recorded + " is also " + it->second,
                                 "golang-migrate refuses duplicate versions; renumber one"));
      continue;
    }
    auto text = read_bytes(src / name);
    if (!text) {
      problems.push_back(problem(src / name, "cannot read the file", ""));
      continue;
    }
    out.push_back(whole_file(recorded, name.substr(0, up), name, std::move(*text),
                             RunMode::one_message, "golang-migrate sends the file as one message"));
  }
  std::stable_sort(out.begin(), out.end(), [](const SourceMigration& a, const SourceMigration& b) {
    return numerically_less(a.version, b.version);
  });
}

// ---- dbmate: <version>_<name>.sql, file-name order, -- migrate:up/down -----

// The up section between `up_marker` and the next marker of `is_marker`.
// Fails when the file has no up marker or statements before it.
std::expected<SourceMigration, Diagnostic> sectioned(
    const fs::path& path, SourceMigration m, const std::vector<LineComment>& comments,
    const std::function<bool(std::string_view)>& is_up,
    const std::function<bool(std::string_view)>& is_down, std::string_view marker_name) {
  const LineComment* up = nullptr;
  const LineComment* down = nullptr;
  for (const LineComment& comment : comments) {
    if (up == nullptr && is_up(comment.text)) up = &comment;
    if (up != nullptr && down == nullptr && &comment != up && is_down(comment.text)) {
      down = &comment;
    }
  }
  if (up == nullptr) {
    return std::unexpected(problem(path, "no " + std::string(marker_name) + " marker",
                                   "the tool itself refuses such a file"));
  }
  m.up = {0, down != nullptr ? down->range.begin : m.text.size()};
  m.markers.push_back(up->range);
  return m;
}

std::string lower(std::string_view text) { return ascii_lower(text); }

void read_dbmate(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  for (const std::string& name : entries(src, false)) {
    const std::string version = digit_prefix(name);
    if (version.empty() || !name.ends_with(".sql")) continue;
    auto text = read_bytes(src / name);
    if (!text) {
      problems.push_back(problem(src / name, "cannot read the file", ""));
      continue;
    }
    auto comments = line_comments(src / name, *text);
    if (!comments) {
      problems.push_back(comments.error());
      continue;
    }
    auto marker_words = [](std::string_view comment, std::string_view word) {
      std::string_view rest = comment.substr(2);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      return rest.starts_with(word);
    };
    auto migration = sectioned(
        src / name,
        whole_file(version, name.substr(0, name.size() - 4), name, std::move(*text),
                   RunMode::transaction, "dbmate wraps each migration in a transaction"),
        *comments, [&](std::string_view c) { return marker_words(c, "migrate:up"); },
        [&](std::string_view c) { return marker_words(c, "migrate:down"); }, "-- migrate:up");
    if (!migration) {
      problems.push_back(migration.error());
      continue;
    }
    const std::string up_marker = migration->text.substr(
        migration->markers[0].begin, migration->markers[0].end - migration->markers[0].begin);
    if (up_marker.find("transaction:false") != std::string::npos) {
      migration->mode = RunMode::one_message;
      migration->mode_reason = "-- migrate:up transaction:false (one message, no BEGIN)";
    }
    out.push_back(std::move(*migration));
  }
}

// ---- goose: <version>_<name>.sql, numeric order, -- +goose Up/Down ---------

std::string goose_annotation(std::string_view comment) {
  const std::string folded = lower(comment);
  if (!folded.starts_with("-- +goose ")) return "";
  std::string rest = folded.substr(10);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r')) {
    rest.pop_back();
  }
  return rest;
}

void read_goose(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  std::map<std::string, std::string> seen;
  for (const std::string& name : entries(src, false)) {
    const std::string version = digit_prefix(name);
    if (version.empty()) continue;
    if (name.ends_with(".go")) {
      problems.push_back(problem(src / name, "goose Go migration cannot be converted",
                                 "rewrite it as a .sql migration, or apply it by other means"));
      continue;
    }
    if (!name.ends_with(".sql")) continue;
    const std::string recorded = without_leading_zeros(version);
    if (auto [it, fresh] = seen.emplace(recorded, name); !fresh) {
      problems.push_back(problem(src / name, "version " + recorded + " is also " + it->second,
                                 "goose refuses duplicate versions; renumber one"));
      continue;
    }
    auto text = read_bytes(src / name);
    if (!text) {
      problems.push_back(problem(src / name, "cannot read the file", ""));
      continue;
    }
    auto comments = line_comments(src / name, *text);
    if (!comments) {
      problems.push_back(comments.error());
      continue;
    }
    bool no_transaction = false;
    bool refused = false;
    for (const LineComment& comment : *comments) {
      const std::string annotation = goose_annotation(comment.text);
      if (annotation == "no transaction") no_transaction = true;
      if (annotation == "envsub on") {
        problems.push_back(problem(src / name,
                                   "-- +goose ENVSUB ON (environment substitution) cannot be "
                                   "converted",
                                   "substitute the values into the file first",
                                   line_of(*text, comment.range.begin)));
        refused = true;
      }
    }
    if (refused) continue;
    auto migration = sectioned(
        src / name,
        whole_file(recorded, name.substr(0, name.size() - 4), name, std::move(*text),
                   no_transaction ? RunMode::each_statement : RunMode::transaction,
                   no_transaction ? "-- +goose NO TRANSACTION"
                                  : "goose runs each migration in a transaction"),
        *comments, [](std::string_view c) { return goose_annotation(c) == "up"; },
        [](std::string_view c) { return goose_annotation(c) == "down"; }, "-- +goose Up");
    if (!migration) {
      problems.push_back(migration.error());
      continue;
    }
    out.push_back(std::move(*migration));
  }
  std::stable_sort(out.begin(), out.end(), [](const SourceMigration& a, const SourceMigration& b) {
    return numerically_less(a.version, b.version);
  });
}

// ---- prisma: <name>/migration.sql, directory names in byte order -----------

void read_prisma(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  if (auto lock = read_bytes(src / "migration_lock.toml")) {
    const std::string provider = key_values(*lock)["provider"];
    if (provider != "postgresql" && provider != "postgres") {
      problems.push_back(problem(src / "migration_lock.toml",
                                 "provider \"" + provider + "\" is not PostgreSQL",
                                 "dbmig imports Prisma migrations for PostgreSQL only"));
      return;
    }
  }
  for (const std::string& name : entries(src, true)) {
    const fs::path file = src / name / "migration.sql";
    if (!fs::is_regular_file(file)) continue;
    auto text = read_bytes(file);
    if (!text) {
      problems.push_back(problem(file, "cannot read the file", ""));
      continue;
    }
    out.push_back(whole_file(name, name, name + "/migration.sql", std::move(*text),
                             RunMode::one_message, "Prisma sends the script as one message"));
  }
}

// ---- diesel: <version>_<name>/up.sql, version order ------------------------

void read_diesel(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  std::map<std::string, std::string> seen;
  for (const std::string& name : entries(src, true)) {
    const fs::path file = src / name / "up.sql";
    if (!fs::is_regular_file(file)) continue;
    std::string version = name.substr(0, name.find('_'));
    std::erase(version, '-');
    if (auto [it, fresh] = seen.emplace(version, name); !fresh) {
      problems.push_back(problem(src / name, "version " + version + " is also " + it->second,
                                 "diesel records one row per version; rename one"));
      continue;
    }
    auto text = read_bytes(file);
    if (!text) {
      problems.push_back(problem(file, "cannot read the file", ""));
      continue;
    }
    RunMode mode = RunMode::transaction;
    std::string reason = "diesel runs each migration in a transaction";
    if (auto metadata = read_bytes(src / name / "metadata.toml")) {
      if (key_values(*metadata)["run_in_transaction"] == "false") {
        mode = RunMode::one_message;
        reason = "metadata.toml run_in_transaction = false (one message, no BEGIN)";
      }
    }
    out.push_back(whole_file(version, name, name + "/up.sql", std::move(*text), mode, reason));
  }
  std::stable_sort(out.begin(), out.end(), [](const SourceMigration& a, const SourceMigration& b) {
    return a.version < b.version;
  });
}

// ---- flyway: V<version>__<description>.sql, version parts in order ---------

// "1.2_3" -> {1, 2, 3} as digit strings; nullopt when not a Flyway version.
std::optional<std::vector<std::string>> flyway_version_parts(std::string_view version) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : version) {
    if (c == '.' || c == '_') {
      if (part.empty()) return std::nullopt;
      parts.push_back(without_leading_zeros(part));
      part.clear();
    } else if (c >= '0' && c <= '9') {
      part += c;
    } else {
      return std::nullopt;
    }
  }
  if (part.empty()) return std::nullopt;
  parts.push_back(without_leading_zeros(part));
  while (parts.size() > 1 && parts.back() == "0") parts.pop_back();  // 1.0 is 1
  return parts;
}

bool flyway_less(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), numerically_less);
}

bool is_flyway_callback(std::string_view name) {
  for (std::string_view event : {"before", "after"}) {
    if (name.starts_with(event) && name.size() > event.size() &&
        std::isupper(static_cast<unsigned char>(name[event.size()])) != 0) {
      return true;
    }
  }
  return false;
}

// Flyway replaces ${name} everywhere in a script except comments: the line
// of the first `${` outside a comment.
std::optional<int> placeholder_line(std::string_view text) {
  auto tokens = sql::scan(text);
  std::size_t token = 0;  // occurrences ascend, so the token walk is one pass
  for (std::size_t at = text.find("${"); at != std::string_view::npos;
       at = text.find("${", at + 2)) {
    bool in_comment = false;
    if (tokens) {
      while (token < tokens->size() && (*tokens)[token].end <= at) ++token;
      in_comment = token < tokens->size() && (*tokens)[token].begin <= at &&
                   (*tokens)[token].kind == sql::TokenKind::comment;
    }
    if (!in_comment) return line_of(text, at);
  }
  return std::nullopt;
}

// True when a statement of `text` cannot run in a transaction block.
bool has_non_transactional_statement(std::string_view text) {
  auto statements = sql::split_statements(text);
  if (!statements) return false;
  return std::any_of(statements->begin(), statements->end(), [&](const sql::Statement& s) {
    return sql::classify_statement(s, text, sql::Dialect::postgres).non_transactional;
  });
}

void read_flyway(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems) {
  std::vector<std::pair<std::vector<std::string>, SourceMigration>> found;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(src)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".sql")) continue;
    if (name.starts_with("R__")) {
      problems.push_back(problem(entry.path(), "Flyway repeatable migration cannot be converted",
                                 "dbmig has no repeatable migrations; apply it by other means"));
      continue;
    }
    if (is_flyway_callback(name)) {
      problems.push_back(problem(entry.path(), "Flyway callback cannot be converted",
                                 "dbmig runs no callbacks; apply it by other means"));
      continue;
    }
    const std::size_t separator = name.find("__");
    if (!name.starts_with("V") || separator == std::string::npos) continue;
    auto parts = flyway_version_parts(std::string_view(name).substr(1, separator - 1));
    if (!parts) {
      problems.push_back(problem(entry.path(), "not a Flyway version: " + name.substr(0, separator),
                                 "versions are numbers separated by '.' or '_'"));
      continue;
    }
    auto text = read_bytes(entry.path());
    if (!text) {
      problems.push_back(problem(entry.path(), "cannot read the file", ""));
      continue;
    }
    if (auto line = placeholder_line(*text)) {
      problems.push_back(problem(entry.path(), "Flyway placeholder ${...} cannot be converted",
                                 "replace the placeholder with its value first", *line));
      continue;
    }
    std::string version;
    for (const std::string& part : *parts) version += (version.empty() ? "" : ".") + part;
    RunMode mode = RunMode::transaction;
    std::string reason = "Flyway runs each migration in a transaction (executeInTransaction)";
    if (auto conf = read_bytes(entry.path().string() + ".conf")) {
      if (key_values(*conf)["executeInTransaction"] == "false") {
        mode = RunMode::each_statement;
        reason = name + ".conf executeInTransaction=false";
      }
    }
    if (mode == RunMode::transaction && has_non_transactional_statement(*text)) {
      mode = RunMode::each_statement;
      reason = "Flyway runs a migration holding a concurrent build outside a transaction";
    }
    found.emplace_back(
        *parts, whole_file(version, name.substr(0, name.size() - 4), relative_to(entry.path(), src),
                           std::move(*text), mode, reason));
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return flyway_less(a.first, b.first); });
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (i > 0 && found[i].first == found[i - 1].first) {
      problems.push_back(
          problem(src / found[i].second.file,
                  "version " + found[i].second.version + " is also " + found[i - 1].second.file,
                  "Flyway refuses duplicate versions (1.0 is 1); renumber one"));
      continue;
    }
    out.push_back(std::move(found[i].second));
  }
}

}  // namespace

std::string_view to_string(Format format) {
  for (const FormatName& entry : kFormatNames) {
    if (entry.format == format) return entry.name;
  }
  return "";
}

std::optional<Format> parse_format(std::string_view name) {
  for (const FormatName& entry : kFormatNames) {
    if (entry.name == name) return entry.format;
  }
  return std::nullopt;
}

std::expected<std::vector<SourceMigration>, std::vector<Diagnostic>> read_source(
    Format format, const std::filesystem::path& src) {
  std::vector<SourceMigration> migrations;
  Diagnostics problems;
  if (!fs::is_directory(src)) {
    return std::unexpected(
        Diagnostics{problem(src, "not a directory", "give the tool's migrations directory")});
  }
  switch (format) {
    case Format::diesel: read_diesel(src, migrations, problems); break;
    case Format::golang_migrate: read_golang_migrate(src, migrations, problems); break;
    case Format::dbmate: read_dbmate(src, migrations, problems); break;
    case Format::prisma: read_prisma(src, migrations, problems); break;
    case Format::flyway: read_flyway(src, migrations, problems); break;
    case Format::goose: read_goose(src, migrations, problems); break;
  }
  if (!problems.empty()) return std::unexpected(std::move(problems));
  if (migrations.empty()) {
    return std::unexpected(
        Diagnostics{problem(src, "no " + std::string(to_string(format)) + " migration found",
                            "check --from and the directory")});
  }
  return migrations;
}

}  // namespace dbmig::importer
