// The lease. Every statement here is autocommit and short: the heartbeat must
// never hold a transaction open, because CREATE INDEX CONCURRENTLY waits for
// every transaction older than its snapshot. Time is the server's (now()),
// never this machine's, so runners on hosts with skewed clocks agree on expiry.
#include "engine/lease.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>

#include "core/duration.h"
#include "core/failure.h"
#include "engine/interrupt.h"
#include "engine/server.h"
#include "sql/quoting.h"

namespace dbmig::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string interval_literal(milliseconds duration) {
  return std::to_string(duration.count()) + " milliseconds";
}

std::string host_name() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

// The current holder of the lease, for the wait notice and the timeout message.
LeaseInfo read_holder(db::Connection& connection, const StateTables& tables) {
  const db::Result result = connection.exec(
      "SELECT lease_owner, lease_expires_at, lease_token, COALESCE(lease_expires_at < now(), "
      "false) FROM " +
      tables.state_table() + " WHERE id = 1");
  LeaseInfo info;
  if (result.rows() != 1) return info;
  info.owner = result.get_optional(0, 0);
  info.expires_at = result.get_optional(0, 1);
  info.token = std::stoll(std::string(result.get(0, 2)));
  info.expired = result.get_bool(0, 3);
  return info;
}

std::string describe_holder(const LeaseInfo& holder) {
  return "held by " + holder.owner.value_or("nobody") + " until " +
         holder.expires_at.value_or("(no expiry)");
}

}  // namespace

std::string make_runner_identity() {
  std::random_device device;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(device()));
  return host_name() + ":" + std::to_string(getpid()) + ":" + suffix;
}

Lease::Lease(db::Connection& connection, const StateTables& tables, LeaseSettings settings,
             const WaitNotice& on_wait)
    : tables_(tables), settings_(std::move(settings)) {
  const std::string acquire =
      "UPDATE " + tables_.state_table() +
      " SET lease_owner = $1, lease_expires_at = now() + CAST($2 AS INTERVAL),"
      " lease_token = lease_token + 1, updated_at = now() WHERE id = 1 AND (lease_owner IS NULL"
      " OR lease_expires_at IS NULL OR lease_expires_at < now()) RETURNING lease_token";
  const auto deadline = steady_clock::now() + settings_.wait;
  milliseconds backoff{50};
  bool notified = false;
  while (true) {
    const db::Result result =
        connection.exec_params(acquire, {settings_.owner, interval_literal(settings_.ttl)});
    if (result.rows() == 1) {
      token_ = std::stoll(std::string(result.get(0, 0)));
      return;
    }
    const LeaseInfo holder = read_holder(connection, tables_);
    // --lock-timeout 0 means "do not wait": one attempt, no sleep, no notice.
    if (steady_clock::now() >= deadline) {
      const std::string within = settings_.wait.count() == 0
                                     ? "at once (--lock-timeout 0: not waiting)"
                                     : "within " + format_duration(settings_.wait);
      throw Failure(ExitCode::lease_timeout,
                    "could not get the lease " + within + ": " + describe_holder(holder),
                    "another dbmig is applying; wait for it, or raise --lock-timeout");
    }
    if (interrupt_requested()) {
      throw Failure(ExitCode::runtime_failure,
                    "interrupted while waiting for the lease (" + describe_holder(holder) + ")");
    }
    if (!notified && on_wait) on_wait(holder);
    notified = true;
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    std::this_thread::sleep_for(std::clamp(remaining, milliseconds{1}, backoff));
    backoff = std::min(backoff * 2, milliseconds{1000});
  }
}

Lease::~Lease() { heartbeat_.stop(); }

std::string Lease::fence_sql(std::string_view also_set) const {
  std::string set = "updated_at = now()";
  if (!also_set.empty()) set.append(", ").append(also_set);
  return "UPDATE " + tables_.state_table() + " SET " + set +
         " WHERE id = 1 AND lease_token = " + std::to_string(token_) +
         " AND lease_owner = " + sql::quote_literal(settings_.owner) + " RETURNING lease_token";
}

void Lease::throw_if_lost() const {
  if (lost()) throw_lease_lost(settings_.owner);
}

void Lease::start_heartbeat(const db::ConnectOptions& options, std::function<void()> on_lost) {
  on_lost_ = std::move(on_lost);
  last_renewal_ = steady_clock::now();
  heartbeat_.start(std::max(settings_.ttl / 3, milliseconds{10}),
                   [this, options] { return beat(options); });
}

bool Lease::renew(db::Connection& connection) {
  const db::Result result = connection.exec_params(
      "UPDATE " + tables_.state_table() +
          " SET lease_expires_at = now() + CAST($1 AS INTERVAL) WHERE id = 1"
          " AND lease_token = $2 AND lease_owner = $3 RETURNING lease_token",
      {interval_literal(settings_.ttl), std::to_string(token_), settings_.owner});
  return result.rows() == 1;
}

bool Lease::beat(const db::ConnectOptions& options) {
  bool renewed = false;
  bool gone = false;
  try {
    if (!heartbeat_connection_ || !heartbeat_connection_->ok()) {
      heartbeat_connection_ = std::make_unique<db::Connection>(db::Connection::open(options));
    }
    renewed = renew(*heartbeat_connection_);
    gone = !renewed;
  } catch (const db::DbError&) {
    heartbeat_connection_.reset();  // reconnect on the next beat
  }
  if (renewed) last_renewal_ = steady_clock::now();
  if (!gone && steady_clock::now() - last_renewal_ <= settings_.ttl) return true;
  mark_lost();
  if (on_lost_) on_lost_();
  return false;
}

void Lease::release(db::Connection& connection) noexcept {
  heartbeat_.stop();
  if (lost()) return;
  try {
    connection.exec_params(
        "UPDATE " + tables_.state_table() +
            " SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
            " WHERE id = 1 AND lease_token = $1 AND lease_owner = $2",
        {std::to_string(token_), settings_.owner});
  } catch (const std::exception&) {
    // Unreachable server: the lease expires after its TTL.
  }
}

void throw_lease_lost(std::string_view owner) {
  throw Failure(ExitCode::runtime_failure,
                "lease lost: runner " + std::string(owner) +
                    " no longer holds the dbmig lease (it expired and another runner took it)",
                "run dbmig apply again; consider a longer --lease-ttl");
}

void fenced_write(db::Connection& connection, Lease& lease,
                  const std::vector<std::string>& statements) {
  constexpr int kAttempts = 5;
  std::string script = "BEGIN;\n";
  for (const std::string& statement : statements) script += statement + ";\n";
  script += lease.fence_sql();
  for (int attempt = 1;; ++attempt) {
    lease.throw_if_lost();
    db::Transaction transaction = db::Transaction::adopt(connection);
    try {
      const std::vector<db::Result> results = connection.exec_script(script);
      if (results.back().rows() != 1) {
        transaction.rollback();
        lease.mark_lost();
        throw_lease_lost(lease.owner());
      }
      transaction.commit();
      return;
    } catch (const db::DbError& error) {
      if (error.connection_lost() || !error.is_retryable() || attempt == kAttempts) throw;
    }
    std::this_thread::sleep_for(milliseconds{50 * attempt});
  }
}

}  // namespace dbmig::engine
