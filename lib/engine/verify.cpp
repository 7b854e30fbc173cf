// dbmig verify (docs/contract.md section 7): re-runs the proof of every change of every
// step the database records as applied or verified, each as one short
// autocommit query. A proof whose object a later applied step drops or
// renames (supersession.h) is reported as superseded and not run; a proof
// that fails after a later applied step dropped a column its definition uses
// is reported as superseded by that step. Exit code:
// 1 when a proof query failed (the check is incomplete), else 3 when a proof
// is false, else 0. The JSON document is described in docs/json.md.
#include <functional>
#include <sstream>

#include "engine/commands.h"
#include "engine/compare.h"
#include "engine/dialect_check.h"
#include "engine/inspect.h"
#include "engine/server.h"
#include "engine/state.h"
#include "engine/superseded_proofs.h"
#include "sql/definition.h"
#include "sql/quoting.h"
#include "sql/verify_query.h"

namespace dbmig::engine {
namespace {

using nlohmann::json;

enum class Outcome { proved, incomplete, superseded, error };

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::proved: return "proved";
    case Outcome::incomplete: return "incomplete";
    case Outcome::superseded: return "superseded";
    case Outcome::error: return "error";
  }
  return "error";
}

struct Proof {
  std::string version;
  std::string file;
  std::string change;  // describe_change
  Outcome outcome = Outcome::proved;
  std::string superseded_by;  // step label, for superseded
  std::string found_as;       // for proved: the other name the object was found under
  bool found_by_oid = false;  // found_as is the current name of the step's own object
  std::string sqlstate;       // for error
  std::string error;          // for error
};

// The steps the database records as applied or verified, in plan order.
std::vector<StepRef> applied_steps(const migration::Plan& plan, const PlanComparison& comparison) {
  std::vector<StepRef> steps;
  for (const StepPosition& position : comparison.applied) {
    const migration::PlannedVersion& version = plan.versions[position.version];
    steps.push_back({&version, &version.steps[position.step]});
  }
  return steps;
}

// Runs one proof. A lost connection ends the command (rethrown); any other
// error is the proof's outcome.
void run_proof(db::Connection& connection, const std::string& query, Proof& proof) {
  try {
    const db::Result result = connection.exec(query);
    if (result.rows() != 1 || result.columns() != 1 || result.is_null(0, 0)) {
      proof.outcome = Outcome::error;
      proof.error = "the verify query did not return one boolean";
      return;
    }
    proof.outcome = result.get_bool(0, 0) ? Outcome::proved : Outcome::incomplete;
  } catch (const db::DbError& error) {
    if (error.connection_lost()) throw;
    proof.outcome = Outcome::error;
    proof.sqlstate = error.sqlstate();
    proof.error = error.fields().message;
  }
}

// PostgreSQL: the OIDs the step's row records for this very file (contract section 9:
// the proofs are about the objects the step made); nullopt for a row an
// older dbmig wrote, whose proofs resolve the names with the database's
// default search_path.
std::optional<std::vector<sql::ObjectOids>> recorded_oids(const migration::Plan& plan,
                                                          const PlanComparison& comparison,
                                                          const StepPosition& position) {
  if (plan.dialect != sql::Dialect::postgres) return std::nullopt;
  const migration::PlannedStep& step = plan.versions[position.version].steps[position.step];
  const StepRecord* record = comparison.record_of(position.version, position.step);
  if (record == nullptr || record->sha256 != step.sha256 || !record->object_oids ||
      record->object_oids->size() != step.analysis.changes.size()) {
    return std::nullopt;
  }
  return record->object_oids;
}

// Says which steps' proofs resolve names (rows an older dbmig wrote).
void warn_about_steps_without_oids(const migration::Plan& plan, const PlanComparison& comparison,
                                   Reporter& reporter) {
  if (plan.dialect != sql::Dialect::postgres) return;
  for (const StepPosition& position : comparison.applied) {
    const migration::PlannedVersion& version = plan.versions[position.version];
    const migration::PlannedStep& step = version.steps[position.step];
    if (step.analysis.changes.empty()) continue;
    if (recorded_oids(plan, comparison, position)) continue;
    reporter.diagnostic(
        {.severity = Severity::warning,
         .file = step_label(version.name, step.file.file_name),
         .message = "recorded without the OIDs of its objects (by an older dbmig): its proofs "
                    "resolve the names with the database's default search_path",
         .hint = ""});
  }
}

