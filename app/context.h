// What every subcommand handler needs after parsing: the migration directory,
// the connection settings, a Reporter, the validated plan.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
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
// With `defer_analysis`, steps are read, checked and hashed only (contract section 7:
// apply and status analyse only what the recorded state does not cover);
// analyse_steps_that_may_run completes the plan once the state is read.
[[nodiscard]] migration::Plan load_plan(const CommonOptions& common, engine::Reporter& reporter,
                                        bool defer_analysis = false);

// Runs `command` (engine::apply or engine::status) with a StateReadHook
// that analyses every step of `plan` not recorded `verified` with its current
// sha256; on an error reports the diagnostics and throws Failure(usage_error),
// then calls `then` (when set). When the command fails on the database
// before the state was read (unreachable server, wrong credentials), every
// step is analysed first, so that a directory error is what is reported.
[[nodiscard]] ExitCode run_with_deferred_analysis(
    migration::Plan& plan, engine::Reporter& reporter, const std::function<void()>& then,
    const std::function<ExitCode(const engine::StateReadHook&)>& command);

using engine::relative_path;
using engine::to_string;

// Parses a DUR option value; throws Failure(usage_error) naming the option.
[[nodiscard]] std::chrono::milliseconds duration_option(std::string_view option,
                                                        const std::string& text);

}  // namespace dbmig::app
