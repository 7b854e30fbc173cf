// dbmig apply, non-transactional steps (apply_run.h): CREATE INDEX
// CONCURRENTLY, CockroachDB DDL and the like are recorded 'started', run
// statement by statement (each committed as mode_of says), recorded
// 'applied', and then verified by polling until the proof holds, a definite
// failure shows (an INVALID index that nobody is building, a failed schema
// change job), or --verify-timeout passes. A build an earlier run started is
// waited for instead of started again; progress is reported meanwhile.
#include <algorithm>
#include <thread>

#include "core/duration.h"
#include "engine/apply_run.h"
#include "engine/cancel.h"
#include "engine/interrupt.h"
#include "sql/verify_query.h"

namespace dbmig::engine {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Changes whose build an earlier run started (and that is still running)
// are waited for first; their statements are not issued again. The other
// statements then run, unless the step is already recorded 'applied'.
void ApplyRun::run_non_transactional(const StepContext& current) {
  const auto start = steady_clock::now();
  const bool applied = current.record && current.record->state == StepState::applied;
  const std::vector<sql::Change> awaited =
      plan_.dialect == sql::Dialect::postgres
          ? prepare_index_changes(current)
          : earlier_jobs_running(current.step, applied ? nullptr : current.record);
  std::string since = current.record ? current.record->started_at : current_server_time();
  if (!awaited.empty()) wait_for_proofs(current, awaited, since);
  bool executed = false;
  if (!applied) {
    if (current.record) since = current_server_time();
    // Statements an earlier run committed under the fence, of this very file.
    const int resume_from = current.record && current.record->sha256 == current.step.sha256
                                ? current.record->progress
                                : 0;
    record_step(current, StepState::started, std::nullopt, resume_from);
    executed = execute_statements(current, awaited, since, resume_from);
    record_step(current, StepState::applied, std::nullopt);
  }
  wait_for_proofs(current, current.step.analysis.changes, since);
  record_step(current, StepState::verified, elapsed_since(start).count());
  report_step(current, executed ? "applied and verified" : "verified", elapsed_since(start));
}

// PostgreSQL, before a step runs: for each index the step creates, an
// earlier build still running means "wait for it, do not re-issue" (the
// change is returned); an INVALID index nobody builds is dropped under
// --repair, else the step fails at once.
std::vector<sql::Change> ApplyRun::prepare_index_changes(const StepContext& current) {
  std::vector<sql::Change> awaited;
  if (plan_.dialect != sql::Dialect::postgres) return awaited;
  for (const sql::Change& change : current.step.analysis.changes) {
    if (change.kind != sql::ChangeKind::create_index) continue;
    const sql::ObjectOids& oids = target_of(current.step, change);
    const auto index = find_index(*state_, oids);
    if (const auto build = find_index_build(*state_, oids, index)) {
      builders_[index_of(current.step, change)] = build->pid;
      reporter_.event("progress",
                      {{"version", current.version.name},
                       {"file", current.step.file.file_name},
                       {"pid", build->pid}},
                      current.label + ": waiting for the running build of " +
                          change.object.quoted() +
                          " instead of starting another: " + describe_build(*build));
      awaited.push_back(change);
      continue;
    }
    if (!index || index->valid) continue;
    if (turned_valid(oids)) continue;
    // The INVALID index dbmig's own interrupted run left needs no --repair (cancel.h).
    const bool own =
        current.record && is_own_cancelled_build(current.record->cancelled_index_oid, *index,
                                                 resolve_change(*step_, change));
    if (!options_.repair && !own) fail_invalid_index(current, change);
    drop_index_by_oid(repair_connection(), index->oid);
    targets_[index_of(current.step, change)].reset();  // the statement makes it again
    reporter_.event("repair",
                    {{"version", current.version.name},
                     {"file", current.step.file.file_name},
                     {"index", change.object.quoted()},
                     {"reason", own ? "interrupted" : "--repair"}},
                    current.label + ": dropped INVALID index " + change.object.quoted() +
                        (own ? " that dbmig's interrupted run left (OID " + index->oid + ")"
                             : std::string(" (--repair)")) +
                        "; building it again");
  }
  return awaited;
}

// An INVALID index with no build in pg_stat_progress_create_index may be a
// build in its last moment: PostgreSQL ends the progress row before the
// transaction that marks the index valid commits. Looks again a moment
// later; true when the index is valid by then.
bool ApplyRun::turned_valid(const sql::ObjectOids& oids) {
  std::this_thread::sleep_for(milliseconds{200});
  const auto again = find_index(*state_, oids);
  return again && again->valid;
}

// CockroachDB: the changes of a step recorded started/failed whose schema
// change job from the earlier run is still running: waited for, not re-issued.
std::vector<sql::Change> ApplyRun::earlier_jobs_running(const PlannedStep& step,
                                                        const StepRecord* record) {
  std::vector<sql::Change> awaited;
  if (!record) return awaited;
  try {
    for (const sql::Change& change : step.analysis.changes) {
      const auto job = find_schema_change_job(*state_, change, record->started_at);
      if (job && job->status == "running") awaited.push_back(change);
    }
  } catch (const db::DbError& error) {
    if (error.connection_lost()) throw;
    reporter_.debug("schema change job lookup failed; re-running the step: " +
                    error.fields().message);
  }
  return awaited;
}

// Each statement as its own Query message, in autocommit, without
// lock_timeout (a lock timeout would cancel a concurrent build), except the
// statements of `awaited` changes (an earlier run's build completed them).
// Session settings the step changed are reset afterwards. Returns whether
// any statement ran.
bool ApplyRun::execute_statements(const StepContext& current,
                                  const std::vector<sql::Change>& awaited, const std::string& since,
                                  int resume_from) {
  const auto was_awaited = [&awaited](const sql::Statement& statement) {
    return std::any_of(awaited.begin(), awaited.end(), [&statement](const sql::Change& change) {
      return change.offset >= statement.begin && change.offset < statement.end;
    });
  };
  bool executed = false;
  const sql::Statement* running = nullptr;
  PeriodicTask monitor;
  monitor_progress(current, since, monitor);
  try {
    for (std::size_t i = 0; i < current.step.analysis.statements.size(); ++i) {
      const sql::Statement& statement = current.step.analysis.statements[i];
      if (was_awaited(statement)) continue;
      const bool committed = static_cast<int>(i) < resume_from;
      if (committed && mode_of(current.step, i) != StatementMode::session) continue;
      throw_if_stopped();
      running = &statement;
      run_statement(current, i);
      executed = true;
    }
  } catch (const db::DbError& error) {
    monitor.stop();
    if (running != nullptr && !error.connection_lost()) resolve_targets_of(current.step, *running);
    // Ctrl-C cancelled the statement: record the INVALID index it left (cancel.h).
    if (interrupt_requested() && running != nullptr && !error.connection_lost() &&
        plan_.dialect == sql::Dialect::postgres) {
      stop_interrupted_statement(*state_, *lease_, tables_, current.version, current.step, *running,
                                 targets_);
    }
    if (error.connection_lost()) throw_if_lease_gone();
    throw_if_stopped();
    if (!error.connection_lost()) fail_if_left_invalid(current, error);
    fail_on_db_error(current, error);
  }
  reset_session();
  return executed;
}

// Progress while the step connection is busy with a statement that waits
// for its change (the state connection is idle meanwhile), every second on
// `monitor`'s thread; informational: a report's errors are ignored, the
// statement's own result decides.
void ApplyRun::monitor_progress(const StepContext& current, const std::string& since,
                                PeriodicTask& monitor) {
  if (current.step.analysis.changes.empty()) return;
  // The monitor's own copy of what to watch (the statements' thread
  // resolves targets_ meanwhile).
  std::vector<sql::ObjectOids> watched;
  if (plan_.dialect == sql::Dialect::postgres) {
    for (std::size_t i = 0; i < current.step.analysis.changes.size(); ++i) {
      watched.push_back(targets_[i] ? *targets_[i]
                                    : resolve_change(*step_, current.step.analysis.changes[i]));
    }
  }
  monitor.start(std::chrono::seconds(1), [this, &current, &since, watched = std::move(watched)] {
    try {
      report_running_changes(current, since, watched);
    } catch (const std::exception&) {
      // Informational only.
    }
    return true;
  });
}

// How a statement of a non-transactional step commits (contract section 9): a session
// statement commits nothing and runs alone (again on resume: later
// statements depend on it); a statement that cannot run in a transaction
// block (concurrent builds, VACUUM, ...), DO and CALL (which may COMMIT
// inside) and every CockroachDB DDL (autocommit_before_ddl) run in
// autocommit after a lease check; everything else runs in a fenced
// transaction of its own.
ApplyRun::StatementMode ApplyRun::mode_of(const PlannedStep& step, std::size_t index) const {
  const sql::Classification& c = step.analysis.classifications[index];
  if (c.kind == sql::StatementKind::session) return StatementMode::session;
  if (c.non_transactional || c.command == "DO" || c.command == "CALL") {
    return StatementMode::autocommit;
  }
  if (plan_.dialect == sql::Dialect::cockroach && c.kind == sql::StatementKind::ddl) {
    return StatementMode::autocommit;
  }
  return StatementMode::fenced;
}

// One statement of a non-transactional step, committed as mode_of says; the
// OIDs of the changes it makes are resolved right after it, on the step
// connection. An autocommit statement's progress is recorded (fenced) after
// it: a runner paused in between re-runs at most that one statement, which
// is why such statements must be idempotent (docs/apply.md).
void ApplyRun::run_statement(const StepContext& current, std::size_t index) {
  const sql::Statement& statement = current.step.analysis.statements[index];
  switch (mode_of(current.step, index)) {
    case StatementMode::session: step_->exec(statement.text(current.step.text)); return;
    case StatementMode::fenced: run_fenced(current, index); return;
    case StatementMode::autocommit:
      require_lease_margin();
      step_->exec(statement.text(current.step.text));
      resolve_targets_of(current.step, statement);
      record_progress(current, index);
      return;
  }
}

// RESET ROLE, RESET SESSION AUTHORIZATION and RESET ALL on the step
// connection, so that nothing a step set carries into the next step. A
// server that rejects one (an old CockroachDB) only costs that isolation,
// never the step.
void ApplyRun::reset_session() {
  for (const std::string_view statement :
       {"RESET ROLE", "RESET SESSION AUTHORIZATION", "RESET ALL"}) {
    try {
      step_->exec(statement);
    } catch (const db::DbError& error) {
      if (error.connection_lost()) throw;
      reporter_.debug(std::string(statement) + " failed: " + error.fields().message);
    }
  }
}

void ApplyRun::wait_for_proofs(const StepContext& current, std::vector<sql::Change> pending,
                               const std::string& since) {
  const auto deadline = steady_clock::now() + options_.verify_timeout;
  milliseconds interval{50};
  while (true) {
    throw_if_stopped();
    std::erase_if(pending, [this, &current](const sql::Change& change) {
      return proof_holds(current.step, change);
    });
    if (pending.empty()) break;
    for (const sql::Change& change : pending) check_change_progress(current, change, since);
    const auto now = steady_clock::now();
    if (now >= deadline) {
      reporter_.end_progress();
      throw Failure(ExitCode::runtime_failure,
                    current.label + ": verification did not complete within " +
                        format_duration(options_.verify_timeout) + ": " +
                        sql::describe_change(pending.front(), plan_.dialect),
                    "the step stays 'applied'; run dbmig apply again to keep waiting, or raise "
                    "--verify-timeout");
    }
    std::this_thread::sleep_for(
        std::min(interval, std::chrono::duration_cast<milliseconds>(deadline - now)));
    interval = std::min(interval * 2, milliseconds{250});
  }
  reporter_.end_progress();
}

bool ApplyRun::proof_holds(const PlannedStep& step, const sql::Change& change) {
  if (plan_.dialect != sql::Dialect::postgres) {
    return state_->query_bool(sql::verify_query(change, plan_.dialect));
  }
  return state_->query_bool(sql::verify_query_by_oids(change, target_of(step, change)));
}

// Progress of an unproved change, or a definite failure (throws).
void ApplyRun::check_change_progress(const StepContext& current, const sql::Change& change,
                                     const std::string& since) {
  if (plan_.dialect == sql::Dialect::postgres) {
    check_index_progress(current, change);
    return;
  }
  std::optional<SchemaChangeJob> job;
  try {
    job = find_schema_change_job(*state_, change, since);
  } catch (const db::DbError& error) {
    if (error.connection_lost()) throw;
    reporter_.debug("schema change job lookup failed (the proof still decides): " +
                    error.fields().message);
  }
  if (!job) return;
  if (job->failed()) {
    fail_step(current,
              current.label + ": the schema change job " + job->id + " for " +
                  change.object.quoted() + " is " + job->status +
                  (job->error.empty() ? "" : ": " + job->error),
              "fix the cause, then run dbmig apply again: it re-runs the step");
  }
  report_job(current, *job);
}

void ApplyRun::check_index_progress(const StepContext& current, const sql::Change& change) {
  const bool index_change = change.kind == sql::ChangeKind::create_index ||
                            change.kind == sql::ChangeKind::create_index_on_only;
  if (!index_change && change.kind != sql::ChangeKind::reindex_concurrently) {
    fail_step(current,
              current.label + ": verification failed: " +
                  sql::describe_change(change, plan_.dialect) + " does not hold after the step",
              "the step ran without error but did not make this change; fix the step");
  }
  const sql::ObjectOids& oids = target_of(current.step, change);
  auto index = index_change ? find_index(*state_, oids) : std::nullopt;
  const auto build = find_index_build(*state_, oids, index);
  int& builder = builders_[index_of(current.step, change)];
  if (build) {
    builder = build->pid;
    report_build(current, *build);
    return;
  }
  // The build has left pg_stat_progress_create_index; the transaction that
  // marks the index valid may not have committed yet.
  if (builder != 0 && backend_in_transaction(*state_, builder)) return;
  builder = 0;
  // `index` was read before the build was found gone: the build may have
  // completed in between. Judged on a fresh look.
  if (proof_holds(current.step, change)) return;
  if (index_change) index = find_index(*state_, oids);
  if (!index_change) {
    fail_step(current,
              current.label + ": " + sql::describe_change(change, plan_.dialect) +
                  " does not hold and no build is running",
              "drop the INVALID _ccnew/_ccold leftovers of the failed REINDEX, then run dbmig "
              "apply again");
  }
  if (index && !index->valid) fail_invalid_index(current, change);
  if (!index) {
    fail_step(current,
              current.label + ": index " + change.object.quoted() + " on " + change.table.quoted() +
                  " does not exist and nothing is building it",
              "run dbmig apply again to re-run the step");
  }
}

void ApplyRun::report_job(const StepContext& current, const SchemaChangeJob& job) {
  const double percent = job.fraction_completed.value_or(0.0) * 100.0;
  reporter_.progress({{"version", current.version.name},
                      {"file", current.step.file.file_name},
                      {"job_id", job.id},
                      {"status", job.status},
                      {"fraction_completed", job.fraction_completed.value_or(0.0)}},
                     current.label + ": job " + job.id + " " + job.status + " " +
                         std::to_string(static_cast<int>(percent)) + "%");
}

void ApplyRun::report_build(const StepContext& current, const IndexBuild& build) {
  reporter_.progress({{"version", current.version.name},
                      {"file", current.step.file.file_name},
                      {"pid", build.pid},
                      {"phase", build.phase},
                      {"blocks_done", build.blocks_done},
                      {"blocks_total", build.blocks_total},
                      {"tuples_done", build.tuples_done},
                      {"tuples_total", build.tuples_total}},
                     current.label + ": " + describe_build(build));
}

// Progress of the step's changes while its statement runs (the statement
// itself waits for the build): reported only, never judged.
void ApplyRun::report_running_changes(const StepContext& current, const std::string& since,
                                      const std::vector<sql::ObjectOids>& watched) {
  for (std::size_t i = 0; i < current.step.analysis.changes.size(); ++i) {
    const sql::Change& change = current.step.analysis.changes[i];
    if (plan_.dialect == sql::Dialect::cockroach) {
      if (const auto job = find_schema_change_job(*state_, change, since)) {
        report_job(current, *job);
      }
      continue;
    }
    sql::ObjectOids oids = watched[i];
    const bool index_change = change.kind != sql::ChangeKind::reindex_concurrently;
    if (index_change && oids.object == "0" && oids.table != "0") {
      oids.object = index_on_table(*state_, oids.table, change.object.name);  // made since
    }
    const auto index = index_change ? find_index(*state_, oids) : std::nullopt;
    if (const auto build = find_index_build(*state_, oids, index)) {
      report_build(current, *build);
    }
  }
}

// A connection of its own for --repair's DROP INDEX CONCURRENTLY: catalog
// search_path (the OID becomes a qualified name there), and neither lock nor
// statement timeout, which would cancel the drop half-way.
db::Connection& ApplyRun::repair_connection() {
  if (!repair_ || !repair_->ok()) {
    db::ConnectOptions options = state_options_;
    options.lock_timeout = milliseconds{0};
    options.statement_timeout = milliseconds{0};
    repair_ = std::make_unique<db::Connection>(db::Connection::open(options));
  }
  return *repair_;
}

}  // namespace dbmig::engine
