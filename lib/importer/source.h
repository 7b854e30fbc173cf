// Reading another tool's migration tree (docs/import.md): which files are
// migrations, in which order the tool runs them, how it runs each file
// (inside a transaction, as one message, or statement by statement), and
// where each file's up section and section markers are. One reader per
// format; everything the tool does that dbmig cannot reproduce is refused.
#pragma once

#include <cstddef>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace dbmig::importer {

enum class Format { diesel, golang_migrate, dbmate, prisma, flyway, goose };

// "diesel", "golang-migrate", "dbmate", "prisma", "flyway", "goose".
[[nodiscard]] std::string_view to_string(Format format);
// The format named `name` (as to_string spells it); nullopt for any other.
[[nodiscard]] std::optional<Format> parse_format(std::string_view name);

// How the tool sends a migration file to PostgreSQL.
enum class RunMode {
  transaction,     // wrapped in BEGIN ... COMMIT by the tool
  one_message,     // the whole file in one simple-protocol message (an implicit transaction)
  each_statement,  // outside any transaction: each statement commits on its own
};

// A byte range [begin, end) of a file.
struct ByteRange {
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct SourceMigration {
  std::string version;             // as the tool's history table records it
  std::string name;                // the dbmig version directory to write
  std::string file;                // the up file, relative to SRC, '/'-separated
  std::string text;                // the up file's bytes
  ByteRange up;                    // the up section within `text`
  std::vector<ByteRange> markers;  // section-marker comments inside `up`, to remove
  RunMode mode = RunMode::transaction;
  std::string mode_reason;  // e.g. "-- +goose NO TRANSACTION", for the report
};

// The migrations of the tree at `src` in the order the tool applies them.
// Fails with one Diagnostic per file it must refuse or cannot read (every
// one in one run), each naming the file and, where there is one, the line.
[[nodiscard]] std::expected<std::vector<SourceMigration>, std::vector<Diagnostic>> read_source(
    Format format, const std::filesystem::path& src);

}  // namespace dbmig::importer
