// dbmig apply: the completion barrier (SPEC section 6, ENGINE_DESIGN.md).
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
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <thread>

#include "core/duration.h"
#include "engine/cancel.h"
#include "engine/commands.h"
#include "engine/dialect_check.h"
#include "engine/inspect.h"
#include "engine/interrupt.h"
#include "engine/lease.h"
#include "engine/server.h"
#include "engine/state.h"
#include "engine/step_error.h"
#include "engine/step_watch.h"
#include "engine/timestamp.h"
#include "engine/wait_for_db.h"
#include "sql/quoting.h"
#include "sql/verify_query.h"

namespace dbmig::engine {
namespace {

using migration::PlannedStep;
using migration::PlannedVersion;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kTransactionAttempts = 6;  // the first try and 5 retries
// A transactional step larger than this is sent in several messages.
constexpr std::size_t kMessageBytes = std::size_t{1} << 20;
// After every step (SPEC 9): the role, the session authorization and every
// setting the step changed go back to the connection's own.
constexpr std::string_view kResetSession = "RESET ROLE;\nRESET SESSION AUTHORIZATION;\nRESET ALL";

milliseconds elapsed_since(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
}

std::string step_label(const PlannedVersion& version, const PlannedStep& step) {
  return version.name + "/" + step.file.file_name;
}

// The server's message with its detail and hint, for a step failure.
std::string describe_db_error(const db::DbError& error) {
  std::string text = error.fields().message;
  if (!error.sqlstate().empty()) text += " (SQLSTATE " + error.sqlstate() + ")";
  if (!error.fields().detail.empty()) text += "; detail: " + error.fields().detail;
  if (!error.fields().hint.empty()) text += "; hint: " + error.fields().hint;
  return text;
}

// Position of `change` in the step's changes (changes are copied around by
// value: found by what they are).
std::size_t index_of(const PlannedStep& step, const sql::Change& change) {
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

// Where apply starts and stops in plan.versions: [first, end).
struct Range {
  std::size_t first = 0;
  std::size_t end = 0;
  [[nodiscard]] bool empty() const { return first >= end; }
};

// Calls `report` every second on a thread of its own until stopped; used
// while the step connection is busy with a statement that waits for its
// change (the state connection is idle meanwhile). Database errors of a
// report are ignored: progress is informational.
class ProgressMonitor {
 public:
  ProgressMonitor() = default;
  ProgressMonitor(const ProgressMonitor&) = delete;
  ProgressMonitor& operator=(const ProgressMonitor&) = delete;
  ~ProgressMonitor() { stop(); }

  void start(std::function<void()> report) {
    thread_ = std::thread([this, report = std::move(report)] {
      std::unique_lock lock(mutex_);
      while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
        try {
          report();
        } catch (const std::exception&) {
          // Informational only; the statement's own result decides.
        }
      }
    });
  }

  void stop() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// SPEC 6 "Forward only": the text said when --to names a version older than
// the recorded one ("" otherwise); such a run changes nothing and exits 0.
std::string forward_only_note(const ApplyOptions& options, const Range& range) {
  if (!options.to || range.end >= range.first) return "";
  return "; --to " + *options.to + " is older than the recorded version: dbmig is forward-only " +
         "and never undoes a version, so nothing was changed (to reverse a version, write a new " +
         "version that does it)";
}

class ApplyRun {
 public:
  ApplyRun(const migration::Plan& plan, const ConnectionSettings& connection,
           const ApplyOptions& options, Reporter& reporter)
      : plan_(plan),
        options_(options),
        reporter_(reporter),
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

  ExitCode run();

 private:
  // Reading and deciding.
  void check_dialect();
  Range resolve(const DatabaseState& state);
  std::size_t first_pending(const DatabaseState& state) const;
  void check_history(const DatabaseState& state);
  std::size_t end_of_range() const;
  void print_plan(const Range& range) const;
  void report_step_warnings(const Range& range) const;
  ExitCode report_up_to_date(const DatabaseState& state, const Range& range, std::string_view why);

  // Running under the lease.
  ExitCode apply_under_lease(Range range);
  void apply_version(const PlannedVersion& version);
  void apply_step(const PlannedVersion& version, const PlannedStep& step, bool last);
  bool runs_in_one_transaction(const PlannedStep& step) const;
  void run_transactional(const PlannedVersion& version, const PlannedStep& step, bool last);
  struct TransactionScript {
    std::string head;       // before the step's file: BEGIN, lock_timeout
    std::string tail;       // after it: RESET ROLE, proofs, OIDs, records (no fence, no COMMIT)
    std::size_t own = 0;    // results of dbmig's statements after the step's own, fence included
    std::string fence_set;  // PostgreSQL: the version advance, assigned by the fence's UPDATE
  };
  TransactionScript transaction_script(const PlannedVersion& version, const PlannedStep& step,
                                       bool last) const;
  std::vector<db::Result> run_in_transaction(const std::string& script);
  void check_proofs(const PlannedVersion& version, const PlannedStep& step,
                    std::span<const db::Result> proofs);
  bool try_transaction(const PlannedVersion& version, const PlannedStep& step, bool last,
                       steady_clock::time_point start);
  bool commit_in_one_message(const PlannedVersion& version, const PlannedStep& step,
                             const TransactionScript& script, steady_clock::time_point start);
  void send_in_pieces(const PlannedStep& step, std::string message);
  std::string failure_marker(std::string_view what) const;
  std::string raising_proof(const sql::Change& change, std::size_t index) const;
  [[noreturn]] void fail_proof(const PlannedVersion& version, const PlannedStep& step,
                               const sql::Change& change);
  void run_non_transactional(const PlannedVersion& version, const PlannedStep& step, bool last,
                             const StepRecord* record);
  std::vector<sql::Change> prepare_index_changes(const PlannedVersion& version,
                                                 const PlannedStep& step);
  std::vector<sql::Change> earlier_jobs_running(const PlannedStep& step, const StepRecord* record);
  bool execute_statements(const PlannedVersion& version, const PlannedStep& step,
                          const std::vector<sql::Change>& awaited, const std::string& since,
                          int resume_from);
  enum class StatementMode { session, fenced, autocommit };
  StatementMode mode_of(const PlannedStep& step, std::size_t index) const;
  void run_statement(const PlannedVersion& version, const PlannedStep& step, std::size_t index);
  void run_fenced(const PlannedVersion& version, const PlannedStep& step, std::size_t index);
  void require_lease_margin();
  void throw_if_lease_gone();
  void record_progress(const PlannedVersion& version, const PlannedStep& step, std::size_t index);
  std::string lease_margin_sql() const;
  void wait_for_proofs(const PlannedVersion& version, const PlannedStep& step,
                       std::vector<sql::Change> changes, const std::string& since);
  void check_change_progress(const PlannedVersion& version, const PlannedStep& step,
                             const sql::Change& change, const std::string& since);
  void check_index_progress(const PlannedVersion& version, const PlannedStep& step,
                            const sql::Change& change);
  bool proof_holds(const PlannedStep& step, const sql::Change& change);
  // The objects of the step's proofs (PostgreSQL; SPEC 9).
  void load_targets(const PlannedVersion& version, const PlannedStep& step,
                    const StepRecord* record);
  const sql::ObjectOids& target_of(const PlannedStep& step, const sql::Change& change);
  void resolve_targets_of(const PlannedStep& step, const sql::Statement& statement) noexcept;
  std::optional<std::vector<sql::ObjectOids>> known_targets() const;
  db::Connection& repair_connection();
  void reset_session();
  void report_job(const PlannedVersion& version, const PlannedStep& step,
                  const SchemaChangeJob& job);
  void report_build(const PlannedVersion& version, const PlannedStep& step,
                    const IndexBuild& build);
  void report_running_changes(const PlannedVersion& version, const PlannedStep& step,
                              const std::string& since,
                              const std::vector<sql::ObjectOids>& watched);

  // Recording.
  StepWrite step_write(const PlannedVersion& version, const PlannedStep& step,
                       StepState state) const;
  void record_step(const PlannedVersion& version, const PlannedStep& step, StepState state,
                   std::optional<std::int64_t> duration_ms, bool advance,
                   std::optional<int> progress = std::nullopt);
  [[noreturn]] void fail_step(const PlannedVersion& version, const PlannedStep& step,
                              const std::string& message, const std::string& hint);
  void record_failure(const PlannedVersion& version, const PlannedStep& step,
                      const std::string& message);
  [[noreturn]] void fail_on_db_error(const PlannedVersion& version, const PlannedStep& step,
                                     const db::DbError& error);
  void fail_if_left_invalid(const PlannedVersion& version, const PlannedStep& step,
                            const db::DbError& error);
  [[noreturn]] void fail_invalid_index(const PlannedVersion& version, const PlannedStep& step,
                                       const sql::Change& change);
  void throw_if_stopped() const;
  void report_step(const PlannedVersion& version, const PlannedStep& step, std::string_view action,
                   milliseconds duration);
  std::string current_server_time();

  void upgrade_state_tables();

  // Lifetime of the connections, the lease and the watcher thread.
  void start_watcher();
  void stop_watcher() noexcept;
  void release_lease() noexcept;

  const migration::Plan& plan_;
  const ApplyOptions& options_;
  Reporter& reporter_;
  StateTables tables_;
  std::string runner_;
  db::ConnectOptions state_options_;
  db::ConnectOptions heartbeat_options_;
  db::ConnectOptions step_options_;
  std::unique_ptr<db::Connection> state_;
  std::unique_ptr<db::Connection> step_;
  std::unique_ptr<db::Connection> repair_;  // --repair's drops (catalog search_path)
  // Per change of the current step, its objects' OIDs once known: recorded
  // by an earlier run, or resolved on the step connection right after the
  // statement that makes the change (under the step's own search_path).
  std::vector<std::optional<sql::ObjectOids>> targets_;
  // Per change of the current step, the backend last seen building its
  // index (0: none seen): its build is over only once that backend has left
  // the transaction that marks the index valid.
  std::vector<int> builders_;
  std::unique_ptr<Lease> lease_;
  DatabaseState database_;
  std::thread watcher_;
  std::atomic<bool> watcher_stop_{false};
  // The step connection runs a transactional script: a lost lease cancels it
  // (its fence would fail anyway). A non-transactional statement is never
  // cancelled for a lost lease: cancelling CREATE INDEX CONCURRENTLY would
  // leave an INVALID index under the runner that took over.
  std::atomic<bool> in_transaction_{false};
  int steps_applied_ = 0;
  // issue-13: the step being applied ("version/file"; "" between steps), named by an interruption.
  std::string current_step_label_;
  // issue-13: what a long step waits on (PostgreSQL; step_watch.h).
  std::unique_ptr<SlowStepWatch> slow_step_watch_;
  steady_clock::time_point step_start_ = steady_clock::now();  // of the step being applied
};

ExitCode ApplyRun::run() {
  install_interrupt_handlers();
  state_ = open_connection_waiting(state_options_, options_.wait_for_db, reporter_);
  check_dialect();
  reporter_.debug("connected (" + std::string(sql::to_string(plan_.dialect)) + "); runner " +
                  runner_ + ", state schema " + tables_.schema());
  database_ = tables_.read(*state_);
  if (options_.on_state_read) options_.on_state_read(database_);
  const Range range = resolve(database_);
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

// A recorded version or step history the directory does not contain is a
// usage error (the same check and wording as status and verify); then
// applied steps whose files changed are drift.
Range ApplyRun::resolve(const DatabaseState& state) {
  if (auto problem = unknown_version_problem(plan_, state)) {
    throw Failure(ExitCode::usage_error, problem->message + " (" + plan_.root.string() + ")",
                  problem->hint);
  }
  const std::size_t first = first_pending(state);
  check_history(state);
  return Range{first, end_of_range()};
}

// Index of the first version after the recorded one (the recorded version is
// known to be in the plan: resolve checked it).
std::size_t ApplyRun::first_pending(const DatabaseState& state) const {
  if (!state.version) return 0;
  return *plan_.find_version(*state.version) + 1;
}

// Applied or verified steps whose file changed (or vanished) are drift
// (every recorded version is in the plan: resolve checked it).
void ApplyRun::check_history(const DatabaseState& state) {
  std::vector<std::string> drift;
  for (const StepRecord& record : state.steps) {
    const auto known =
        std::find_if(plan_.versions.begin(), plan_.versions.end(),
                     [&](const PlannedVersion& v) { return v.name == record.version; });
    if (known == plan_.versions.end()) continue;
    if (record.state != StepState::applied && record.state != StepState::verified) continue;
    const auto step =
        std::find_if(known->steps.begin(), known->steps.end(),
                     [&](const PlannedStep& s) { return s.file.number == record.step; });
    if (step == known->steps.end()) {
      drift.push_back(record.version + "/" + record.file + " was applied but no longer exists");
    } else if (step->sha256 != record.sha256) {
      drift.push_back(record.version + "/" + step->file.file_name +
                      " changed since it was applied (sha256 " + record.sha256.substr(0, 12) +
                      "... now " + step->sha256.substr(0, 12) + "...)");
    }
  }
  if (drift.empty()) return;
  if (!options_.allow_drift) {
    std::string message = "drift: applied steps differ from the directory:";
    for (const std::string& line : drift) message += "\n  " + line;
    throw Failure(ExitCode::check_failed, message,
                  "restore the applied files, or pass --allow-drift to apply anyway");
  }
  for (const std::string& line : drift) {
    reporter_.diagnostic(Diagnostic{Severity::warning, "", 0, 0, "drift: " + line, ""});
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

// The step rules' warnings (SPEC 7), only for the steps this run will run:
// steps already verified and versions outside the range stay quiet.
void ApplyRun::report_step_warnings(const Range& range) const {
  for (std::size_t v = range.first; v < range.end; ++v) {
    const PlannedVersion& version = plan_.versions[v];
    for (const PlannedStep& step : version.steps) {
      const StepRecord* record = database_.find_step(version.name, step.file.number);
      if (record && record->state == StepState::verified) continue;
      for (const Diagnostic& warning : step.warnings) reporter_.diagnostic(warning);
    }
  }
}

void ApplyRun::print_plan(const Range& range) const {
  for (std::size_t v = range.first; v < range.end; ++v) {
    const PlannedVersion& version = plan_.versions[v];
    for (const PlannedStep& step : version.steps) {
      const StepRecord* record = database_.find_step(version.name, step.file.number);
      const std::string mode =
          runs_in_one_transaction(step) ? "transactional" : "non-transactional";
      std::string text = "would apply " + step_label(version, step) + " (" + mode + ")";
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
    range = resolve(database_);
    if (range.empty()) {
      release_lease();
      return report_up_to_date(database_, range, " (applied by another runner)");
    }
    step_ = std::make_unique<db::Connection>(db::Connection::open(step_options_));
    if (plan_.dialect == sql::Dialect::postgres) {  // issue-13: the long-step watch
      slow_step_watch_ =
          std::make_unique<SlowStepWatch>(state_options_, reporter_, step_->backend_pid());
    }
    lease_->start_heartbeat(heartbeat_options_, [this] {
      if (in_transaction_.load()) step_->cancel();
    });
    start_watcher();
    for (std::size_t v = range.first; v < range.end; ++v) apply_version(plan_.versions[v]);
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

void ApplyRun::apply_version(const PlannedVersion& version) {
  const auto start = steady_clock::now();
  for (std::size_t i = 0; i < version.steps.size(); ++i) {
    apply_step(version, version.steps[i], i + 1 == version.steps.size());
  }
  reporter_.event("version",
                  {{"version", version.name}, {"duration_ms", elapsed_since(start).count()}},
                  version.name + " recorded (" + format_duration(elapsed_since(start)) + ")");
}

void ApplyRun::apply_step(const PlannedVersion& version, const PlannedStep& step, bool last) {
  throw_if_stopped();
  step_start_ = steady_clock::now();
  const StepRecord* record = database_.find_step(version.name, step.file.number);
  if (record && record->state == StepState::verified) {
    if (last) fenced_write(*state_, *lease_, {tables_.advance_version_sql(version.name)});
    report_step(version, step, "skipped (already verified)", milliseconds{0});
    return;
  }
  current_step_label_ = step_label(version, step);  // issue-13: named by an interruption
  load_targets(version, step, record);
  const bool transactional = runs_in_one_transaction(step);
  reporter_.event("step_start",
                  {{"version", version.name},
                   {"step", step.file.number},
                   {"file", step.file.file_name},
                   {"mode", transactional ? "transactional" : "non-transactional"}},
                  version.name + " " + step.file.file_name + " starting (" +
                      (transactional ? "one transaction" : "non-transactional") + ")");
  reporter_.debug(step_label(version, step) + ": " +
                  (transactional ? "one transaction, " : "non-transactional, ") +
                  std::to_string(step.analysis.statements.size()) + " statement(s), " +
                  std::to_string(step.analysis.changes.size()) + " proof(s)");
  // issue-13: while the step runs long, report what it waits on (step_watch.h).
  const SlowStepWatch::Scope watching(slow_step_watch_.get());
  if (slow_step_watch_) {
    slow_step_watch_->start(
        {version.name, step.file.number, step.file.file_name, !step.analysis.changes.empty()});
  }
  if (runs_in_one_transaction(step)) {
    run_transactional(version, step, last);
  } else {
    run_non_transactional(version, step, last, record);
  }
  current_step_label_.clear();  // issue-13
  ++steps_applied_;
}

// PostgreSQL transactional steps, and CockroachDB steps without DDL (a DDL
// there cannot share a transaction with writes).
bool ApplyRun::runs_in_one_transaction(const PlannedStep& step) const {
  if (!step.analysis.transactional) return false;
  return plan_.dialect == sql::Dialect::postgres || step.analysis.ddl_count == 0;
}

void ApplyRun::run_transactional(const PlannedVersion& version, const PlannedStep& step,
                                 bool last) {
  if (options_.repair) prepare_index_changes(version, step);
  milliseconds backoff{100};
  for (int attempt = 1;; ++attempt) {
    throw_if_stopped();
    const auto start = steady_clock::now();
    try {
      if (try_transaction(version, step, last, start)) return;
    } catch (const db::DbError& error) {
      if (!error.connection_lost()) db::rollback_quietly(*step_);
      throw_if_stopped();
      if (!error.is_retryable() || attempt == kTransactionAttempts) {
        fail_on_db_error(version, step, error);
      }
      reporter_.event("retry",
                      {{"version", version.name},
                       {"file", step.file.file_name},
                       {"attempt", attempt},
                       {"sqlstate", error.sqlstate()},
                       {"backoff_ms", backoff.count()}},
                      step_label(version, step) + ": " + error.fields().message + "; retrying in " +
                          format_duration(backoff));
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, milliseconds{2000});
  }
}

// The parts of a transactional step's message around the file verbatim:
// BEGIN and lock_timeout before it; its proofs, RESET ALL, the 'verified'
// record and the version advance on the version's last step after it. The
// fence (and, on PostgreSQL, COMMIT) is added by the caller; on PostgreSQL
// the fence's UPDATE of the state row also advances the version (one UPDATE
// of the singleton per step, not two). `own` counts the results of what
// follows the file, fence included.
ApplyRun::TransactionScript ApplyRun::transaction_script(const PlannedVersion& version,
                                                         const PlannedStep& step, bool last) const {
  const bool postgres = plan_.dialect == sql::Dialect::postgres;
  const std::string head = "BEGIN;\nSET LOCAL lock_timeout = '" +
                           std::to_string(options_.ddl_lock_timeout.count()) + "ms';\n";
  // What follows the step's statements: RESET ROLE first, so that the proofs
  // and records run as dbmig's own user (a step may SET LOCAL ROLE).
  std::string tail = postgres ? "RESET ROLE;\n" : "";
  for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
    const sql::Change& change = step.analysis.changes[i];
    tail +=
        (postgres ? raising_proof(change, i) : sql::verify_query(change, plan_.dialect)) + ";\n";
  }
  StepWrite write = step_write(version, step, StepState::verified);
  write.duration_since_transaction_start = true;
  if (postgres) {
    // The proofs' OIDs, resolved under the step's own search_path and kept
    // for the record (a transaction-local setting); then dbmig's records run
    // with only pg_catalog to resolve their functions and operators. The
    // session's settings are reset after COMMIT (kResetSession).
    write.object_oids = std::vector<sql::ObjectOids>{};
    if (!step.analysis.changes.empty()) {
      tail += "SELECT pg_catalog.set_config('dbmig.object_oids', pg_catalog.concat_ws(','";
      for (const sql::Change& change : step.analysis.changes) {
        tail += ", " + sql::resolve_oids_expression(change);
      }
      tail += "), true);\n";
      write.object_oids_sql = "pg_catalog.current_setting('dbmig.object_oids')";
    }
    tail += "SET LOCAL search_path = pg_catalog, pg_temp;\n";
  }
  tail += tables_.write_step_sql(write) + ";\n";
  std::string fence_set;
  if (last && postgres) fence_set = StateTables::advance_version_assignment(version.name);
  if (last && !postgres) tail += tables_.advance_version_sql(version.name) + ";\n";
  const std::size_t own = step.analysis.changes.size() + (postgres ? 2 : 0) +
                          (postgres && !step.analysis.changes.empty() ? 1 : 0) +
                          (last && !postgres ? 1 : 0) + 2;
  return {head, std::move(tail), own, std::move(fence_set)};
}

// exec_script on the step connection, marked as "in a transaction" so that a
// lost lease cancels it.
std::vector<db::Result> ApplyRun::run_in_transaction(const std::string& script) {
  in_transaction_.store(true);
  try {
    std::vector<db::Result> results = step_->exec_script(script);
    in_transaction_.store(false);
    return results;
  } catch (...) {
    in_transaction_.store(false);
    throw;
  }
}

// Fails the step (after ROLLBACK) when one of its proofs in `proofs` (one
// result per change, in order) is not true.
void ApplyRun::check_proofs(const PlannedVersion& version, const PlannedStep& step,
                            std::span<const db::Result> proofs) {
  for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
    if (proofs[i].rows() == 1 && proofs[i].get_bool(0, 0)) continue;
    db::rollback_quietly(*step_);
    fail_proof(version, step, step.analysis.changes[i]);
  }
}

// One round trip for the whole step, then COMMIT. Returns true when
// committed; throws on a false proof or a lost lease (after ROLLBACK).
bool ApplyRun::try_transaction(const PlannedVersion& version, const PlannedStep& step, bool last,
                               steady_clock::time_point start) {
  const TransactionScript script = transaction_script(version, step, last);
  if (plan_.dialect == sql::Dialect::postgres) {
    return commit_in_one_message(version, step, script, start);
  }
  const std::vector<db::Result> results =
      run_in_transaction(script.head + step.text + "\n;\n" + script.tail + lease_->fence_sql());
  if (results.size() < script.own) {
    db::rollback_quietly(*step_);
    throw Failure(ExitCode::runtime_failure,
                  step_label(version, step) + ": the server returned " +
                      std::to_string(results.size()) + " results for a script of at least " +
                      std::to_string(script.own) + " statements; nothing was recorded");
  }
  if (results.back().rows() != 1) {
    db::rollback_quietly(*step_);
    lease_->mark_lost();
    throw_lease_lost(runner_);
  }
  check_proofs(version, step,
               std::span<const db::Result>(results).subspan(results.size() - script.own,
                                                            step.analysis.changes.size()));
  try {
    step_->exec("COMMIT");
  } catch (const db::DbError& error) {
    if (!error.outcome_unknown()) throw;
    throw Failure(ExitCode::runtime_failure,
                  step_label(version, step) +
                      ": the connection was lost during COMMIT; the step may or may not have "
                      "been applied",
                  "run dbmig apply again: it reads what was recorded and continues");
  }
  report_step(version, step, "applied and verified", elapsed_since(start));
  return true;
}

// PostgreSQL: the proofs and the fence raise an error when they do not hold,
// so that COMMIT travels in the same message as the step: one round trip per
// step (BENCHMARKS.md). Any error leaves the transaction aborted, its COMMIT
// unexecuted; the error's message tells a failed proof or a lost lease from
// an error of the step itself. A step larger than kMessageBytes goes in
// several messages (send_in_pieces) within the same transaction.
bool ApplyRun::commit_in_one_message(const PlannedVersion& version, const PlannedStep& step,
                                     const TransactionScript& transaction,
                                     steady_clock::time_point start) {
  const std::string& head = transaction.head;
  std::string tail = transaction.tail;
  tail += "WITH fence AS (" + lease_->fence_sql(transaction.fence_set) +
          ") SELECT (CASE WHEN pg_catalog.count(*)" + sql::pg_operator("=") +
          "1 THEN 'true' ELSE " + sql::quote_literal(failure_marker("fence")) +
          " END)::boolean FROM fence;\nCOMMIT;\n" + std::string(kResetSession);
  in_transaction_.store(true);
  try {
    if (step.text.size() > kMessageBytes) {
      send_in_pieces(step, head);
      step_->exec_script(tail);
    } else {
      std::string script;
      script.reserve(head.size() + step.text.size() + tail.size() + 3);
      script.append(head).append(step.text).append("\n;\n").append(tail);
      step_->exec_script(script);
    }
  } catch (const db::DbError& error) {
    in_transaction_.store(false);
    const std::string& message = error.fields().message;
    if (message.find(failure_marker("fence")) != std::string::npos) {
      db::rollback_quietly(*step_);
      lease_->mark_lost();
      throw_lease_lost(runner_);
    }
    for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
      if (message.find(failure_marker("proof " + std::to_string(i))) == std::string::npos) continue;
      db::rollback_quietly(*step_);
      fail_proof(version, step, step.analysis.changes[i]);
    }
    throw;
  }
  in_transaction_.store(false);
  report_step(version, step, "applied and verified", elapsed_since(start));
  return true;
}

// A large step's statements in messages of about kMessageBytes, cut between
// statements as psql would send them, the first message starting with
// `message`: libpq keeps two copies of the message it sends (its output
// buffer and the last query), so one message of the whole step cost three
// times the step on top of the plan's copy (BENCHMARKS.md).
void ApplyRun::send_in_pieces(const PlannedStep& step, std::string message) {
  for (const sql::Statement& statement : step.analysis.statements) {
    message.append(statement.text(step.text)).append(";\n");
    if (message.size() < kMessageBytes) continue;
    step_->exec_script(message);
    message.clear();
  }
  if (!message.empty()) step_->exec_script(message);
}

// Text that no step's own error carries: what failed and this runner's
// identity (which ends in random hex).
std::string ApplyRun::failure_marker(std::string_view what) const {
  return "dbmig " + std::string(what) + " failed for " + runner_;
}

// The change's proof as a SELECT that errors, naming the marker of proof
// `index`, when the proof is false or NULL. The CASE depends on the query's
// result, so the failing cast cannot be folded at plan time.
std::string ApplyRun::raising_proof(const sql::Change& change, std::size_t index) const {
  return "SELECT (CASE WHEN (" + sql::verify_query(change, plan_.dialect) + ") THEN 'true' ELSE " +
         sql::quote_literal(failure_marker("proof " + std::to_string(index))) + " END)::boolean";
}

void ApplyRun::fail_proof(const PlannedVersion& version, const PlannedStep& step,
                          const sql::Change& change) {
  if (plan_.dialect == sql::Dialect::postgres && change.kind == sql::ChangeKind::create_index) {
    const auto index = find_index(*state_, resolve_change(*step_, change));
    if (index && !index->valid) fail_invalid_index(version, step, change);
  }
  fail_step(version, step,
            step_label(version, step) + ": verification failed: " +
                sql::describe_change(change, plan_.dialect) + " does not hold after the step",
            "the step ran without error but did not make this change; fix the step");
}

// Changes whose build an earlier run started (and that is still running)
// are waited for first; their statements are not issued again. The other
// statements then run, unless the step is already recorded 'applied'.
void ApplyRun::run_non_transactional(const PlannedVersion& version, const PlannedStep& step,
                                     bool last, const StepRecord* record) {
  const auto start = steady_clock::now();
  const bool applied = record && record->state == StepState::applied;
  const std::vector<sql::Change> awaited =
      plan_.dialect == sql::Dialect::postgres
          ? prepare_index_changes(version, step)
          : earlier_jobs_running(step, applied ? nullptr : record);
  std::string since = record ? record->started_at : current_server_time();
  if (!awaited.empty()) wait_for_proofs(version, step, awaited, since);
  bool executed = false;
  if (!applied) {
    if (record) since = current_server_time();
    // Statements an earlier run committed under the fence, of this very file.
    const int resume_from = record && record->sha256 == step.sha256 ? record->progress : 0;
    record_step(version, step, StepState::started, std::nullopt, false, resume_from);
    executed = execute_statements(version, step, awaited, since, resume_from);
    record_step(version, step, StepState::applied, std::nullopt, false);
  }
  wait_for_proofs(version, step, step.analysis.changes, since);
  record_step(version, step, StepState::verified, elapsed_since(start).count(), last);
  report_step(version, step, executed ? "applied and verified" : "verified", elapsed_since(start));
}

// PostgreSQL, before a step runs: for each index the step creates, an
// earlier build still running means "wait for it, do not re-issue" (the
// change is returned); an INVALID index nobody builds is dropped under
// --repair, else the step fails at once.
std::vector<sql::Change> ApplyRun::prepare_index_changes(const PlannedVersion& version,
                                                         const PlannedStep& step) {
  std::vector<sql::Change> awaited;
  if (plan_.dialect != sql::Dialect::postgres) return awaited;
  for (const sql::Change& change : step.analysis.changes) {
    if (change.kind != sql::ChangeKind::create_index) continue;
    const sql::ObjectOids& oids = target_of(step, change);
    const auto index = find_index(*state_, oids);
    if (const auto build = find_index_build(*state_, oids, index)) {
      builders_[index_of(step, change)] = build->pid;
      reporter_.event(
          "progress",
          {{"version", version.name}, {"file", step.file.file_name}, {"pid", build->pid}},
          step_label(version, step) + ": waiting for the running build of " +
              change.object.quoted() + " instead of starting another: " + describe_build(*build));
      awaited.push_back(change);
      continue;
    }
    if (!index || index->valid) continue;
    // issue-13: the INVALID index dbmig's own interrupted run left needs no --repair (cancel.h).
    const StepRecord* record = database_.find_step(version.name, step.file.number);
    const bool own = record && is_own_cancelled_build(record->cancelled_index_oid, *index,
                                                      resolve_change(*step_, change));
    if (!options_.repair && !own) fail_invalid_index(version, step, change);
    drop_index_by_oid(repair_connection(), index->oid);
    targets_[index_of(step, change)].reset();  // the statement makes it again
    reporter_.event("repair",
                    {{"version", version.name},
                     {"file", step.file.file_name},
                     {"index", change.object.quoted()},
                     {"reason", own ? "interrupted" : "--repair"}},  // issue-13
                    step_label(version, step) + ": dropped INVALID index " +
                        change.object.quoted() +
                        (own ? " that dbmig's interrupted run left (OID " + index->oid + ")"
                             : std::string(" (--repair)")) +
                        "; building it again");
  }
  return awaited;
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
bool ApplyRun::execute_statements(const PlannedVersion& version, const PlannedStep& step,
                                  const std::vector<sql::Change>& awaited, const std::string& since,
                                  int resume_from) {
  const auto was_awaited = [&awaited](const sql::Statement& statement) {
    return std::any_of(awaited.begin(), awaited.end(), [&statement](const sql::Change& change) {
      return change.offset >= statement.begin && change.offset < statement.end;
    });
  };
  bool executed = false;
  const sql::Statement* current = nullptr;
  ProgressMonitor monitor;
  if (!step.analysis.changes.empty()) {
    // The monitor's own copy of what to watch (the statements' thread
    // resolves targets_ meanwhile).
    std::vector<sql::ObjectOids> watched;
    if (plan_.dialect == sql::Dialect::postgres) {
      for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
        watched.push_back(targets_[i] ? *targets_[i]
                                      : resolve_change(*step_, step.analysis.changes[i]));
      }
    }
    monitor.start([this, &version, &step, &since, watched = std::move(watched)] {
      report_running_changes(version, step, since, watched);
    });
  }
  try {
    for (std::size_t i = 0; i < step.analysis.statements.size(); ++i) {
      const sql::Statement& statement = step.analysis.statements[i];
      if (was_awaited(statement)) continue;
      const bool committed = static_cast<int>(i) < resume_from;
      if (committed && mode_of(step, i) != StatementMode::session) continue;
      throw_if_stopped();
      current = &statement;
      run_statement(version, step, i);
      executed = true;
    }
  } catch (const db::DbError& error) {
    monitor.stop();
    if (current != nullptr && !error.connection_lost()) resolve_targets_of(step, *current);
    // issue-13: Ctrl-C cancelled the statement: record the INVALID index it left (cancel.h).
    if (interrupt_requested() && current != nullptr && !error.connection_lost() &&
        plan_.dialect == sql::Dialect::postgres) {
      stop_interrupted_statement(*state_, *lease_, tables_, version, step, *current, targets_);
    }
    if (error.connection_lost()) throw_if_lease_gone();
    throw_if_stopped();
    if (!error.connection_lost()) fail_if_left_invalid(version, step, error);
    fail_on_db_error(version, step, error);
  }
  reset_session();
  return executed;
}

// How a statement of a non-transactional step commits (SPEC 9): a session
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
void ApplyRun::run_statement(const PlannedVersion& version, const PlannedStep& step,
                             std::size_t index) {
  const sql::Statement& statement = step.analysis.statements[index];
  switch (mode_of(step, index)) {
    case StatementMode::session: step_->exec(statement.text(step.text)); return;
    case StatementMode::fenced: run_fenced(version, step, index); return;
    case StatementMode::autocommit:
      require_lease_margin();
      step_->exec(statement.text(step.text));
      resolve_targets_of(step, statement);
      record_progress(version, step, index);
      return;
  }
}

// BEGIN; SET LOCAL lock_timeout; the statement; its OIDs; the step row's
// progress; the fence; COMMIT. Retried like a transactional step on
// 55P03/40001/40P01; a lost lease rolls it back.
void ApplyRun::run_fenced(const PlannedVersion& version, const PlannedStep& step,
                          std::size_t index) {
  const sql::Statement& statement = step.analysis.statements[index];
  milliseconds backoff{100};
  for (int attempt = 1;; ++attempt) {
    throw_if_stopped();
    try {
      in_transaction_.store(true);
      db::Transaction transaction(*step_);
      step_->exec("SET LOCAL lock_timeout = '" + std::to_string(options_.ddl_lock_timeout.count()) +
                  "ms'");
      step_->exec(statement.text(step.text));
      resolve_targets_of(step, statement);
      if (plan_.dialect == sql::Dialect::postgres) {
        step_->exec("SET LOCAL search_path = pg_catalog, pg_temp");
      }
      step_->exec(
          tables_.progress_sql(version.name, step.file.number, static_cast<int>(index) + 1));
      if (step_->exec(lease_->fence_sql()).rows() != 1) {
        transaction.rollback();
        in_transaction_.store(false);
        lease_->mark_lost();
        throw_lease_lost(runner_);
      }
      transaction.commit();
      in_transaction_.store(false);
      return;
    } catch (const db::DbError& error) {
      in_transaction_.store(false);
      throw_if_stopped();
      if (error.connection_lost() || !error.is_retryable() || attempt == kTransactionAttempts) {
        throw;
      }
      reporter_.event("retry",
                      {{"version", version.name},
                       {"file", step.file.file_name},
                       {"attempt", attempt},
                       {"sqlstate", error.sqlstate()},
                       {"backoff_ms", backoff.count()}},
                      step_label(version, step) + ": " + error.fields().message + "; retrying in " +
                          format_duration(backoff));
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, milliseconds{2000});
  }
}

// The step connection broke: when the lease is no longer ours by the
// server's state row (a paused runner's session ended by
// idle_in_transaction_session_timeout while another runner took over), that
// is the failure to report. Any doubt leaves the connection error standing.
void ApplyRun::throw_if_lease_gone() {
  try {
    if (!state_->ok()) {
      state_ = std::make_unique<db::Connection>(db::Connection::open(state_options_));
    }
    const db::Result holder = state_->exec_params(
        "SELECT lease_token, lease_owner FROM " + tables_.state_table() + " WHERE id = 1", {});
    if (holder.rows() == 1 && holder.get(0, 0) == std::to_string(lease_->token()) &&
        holder.get(0, 1) == runner_) {
      return;
    }
  } catch (const db::DbError&) {
    return;
  }
  lease_->mark_lost();
  throw_lease_lost(runner_);
}

// A fenced write of the step's progress, on the step connection (the state
// connection may be reporting progress from the monitor's thread).
void ApplyRun::record_progress(const PlannedVersion& version, const PlannedStep& step,
                               std::size_t index) {
  std::vector<std::string> statements;
  if (plan_.dialect == sql::Dialect::postgres) {
    statements.emplace_back("SET LOCAL search_path = pg_catalog, pg_temp");
  }
  statements.push_back(
      tables_.progress_sql(version.name, step.file.number, static_cast<int>(index) + 1));
  fenced_write(*step_, *lease_, statements);
}

// On the step connection, by the server's clock: the lease is still ours
// with at least TTL/3 left. A lease that is ours with less left waits for
// the heartbeat (at most a TTL); one that is not ours is lost.
void ApplyRun::require_lease_margin() {
  const std::string query = lease_margin_sql();
  const std::vector<std::optional<std::string>> params{
      std::to_string((options_.lease_ttl / 3).count()) + " milliseconds",
      std::to_string(lease_->token()), runner_};
  const auto deadline = steady_clock::now() + options_.lease_ttl;
  while (true) {
    throw_if_stopped();
    const auto enough = step_->query_value(query, params);
    if (enough && db::is_true(*enough)) return;
    if (!enough || steady_clock::now() >= deadline) {
      lease_->mark_lost();
      throw_lease_lost(runner_);
    }
    std::this_thread::sleep_for(milliseconds{50});
  }
}

std::string ApplyRun::lease_margin_sql() const {
  if (plan_.dialect != sql::Dialect::postgres) {
    return "SELECT (lease_expires_at - now()) >= CAST($1 AS INTERVAL) FROM " +
           tables_.state_table() +
           " WHERE id = 1 AND lease_token = CAST($2 AS INT8) AND lease_owner = $3";
  }
  const std::string eq = sql::pg_operator("=");
  return "SELECT ((s.lease_expires_at" + sql::pg_operator("-") + "pg_catalog.now())" +
         sql::pg_operator(">=") + "CAST($1 AS pg_catalog.interval)) FROM " + tables_.state_table() +
         " s WHERE s.id" + eq + "1 AND s.lease_token" + eq +
         "CAST($2 AS pg_catalog.int8) AND s.lease_owner" + eq + "CAST($3 AS pg_catalog.text)";
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

void ApplyRun::wait_for_proofs(const PlannedVersion& version, const PlannedStep& step,
                               std::vector<sql::Change> pending, const std::string& since) {
  const auto deadline = steady_clock::now() + options_.verify_timeout;
  milliseconds interval{50};
  while (true) {
    throw_if_stopped();
    std::erase_if(pending,
                  [this, &step](const sql::Change& change) { return proof_holds(step, change); });
    if (pending.empty()) break;
    for (const sql::Change& change : pending) check_change_progress(version, step, change, since);
    const auto now = steady_clock::now();
    if (now >= deadline) {
      reporter_.end_progress();
      throw Failure(ExitCode::runtime_failure,
                    step_label(version, step) + ": verification did not complete within " +
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
void ApplyRun::check_change_progress(const PlannedVersion& version, const PlannedStep& step,
                                     const sql::Change& change, const std::string& since) {
  if (plan_.dialect == sql::Dialect::postgres) {
    check_index_progress(version, step, change);
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
    fail_step(version, step,
              step_label(version, step) + ": the schema change job " + job->id + " for " +
                  change.object.quoted() + " is " + job->status +
                  (job->error.empty() ? "" : ": " + job->error),
              "fix the cause, then run dbmig apply again: it re-runs the step");
  }
  report_job(version, step, *job);
}

void ApplyRun::report_job(const PlannedVersion& version, const PlannedStep& step,
                          const SchemaChangeJob& job) {
  const double percent = job.fraction_completed.value_or(0.0) * 100.0;
  reporter_.progress({{"version", version.name},
                      {"file", step.file.file_name},
                      {"job_id", job.id},
                      {"status", job.status},
                      {"fraction_completed", job.fraction_completed.value_or(0.0)}},
                     step_label(version, step) + ": job " + job.id + " " + job.status + " " +
                         std::to_string(static_cast<int>(percent)) + "%");
}

void ApplyRun::report_build(const PlannedVersion& version, const PlannedStep& step,
                            const IndexBuild& build) {
  reporter_.progress({{"version", version.name},
                      {"file", step.file.file_name},
                      {"pid", build.pid},
                      {"phase", build.phase},
                      {"blocks_done", build.blocks_done},
                      {"blocks_total", build.blocks_total},
                      {"tuples_done", build.tuples_done},
                      {"tuples_total", build.tuples_total}},
                     step_label(version, step) + ": " + describe_build(build));
}

// Progress of the step's changes while its statement runs (the statement
// itself waits for the build): reported only, never judged.
void ApplyRun::report_running_changes(const PlannedVersion& version, const PlannedStep& step,
                                      const std::string& since,
                                      const std::vector<sql::ObjectOids>& watched) {
  for (std::size_t i = 0; i < step.analysis.changes.size(); ++i) {
    const sql::Change& change = step.analysis.changes[i];
    if (plan_.dialect == sql::Dialect::cockroach) {
      if (const auto job = find_schema_change_job(*state_, change, since)) {
        report_job(version, step, *job);
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
      report_build(version, step, *build);
    }
  }
}

void ApplyRun::check_index_progress(const PlannedVersion& version, const PlannedStep& step,
                                    const sql::Change& change) {
  const bool index_change = change.kind == sql::ChangeKind::create_index ||
                            change.kind == sql::ChangeKind::create_index_on_only;
  if (!index_change && change.kind != sql::ChangeKind::reindex_concurrently) {
    fail_step(version, step,
              step_label(version, step) + ": verification failed: " +
                  sql::describe_change(change, plan_.dialect) + " does not hold after the step",
              "the step ran without error but did not make this change; fix the step");
  }
  const sql::ObjectOids& oids = target_of(step, change);
  const auto index = index_change ? find_index(*state_, oids) : std::nullopt;
  const auto build = find_index_build(*state_, oids, index);
  int& builder = builders_[index_of(step, change)];
  if (build) {
    builder = build->pid;
    report_build(version, step, *build);
    return;
  }
  // The build has left pg_stat_progress_create_index; the transaction that
  // marks the index valid may not have committed yet.
  if (builder != 0 && backend_in_transaction(*state_, builder)) return;
  builder = 0;
  if (!index_change) {
    fail_step(version, step,
              step_label(version, step) + ": " + sql::describe_change(change, plan_.dialect) +
                  " does not hold and no build is running",
              "drop the INVALID _ccnew/_ccold leftovers of the failed REINDEX, then run dbmig "
              "apply again");
  }
  if (index && !index->valid) fail_invalid_index(version, step, change);
  if (!index) {
    fail_step(version, step,
              step_label(version, step) + ": index " + change.object.quoted() + " on " +
                  change.table.quoted() + " does not exist and nothing is building it",
              "run dbmig apply again to re-run the step");
  }
}

// The OIDs an earlier run recorded for this very step file, when it did.
void ApplyRun::load_targets(const PlannedVersion& version, const PlannedStep& step,
                            const StepRecord* record) {
  targets_.assign(step.analysis.changes.size(), std::nullopt);
  builders_.assign(step.analysis.changes.size(), 0);
  if (plan_.dialect != sql::Dialect::postgres || record == nullptr) return;
  if (record->sha256 != step.sha256 || !record->object_oids ||
      record->object_oids->size() != targets_.size()) {
    if (record->state == StepState::applied && !targets_.empty()) {
      reporter_.diagnostic(Diagnostic{
          Severity::warning, "", 0, 0,
          step_label(version, step) +
              " was recorded without the OIDs of its objects (by an older dbmig): its proofs "
              "resolve the names with the database's default search_path",
          ""});
    }
    return;
  }
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const sql::ObjectOids& recorded = (*record->object_oids)[i];
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

StepWrite ApplyRun::step_write(const PlannedVersion& version, const PlannedStep& step,
                               StepState state) const {
  StepWrite write;
  write.version = version.name;
  write.step = step.file.number;
  write.file = step.file.file_name;
  write.sha256 = step.sha256;
  write.state = state;
  write.transactional = runs_in_one_transaction(step);
  write.runner = runner_;
  // A 'started' row records no OIDs: before its statements run, the names
  // resolve under the default search_path, not necessarily to the step's.
  if (targets_.size() == step.analysis.changes.size() && state != StepState::started) {
    write.object_oids = known_targets();
  }
  return write;
}

void ApplyRun::record_step(const PlannedVersion& version, const PlannedStep& step, StepState state,
                           std::optional<std::int64_t> duration_ms, bool advance,
                           std::optional<int> progress) {
  StepWrite write = step_write(version, step, state);
  write.duration_ms = duration_ms;
  write.progress = progress;
  std::vector<std::string> statements{tables_.write_step_sql(write)};
  if (advance) statements.push_back(tables_.advance_version_sql(version.name));
  fenced_write(*state_, *lease_, statements);
}

void ApplyRun::fail_step(const PlannedVersion& version, const PlannedStep& step,
                         const std::string& message, const std::string& hint) {
  record_failure(version, step, message);
  throw Failure(ExitCode::runtime_failure, message, hint);
}

// The step's 'failed' record, with the time the step ran, and its line.
void ApplyRun::record_failure(const PlannedVersion& version, const PlannedStep& step,
                              const std::string& message) {
  reporter_.end_progress();
  const milliseconds duration = elapsed_since(step_start_);
  StepWrite write = step_write(version, step, StepState::failed);
  write.error = message;
  write.duration_ms = duration.count();
  fenced_write(*state_, *lease_, {tables_.write_step_sql(write)});
  report_step(version, step, "failed", duration);
}

void ApplyRun::fail_on_db_error(const PlannedVersion& version, const PlannedStep& step,
                                const db::DbError& error) {
  if (error.connection_lost()) {
    throw Failure(ExitCode::runtime_failure,
                  step_label(version, step) + ": connection lost: " + describe_db_error(error),
                  "run dbmig apply again: it reads what was recorded and continues");
  }
  record_failure(version, step, step_label(version, step) + ": " + describe_db_error(error));
  ServerError server = server_error_of(step, error);
  if (!server.statement.empty()) reporter_.debug("failing statement: " + server.statement);
  throw DatabaseFailure(
      ExitCode::runtime_failure, step_label(version, step) + ": " + error.fields().message,
      "fix the step (or the data it needs), then run dbmig apply again", std::move(server));
}

// PostgreSQL: a concurrent build whose own statement failed (unique
// violation, statement_timeout, cancel) leaves its index INVALID; say so at
// once, with the server's error, instead of only on the next run.
void ApplyRun::fail_if_left_invalid(const PlannedVersion& version, const PlannedStep& step,
                                    const db::DbError& error) {
  if (plan_.dialect != sql::Dialect::postgres) return;
  for (const sql::Change& change : step.analysis.changes) {
    if (change.kind != sql::ChangeKind::create_index) continue;
    const auto& oids = targets_[index_of(step, change)];
    const auto index = oids ? find_index(*state_, *oids) : std::nullopt;
    if (!index || index->valid) continue;
    fail_step(version, step,
              step_label(version, step) + ": " + describe_db_error(error) + "; it left index " +
                  change.object.quoted() + " on " + change.table.quoted() + " INVALID",
              "fix the cause (or the data), then run dbmig apply --repair to drop the INVALID "
              "index and build it again");
  }
}

void ApplyRun::fail_invalid_index(const PlannedVersion& version, const PlannedStep& step,
                                  const sql::Change& change) {
  fail_step(version, step,
            step_label(version, step) + ": index " + change.object.quoted() + " on " +
                change.table.quoted() +
                " is INVALID (a concurrent build failed or was interrupted)",
            "run dbmig apply --repair to drop it and build it again");
}

void ApplyRun::throw_if_stopped() const {
  if (lease_) lease_->throw_if_lost();
  // issue-13: the interruption names the step (cancel.h).
  if (interrupt_requested()) throw interrupted_failure(current_step_label_, std::nullopt);
}

void ApplyRun::report_step(const PlannedVersion& version, const PlannedStep& step,
                           std::string_view action, milliseconds duration) {
  reporter_.event("step",
                  {{"version", version.name},
                   {"step", step.file.number},
                   {"file", step.file.file_name},
                   {"action", action},
                   {"duration_ms", duration.count()}},
                  version.name + " " + step.file.file_name + " " + std::string(action) + " " +
                      format_duration(duration));
}

std::string ApplyRun::current_server_time() {
  const db::Result result = state_->exec("SELECT now()");
  return std::string(result.get(0, 0));
}

// Cancels the statement in progress on the step connection when SIGINT or
// SIGTERM arrives; the apply loop then stops at its next check.
void ApplyRun::start_watcher() {
  watcher_ = std::thread([this] {
    while (!watcher_stop_.load()) {
      if (interrupt_requested()) {
        step_->cancel();
        return;
      }
      std::this_thread::sleep_for(milliseconds{50});
    }
  });
}

void ApplyRun::stop_watcher() noexcept {
  watcher_stop_.store(true);
  if (watcher_.joinable()) watcher_.join();
}

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

}  // namespace

ExitCode apply(const migration::Plan& plan, const ConnectionSettings& connection,
               const ApplyOptions& options, Reporter& reporter) {
  ApplyRun run(plan, connection, options, reporter);
  return run.run();
}

}  // namespace dbmig::engine
