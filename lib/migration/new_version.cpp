#include "migration/new_version.h"

#include <fstream>
#include <limits>

#include "migration/directory.h"

namespace dbmig::migration {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxNameBytes = 100;

Diagnostic refusal(const fs::path& path, std::string message, std::string hint) {
  return Diagnostic{.severity = Severity::error,
                    .file = path.string(),
                    .line = 0,
                    .column = 0,
                    .message = std::move(message),
                    .hint = std::move(hint)};
}

bool valid_name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string name_problem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > kMaxNameBytes) return "the name is longer than 100 bytes";
  if (name.front() == '-' || name.front() == '.') return "the name starts with '-' or '.'";
  for (const char c : name) {
    if (!valid_name_character(c)) return "the name holds a character other than A-Z a-z 0-9 - _ .";
  }
  return "";
}

// "0007" + "-" of the newest version, or the defaults of an empty tree.
struct Numbering {
  std::int64_t next = 1;
  std::size_t width = 4;
  char separator = '-';
};

Numbering numbering_of(const MigrationDir& dir) {
  Numbering numbering;
  if (dir.versions.empty()) return numbering;
  const Version& newest = dir.versions.back();
  const std::size_t digits = newest.name.find_first_of("-_");
  numbering.width = digits;
  numbering.separator = newest.name[digits];
  numbering.next = *newest.number + 1;
  return numbering;
}

std::string padded(std::int64_t number, std::size_t width) {
  std::string text = std::to_string(number);
  if (text.size() < width) text.insert(0, width - text.size(), '0');
  return text;
}

std::string header(const std::string& version) {
  return "-- " + version +
         ": one step. dbmig runs this file in one transaction (PostgreSQL) and records\n"
         "-- the version once its change is proved complete. A statement that cannot run in a\n"
         "-- transaction (CREATE INDEX CONCURRENTLY) goes in a step of its own: rename this\n"
         "-- file up1.sql and add up2.sql, ... Then run dbmig generate-verify and commit.\n"
         "-- Write the step's SQL below.\n";
}

}  // namespace

std::expected<NewVersion, Diagnostic> create_next_version(const fs::path& root,
                                                          std::string_view name) {
  if (const std::string problem = name_problem(name); !problem.empty()) {
    return std::unexpected(refusal(root, "dbmig new \"" + std::string(name) + "\": " + problem,
                                   "use letters, digits, '-', '_' and '.', e.g. add-user-email"));
  }
  auto dir = load_directory(root);
  if (!dir) return std::unexpected(dir.error().front());
  if (!dir->settings.versions.empty()) {
    return std::unexpected(refusal(
        root / "dbmig.json",
        "this tree is ordered by dbmig.json \"versions\": dbmig new does not edit that list",
        "create the version directory by hand and add its name at the end of \"versions\""));
  }
  if (!dir->versions.empty() &&
      *dir->versions.back().number == std::numeric_limits<std::int64_t>::max()) {
    return std::unexpected(refusal(root, "the next version number does not fit", ""));
  }
  const Numbering numbering = numbering_of(*dir);
  NewVersion created;
  created.name = padded(numbering.next, numbering.width) + numbering.separator + std::string(name);
  const fs::path version_dir = root / created.name;
  std::error_code error;
  if (!fs::create_directory(version_dir, error)) {
    return std::unexpected(refusal(
        version_dir,
        error ? "cannot create the directory: " + error.message() : "the directory already exists",
        ""));
  }
  created.step = version_dir / "up.sql";
  std::ofstream out(created.step, std::ios::binary);
  out << header(created.name);
  out.close();
  if (!out) {
    return std::unexpected(refusal(created.step, "cannot write the file", ""));
  }
  return created;
}

}  // namespace dbmig::migration
