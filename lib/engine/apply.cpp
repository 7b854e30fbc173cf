// dbmig apply: the completion barrier (docs/contract.md section 6, docs/apply.md).
//
// A version is recorded only after every one of its steps has been proved
// complete. Transactional steps prove themselves inside their own
// transaction: the step's statements, its verification queries, its
// 'verified' record, the version advance and the lease fence travel in one
// message and commit together, so a crash anywhere leaves either all of it or
// none. Non-transactional steps (CREATE INDEX CONCURRENTLY, CockroachDB DDL)
// are recorded 'started', run statement by statement in autocommit, recorded
// 'applied', and then verified by polling until the proof holds, a definite
// failure shows (an INVALID index that nobody is building, a failed schema
// change job), or --verify-timeout passes.
//
// Connections: the state connection reads and writes the state tables and
// polls proofs; the step connection runs the steps; the lease heartbeat has
// its own. None ever idles in an open transaction.
//
// Events (Reporter): "plan" (dry run, one per pending step), "lease" (waiting
// for another runner), "step_start" (a step is about to run), "step" (one
// per step: version, step, file, action, duration_ms), "wait_for_db"
// (wait_for_db.h), "retry", "repair", "progress", "version" (a version
// recorded), "done" (final summary: version, steps_applied, up_to_date).
//
// This file decides what to apply and runs the loop over versions; the
// stages of one step are in the other apply_*.cpp files (apply_run.h).
#include "core/duration.h"
#include "engine/apply_run.h"
#include "engine/cancel.h"
#include "engine/compare.h"
#include "engine/dialect_check.h"
#include "engine/inspect.h"
#include "engine/interrupt.h"
#include "engine/timestamp.h"
#include "engine/wait_for_db.h"
#include "sql/verify_query.h"

