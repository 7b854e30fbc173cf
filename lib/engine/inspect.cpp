#include "engine/inspect.h"

#include <memory>
#include <unordered_map>

namespace dbmig::engine {
namespace {

// The read-only commands hold no lease: their connections get the timeouts
// of a runner with the default lease TTL.
constexpr std::chrono::milliseconds kReadingLeaseTtl{15000};

}  // namespace

db::Connection connect_for_reading(const ConnectionSettings& settings, bool catalog_search_path) {
  return db::Connection::open(
      db::state_session(settings.conninfo, kReadingLeaseTtl, catalog_search_path));
}

std::string_view to_string(migration::VerifyFileProblem::Kind kind) {
  switch (kind) {
    case migration::VerifyFileProblem::Kind::missing: return "missing";
    case migration::VerifyFileProblem::Kind::stale: return "stale";
    case migration::VerifyFileProblem::Kind::spurious: return "spurious";
    case migration::VerifyFileProblem::Kind::outdated: return "outdated";
  }
  return "unknown";
}

std::string step_label(std::string_view version, std::string_view file) {
  return std::string(version) + "/" + std::string(file);
}

std::string relative_path(const migration::Plan& plan, const std::filesystem::path& path) {
  const std::filesystem::path relative = path.lexically_relative(plan.root);
  if (relative.empty() || *relative.begin() == "..") return path.string();
  return relative.string();
}

std::function<bool(const migration::PlannedVersion&, const migration::PlannedStep&)>
steps_to_analyse(const DatabaseState& state) {
  auto verified = std::make_shared<std::unordered_map<std::string, std::string>>();
  for (const StepRecord& record : state.steps) {
    if (record.state != StepState::verified) continue;
    verified->emplace(record.version + '/' + std::to_string(record.step), record.sha256);
  }
  return [verified](const migration::PlannedVersion& version, const migration::PlannedStep& step) {
    const auto found = verified->find(version.name + '/' + std::to_string(step.file.number));
    return found == verified->end() || found->second != step.sha256;
  };
}

}  // namespace dbmig::engine
