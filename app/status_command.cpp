// dbmig status: what the database has applied, compared with the directory.
#include <memory>

#include "cli.h"
#include "context.h"
#include "engine/commands.h"

namespace dbmig::app {

Command add_status_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command =
      app.add_subcommand("status",
                         "show the current version, pending steps, failures, the lease, drift and "
                         "invalid indexes");
  auto options = std::make_shared<engine::StatusOptions>();
  command->add_flag("--exit-code", options->exit_code,
                    "exit 3 when anything is pending, failed or drifted");
  command->add_flag("--history", options->history,
                    "also list the applied versions, oldest first, with time, duration and runner");
  add_common_options(*command, common);
  return {command, true, [&common, options](engine::Reporter& reporter) {
            migration::Plan plan = load_plan(common, reporter, /*defer_analysis=*/true);
            const engine::ConnectionSettings connection = connection_settings(common);
            return run_with_deferred_analysis(
                plan, reporter, {}, [&](const engine::StateReadHook& hook) {
                  engine::StatusOptions with_analysis = *options;
                  with_analysis.on_state_read = hook;
                  return engine::status(plan, connection, with_analysis, reporter);
                });
          }};
}

}  // namespace dbmig::app
