// Fuzz target: reading a migration directory and building its plan.
//
// The input encodes a small file tree as records `path\0content\0` (the last
// content may lack its NUL). Paths are sanitized into the tree root: only
// the bytes [A-Za-z0-9._-] of each component are kept, empty, `.` and `..`
// components are dropped, at most 3 components deep; a record whose path
// ends in '/' creates a directory. At most 32 records and 8 KiB per file.
// Then load_directory() and build_plan() must hold the invariants of
// migration_checks.h.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "fuzz/migration_checks.h"

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRecords = 32;
constexpr std::size_t kMaxDepth = 3;
constexpr std::size_t kMaxComponent = 64;
constexpr std::size_t kMaxContent = 8192;

bool is_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The sanitized relative path of `raw`; empty when nothing is left.
fs::path sanitize(std::string_view raw) {
  fs::path path;
  std::size_t depth = 0;
  std::string component;
  const auto flush = [&] {
    if (!component.empty() && component != "." && component != ".." && depth < kMaxDepth) {
      path /= component.substr(0, kMaxComponent);
      ++depth;
    }
    component.clear();
  };
  for (const char c : raw) {
    if (c == '/') {
      flush();
    } else if (is_name_byte(c)) {
      component += c;
    }
  }
  flush();
  return path;
}

// Splits off the next NUL-terminated field of `input` (the rest when no NUL).
std::string_view next_field(std::string_view& input) {
  const std::size_t nul = input.find('\0');
  const std::string_view field = input.substr(0, nul);
  input.remove_prefix(nul == std::string_view::npos ? input.size() : nul + 1);
  return field;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const fs::path& root = dbmig::fuzz::fresh_tree_root();
  for (std::size_t record = 0; record < kMaxRecords && !input.empty(); ++record) {
    const std::string_view raw_path = next_field(input);
    const std::string_view content = next_field(input);
    const fs::path relative = sanitize(raw_path);
    if (relative.empty()) continue;
    if (raw_path.ends_with('/')) {
      std::error_code error;
      fs::create_directories(root / relative, error);
    } else {
      dbmig::fuzz::write_tree_file(root, relative, content.substr(0, kMaxContent));
    }
  }
  dbmig::fuzz::check_migration_tree(root);
  return 0;
}
