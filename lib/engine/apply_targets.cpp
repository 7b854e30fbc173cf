// dbmig apply, the objects a step's proofs are about (contract section 9, PostgreSQL):
// their OIDs, recorded by an earlier run of the same file or resolved on the
// step connection right after the statement that makes them, under the
// step's own search_path; by name only when neither is known.
#include "engine/apply_run.h"

namespace dbmig::engine {

std::size_t index_of(const migration::PlannedStep& step, const sql::Change& change) {
  const auto& changes = step.analysis.changes;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (&changes[i] == &change) return i;
  }
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (changes[i].offset == change.offset && changes[i].kind == change.kind &&
        changes[i].object.name == change.object.name) {
      return i;
    }
  }
  return 0;
}

// The OIDs an earlier run recorded for this very step file, when it did.
void ApplyRun::load_targets(const StepContext& current) {
  targets_.assign(current.step.analysis.changes.size(), std::nullopt);
  builders_.assign(current.step.analysis.changes.size(), 0);
  if (plan_.dialect != sql::Dialect::postgres || current.record == nullptr) return;
  if (current.record->sha256 != current.step.sha256 || !current.record->object_oids ||
      current.record->object_oids->size() != targets_.size()) {
    if (current.record->state == StepState::applied && !targets_.empty()) {
      reporter_.diagnostic(Diagnostic{
          Severity::warning, "", 0, 0,
          current.label +
              " was recorded without the OIDs of its objects (by an older dbmig): its proofs "
              "resolve the names with the database's default search_path",
          ""});
    }
    return;
  }
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const sql::ObjectOids& recorded = (*current.record->object_oids)[i];
    if (recorded.object != "0") targets_[i] = recorded;
  }
}

// The change's OIDs; when not known yet, its names resolved on the step
// connection with the database's (and role's) default search_path.
const sql::ObjectOids& ApplyRun::target_of(const PlannedStep& step, const sql::Change& change) {
  if (targets_.size() != step.analysis.changes.size()) {
    targets_.assign(step.analysis.changes.size(), std::nullopt);
  }
  std::optional<sql::ObjectOids>& target = targets_[index_of(step, change)];
  // An object that did not exist yet (a build not started) is looked up again.
  if (!target || target->object == "0") target = resolve_change(*step_, change);
  return *target;
}

// Right after `statement` ran on the step connection (its own SET
// search_path still in effect): the OIDs of the changes it makes. A failed
// look-up leaves them unknown (resolved later, by the default search_path).
void ApplyRun::resolve_targets_of(const PlannedStep& step,
                                  const sql::Statement& statement) noexcept {
  if (plan_.dialect != sql::Dialect::postgres) return;
  for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
    const sql::Change& change = step.analysis.changes[i];
    if (change.offset < statement.begin || change.offset >= statement.end) continue;
    try {
      targets_[i] = resolve_change(*step_, change);
    } catch (const db::DbError& error) {
      targets_[i].reset();
      reporter_.debug("resolving " + change.object.quoted() + " failed: " + error.fields().message);
    }
  }
}

// Every change's OIDs, when all are known (what the step row records).
std::optional<std::vector<sql::ObjectOids>> ApplyRun::known_targets() const {
  if (plan_.dialect != sql::Dialect::postgres) return std::nullopt;
  std::vector<sql::ObjectOids> known;
  for (const auto& target : targets_) {
    if (!target || target->object == "0") return std::nullopt;
    known.push_back(*target);
  }
  return known;
}

}  // namespace dbmig::engine
