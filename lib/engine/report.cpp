#include "engine/report.h"

#include <ctime>
#include <iostream>

namespace dbmig::engine {

namespace {

// Events that are a command's result: printed under --quiet too (the plan
// of a dry run, the final summary).
bool is_result_event(std::string_view type) { return type == "done" || type == "plan"; }

}  // namespace

Reporter::Reporter(OutputOptions options, std::ostream& out, std::ostream& err)
    : options_(options), out_(out), err_(err) {}

void Reporter::write_json_line(const nlohmann::json& object) {
  out_ << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
}

void Reporter::event(std::string_view type, const nlohmann::json& fields, std::string_view text) {
  std::lock_guard lock(mutex_);
  if (options_.format == OutputFormat::json) {
    nlohmann::json object = {{"event", type}, {"time", utc_timestamp()}};
    if (fields.is_object()) object.update(fields);
    write_json_line(object);
    return;
  }
  if (options_.quiet && !is_result_event(type)) return;
  if (live_line_open_) {
    out_ << '\n';
    live_line_open_ = false;
  }
  out_ << text << '\n';
  out_.flush();
}

void Reporter::notice(std::string_view type, const nlohmann::json& fields, std::string_view text) {
  if (options_.format == OutputFormat::json) {
    event(type, fields, text);
    return;
  }
  std::lock_guard lock(mutex_);
  if (live_line_open_) {
    out_ << '\n';
    out_.flush();
    live_line_open_ = false;
  }
  err_ << text << '\n';
  err_.flush();
}

void Reporter::debug(std::string_view text) {
  if (options_.format == OutputFormat::json) {
    event("debug", {{"message", text}}, text);
  } else if (options_.verbose && !options_.quiet) {
    event("debug", nullptr, text);
  }
}

void Reporter::progress(const nlohmann::json& fields, std::string_view text) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const bool due = last_progress_ == std::chrono::steady_clock::time_point{} ||
                   now - last_progress_ >= options_.progress_interval;
  if (options_.format == OutputFormat::json) {
    if (!due) return;
    last_progress_ = now;
    nlohmann::json object = {{"event", "progress"}, {"time", utc_timestamp()}};
    if (fields.is_object()) object.update(fields);
    write_json_line(object);
    return;
  }
  if (options_.quiet) return;
  if (options_.terminal) {
    out_ << "\r\033[K" << text;
    out_.flush();
    live_line_open_ = true;
    return;
  }
  if (!due) return;
  last_progress_ = now;
  out_ << text << '\n';
  out_.flush();
}

void Reporter::end_progress() {
  std::lock_guard lock(mutex_);
  if (live_line_open_) {
    out_ << '\n';
    out_.flush();
    live_line_open_ = false;
  }
  last_progress_ = {};
}

void Reporter::diagnostic(const Diagnostic& diagnostic) {
  std::lock_guard lock(mutex_);
  if (options_.format == OutputFormat::json) {
    nlohmann::json object = {
        {"event", "diagnostic"},
        {"time", utc_timestamp()},
        {"severity", diagnostic.severity == Severity::error ? "error" : "warning"},
        {"file", diagnostic.file},
        {"line", diagnostic.line},
        {"column", diagnostic.column},
        {"message", diagnostic.message},
        {"hint", diagnostic.hint},
        {"rule", diagnostic.rule.empty() ? nlohmann::json() : nlohmann::json(diagnostic.rule)}};
    write_json_line(object);
    return;
  }
  if (live_line_open_) {
    out_ << '\n';
    out_.flush();
    live_line_open_ = false;
  }
  err_ << diagnostic.format() << '\n';
  err_.flush();
}

void Reporter::result(const nlohmann::json& document, std::string_view text) {
  std::lock_guard lock(mutex_);
  if (options_.format == OutputFormat::json) {
    write_json_line(document);
    return;
  }
  out_ << text;
  if (!text.empty() && text.back() != '\n') out_ << '\n';
  out_.flush();
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(millis));
  return out;
}

}  // namespace dbmig::engine
