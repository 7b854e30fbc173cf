// The pieces redact.cpp, redact_conninfo.cpp and redact_sql.cpp share:
// the forms a secret may take in a message and the conninfo reader that
// statements use for connection strings inside their literals. Internal to
// lib/db; the interface is redact.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dbmig::db::redact_detail {

// Which keys hold secrets. In a connection string dbmig was given, any key
// libpq does not know may be a mistyped password (or a stray quote); in a
// statement's literal, which may be any text, only the password keys.
enum class SecretKeys { unknown_too, password_only };

// True for an ASCII whitespace byte (std::isspace in the C locale).
[[nodiscard]] bool is_space(char c);
// True for a byte that may be part of a word: ASCII letter, digit, '_' or non-ASCII.
[[nodiscard]] bool is_word_char(char c);
// `text` ASCII lower-cased.
[[nodiscard]] std::string lower(std::string_view text);
// True for a libpq keyword whose value is not secret (shown as written).
[[nodiscard]] bool is_public_key(std::string_view key);
// True for a key whose value is, or may have been meant as, a secret:
// password and sslpassword, and (`unknown_too`) any key libpq does not know.
[[nodiscard]] bool is_secret_key(std::string_view key, SecretKeys rule = SecretKeys::unknown_too);
// `text` with %XX decoded where XX is hex; anything else kept as written.
[[nodiscard]] std::string percent_decoded(std::string_view text);
// `text` with every occurrence of `secret` replaced by kSecretMask (a short
// secret only where it stands alone, not inside a word).
[[nodiscard]] std::string masked(std::string text, std::string_view secret);
// Adds every form in which `secret` may appear in a message or statement
// (as written, percent-decoded, unescaped, with quotes doubled) to `secrets`.
void add_forms(std::vector<std::string>& secrets, std::string_view secret);
// Adds the pieces of a password written with raw URL delimiters in it, which
// libpq cuts there and may quote one by one (pieces of 3 bytes or more).
void add_pieces(std::vector<std::string>& secrets, std::string_view password);
// False only when `text` holds neither `password` (any case) nor `://`: it
// then holds no secret dbmig can find, and need not be scanned.
[[nodiscard]] bool looks_like_connection_string(std::string_view text);

// The length of a leading postgresql:// or postgres:// scheme, else 0.
[[nodiscard]] std::size_t scheme_length(std::string_view text);
// The secrets of a URL or key=value conninfo (leading spaces skipped), each
// in the forms of add_forms; `rule` says which keys hold secrets. Never fails.
[[nodiscard]] std::vector<std::string> secrets_of(std::string_view conninfo, SecretKeys rule);

}  // namespace dbmig::db::redact_detail
