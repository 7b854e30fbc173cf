// Reporter: how every command talks to the operator.
//
// Text mode prints human lines to stdout (warnings and errors to stderr);
// JSON mode (--json) prints one JSON object per line for `apply` events and
// one JSON document for `status`/`verify`/`generate-verify`. The JSON schema
// is documented in docs/json.md and is stable: fields are only ever added.
// Progress while waiting goes to a live line (carriage return) on a terminal
// and to periodic lines otherwise.
#pragma once

#include <chrono>
#include <iosfwd>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/diagnostic.h"

namespace dbmig::engine {

enum class OutputFormat { text, json };

struct OutputOptions {
  OutputFormat format = OutputFormat::text;
  bool quiet = false;     // text mode: only warnings, errors and final results
  bool verbose = false;   // text mode: also debug lines
  bool terminal = false;  // stdout is a terminal: progress uses a live line
  std::chrono::milliseconds progress_interval{5000};  // non-terminal progress line period
};

class Reporter {
 public:
  Reporter(OutputOptions options, std::ostream& out, std::ostream& err);

  [[nodiscard]] const OutputOptions& options() const { return options_; }

  // An event of `type` ("step", "version", "plan", ...). JSON: one line
  // {"event": type, "time": ISO-8601 UTC, ...fields}. Text: `text` on stdout
  // unless quiet; the result events ("plan", "done") also when quiet.
  void event(std::string_view type, const nlohmann::json& fields, std::string_view text);

  // An event the operator should see even under --quiet, as a warning is
  // (a step waiting for a lock): JSON as event(); text: `text` on stderr.
  void notice(std::string_view type, const nlohmann::json& fields, std::string_view text);

  // A debug line: text mode with --verbose only; JSON: event "debug".
  void debug(std::string_view text);

  // Progress of a wait. JSON: event "progress" (rate-limited to the interval).
  // Text on a terminal: rewrites one live line; otherwise prints a line at
  // most once per progress_interval. end_progress() finishes a live line.
  void progress(const nlohmann::json& fields, std::string_view text);
  void end_progress();

  // A warning or error diagnostic: text to stderr; JSON: event "diagnostic".
  void diagnostic(const Diagnostic& diagnostic);

  // The final document of status/verify/generate-verify: JSON mode prints
  // `document` as one line; text mode prints `text` (even when quiet).
  void result(const nlohmann::json& document, std::string_view text);

 private:
  void write_json_line(const nlohmann::json& object);
  OutputOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  std::mutex mutex_;
  bool live_line_open_ = false;
  std::chrono::steady_clock::time_point last_progress_{};
};

// Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ".
[[nodiscard]] std::string utc_timestamp();

}  // namespace dbmig::engine
