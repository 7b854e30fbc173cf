// Building the plan: every step file is read once, checked for UTF-8, hashed
// once and analysed once; every problem of every version is collected before
// the plan fails, so that one run reports them all.
#include "migration/plan.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>

#include "core/parallel.h"
#include "core/text.h"
#include "migration/verify_file.h"
#include "sql/lint.h"

namespace dbmig::migration {
namespace {

namespace fs = std::filesystem;
using Diagnostics = std::vector<Diagnostic>;

Diagnostic diagnostic_at(const fs::path& file, std::string_view text, std::size_t offset,
                         Severity severity, std::string message, std::string hint) {
  Diagnostic d;
  d.severity = severity;
  d.file = file.string();
  const TextPosition pos = position_at(text, offset);
  d.line = pos.line;
  d.column = pos.column;
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

Diagnostic file_error(const fs::path& file, std::string message, std::string hint = {}) {
  Diagnostic d;
  d.file = file.string();
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string hex_byte(char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  return std::string("0x") + kHex[byte >> 4] + kHex[byte & 0x0f];
}

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Reads a step's text; nullopt (with a diagnostic) when unreadable, not a
// regular file, not UTF-8, or starting with a byte-order mark (which the
// server would read as part of the first statement's first word).
std::optional<std::string> read_step_text(const StepFile& file, FileIdentity& identity,
                                          Diagnostics& out) {
  auto text = read_regular_file(file.path.string(), &identity);
  if (!text) {
    out.push_back(file_error(file.path, "cannot read step file: " + text.error(),
                             "make it a readable regular file"));
    return std::nullopt;
  }
  if (text->starts_with(kByteOrderMark)) {
    out.push_back(diagnostic_at(file.path, *text, 0, Severity::error,
                                "step file starts with a UTF-8 byte-order mark (BOM, bytes EF BB "
                                "BF)",
                                "save the file as UTF-8 without a byte-order mark (BOM)"));
    return std::nullopt;
  }
  if (const auto bad = first_invalid_utf8(*text)) {
    out.push_back(
        diagnostic_at(file.path, *text, *bad, Severity::error,
                      "step file is not valid UTF-8 (byte " + hex_byte((*text)[*bad]) + ")",
                      "save the file as UTF-8 without NUL bytes"));
    return std::nullopt;
  }
  return std::move(*text);
}

// Errors go to `out`; warnings that no allow comment and no dbmig.json
// "lint.allow" entry silences go to `out` and to the step.
void report_findings(PlannedStep& step, const std::vector<std::string>& allowed, Diagnostics& out) {
  auto findings = sql::without_allowed(step.text, step.analysis.statements, step.analysis.findings);
  for (sql::Finding& unknown : sql::unknown_allowed_rules(step.text, step.analysis.statements)) {
    findings.push_back(std::move(unknown));
  }
  for (const sql::Finding& finding : findings) {
    if (finding.severity == Severity::error) {
      out.push_back(step_diagnostic(step, finding));
    } else if (std::find(allowed.begin(), allowed.end(), finding.rule) == allowed.end()) {
      step.warnings.push_back(step_diagnostic(step, finding));
      out.push_back(step.warnings.back());
    }
  }
}

// Reads and hashes one step; nullopt when it cannot be planned.
std::optional<PlannedStep> read_step(const StepFile& file, Diagnostics& out) {
  FileIdentity identity;
  auto text = read_step_text(file, identity, out);
  if (!text) return std::nullopt;
  PlannedStep step;
  step.identity = identity;
  step.file = file;
  step.text = std::move(*text);
  step.sha256 = sha256_hex(step.text);
  return step;
}

// Drops a hashed step's text (PlannedStep::text_released).
void release_text(PlannedStep& step) {
  std::string().swap(step.text);
  step.text_released = true;
}

// Reads a released text again; false (with a diagnostic) when the file is
// gone, unreadable, or no longer the bytes or the file that were hashed.
bool reread_text(PlannedStep& step, Diagnostics& out) {
  FileIdentity identity;
  auto text = read_step_text(step.file, identity, out);
  if (!text) return false;
  if (identity != step.identity || sha256_hex(*text) != step.sha256) {
    out.push_back(file_error(step.file.path, "step file changed while dbmig was reading it",
                             "run dbmig again once nothing writes to the migration directory"));
    return false;
  }
  step.text = std::move(*text);
  step.text_released = false;
  return true;
}

// Analyses a read step; false when its text cannot be split.
bool analyse_step(PlannedStep& step, const sql::StepRules& rules,
                  const std::vector<std::string>& allowed, Diagnostics& out) {
  step.analysed = true;
  auto analysis = sql::analyze_step(step.text, rules);
  if (!analysis) {
    Diagnostic d = file_error(step.file.path, analysis.error().message, analysis.error().hint);
    d.line = analysis.error().line;
    d.column = analysis.error().column;
    out.push_back(std::move(d));
    return false;
  }
  step.analysis = std::move(*analysis);
  report_findings(step, allowed, out);
  step.expected_verify =
      render_verify_file(step.file.file_name, step.sha256, step.analysis.changes, rules.dialect);
  if (step.file.verify_path) {
    auto verify = read_regular_file(step.file.verify_path->string());
    if (verify) {
      step.actual_verify = std::move(*verify);
    } else {
      out.push_back(file_error(*step.file.verify_path, "cannot read verify file: " + verify.error(),
                               "make it a readable regular file, or run dbmig generate-verify"));
    }
  }
  return true;
}

sql::StepRules rules_of(const PlannedVersion& version, const StepFile& file, sql::Dialect dialect) {
  return {dialect, file.marked_non_transactional, version.multi_ddl_allowed};
}

PlannedVersion plan_version(const Version& version, sql::Dialect dialect, bool analyse,
                            Diagnostics& out) {
  PlannedVersion planned{version.name,         version.number,
                         version.path,         version.multi_ddl_allowed,
                         version.lint_allowed, {}};
  for (const StepFile& file : version.steps) {
    auto step = read_step(file, out);
    if (!step) continue;
    if (!analyse) release_text(*step);
    if (analyse &&
        !analyse_step(*step, rules_of(planned, file, dialect), planned.lint_allowed, out)) {
      continue;
    }
    planned.steps.push_back(std::move(*step));
  }
  return planned;
}

// Two steps that are one file (a hard link, or a symbolic link to another
// step) would run the same SQL twice under two names: an error.
void report_shared_files(const Plan& plan, Diagnostics& out) {
  std::map<FileIdentity, const PlannedStep*> seen;
  for (const PlannedVersion& version : plan.versions) {
    for (const PlannedStep& step : version.steps) {
      const auto [at, fresh] = seen.emplace(step.identity, &step);
      if (fresh) continue;
      out.push_back(file_error(step.file.path,
                               "step file is the same file as " + at->second->file.path.string() +
                                   " (a hard or symbolic link)",
                               "a step runs once: give each step its own file"));
    }
  }
}

// Generated orphans go to the plan; any other orphan is an error.
void sort_orphans(const MigrationDir& dir, Plan& plan, Diagnostics& out) {
  for (const fs::path& orphan : dir.orphan_verify_files) {
    const auto text = read_file(orphan.string());
    if (text && is_generated_verify_file(*text)) {
      plan.generated_orphan_verify_files.push_back(orphan);
      continue;
    }
    const std::string name = orphan.filename().string();
    const std::string stem = name.substr(0, name.size() - kVerifySuffix.size());
    out.push_back(file_error(orphan, "orphan verify file: there is no " + stem + ".sql",
                             "rename it to match its step, or delete it"));
  }
}

}  // namespace

std::optional<std::size_t> Plan::find_version(std::string_view name) const {
  const auto found = version_index.find(std::string(name));
  if (found != version_index.end() && found->second < versions.size() &&
      versions[found->second].name == name) {
    return found->second;
  }
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].name == name) return i;
  }
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (name.empty() || ec != std::errc{} || end != name.data() + name.size()) return std::nullopt;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].number == number) return i;
  }
  return std::nullopt;
}

