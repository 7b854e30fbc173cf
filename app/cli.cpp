#include "cli.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "context.h"
#include "db/connection.h"
#include "db/error.h"
#include "engine/report.h"
#include "output.h"

namespace dbmig::app {
namespace {

constexpr std::string_view kVersionText = "dbmig 0.1.0";

// `text` without trailing blanks, its continuation lines indented by two
// spaces (libpq ends messages with "\n" and indents with "\t").
std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  std::string result;
  for (std::size_t i = 0; i < text.size(); ++i) {
    result += text[i];
    if (text[i] != '\n') continue;
    while (i + 1 < text.size() && (text[i + 1] == '\t' || text[i + 1] == ' ')) ++i;
    result += "  ";
  }
  return result;
}

int report_failure(CommandOutput& output, const Failure& failure) {
  std::string text = "dbmig: error: " + std::string(failure.what()) + '\n';
  if (!failure.hint().empty()) text += "  hint: " + failure.hint() + '\n';
  return output.fail(failure.code(), {{"message", failure.what()}, {"hint", failure.hint()}}, text);
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
  if (!server.detail.empty()) text += "  detail: " + trimmed(server.detail) + '\n';
  if (!server.hint.empty()) text += "  server hint: " + trimmed(server.hint) + '\n';
  if (common.verbose && !server.statement.empty()) {
    text += "  statement: " + trimmed(server.statement) + '\n';
    details["statement"] = server.statement;
  }
  if (!failure.hint().empty()) text += "  hint: " + failure.hint() + '\n';
  return output.fail(failure.code(), details, text);
}

int report_db_error(CommandOutput& output, const CommonOptions& common, const db::DbError& error) {
  const db::DbError::Fields& fields = error.fields();
  const std::string message = trimmed(fields.message);
  std::string text = "dbmig: error: " + message + '\n';
  if (!fields.sqlstate.empty()) text += "  sqlstate: " + fields.sqlstate + '\n';
  if (!fields.detail.empty()) text += "  detail: " + trimmed(fields.detail) + '\n';
  if (!fields.hint.empty()) text += "  hint: " + trimmed(fields.hint) + '\n';
  nlohmann::json details = {{"message", message},
                            {"sqlstate", fields.sqlstate},
                            {"detail", fields.detail},
                            {"hint", fields.hint}};
  if (fields.connection_lost) {
    const std::string conninfo = database_conninfo(common);
    const std::string target =
        conninfo.empty() ? "libpq defaults (PGHOST, PGPORT, ...)" : db::redact_password(conninfo);
    text += "  database: " + target + '\n';
    details["database"] = target;
  }
  if (common.verbose && !fields.statement.empty()) {
    text += "  statement: " + trimmed(fields.statement) + '\n';
  }
  return output.fail(ExitCode::runtime_failure, details, text);
}

// A command line that does not parse: the message and a --help hint on
// stderr and, when --json is among the arguments, the same as JSON on stdout
// (apply: an "error" event; the other commands: their failed document).
int report_parse_error(const CLI::App& command, const std::vector<Command>& commands,
                       const CLI::ParseError& error, bool json) {
  const bool top = command.get_parent() == nullptr;
  const std::string name = top ? "dbmig" : "dbmig " + command.get_name();
  const std::vector<std::string> words = command.remaining();
  const bool unknown_command = top && !words.empty() && !words.front().starts_with("-");
  const std::string message =
      unknown_command ? "unknown command '" + words.front() + "'" : std::string(error.what());
  const std::string hint = "run '" + name + " --help'" +
                           (top ? " (commands: apply, status, verify, generate-verify, new)" : "");
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
      add_apply_command(app, common), add_status_command(app, common),
      add_verify_command(app, common), add_generate_verify_command(app, common),
      add_new_command(app, common)};
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
    return report_parse_error(parsed_command(app, commands), commands, error, json);
  }
  const CLI::App& chosen = parsed_command(app, commands);
  const auto command = std::find_if(commands.begin(), commands.end(),
                                    [&](const Command& c) { return c.app == &chosen; });
  if (command == commands.end()) return static_cast<int>(ExitCode::usage_error);
  CommandOutput output(common, chosen.get_name(), command->single_document);
  try {
    const ExitCode code = command->run(output.reporter());
    output.finish();
    return static_cast<int>(code);
  } catch (const DatabaseFailure& failure) {
    return report_database_failure(output, common, failure);
  } catch (const Failure& failure) {
    return report_failure(output, failure);
  } catch (const db::DbError& error) {
    return report_db_error(output, common, error);
  } catch (const std::exception& error) {
    return output.fail(ExitCode::runtime_failure, {{"message", error.what()}},
                       "dbmig: error: " + std::string(error.what()) + '\n');
  }
}

}  // namespace dbmig::app
