// The migration directory model (docs/contract.md section 2): versions, their step files
// and verify files, and dbmig.json. load_directory() reads names only (no SQL);
// every problem of the directory is reported in one run.
// Files at the top level other than dbmig.json (README, LICENSE, ...) are
// ignored; only directories are versions.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "sql/dialect.h"

namespace dbmig::migration {

// The names the layout gives meaning to: the directory's settings file, and
// the suffix of a step's verify file (<stem>.verify.sql beside <stem>.sql).
inline constexpr std::string_view kSettingsFile = "dbmig.json";
inline constexpr std::string_view kVerifySuffix = ".verify.sql";

// "imported_from": written by `dbmig import` (docs/import.md): the tool the
// tree came from and, for `baseline --from-tool`, each of its versions'
// dbmig version directory.
struct ImportedFrom {
  std::string format;  // "goose", "flyway", ... (as `import --from` names it)
  std::vector<std::pair<std::string, std::string>> versions;  // tool version -> directory
};

struct Settings {
  std::optional<sql::Dialect> dialect;                   // "dialect"
  std::vector<std::string> versions;                     // "versions" (empty: numbered tree)
  std::optional<std::string> multi_ddl_allowed_through;  // "multi_ddl_allowed_through"
  std::optional<ImportedFrom> imported_from;             // "imported_from"
  // "lint": {"allow": {"<version>": ["<rule>", ...]}}: warnings silenced per
  // version (for applied history whose files must not change), in file order.
  std::vector<std::pair<std::string, std::vector<std::string>>> lint_allow;
};

struct StepFile {
  int number = 1;              // 1 for up.sql, N for upN.sql
  std::string file_name;       // "up1.sql", "up-danger-non-transactional.sql"
  std::string stem;            // file name without ".sql"
  std::filesystem::path path;  // full path
  bool marked_non_transactional = false;
  std::optional<std::filesystem::path> verify_path;  // "<stem>.verify.sql" when present
};

struct Version {
  std::string name;                    // directory name, e.g. "0002-email-index"
  std::optional<std::int64_t> number;  // N of "<N>-name"/"<N>_name"; nullopt in listed trees
  std::filesystem::path path;
  std::vector<StepFile> steps;            // ordered by number, contiguous from 1
  bool multi_ddl_allowed = false;         // at or before multi_ddl_allowed_through
  std::vector<std::string> lint_allowed;  // rules dbmig.json "lint.allow" silences here
};

struct MigrationDir {
  std::filesystem::path root;
  Settings settings;
  std::vector<Version> versions;  // oldest first
  // `<stem>.verify.sql` files whose `<stem>.sql` does not exist. Not an error
  // of load_directory: build_plan decides (a dbmig-generated orphan is
  // spurious and generate-verify removes it; any other orphan is an error).
  std::vector<std::filesystem::path> orphan_verify_files;

  // The version named `name` (directory name, or N alone in numbered trees).
  [[nodiscard]] const Version* find_version(std::string_view name) const;
};

// Reads the directory at `root`. Fails with every problem found (bad names,
// gaps, duplicates, orphan verify files, stray .sql files, empty versions,
// bad dbmig.json, including a "lint.allow" naming an unknown version or
// rule, ...), each as a Diagnostic naming the file (and line and
// column for dbmig.json).
[[nodiscard]] std::expected<MigrationDir, std::vector<Diagnostic>> load_directory(
    const std::filesystem::path& root);

}  // namespace dbmig::migration
