// dbmig verify: re-run every applied step's proofs against the live database.

#include "cli.h"
#include "context.h"
#include "engine/commands.h"

namespace dbmig::app {

Command add_verify_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command = app.add_subcommand(
      "verify", "run every applied step's verify queries against the live database");
  add_common_options(*command, common);
  return {command, true, [&common](engine::Reporter& reporter) {
            const migration::Plan plan = load_plan(common, reporter);
            return engine::verify(plan, connection_settings(common), reporter);
          }};
}

}  // namespace dbmig::app
