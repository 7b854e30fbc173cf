#include "output.h"

#include <iostream>

#include "context.h"

namespace dbmig::app {
namespace {

void print_json_line(const nlohmann::json& object) {
  std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

}  // namespace

CommandOutput::CommandOutput(const CommonOptions& common, std::string command, bool single_document)
    : json_(common.json), single_document_(single_document), command_(std::move(command)) {
  std::ostream& out = holds_document() ? static_cast<std::ostream&>(held_) : std::cout;
  reporter_ = std::make_unique<engine::Reporter>(output_options(common), out, std::cerr);
}

bool CommandOutput::holds_document() const { return json_ && single_document_; }

void CommandOutput::split_held(nlohmann::json& diagnostics, nlohmann::json& document) const {
  diagnostics = nlohmann::json::array();
  document = nullptr;
  std::istringstream lines(held_.str());
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_object() && object.contains("command")) {
      document = std::move(object);
    } else if (object.is_object() && object.value("event", "") == "diagnostic") {
      object.erase("event");
      object.erase("time");
      diagnostics.push_back(std::move(object));
    }
  }
}

void CommandOutput::finish() {
  if (!holds_document()) return;
  nlohmann::json diagnostics;
  nlohmann::json document;
  split_held(diagnostics, document);
  if (document.is_null()) document = {{"command", command_}, {"error", nullptr}};
  document["diagnostics"] = diagnostics;
  print_json_line(document);
}

int CommandOutput::fail(ExitCode code, nlohmann::json error, const std::string& text) {
  std::cerr << text;
  std::cerr.flush();
  if (!json_) return static_cast<int>(code);
  if (holds_document()) {
    nlohmann::json diagnostics;
    nlohmann::json ignored;
    split_held(diagnostics, ignored);
    print_json_line({{"command", command_},
                     {"error", std::move(error)},
                     {"diagnostics", diagnostics},
                     {"exit_code", static_cast<int>(code)}});
  } else {
    nlohmann::json line = {{"event", "error"}, {"time", engine::utc_timestamp()}};
    line.update(error);
    line["exit_code"] = static_cast<int>(code);
    print_json_line(line);
  }
  return static_cast<int>(code);
}

}  // namespace dbmig::app
