// read_source() and what its readers share. Each fact about a tool (file
// names, order, how a file is run, markers) is cited in docs/import.md.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "importer/formats_detail.h"
#include "importer/source.h"
#include "sql/scanner.h"

namespace dbmig::importer {
namespace formats_detail {

Diagnostic problem(const fs::path& file, std::string message, std::string hint, int line) {
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
std::string without_leading_zeros(const std::string& digits) {
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

}  // namespace formats_detail

namespace {

using namespace formats_detail;

struct FormatName {
  Format format;
  std::string_view name;
};
constexpr FormatName kFormatNames[] = {
    {Format::diesel, "diesel"}, {Format::golang_migrate, "golang-migrate"},
    {Format::dbmate, "dbmate"}, {Format::prisma, "prisma"},
    {Format::flyway, "flyway"}, {Format::goose, "goose"},
};

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