// dbmig apply, the transactional protocol (apply_run.h): a transactional
// step's statements, its proofs (raising an error when false), its
// 'verified' record, the version advance and the lease fence travel in one
// message and commit together; retried on 40001/40P01/55P03. Also the
// fenced statements of non-transactional steps (each in a transaction of
// its own that records the step's progress under the fence) and the lease
// margin an autocommit statement needs before it runs.
#include <algorithm>
#include <thread>

#include "core/duration.h"
#include "engine/apply_run.h"
#include "sql/quoting.h"
#include "sql/verify_query.h"

namespace dbmig::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A transactional step larger than this is sent in several messages.
constexpr std::size_t kMessageBytes = std::size_t{1} << 20;
// After every step (contract section 9): the role, the session authorization and every
// setting the step changed go back to the connection's own.
constexpr std::string_view kResetSession = "RESET ROLE;\nRESET SESSION AUTHORIZATION;\nRESET ALL";

}  // namespace

void ApplyRun::run_transactional(const StepContext& current) {
  if (options_.repair) prepare_index_changes(current);
  milliseconds backoff{100};
  for (int attempt = 1;; ++attempt) {
    throw_if_stopped();
    const auto start = steady_clock::now();
    try {
      try_transaction(current, start);
      return;
    } catch (const db::DbError& error) {
      if (!error.connection_lost()) db::rollback_quietly(*step_);
      throw_if_stopped();
      if (!error.is_retryable() || attempt == kTransactionAttempts) {
        fail_on_db_error(current, error);
      }
      back_off(current, attempt, error, backoff);
    }
  }
}

