#include "cli.h"

#include <iostream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "context.h"
#include "db/connection.h"
#include "db/error.h"
#include "engine/report.h"

namespace dbmig::app {
namespace {

constexpr std::string_view kVersionText = "dbmig 0.1.0";

std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// Prints an aborting error: always as text on stderr, and in JSON mode also
// as one {"event":"error"} line on stdout so that a consumer of the JSON
// stream sees why it ended (docs/json.md).
int report_error(const CommonOptions& common, ExitCode code, const std::string& message,
                 const nlohmann::json& extra, const std::string& text_details) {
  std::cerr << "dbmig: error: " << message << '\n' << text_details;
  std::cerr.flush();
  if (common.json) {
    nlohmann::json line = {{"event", "error"},
                           {"time", engine::utc_timestamp()},
                           {"exit_code", static_cast<int>(code)},
                           {"message", message}};
    line.update(extra);
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    std::cout.flush();
  }
  return static_cast<int>(code);
}

int report_failure(const CommonOptions& common, const Failure& failure) {
  std::string details;
  if (!failure.hint().empty()) details += "  hint: " + failure.hint() + '\n';
  return report_error(common, failure.code(), failure.what(), {{"hint", failure.hint()}}, details);
}

int report_db_error(const CommonOptions& common, const db::DbError& error) {
  const db::DbError::Fields& fields = error.fields();
  std::string details;
  if (!fields.sqlstate.empty()) details += "  sqlstate: " + fields.sqlstate + '\n';
  if (!fields.detail.empty()) details += "  detail: " + trimmed(fields.detail) + '\n';
  if (!fields.hint.empty()) details += "  hint: " + trimmed(fields.hint) + '\n';
  nlohmann::json extra = {{"sqlstate", fields.sqlstate},
                          {"detail", fields.detail},
                          {"hint", fields.hint}};
  if (fields.connection_lost) {
    const std::string conninfo = connection_settings(common).conninfo;
    const std::string target =
        conninfo.empty() ? "libpq defaults (PGHOST, PGPORT, ...)" : db::redact_password(conninfo);
    details += "  database: " + target + '\n';
    extra["database"] = target;
  }
  if (common.verbose && !fields.statement.empty()) {
    details += "  statement: " + trimmed(fields.statement) + '\n';
  }
  return report_error(common, ExitCode::runtime_failure, trimmed(fields.message), extra, details);
}

int report_parse_error(const CLI::App& command, const CLI::ParseError& error) {
  const std::string name =
      command.get_parent() == nullptr ? "dbmig" : "dbmig " + command.get_name();
  std::cerr << "dbmig: error: " << error.what() << '\n'
            << "  hint: run '" << name << " --help'\n";
  return static_cast<int>(ExitCode::usage_error);
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
  app.add_option("--dir", common.dir, "migration directory (env DBMIG_DIR)")->type_name("DIR");
  app.add_option("--db", common.db,
                 "postgres:// URL or key=value conninfo (env DATABASE_URL; else libpq's PG* "
                 "variables)")
      ->type_name("URL");
  app.add_option("--dialect", common.dialect,
                 "postgres or cockroach (default: dbmig.json, else postgres)")
      ->check(CLI::IsMember({"postgres", "cockroach"}))
      ->type_name("DIALECT");
  app.add_option("--state-schema", common.state_schema,
                 "schema of dbmig's state tables (default dbmig)")
      ->type_name("NAME");
  app.add_flag("--json", common.json, "machine-readable JSON output (docs/json.md)");
  app.add_flag("--quiet", common.quiet, "only warnings, errors and results");
  app.add_flag("--verbose", common.verbose, "also debug lines");
  app.set_version_flag("--version", std::string(kVersionText));
}

int run(int argc, char** argv) {
  CLI::App app("dbmig: schema migrations that advance only once each change is complete",
               "dbmig");
  CommonOptions common;
  add_common_options(app, common);
  app.require_subcommand(1);
  const std::vector<Command> commands = {
      add_apply_command(app, common), add_status_command(app, common),
      add_verify_command(app, common), add_generate_verify_command(app, common)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    return report_parse_error(parsed_command(app, commands), error);
  }
  try {
    for (const Command& command : commands) {
      if (command.app->parsed()) return static_cast<int>(command.run());
    }
    return static_cast<int>(ExitCode::usage_error);
  } catch (const Failure& failure) {
    return report_failure(common, failure);
  } catch (const db::DbError& error) {
    return report_db_error(common, error);
  } catch (const std::exception& error) {
    return report_error(common, ExitCode::runtime_failure, error.what(), {}, {});
  }
}

}  // namespace dbmig::app
