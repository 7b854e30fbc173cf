// What every subcommand handler needs after parsing: the migration directory,
// the connection settings, a Reporter, the validated plan.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "engine/inspect.h"
#include "engine/options.h"
#include "engine/report.h"
#include "migration/plan.h"

namespace dbmig::app {

// --dir, else $DBMIG_DIR; throws Failure(usage_error) when neither is given.
[[nodiscard]] std::filesystem::path migration_dir(const CommonOptions& common);

// --db, else $DATABASE_URL, else "" (libpq's PG* defaults).
[[nodiscard]] std::string database_conninfo(const CommonOptions& common);

// Warns (a warning diagnostic) when --db holds a password: the command line
// is visible to every local user (ps, /proc/PID/cmdline).
void warn_if_password_on_command_line(const CommonOptions& common, engine::Reporter& reporter);

// database_conninfo() and the state
// schema; throws Failure(usage_error) when --state-schema is empty.
[[nodiscard]] engine::ConnectionSettings connection_settings(const CommonOptions& common);

// Text or JSON, quiet/verbose, and whether stdout is a terminal.
[[nodiscard]] engine::OutputOptions output_options(const CommonOptions& common);

// Builds the plan of the migration directory. When the directory is invalid,
// reports every diagnostic (errors and warnings) and throws
// Failure(usage_error), before anything touches a database; a valid plan's
// warnings are left to the command (plan.h).
[[nodiscard]] migration::Plan load_plan(const CommonOptions& common, engine::Reporter& reporter);

using engine::relative_path;
using engine::to_string;

// Parses a DUR option value; throws Failure(usage_error) naming the option.
[[nodiscard]] std::chrono::milliseconds duration_option(std::string_view option,
                                                        const std::string& text);

}  // namespace dbmig::app
