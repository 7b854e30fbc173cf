// The Flyway reader (docs/import.md): V<version>__<description>.sql
// anywhere under SRC, versions normalised by migration/version_name.h.
#include <algorithm>
#include <cctype>

#include "importer/formats_detail.h"
#include "migration/version_name.h"
#include "sql/classify.h"
#include "sql/scanner.h"
#include "sql/splitter.h"

namespace dbmig::importer::formats_detail {
namespace {

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

}  // namespace

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
    const std::string_view written = std::string_view(name).substr(1, separator - 1);
    if (!migration::is_flyway_version(written)) {
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
    std::vector<std::string> parts = migration::flyway_version_parts(written);
    std::string version = migration::flyway_version_name(parts);
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
    found.emplace_back(std::move(parts),
                       whole_file(version, name.substr(0, name.size() - 4),
                                  relative_to(entry.path(), src), std::move(*text), mode, reason));
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return migration::flyway_version_less(a.first, b.first);
  });
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

}  // namespace dbmig::importer::formats_detail
