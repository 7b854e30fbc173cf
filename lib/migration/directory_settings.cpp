// Reading dbmig.json (docs/contract.md section 2). nlohmann/json parses it; what it
// cannot say (where a key or value is, whether a key was written twice) is
// found in the text, so that every diagnostic has a line and column.
#include "migration/directory_settings.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "migration/directory_listing.h"
#include "sql/lint_rules.h"

namespace dbmig::migration::detail {
namespace {

namespace fs = std::filesystem;

}  // namespace

using Diagnostics = std::vector<Diagnostic>;

Settings SettingsReader::read(Diagnostics& out) {
  Settings settings;
  nlohmann::json json;
  std::vector<std::string> keys;  // the top-level object's keys, as written
  const auto note_key = [&keys](int depth, nlohmann::json::parse_event_t event,
                                nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
      keys.push_back(parsed.get<std::string>());
    }
    return true;
  };
  try {
    json = nlohmann::json::parse(text_, note_key);
  } catch (const nlohmann::json::parse_error& e) {
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    out.push_back(at_offset(offset, "dbmig.json is not valid JSON: " + short_reason(e.what()),
                            "fix the JSON syntax at this position"));
    return settings;
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond double range (1e999): thrown while parsing, without an offset.
    out.push_back(at_offset(quoted_token_offset(e.what()),
                            "dbmig.json is not valid JSON: " + short_reason(e.what()),
                            "dbmig.json holds no numbers; remove this one"));
    return settings;
  }
  if (!json.is_object()) {
    out.push_back(at_offset(0, "dbmig.json must hold a JSON object",
                            R"(write e.g. {"dialect": "postgres"})"));
    return settings;
  }
  // nlohmann keeps the last of two equal keys; other JSON readers keep the
  // first or fail. The ambiguity is an error (the rest is still read, so
  // that one run reports every problem).
  std::map<std::string, int> seen;
  for (const std::string& key : keys) {
    const int occurrence = ++seen[key];
    if (occurrence == 1) continue;
    out.push_back(at_offset(nth_key_offset(key, occurrence),
                            "duplicate key \"" + key + "\" in dbmig.json",
                            "keep one of them: JSON readers disagree on which one counts"));
  }
  for (const auto& [key, value] : json.items()) read_key(key, value, settings, out);
  return settings;
}

// A diagnostic at the key `key` (its first occurrence in the text).
Diagnostic SettingsReader::at_key(std::string_view key, std::string message,
                                  std::string hint) const {
  return at_offset(key_offset(key), std::move(message), std::move(hint));
}

// A diagnostic at the `occurrence`-th (0-based) string literal `value`
// after key `key`; at the key when it cannot be found.
Diagnostic SettingsReader::at_value(std::string_view key, std::string_view value, int occurrence,
                                    std::string message, std::string hint) const {
  std::size_t pos = key_offset(key);
  const std::string needle = nlohmann::json(std::string(value)).dump();
  for (int i = 0; i <= occurrence; ++i) {
    const std::size_t found = text_.find(needle, pos + 1);
    if (found == std::string::npos) return at_key(key, std::move(message), std::move(hint));
    pos = found;
  }
  return at_offset(pos, std::move(message), std::move(hint));
}

void SettingsReader::read_key(const std::string& key, const nlohmann::json& value,
                              Settings& settings, Diagnostics& out) const {
  if (key == "dialect") {
    read_dialect(value, settings, out);
  } else if (key == "versions") {
    read_versions(value, settings, out);
  } else if (key == "multi_ddl_allowed_through") {
    if (value.is_string()) {
      settings.multi_ddl_allowed_through = value.get<std::string>();
    } else {
      out.push_back(at_key(key, "\"multi_ddl_allowed_through\" must be a string",
                           "give the name of a version directory"));
    }
  } else if (key == "imported_from") {
    read_imported_from(value, settings, out);
  } else if (key == "lint") {
    read_lint(value, settings, out);
  } else {
    out.push_back(at_key(key, "unknown key \"" + key + "\" in dbmig.json",
                         "known keys: dialect, versions, multi_ddl_allowed_through, lint, "
                         "imported_from"));
  }
}

// {"format": "<tool>", "versions": {"<tool version>": "<directory>", ...}}
void SettingsReader::read_imported_from(const nlohmann::json& value, Settings& settings,
                                        Diagnostics& out) const {
  const bool shaped = value.is_object() && value.size() == 2 && value.contains("format") &&
                      value["format"].is_string() && !value["format"].get<std::string>().empty() &&
                      value.contains("versions") && value["versions"].is_object() &&
                      std::all_of(value["versions"].begin(), value["versions"].end(),
                                  [](const nlohmann::json& v) { return v.is_string(); });
  if (!shaped) {
    out.push_back(at_key("imported_from",
                         "\"imported_from\" must be {\"format\": \"<tool>\", \"versions\": "
                         "{\"<tool version>\": \"<directory>\", ...}}",
                         "dbmig import writes it; restore what it wrote"));
    return;
  }
  ImportedFrom imported{value["format"].get<std::string>(), {}};
  for (const auto& [tool_version, directory] : value["versions"].items()) {
    imported.versions.emplace_back(tool_version, directory.get<std::string>());
  }
  settings.imported_from = std::move(imported);
}

