// Small, pure text utilities shared by every layer.
#pragma once

#include <cstddef>
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

// Reads a whole file into a string. Returns nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> read_file(const std::string& path);

}  // namespace dbmig
