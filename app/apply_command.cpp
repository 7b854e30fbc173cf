// dbmig apply: validate the directory and its verify files, then run the
// engine's completion barrier.
#include <iostream>
#include <memory>

#include "cli.h"
#include "context.h"
#include "engine/commands.h"

namespace dbmig::app {
namespace {

struct ApplyArguments {
  std::string to;
  bool dry_run = false;
  bool repair = false;
  bool allow_drift = false;
  std::string verify_timeout;
  std::string lock_timeout;
  std::string ddl_lock_timeout;
  std::string lease_ttl;
};

engine::ApplyOptions apply_options(const ApplyArguments& arguments) {
  engine::ApplyOptions options;
  if (!arguments.to.empty()) options.to = arguments.to;
  options.dry_run = arguments.dry_run;
  options.repair = arguments.repair;
  options.allow_drift = arguments.allow_drift;
  if (!arguments.verify_timeout.empty()) {
    options.verify_timeout = duration_option("--verify-timeout", arguments.verify_timeout);
  }
  if (!arguments.lock_timeout.empty()) {
    options.lock_timeout = duration_option("--lock-timeout", arguments.lock_timeout);
  }
  if (!arguments.ddl_lock_timeout.empty()) {
    options.ddl_lock_timeout = duration_option("--ddl-lock-timeout", arguments.ddl_lock_timeout);
  }
  if (!arguments.lease_ttl.empty()) {
    options.lease_ttl = duration_option("--lease-ttl", arguments.lease_ttl);
  }
  return options;
}

// Missing or stale verify files stop apply before it connects (exit 3);
// spurious ones do not change any proof and are only warned about.
void require_current_verify_files(const migration::Plan& plan, engine::Reporter& reporter) {
  int blocking = 0;
  for (const migration::VerifyFileProblem& problem : migration::check_verify_files(plan)) {
    const bool spurious = problem.kind == migration::VerifyFileProblem::Kind::spurious;
    if (!spurious) ++blocking;
    reporter.diagnostic({.severity = spurious ? Severity::warning : Severity::error,
                         .file = problem.path.string(),
                         .message = "verify file is " + std::string(to_string(problem.kind)),
                         .hint = "run dbmig generate-verify and commit the result"});
  }
  if (blocking > 0) {
    throw Failure(ExitCode::check_failed,
                  std::to_string(blocking) +
                      (blocking == 1 ? " verify file is" : " verify files are") +
                      " missing or stale; nothing was applied",
                  "run dbmig generate-verify and commit the result");
  }
}

ExitCode run_apply(const CommonOptions& common, const ApplyArguments& arguments) {
  const engine::ApplyOptions options = apply_options(arguments);
  engine::Reporter reporter(output_options(common), std::cout, std::cerr);
  const migration::Plan plan = load_plan(common, reporter);
  require_current_verify_files(plan, reporter);
  return engine::apply(plan, connection_settings(common), options, reporter);
}

}  // namespace

Command add_apply_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command = app.add_subcommand(
      "apply", "apply pending migrations, advancing only after each change is proved complete");
  auto arguments = std::make_shared<ApplyArguments>();
  command->add_option("--to", arguments->to, "stop after VERSION (directory name, or N)")
      ->type_name("VERSION");
  command->add_flag("--dry-run", arguments->dry_run, "print the plan, touch nothing");
  command->add_flag("--repair", arguments->repair,
                    "drop the step's INVALID index left by a failed build, then re-run the step");
  command->add_flag("--allow-drift", arguments->allow_drift,
                    "apply even though applied step files changed on disk");
  command->add_option("--verify-timeout", arguments->verify_timeout,
                      "how long to wait for a change to complete (DUR, default 30m)")
      ->type_name("DUR");
  command->add_option("--lock-timeout", arguments->lock_timeout,
                      "how long to wait for another runner's lease (DUR, default 60s)")
      ->type_name("DUR");
  command->add_option("--ddl-lock-timeout", arguments->ddl_lock_timeout,
                      "lock_timeout of transactional steps (DUR, default 5s)")
      ->type_name("DUR");
  command->add_option("--lease-ttl", arguments->lease_ttl,
                      "runner lease time-to-live (DUR, default 15s)")
      ->type_name("DUR");
  add_common_options(*command, common);
  return {command, [&common, arguments] { return run_apply(common, *arguments); }};
}

}  // namespace dbmig::app
