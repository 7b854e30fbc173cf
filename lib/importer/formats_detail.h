// The pieces the readers of read_source() share (formats.cpp), and the
// readers, one file per tool family: formats_sectioned.cpp (golang-migrate,
// dbmate, goose: one file per version), formats_directories.cpp (prisma,
// diesel: one directory per version) and formats_flyway.cpp. Each reader
// appends the tree's migrations to `out` in the tool's order and every file
// it must refuse to `problems`. Internal to lib/importer.
#pragma once

#include <cstddef>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "importer/source.h"

namespace dbmig::importer::formats_detail {

namespace fs = std::filesystem;
using Diagnostics = std::vector<Diagnostic>;

// An error about `file` (at `line`, column 1, when line > 0).
[[nodiscard]] Diagnostic problem(const fs::path& file, std::string message, std::string hint,
                                 int line = 0);
// The 1-based line of byte `offset` of `text`.
[[nodiscard]] int line_of(std::string_view text, std::size_t offset);
// The bytes of the file at `path`; nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> read_bytes(const fs::path& path);
// Regular files (or, with `directories`, directories) directly in `dir`, by name, byte order.
[[nodiscard]] std::vector<std::string> entries(const fs::path& dir, bool directories);
// True when `text` is one or more ASCII digits.
[[nodiscard]] bool all_digits(std::string_view text);
// The digits before the first '_' of `name`, or "" when it does not start so.
[[nodiscard]] std::string digit_prefix(std::string_view name);
// "0042" -> "42" ("000" -> "0"): how a tool storing versions as integers records them.
[[nodiscard]] std::string without_leading_zeros(const std::string& digits);
// Compares decimal digit strings as numbers (any length).
[[nodiscard]] bool numerically_less(const std::string& a, const std::string& b);
// `key = value` lines of a TOML or Java-properties file (the only shape
// diesel's metadata.toml, Prisma's migration_lock.toml and Flyway's script
// configuration use): comments (#) and [sections] are skipped, quotes removed.
[[nodiscard]] std::map<std::string, std::string> key_values(std::string_view text);

// A `--` comment at the start of a line, as the lexer sees it (a marker
// inside a string or dollar quote is no marker).
struct LineComment {
  ByteRange range;
  std::string text;  // the comment's bytes
};
// The line comments of `text` (the file `file`); fails, naming the line,
// when the text cannot be scanned.
[[nodiscard]] std::expected<std::vector<LineComment>, Diagnostic> line_comments(
    const fs::path& file, std::string_view text);
// A migration that is the whole file.
[[nodiscard]] SourceMigration whole_file(std::string version, std::string name, std::string file,
                                         std::string text, RunMode mode, std::string reason);
// `path` relative to `src`, '/'-separated.
[[nodiscard]] std::string relative_to(const fs::path& path, const fs::path& src);

// golang-migrate: {version}_{title}.up.{extension}, numeric order.
void read_golang_migrate(const fs::path& src, std::vector<SourceMigration>& out,
                         Diagnostics& problems);
// dbmate: <version>_<name>.sql, file-name order, -- migrate:up/down.
void read_dbmate(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems);
// goose: <version>_<name>.sql, numeric order, -- +goose Up/Down.
void read_goose(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems);
// prisma: <name>/migration.sql, directory names in byte order.
void read_prisma(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems);
// diesel: <version>_<name>/up.sql, version order.
void read_diesel(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems);
// flyway: V<version>__<description>.sql, version parts in order.
void read_flyway(const fs::path& src, std::vector<SourceMigration>& out, Diagnostics& problems);

}  // namespace dbmig::importer::formats_detail