// "lint": {"allow": {"<version>": ["<rule>", ...]}}; versions are checked
// once the versions are known (check_lint_allow).
void SettingsReader::read_lint(const nlohmann::json& value, Settings& settings,
                               Diagnostics& out) const {
  constexpr std::string_view kShape = R"(write "lint": {"allow": {"<version>": ["<rule>", ...]}})";
  if (!value.is_object()) {
    out.push_back(at_key("lint", "\"lint\" must be an object", std::string(kShape)));
    return;
  }
  for (const auto& [key, allow] : value.items()) {
    if (key != "allow") {
      out.push_back(at_key(key, "unknown key \"" + key + "\" in \"lint\"", "known keys: allow"));
      continue;
    }
    if (!allow.is_object()) {
      out.push_back(at_key("allow", "\"lint.allow\" must be an object", std::string(kShape)));
      continue;
    }
    for (const auto& [version, rules] : allow.items())
      read_allowed_rules(version, rules, settings, out);
  }
}

void SettingsReader::read_allowed_rules(const std::string& version, const nlohmann::json& rules,
                                        Settings& settings, Diagnostics& out) const {
  const bool strings =
      rules.is_array() && std::all_of(rules.begin(), rules.end(),
                                      [](const nlohmann::json& r) { return r.is_string(); });
  if (!strings) {
    out.push_back(at_key(version,
                         "\"lint.allow\" of \"" + version + "\" must be an array of rule names",
                         "list rule ids from docs/lint.md, e.g. [\"renaming-column\"]"));
    return;
  }
  std::vector<std::string> names;
  for (const auto& rule : rules) {
    const std::string name = rule.get<std::string>();
    if (sql::is_known_rule(name)) {
      names.push_back(name);
      continue;
    }
    out.push_back(at_value(version, name, 0, "unknown lint rule \"" + name + "\" in \"lint.allow\"",
                           "use a rule id from docs/lint.md (dbmig lint prints it in brackets)"));
  }
  settings.lint_allow.emplace_back(version, std::move(names));
}

void SettingsReader::read_dialect(const nlohmann::json& value, Settings& settings,
                                  Diagnostics& out) const {
  const auto dialect =
      value.is_string() ? sql::parse_dialect(value.get<std::string>()) : std::nullopt;
  if (dialect) {
    settings.dialect = dialect;
  } else {
    out.push_back(at_key("dialect", "\"dialect\" must be \"postgres\" or \"cockroach\"",
                         "set \"dialect\": \"postgres\" or \"dialect\": \"cockroach\""));
  }
}

void SettingsReader::read_versions(const nlohmann::json& value, Settings& settings,
                                   Diagnostics& out) const {
  const bool strings =
      value.is_array() && std::all_of(value.begin(), value.end(),
                                      [](const nlohmann::json& v) { return v.is_string(); });
  if (!strings) {
    out.push_back(at_key("versions", "\"versions\" must be an array of strings",
                         "list the version directory names, oldest first"));
    return;
  }
  std::map<std::string, int> seen;
  for (const auto& v : value) {
    auto name = v.get<std::string>();
    if (seen[name]++ > 0) {
      out.push_back(at_value("versions", name, seen[name] - 1,
                             "version \"" + name + "\" is listed more than once in \"versions\"",
                             "list each version directory once"));
      continue;
    }
    settings.versions.push_back(std::move(name));
  }
}

// Offset of the n-th (1-based) `"key"` written as a key (followed by `:`);
// the first occurrence when the text spells it differently (escapes).
std::size_t SettingsReader::nth_key_offset(std::string_view key, int n) const {
  const std::string needle = nlohmann::json(std::string(key)).dump();
  int found = 0;
  for (std::size_t at = text_.find(needle); at != std::string::npos;
       at = text_.find(needle, at + 1)) {
    std::size_t after = at + needle.size();
    while (after < text_.size() && std::isspace(static_cast<unsigned char>(text_[after]))) {
      ++after;
    }
    if (after < text_.size() && text_[after] == ':' && ++found == n) return at;
  }
  return key_offset(key);
}

std::size_t SettingsReader::key_offset(std::string_view key) const {
  const std::string needle = nlohmann::json(std::string(key)).dump();
  const std::size_t found = text_.find(needle);
  return found == std::string::npos ? 0 : found;
}

Diagnostic SettingsReader::at_offset(std::size_t offset, std::string message,
                                     std::string hint) const {
  Diagnostic d = error_at(path_, std::move(message), std::move(hint));
  const TextPosition pos = position_at(text_, offset);
  d.line = pos.line;
  d.column = pos.column;
  return d;
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at
// line 1, column 5: syntax error while parsing ... - <reason>"; keep the
// reason (the position is carried by the Diagnostic). Other exceptions'
// what() is "[json.exception.out_of_range.406] <reason>".
std::string SettingsReader::short_reason(std::string_view what) {
  const std::size_t colon = what.find(": ");
  if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
  const std::size_t bracket = what.find("] ");
  return std::string(bracket == std::string_view::npos ? what : what.substr(bracket + 2));
}

// Offset in the text of the token quoted in nlohmann's what() ("number
// overflow parsing '1e999'"); 0 when it cannot be found.
std::size_t SettingsReader::quoted_token_offset(std::string_view what) const {
  const std::size_t open = what.find('\'');
  const std::size_t close = what.rfind('\'');
  if (open == std::string_view::npos || close <= open + 1) return 0;
  const std::size_t found = text_.find(what.substr(open + 1, close - open - 1));
  return found == std::string::npos ? 0 : found;
}

SettingsReader read_settings_file(const fs::path& root, Settings& settings, Diagnostics& out) {
  const fs::path path = root / kSettingsFile;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return SettingsReader(path, {});
  auto text = read_regular_file(path.string());
  if (!text) {
    out.push_back(error_at(path, "cannot read dbmig.json: " + text.error(),
                           "make dbmig.json a readable regular file holding a JSON object"));
    return SettingsReader(path, {});
  }
  SettingsReader reader(path, std::move(*text));
  settings = reader.read(out);
  return reader;
}

}  // namespace dbmig::migration::detail