// The text of the statement of `step` that makes `change`.
std::string_view statement_of(const migration::PlannedStep& step, const sql::Change& change) {
  for (const sql::Statement& statement : step.analysis.statements) {
    if (statement.begin <= change.offset && change.offset < statement.end) {
      return statement.text(step.text);
    }
  }
  return {};
}

// Every index (complete: valid, ready, live) or constraint (validated) of
// the change's table: name, completeness, and the definition as a statement
// the grammar reads. Nothing when the table is gone.
struct CandidateObject {
  std::string name;
  bool complete = false;
  std::string statement;
};

std::vector<CandidateObject> objects_on_table(db::Connection& connection,
                                              const sql::Change& change) {
  const bool index = change.kind == sql::ChangeKind::create_index;
  const std::string sql =
      index ? "SELECT c.relname, (i.indisvalid AND i.indisready AND i.indislive), "
              "pg_catalog.pg_get_indexdef(c.oid) FROM pg_catalog.pg_index i JOIN "
              "pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid WHERE "
              "i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) ORDER BY 1"
            : "SELECT conname, convalidated, pg_catalog.pg_get_constraintdef(oid) FROM "
              "pg_catalog.pg_constraint WHERE conrelid OPERATOR(pg_catalog.=) "
              "pg_catalog.to_regclass($1) ORDER BY 1";
  const db::Result result = connection.exec_params(sql, {change.table.quoted()});
  std::vector<CandidateObject> objects;
  for (int row = 0; row < result.rows(); ++row) {
    CandidateObject object{.name = std::string(result.get(row, 0)),
                           .complete = db::is_true(result.get(row, 1)),
                           .statement = std::string(result.get(row, 2))};
    if (!index) {
      object.statement = "ALTER TABLE t ADD CONSTRAINT " + sql::quote_identifier(object.name) +
                         " " + object.statement;
    }
    objects.push_back(std::move(object));
  }
  return objects;
}

// docs/contract.md section 7 (issue 12): a proof whose object is missing by name while
// the same table holds a complete object of the identical definition under
// another name (renamed by a statement dbmig cannot read, such as EXECUTE
// inside DO) is found under that name. PostgreSQL only; nullopt when an
// object of the proved name exists (then the proof's own answer stands) or
// no identical definition is there.
std::optional<std::string> found_under_another_name(db::Connection& connection,
                                                    const migration::PlannedStep& step,
                                                    const sql::Change& change) {
  if (change.kind != sql::ChangeKind::create_index &&
      change.kind != sql::ChangeKind::add_constraint) {
    return std::nullopt;
  }
  const auto expected = sql::definition_shape(statement_of(step, change), change.object.name);
  if (!expected) return std::nullopt;
  const std::vector<CandidateObject> objects = objects_on_table(connection, change);
  for (const CandidateObject& object : objects) {
    if (object.name == change.object.name) return std::nullopt;
  }
  for (const CandidateObject& object : objects) {
    if (object.complete && sql::definition_shape(object.statement, object.name) == expected) {
      return object.name;
    }
  }
  return std::nullopt;
}

// The current name of the object a proof by OID held for, when it is no
// longer the name the step gave it (renamed since, e.g. by EXECUTE inside DO):
// the proof stands, and the new name is reported like found_under_another_name's.
std::optional<std::string> renamed_to(db::Connection& connection, const sql::Change& change,
                                      const sql::ObjectOids& oids) {
  const bool constraint = change.kind == sql::ChangeKind::add_constraint ||
                          change.kind == sql::ChangeKind::validate_constraint;
  auto name = connection.query_value(
      constraint ? "SELECT conname::pg_catalog.text FROM pg_catalog.pg_constraint "
                   "WHERE oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid"
                 : "SELECT relname::pg_catalog.text FROM pg_catalog.pg_class "
                   "WHERE oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
      {oids.object});
  if (!name || *name == change.object.name) return std::nullopt;
  return name;
}

