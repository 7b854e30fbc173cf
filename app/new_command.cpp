// dbmig new NAME: create the next version directory with an up.sql header.
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "context.h"
#include "migration/new_version.h"

namespace dbmig::app {

Command add_new_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command =
      app.add_subcommand("new", "create the next version directory NAME with an up.sql to fill in");
  auto name = std::make_shared<std::string>();
  command->add_option("NAME", *name, "the version's name after its number, e.g. add-user-email")
      ->required();
  command->add_option("--dir", common.dir, "migration directory (env DBMIG_DIR)")->type_name("DIR");
  add_output_options(*command, common);
  return {command, true, [&common, name](engine::Reporter& reporter) {
            const std::filesystem::path dir = migration_dir(common);
            auto created = migration::create_next_version(dir, *name);
            if (!created) {
              const Diagnostic& refusal = created.error();
              throw Failure(ExitCode::usage_error, refusal.file + ": " + refusal.message,
                            refusal.hint);
            }
            const std::string path = (std::filesystem::path(created->name) / "up.sql").string();
            reporter.result({{"command", "new"},
                             {"version", created->name},
                             {"path", path},
                             {"error", nullptr},
                             {"exit_code", 0}},
                            "created " + (dir / path).string());
            return ExitCode::ok;
          }};
}

}  // namespace dbmig::app
