// One run of dbmig apply, internal to the apply*.cpp files (the command's
// entry point is apply() in commands.h). The class is split by concern:
//   apply.cpp             what to apply, the loop over versions, lifetime
//                         (connections, lease, the interrupt watcher);
//   apply_transaction.cpp the transactional protocol: one message per step
//                         with raising proofs and the fence; fenced
//                         statements and the lease margin;
//   apply_concurrent.cpp  non-transactional steps: statements one by one,
//                         concurrent builds, waiting for proofs, progress;
//   apply_targets.cpp     the OIDs of the objects a step's proofs are about;
//   apply_record.cpp      the step's records, its failure, its report lines.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"
#include "engine/commands.h"
#include "engine/compare.h"
#include "engine/lease.h"
#include "engine/periodic_task.h"
#include "engine/server.h"
#include "engine/state.h"
#include "engine/step_watch.h"
#include "migration/plan.h"

namespace dbmig::engine {

// The first try and 5 retries of a transaction that failed with
// 40001/40P01/55P03.
inline constexpr int kTransactionAttempts = 6;

// Time since `start`, in whole milliseconds.
[[nodiscard]] std::chrono::milliseconds elapsed_since(std::chrono::steady_clock::time_point start);

// Position of `change` in the step's changes (changes are copied around by
// value: found by what they are); 0 when it is not one of them.
[[nodiscard]] std::size_t index_of(const migration::PlannedStep& step, const sql::Change& change);

// Where apply starts and stops in plan.versions: [first, end).
struct Range {
  std::size_t first = 0;
  std::size_t end = 0;
  [[nodiscard]] bool empty() const { return first >= end; }
};

// The step being applied: what every stage of its run reports and records.
struct StepContext {
  const migration::PlannedVersion& version;
  const migration::PlannedStep& step;
  const StepRecord* record;  // its history row as read under the lease; nullptr: none
  std::string label;         // "<version>/<file>" (step_label)
  bool last;                 // the version's last step: its record advances the version
  std::chrono::steady_clock::time_point start;  // when apply took it up
};

class ApplyRun {
 public:
  // Nothing is connected until run().
  ApplyRun(const migration::Plan& plan, const ConnectionSettings& connection,
           const ApplyOptions& options, Reporter& reporter);

  // The whole command (commands.h apply()): exit code, or throws Failure.
  ExitCode run();

 private:
  using PlannedStep = migration::PlannedStep;
  using PlannedVersion = migration::PlannedVersion;
  using milliseconds = std::chrono::milliseconds;
  using steady_clock = std::chrono::steady_clock;

  // Deciding what to apply (apply.cpp).
  void check_dialect();
  Range resolve();
  void check_history();
  std::size_t end_of_range() const;
  void print_plan(const Range& range) const;
  void report_step_warnings(const Range& range) const;
  ExitCode report_up_to_date(const DatabaseState& state, const Range& range, std::string_view why);

  // The loop over versions under the lease (apply.cpp).
  ExitCode apply_under_lease(Range range);
  void upgrade_state_tables();
  void apply_version(std::size_t index);
  void apply_step(StepPosition position);
  bool runs_in_one_transaction(const PlannedStep& step) const;
  void throw_if_stopped() const;

  // The transactional protocol (apply_transaction.cpp).
  void run_transactional(const StepContext& current);
  struct TransactionScript {
    std::string head;       // before the step's file: BEGIN, lock_timeout
    std::string tail;       // after it: RESET ROLE, proofs, OIDs, records (no fence, no COMMIT)
    std::size_t own = 0;    // results of dbmig's statements after the step's own, fence included
    std::string fence_set;  // PostgreSQL: the version advance, assigned by the fence's UPDATE
  };
  TransactionScript transaction_script(const StepContext& current) const;
  std::vector<db::Result> run_in_transaction(const std::string& script);
  void check_proofs(const StepContext& current, std::span<const db::Result> proofs);
  void try_transaction(const StepContext& current, steady_clock::time_point start);
  void commit_in_one_message(const StepContext& current, const TransactionScript& transaction,
                             steady_clock::time_point start);
  void send_in_pieces(const PlannedStep& step, std::string message);
  std::string failure_marker(std::string_view what) const;
  std::string raising_proof(const sql::Change& change, std::size_t index) const;
  [[noreturn]] void fail_proof(const StepContext& current, const sql::Change& change);
  void back_off(const StepContext& current, int attempt, const db::DbError& error,
                milliseconds& backoff);
  // Fenced statements of non-transactional steps and the lease margin.
  void run_fenced(const StepContext& current, std::size_t index);
  std::vector<std::string> progress_statements(const StepContext& current, std::size_t index) const;
  void record_progress(const StepContext& current, std::size_t index);
  void require_lease_margin();
  std::string lease_margin_sql() const;
  void throw_if_lease_gone();

