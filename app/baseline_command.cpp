// dbmig baseline (--to VERSION | --from-tool FORMAT [--history-table SCHEMA.NAME]):
// adopt a database migrated by other means.
#include <memory>

#include "cli.h"
#include "context.h"
#include "engine/baseline.h"

namespace dbmig::app {
namespace {

struct BaselineArguments {
  std::string to;
  std::string from_tool;
  std::string history_table;
  std::string lock_timeout = "60s";
};

engine::BaselineOptions options_of(const BaselineArguments& args, const CLI::App& command) {
  engine::BaselineOptions options;
  if (command.count("--to") > 0) options.to = args.to;
  if (command.count("--from-tool") > 0) options.from_tool = args.from_tool;
  if (command.count("--history-table") > 0) options.history_table = args.history_table;
  for (const auto& [name, value] : {std::pair{"--to", options.to},
                                    {"--from-tool", options.from_tool},
                                    {"--history-table", options.history_table}}) {
    if (value && value->empty())
      throw Failure(ExitCode::usage_error, std::string(name) + ": empty value");
  }
  options.lock_timeout = duration_option("--lock-timeout", args.lock_timeout);
  return options;
}

}  // namespace

Command add_baseline_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command =
      app.add_subcommand("baseline",
                         "record the versions another tool (or a person) already applied, after "
                         "their proofs hold");
  auto args = std::make_shared<BaselineArguments>();
  command->add_option("--to", args->to, "record every version up to VERSION")->type_name("VERSION");
  command
      ->add_option("--from-tool", args->from_tool,
                   "record what the tool's history table marks applied (diesel, "
                   "golang-migrate, dbmate, prisma, flyway, goose)")
      ->type_name("FORMAT");
  command
      ->add_option("--history-table", args->history_table,
                   "the tool's history table when not its default")
      ->type_name("SCHEMA.NAME");
  command->add_option("--lock-timeout", args->lock_timeout, "how long to wait for the lease")
      ->type_name("DUR");
  add_common_options(*command, common);
  return {command, true, [&common, args, command](engine::Reporter& reporter) {
            const engine::BaselineOptions options = options_of(*args, *command);
            const migration::Plan plan = load_plan(common, reporter);
            return engine::baseline(plan, connection_settings(common), options, reporter);
          }};
}

}  // namespace dbmig::app
