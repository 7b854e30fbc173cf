#include "cli.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "context.h"
#include "db/connection.h"
#include "db/error.h"
#include "db/redact.h"
#include "engine/report.h"
#include "output.h"

namespace dbmig::app {
namespace {

constexpr std::string_view kVersionText = "dbmig 0.1.0";

// `text` with its continuation lines indented by two spaces (libpq ends
// lines with "\n" and indents with "\t").
std::string indented(std::string_view text) {
  std::string result;
  for (std::size_t i = 0; i < text.size(); ++i) {
    result += text[i];
    if (text[i] != '\n') continue;
    while (i + 1 < text.size() && (text[i + 1] == '\t' || text[i + 1] == ' ')) ++i;
    result += "  ";
  }
  return result;
}

// `text` without any secret of the connection string dbmig was given, nor
// $PGPASSWORD.
std::string without_secrets(const CommonOptions& common, std::string_view text) {
  std::vector<std::string> secrets = db::conninfo_secrets(database_conninfo(common));
  if (const char* password = std::getenv("PGPASSWORD"); password != nullptr && *password != 0) {
    secrets.emplace_back(password);
  }
  return db::hide_secrets(text, secrets);
}

int report_failure(CommandOutput& output, const CommonOptions& common, const Failure& failure) {
  const std::string message = without_secrets(common, failure.what());
  const std::string hint = without_secrets(common, failure.hint());
  std::string text = "dbmig: error: " + message + '\n';
  if (!hint.empty()) text += "  hint: " + hint + '\n';
  return output.fail(failure.code(), {{"message", message}, {"hint", hint}}, text);
}

// A step's database error: the server's fields each on their own line (and
// JSON field), where in the step file it points, and with --verbose the
// failing statement.
int report_database_failure(CommandOutput& output, const CommonOptions& common,
                            const DatabaseFailure& failure) {
  const ServerError& server = failure.server();
  std::string text = "dbmig: error: " + std::string(failure.what()) + '\n';
  nlohmann::json details = {{"message", failure.what()},   {"hint", failure.hint()},
                            {"sqlstate", server.sqlstate}, {"detail", server.detail},
                            {"server_hint", server.hint},  {"location", server.location}};
  if (!server.location.empty()) text += "  at: " + server.location + '\n';
  if (!server.sqlstate.empty()) text += "  sqlstate: " + server.sqlstate + '\n';
  if (!server.detail.empty()) text += "  detail: " + indented(server.detail) + '\n';
  if (!server.hint.empty()) text += "  server hint: " + indented(server.hint) + '\n';
  if (common.verbose && !server.statement.empty()) {
    text += "  statement: " + indented(server.statement) + '\n';
    details["statement"] = server.statement;
  }
  if (!failure.hint().empty()) text += "  hint: " + failure.hint() + '\n';
  return output.fail(failure.code(), details, text);
}

// Text and JSON from the one description of the error (db::describe).
int report_db_error(CommandOutput& output, const CommonOptions& common, const db::DbError& error) {
  const db::ErrorDescription error_text = db::describe(error, database_conninfo(common));
  const std::string message = indented(error_text.message);
  std::string text = "dbmig: error: " + message + '\n';
  if (!error_text.sqlstate.empty()) text += "  sqlstate: " + error_text.sqlstate + '\n';
  if (!error_text.detail.empty()) text += "  detail: " + indented(error_text.detail) + '\n';
  if (!error_text.hint.empty()) text += "  hint: " + indented(error_text.hint) + '\n';
  nlohmann::json details = {{"message", message},
                            {"sqlstate", error_text.sqlstate},
                            {"detail", error_text.detail},
                            {"hint", error_text.hint}};
  if (!error_text.database.empty()) {
    text += "  database: " + error_text.database + '\n';
    details["database"] = error_text.database;
  }
  if (common.verbose && !error_text.statement.empty()) {
    text += "  statement: " + indented(error_text.statement) + '\n';
  }
  return output.fail(ExitCode::runtime_failure, details, text);
}

// The passwords of every argument that may be a connection string (CLI11
// quotes a misplaced argument in its message).
std::vector<std::string> argument_secrets(int argc, char** argv) {
  std::vector<std::string> secrets;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument.starts_with("--db=")) argument.remove_prefix(5);
    const bool after_db = std::string_view(argv[i - 1]) == "--db";
    if (!after_db &&
        (argument.starts_with("-") || argument.find_first_of("=:") == std::string_view::npos)) {
      continue;
    }
    for (std::string& secret : db::conninfo_secrets(argument)) secrets.push_back(std::move(secret));
  }
  return secrets;
}