  // Non-transactional steps (apply_concurrent.cpp).
  void run_non_transactional(const StepContext& current);
  std::vector<sql::Change> prepare_index_changes(const StepContext& current);
  // After an INVALID index with no build was seen: whether it is valid a moment later.
  bool turned_valid(const sql::ObjectOids& oids);
  std::vector<sql::Change> earlier_jobs_running(const PlannedStep& step, const StepRecord* record);
  bool execute_statements(const StepContext& current, const std::vector<sql::Change>& awaited,
                          const std::string& since, int resume_from);
  void monitor_progress(const StepContext& current, const std::string& since,
                        PeriodicTask& monitor);
  enum class StatementMode { session, fenced, autocommit };
  StatementMode mode_of(const PlannedStep& step, std::size_t index) const;
  void run_statement(const StepContext& current, std::size_t index);
  void reset_session();
  void wait_for_proofs(const StepContext& current, std::vector<sql::Change> pending,
                       const std::string& since);
  bool proof_holds(const PlannedStep& step, const sql::Change& change);
  void check_change_progress(const StepContext& current, const sql::Change& change,
                             const std::string& since);
  void check_index_progress(const StepContext& current, const sql::Change& change);
  void report_job(const StepContext& current, const SchemaChangeJob& job);
  void report_build(const StepContext& current, const IndexBuild& build);
  void report_running_changes(const StepContext& current, const std::string& since,
                              const std::vector<sql::ObjectOids>& watched);
  db::Connection& repair_connection();

  // The objects of the step's proofs (PostgreSQL; contract section 9; apply_targets.cpp).
  void load_targets(const StepContext& current);
  const sql::ObjectOids& target_of(const PlannedStep& step, const sql::Change& change);
  void resolve_targets_of(const PlannedStep& step, const sql::Statement& statement) noexcept;
  std::optional<std::vector<sql::ObjectOids>> known_targets() const;

  // Recording and failing (apply_record.cpp).
  StepWrite step_write(const StepContext& current, StepState state) const;
  void record_step(const StepContext& current, StepState state,
                   std::optional<std::int64_t> duration_ms,
                   std::optional<int> progress = std::nullopt);
  [[noreturn]] void fail_step(const StepContext& current, const std::string& message,
                              const std::string& hint);
  void record_failure(const StepContext& current, const std::string& message);
  [[noreturn]] void fail_on_db_error(const StepContext& current, const db::DbError& error);
  void fail_if_left_invalid(const StepContext& current, const db::DbError& error);
  [[noreturn]] void fail_invalid_index(const StepContext& current, const sql::Change& change);
  std::string describe_error(const db::DbError& error) const;
  void report_step(const StepContext& current, std::string_view action, milliseconds duration);
  std::string current_server_time();

  // Lifetime of the connections, the lease and the watcher (apply.cpp).
  void start_watcher();
  void stop_watcher() noexcept;
  void release_lease() noexcept;

  const migration::Plan& plan_;
  const ApplyOptions& options_;
  Reporter& reporter_;
  std::string conninfo_;  // as given, to describe database errors (db::describe)
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
  // database_ compared with the plan; recomputed by resolve() after every
  // read of database_ (it points into it).
  PlanComparison comparison_;
  PeriodicTask watcher_;  // cancels the step's statement on SIGINT/SIGTERM
  // The step connection runs a transactional script: a lost lease cancels it
  // (its fence would fail anyway). A non-transactional statement is never
  // cancelled for a lost lease: cancelling CREATE INDEX CONCURRENTLY would
  // leave an INVALID index under the runner that took over.
  std::atomic<bool> in_transaction_{false};
  int steps_applied_ = 0;
  // The step being applied ("version/file"; "" between steps), named by an interruption.
  std::string current_step_label_;
  // What a long step waits on (PostgreSQL; step_watch.h).
  std::unique_ptr<SlowStepWatch> slow_step_watch_;
};

}  // namespace dbmig::engine
