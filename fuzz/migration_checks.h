// Invariants shared by the fuzz targets that read a migration directory.
#pragma once

#include <filesystem>
#include <string_view>

namespace dbmig::fuzz {

// A fresh, empty directory for one input: created under the system temp
// directory on the first call (one per process), emptied on every call.
[[nodiscard]] const std::filesystem::path& fresh_tree_root();

// Writes `content` to `root / relative`, creating parent directories; does
// nothing when a parent is a file or the path is a directory.
void write_tree_file(const std::filesystem::path& root, const std::filesystem::path& relative,
                     std::string_view content);

// Runs load_directory() and build_plan() on `root` and aborts when an
// invariant breaks: every Diagnostic has a message and names the root or an
// existing path under it, its line/column are >= 0 and, when set, inside
// that file's text; failure implies an error; a plan's steps carry the
// file's bytes and their SHA-256; check_verify_files() names paths under root.
void check_migration_tree(const std::filesystem::path& root);

}  // namespace dbmig::fuzz
