// Where a command's output goes (docs/json.md).
//
// Text output and `apply`'s JSON event lines stream straight to stdout. In
// JSON mode the document commands (status, verify, generate-verify) print
// exactly one JSON document: diagnostics reported on the way are held and
// added to it as "diagnostics", and an error that aborts the command becomes
// a document of its own with "error" set. An aborting error is always also
// printed as text on stderr ("dbmig: error: ...").
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli.h"
#include "core/failure.h"
#include "engine/report.h"

namespace dbmig::app {

class CommandOutput {
 public:
  CommandOutput(const CommonOptions& common, std::string command, bool single_document);

  [[nodiscard]] engine::Reporter& reporter() { return *reporter_; }

  // After the command returned: prints the held document (JSON document mode).
  void finish();

  // Reports an error that aborted the command and returns `code` as an int.
  // `error` holds the JSON fields (message, hint, sqlstate...); `text` is the
  // whole stderr text.
  int fail(ExitCode code, nlohmann::json error, const std::string& text);

 private:
  [[nodiscard]] bool holds_document() const;
  // The held lines: the diagnostics and the document (null when none).
  void split_held(nlohmann::json& diagnostics, nlohmann::json& document) const;

  bool json_;
  bool single_document_;
  std::string command_;
  std::ostringstream held_;
  std::unique_ptr<engine::Reporter> reporter_;
};

}  // namespace dbmig::app