std::expected<Plan, std::vector<Diagnostic>> build_plan(const fs::path& root,
                                                        const PlanOptions& options) {
  auto dir = load_directory(root);
  if (!dir) return std::unexpected(std::move(dir.error()));
  Plan plan;
  plan.root = root;
  plan.directory_dialect = dir->settings.dialect.value_or(sql::Dialect::postgres);
  plan.dialect = options.dialect.value_or(plan.directory_dialect);
  // Versions are planned side by side (reading, hashing and lexing are most
  // of a validation's time); diagnostics are merged in version order.
  plan.versions.resize(dir->versions.size());
  std::vector<Diagnostics> version_diagnostics(dir->versions.size());
  parallel_for(dir->versions.size(), [&](std::size_t i) {
    plan.versions[i] = plan_version(dir->versions[i], plan.dialect, !options.defer_analysis,
                                    version_diagnostics[i]);
  });
  Diagnostics diagnostics;
  for (Diagnostics& found : version_diagnostics) {
    std::move(found.begin(), found.end(), std::back_inserter(diagnostics));
  }
  report_shared_files(plan, diagnostics);
  sort_orphans(*dir, plan, diagnostics);
  if (has_errors(diagnostics)) return std::unexpected(std::move(diagnostics));
  plan.warnings = std::move(diagnostics);
  for (std::size_t i = 0; i < plan.versions.size(); ++i) {
    plan.version_index.emplace(plan.versions[i].name, i);
  }
  return plan;
}

