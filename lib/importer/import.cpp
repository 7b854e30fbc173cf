#include "importer/import.h"

#include <fstream>
#include <set>

#include "core/failure.h"
#include "migration/directory.h"
#include "migration/generate_verify.h"
#include "migration/plan.h"

namespace dbmig::importer {
namespace {

namespace fs = std::filesystem;
using Diagnostics = std::vector<Diagnostic>;

Diagnostic error(const fs::path& path, std::string message, std::string hint = {}) {
  return {.severity = Severity::error,
          .file = path.string(),
          .message = std::move(message),
          .hint = std::move(hint)};
}

std::optional<Diagnostic> check_out(const fs::path& src, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return error(out, "the output directory exists and is not empty",
                 "give a new or empty directory: import never overwrites");
  }
  const fs::path source = fs::weakly_canonical(src, ec);
  const fs::path target = fs::weakly_canonical(out, ec);
  auto [s, t] = std::mismatch(source.begin(), source.end(), target.begin(), target.end());
  if (s == source.end()) {
    return error(out, "the output directory lies inside the source tree",
                 "import never writes into SRC; choose a directory outside it");
  }
  return std::nullopt;
}

void write_file(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw Failure(ExitCode::runtime_failure, "cannot write " + path.string());
}

nlohmann::ordered_json base_settings(Format format, const std::vector<ConvertedVersion>& versions) {
  nlohmann::ordered_json settings;
  settings["dialect"] = "postgres";
  std::string multi_ddl_through;
  for (const ConvertedVersion& version : versions) {
    for (const ConvertedStep& step : version.steps) {
      if (step.ddl_count > 1) multi_ddl_through = version.name;
    }
  }
  if (!multi_ddl_through.empty()) settings["multi_ddl_allowed_through"] = multi_ddl_through;
  nlohmann::ordered_json map = nlohmann::ordered_json::object();
  for (const ConvertedVersion& version : versions) map[version.tool_version] = version.name;
  settings["imported_from"] = {{"format", std::string(to_string(format))}, {"versions", map}};
  return settings;
}

// True when dbmig, reading OUT without a "versions" list, finds exactly the
// tool's order (numbered names, unique, ascending).
bool numbering_keeps_order(const fs::path& out, const std::vector<ConvertedVersion>& versions) {
  auto dir = migration::load_directory(out);
  if (!dir || dir->versions.size() != versions.size()) return false;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (dir->versions[i].name != versions[i].name) return false;
  }
  return true;
}

void write_settings(const fs::path& out, const nlohmann::ordered_json& settings) {
  write_file(out / "dbmig.json", settings.dump(2) + "\n");
}

Diagnostics duplicate_names(const fs::path& src, const std::vector<ConvertedVersion>& versions) {
  Diagnostics problems;
  std::set<std::string> seen;
  for (const ConvertedVersion& version : versions) {
    if (!seen.insert(version.name).second) {
      problems.push_back(
          error(src / version.source,
                "another migration also becomes version directory \"" + version.name + "\"",
                "rename one of them in the source tree"));
    }
  }
  return problems;
}

void remove_written(const fs::path& out, bool existed) {
  std::error_code ec;
  if (!existed) {
    fs::remove_all(out, ec);
    return;
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(out, ec)) {
    fs::remove_all(entry.path(), ec);
  }
}

std::string backquoted(std::string_view text) {
  std::string out = "`";
  for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "`";
}

}  // namespace