// The parts of a transactional step's message around the file verbatim:
// BEGIN and lock_timeout before it; its proofs, RESET ALL, the 'verified'
// record and the version advance on the version's last step after it. The
// fence (and, on PostgreSQL, COMMIT) is added by the caller; on PostgreSQL
// the fence's UPDATE of the state row also advances the version (one UPDATE
// of the singleton per step, not two). `own` counts the results of what
// follows the file, fence included.
ApplyRun::TransactionScript ApplyRun::transaction_script(const StepContext& current) const {
  const bool postgres = plan_.dialect == sql::Dialect::postgres;
  const std::string head = "BEGIN;\nSET LOCAL lock_timeout = '" +
                           std::to_string(options_.ddl_lock_timeout.count()) + "ms';\n";
  // What follows the step's statements: RESET ROLE first, so that the proofs
  // and records run as dbmig's own user (a step may SET LOCAL ROLE).
  std::string tail = postgres ? "RESET ROLE;\n" : "";
  for (std::size_t i = 0; i < current.step.analysis.changes.size(); ++i) {
    const sql::Change& change = current.step.analysis.changes[i];
    tail +=
        (postgres ? raising_proof(change, i) : sql::verify_query(change, plan_.dialect)) + ";\n";
  }
  StepWrite write = step_write(current, StepState::verified);
  write.duration_since_transaction_start = true;
  if (postgres) {
    // The proofs' OIDs, resolved under the step's own search_path and kept
    // for the record (a transaction-local setting); then dbmig's records run
    // with only pg_catalog to resolve their functions and operators. The
    // session's settings are reset after COMMIT (kResetSession).
    write.object_oids = std::vector<sql::ObjectOids>{};
    if (!current.step.analysis.changes.empty()) {
      tail += "SELECT pg_catalog.set_config('dbmig.object_oids', pg_catalog.concat_ws(','";
      for (const sql::Change& change : current.step.analysis.changes) {
        tail += ", " + sql::resolve_oids_expression(change);
      }
      tail += "), true);\n";
      write.object_oids_sql = "pg_catalog.current_setting('dbmig.object_oids')";
    }
    tail += "SET LOCAL search_path = pg_catalog, pg_temp;\n";
  }
  tail += tables_.write_step_sql(write) + ";\n";
  std::string fence_set;
  if (current.last && postgres)
    fence_set = StateTables::advance_version_assignment(current.version.name);
  if (current.last && !postgres) tail += tables_.advance_version_sql(current.version.name) + ";\n";
  const std::size_t own = current.step.analysis.changes.size() + (postgres ? 2 : 0) +
                          (postgres && !current.step.analysis.changes.empty() ? 1 : 0) +
                          (current.last && !postgres ? 1 : 0) + 2;
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
void ApplyRun::check_proofs(const StepContext& current, std::span<const db::Result> proofs) {
  for (std::size_t i = 0; i < current.step.analysis.changes.size(); ++i) {
    if (proofs[i].rows() == 1 && proofs[i].get_bool(0, 0)) continue;
    db::rollback_quietly(*step_);
    fail_proof(current, current.step.analysis.changes[i]);
  }
}

// One round trip for the whole step, then COMMIT; throws on a false proof or
// a lost lease (after ROLLBACK).
void ApplyRun::try_transaction(const StepContext& current, steady_clock::time_point start) {
  const TransactionScript script = transaction_script(current);
  if (plan_.dialect == sql::Dialect::postgres) {
    commit_in_one_message(current, script, start);
    return;
  }
  const std::vector<db::Result> results = run_in_transaction(
      script.head + current.step.text + "\n;\n" + script.tail + lease_->fence_sql());
  if (results.size() < script.own) {
    db::rollback_quietly(*step_);
    throw Failure(ExitCode::runtime_failure,
                  current.label + ": the server returned " + std::to_string(results.size()) +
                      " results for a script of at least " + std::to_string(script.own) +
                      " statements; nothing was recorded");
  }
  if (results.back().rows() != 1) {
    db::rollback_quietly(*step_);
    lease_->mark_lost();
    throw_lease_lost(runner_);
  }
  check_proofs(current, std::span<const db::Result>(results).subspan(
                            results.size() - script.own, current.step.analysis.changes.size()));
  try {
    step_->exec("COMMIT");
  } catch (const db::DbError& error) {
    if (!error.outcome_unknown()) throw;
    throw Failure(ExitCode::runtime_failure,
                  current.label +
                      ": the connection was lost during COMMIT; the step may or may not have "
                      "been applied",
                  "run dbmig apply again: it reads what was recorded and continues");
  }
  report_step(current, "applied and verified", elapsed_since(start));
}

// PostgreSQL: the proofs and the fence raise an error when they do not hold,
// so that COMMIT travels in the same message as the step: one round trip per
// step (BENCHMARKS.md). Any error leaves the transaction aborted, its COMMIT
// unexecuted; the error's message tells a failed proof or a lost lease from
// an error of the step itself. A step larger than kMessageBytes goes in
// several messages (send_in_pieces) within the same transaction.
void ApplyRun::commit_in_one_message(const StepContext& current,
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
    if (current.step.text.size() > kMessageBytes) {
      send_in_pieces(current.step, head);
      step_->exec_script(tail);
    } else {
      std::string script;
      script.reserve(head.size() + current.step.text.size() + tail.size() + 3);
      script.append(head).append(current.step.text).append("\n;\n").append(tail);
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
    for (std::size_t i = 0; i < current.step.analysis.changes.size(); ++i) {
      if (message.find(failure_marker("proof " + std::to_string(i))) == std::string::npos) continue;
      db::rollback_quietly(*step_);
      fail_proof(current, current.step.analysis.changes[i]);
    }
    throw;
  }
  in_transaction_.store(false);
  report_step(current, "applied and verified", elapsed_since(start));
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

void ApplyRun::fail_proof(const StepContext& current, const sql::Change& change) {
  if (plan_.dialect == sql::Dialect::postgres && change.kind == sql::ChangeKind::create_index) {
    const auto index = find_index(*state_, resolve_change(*step_, change));
    if (index && !index->valid) fail_invalid_index(current, change);
  }
  fail_step(current,
            current.label + ": verification failed: " +
                sql::describe_change(change, plan_.dialect) + " does not hold after the step",
            "the step ran without error but did not make this change; fix the step");
}

// BEGIN; SET LOCAL lock_timeout; the statement; its OIDs; the step row's
// progress; the fence; COMMIT. Retried like a transactional step on
// 55P03/40001/40P01; a lost lease rolls it back.
void ApplyRun::run_fenced(const StepContext& current, std::size_t index) {
  const sql::Statement& statement = current.step.analysis.statements[index];
  milliseconds backoff{100};
  for (int attempt = 1;; ++attempt) {
    throw_if_stopped();
    try {
      in_transaction_.store(true);
      db::Transaction transaction(*step_);
      step_->exec("SET LOCAL lock_timeout = '" + std::to_string(options_.ddl_lock_timeout.count()) +
                  "ms'");
      step_->exec(statement.text(current.step.text));
      resolve_targets_of(current.step, statement);
      for (const std::string& write : progress_statements(current, index)) step_->exec(write);
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
      back_off(current, attempt, error, backoff);
    }
  }
}

// What records statements [0, index] of the step as committed (before the
// fence): on PostgreSQL first the catalog search_path, since the step's own
// SET search_path may still be in effect.
std::vector<std::string> ApplyRun::progress_statements(const StepContext& current,
                                                       std::size_t index) const {
  std::vector<std::string> statements;
  if (plan_.dialect == sql::Dialect::postgres) {
    statements.emplace_back("SET LOCAL search_path = pg_catalog, pg_temp");
  }
  statements.push_back(tables_.progress_sql(current.version.name, current.step.file.number,
                                            static_cast<int>(index) + 1));
  return statements;
}

// A fenced write of the step's progress, on the step connection (the state
// connection may be reporting progress from the monitor's thread).
void ApplyRun::record_progress(const StepContext& current, std::size_t index) {
  fenced_write(*step_, *lease_, progress_statements(current, index));
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

// A transaction of the step failed with the retryable `error` on `attempt`:
// the "retry" event, then a sleep of `backoff`, which doubles (up to 2 s)
// for the next attempt.
void ApplyRun::back_off(const StepContext& current, int attempt, const db::DbError& error,
                        milliseconds& backoff) {
  reporter_.event(
      "retry",
      {{"version", current.version.name},
       {"file", current.step.file.file_name},
       {"attempt", attempt},
       {"sqlstate", error.sqlstate()},
       {"backoff_ms", backoff.count()}},
      current.label + ": " + error.fields().message + "; retrying in " + format_duration(backoff));
  std::this_thread::sleep_for(backoff);
  backoff = std::min(backoff * 2, milliseconds{2000});
}

}  // namespace dbmig::engine