std::vector<Proof> run_proofs(const migration::Plan& plan, const PlanComparison& comparison,
                              db::Connection& connection) {
  const std::vector<StepRef> steps = applied_steps(plan, comparison);
  std::vector<Proof> proofs;
  for (std::size_t index = 0; index < steps.size(); ++index) {
    const migration::PlannedStep& step = *steps[index].step;
    const auto oids = recorded_oids(plan, comparison, comparison.applied[index]);
    for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
      const sql::Change& change = step.analysis.changes[i];
      Proof proof;
      proof.version = steps[index].version->name;
      proof.file = step.file.file_name;
      proof.change = sql::describe_change(change, plan.dialect);
      if (auto by = superseding_step(steps, index, change)) {
        proof.outcome = Outcome::superseded;
        proof.superseded_by = *by;
      } else {
        run_proof(connection,
                  oids ? sql::verify_query_by_oids(change, (*oids)[i])
                       : sql::verify_query(change, plan.dialect),
                  proof);
        // A failed proof is explained (never skipped) by a later column drop.
        if (proof.outcome == Outcome::incomplete) {
          if (auto dropper = column_dropping_step(steps, index, change)) {
            proof.outcome = Outcome::superseded;
            proof.superseded_by = *dropper;
          }
        }
        if (proof.outcome == Outcome::proved && oids) {
          if (auto current = renamed_to(connection, change, (*oids)[i])) {
            proof.found_as = *current;
            proof.found_by_oid = true;
          }
        }
        if (proof.outcome == Outcome::incomplete && plan.dialect == sql::Dialect::postgres) {
          if (auto other = found_under_another_name(connection, step, change)) {
            proof.outcome = Outcome::proved;
            proof.found_as = *other;
          }
        }
      }
      proofs.push_back(std::move(proof));
    }
  }
  return proofs;
}

std::size_t count(const std::vector<Proof>& proofs, Outcome outcome) {
  std::size_t total = 0;
  for (const Proof& proof : proofs) total += proof.outcome == outcome ? 1 : 0;
  return total;
}

ExitCode exit_code_of(const std::vector<Proof>& proofs) {
  if (count(proofs, Outcome::error) > 0) return ExitCode::runtime_failure;
  if (count(proofs, Outcome::incomplete) > 0) return ExitCode::check_failed;
  return ExitCode::ok;
}

json proof_json(const Proof& proof) {
  json object = {{"version", proof.version},
                 {"file", proof.file},
                 {"change", proof.change},
                 {"status", outcome_name(proof.outcome)}};
  if (proof.outcome == Outcome::superseded) object["superseded_by"] = proof.superseded_by;
  if (!proof.found_as.empty()) object["found_as"] = proof.found_as;
  if (proof.outcome == Outcome::error) {
    object["error"] = {{"sqlstate", proof.sqlstate}, {"message", proof.error}};
  }
  return object;
}

// What to do next when a proof is false or could not run ("" when none).
std::string hint(const std::vector<Proof>& proofs) {
  if (count(proofs, Outcome::incomplete) > 0) {
    return "an INCOMPLETE change was recorded as made but is not in the database now (dropped "
           "or altered by hand, or an index left INVALID: dbmig status lists those); dbmig "
           "never re-runs an applied version: make the change again in a new version (dbmig "
           "new NAME), then dbmig apply";
  }
  if (count(proofs, Outcome::error) > 0) {
    return "a proof query failed: fix the cause shown (permissions, connection), then run dbmig "
           "verify again";
  }
  return "";
}

