// dbmig import --from FORMAT --out OUT SRC: convert another tool's tree.
#include <memory>

#include "cli.h"
#include "importer/import.h"

namespace dbmig::app {
namespace {

struct ImportArguments {
  std::string from;
  std::string out;
  std::string src;
};

ExitCode run_import(const ImportArguments& args, engine::Reporter& reporter) {
  const auto format = importer::parse_format(args.from);
  if (!format) {
    throw Failure(ExitCode::usage_error, "--from: unknown format \"" + args.from + "\"",
                  "one of: diesel, golang-migrate, dbmate, prisma, flyway, goose");
  }
  auto result = importer::import_tree(*format, args.src, args.out);
  if (!result) {
    for (const Diagnostic& diagnostic : result.error()) reporter.diagnostic(diagnostic);
    throw Failure(ExitCode::usage_error,
                  args.src + " cannot be imported (" + std::to_string(result.error().size()) +
                      (result.error().size() == 1 ? " problem)" : " problems)"),
                  "nothing was written to " + args.out);
  }
  for (const Diagnostic& warning : result->warnings) reporter.diagnostic(warning);
  reporter.result(importer::report_json(*result), importer::report_text(*result));
  return ExitCode::ok;
}

}  // namespace

Command add_import_command(CLI::App& app, CommonOptions& common) {
  CLI::App* command = app.add_subcommand(
      "import", "convert another tool's migrations into a new dbmig directory (docs/import.md)");
  auto args = std::make_shared<ImportArguments>();
  command->add_option("--from", args->from, "diesel, golang-migrate, dbmate, prisma, flyway, goose")
      ->required()
      ->type_name("FORMAT");
  command->add_option("--out", args->out, "the dbmig directory to create (new or empty)")
      ->required()
      ->type_name("OUT");
  command->add_option("SRC", args->src, "the tool's migrations directory (only read)")->required();
  add_common_options(*command, common);
  return {command, true,
          [args](engine::Reporter& reporter) { return run_import(*args, reporter); }};
}

}  // namespace dbmig::app
