// Listing a migration directory (docs/contract.md sections 2 and 8) for load_directory:
// the names in a directory and what each is, with the problems of names
// and file types found on the way.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace dbmig::migration::detail {

// An error about `file` (no line or column).
[[nodiscard]] Diagnostic error_at(const std::filesystem::path& file, std::string message,
                                  std::string hint = {});

// One non-hidden entry of a listed directory. A symbolic link is judged by
// what it points to (`type`), and says that it is a link (`is_symlink`).
struct Entry {
  std::string name;
  bool is_directory = false;
  bool is_regular = false;
  bool is_symlink = false;
  std::filesystem::file_type type = std::filesystem::file_type::unknown;
};

// The non-hidden entries of `dir` (names starting with '.' are ignored),
// sorted by name. An unreadable directory, a name that is not UTF-8 and a
// link that leads nowhere (or loops) is a diagnostic in `out`, and such a
// name no entry. The types come from the listing itself (d_type): only
// symbolic links, and file systems that do not fill d_type in, cost a
// stat. System calls: open, getdents64 until it returns 0, close.
[[nodiscard]] std::vector<Entry> list_entries(const std::filesystem::path& dir,
                                              std::vector<Diagnostic>& out);

// "directory", "FIFO", "character device", ... for what an entry is.
[[nodiscard]] std::string_view type_name(std::filesystem::file_type type);

// The version directory names at the top level of `root`, sorted by name.
// `*.sql` files there are misplaced steps (a diagnostic each); dbmig.json
// and other files are left alone; a version directory that is a symbolic
// link to another version's directory is a diagnostic.
[[nodiscard]] std::vector<std::string> version_dirs(const std::filesystem::path& root,
                                                    std::vector<Diagnostic>& out);

}  // namespace dbmig::migration::detail
