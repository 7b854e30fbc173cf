// Small, pure text utilities shared by every layer.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace dbmig {

// Lower-case hex SHA-256 of `bytes` (64 characters). Never fails.
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

// Byte offset of the first byte that makes `text` invalid UTF-8 (overlong
// forms, surrogates, code points above U+10FFFF, truncated sequences and NUL
// bytes all count as invalid), or nullopt when the text is valid.
[[nodiscard]] std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// ASCII-only lower-casing (PostgreSQL folds unquoted identifiers this way).
[[nodiscard]] std::string ascii_lower(std::string_view text);

// Reads a whole regular file into a string. Fails with the reason
// (strerror's text, or "not a regular file (FIFO)") when it cannot be opened
// or read, or when what it opened is not a regular file; never blocks on a
// FIFO or device.
// When `identity` is given it receives the file's device and inode, which
// tell two names of one file (hard or symbolic links) apart from two files.
struct FileIdentity {
  unsigned long long device = 0;
  unsigned long long inode = 0;
  friend auto operator<=>(const FileIdentity&, const FileIdentity&) = default;
};
[[nodiscard]] std::expected<std::string, std::string> read_regular_file(
    const std::string& path, FileIdentity* identity = nullptr);

// read_regular_file() without the reason: nullopt when it fails.
[[nodiscard]] std::optional<std::string> read_file(const std::string& path);

// "regular file", "directory", "FIFO", "character device", ... for a
// st_mode value.
[[nodiscard]] std::string_view file_type_name(unsigned mode);

}  // namespace dbmig
