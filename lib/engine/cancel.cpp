#include "engine/cancel.h"

namespace dbmig::engine {
namespace {

std::string build_text(const CancelledBuild& build) {
  return "dbmig cancelled its build of index " + build.index + " on " + build.table +
         ", which is left INVALID (OID " + build.index_oid + ")";
}

}  // namespace

Failure interrupted_failure(std::string_view step_label,
                            const std::optional<CancelledBuild>& build) {
  const std::string continues = "run dbmig apply again: it reads what was recorded and continues";
  if (step_label.empty()) return Failure(ExitCode::runtime_failure, "interrupted", continues);
  std::string message = "interrupted during " + std::string(step_label);
  if (!build) return Failure(ExitCode::runtime_failure, message, continues);
  return Failure(ExitCode::runtime_failure, message + ": " + build_text(*build),
                 "run dbmig apply again: it drops that INVALID index and builds it again "
                 "(no --repair needed)");
}

std::optional<CancelledBuild> find_cancelled_build(
    db::Connection& connection, const migration::PlannedStep& step, const sql::Statement& statement,
    const std::vector<std::optional<sql::ObjectOids>>& targets) {
  const auto& changes = step.analysis.changes;
  for (std::size_t i = 0; i < changes.size() && i < targets.size(); ++i) {
    const sql::Change& change = changes[i];
    if (change.kind != sql::ChangeKind::create_index) continue;
    if (change.offset < statement.begin || change.offset >= statement.end) continue;
    if (!targets[i]) continue;
    const auto index = find_index(connection, *targets[i]);
    if (!index || index->valid) continue;
    return CancelledBuild{change.object.quoted(), change.table.quoted(), index->oid};
  }
  return std::nullopt;
}

void stop_interrupted_statement(db::Connection& state, Lease& lease, const StateTables& tables,
                                const migration::PlannedVersion& version,
                                const migration::PlannedStep& step, const sql::Statement& statement,
                                const std::vector<std::optional<sql::ObjectOids>>& targets) {
  const std::string label = version.name + "/" + step.file.file_name;
  std::optional<CancelledBuild> build;
  try {
    build = find_cancelled_build(state, step, statement, targets);
    if (!build) throw interrupted_failure(label, std::nullopt);
    const Failure failure = interrupted_failure(label, build);
    fenced_write(state, lease,
                 {tables.record_cancelled_build_sql(version.name, step.file.number,
                                                    build->index_oid, failure.what())});
    throw failure;
  } catch (const db::DbError& error) {
    const Failure failure = interrupted_failure(label, build);
    throw Failure(ExitCode::runtime_failure, failure.what(),
                  "recording the cancelled build failed (" + error.fields().message +
                      "): run dbmig apply --repair to drop the INVALID index and build it again");
  }
}

bool is_own_cancelled_build(const std::optional<std::string>& recorded_oid, const IndexState& index,
                            const sql::ObjectOids& by_name) {
  if (!recorded_oid || recorded_oid->empty() || index.valid) return false;
  return *recorded_oid == index.oid && by_name.object == index.oid &&
         by_name.table == index.table_oid;
}

}  // namespace dbmig::engine
