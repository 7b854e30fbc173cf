// dbmig apply: validate the directory and its verify files, then run the
// engine's completion barrier.
#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <tuple>

#include "cli.h"
#include "context.h"
#include "core/duration.h"
#include "engine/commands.h"
#include "engine/dialect_check.h"

namespace dbmig::app {
namespace {

struct ApplyArguments {
  std::string to;
  bool dry_run = false;
  bool repair = false;
  bool allow_drift = false;
  // DUR options, parsed with core's parse_duration once given (even as "").
  struct Duration {
    CLI::Option* option = nullptr;
    std::string text;
    std::chrono::milliseconds engine::ApplyOptions::*field = nullptr;
  };
  std::array<Duration, 5> durations;
};

// docs/contract.md section 8: a lease shorter than 3 s cannot be renewed (every TTL/3)
// before it expires on a loaded machine; a zero DDL lock timeout would
// queue behind any lock forever (lock_timeout 0 disables it), a zero verify
// timeout would fail every proof at once. --lock-timeout 0 is allowed: it
// means "do not wait for another runner's lease".
void check_ranges(const engine::ApplyOptions& options) {
  using std::chrono::milliseconds;
  const auto require = [](bool ok, std::string_view option, std::string_view rule,
                          std::chrono::milliseconds given) {
    if (ok) return;
    throw Failure(
        ExitCode::usage_error,
        std::string(option) + " " + format_duration(given) + ": must be " + std::string(rule),
        "give " + std::string(option) + " " + std::string(rule) + ", e.g. " + std::string(option) +
            (option == "--lease-ttl" ? " 15s" : " 30s"));
  };
  require(options.lease_ttl >= milliseconds{3000}, "--lease-ttl", "at least 3s", options.lease_ttl);
  require(options.verify_timeout > milliseconds{0}, "--verify-timeout", "above 0",
          options.verify_timeout);
  require(options.ddl_lock_timeout > milliseconds{0}, "--ddl-lock-timeout", "above 0",
          options.ddl_lock_timeout);
}

engine::ApplyOptions apply_options(const ApplyArguments& arguments) {
  engine::ApplyOptions options;
  if (!arguments.to.empty()) options.to = arguments.to;
  options.dry_run = arguments.dry_run;
  options.repair = arguments.repair;
  options.allow_drift = arguments.allow_drift;
  for (const ApplyArguments::Duration& duration : arguments.durations) {
    if (duration.option->count() == 0) continue;
    options.*duration.field = duration_option(duration.option->get_name(), duration.text);
  }
  check_ranges(options);
  return options;
}

// Missing or stale verify files of the steps that may run stop apply before
// anything is written (exit 3); spurious and outdated ones (an older dbmig's,
// for the same step: the engine runs the proofs it generates itself) are only
// warned about.
void require_current_verify_files(const migration::Plan& plan, engine::Reporter& reporter) {
  int blocking = 0;
  for (const migration::VerifyFileProblem& problem : migration::check_verify_files(plan)) {
    const bool spurious = problem.kind == migration::VerifyFileProblem::Kind::spurious ||
                          problem.kind == migration::VerifyFileProblem::Kind::outdated;
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

// A dialect mismatch makes every verify file look stale: it is said first,
// instead of verify-file complaints whose advice (generate-verify) would
// rewrite committed files with the wrong dialect's proofs (contract section 7).
void require_dialect_before_verify_files(const migration::Plan& plan,
                                         const engine::ConnectionSettings& settings) {
  const auto problems = migration::check_verify_files(plan);
  const bool blocking = std::any_of(problems.begin(), problems.end(), [](const auto& problem) {
    return problem.kind != migration::VerifyFileProblem::Kind::spurious;
  });
  if (!blocking) return;
  if (auto problem = engine::dialect_override_problem(plan)) throw *problem;
  engine::require_server_dialect_if_reachable(plan, settings);
}

ExitCode run_apply(const CommonOptions& common, const ApplyArguments& arguments,
                   engine::Reporter& reporter) {
  engine::ApplyOptions options = apply_options(arguments);
  // contract section 7: structure, bytes and hashes of every step are checked before
  // connecting; the SQL and verify files only of the steps the recorded state
  // does not show verified with the same sha256, after reading it and before
  // anything is written (docs/apply.md).
  migration::Plan plan = load_plan(common, reporter, /*defer_analysis=*/true);
  const engine::ConnectionSettings connection = connection_settings(common);
  return run_with_deferred_analysis(
      plan, reporter,
      [&] {
        require_dialect_before_verify_files(plan, connection);
        require_current_verify_files(plan, reporter);
      },
      [&](const engine::StateReadHook& hook) {
        options.on_state_read = hook;
        return engine::apply(plan, connection, options, reporter);
      });
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
  const std::array<
      std::tuple<const char*, const char*, std::chrono::milliseconds engine::ApplyOptions::*>, 5>
      durations = {{
          {"--verify-timeout", "how long to wait for a change to complete (DUR, default 30m)",
           &engine::ApplyOptions::verify_timeout},
          {"--lock-timeout", "how long to wait for another runner's lease (DUR, default 60s)",
           &engine::ApplyOptions::lock_timeout},
          {"--ddl-lock-timeout", "lock_timeout of transactional steps (DUR, default 5s)",
           &engine::ApplyOptions::ddl_lock_timeout},
          {"--lease-ttl", "runner lease time-to-live (DUR, default 15s)",
           &engine::ApplyOptions::lease_ttl},
          {"--wait-for-db",
           "retry connecting while the server refuses, starts up or recovers (DUR, default: "
           "do not wait)",
           &engine::ApplyOptions::wait_for_db},
      }};
  for (std::size_t i = 0; i < durations.size(); ++i) {
    const auto& [name, description, field] = durations[i];
    ApplyArguments::Duration& duration = arguments->durations[i];
    duration.option = command->add_option(name, duration.text, description)->type_name("DUR");
    duration.field = field;
  }
  add_common_options(*command, common);
  return {command, false, [&common, arguments](engine::Reporter& reporter) {
            return run_apply(common, *arguments, reporter);
          }};
}

}  // namespace dbmig::app
