#include "context.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/duration.h"
#include "db/error.h"
#include "db/redact.h"
#include "sql/dialect.h"

namespace dbmig::app {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string{} : std::string{value};
}

}  // namespace

std::filesystem::path migration_dir(const CommonOptions& common) {
  std::string dir = common.dir.empty() ? environment("DBMIG_DIR") : common.dir;
  if (dir.empty()) {
    throw Failure(ExitCode::usage_error, "no migration directory given",
                  "pass --dir DIR or set DBMIG_DIR");
  }
  return dir;
}

std::string database_conninfo(const CommonOptions& common) {
  return common.db.empty() ? environment("DATABASE_URL") : common.db;
}

void warn_if_password_on_command_line(const CommonOptions& common, engine::Reporter& reporter) {
  if (!db::conninfo_has_password(common.db)) return;
  reporter.diagnostic({.severity = Severity::warning,
                       .file = "",
                       .line = 0,
                       .column = 0,
                       .message = "--db holds a password, which other local users can read in "
                                  "the process list",
                       .hint = "pass the connection string in DATABASE_URL instead, or keep the "
                               "password in PGPASSWORD or ~/.pgpass"});
}

engine::ConnectionSettings connection_settings(const CommonOptions& common) {
  engine::ConnectionSettings settings;
  settings.conninfo = database_conninfo(common);
  if (common.state_schema.empty()) {
    throw Failure(ExitCode::usage_error, "--state-schema: the schema name is empty",
                  "leave it out for the default (dbmig)");
  }
  settings.state_schema = common.state_schema;
  return settings;
}

engine::OutputOptions output_options(const CommonOptions& common) {
  engine::OutputOptions options;
  options.format = common.json ? engine::OutputFormat::json : engine::OutputFormat::text;
  options.quiet = common.quiet;
  options.verbose = common.verbose;
  options.terminal = isatty(STDOUT_FILENO) == 1;
  return options;
}

namespace {

// When `found` holds an error: reports every diagnostic (errors and
// warnings) and throws Failure(usage_error). Else reports nothing: a valid
// plan's warnings are the command's to print (contract section 7).
void fail_if_invalid(const std::filesystem::path& dir, const std::vector<Diagnostic>& found,
                     engine::Reporter& reporter) {
  const auto errors = std::count_if(found.begin(), found.end(), [](const Diagnostic& d) {
    return d.severity == Severity::error;
  });
  if (errors == 0) return;
  for (const Diagnostic& diagnostic : found) reporter.diagnostic(diagnostic);
  throw Failure(ExitCode::usage_error,
                dir.string() + " is not a valid migration directory (" + std::to_string(errors) +
                    (errors == 1 ? " error)" : " errors)"),
                "fix the problems listed above; nothing was done to any database");
}

}  // namespace

migration::Plan load_plan(const CommonOptions& common, engine::Reporter& reporter,
                          bool defer_analysis) {
  const std::filesystem::path dir = migration_dir(common);
  migration::PlanOptions options;
  if (!common.dialect.empty()) options.dialect = sql::parse_dialect(common.dialect);
  options.defer_analysis = defer_analysis;
  auto plan = migration::build_plan(dir, options);
  if (!plan) fail_if_invalid(dir, plan.error(), reporter);
  // Warnings are not printed here: apply prints those of the steps it runs,
  // lint all of them, the other commands none (contract section 7).
  std::size_t steps = 0;
  for (const migration::PlannedVersion& version : plan->versions) steps += version.steps.size();
  reporter.debug(dir.string() + ": " + std::to_string(plan->versions.size()) + " version(s), " +
                 std::to_string(steps) + " step(s), dialect " +
                 std::string(sql::to_string(plan->dialect)) +
                 (common.dialect.empty() ? "" : " (--dialect)"));
  return std::move(*plan);
}

ExitCode run_with_deferred_analysis(
    migration::Plan& plan, engine::Reporter& reporter, const std::function<void()>& then,
    const std::function<ExitCode(const engine::StateReadHook&)>& command) {
  bool analysed = false;
  const engine::StateReadHook hook = [&](const engine::DatabaseState& state) {
    analysed = true;
    fail_if_invalid(plan.root, migration::analyse_steps(plan, engine::steps_to_analyse(state)),
                    reporter);
    if (then) then();
  };
  try {
    return command(hook);
  } catch (const db::DbError&) {
    // contract section 8: directory errors win over connection errors. Without a state,
    // every step may run: analyse them all, and report any error instead.
    if (!analysed) hook(engine::DatabaseState{});
    throw;
  }
}

std::chrono::milliseconds duration_option(std::string_view option, const std::string& text) {
  auto duration = parse_duration(text);
  if (!duration) {
    throw Failure(ExitCode::usage_error, std::string(option) + ": " + duration.error());
  }
  return *duration;
}

}  // namespace dbmig::app
