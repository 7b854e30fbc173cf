// The readers of the tools with one file per version and up/down in file
// names or markers: golang-migrate, dbmate and goose (docs/import.md).
#include <algorithm>
#include <functional>

#include "core/text.h"
#include "importer/formats_detail.h"

namespace dbmig::importer::formats_detail {
namespace {

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

std::string goose_annotation(std::string_view comment) {
  const std::string folded = lower(comment);
  if (!folded.starts_with("-- +goose ")) return "";
  std::string rest = folded.substr(10);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r')) {
    rest.pop_back();
  }
  return rest;
}

}  // namespace

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

}  // namespace dbmig::importer::formats_detail
