#include "context.h"

#include <unistd.h>

#include <cstdlib>

#include "core/duration.h"
#include "db/error.h"
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

// Reports every diagnostic; throws Failure(usage_error) when one is an error.
void report_diagnostics(const std::filesystem::path& dir, const std::vector<Diagnostic>& found,
                        engine::Reporter& reporter) {
  int errors = 0;
  for (const Diagnostic& diagnostic : found) {
    reporter.diagnostic(diagnostic);
    if (diagnostic.severity == Severity::error) ++errors;
  }
  if (errors == 0) return;
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
  if (!plan) report_diagnostics(dir, plan.error(), reporter);
  for (const Diagnostic& warning : plan->warnings) reporter.diagnostic(warning);
  return std::move(*plan);
}

ExitCode run_with_deferred_analysis(
    migration::Plan& plan, engine::Reporter& reporter, const std::function<void()>& then,
    const std::function<ExitCode(const engine::StateReadHook&)>& command) {
  bool analysed = false;
  const engine::StateReadHook hook = [&](const engine::DatabaseState& state) {
    analysed = true;
    report_diagnostics(plan.root, migration::analyse_steps(plan, engine::steps_to_analyse(state)),
                       reporter);
    if (then) then();
  };
  try {
    return command(hook);
  } catch (const db::DbError&) {
    // SPEC 8: directory errors win over connection errors. Without a state,
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
