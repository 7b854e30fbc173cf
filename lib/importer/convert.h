// Turning one migration of another tool into one dbmig version: its up
// section, verbatim except the tool's transaction-control statements and
// section markers, cut into steps where atomicity or a concurrent build
// requires it. Pure: strings in, strings out.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "importer/source.h"

namespace dbmig::importer {

// One change to the tool's bytes, for the report.
struct Edit {
  enum class Kind { removed, dropped_down_section, split, added };
  Kind kind = Kind::removed;
  std::string file;  // relative to SRC
  int line = 0;      // 1-based position in the source file
  int column = 0;
  std::string text;    // the bytes removed (for `removed`), or what was done
  std::string reason;  // why
};

[[nodiscard]] std::string_view to_string(Edit::Kind kind);

struct ConvertedStep {
  std::string file_name;  // "up.sql", "up2.sql", "up1-danger-non-transactional.sql"
  std::string text;
  int ddl_count = 0;
};

struct ConvertedVersion {
  std::string tool_version;
  std::string name;    // dbmig version directory
  std::string source;  // the tool's file, relative to SRC
  std::string mode;    // how the tool ran it (SourceMigration::mode_reason)
  std::vector<ConvertedStep> steps;
  std::vector<Edit> edits;
};

// Converts `migration`. Fails naming the position of what cannot be
// converted: ROLLBACK, SAVEPOINT and other transaction control than
// BEGIN/START TRANSACTION/COMMIT/END, nested or unclosed blocks, a statement
// that cannot run in a transaction block inside a BEGIN ... COMMIT block,
// a lexical error.
[[nodiscard]] std::expected<ConvertedVersion, Diagnostic> convert(const SourceMigration& migration,
                                                                  const std::string& src_root);

}  // namespace dbmig::importer