Diagnostic step_diagnostic(const PlannedStep& step, const sql::Finding& finding) {
  Diagnostic d = diagnostic_at(step.file.path, step.text, finding.offset, finding.severity,
                               finding.message, finding.hint);
  d.rule = finding.rule;
  return d;
}

std::vector<Diagnostic> analyse_steps(
    Plan& plan, const std::function<bool(const PlannedVersion&, const PlannedStep&)>& wanted) {
  std::vector<Diagnostics> version_diagnostics(plan.versions.size());
  parallel_for(plan.versions.size(), [&](std::size_t i) {
    PlannedVersion& version = plan.versions[i];
    for (PlannedStep& step : version.steps) {
      if (step.analysed || !wanted(version, step)) continue;
      if (step.text_released && !reread_text(step, version_diagnostics[i])) continue;
      (void)analyse_step(step, rules_of(version, step.file, plan.dialect), version.lint_allowed,
                         version_diagnostics[i]);
    }
  });
  Diagnostics diagnostics;
  for (Diagnostics& found : version_diagnostics) {
    std::move(found.begin(), found.end(), std::back_inserter(diagnostics));
  }
  return diagnostics;
}

std::vector<VerifyFileProblem> check_verify_files(const Plan& plan) {
  using Kind = VerifyFileProblem::Kind;
  std::vector<VerifyFileProblem> problems;
  for (const PlannedVersion& version : plan.versions) {
    for (const PlannedStep& step : version.steps) {
      if (!step.analysed) continue;
      const fs::path path = step.file.verify_path.value_or(
          version.path / (step.file.stem + std::string(kVerifySuffix)));
      if (step.expected_verify && !step.actual_verify) {
        problems.push_back({Kind::missing, path});
      } else if (step.expected_verify && *step.actual_verify != *step.expected_verify) {
        const bool outdated = is_outdated_verify_file(*step.actual_verify, step.sha256);
        problems.push_back({outdated ? Kind::outdated : Kind::stale, path});
      } else if (!step.expected_verify && step.actual_verify) {
        problems.push_back({Kind::spurious, path});
      }
    }
    for (const fs::path& orphan : plan.generated_orphan_verify_files) {
      if (orphan.parent_path() == version.path) problems.push_back({Kind::spurious, orphan});
    }
  }
  return problems;
}

}  // namespace dbmig::migration
