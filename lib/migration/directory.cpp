// Reading a migration directory (SPEC section 2).
//
// The tree is read by names only, with one directory iteration for the root
// and one per version; nothing stops at the first problem: every problem is
// collected as a Diagnostic and returned together. Entries are sorted by name
// before they are judged so that diagnostics come out in a stable order.
//
// Decisions where the SPEC is silent:
// - Hidden entries (names starting with '.') are ignored everywhere.
// - At the top level, regular files other than dbmig.json are ignored
//   (README, LICENSE), except `*.sql` files, which are probably misplaced
//   steps and are an error.
// - Inside a version directory, entries that are not `*.sql` files
//   (README.md, notes, subdirectories) are ignored; every `*.sql` file must be
//   a step or a verify file.
// - A numbered version's name must have a non-empty name after the separator
//   (`0001-` alone is an error).
// - A version directory without any step file is "empty", even when it holds
//   ignored files.
#include "migration/directory.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <sys/stat.h>

#include "core/parallel.h"
#include "core/text.h"
#include "sql/lint_rules.h"

namespace dbmig::migration {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSettingsFile = "dbmig.json";
constexpr std::string_view kDangerSuffix = "-danger-non-transactional";
constexpr std::string_view kVerifySuffix = ".verify.sql";
constexpr std::string_view kSqlSuffix = ".sql";
constexpr std::string_view kStepNamesHint =
    "step files are up.sql or up1.sql..upK.sql (leading zeros allowed), optionally "
    "with -danger-non-transactional before .sql, and <stem>.verify.sql beside a step";

using Diagnostics = std::vector<Diagnostic>;

Diagnostic error_at(const fs::path& file, std::string message, std::string hint = {}) {
  Diagnostic d;
  d.file = file.string();
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

bool is_hidden(std::string_view name) { return !name.empty() && name.front() == '.'; }

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
}

// The value of a run of decimal digits; nullopt when it does not fit.
std::optional<std::int64_t> parse_number(std::string_view digits) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// ---------------------------------------------------------------- dbmig.json

// Reads dbmig.json text; diagnostics point into it by line and column.
class SettingsReader {
 public:
  SettingsReader(fs::path path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}

