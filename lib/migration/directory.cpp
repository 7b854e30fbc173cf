// Reading a migration directory (docs/contract.md section 2): the step and verify file
// names of each version, the versions' order, and what dbmig.json says of
// them. Listing directories is directory_listing.cpp's, reading dbmig.json
// directory_settings.cpp's.
//
// The tree is read by names only, with one directory iteration for the root
// and one per version; nothing stops at the first problem: every problem is
// collected as a Diagnostic and returned together. Entries are sorted by name
// before they are judged so that diagnostics come out in a stable order.
//
// Decisions beyond docs/contract.md section 2 (docs/migration-directory.md):
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
#include <charconv>
#include <iterator>
#include <map>
#include <set>

#include "core/parallel.h"
#include "core/text.h"
#include "migration/directory_listing.h"
#include "migration/directory_settings.h"

namespace dbmig::migration {
namespace {

namespace fs = std::filesystem;
using detail::Entry;
using detail::error_at;
using detail::SettingsReader;

constexpr std::string_view kDangerSuffix = "-danger-non-transactional";
constexpr std::string_view kSqlSuffix = ".sql";
constexpr std::string_view kStepNamesHint =
    "step files are up.sql or up1.sql..upK.sql (leading zeros allowed), optionally "
    "with -danger-non-transactional before .sql, and <stem>.verify.sql beside a step";

using Diagnostics = std::vector<Diagnostic>;

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The value of a run of decimal digits; nullopt when it does not fit.
std::optional<std::int64_t> parse_number(std::string_view digits) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// -------------------------------------------------------------- step files

// What a `*.sql` file name in a version directory means.
struct StepName {
  enum class Kind { step, verify, invalid } kind = Kind::invalid;
  std::string stem;       // file name without .sql / .verify.sql
  bool numbered = false;  // upN rather than up
  std::int64_t number = 1;
  bool danger = false;
  std::string problem;  // for invalid names
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

// Builds the steps of one version directory and reports its problems.
class VersionReader {
 public:
  VersionReader(Version& version, std::vector<fs::path>& orphans, Diagnostics& out)
      : version_(version), orphans_(orphans), out_(out) {}

  void read() {
    for (const Entry& entry : detail::list_entries(version_.path, out_)) {
      if (!ascii_lower(entry.name).ends_with(kSqlSuffix)) continue;
      if (!entry.is_regular) {
        had_invalid_name_ = true;
        out_.push_back(error_at(version_.path / entry.name,
                                "\"" + entry.name + "\" is a " +
                                    std::string(detail::type_name(entry.type)) +
                                    ", not a regular file",
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
      case StepName::Kind::verify: verify_stems_.emplace(name.stem, path); return;
      case StepName::Kind::invalid:
        had_invalid_name_ = true;
        out_.push_back(error_at(path,
                                "\"" + file_name + "\" is not a step file" +
                                    (name.problem.empty() ? "" : " (" + name.problem + ")"),
                                std::string(kStepNamesHint)));
        return;
      case StepName::Kind::step: break;
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
      out_.push_back(error_at(
          steps[i].path,
          "\"" + steps[i].file_name + "\" and \"" + steps[i - 1].file_name + "\" are the same step",
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
        out_.push_back(error_at(
            version_.path,
            missing_steps(expected, step.number - 1) + " before \"" + step.file_name + "\"",
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
      const auto step =
          std::find_if(all.begin(), all.end(), [&](const StepFile& s) { return s.stem == stem; });
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
    out.push_back(error_at(
        root / dir, "version directory \"" + dir + "\" is not listed in dbmig.json \"versions\"",
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
      std::string message = "\"imported_from\" maps " + tool_version;
      message += " to unknown version \"";
      message += directory;
      message += "\"";
      out.push_back(settings.at_value("imported_from", directory, 0, message,
                                      "give the directory name of an existing version"));
    } else if (!seen.insert(directory).second) {
      out.push_back(
          settings.at_value("imported_from", directory, 1,
                            "\"imported_from\" maps two versions to \"" + directory + "\"",
                            "map each of the tool's versions to its own directory"));
    }
  }
}

void mark_multi_ddl(MigrationDir& dir, const SettingsReader& settings, Diagnostics& out) {
  const auto& through = dir.settings.multi_ddl_allowed_through;
  if (!through) return;
  const Version* last = lookup(dir.versions, *through);
  if (last == nullptr) {
    out.push_back(
        settings.at_key("multi_ddl_allowed_through",
                        "\"multi_ddl_allowed_through\" names unknown version \"" + *through + "\"",
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
  const SettingsReader settings = detail::read_settings_file(root, dir.settings, problems);
  const std::vector<std::string> dirs = detail::version_dirs(root, problems);
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
    std::move(version_problems[i].begin(), version_problems[i].end(), std::back_inserter(problems));
  }
  mark_multi_ddl(dir, settings, problems);
  check_imported_from(dir, settings, problems);
  mark_lint_allow(dir, settings, problems);
  if (!problems.empty()) return std::unexpected(std::move(problems));
  return dir;
}

}  // namespace dbmig::migration
