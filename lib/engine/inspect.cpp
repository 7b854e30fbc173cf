#include "engine/inspect.h"

#include <charconv>
#include <memory>
#include <unordered_map>

namespace dbmig::engine {
namespace {

// The read-only commands hold no lease: their connections get the timeouts
// of a runner with the default lease TTL.
constexpr std::chrono::milliseconds kReadingLeaseTtl{15000};

// N of "<N>-name" / "<N>_name" (or a bare "<N>"); nullopt otherwise.
std::optional<std::int64_t> leading_number(std::string_view name) {
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (error != std::errc{} || end == name.data()) return std::nullopt;
  if (end != name.data() + name.size() && *end != '-' && *end != '_') return std::nullopt;
  return number;
}

// The first recorded version name the plan does not know, if any.
std::optional<std::string> first_unknown_version(const migration::Plan& plan,
                                                 const DatabaseState& state) {
  if (state.version && !plan.find_version(*state.version)) return state.version;
  for (const StepRecord& record : state.steps) {
    if (!plan.find_version(record.version)) return record.version;
  }
  return std::nullopt;
}

bool newer_than_plan(const migration::Plan& plan, std::string_view version) {
  if (plan.versions.empty()) return true;
  const auto newest = plan.versions.back().number;
  const auto recorded = leading_number(version);
  return newest && recorded && *recorded > *newest;
}

}  // namespace

db::Connection connect_for_reading(const ConnectionSettings& settings, bool catalog_search_path) {
  return db::Connection::open(
      db::state_session(settings.conninfo, kReadingLeaseTtl, catalog_search_path));
}

std::optional<Diagnostic> unknown_version_problem(const migration::Plan& plan,
                                                  const DatabaseState& state) {
  const auto unknown = first_unknown_version(plan, state);
  if (!unknown) return std::nullopt;
  const bool is_current = state.version == unknown;
  Diagnostic problem;
  problem.file = plan.root.string();
  if (newer_than_plan(plan, *unknown)) {
    problem.message = "the database is newer than the directory: it " +
                      std::string(is_current ? "is at version " : "records a step of version ") +
                      *unknown + ", newer than the newest version in the directory" +
                      (plan.versions.empty() ? "" : " (" + plan.versions.back().name + ")");
    problem.hint = "use the migration directory of the release that applied " + *unknown;
  } else {
    problem.message = (is_current ? "the database is at version " + *unknown
                                  : "the database records a step of version " + *unknown) +
                      ", which the directory does not contain";
    problem.hint = "restore " + *unknown +
                   " in the directory (versions must never be renamed or removed once applied)";
  }
  return problem;
}

std::optional<std::size_t> applied_version_index(const migration::Plan& plan,
                                                 const DatabaseState& state) {
  if (!state.version) return std::nullopt;
  return plan.find_version(*state.version);
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
