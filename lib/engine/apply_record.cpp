// dbmig apply, recording and failing (apply_run.h): the step's history
// rows (each a fenced write on the state connection), its 'failed' record
// with the server's error, and the "step" line of each outcome.
#include "core/duration.h"
#include "db/error.h"
#include "engine/apply_run.h"
#include "engine/step_error.h"

namespace dbmig::engine {

using std::chrono::milliseconds;

milliseconds elapsed_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
}

StepWrite ApplyRun::step_write(const StepContext& current, StepState state) const {
  StepWrite write;
  write.version = current.version.name;
  write.step = current.step.file.number;
  write.file = current.step.file.file_name;
  write.sha256 = current.step.sha256;
  write.state = state;
  write.transactional = runs_in_one_transaction(current.step);
  write.runner = runner_;
  // A 'started' row records no OIDs: before its statements run, the names
  // resolve under the default search_path, not necessarily to the step's.
  if (targets_.size() == current.step.analysis.changes.size() && state != StepState::started) {
    write.object_oids = known_targets();
  }
  return write;
}

// The step's row in `state`; a 'verified' row of the version's last step
// also advances the version, in the same fenced write.
void ApplyRun::record_step(const StepContext& current, StepState state,
                           std::optional<std::int64_t> duration_ms, std::optional<int> progress) {
  StepWrite write = step_write(current, state);
  write.duration_ms = duration_ms;
  write.progress = progress;
  std::vector<std::string> statements{tables_.write_step_sql(write)};
  if (state == StepState::verified && current.last)
    statements.push_back(tables_.advance_version_sql(current.version.name));
  fenced_write(*state_, *lease_, statements);
}

void ApplyRun::fail_step(const StepContext& current, const std::string& message,
                         const std::string& hint) {
  record_failure(current, message);
  throw Failure(ExitCode::runtime_failure, message, hint);
}

// The step's 'failed' record, with the time the step ran, and its line.
void ApplyRun::record_failure(const StepContext& current, const std::string& message) {
  reporter_.end_progress();
  const milliseconds duration = elapsed_since(current.start);
  StepWrite write = step_write(current, StepState::failed);
  write.error = message;
  write.duration_ms = duration.count();
  fenced_write(*state_, *lease_, {tables_.write_step_sql(write)});
  report_step(current, "failed", duration);
}

void ApplyRun::fail_on_db_error(const StepContext& current, const db::DbError& error) {
  if (error.connection_lost()) {
    throw Failure(ExitCode::runtime_failure,
                  current.label + ": connection lost: " + describe_error(error),
                  "run dbmig apply again: it reads what was recorded and continues");
  }
  record_failure(current, current.label + ": " + describe_error(error));
  ServerError server = server_error_of(current.step, error);
  if (!server.statement.empty()) reporter_.debug("failing statement: " + server.statement);
  throw DatabaseFailure(ExitCode::runtime_failure, current.label + ": " + error.fields().message,
                        "fix the step (or the data it needs), then run dbmig apply again",
                        std::move(server));
}

// PostgreSQL: a concurrent build whose own statement failed (unique
// violation, statement_timeout, cancel) leaves its index INVALID; say so at
// once, with the server's error, instead of only on the next run.
void ApplyRun::fail_if_left_invalid(const StepContext& current, const db::DbError& error) {
  if (plan_.dialect != sql::Dialect::postgres) return;
  for (const sql::Change& change : current.step.analysis.changes) {
    if (change.kind != sql::ChangeKind::create_index) continue;
    const auto& oids = targets_[index_of(current.step, change)];
    const auto index = oids ? find_index(*state_, *oids) : std::nullopt;
    if (!index || index->valid) continue;
    fail_step(current,
              current.label + ": " + describe_error(error) + "; it left index " +
                  change.object.quoted() + " on " + change.table.quoted() + " INVALID",
              "fix the cause (or the data), then run dbmig apply --repair to drop the INVALID "
              "index and build it again");
  }
}

void ApplyRun::fail_invalid_index(const StepContext& current, const sql::Change& change) {
  fail_step(current,
            current.label + ": index " + change.object.quoted() + " on " + change.table.quoted() +
                " is INVALID (a concurrent build failed or was interrupted)",
            "run dbmig apply --repair to drop it and build it again");
}

void ApplyRun::report_step(const StepContext& current, std::string_view action,
                           milliseconds duration) {
  reporter_.event("step",
                  {{"version", current.version.name},
                   {"step", current.step.file.number},
                   {"file", current.step.file.file_name},
                   {"action", action},
                   {"duration_ms", duration.count()}},
                  current.version.name + " " + current.step.file.file_name + " " +
                      std::string(action) + " " + format_duration(duration));
}

std::string ApplyRun::current_server_time() {
  const db::Result result = state_->exec("SELECT now()");
  return std::string(result.get(0, 0));
}

// The server's message with its SQLSTATE, detail and hint on one line, as
// db::describe renders them (secrets masked), for a step's failure.
std::string ApplyRun::describe_error(const db::DbError& error) const {
  const db::ErrorDescription description = db::describe(error, conninfo_);
  std::string text = description.message;
  if (!description.sqlstate.empty()) text += " (SQLSTATE " + description.sqlstate + ")";
  if (!description.detail.empty()) text += "; detail: " + description.detail;
  if (!description.hint.empty()) text += "; hint: " + description.hint;
  return text;
}

}  // namespace dbmig::engine
