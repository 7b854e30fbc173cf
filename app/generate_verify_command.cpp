// dbmig generate-verify [--check]: write (or check) the verify files.
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "context.h"
#include "migration/generate_verify.h"

namespace dbmig::app {
namespace {

std::string plural(std::size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

ExitCode check(const migration::Plan& plan, engine::Reporter& reporter) {
  const auto problems = migration::check_verify_files(plan);
  nlohmann::json listed = nlohmann::json::array();
  std::string text;
  for (const migration::VerifyFileProblem& problem : problems) {
    const std::string path = relative_path(plan, problem.path);
    listed.push_back({{"problem", to_string(problem.kind)}, {"path", path}});
    text += std::string(to_string(problem.kind)) + " " + path + '\n';
  }
  const ExitCode code = problems.empty() ? ExitCode::ok : ExitCode::check_failed;
  text += problems.empty()
              ? std::string("verify files are up to date\n")
              : plural(problems.size(), "verify file problem") + "; run dbmig generate-verify\n";
  reporter.result({{"command", "generate-verify"},
                   {"check", true},
                   {"problems", listed},
                   {"error", nullptr},
                   {"exit_code", static_cast<int>(code)}},
                  text);
  return code;
}

ExitCode generate(const migration::Plan& plan, engine::Reporter& reporter) {
  const migration::GenerateVerifyResult result = migration::generate_verify(plan);
  nlohmann::json written = nlohmann::json::array();
  nlohmann::json removed = nlohmann::json::array();
  nlohmann::json kept = nlohmann::json::array();
  std::string text;
  for (const auto& path : result.written) {
    written.push_back(relative_path(plan, path));
    text += "wrote " + relative_path(plan, path) + '\n';
  }
  for (const auto& path : result.removed) {
    removed.push_back(relative_path(plan, path));
    text += "removed " + relative_path(plan, path) + '\n';
  }
  for (const auto& path : result.kept) {
    kept.push_back(relative_path(plan, path));
    reporter.diagnostic({.severity = Severity::warning,
                         .file = path.string(),
                         .message = "verify file is not wanted but was not written by dbmig",
                         .hint = "delete it by hand"});
  }
  text += result.changed_nothing() ? std::string("verify files are up to date\n")
                                   : plural(result.written.size(), "file") + " written, " +
                                         plural(result.removed.size(), "file") + " removed\n";
  reporter.result({{"command", "generate-verify"},
                   {"check", false},
                   {"written", written},
                   {"removed", removed},
                   {"kept", kept},
                   {"error", nullptr},
                   {"exit_code", 0}},
                  text);
  return ExitCode::ok;
}

}  // namespace

Command add_generate_verify_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command = app.add_subcommand(
      "generate-verify", "write <step>.verify.sql beside every step with a verifiable change");
  auto check_only = std::make_shared<bool>(false);
  command->add_flag("--check", *check_only,
                    "write nothing; exit 3 if any verify file is missing, stale or spurious");
  // No database options: generate-verify never connects.
  add_directory_options(*command, common);
  add_output_options(*command, common);
  return {command, true, [&common, check_only](engine::Reporter& reporter) {
            const migration::Plan plan = load_plan(common, reporter);
            return *check_only ? check(plan, reporter) : generate(plan, reporter);
          }};
}

}  // namespace dbmig::app
