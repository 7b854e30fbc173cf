// dbmig lint: every step's step-rule and lock-rule warnings (docs/lint.md).
#include <nlohmann/json.hpp>
#include <set>

#include "cli.h"
#include "context.h"
#include "migration/lint.h"

namespace dbmig::app {
namespace {

ExitCode lint(const CommonOptions& common, engine::Reporter& reporter) {
  const migration::Plan plan = load_plan(common, reporter);
  const std::vector<Diagnostic> warnings = migration::lint_plan(plan);
  std::set<std::string> files;
  nlohmann::json rules = nlohmann::json::object();
  for (const Diagnostic& warning : warnings) {
    reporter.diagnostic(warning);
    files.insert(warning.file);
    const std::string rule = warning.rule.empty() ? "(none)" : warning.rule;
    rules[rule] = rules.value(rule, 0) + 1;
  }
  std::size_t steps = 0;
  for (const migration::PlannedVersion& version : plan.versions) steps += version.steps.size();
  const ExitCode code = warnings.empty() ? ExitCode::ok : ExitCode::check_failed;
  const std::string text =
      warnings.empty()
          ? "lint: " + std::to_string(steps) + " step(s) clean\n"
          : "lint: " + std::to_string(warnings.size()) + " warning(s) in " +
                std::to_string(files.size()) + " of " + std::to_string(steps) +
                " step(s); silence one with -- dbmig:allow <rule> on the line before its "
                "statement\n";
  reporter.result({{"command", "lint"},
                   {"steps", steps},
                   {"warnings", warnings.size()},
                   {"rules", rules},
                   {"error", nullptr},
                   {"exit_code", static_cast<int>(code)}},
                  text);
  return code;
}

}  // namespace

Command add_lint_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command = app.add_subcommand(
      "lint", "warn about every statement that blocks a live table or breaks running code");
  add_common_options(*command, common);
  return {command, true, [&common](engine::Reporter& reporter) { return lint(common, reporter); }};
}

}  // namespace dbmig::app
