// dbmig.json (docs/contract.md section 2), read for load_directory: the settings, and the
// file's text, so that later checks (a "versions" entry without a
// directory, an unknown version in "lint.allow", ...) point at the line and
// column of what they are about.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "migration/directory.h"

namespace dbmig::migration::detail {

// dbmig.json's path and text; every diagnostic it makes is an error at a
// position in that text.
class SettingsReader {
 public:
  // `text` is the file's content ("" when there is no dbmig.json).
  SettingsReader(std::filesystem::path path, std::string text)
      : path_(std::move(path)), text_(std::move(text)) {}

  // Parses the text into Settings; every problem (invalid JSON, duplicate or
  // unknown keys, values of the wrong shape) goes to `out`, and what is valid
  // is still read, so that one run reports every problem.
  Settings read(std::vector<Diagnostic>& out);

  // A diagnostic at the key `key` (its first occurrence in the text; the
  // start of the file when it is not there).
  [[nodiscard]] Diagnostic at_key(std::string_view key, std::string message,
                                  std::string hint = {}) const;

  // A diagnostic at the `occurrence`-th (0-based) string literal `value`
  // after key `key`; at the key when it cannot be found.
  [[nodiscard]] Diagnostic at_value(std::string_view key, std::string_view value, int occurrence,
                                    std::string message, std::string hint = {}) const;

 private:
  void read_key(const std::string& key, const nlohmann::json& value, Settings& settings,
                std::vector<Diagnostic>& out) const;
  void read_imported_from(const nlohmann::json& value, Settings& settings,
                          std::vector<Diagnostic>& out) const;
  void read_lint(const nlohmann::json& value, Settings& settings,
                 std::vector<Diagnostic>& out) const;
  void read_allowed_rules(const std::string& version, const nlohmann::json& rules,
                          Settings& settings, std::vector<Diagnostic>& out) const;
  void read_dialect(const nlohmann::json& value, Settings& settings,
                    std::vector<Diagnostic>& out) const;
  void read_versions(const nlohmann::json& value, Settings& settings,
                     std::vector<Diagnostic>& out) const;
  [[nodiscard]] std::size_t nth_key_offset(std::string_view key, int n) const;
  [[nodiscard]] std::size_t key_offset(std::string_view key) const;
  [[nodiscard]] Diagnostic at_offset(std::size_t offset, std::string message,
                                     std::string hint) const;
  [[nodiscard]] static std::string short_reason(std::string_view what);
  [[nodiscard]] std::size_t quoted_token_offset(std::string_view what) const;

  std::filesystem::path path_;
  std::string text_;
};

// Reads `root`/dbmig.json into `settings` when it exists (an unreadable or
// non-regular one is a diagnostic in `out`); returns its reader, for
// diagnostics that point into it.
[[nodiscard]] SettingsReader read_settings_file(const std::filesystem::path& root,
                                                Settings& settings, std::vector<Diagnostic>& out);

}  // namespace dbmig::migration::detail