json document(const migration::Plan& plan, const DatabaseState& state,
              const std::vector<Proof>& proofs, ExitCode code) {
  json list = json::array();
  for (const Proof& proof : proofs) list.push_back(proof_json(proof));
  return {{"command", "verify"},
          {"dialect", sql::to_string(plan.dialect)},
          {"current_version", state.version ? json(*state.version) : json(nullptr)},
          {"proofs", list},
          {"summary",
           {{"proved", count(proofs, Outcome::proved)},
            {"incomplete", count(proofs, Outcome::incomplete)},
            {"superseded", count(proofs, Outcome::superseded)},
            {"error", count(proofs, Outcome::error)}}},
          {"hint", hint(proofs)},
          {"error", nullptr},
          {"exit_code", static_cast<int>(code)}};
}

std::string proof_line(const Proof& proof) {
  std::string line = step_label(proof.version, proof.file) + ": " + proof.change + ": ";
  switch (proof.outcome) {
    case Outcome::proved:
      return proof.found_as.empty()
                 ? line + "ok"
                 : line + "ok, found as " + sql::quote_identifier(proof.found_as);
    case Outcome::incomplete: return line + "INCOMPLETE";
    case Outcome::superseded: return line + "superseded by " + proof.superseded_by;
    case Outcome::error:
      return line + "error: " + proof.error +
             (proof.sqlstate.empty() ? "" : " (SQLSTATE " + proof.sqlstate + ")");
  }
  return line;
}

std::string text(const DatabaseState& state, const std::vector<Proof>& proofs) {
  std::ostringstream out;
  if (!state.tables_exist) out << "no migrations applied: nothing to verify\n";
  for (const Proof& proof : proofs) out << proof_line(proof) << '\n';
  out << proofs.size() << (proofs.size() == 1 ? " proof: " : " proofs: ")
      << count(proofs, Outcome::proved) << " proved, " << count(proofs, Outcome::incomplete)
      << " incomplete, " << count(proofs, Outcome::superseded) << " superseded, "
      << count(proofs, Outcome::error) << " failed to run\n";
  if (!hint(proofs).empty()) out << "hint: " << hint(proofs) << '\n';
  return out.str();
}

void warn_about_verify_files(const migration::Plan& plan, Reporter& reporter) {
  for (const auto& problem : migration::check_verify_files(plan)) {
    reporter.diagnostic({.severity = Severity::warning,
                         .file = problem.path.string(),
                         .message = "verify file is " + std::string(to_string(problem.kind)),
                         .hint = "run dbmig generate-verify; verify runs the proofs dbmig "
                                 "generates, not the files"});
  }
}

// One warning per proof found under another name, naming both.
void warn_about_renamed_objects(const std::vector<Proof>& proofs, Reporter& reporter) {
  for (const Proof& proof : proofs) {
    if (proof.found_as.empty()) continue;
    reporter.diagnostic(
        {.severity = Severity::warning,
         .file = step_label(proof.version, proof.file),
         .message =
             proof.change +
             (proof.found_by_oid ? ": the object the step made (by its recorded OID) is now named "
                                 : ": not found by its name, but an identical definition is ") +
             sql::quote_identifier(proof.found_as) + " on the same table",
         .hint = "it was renamed by a statement dbmig cannot read (EXECUTE inside DO?); a "
                 "later step that renames it with ALTER ... RENAME makes this silent"});
  }
}

}  // namespace

ExitCode verify(const migration::Plan& plan, const ConnectionSettings& connection_settings,
                Reporter& reporter) {
  warn_about_verify_files(plan, reporter);
  db::Connection connection = connect_for_reading(connection_settings, false);
  require_server_dialect(plan, connection);
  const DatabaseState state = StateTables(connection_settings.state_schema).read(connection);
  const PlanComparison comparison = compare_plan(plan, state);
  if (const auto& problem = comparison.unknown_version_problem) {
    throw Failure(ExitCode::usage_error, problem->message, problem->hint);
  }
  warn_about_steps_without_oids(plan, comparison, reporter);
  const std::vector<Proof> proofs = run_proofs(plan, comparison, connection);
  warn_about_renamed_objects(proofs, reporter);
  const ExitCode code = exit_code_of(proofs);
  reporter.result(document(plan, state, proofs, code), text(state, proofs));
  return code;
}

}  // namespace dbmig::engine