// A command line that does not parse: the message and a --help hint on
// stderr and, when --json is among the arguments, the same as JSON on stdout
// (apply: an "error" event; the other commands: their failed document).
int report_parse_error(const CLI::App& command, const std::vector<Command>& commands,
                       const CLI::ParseError& error, bool json,
                       const std::vector<std::string>& secrets) {
  const bool top = command.get_parent() == nullptr;
  const std::string name = top ? "dbmig" : "dbmig " + command.get_name();
  const std::vector<std::string> words = command.remaining();
  const bool unknown_command = top && !words.empty() && !words.front().starts_with("-");
  const std::string message = db::hide_secrets(
      unknown_command ? "unknown command '" + words.front() + "'" : std::string(error.what()),
      secrets);
  const std::string hint =
      "run '" + name + " --help'" +
      (top ? " (commands: apply, status, verify, generate-verify, lint, new, import, baseline)"
           : "");
  CommonOptions options;
  options.json = json;
  const auto chosen = std::find_if(commands.begin(), commands.end(),
                                   [&](const Command& c) { return c.app == &command; });
  const bool single_document = chosen == commands.end() || chosen->single_document;
  CommandOutput output(options, top ? "" : command.get_name(), single_document);
  return output.fail(ExitCode::usage_error, {{"message", message}, {"hint", hint}},
                     "dbmig: error: " + message + "\n  hint: " + hint + '\n');
}

// The subcommand that was parsed (deepest), for its --help hint.
const CLI::App& parsed_command(const CLI::App& app, const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    if (command.app->parsed()) return *command.app;
  }
  return app;
}

// An option given with an empty value (`--to ""`, as an unset shell variable
// expands) is a usage error for every option that takes a value: read as
// "not given" it would silently widen what the command does.
void reject_empty_values(const CLI::App& command) {
  for (const CLI::App* app = &command; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* option : app->get_options()) {
      if (option->get_type_size_max() == 0 || option->count() == 0) continue;
      for (const std::string& value : option->results()) {
        if (!value.empty()) continue;
        throw Failure(ExitCode::usage_error, option->get_name() + ": the value is empty",
                      "give " + option->get_name() +
                          " a value, or leave it out (an unset shell variable expands to "
                          "nothing)");
      }
    }
  }
}

}  // namespace

void add_common_options(CLI::App& app, CommonOptions& common) {
  add_directory_options(app, common);
  add_database_options(app, common);
  add_output_options(app, common);
}

void add_directory_options(CLI::App& app, CommonOptions& common) {
  app.add_option("--dir", common.dir, "migration directory (env DBMIG_DIR)")->type_name("DIR");
  app.add_option("--dialect", common.dialect,
                 "postgres or cockroach (default: dbmig.json, else postgres)")
      ->check(CLI::IsMember({"postgres", "cockroach"}))
      ->type_name("DIALECT");
}

void add_database_options(CLI::App& app, CommonOptions& common) {
  app.add_option("--db", common.db,
                 "postgres:// URL or key=value conninfo (env DATABASE_URL; else libpq's PG* "
                 "variables)")
      ->type_name("URL");
  app.add_option("--state-schema", common.state_schema,
                 "schema of dbmig's state tables (default dbmig)")
      ->type_name("NAME");
}

void add_output_options(CLI::App& app, CommonOptions& common) {
  app.add_flag("--json", common.json, "machine-readable JSON output (docs/json.md)");
  app.add_flag("--quiet", common.quiet, "only warnings, errors and results");
  app.add_flag("--verbose", common.verbose, "also debug lines");
  app.set_version_flag("--version", std::string(kVersionText));
}

int run(int argc, char** argv) {
  CLI::App app("dbmig: schema migrations that advance only once each change is complete", "dbmig");
  CommonOptions common;
  add_common_options(app, common);
  app.require_subcommand(1);
  const std::vector<Command> commands = {
      add_apply_command(app, common),  add_status_command(app, common),
      add_verify_command(app, common), add_generate_verify_command(app, common),
      add_import_command(app, common), add_baseline_command(app, common),
      add_lint_command(app, common),   add_new_command(app, common)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    const bool json = std::find(argv + 1, argv + argc, std::string_view("--json")) != argv + argc;
    return report_parse_error(parsed_command(app, commands), commands, error, json,
                              argument_secrets(argc, argv));
  }
  const CLI::App& chosen = parsed_command(app, commands);
  const auto command = std::find_if(commands.begin(), commands.end(),
                                    [&](const Command& c) { return c.app == &chosen; });
  if (command == commands.end()) return static_cast<int>(ExitCode::usage_error);
  CommandOutput output(common, chosen.get_name(), command->single_document);
  try {
    reject_empty_values(chosen);
    warn_if_password_on_command_line(common, output.reporter());
    const ExitCode code = command->run(output.reporter());
    output.finish();
    return static_cast<int>(code);
  } catch (const DatabaseFailure& failure) {
    return report_database_failure(output, common, failure);
  } catch (const Failure& failure) {
    return report_failure(output, common, failure);
  } catch (const db::DbError& error) {
    return report_db_error(output, common, error);
  } catch (const std::exception& error) {
    const std::string message = without_secrets(common, error.what());
    return output.fail(ExitCode::runtime_failure, {{"message", message}},
                       "dbmig: error: " + message + '\n');
  }
}

}  // namespace dbmig::app
