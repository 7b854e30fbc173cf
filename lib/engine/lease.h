// The runner lease (docs/contract.md section 6, docs/apply.md): at most one runner
// applies at a time. The lease lives in the singleton state row: an owner, an
// expiry computed with the server's clock, and a fencing token that grows on
// every acquisition. A heartbeat thread renews it on its own connection in
// short autocommit statements; every state write ends with the fence (an
// UPDATE conditioned on this runner's token), so a runner that lost its lease
// can never write.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"
#include "engine/periodic_task.h"
#include "engine/state.h"

namespace dbmig::engine {

// A new runner identity: "<hostname>:<pid>:<8 random hex digits>".
[[nodiscard]] std::string make_runner_identity();

struct LeaseSettings {
  std::string owner;                      // runner identity
  std::chrono::milliseconds ttl{15000};   // --lease-ttl
  std::chrono::milliseconds wait{60000};  // --lock-timeout: how long to wait for it
};

// A held lease. Not copyable or movable (the heartbeat thread refers to it).
class Lease {
 public:
  // Called once when the lease is held by another runner and this one starts
  // waiting, with that runner's lease.
  using WaitNotice = std::function<void(const LeaseInfo& holder)>;

  // Takes the lease on `connection` (autocommit) with a conditional UPDATE
  // (free, or expired by the server's clock), retrying with backoff (50 ms
  // doubling to 1 s) up to settings.wait. Throws Failure(lease_timeout)
  // "could not get the lease within ...: held by X until T" when it cannot,
  // Failure(runtime_failure, "interrupted ...") when SIGINT/SIGTERM arrives
  // while waiting (interrupt.h), db::DbError on database errors.
  Lease(db::Connection& connection, const StateTables& tables, LeaseSettings settings,
        const WaitNotice& on_wait);
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  // Stops the heartbeat. Does not release (release() does).
  ~Lease();

  [[nodiscard]] std::int64_t token() const { return token_; }
  [[nodiscard]] const std::string& owner() const { return settings_.owner; }

  // The fence: an UPDATE of the state row conditioned on this lease's owner
  // and token, RETURNING one row while the lease is ours, none once lost. It
  // must be the last statement before COMMIT of every state write.
  // `also_set` ("version = '...'") is assigned by the same UPDATE, so that a
  // write of the state row that must be fenced anyway costs no second UPDATE.
  [[nodiscard]] std::string fence_sql(std::string_view also_set = {}) const;

  // Starts renewing the lease every ttl/3 on a connection of its own (opened
  // with `options`). When a renewal finds the lease gone (or renewals fail
  // for longer than the TTL) the lease is marked lost and `on_lost` is called
  // from the heartbeat thread.
  void start_heartbeat(const db::ConnectOptions& options, std::function<void()> on_lost);

  // True once the lease is known to be lost.
  [[nodiscard]] bool lost() const { return lost_.load(); }
  // Marks the lease lost (a fence found zero rows).
  void mark_lost() { lost_.store(true); }
  // Throws Failure(runtime_failure, "lease lost ...") when lost().
  void throw_if_lost() const;

  // Stops the heartbeat and frees the lease row if it is still ours. Never
  // throws (on a broken connection the lease simply expires).
  void release(db::Connection& connection) noexcept;

 private:
  // One beat of the heartbeat: false once the lease is lost (the thread ends).
  bool beat(const db::ConnectOptions& options);
  bool renew(db::Connection& connection);

  const StateTables& tables_;
  LeaseSettings settings_;
  std::int64_t token_ = 0;
  std::atomic<bool> lost_{false};
  std::function<void()> on_lost_;
  // The heartbeat thread's own: its connection and its last renewal.
  std::unique_ptr<db::Connection> heartbeat_connection_;
  std::chrono::steady_clock::time_point last_renewal_;
  PeriodicTask heartbeat_;  // last: stopped before the members it uses go
};

// Runs `statements` and then the lease's fence in one transaction on
// `connection` (autocommit before and after) and commits. Retries on
// serialization failures/deadlocks/lock timeouts (bounded). When the fence
// finds the lease lost: ROLLBACK, mark it lost, throw
// Failure(runtime_failure, "lease lost ..."). Other errors: ROLLBACK and
// rethrow db::DbError.
void fenced_write(db::Connection& connection, Lease& lease,
                  const std::vector<std::string>& statements);

// The Failure thrown when the lease was lost.
[[noreturn]] void throw_lease_lost(std::string_view owner);

}  // namespace dbmig::engine