  Settings read(Diagnostics& out) {
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
  Diagnostic at_key(std::string_view key, std::string message, std::string hint = {}) const {
    return at_offset(key_offset(key), std::move(message), std::move(hint));
  }

  // A diagnostic at the `occurrence`-th (0-based) string literal `value`
  // after key `key`; at the key when it cannot be found.
  Diagnostic at_value(std::string_view key, std::string_view value, int occurrence,
                      std::string message, std::string hint = {}) const {
    std::size_t pos = key_offset(key);
    const std::string needle = nlohmann::json(std::string(value)).dump();
    for (int i = 0; i <= occurrence; ++i) {
      const std::size_t found = text_.find(needle, pos + 1);
      if (found == std::string::npos) return at_key(key, std::move(message), std::move(hint));
      pos = found;
    }
    return at_offset(pos, std::move(message), std::move(hint));
  }

 private:
  void read_key(const std::string& key, const nlohmann::json& value, Settings& settings,
                Diagnostics& out) const {
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
  void read_imported_from(const nlohmann::json& value, Settings& settings,
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
  void read_lint(const nlohmann::json& value, Settings& settings, Diagnostics& out) const {
    constexpr std::string_view kShape =
        R"(write "lint": {"allow": {"<version>": ["<rule>", ...]}})";
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

  void read_allowed_rules(const std::string& version, const nlohmann::json& rules,
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
      out.push_back(at_value(version, name, 0,
                             "unknown lint rule \"" + name + "\" in \"lint.allow\"",
                             "use a rule id from docs/lint.md (dbmig lint prints it in brackets)"));
    }
    settings.lint_allow.emplace_back(version, std::move(names));
  }

  void read_dialect(const nlohmann::json& value, Settings& settings, Diagnostics& out) const {
    const auto dialect = value.is_string() ? sql::parse_dialect(value.get<std::string>())
                                           : std::nullopt;
    if (dialect) {
      settings.dialect = dialect;
    } else {
      out.push_back(at_key("dialect", "\"dialect\" must be \"postgres\" or \"cockroach\"",
                           "set \"dialect\": \"postgres\" or \"dialect\": \"cockroach\""));
    }
  }

  void read_versions(const nlohmann::json& value, Settings& settings, Diagnostics& out) const {
    const bool strings = value.is_array() &&
                         std::all_of(value.begin(), value.end(),
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
  std::size_t nth_key_offset(std::string_view key, int n) const {
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

  std::size_t key_offset(std::string_view key) const {
    const std::string needle = nlohmann::json(std::string(key)).dump();
    const std::size_t found = text_.find(needle);
    return found == std::string::npos ? 0 : found;
  }

  Diagnostic at_offset(std::size_t offset, std::string message, std::string hint) const {
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
  static std::string short_reason(std::string_view what) {
    const std::size_t colon = what.find(": ");
    if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
    const std::size_t bracket = what.find("] ");
    return std::string(bracket == std::string_view::npos ? what : what.substr(bracket + 2));
  }

  // Offset in the text of the token quoted in nlohmann's what() ("number
  // overflow parsing '1e999'"); 0 when it cannot be found.
  std::size_t quoted_token_offset(std::string_view what) const {
    const std::size_t open = what.find('\'');
    const std::size_t close = what.rfind('\'');
    if (open == std::string_view::npos || close <= open + 1) return 0;
    const std::size_t found = text_.find(what.substr(open + 1, close - open - 1));
    return found == std::string::npos ? 0 : found;
  }

  fs::path path_;
  std::string text_;
};

// -------------------------------------------------------------- step files

// What a `*.sql` file name in a version directory means.
struct StepName {
  enum class Kind { step, verify, invalid } kind = Kind::invalid;
  std::string stem;             // file name without .sql / .verify.sql
  bool numbered = false;        // upN rather than up
  std::int64_t number = 1;
  bool danger = false;
  std::string problem;          // for invalid names
};

// Parses a step stem: "up" [digits] ["-danger-non-transactional"].
StepName parse_step_stem(std::string_view stem) {
  StepName result;
  result.stem = std::string(stem);
  if (!stem.starts_with("up")) return result;
  std::string_view rest = stem.substr(2);
  if (rest.ends_with(kDangerSuffix)) {
    result.danger = true;
    rest.remove_suffix(kDangerSuffix.size());
  }
  if (rest.empty()) {
    result.kind = StepName::Kind::step;
    return result;
  }
  if (!all_digits(rest)) return result;
  const auto number = parse_number(rest);
  if (!number || *number > 1'000'000) {
    result.problem = "step number is too large";
    return result;
  }
  if (*number == 0) {
    result.problem = "step numbers start at 1";
    return result;
  }
  result.kind = StepName::Kind::step;
  result.numbered = true;
  result.number = *number;
  return result;
}

StepName parse_sql_file_name(std::string_view file_name) {
  if (!file_name.ends_with(kSqlSuffix)) return {};  // e.g. "up1.SQL": names are case-sensitive
  if (file_name.ends_with(kVerifySuffix)) {
    StepName name;
    name.kind = StepName::Kind::verify;
    name.stem = std::string(file_name.substr(0, file_name.size() - kVerifySuffix.size()));
    return name;
  }
  return parse_step_stem(file_name.substr(0, file_name.size() - kSqlSuffix.size()));
}

// `name` with every byte that breaks UTF-8 written as \xNN, so that it can
// be printed (and put into JSON) as it is on disk.
std::string printable_name(std::string_view name) {
  std::string out;
  while (!name.empty()) {
    const auto bad = first_invalid_utf8(name);
    const std::size_t good = bad.value_or(name.size());
    out.append(name.substr(0, good));
    if (!bad) break;
    static constexpr char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(name[good]);
    out += std::string("\\x") + kHex[byte >> 4] + kHex[byte & 0x0f];
    name.remove_prefix(good + 1);
  }
  return out;
}

// Sorted names of the non-hidden entries of `dir`, with what each is (a
// symbolic link is judged by what it points to). Unreadable directories,
// names that are not UTF-8 and links that lead nowhere produce a diagnostic
// and no entry. The type comes from the directory listing itself; only
// symbolic links cost a stat.
struct Entry {
  std::string name;
  bool is_directory = false;
  bool is_regular = false;
  bool is_symlink = false;
  fs::file_type type = fs::file_type::unknown;
};

std::string_view type_name(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory: return "directory";
    case fs::file_type::fifo: return "FIFO";
    case fs::file_type::character: return "character device";
    case fs::file_type::block: return "block device";
    case fs::file_type::socket: return "socket";
    default: return "special file";
  }
}

// The entry's own type (symlink for a link) from the listing's d_type, with
// no system call where the file system fills it in.
fs::file_type cached_type(const fs::directory_entry& it) {
  std::error_code ec;
  if (it.is_symlink(ec)) return fs::file_type::symlink;
  if (it.is_directory(ec)) return fs::file_type::directory;
  if (it.is_regular_file(ec)) return fs::file_type::regular;
  if (it.is_fifo(ec)) return fs::file_type::fifo;
  if (it.is_character_file(ec)) return fs::file_type::character;
  if (it.is_block_file(ec)) return fs::file_type::block;
  if (it.is_socket(ec)) return fs::file_type::socket;
  return fs::file_type::unknown;
}

std::optional<Entry> read_entry(const fs::directory_entry& it, const fs::path& dir,
                                Diagnostics& out) {
  std::string name = it.path().filename().string();
  if (is_hidden(name)) return std::nullopt;
  if (first_invalid_utf8(name)) {
    out.push_back(error_at(dir / printable_name(name), "file name is not valid UTF-8",
                           "rename it using UTF-8 characters only"));
    return std::nullopt;
  }
  Entry entry{std::move(name)};
  entry.type = cached_type(it);
  entry.is_symlink = entry.type == fs::file_type::symlink;
  if (entry.is_symlink) {
    std::error_code ec;
    const fs::file_status status = it.status(ec);
    if (ec) {
      const bool loop = ec == std::errc::too_many_symbolic_link_levels;
      out.push_back(error_at(dir / entry.name,
                             loop ? "symbolic link loop" : "cannot follow: " + ec.message(),
                             loop ? "remove the link, or point it at a real directory or file"
                                  : "remove the link, or make its target readable"));
      return std::nullopt;
    }
    entry.type = status.type();
  }
  entry.is_directory = entry.type == fs::file_type::directory;
  entry.is_regular = entry.type == fs::file_type::regular;
  return entry;
}

std::vector<Entry> list_entries(const fs::path& dir, Diagnostics& out) {
  std::vector<Entry> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto entry = read_entry(*it, dir, out)) entries.push_back(std::move(*entry));
  }
  if (ec) out.push_back(error_at(dir, "cannot read directory: " + ec.message()));
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

// Builds the steps of one version directory and reports its problems.
class VersionReader {
 public:
  VersionReader(Version& version, std::vector<fs::path>& orphans, Diagnostics& out)
      : version_(version), orphans_(orphans), out_(out) {}

  void read() {
    for (const Entry& entry : list_entries(version_.path, out_)) {
      if (!ascii_lower(entry.name).ends_with(kSqlSuffix)) continue;
      if (!entry.is_regular) {
        had_invalid_name_ = true;
        out_.push_back(error_at(version_.path / entry.name,
                                "\"" + entry.name + "\" is a " +
                                    std::string(type_name(entry.type)) + ", not a regular file",
                                "step and verify files must be regular files"));
        continue;
      }
      take_sql_file(entry.name);
    }
    check_steps();
    attach_verify_files();
  }

 private:
  void take_sql_file(const std::string& file_name) {
    StepName name = parse_sql_file_name(file_name);
    const fs::path path = version_.path / file_name;
    switch (name.kind) {
      case StepName::Kind::verify:
        verify_stems_.emplace(name.stem, path);
        return;
      case StepName::Kind::invalid:
        had_invalid_name_ = true;
        out_.push_back(error_at(path,
                                "\"" + file_name + "\" is not a step file" +
                                    (name.problem.empty() ? "" : " (" + name.problem + ")"),
                                std::string(kStepNamesHint)));
        return;
      case StepName::Kind::step:
        break;
    }
    StepFile step;
    step.number = static_cast<int>(name.number);
    step.file_name = file_name;
    step.stem = name.stem;
    step.path = path;
    step.marked_non_transactional = name.danger;
    (name.numbered ? numbered_ : unnumbered_).push_back(std::move(step));
  }

  void check_steps() {
    if (numbered_.empty() && unnumbered_.empty()) {
      if (had_invalid_name_) return;  // already reported: the misnamed file is the step
      out_.push_back(error_at(version_.path, "version directory has no step file",
                              "add up.sql (or up1.sql, up2.sql, ...), or remove the directory"));
      return;
    }
    if (!numbered_.empty() && !unnumbered_.empty()) {
      out_.push_back(error_at(unnumbered_.front().path,
                              "\"" + unnumbered_.front().file_name +
                                  "\" is mixed with numbered steps (\"" +
                                  numbered_.front().file_name + "\")",
                              "use either a single up.sql or up1.sql..upK.sql"));
      return;
    }
    std::vector<StepFile>& steps = numbered_.empty() ? unnumbered_ : numbered_;
    std::stable_sort(steps.begin(), steps.end(),
                     [](const StepFile& a, const StepFile& b) { return a.number < b.number; });
    const bool duplicates = report_duplicates(steps);
    const bool gaps = report_gaps(steps);
    if (duplicates || gaps) return;
    version_.steps = std::move(steps);
  }

  // True when two files claim one step number.
  bool report_duplicates(const std::vector<StepFile>& steps) {
    bool found = false;
    for (std::size_t i = 1; i < steps.size(); ++i) {
      if (steps[i].number != steps[i - 1].number) continue;
      found = true;
      out_.push_back(error_at(steps[i].path,
                              "\"" + steps[i].file_name + "\" and \"" + steps[i - 1].file_name +
                                  "\" are the same step",
                              "keep one file per step number"));
    }
    return found;
  }

  // Reports every gap in the step numbers, one diagnostic per run of missing
  // numbers (up1000000.sql alone is one problem, not 999999); true when
  // there was a gap.
  bool report_gaps(const std::vector<StepFile>& steps) {
    bool found = false;
    int expected = 1;
    for (const StepFile& step : steps) {
      if (expected < step.number) {
        found = true;
        out_.push_back(error_at(version_.path,
                                missing_steps(expected, step.number - 1) + " before \"" +
                                    step.file_name + "\"",
                                "number the steps 1..K without gaps"));
      }
      expected = step.number + 1;
    }
    return found;
  }

  // "step 2 is missing (up2.sql)" or "steps 2 to 7 are missing (up2.sql..up7.sql)".
  static std::string missing_steps(int first, int last) {
    const std::string first_file = "up" + std::to_string(first) + ".sql";
    if (first == last) return "step " + std::to_string(first) + " is missing (" + first_file + ")";
    return "steps " + std::to_string(first) + " to " + std::to_string(last) + " are missing (" +
           first_file + "..up" + std::to_string(last) + ".sql)";
  }

  void attach_verify_files() {
    std::vector<StepFile>& all = version_.steps.empty() ? all_candidates() : version_.steps;
    for (auto& [stem, path] : verify_stems_) {
      const auto step = std::find_if(all.begin(), all.end(),
                                     [&](const StepFile& s) { return s.stem == stem; });
      if (step == all.end()) {
        orphans_.push_back(path);
      } else {
        step->verify_path = path;
      }
    }
  }

  // When the steps were invalid, verify files still find their step among
  // the candidates, so that no false orphan is reported.
  std::vector<StepFile>& all_candidates() {
    numbered_.insert(numbered_.end(), unnumbered_.begin(), unnumbered_.end());
    return numbered_;
  }

  Version& version_;
  std::vector<fs::path>& orphans_;
  Diagnostics& out_;
  std::vector<StepFile> numbered_;
  std::vector<StepFile> unnumbered_;
  std::map<std::string, fs::path> verify_stems_;
  bool had_invalid_name_ = false;
};

// ----------------------------------------------------------------- versions

// "<N>-<name>" / "<N>_<name>": N, or nullopt when the name has another shape.
struct NumberedName {
  std::optional<std::int64_t> number;
  std::string problem;
};

NumberedName parse_numbered_name(std::string_view name) {
  const std::size_t sep = name.find_first_of("-_");
  if (sep == std::string_view::npos || sep == 0 || !all_digits(name.substr(0, sep))) {
    return {std::nullopt, "does not start with a number followed by '-' or '_'"};
  }
  if (sep + 1 == name.size()) return {std::nullopt, "has no name after the number"};
  const auto number = parse_number(name.substr(0, sep));
  if (!number) return {std::nullopt, "has a version number that is too large"};
  if (*number == 0) return {std::nullopt, "has version number 0 (numbers start at 1)"};
  return {number, {}};
}

// Versions of a numbered tree, ordered by N.
std::vector<Version> numbered_versions(const fs::path& root, const std::vector<std::string>& dirs,
                                       Diagnostics& out) {
  std::vector<Version> versions;
  for (const std::string& dir : dirs) {
    const NumberedName parsed = parse_numbered_name(dir);
    if (!parsed.number) {
      out.push_back(error_at(root / dir, "version directory name \"" + dir + "\" " + parsed.problem,
                             "name version directories <N>-<name> or <N>_<name> (e.g. "
                             "0001-create-users), or list them in dbmig.json \"versions\""));
      continue;
    }
    versions.push_back({dir, parsed.number, root / dir, {}, false, {}});
  }
  std::stable_sort(versions.begin(), versions.end(),
                   [](const Version& a, const Version& b) { return *a.number < *b.number; });
  for (std::size_t i = 1; i < versions.size(); ++i) {
    if (versions[i].number != versions[i - 1].number) continue;
    out.push_back(error_at(versions[i].path,
                           "versions \"" + versions[i - 1].name + "\" and \"" + versions[i].name +
                               "\" have the same number " + std::to_string(*versions[i].number),
                           "give every version a unique number"));
  }
  return versions;
}

// Versions of a tree listed in dbmig.json, in list order.
std::vector<Version> listed_versions(const fs::path& root, const std::vector<std::string>& dirs,
                                     const std::vector<std::string>& listed,
                                     const SettingsReader& settings, Diagnostics& out) {
  const std::set<std::string> present(dirs.begin(), dirs.end());
  const std::set<std::string> wanted(listed.begin(), listed.end());
  for (const std::string& dir : dirs) {
    if (wanted.contains(dir)) continue;
    out.push_back(error_at(root / dir,
                           "version directory \"" + dir + "\" is not listed in dbmig.json \"versions\"",
                           "add it to \"versions\" in order, or remove the directory"));
  }
  std::vector<Version> versions;
  for (const std::string& name : listed) {
    if (present.contains(name)) {
      versions.push_back({name, std::nullopt, root / name, {}, false, {}});
    } else {
      out.push_back(settings.at_value("versions", name, 0,
                                      "listed version \"" + name + "\" has no directory",
                                      "create the directory or remove the name from \"versions\""));
    }
  }
  return versions;
}

// Finds `name` among `versions`: by directory name, or by N alone.
const Version* lookup(const std::vector<Version>& versions, std::string_view name) {
  for (const Version& v : versions) {
    if (v.name == name) return &v;
  }
  if (!all_digits(name)) return nullptr;
  const auto number = parse_number(name);
  for (const Version& v : versions) {
    if (number && v.number == number) return &v;
  }
  return nullptr;
}

// Every directory the import map names exists, and no two tool versions
// share one.
void check_imported_from(const MigrationDir& dir, const SettingsReader& settings,
                         Diagnostics& out) {
  if (!dir.settings.imported_from) return;
  std::set<std::string> seen;
  for (const auto& [tool_version, directory] : dir.settings.imported_from->versions) {
    if (!std::any_of(dir.versions.begin(), dir.versions.end(),
                     [&](const Version& v) { return v.name == directory; })) {
      out.push_back(settings.at_value("imported_from", directory, 0,
                                      "\"imported_from\" maps " + tool_version +
                                          " to unknown version \"" + directory + "\"",
                                      "give the directory name of an existing version"));
    } else if (!seen.insert(directory).second) {
      out.push_back(settings.at_value("imported_from", directory, 1,
                                      "\"imported_from\" maps two versions to \"" + directory +
                                          "\"",
                                      "map each of the tool's versions to its own directory"));
    }
  }
}

void mark_multi_ddl(MigrationDir& dir, const SettingsReader& settings, Diagnostics& out) {
  const auto& through = dir.settings.multi_ddl_allowed_through;
  if (!through) return;
  const Version* last = lookup(dir.versions, *through);
  if (last == nullptr) {
    out.push_back(settings.at_key("multi_ddl_allowed_through",
                                  "\"multi_ddl_allowed_through\" names unknown version \"" +
                                      *through + "\"",
                                  "give the directory name of an existing version"));
    return;
  }
  for (Version& v : dir.versions) {
    v.multi_ddl_allowed = true;
    if (&v == last) break;
  }
}

// Each "lint.allow" entry must name a version of the directory.
void mark_lint_allow(MigrationDir& dir, const SettingsReader& settings, Diagnostics& out) {
  for (const auto& [name, rules] : dir.settings.lint_allow) {
    const Version* found = lookup(dir.versions, name);
    if (found == nullptr) {
      out.push_back(settings.at_key(name, "\"lint.allow\" names unknown version \"" + name + "\"",
                                    "give the directory name of an existing version"));
      continue;
    }
    for (Version& version : dir.versions) {
      if (&version == found)
        version.lint_allowed.insert(version.lint_allowed.end(), rules.begin(), rules.end());
    }
  }
}

// Reads dbmig.json when present.
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

// A version directory reached through a symbolic link is an error when it is
// another version's directory (the same device and inode): its steps would
// run a second time under another name. Costs one stat per version, paid
// only when some version is a link.
void report_linked_duplicates(const fs::path& root, const std::vector<Entry>& dirs,
                              Diagnostics& out) {
  if (std::none_of(dirs.begin(), dirs.end(), [](const Entry& e) { return e.is_symlink; })) return;
  std::map<std::pair<dev_t, ino_t>, std::string> seen;  // of the real directories first
  for (bool links : {false, true}) {
    for (const Entry& entry : dirs) {
      if (entry.is_symlink != links) continue;
      struct stat info {};
      if (::stat((root / entry.name).c_str(), &info) != 0) continue;
      const auto [at, fresh] = seen.emplace(std::make_pair(info.st_dev, info.st_ino), entry.name);
      if (fresh) continue;
      out.push_back(error_at(root / entry.name,
                             "version directory \"" + entry.name +
                                 "\" is a symbolic link to version \"" + at->second + "\"",
                             "a version runs once: give the new version its own directory "
                             "and files instead of a link"));
    }
  }
}

// Version directory names at the top level; reports misplaced .sql files.
std::vector<std::string> version_dirs(const fs::path& root, Diagnostics& out) {
  std::vector<Entry> entries;
  std::vector<std::string> dirs;
  for (Entry& entry : list_entries(root, out)) {
    if (entry.name == kSettingsFile) continue;  // read (and judged) by read_settings_file
    if (entry.is_directory) {
      dirs.push_back(entry.name);
      entries.push_back(std::move(entry));
    } else if (ascii_lower(entry.name).ends_with(kSqlSuffix)) {
      out.push_back(error_at(root / entry.name,
                             "\"" + entry.name + "\" is a SQL file outside any version directory",
                             "move it into a version directory (e.g. 0001-name/up.sql)"));
    }
  }
  report_linked_duplicates(root, entries, out);
  return dirs;
}

}  // namespace

const Version* MigrationDir::find_version(std::string_view name) const {
  return lookup(versions, name);
}

std::expected<MigrationDir, std::vector<Diagnostic>> load_directory(const fs::path& root) {
  Diagnostics problems;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    problems.push_back(error_at(root, "migration directory does not exist or is not a directory",
                                "pass --dir DIR or set DBMIG_DIR"));
    return std::unexpected(std::move(problems));
  }
  MigrationDir dir;
  dir.root = root;
  const SettingsReader settings = read_settings_file(root, dir.settings, problems);
  const std::vector<std::string> dirs = version_dirs(root, problems);
  dir.versions = dir.settings.versions.empty()
                     ? numbered_versions(root, dirs, problems)
                     : listed_versions(root, dirs, dir.settings.versions, settings, problems);
  // Version directories are independent: read them side by side, then take
  // their orphans and problems in version order (as one thread would).
  std::vector<std::vector<fs::path>> orphans(dir.versions.size());
  std::vector<Diagnostics> version_problems(dir.versions.size());
  parallel_for(dir.versions.size(), [&](std::size_t i) {
    VersionReader(dir.versions[i], orphans[i], version_problems[i]).read();
  });
  for (std::size_t i = 0; i < dir.versions.size(); ++i) {
    std::move(orphans[i].begin(), orphans[i].end(), std::back_inserter(dir.orphan_verify_files));
    std::move(version_problems[i].begin(), version_problems[i].end(),
              std::back_inserter(problems));
  }
  mark_multi_ddl(dir, settings, problems);
  check_imported_from(dir, settings, problems);
  mark_lint_allow(dir, settings, problems);
  if (!problems.empty()) return std::unexpected(std::move(problems));
  return dir;
}

}  // namespace dbmig::migration
