// dbmig verify (SPEC section 7): re-runs the proof of every change of every
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
#include "engine/dialect_check.h"
#include "engine/inspect.h"
#include "engine/server.h"
#include "engine/state.h"
#include "engine/supersession.h"
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
  std::string sqlstate;       // for error
  std::string error;          // for error
};

// A step the database records as applied or verified, in plan order.
struct AppliedStep {
  const migration::PlannedVersion* version;
  const migration::PlannedStep* step;
};

std::vector<AppliedStep> applied_steps(const migration::Plan& plan, const DatabaseState& state) {
  std::vector<AppliedStep> steps;
  for (const migration::PlannedVersion& version : plan.versions) {
    for (const migration::PlannedStep& step : version.steps) {
      const StepRecord* record = state.find_step(version.name, step.file.number);
      if (record != nullptr &&
          (record->state == StepState::applied || record->state == StepState::verified)) {
        steps.push_back({&version, &step});
      }
    }
  }
  return steps;
}

// The label of the first applied step after `index` with a removal for
// which `matches` holds.
std::optional<std::string> first_later_step_removing(
    const std::vector<AppliedStep>& steps, std::size_t index,
    const std::function<bool(const Removal&)>& matches) {
  for (std::size_t later = index + 1; later < steps.size(); ++later) {
    const migration::PlannedStep& step = *steps[later].step;
    for (const sql::Statement& statement : step.analysis.statements) {
      for (const Removal& removal : removals_of(statement, step.text)) {
        if (matches(removal)) return step_label(steps[later].version->name, step.file.file_name);
      }
    }
  }
  return std::nullopt;
}

// The first applied step after `index` that drops or renames `change`'s object.
std::optional<std::string> superseding_step(const std::vector<AppliedStep>& steps,
                                            std::size_t index, const sql::Change& change) {
  return first_later_step_removing(
      steps, index, [&change](const Removal& removal) { return supersedes(removal, change); });
}

// The first applied step after `index` that drops a column `change`'s
// definition uses (the server dropped the index or constraint with it).
std::optional<std::string> column_dropping_step(const std::vector<AppliedStep>& steps,
                                                std::size_t index, const sql::Change& change) {
  const migration::PlannedStep& own = *steps[index].step;
  const std::vector<std::string> words =
      definition_words(change, own.analysis.statements, own.text);
  if (words.empty()) return std::nullopt;
  return first_later_step_removing(steps, index, [&](const Removal& removal) {
    return drops_column_of(removal, change, words);
  });
}

bool is_true(std::string_view text) { return text == "t" || text == "true"; }

// Runs one proof. A lost connection ends the command (rethrown); any other
// error is the proof's outcome.
void run_proof(db::Connection& connection, const sql::Change& change, sql::Dialect dialect,
               Proof& proof) {
  try {
    const db::Result result = connection.exec(sql::verify_query(change, dialect));
    if (result.rows() != 1 || result.columns() != 1 || result.is_null(0, 0)) {
      proof.outcome = Outcome::error;
      proof.error = "the verify query did not return one boolean";
      return;
    }
    proof.outcome = is_true(result.get(0, 0)) ? Outcome::proved : Outcome::incomplete;
  } catch (const db::DbError& error) {
    if (error.connection_lost()) throw;
    proof.outcome = Outcome::error;
    proof.sqlstate = error.sqlstate();
    proof.error = error.fields().message;
  }
}

std::vector<Proof> run_proofs(const migration::Plan& plan, const DatabaseState& state,
                              db::Connection& connection) {
  const std::vector<AppliedStep> steps = applied_steps(plan, state);
  std::vector<Proof> proofs;
  for (std::size_t index = 0; index < steps.size(); ++index) {
    const migration::PlannedStep& step = *steps[index].step;
    for (const sql::Change& change : step.analysis.changes) {
      Proof proof;
      proof.version = steps[index].version->name;
      proof.file = step.file.file_name;
      proof.change = sql::describe_change(change, plan.dialect);
      if (auto by = superseding_step(steps, index, change)) {
        proof.outcome = Outcome::superseded;
        proof.superseded_by = *by;
      } else {
        run_proof(connection, change, plan.dialect, proof);
        // A failed proof is explained (never skipped) by a later column drop.
        if (proof.outcome == Outcome::incomplete) {
          if (auto dropper = column_dropping_step(steps, index, change)) {
            proof.outcome = Outcome::superseded;
            proof.superseded_by = *dropper;
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
    case Outcome::proved: return line + "ok";
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

}  // namespace

ExitCode verify(const migration::Plan& plan, const ConnectionSettings& connection_settings,
                Reporter& reporter) {
  warn_about_verify_files(plan, reporter);
  db::Connection connection = connect_for_reading(connection_settings);
  require_server_dialect(plan, connection);
  const DatabaseState state = StateTables(connection_settings.state_schema).read(connection);
  if (auto problem = unknown_version_problem(plan, state)) {
    throw Failure(ExitCode::usage_error, problem->message, problem->hint);
  }
  const std::vector<Proof> proofs = run_proofs(plan, state, connection);
  const ExitCode code = exit_code_of(proofs);
  reporter.result(document(plan, state, proofs, code), text(state, proofs));
  return code;
}

}  // namespace dbmig::engine
