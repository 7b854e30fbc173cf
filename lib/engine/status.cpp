// dbmig status (docs/contract.md section 7): compares the state tables with the plan and
// reports, read-only: the current version, pending versions and steps, steps
// in progress or failed, the runner lease, drift (an applied step whose file
// changed), verify-file problems, and on PostgreSQL every INVALID index.
// The JSON document is described in docs/json.md.
#include <algorithm>
#include <sstream>

#include "core/duration.h"
#include "engine/commands.h"
#include "engine/compare.h"
#include "engine/history.h"
#include "engine/inspect.h"
#include "engine/server.h"
#include "engine/state.h"
#include "engine/timestamp.h"

namespace dbmig::engine {
namespace {

using nlohmann::json;

struct PendingStep {
  std::string version;
  const migration::PlannedStep* step;
  const StepRecord* record;  // nullptr when never started
};

struct InvalidIndex {
  std::string schema, index, table_schema, table;
  bool partitioned = false;
  bool being_built = false;
  std::string oid;
};

struct StatusFindings {
  sql::Dialect server_dialect = sql::Dialect::postgres;
  DatabaseState state;
  PlanComparison comparison;  // of the plan with `state` and the server's dialect
  std::vector<PendingStep> pending;
  std::vector<std::string> pending_versions;
  std::vector<migration::VerifyFileProblem> verify_files;
  std::vector<InvalidIndex> invalid_indexes;
};

void find_pending(const migration::Plan& plan, StatusFindings& findings) {
  const PlanComparison& comparison = findings.comparison;
  for (std::size_t index = comparison.first_pending; index < plan.versions.size(); ++index) {
    findings.pending_versions.push_back(plan.versions[index].name);
  }
  for (const StepPosition& position : comparison.pending) {
    findings.pending.push_back({plan.versions[position.version].name,
                                &plan.versions[position.version].steps[position.step],
                                comparison.record_of(position.version, position.step)});
  }
}

// Two statements: the INVALID indexes, then, only when there are any,
// which of them a build is working on. The progress view in the first
// query made it cost 14.5 ms to plan on a fresh backend (BENCHMARKS.md).
std::vector<InvalidIndex> read_invalid_indexes(db::Connection& connection) {
  const db::Result result = connection.exec(
      "SELECT n.nspname, c.relname, tn.nspname, t.relname, c.relkind = 'I', c.oid FROM pg_index i"
      " JOIN pg_class c ON c.oid = i.indexrelid"
      " JOIN pg_namespace n ON n.oid = c.relnamespace"
      " JOIN pg_class t ON t.oid = i.indrelid"
      " JOIN pg_namespace tn ON tn.oid = t.relnamespace"
      " WHERE NOT i.indisvalid ORDER BY 1, 2");
  std::vector<InvalidIndex> indexes;
  indexes.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    indexes.push_back({.schema = std::string(result.get(row, 0)),
                       .index = std::string(result.get(row, 1)),
                       .table_schema = std::string(result.get(row, 2)),
                       .table = std::string(result.get(row, 3)),
                       .partitioned = result.get(row, 4) == "t",
                       .oid = std::string(result.get(row, 5))});
  }
  if (indexes.empty()) return indexes;
  const db::Result building =
      connection.exec("SELECT index_relid FROM pg_stat_progress_create_index");
  for (int row = 0; row < building.rows(); ++row) {
    const std::string_view oid = building.get(row, 0);
    for (InvalidIndex& index : indexes) {
      if (index.oid == oid) index.being_built = true;
    }
  }
  return indexes;
}

// Only the steps/state tables are read; nothing is written.
void inspect(const migration::Plan& plan, const ConnectionSettings& connection_settings,
             const StateReadHook& on_state_read, StatusFindings& findings) {
  db::Connection connection =
      connect_for_reading(connection_settings, plan.dialect == sql::Dialect::postgres);
  findings.server_dialect = detect_dialect(connection);
  findings.state = StateTables(connection_settings.state_schema).read(connection);
  if (on_state_read) on_state_read(findings.state);
  findings.comparison = compare_plan(plan, findings.state, findings.server_dialect);
  find_pending(plan, findings);
  findings.verify_files = migration::check_verify_files(plan);
  if (findings.server_dialect == sql::Dialect::postgres) {
    findings.invalid_indexes = read_invalid_indexes(connection);
  }
}

// Outdated verify files (an older dbmig's, same step) are a warning only:
// upgrading dbmig never stops a deploy (contract section 5).
bool blocks_deploy(const std::vector<migration::VerifyFileProblem>& problems) {
  return std::any_of(problems.begin(), problems.end(), [](const auto& problem) {
    return problem.kind != migration::VerifyFileProblem::Kind::outdated;
  });
}

bool has_failures(const StatusFindings& findings) {
  for (const StepRecord& record : findings.state.steps) {
    if (record.state == StepState::failed) return true;
  }
  return false;
}

// Up to date: apply would have nothing to do and would not refuse.
bool up_to_date(const StatusFindings& findings) {
  return findings.pending.empty() && findings.comparison.drifted.empty() &&
         !blocks_deploy(findings.verify_files) && !has_failures(findings);
}

ExitCode exit_code_of(const StatusFindings& findings, const StatusOptions& options) {
  if (findings.comparison.unknown_version_problem) return ExitCode::usage_error;
  if (!options.exit_code) return ExitCode::ok;
  return up_to_date(findings) ? ExitCode::ok : ExitCode::check_failed;
}

// The INVALID index is the one whose build dbmig cancelled itself (a step
// row records its OID): the next apply rebuilds it without --repair.
bool cancelled_by_dbmig(const InvalidIndex& index, const DatabaseState& state) {
  return std::any_of(state.steps.begin(), state.steps.end(), [&index](const StepRecord& record) {
    return record.cancelled_index_oid == index.oid;
  });
}

json optional_text(const std::optional<std::string>& text) {
  return text ? json(*text) : json(nullptr);
}

// A started or applied row whose runner is gone: nobody holds the lease (it
// was released on an interruption, or expired after a crash), so nobody is
// working on the step; the next apply continues it. While a runner holds the
// lease the step counts as in progress (that runner takes it over).
bool runner_gone(const StepRecord& record, const LeaseInfo& lease) {
  if (record.state != StepState::started && record.state != StepState::applied) return false;
  return !lease.held();
}

json record_json(const StepRecord& record, const LeaseInfo& lease) {
  return {{"version", record.version},
          {"step", record.step},
          {"file", record.file},
          {"state", to_string(record.state)},
          {"error", optional_text(record.error)},
          {"started_at", iso_utc(record.started_at)},
          {"finished_at", record.finished_at ? json(iso_utc(*record.finished_at)) : json(nullptr)},
          {"runner", record.runner},
          {"runner_gone", runner_gone(record, lease)},
          {"cancelled_index_oid", optional_text(record.cancelled_index_oid)}};
}

json steps_json(const StatusFindings& findings, bool failed) {
  json list = json::array();
  for (const StepRecord& record : findings.state.steps) {
    const bool is_failed = record.state == StepState::failed;
    const bool in_progress =
        record.state == StepState::started || record.state == StepState::applied;
    if (failed ? is_failed : in_progress) {
      list.push_back(record_json(record, findings.state.lease));
    }
  }
  return list;
}

json pending_json(const StatusFindings& findings) {
  json list = json::array();
  for (const PendingStep& pending : findings.pending) {
    list.push_back(
        {{"version", pending.version},
         {"step", pending.step->file.number},
         {"file", pending.step->file.file_name},
         {"state", pending.record ? json(to_string(pending.record->state)) : json(nullptr)}});
  }
  return list;
}

json drift_json(const StatusFindings& findings) {
  json list = json::array();
  for (const DriftedStep& drift : findings.comparison.drifted) {
    list.push_back({{"version", drift.record->version},
                    {"step", drift.record->step},
                    {"file", drift.record->file},
                    {"recorded_sha256", drift.record->sha256},
                    {"file_sha256", drift.step ? json(drift.step->sha256) : json(nullptr)}});
  }
  return list;
}

json history_json(const migration::Plan& plan, const StatusFindings& findings) {
  json list = json::array();
  for (const AppliedVersion& applied : applied_history(plan, findings.state)) {
    list.push_back({{"version", applied.version},
                    {"applied_at", applied.applied_at ? json(*applied.applied_at) : json(nullptr)},
                    {"duration_ms", applied.duration_ms},
                    {"runner", applied.runner},
                    {"steps", applied.steps}});
  }
  return list;
}

json document(const migration::Plan& plan, const ConnectionSettings& settings,
              const StatusFindings& findings, ExitCode code) {
  json verify_files = json::array();
  for (const auto& problem : findings.verify_files) {
    verify_files.push_back(
        {{"problem", to_string(problem.kind)}, {"path", relative_path(plan, problem.path)}});
  }
  json invalid = json::array();
  for (const InvalidIndex& index : findings.invalid_indexes) {
    invalid.push_back({{"schema", index.schema},
                       {"index", index.index},
                       {"table_schema", index.table_schema},
                       {"table", index.table},
                       {"partitioned", index.partitioned},
                       {"being_built", index.being_built},
                       {"cancelled_by_dbmig", cancelled_by_dbmig(index, findings.state)}});
  }
  const LeaseInfo& lease = findings.state.lease;
  json error = nullptr;
  if (const auto& problem = findings.comparison.unknown_version_problem) {
    error = {{"message", problem->message}, {"hint", problem->hint}};
  }
  return {{"command", "status"},
          {"dialect", to_string(plan.dialect)},
          {"server_dialect", to_string(findings.server_dialect)},
          {"state_schema", settings.state_schema},
          {"state_tables", findings.state.tables_exist},
          {"current_version", optional_text(findings.state.version)},
          {"up_to_date", up_to_date(findings)},
          {"history", history_json(plan, findings)},
          {"pending_versions", findings.pending_versions},
          {"pending", pending_json(findings)},
          {"in_progress", steps_json(findings, false)},
          {"failed", steps_json(findings, true)},
          {"lease", lease.held() ? json{{"owner", *lease.owner},
                                        {"expires_at", iso_utc(lease.expires_at.value_or(""))}}
                                 : json(nullptr)},
          {"drift", drift_json(findings)},
          {"verify_files", verify_files},
          {"invalid_indexes", invalid},
          {"error", error},
          {"exit_code", static_cast<int>(code)}};
}

std::string plural(std::size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

void write_state_lines(const StatusFindings& findings, std::ostream& out) {
  out << "current version: "
      << (findings.state.version        ? *findings.state.version
          : findings.state.tables_exist ? std::string("none")
                                        : std::string("none (no migrations applied)"))
      << '\n';
  for (const StepRecord& record : findings.state.steps) {
    const std::string label = step_label(record.version, record.file);
    if (runner_gone(record, findings.state.lease)) {
      out << "interrupted: " << label
          << (record.state == StepState::applied ? " applied, awaiting verification; started at "
                                                 : " started at ")
          << iso_utc(record.started_at) << " by " << record.runner
          << ", which is gone (its lease was released or expired)";
      if (record.cancelled_index_oid) {
        out << "; it cancelled its build of index OID " << *record.cancelled_index_oid
            << ", left INVALID: the next dbmig apply drops and rebuilds it";
      } else {
        out << "; the next dbmig apply continues it";
      }
      out << '\n';
    } else if (record.state == StepState::started) {
      out << "in progress: " << label << " started at " << iso_utc(record.started_at) << " by "
          << record.runner << '\n';
    } else if (record.state == StepState::applied) {
      out << "in progress: " << label << " applied, awaiting verification (runner " << record.runner
          << ")\n";
    } else if (record.state == StepState::failed) {
      // apply records its message, which already starts with the step's label.
      std::string error = record.error.value_or("(no error recorded)");
      if (error.starts_with(label + ": ")) error.erase(0, label.size() + 2);
      out << "failed: " << label << ": " << error << '\n';
    }
  }
  const LeaseInfo& lease = findings.state.lease;
  if (lease.held()) {
    out << "lease: held by " << *lease.owner << " until " << iso_utc(lease.expires_at.value_or("?"))
        << '\n';
  }
}

void write_pending_lines(const StatusFindings& findings, std::ostream& out) {
  if (findings.pending.empty()) return;
  out << "pending: " << plural(findings.pending_versions.size(), "version") << ", "
      << plural(findings.pending.size(), "step") << '\n';
  for (const PendingStep& pending : findings.pending) {
    out << "  " << step_label(pending.version, pending.step->file.file_name);
    if (pending.record) out << " (" << to_string(pending.record->state) << ")";
    out << '\n';
  }
}

void write_problem_lines(const migration::Plan& plan, const StatusFindings& findings,
                         std::ostream& out) {
  for (const DriftedStep& drift : findings.comparison.drifted) {
    out << "drift: " << describe_drift(drift) << '\n';
  }
  for (const auto& problem : findings.verify_files) {
    out << "verify file " << to_string(problem.kind) << ": " << relative_path(plan, problem.path)
        << '\n';
  }
  for (const InvalidIndex& index : findings.invalid_indexes) {
    out << "INVALID index: " << index.schema << '.' << index.index << " on " << index.table_schema
        << '.' << index.table
        << (index.being_built   ? " (being built)"
            : index.partitioned ? " (partitioned: valid once every partition has its index)"
            : cancelled_by_dbmig(index, findings.state)
                ? " (left by dbmig's interrupted build: the next dbmig apply rebuilds it)"
                : "")
        << '\n';
  }
}

// The last line: "up to date", or why not and what apply would do.
std::string verdict(const StatusFindings& findings) {
  if (!findings.comparison.drifted.empty()) {
    return "not up to date: drift: dbmig apply will refuse (exit 3) until the applied files are "
           "restored, or apply anyway with --allow-drift";
  }
  if (up_to_date(findings)) return "up to date";
  return "not up to date";
}

void write_history_lines(const migration::Plan& plan, const StatusFindings& findings,
                         std::ostream& out) {
  const std::vector<AppliedVersion> history = applied_history(plan, findings.state);
  out << "history: " << plural(history.size(), "applied version")
      << (history.empty() ? "" : ", oldest first") << '\n';
  for (const AppliedVersion& applied : history) {
    out << "  " << applied.version << "  "
        << (applied.applied_at ? "applied " + *applied.applied_at + " in " +
                                     format_duration(milliseconds{applied.duration_ms}) + " (" +
                                     plural(static_cast<std::size_t>(applied.steps), "step") +
                                     ") by " + applied.runner
                               : std::string("recorded without step history"))
        << '\n';
  }
}

std::string text(const migration::Plan& plan, const StatusFindings& findings,
                 const StatusOptions& options) {
  std::ostringstream out;
  if (options.history) write_history_lines(plan, findings, out);
  write_state_lines(findings, out);
  write_pending_lines(findings, out);
  write_problem_lines(plan, findings, out);
  out << verdict(findings) << '\n';
  return out.str();
}

}  // namespace

ExitCode status(const migration::Plan& plan, const ConnectionSettings& connection,
                const StatusOptions& options, Reporter& reporter) {
  StatusFindings findings;
  inspect(plan, connection, options.on_state_read, findings);
  if (const auto& mismatch = findings.comparison.dialect_mismatch) {
    reporter.diagnostic({.severity = Severity::warning,
                         .file = plan.root.string(),
                         .message = mismatch->what(),
                         .hint = mismatch->hint()});
  }
  if (const auto& problem = findings.comparison.unknown_version_problem) {
    reporter.diagnostic(*problem);
  }
  const ExitCode code = exit_code_of(findings, options);
  reporter.result(document(plan, connection, findings, code), text(plan, findings, options));
  return code;
}

}  // namespace dbmig::engine