std::expected<ImportResult, std::vector<Diagnostic>> import_tree(Format format, const fs::path& src,
                                                                 const fs::path& out) {
  if (auto problem = check_out(src, out)) return std::unexpected(Diagnostics{*problem});
  auto migrations = read_source(format, src);
  if (!migrations) return std::unexpected(std::move(migrations.error()));
  ImportResult result{format, src, out, {}, {}, 0, {}};
  Diagnostics problems;
  for (const SourceMigration& migration : *migrations) {
    auto converted = convert(migration, src.string());
    if (converted) {
      result.versions.push_back(std::move(*converted));
    } else {
      problems.push_back(std::move(converted.error()));
    }
  }
  for (Diagnostic& d : duplicate_names(src, result.versions)) problems.push_back(std::move(d));
  if (!problems.empty()) return std::unexpected(std::move(problems));

  std::error_code ec;
  const bool existed = fs::exists(out, ec);
  for (const ConvertedVersion& version : result.versions) {
    for (const ConvertedStep& step : version.steps) {
      write_file(out / version.name / step.file_name, step.text);
    }
  }
  result.settings = base_settings(format, result.versions);
  write_settings(out, result.settings);
  if (!numbering_keeps_order(out, result.versions)) {
    nlohmann::ordered_json order = nlohmann::ordered_json::array();
    for (const ConvertedVersion& version : result.versions) order.push_back(version.name);
    result.settings["versions"] = order;
    write_settings(out, result.settings);
  }
  auto plan = migration::build_plan(out, {});
  if (!plan) {
    remove_written(out, existed);
    return std::unexpected(std::move(plan.error()));
  }
  result.warnings = plan->warnings;
  result.verify_files = migration::generate_verify(*plan).written.size();
  return result;
}

nlohmann::json report_json(const ImportResult& result) {
  nlohmann::json versions = nlohmann::json::array();
  for (const ConvertedVersion& version : result.versions) {
    nlohmann::json steps = nlohmann::json::array();
    for (const ConvertedStep& step : version.steps) {
      steps.push_back({{"file", step.file_name}, {"ddl_statements", step.ddl_count}});
    }
    nlohmann::json edits = nlohmann::json::array();
    for (const Edit& edit : version.edits) {
      edits.push_back({{"kind", std::string(to_string(edit.kind))},
                       {"file", edit.file},
                       {"line", edit.line},
                       {"column", edit.column},
                       {"text", edit.text},
                       {"reason", edit.reason}});
    }
    versions.push_back({{"tool_version", version.tool_version},
                        {"directory", version.name},
                        {"source", version.source},
                        {"run_by_tool", version.mode},
                        {"steps", steps},
                        {"edits", edits}});
  }
  return {{"command", "import"},
          {"from", std::string(to_string(result.format))},
          {"source", result.src.string()},
          {"out", result.out.string()},
          {"versions", versions},
          {"settings", nlohmann::json::parse(result.settings.dump())},
          {"verify_files_written", result.verify_files},
          {"error", nullptr},
          {"exit_code", 0}};
}

std::string report_text(const ImportResult& result) {
  std::string text;
  std::size_t edits = 0;
  for (const ConvertedVersion& version : result.versions) {
    text += version.source + " -> " + version.name + "/";
    for (std::size_t i = 0; i < version.steps.size(); ++i) {
      text += (i > 0 ? ", " : "") + version.steps[i].file_name;
    }
    text += "  (" + version.mode + ")\n";
    for (const Edit& edit : version.edits) {
      text += "  " + edit.file + ":" + std::to_string(edit.line) + ":" +
              std::to_string(edit.column) + ": " + std::string(to_string(edit.kind)) + " " +
              (edit.kind == Edit::Kind::removed ? backquoted(edit.text) : edit.text) + ": " +
              edit.reason + "\n";
      ++edits;
    }
  }
  text += "imported " + std::to_string(result.versions.size()) + " " +
          std::string(to_string(result.format)) + " migrations into " + result.out.string() + ": " +
          std::to_string(edits) + " edits, " + std::to_string(result.verify_files) +
          " verify files written";
  if (result.settings.contains("versions")) text += "; dbmig.json lists the tool's order";
  if (result.settings.contains("multi_ddl_allowed_through")) {
    text += "; multi_ddl_allowed_through " +
            result.settings["multi_ddl_allowed_through"].get<std::string>();
  }
  return text + "\n";
}

}  // namespace dbmig::importer