namespace dbmig::engine {
namespace {

// contract section 6 "Forward only": the text said when --to names a version older than
// the recorded one ("" otherwise); such a run changes nothing and exits 0.
std::string forward_only_note(const ApplyOptions& options, const Range& range) {
  if (!options.to || range.end >= range.first) return "";
  return "; --to " + *options.to + " is older than the recorded version: dbmig is forward-only " +
         "and never undoes a version, so nothing was changed (to reverse a version, write a new " +
         "version that does it)";
}

}  // namespace

ApplyRun::ApplyRun(const migration::Plan& plan, const ConnectionSettings& connection,
                   const ApplyOptions& options, Reporter& reporter)
    : plan_(plan),
      options_(options),
      reporter_(reporter),
      conninfo_(connection.conninfo),
      tables_(connection.state_schema),
      runner_(make_runner_identity()) {
  // PostgreSQL: names are resolved on the step connection only; the state
  // connection runs dbmig's own SQL, with pg_catalog as its only
  // search_path. CockroachDB proofs resolve names where they run, and it
  // has no user-defined operators: its connections keep the database's.
  const bool pinned = plan.dialect == sql::Dialect::postgres;
  state_options_ = db::state_session(connection.conninfo, options.lease_ttl, pinned);
  heartbeat_options_ = db::state_session(connection.conninfo, options.lease_ttl, pinned);
  step_options_ = db::step_session(connection.conninfo, options.lease_ttl);
}

ExitCode ApplyRun::run() {
  install_interrupt_handlers();
  state_ = open_connection_waiting(state_options_, options_.wait_for_db, reporter_);
  check_dialect();
  reporter_.debug("connected (" + std::string(sql::to_string(plan_.dialect)) + "); runner " +
                  runner_ + ", state schema " + tables_.schema());
  database_ = tables_.read(*state_);
  if (options_.on_state_read) options_.on_state_read(database_);
  const Range range = resolve();
  report_step_warnings(range);
  if (options_.dry_run) {
    print_plan(range);
    reporter_.event("done",
                    {{"version", database_.version ? nlohmann::json(*database_.version) : nullptr},
                     {"steps_applied", 0},
                     {"up_to_date", range.empty()},
                     {"dry_run", true}},
                    "dry run: nothing was changed");
    return ExitCode::ok;
  }
  if (range.empty()) return report_up_to_date(database_, range, "");
  if (!database_.tables_exist) tables_.ensure(*state_);
  return apply_under_lease(range);
}

void ApplyRun::check_dialect() { require_server_dialect(plan_, *state_); }

// Compares the plan with database_ (compare.h). A recorded version or step
// history the directory does not contain is a usage error (the same check
// and wording as status and verify); then applied steps whose files changed
// are drift.
Range ApplyRun::resolve() {
  comparison_ = compare_plan(plan_, database_);
  if (const auto& problem = comparison_.unknown_version_problem) {
    throw Failure(ExitCode::usage_error, problem->message + " (" + plan_.root.string() + ")",
                  problem->hint);
  }
  check_history();
  return Range{comparison_.first_pending, end_of_range()};
}

// Applied or verified steps whose file changed (or vanished) are drift.
void ApplyRun::check_history() {
  if (comparison_.drifted.empty()) return;
  if (!options_.allow_drift) {
    std::string message = "drift: applied steps differ from the directory:";
    for (const DriftedStep& drift : comparison_.drifted) message += "\n  " + describe_drift(drift);
    throw Failure(ExitCode::check_failed, message,
                  "restore the applied files, or pass --allow-drift to apply anyway");
  }
  for (const DriftedStep& drift : comparison_.drifted) {
    reporter_.diagnostic(
        Diagnostic{Severity::warning, "", 0, 0, "drift: " + describe_drift(drift), ""});
  }
}

std::size_t ApplyRun::end_of_range() const {
  if (!options_.to) return plan_.versions.size();
  const auto index = plan_.find_version(*options_.to);
  if (!index) {
    throw Failure(ExitCode::usage_error,
                  "--to " + *options_.to + ": no such version in " + plan_.root.string());
  }
  return *index + 1;
}

// The step rules' warnings (contract section 7), only for the steps this run will run:
// steps already verified and versions outside the range stay quiet.
void ApplyRun::report_step_warnings(const Range& range) const {
  for (std::size_t v = range.first; v < range.end; ++v) {
    const PlannedVersion& version = plan_.versions[v];
    for (std::size_t s = 0; s < version.steps.size(); ++s) {
      const StepRecord* record = comparison_.record_of(v, s);
      if (record && record->state == StepState::verified) continue;
      for (const Diagnostic& warning : version.steps[s].warnings) reporter_.diagnostic(warning);
    }
  }
}

void ApplyRun::print_plan(const Range& range) const {
  for (std::size_t v = range.first; v < range.end; ++v) {
    const PlannedVersion& version = plan_.versions[v];
    for (std::size_t s = 0; s < version.steps.size(); ++s) {
      const PlannedStep& step = version.steps[s];
      const StepRecord* record = comparison_.record_of(v, s);
      const std::string mode =
          runs_in_one_transaction(step) ? "transactional" : "non-transactional";
      std::string text =
          "would apply " + step_label(version.name, step.file.file_name) + " (" + mode + ")";
      if (record) text += ", recorded " + std::string(to_string(record->state));
      nlohmann::json proofs = nlohmann::json::array();
      for (const sql::Change& change : step.analysis.changes) {
        const std::string proof = sql::describe_change(change, plan_.dialect);
        text += "\n  proof: " + proof;
        proofs.push_back(proof);
      }
      reporter_.event("plan",
                      {{"version", version.name},
                       {"step", step.file.number},
                       {"file", step.file.file_name},
                       {"mode", mode},
                       {"proofs", proofs}},
                      text);
    }
  }
  if (range.empty()) {
    reporter_.event("plan", {{"up_to_date", true}},
                    "nothing to apply" + forward_only_note(options_, range));
  }
}

ExitCode ApplyRun::report_up_to_date(const DatabaseState& state, const Range& range,
                                     std::string_view why) {
  const std::string version = state.version.value_or("(none)");
  const std::string forward_only = forward_only_note(options_, range);
  reporter_.event("done",
                  {{"version", state.version ? nlohmann::json(*state.version) : nlohmann::json()},
                   {"steps_applied", steps_applied_},
                   {"up_to_date", true},
                   {"forward_only", !forward_only.empty()}},
                  "up to date at " + version + std::string(why) + forward_only);
  return ExitCode::ok;
}

ExitCode ApplyRun::apply_under_lease(Range range) {
  LeaseSettings settings{runner_, options_.lease_ttl, options_.lock_timeout};
  lease_ = std::make_unique<Lease>(*state_, tables_, settings, [this](const LeaseInfo& holder) {
    reporter_.event("lease",
                    {{"holder", holder.owner.value_or("")},
                     {"expires_at", iso_utc(holder.expires_at.value_or(""))}},
                    "waiting for the lease held by " + holder.owner.value_or("?") + " (until " +
                        iso_utc(holder.expires_at.value_or("?")) + ")");
  });
  try {
    database_ = tables_.read(*state_);
    upgrade_state_tables();
    range = resolve();
    if (range.empty()) {
      release_lease();
      return report_up_to_date(database_, range, " (applied by another runner)");
    }
    step_ = std::make_unique<db::Connection>(db::Connection::open(step_options_));
    if (plan_.dialect == sql::Dialect::postgres) {  // the long-step watch
      slow_step_watch_ =
          std::make_unique<SlowStepWatch>(state_options_, reporter_, step_->backend_pid());
    }
    lease_->start_heartbeat(heartbeat_options_, [this] {
      if (in_transaction_.load()) step_->cancel();
    });
    start_watcher();
    for (std::size_t v = range.first; v < range.end; ++v) apply_version(v);
  } catch (...) {
    release_lease();
    throw;
  }
  release_lease();
  reporter_.event("done",
                  {{"version", plan_.versions[range.end - 1].name},
                   {"steps_applied", steps_applied_},
                   {"up_to_date", false}},
                  "applied " + std::to_string(steps_applied_) + " step(s); now at " +
                      plan_.versions[range.end - 1].name);
  return ExitCode::ok;
}

// Under the lease: state tables of an older layout get the current one
// (idempotent statements, each in autocommit, then the fenced record of the
// new version), so that every later write may use the new columns.
void ApplyRun::upgrade_state_tables() {
  const std::vector<std::string> statements = tables_.upgrade_statements(database_.schema_version);
  if (statements.empty()) return;
  for (const std::string& statement : statements) state_->exec(statement);
  fenced_write(*state_, *lease_, {tables_.record_schema_version_sql()});
  reporter_.debug("upgraded the state tables from layout " +
                  std::to_string(database_.schema_version) + " to " +
                  std::to_string(kStateSchemaVersion));
  database_ = tables_.read(*state_);
}

void ApplyRun::apply_version(std::size_t index) {
  const PlannedVersion& version = plan_.versions[index];
  const auto start = steady_clock::now();
  for (std::size_t i = 0; i < version.steps.size(); ++i) apply_step({index, i});
  reporter_.event("version",
                  {{"version", version.name}, {"duration_ms", elapsed_since(start).count()}},
                  version.name + " recorded (" + format_duration(elapsed_since(start)) + ")");
}

void ApplyRun::apply_step(StepPosition position) {
  throw_if_stopped();
  const PlannedVersion& version = plan_.versions[position.version];
  const PlannedStep& step = version.steps[position.step];
  const bool last = position.step + 1 == version.steps.size();
  const StepContext current{.version = version,
                            .step = step,
                            .record = comparison_.record_of(position.version, position.step),
                            .label = step_label(version.name, step.file.file_name),
                            .last = last,
                            .start = steady_clock::now()};
  if (current.record && current.record->state == StepState::verified) {
    if (last) fenced_write(*state_, *lease_, {tables_.advance_version_sql(version.name)});
    report_step(current, "skipped (already verified)", milliseconds{0});
    return;
  }
  current_step_label_ = current.label;  // named by an interruption
  load_targets(current);
  const bool transactional = runs_in_one_transaction(step);
  reporter_.event("step_start",
                  {{"version", version.name},
                   {"step", step.file.number},
                   {"file", step.file.file_name},
                   {"mode", transactional ? "transactional" : "non-transactional"}},
                  version.name + " " + step.file.file_name + " starting (" +
                      (transactional ? "one transaction" : "non-transactional") + ")");
  reporter_.debug(current.label + ": " +
                  (transactional ? "one transaction, " : "non-transactional, ") +
                  std::to_string(step.analysis.statements.size()) + " statement(s), " +
                  std::to_string(step.analysis.changes.size()) + " proof(s)");
  // While the step runs long, report what it waits on (step_watch.h).
  const SlowStepWatch::Scope watching(slow_step_watch_.get());
  if (slow_step_watch_) {
    slow_step_watch_->start(
        {version.name, step.file.number, step.file.file_name, !step.analysis.changes.empty()});
  }
  if (transactional) {
    run_transactional(current);
  } else {
    run_non_transactional(current);
  }
  current_step_label_.clear();
  ++steps_applied_;
}

// PostgreSQL transactional steps, and CockroachDB steps without DDL (a DDL
// there cannot share a transaction with writes).
bool ApplyRun::runs_in_one_transaction(const PlannedStep& step) const {
  if (!step.analysis.transactional) return false;
  return plan_.dialect == sql::Dialect::postgres || step.analysis.ddl_count == 0;
}

void ApplyRun::throw_if_stopped() const {
  if (lease_) lease_->throw_if_lost();
  // The interruption names the step (cancel.h).
  if (interrupt_requested()) throw interrupted_failure(current_step_label_, std::nullopt);
}

// Cancels the statement in progress on the step connection when SIGINT or
// SIGTERM arrives; the apply loop then stops at its next check.
void ApplyRun::start_watcher() {
  watcher_.start(milliseconds{50}, [this] {
    if (!interrupt_requested()) return true;
    step_->cancel();
    return false;
  });
}

void ApplyRun::stop_watcher() noexcept { watcher_.stop(); }

void ApplyRun::release_lease() noexcept {
  stop_watcher();
  if (!lease_) return;
  try {
    if (!state_->ok())
      state_ = std::make_unique<db::Connection>(db::Connection::open(state_options_));
  } catch (const db::DbError&) {
    // Server unreachable: the lease expires after its TTL.
  }
  lease_->release(*state_);
  lease_.reset();
}

ExitCode apply(const migration::Plan& plan, const ConnectionSettings& connection,
               const ApplyOptions& options, Reporter& reporter) {
  ApplyRun run(plan, connection, options, reporter);
  return run.run();
}

}  // namespace dbmig::engine
