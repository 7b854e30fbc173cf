// Building the plan: every step file is read once, checked for UTF-8, hashed
// once and analysed once; every problem of every version is collected before
// the plan fails, so that one run reports them all.
#include "migration/plan.h"

#include <charconv>
#include <iterator>

#include "core/parallel.h"
#include "core/text.h"
#include "migration/verify_file.h"

namespace dbmig::migration {
namespace {

namespace fs = std::filesystem;
using Diagnostics = std::vector<Diagnostic>;

constexpr std::string_view kVerifySuffix = ".verify.sql";

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

// Reads a step's text; nullopt (with a diagnostic) when unreadable or not UTF-8.
std::optional<std::string> read_step_text(const StepFile& file, Diagnostics& out) {
  auto text = read_file(file.path.string());
  if (!text) {
    out.push_back(file_error(file.path, "cannot read step file"));
    return std::nullopt;
  }
  if (const auto bad = first_invalid_utf8(*text)) {
    out.push_back(diagnostic_at(file.path, *text, *bad, Severity::error,
                                "step file is not valid UTF-8 (byte " + hex_byte((*text)[*bad]) +
                                    ")",
                                "save the file as UTF-8 without NUL bytes"));
    return std::nullopt;
  }
  return text;
}

void report_findings(const PlannedStep& step, Diagnostics& out) {
  for (const sql::Finding& finding : step.analysis.findings) {
    out.push_back(diagnostic_at(step.file.path, step.text, finding.offset, finding.severity,
                                finding.message, finding.hint));
  }
}

// Reads, hashes and analyses one step; nullopt when it cannot be planned.
std::optional<PlannedStep> plan_step(const StepFile& file, const sql::StepRules& rules,
                                     Diagnostics& out) {
  auto text = read_step_text(file, out);
  if (!text) return std::nullopt;
  PlannedStep step;
  step.file = file;
  step.text = std::move(*text);
  step.sha256 = sha256_hex(step.text);
  auto analysis = sql::analyze_step(step.text, rules);
  if (!analysis) {
    Diagnostic d = file_error(file.path, analysis.error().message, analysis.error().hint);
    d.line = analysis.error().line;
    d.column = analysis.error().column;
    out.push_back(std::move(d));
    return std::nullopt;
  }
  step.analysis = std::move(*analysis);
  report_findings(step, out);
  step.expected_verify =
      render_verify_file(file.file_name, step.sha256, step.analysis.changes, rules.dialect);
  if (file.verify_path) {
    step.actual_verify = read_file(file.verify_path->string());
    if (!step.actual_verify) out.push_back(file_error(*file.verify_path, "cannot read verify file"));
  }
  return step;
}

PlannedVersion plan_version(const Version& version, sql::Dialect dialect, Diagnostics& out) {
  PlannedVersion planned{version.name, version.number, version.path, version.multi_ddl_allowed, {}};
  for (const StepFile& file : version.steps) {
    const sql::StepRules rules{dialect, file.marked_non_transactional, version.multi_ddl_allowed};
    if (auto step = plan_step(file, rules, out)) planned.steps.push_back(std::move(*step));
  }
  return planned;
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
    plan.versions[i] = plan_version(dir->versions[i], plan.dialect, version_diagnostics[i]);
  });
  Diagnostics diagnostics;
  for (Diagnostics& found : version_diagnostics) {
    std::move(found.begin(), found.end(), std::back_inserter(diagnostics));
  }
  sort_orphans(*dir, plan, diagnostics);
  if (has_errors(diagnostics)) return std::unexpected(std::move(diagnostics));
  plan.warnings = std::move(diagnostics);
  return plan;
}

std::vector<VerifyFileProblem> check_verify_files(const Plan& plan) {
  using Kind = VerifyFileProblem::Kind;
  std::vector<VerifyFileProblem> problems;
  for (const PlannedVersion& version : plan.versions) {
    for (const PlannedStep& step : version.steps) {
      const fs::path path =
          step.file.verify_path.value_or(version.path / (step.file.stem + std::string(kVerifySuffix)));
      if (step.expected_verify && !step.actual_verify) {
        problems.push_back({Kind::missing, path});
      } else if (step.expected_verify && *step.actual_verify != *step.expected_verify) {
        problems.push_back({Kind::stale, path});
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
