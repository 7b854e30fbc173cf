// Running the dbmig binary (DBMIG_EXECUTABLE) from a test as an operator
// would: a clean environment (no DATABASE_URL, DBMIG_DIR or PG* variables),
// the output captured. Every JSON line a --json run prints is checked
// against the published JSON Schema (docs/json-schema/, json_schema.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "support/process.h"

namespace dbmig::test {

using CliEnv = std::vector<std::pair<std::string, std::string>>;

// Runs `dbmig arguments...` (two-minute timeout) and returns its outcome.
// When the arguments hold --json, every stdout line must validate against
// the document or event schema of docs/json-schema/ (gtest ADD_FAILURE
// names the line and the violation otherwise).
ProcessResult run_dbmig(const std::vector<std::string>& arguments, const CliEnv& env = {});

// True when `text` contains `part`.
[[nodiscard]] bool contains(const std::string& text, const std::string& part);

}  // namespace dbmig::test
