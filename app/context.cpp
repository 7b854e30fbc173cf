#include "context.h"

#include <unistd.h>

#include <cstdlib>

#include "core/duration.h"
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

migration::Plan load_plan(const CommonOptions& common, engine::Reporter& reporter) {
  const std::filesystem::path dir = migration_dir(common);
  migration::PlanOptions options;
  if (!common.dialect.empty()) options.dialect = sql::parse_dialect(common.dialect);
  auto plan = migration::build_plan(dir, options);
  if (!plan) {
    int errors = 0;
    for (const Diagnostic& diagnostic : plan.error()) {
      reporter.diagnostic(diagnostic);
      if (diagnostic.severity == Severity::error) ++errors;
    }
    throw Failure(ExitCode::usage_error,
                  dir.string() + " is not a valid migration directory (" + std::to_string(errors) +
                      (errors == 1 ? " error)" : " errors)"),
                  "fix the problems listed above; nothing was done to any database");
  }
  for (const Diagnostic& warning : plan->warnings) reporter.diagnostic(warning);
  std::size_t steps = 0;
  for (const migration::PlannedVersion& version : plan->versions) steps += version.steps.size();
  reporter.debug(dir.string() + ": " + std::to_string(plan->versions.size()) + " version(s), " +
                 std::to_string(steps) + " step(s), dialect " +
                 std::string(sql::to_string(plan->dialect)) +
                 (common.dialect.empty() ? "" : " (--dialect)"));
  return std::move(*plan);
}

std::chrono::milliseconds duration_option(std::string_view option, const std::string& text) {
  auto duration = parse_duration(text);
  if (!duration) {
    throw Failure(ExitCode::usage_error, std::string(option) + ": " + duration.error());
  }
  return *duration;
}

}  // namespace dbmig::app
