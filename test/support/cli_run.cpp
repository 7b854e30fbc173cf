#include "support/cli_run.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "support/json_schema.h"

namespace dbmig::test {

ProcessResult run_dbmig(const std::vector<std::string>& arguments, const CliEnv& env) {
  ProcessOptions options;
  options.argv = {DBMIG_EXECUTABLE};
  options.argv.insert(options.argv.end(), arguments.begin(), arguments.end());
  options.env = env;
  options.unset_env = {"DATABASE_URL", "DBMIG_DIR",  "PGHOST",     "PGPORT",
                       "PGUSER",       "PGDATABASE", "PGPASSWORD", "PGSERVICE"};
  ProcessResult result = run_process(options, std::chrono::minutes(2));
  if (std::find(arguments.begin(), arguments.end(), "--json") != arguments.end()) {
    for (const std::string& violation : json_output_violations(result.out)) {
      ADD_FAILURE() << "dbmig output does not match docs/json-schema: " << violation;
    }
  }
  return result;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace dbmig::test
