// `dbmig import --from FORMAT --out OUT SRC` (docs/contract.md section 7, docs/import.md):
// reads another tool's tree, converts every migration (convert.h), writes a
// dbmig directory into OUT with dbmig.json (dialect, the tool's order when
// dbmig's own numbering would differ, multi_ddl_allowed_through, and the
// map from the tool's versions to dbmig's), checks it with dbmig's own rules
// and writes its verify files. SRC is only read.
#pragma once

#include <expected>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "importer/convert.h"
#include "importer/source.h"

namespace dbmig::importer {

struct ImportResult {
  Format format = Format::goose;
  std::filesystem::path src;
  std::filesystem::path out;
  std::vector<ConvertedVersion> versions;  // in the tool's order
  nlohmann::ordered_json settings;         // what dbmig.json holds
  std::size_t verify_files = 0;            // written by generate-verify
  std::vector<Diagnostic> warnings;        // dbmig's lint warnings on the output
};

// Imports `src` into `out`. Fails, writing nothing (or removing what it
// wrote), with every problem: OUT exists and is not empty or lies inside
// SRC, a file the tool's reader or convert() refuses, output that fails
// dbmig's own rules. Throws Failure(runtime_failure) when OUT cannot be
// written.
[[nodiscard]] std::expected<ImportResult, std::vector<Diagnostic>> import_tree(
    Format format, const std::filesystem::path& src, const std::filesystem::path& out);

// The report (docs/json.md "import"): every version with its steps and
// every removal, split and addition, per file.
[[nodiscard]] nlohmann::json report_json(const ImportResult& result);
[[nodiscard]] std::string report_text(const ImportResult& result);

}  // namespace dbmig::importer
