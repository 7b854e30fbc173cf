// The dbmig command line: CLI11 wiring of the subcommands to the library.
// Nothing here decides migration behaviour; it parses, builds the plan,
// calls one engine or migration function and maps failures to exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "core/failure.h"
#include "engine/report.h"

namespace dbmig::app {

// Options accepted before and after every subcommand.
struct CommonOptions {
  std::string dir;                     // --dir, else $DBMIG_DIR
  std::string db;                      // --db, else $DATABASE_URL, else libpq's PG* defaults
  std::string dialect;                 // --dialect: "" = dbmig.json, else postgres
  std::string state_schema = "dbmig";  // --state-schema
  bool json = false;
  bool quiet = false;
  bool verbose = false;
};

// A registered subcommand and the handler that runs it after parsing.
// single_document: in JSON mode it prints one document (output.h), not events.
struct Command {
  CLI::App* app = nullptr;
  bool single_document = false;
  std::function<ExitCode(engine::Reporter&)> run;
};

// Adds the common options to `app` (the main app or a subcommand): the
// directory, database and output options below.
void add_common_options(CLI::App& app, CommonOptions& common);
// --dir, --dialect.
void add_directory_options(CLI::App& app, CommonOptions& common);
// --db, --state-schema.
void add_database_options(CLI::App& app, CommonOptions& common);
// --json, --quiet, --verbose, --version.
void add_output_options(CLI::App& app, CommonOptions& common);

// The subcommands, one file each.
Command add_apply_command(CLI::App& app, CommonOptions& common);
Command add_status_command(CLI::App& app, CommonOptions& common);
Command add_verify_command(CLI::App& app, CommonOptions& common);
Command add_generate_verify_command(CLI::App& app, CommonOptions& common);
Command add_import_command(CLI::App& app, CommonOptions& common);
Command add_baseline_command(CLI::App& app, CommonOptions& common);
Command add_lint_command(CLI::App& app, CommonOptions& common);
Command add_new_command(CLI::App& app, CommonOptions& common);

// Parses argv, runs the chosen subcommand and returns the process exit code
// (docs/contract.md section 7). Every exception is caught here and nowhere else.
int run(int argc, char** argv);

}  // namespace dbmig::app
